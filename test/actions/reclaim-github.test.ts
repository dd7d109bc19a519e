import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { answerHolder, previewReclaim, requestReclaim, undoReclaim } from '../../handlers/reclaim.ts';
import type { HandlerContext } from '../../handlers/types.ts';
import { type Config, loadConfig } from '../../src/config/config.ts';
import { runImport } from '../../src/inventory/import-pipeline.ts';
import { importSource } from '../../src/inventory/import-service.ts';
import type { Store } from '../../src/store/store.ts';
import { FIXTURE_LOGIN_EMAILS, GithubFake } from '../fakes/github-fake.ts';
import { fixtureConnector, personEntry } from '../support/fixture-connector.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import { actor, auditOf, clockAt, contextFor, count, personActor, value } from './support.ts';

const CANCEL = /^\/orgs\/acme\/copilot\/billing\/selected_users$/;
const IT = actor('it.lead@example.com', ['it-manager'], 'slack');
const SKU = 'copilot_business';

describe('reclaiming GitHub Copilot seats', () => {
  let dir: string;
  let db: TestDatabase;
  let store: Store;
  let fake: GithubFake;
  let config: Config;
  const clock = clockAt('2026-11-20T08:00:00Z');
  const ctx = (who = IT): HandlerContext => contextFor(store, config, who, clock.now);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sk-actions-github-'));
    writeFileSync(join(dir, 'logins.csv'), FIXTURE_LOGIN_EMAILS);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    db = await createTestDatabase();
    store = await db.open();
    fake = await new GithubFake({ now: clock.now }).start();
    config = loadConfig({
      ...db.env,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
      GITHUB_TOKEN: fake.token,
      GITHUB_ORG: 'acme',
      GITHUB_LOGIN_EMAILS: join(dir, 'logins.csv'),
      GITHUB_API_URL: fake.url,
    });
    await runImport(
      store,
      fixtureConnector('directory', {
        subscriptions: [],
        accounts: [],
        persons: ['ana.lopez', 'bo', 'cy', 'dee', 'eve', 'fay', 'gus'].map((n) =>
          personEntry(`${n}@example.com`),
        ),
      }),
      { trigger: 'test', minEntitlementDays: 90, persons: true, now: clock.now },
    );
    await importSource(store, config, 'github', { trigger: 'test', now: clock.now });
  });
  afterEach(async () => {
    await fake?.stop();
    await db?.drop();
  });

  it('cancels an idle seat on Release (pending cancellation) and refuses the undo with GitHub’s reason', async () => {
    const idle = value(await previewReclaim(ctx(), { sku: SKU, allIdle: true }));
    expect(idle.map((r) => [r.login, r.person, r.state])).toEqual([
      ['dee-never', 'dee@example.com', 'preview'],
    ]);

    const [asked] = value(await requestReclaim(ctx(), { sku: SKU, allIdle: true, askHolder: true }));
    const actionId = asked?.actionId as string;
    expect(asked?.state).toBe('asking');

    const dee = await personActor(store, 'dee@example.com');
    const done = value(await answerHolder(ctx(dee), { actionId, answer: 'release', wait: true }));
    expect(done).toMatchObject({
      state: 'done',
      detail: 'seat set to pending cancellation: dee-never keeps Copilot until the end of the billing cycle',
    });
    expect(fake.calls(CANCEL, 'DELETE').map((c) => c.json)).toEqual([{ selected_usernames: ['dee-never'] }]);
    expect(fake.seat('dee-never')?.pending_cancellation_date).toBe('2026-12-01');

    const refused = await undoReclaim(ctx(), { actionId, wait: true });
    expect(refused).toEqual({
      ok: false,
      error: {
        code: 'CONFLICT',
        message:
          'Cannot undo: GitHub cannot undo a Copilot seat cancellation: the seat stays usable until the end of the billing cycle and the API has no call that withdraws a pending cancellation. Assign a new seat to the user once it has lapsed.',
      },
    });
    expect(await count(store, `SELECT 1 FROM actions WHERE kind = 'undo'`)).toBe(0);
    expect(fake.calls(CANCEL)).toHaveLength(1);
    expect(await auditOf(store, actionId)).toEqual([
      { action: 'reclaim.requested', actor: IT.id },
      { action: 'holder.answered', actor: 'dee@example.com' },
      { action: 'reclaim', actor: IT.id },
    ]);
  });

  it('blocks a seat assigned through a team before anything reaches GitHub', async () => {
    const result = await requestReclaim(ctx(), { sku: SKU, email: 'eve@example.com' });
    expect(result).toEqual({
      ok: false,
      error: {
        code: 'CONFLICT',
        message:
          "Not reclaimed: eve@example.com's GitHub Copilot Business (copilot_business): the license comes from a group or team assignment and cannot be removed for this account alone: remove the account from the group instead.",
      },
    });
    expect(fake.calls(CANCEL)).toHaveLength(0);
    expect(await count(store, 'SELECT 1 FROM actions')).toBe(0);
  });
});
