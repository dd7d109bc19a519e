import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  answerHolder,
  previewReclaim,
  reclaim,
  requestReclaim,
  undoReclaim,
} from '../../handlers/reclaim.ts';
import type { HandlerContext } from '../../handlers/types.ts';
import { type Config, loadConfig } from '../../src/config/config.ts';
import { runImport } from '../../src/inventory/import-pipeline.ts';
import { importSource } from '../../src/inventory/import-service.ts';
import type { Store } from '../../src/store/store.ts';
import {
  ADOBE_CLIENT_ID,
  ADOBE_CLIENT_SECRET,
  ADOBE_ORG_ID,
  ADOBE_PROFILES,
  AdobeFake,
} from '../fakes/adobe-fake.ts';
import { fixtureConnector, personEntry } from '../support/fixture-connector.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import { actor, auditOf, clockAt, contextFor, DAY, personActor, value } from './support.ts';

const ACTION = /^\/v2\/usermanagement\/action\//;
const IT = actor('it.lead@example.com', ['it-manager'], 'teams');

describe('reclaiming Adobe seats through the User Management API', () => {
  let db: TestDatabase;
  let store: Store;
  let fake: AdobeFake;
  let config: Config;
  const clock = clockAt('2026-11-20T08:00:00Z');
  const ctx = (who = IT): HandlerContext => contextFor(store, config, who, clock.now);
  const groupsOf = (email: string) => fake.data.users.find((u) => u.email === email)?.groups ?? [];

  beforeEach(async () => {
    db = await createTestDatabase();
    store = await db.open();
    // Adobe is not a directory: the persons come from elsewhere (here, a fixture directory).
    await runImport(
      store,
      fixtureConnector('directory', {
        subscriptions: [],
        accounts: [],
        persons: ['ana.lopez', 'bo', 'cy', 'dee', 'eli', 'gus', 'hal'].map((n) =>
          personEntry(`${n}@example.com`),
        ),
      }),
      { trigger: 'test', minEntitlementDays: 90, persons: true, now: clock.now },
    );
    fake = await new AdobeFake().start();
    config = loadConfig({
      ...db.env,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
      ADOBE_ORG_ID,
      ADOBE_CLIENT_ID,
      ADOBE_CLIENT_SECRET,
      ADOBE_UMAPI_URL: fake.url,
      ADOBE_IMS_URL: fake.url,
    });
    await importSource(store, config, 'adobe', { trigger: 'test', now: clock.now });
  });
  afterEach(async () => {
    await fake?.stop();
    await db?.drop();
  });

  it('previews, asks bo, removes the seat from the product profile on Release, and adds it back on undo', async () => {
    const [preview] = value(
      await previewReclaim(ctx(), { sku: 'ADOBE_ACROBAT_PRO', email: 'bo@example.com' }),
    );
    // Adobe reports no activity: the preview says so rather than call the seat idle.
    expect(preview).toMatchObject({
      state: 'preview',
      person: 'bo@example.com',
      blockers: [],
      finding: null,
    });
    expect(preview?.warnings.map((w) => w.code)).toEqual(['not-idle', 'no-usage-signal']);

    const [asked] = value(
      await requestReclaim(ctx(), { sku: 'ADOBE_ACROBAT_PRO', email: 'bo@example.com', askHolder: true }),
    );
    expect(asked?.state).toBe('asking');
    const actionId = asked?.actionId as string;
    expect(fake.calls(ACTION)).toHaveLength(0);

    const bo = await personActor(store, 'bo@example.com');
    const done = value(await answerHolder(ctx(bo), { actionId, answer: 'release', wait: true }));
    expect(done).toMatchObject({
      state: 'done',
      detail: `removed bo@example.com from Adobe product profile "${ADOBE_PROFILES.acrobat}"`,
    });
    expect(fake.calls(ACTION, 'POST').map((c) => (c.json as { do: unknown }[])[0]?.do)).toEqual([
      [{ remove: { group: [ADOBE_PROFILES.acrobat] } }],
    ]);
    expect(groupsOf('bo@example.com')).toEqual([ADOBE_PROFILES.express]);

    clock.advance(2 * DAY);
    const undone = value(await undoReclaim(ctx(), { actionId, wait: true }));
    expect(undone).toMatchObject({
      state: 'done',
      detail: `added bo@example.com to Adobe product profile "${ADOBE_PROFILES.acrobat}"`,
    });
    expect(fake.calls(ACTION, 'POST')[1]?.json).toEqual([
      {
        user: 'bo@example.com',
        requestID: expect.stringMatching(/^seatkeeper-/),
        do: [{ add: { group: [ADOBE_PROFILES.acrobat] } }],
      },
    ]);
    expect(groupsOf('bo@example.com')).toContain(ADOBE_PROFILES.acrobat);
    expect(await auditOf(store, actionId)).toEqual([
      { action: 'reclaim.requested', actor: IT.id },
      { action: 'holder.answered', actor: 'bo@example.com' },
      { action: 'reclaim', actor: IT.id },
    ]);
  });

  it('records a partial result on HTTP 200 as a failure with Adobe’s error code, and keeps the seat', async () => {
    fake.inject({
      path: ACTION,
      status: 200,
      body: {
        completed: 0,
        notCompleted: 1,
        completedInTestMode: 0,
        result: 'partial',
        errors: [
          {
            index: 0,
            step: 0,
            requestID: 'x',
            message: 'Changes to users are only allowed in claimed domains.',
            user: 'hal@example.com',
            errorCode: 'error.domain.trust.nonexistent',
          },
        ],
      },
    });
    const result = await reclaim(ctx(), { sku: 'ADOBE_ACROBAT_PRO', email: 'hal@example.com', wait: true });
    expect(result.ok ? undefined : result.error.code).toBe('VENDOR_FAILED');
    expect(result.ok ? '' : result.error.message).toContain(
      'result partial: error.domain.trust.nonexistent: Changes to users are only allowed in claimed domains.',
    );
    const action = (await store.pool.query(`SELECT * FROM actions`)).rows[0];
    expect(action).toMatchObject({
      state: 'failed',
      result: { code: 'error.domain.trust.nonexistent', retryable: false },
    });
    expect(groupsOf('hal@example.com')).toContain(ADOBE_PROFILES.acrobat);
    const seat = await store.pool.query(`SELECT is_active FROM cloud_subscribers WHERE id = $1`, [
      action.subscriber_id,
    ]);
    expect(seat.rows).toEqual([{ is_active: true }]);
  });
});
