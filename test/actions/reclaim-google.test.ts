import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { previewReclaim, requestReclaim, undoReclaim } from '../../handlers/reclaim.ts';
import type { HandlerContext } from '../../handlers/types.ts';
import { runActionTick } from '../../src/actions/jobs.ts';
import { type Config, loadConfig } from '../../src/config/config.ts';
import { importSource } from '../../src/inventory/import-service.ts';
import type { Store } from '../../src/store/store.ts';
import {
  GoogleFake,
  googleFixture,
  type ServiceAccountFiles,
  writeServiceAccount,
} from '../fakes/google-fake.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import { actor, auditOf, clockAt, contextFor, DAY, HOUR, RecordingNotifier, value } from './support.ts';

const LICENSE_USER = /^\/apps\/licensing\/v1\/product\/Google-Apps\/sku\/1010020028\/user/;
const IT = actor('it.lead@example.com', ['it-manager'], 'web');
const STANDARD = '1010020028';

describe('reclaiming Google Workspace licences through License Manager', () => {
  let dir: string;
  let serviceAccount: ServiceAccountFiles;
  let db: TestDatabase;
  let store: Store;
  let fake: GoogleFake;
  let config: Config;
  const clock = clockAt('2026-11-20T08:00:00Z');
  const ctx = (who = IT): HandlerContext => contextFor(store, config, who, clock.now);
  const holds = (email: string) => fake.assignments.some((a) => a.userId === email && a.skuId === STANDARD);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sk-actions-google-'));
    serviceAccount = writeServiceAccount(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    clock.set('2026-11-20T08:00:00Z');
    db = await createTestDatabase();
    store = await db.open();
    fake = await new GoogleFake({ serviceAccount, now: clock.now }).start();
    Object.assign(fake, googleFixture());
    config = loadConfig({
      ...db.env,
      ...fake.env(),
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
      SEATKEEPER_IDLE_GRACE_DAYS: '0',
    });
    // Imported a month ago and again now: bo (last sign-in in June) holds an idle Business Standard licence.
    clock.set('2026-10-20T08:00:00Z');
    await importSource(store, config, 'google', { trigger: 'test', now: clock.now });
    clock.set('2026-11-20T08:00:00Z');
    await importSource(store, config, 'google', { trigger: 'test', now: clock.now });
  });
  afterEach(async () => {
    await fake?.stop();
    await db?.drop();
  });

  it('asks the holder, revokes the licence when nobody answers by the deadline, and assigns it again on undo', async () => {
    const idle = value(await previewReclaim(ctx(), { sku: STANDARD, allIdle: true }));
    expect(idle.map((r) => [r.email, r.state, r.finding?.kind, r.lastActivitySource])).toEqual([
      ['bo.berg@example.com', 'preview', 'idle', 'google:lastLoginTime'],
      ['eli.novak@example.com', 'preview', 'idle', null],
    ]);

    const settings = { askHolderSkus: [STANDARD], askHolderDays: 2 };
    const [asked] = value(
      await requestReclaim(ctx(), { sku: STANDARD, email: 'bo.berg@example.com' }, { settings }),
    );
    expect(asked).toMatchObject({ state: 'asking', ask: { holder: 'bo.berg@example.com' } });
    const actionId = asked?.actionId as string;
    const surface = new RecordingNotifier();
    const runtime = { store, config, now: clock.now, settings };

    clock.advance(HOUR);
    await runActionTick(runtime, [surface]);
    clock.advance(DAY);
    await runActionTick(runtime, [surface]);
    expect(surface.delivered.map((n) => n.kind)).toEqual(['holder-ask', 'holder-ask-reminder']);
    expect(fake.server.calls(LICENSE_USER)).toHaveLength(0);

    clock.advance(DAY);
    expect(await runActionTick(runtime, [surface])).toMatchObject({ released: 1, performed: 1 });
    expect(fake.server.calls(LICENSE_USER, 'DELETE').map((c) => c.path)).toEqual([
      '/apps/licensing/v1/product/Google-Apps/sku/1010020028/user/bo.berg@example.com',
    ]);
    expect(holds('bo.berg@example.com')).toBe(false);
    const action = (await store.pool.query(`SELECT state, result FROM actions WHERE id = $1`, [actionId]))
      .rows[0];
    expect(action).toMatchObject({
      state: 'done',
      result: { detail: 'revoked Google-Apps/1010020028 from bo.berg@example.com' },
    });

    const undone = value(await undoReclaim(ctx(), { actionId, wait: true }));
    expect(undone).toMatchObject({
      state: 'done',
      detail: 'assigned Google-Apps/1010020028 to bo.berg@example.com',
    });
    const [insert] = fake.server.calls(LICENSE_USER, 'POST');
    expect(insert?.path).toBe('/apps/licensing/v1/product/Google-Apps/sku/1010020028/user');
    expect(insert?.json).toEqual({ userId: 'bo.berg@example.com' });
    expect(holds('bo.berg@example.com')).toBe(true);
    expect(await auditOf(store, actionId)).toEqual([
      { action: 'reclaim.requested', actor: IT.id },
      { action: 'holder.answered', actor: 'seatkeeper' },
      { action: 'reclaim', actor: IT.id },
    ]);
  });
});
