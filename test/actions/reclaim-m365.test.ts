import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  answerHolder,
  previewReclaim,
  reclaim,
  requestReclaim,
  retryAction,
  undoReclaim,
} from '../../handlers/reclaim.ts';
import type { HandlerContext } from '../../handlers/types.ts';
import { runActionTick } from '../../src/actions/jobs.ts';
import { deliverNotifications } from '../../src/actions/notifier.ts';
import { performAction } from '../../src/actions/perform.ts';
import type { Config } from '../../src/config/config.ts';
import { policyOf, recomputeFindings } from '../../src/findings/recompute.ts';
import { importSource } from '../../src/inventory/import-service.ts';
import type { Store } from '../../src/store/store.ts';
import { GraphFake, outage } from '../fakes/graph-fake.ts';
import { SKU, USER } from '../fakes/graph-fixtures.ts';
import { graphConfig } from '../support/graph-env.ts';
import { idleOrg, LAST_SIGN_IN } from '../support/idle-org.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import {
  actor,
  auditOf,
  clockAt,
  contextFor,
  count,
  DAY,
  HOUR,
  personActor,
  RecordingNotifier,
  value,
} from './support.ts';

const ASSIGN = /\/assignLicense$/;
const IT = actor('it.lead@example.com', ['it-manager']);

/**
 * Contoso, with Lee (E3 and Power BI, both direct) last seen in August and Isaiah (E5) in July: their seats are idle.
 * Johanna's E5 is idle too (October). Diego's E3 comes from a group; Grady's account is disabled (departed).
 */
const IDLE = [LAST_SIGN_IN.lee, LAST_SIGN_IN.isaiah];

describe('reclaiming Microsoft 365 seats through Graph', () => {
  let db: TestDatabase;
  let store: Store;
  let fake: GraphFake;
  let config: Config;
  let clock: ReturnType<typeof clockAt>;
  const ctx = (who = IT): HandlerContext => contextFor(store, config, who, clock.now);

  /** Imports from the fake, then recomputes findings an hour later (the seats then exist for longer than grace 0). */
  async function importAndRecompute() {
    await importSource(store, config, 'm365', { trigger: 'test', now: clock.now });
    clock.advance(HOUR);
    const client = await store.pool.connect();
    try {
      await recomputeFindings(client, policyOf(config), clock.now());
    } finally {
      client.release();
    }
  }

  const seatOf = async (email: string, sku: string) =>
    (
      await store.pool.query(
        `SELECT s.id, s.is_active, s.group_inherited FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
         WHERE s.email = $1 AND l.sku = $2`,
        [email, sku],
      )
    ).rows[0];
  const findingOf = async (subscriberId: number) =>
    (
      await store.pool.query(
        `SELECT kind, status, resolved_how, savings::float8 AS savings FROM findings WHERE subscriber_id = $1`,
        [subscriberId],
      )
    ).rows;
  const licensesOf = (id: string) => fake.user(id)?.assignedLicenses.map((l) => l.skuId) ?? [];

  beforeEach(async () => {
    clock = clockAt('2026-11-20T07:00:00Z');
    db = await createTestDatabase();
    store = await db.open();
    fake = await new GraphFake({ org: idleOrg(IDLE) }).start();
    config = graphConfig(db, fake, {
      SEATKEEPER_IDLE_GRACE_DAYS: '0',
    });
    await importAndRecompute();
    await store.pool.query(
      `UPDATE licenses SET unit_price = 10, currency = 'EUR', billing_period = 'monthly' WHERE sku = 'POWER_BI_PRO'`,
    );
    await importAndRecompute();
  });
  afterEach(async () => {
    await fake?.stop();
    await db?.drop();
  });

  it('previews a seat with its evidence, savings and every blocker, and changes nothing', async () => {
    const [pbi] = value(await previewReclaim(ctx(), { sku: 'POWER_BI_PRO', email: 'lee.gu@example.com' }));
    expect(pbi).toMatchObject({
      state: 'preview',
      actionId: null,
      email: 'lee.gu@example.com',
      person: 'lee.gu@example.com',
      sku: 'POWER_BI_PRO',
      lastActivityAt: '2026-08-01T09:00:00.000Z',
      lastActivitySource: 'graph:lastSuccessfulSignInDateTime',
      daysSinceActivity: 111,
      finding: { kind: 'idle', status: 'open' },
      savings: 120,
      currency: 'EUR',
      blockers: [],
      warnings: [],
    });

    // Group-inherited: Diego's E3 comes from a group (and he is active, which the preview also says).
    const [diego] = value(
      await previewReclaim(ctx(), { sku: 'ENTERPRISEPACK', email: 'diego.siciliani@example.com' }),
    );
    expect(diego?.state).toBe('blocked');
    expect(diego?.blockers.map((b) => b.code)).toEqual(['group-inherited']);
    expect(diego?.warnings.map((w) => w.code)).toEqual(['not-idle']);

    // Commit floor: 3 E3 seats in use against a floor of 3.
    await store.pool.query(`UPDATE licenses SET commit_floor = 3 WHERE sku = 'ENTERPRISEPACK'`);
    const [leeE3] = value(
      await previewReclaim(ctx(), { sku: 'ENTERPRISEPACK', email: 'lee.gu@example.com' }),
    );
    expect(leeE3?.blockers).toEqual([
      {
        code: 'commit-floor',
        message:
          '3 seats in use against a commit floor of 3 for this term: freeing this one saves nothing until the term ends',
      },
    ]);

    // Reassignment window: assigned 20 days ago, within the 90-day minimum entitlement period.
    await store.pool.query(
      `UPDATE cloud_subscribers SET assigned_at = '2026-10-31T08:00:00Z' WHERE email = 'johanna.lorenz@example.com'`,
    );
    const [johanna] = value(
      await previewReclaim(ctx(), { sku: 'SPE_E5', email: 'johanna.lorenz@example.com' }),
    );
    expect(johanna?.blockers).toEqual([
      {
        code: 'reassignment-window',
        message:
          'assigned on 2026-10-31: within the 90-day minimum entitlement period, it can be reclaimed from 2027-01-29',
      },
    ]);

    // Exemption: the seat is kept on purpose.
    const lee = await seatOf('lee.gu@example.com', 'POWER_BI_PRO');
    await store.pool.query(
      `INSERT INTO exemptions (scope, subscriber_id, reason, until, created_by) VALUES ('seat', $1, 'board reports', '2027-03-01T00:00:00Z', 'cfo@example.com')`,
      [lee.id],
    );
    const [exempted] = value(
      await previewReclaim(ctx(), { sku: 'POWER_BI_PRO', email: 'lee.gu@example.com' }),
    );
    expect(exempted?.blockers).toEqual([
      { code: 'exemption', message: 'exempted (seat) by cfo@example.com until 2027-03-01: board reports' },
    ]);

    expect(await count(store, 'SELECT 1 FROM actions')).toBe(0);
    expect(await count(store, `SELECT 1 FROM audit_log WHERE action LIKE 'reclaim%'`)).toBe(0);
    expect(fake.server.calls(ASSIGN)).toHaveLength(0);
  });

  it('asks the holder, removes the seat on Release once Graph confirms, and undoes it within the window', async () => {
    const [asked] = value(
      await requestReclaim(ctx(), { sku: 'POWER_BI_PRO', email: 'lee.gu@example.com', askHolder: true }),
    );
    expect(asked).toMatchObject({ state: 'asking', ask: { holder: 'lee.gu@example.com', answer: null } });
    expect(asked?.ask?.deadline).toBe(new Date(clock.now().getTime() + 3 * DAY).toISOString());
    const actionId = asked?.actionId as string;

    // The question goes out once, through whichever notifier reaches the person.
    const surface = new RecordingNotifier();
    await deliverNotifications(store, [surface], { kinds: ['holder-ask'], now: clock.now() });
    await deliverNotifications(store, [surface], { kinds: ['holder-ask'], now: clock.now() });
    expect(surface.delivered).toHaveLength(1);
    expect(surface.delivered[0]).toMatchObject({
      kind: 'holder-ask',
      target: { email: 'lee.gu@example.com' },
      payload: { actionId, sku: 'POWER_BI_PRO', answers: ['keep', 'release'], reminder: false },
    });
    expect(surface.delivered[0]?.payload.question).toBe(
      'Do you still need Power BI Pro (lee.gu@example.com)? It was last used on 2026-08-01. Answer Keep or Release ' +
        'by 2026-11-23 09:00 UTC; without an answer the seat is released.',
    );
    expect(fake.server.calls(ASSIGN)).toHaveLength(0);

    const lee = await personActor(store, 'lee.gu@example.com');
    const released = value(await answerHolder(ctx(lee), { actionId, answer: 'release', wait: true }));
    expect(released).toMatchObject({
      state: 'done',
      detail: 'removed POWER_BI_PRO from lee.gu@example.com',
      ask: { answer: 'release' },
    });
    const [removal] = fake.server.calls(ASSIGN, 'POST');
    expect(removal?.path).toBe(`/v1.0/users/${USER.lee}/assignLicense`);
    expect(removal?.json).toEqual({ addLicenses: [], removeLicenses: [SKU.POWER_BI_PRO] });
    expect(licensesOf(USER.lee)).toEqual([SKU.ENTERPRISEPACK]);
    const seat = await seatOf('lee.gu@example.com', 'POWER_BI_PRO');
    expect(seat.is_active).toBe(false);
    expect(await findingOf(seat.id)).toEqual([
      { kind: 'idle', status: 'resolved', resolved_how: 'reclaimed', savings: 120 },
    ]);
    expect(await auditOf(store, actionId)).toEqual([
      { action: 'reclaim.requested', actor: IT.id },
      { action: 'holder.answered', actor: 'lee.gu@example.com' },
      { action: 'reclaim', actor: IT.id },
    ]);

    clock.advance(6 * DAY);
    const undone = value(await undoReclaim(ctx(), { actionId, wait: true }));
    expect(undone).toMatchObject({ kind: 'undo', state: 'done', undoes: actionId });
    const restore = fake.server.calls(ASSIGN, 'POST')[1];
    expect(restore?.json).toEqual({
      addLicenses: [{ skuId: SKU.POWER_BI_PRO, disabledPlans: [] }],
      removeLicenses: [],
    });
    expect(licensesOf(USER.lee)).toContain(SKU.POWER_BI_PRO);
    expect((await seatOf('lee.gu@example.com', 'POWER_BI_PRO')).is_active).toBe(true);
    expect(await findingOf(seat.id)).toEqual([
      { kind: 'idle', status: 'open', resolved_how: null, savings: 120 },
    ]);
    expect(
      (await store.pool.query(`SELECT state FROM actions WHERE id = $1`, [actionId])).rows[0].state,
    ).toBe('undone');

    // A second undo finds the first: no second vendor call.
    value(await undoReclaim(ctx(), { actionId, wait: true }));
    expect(fake.server.calls(ASSIGN)).toHaveLength(2);
  });

  it('refuses an undo after the window closed', async () => {
    const [done] = value(
      await reclaim(ctx(), { sku: 'POWER_BI_PRO', email: 'lee.gu@example.com', wait: true }),
    );
    clock.advance(7 * DAY + HOUR);
    const refused = await undoReclaim(ctx(), { actionId: done?.actionId as string, wait: true });
    expect(refused).toEqual({
      ok: false,
      error: {
        code: 'CONFLICT',
        message: `The undo window of action ${done?.actionId} closed on ${done?.undoUntil}.`,
      },
    });
    expect(fake.server.calls(ASSIGN)).toHaveLength(1);
  });

  it('releases the seat when the holder does not answer by the deadline, after exactly one reminder', async () => {
    const settings = { askHolderSkus: ['enterprisepack'] };
    const [asked] = value(
      await requestReclaim(ctx(), { sku: 'ENTERPRISEPACK', email: 'lee.gu@example.com' }, { settings }),
    );
    expect(asked?.state).toBe('asking');
    const actionId = asked?.actionId as string;
    const surface = new RecordingNotifier();
    const tick = () => runActionTick({ store, config, now: clock.now, settings }, [surface]);

    clock.advance(HOUR);
    expect(await tick()).toMatchObject({ reminded: 0, released: 0, performed: 0, delivered: { sent: 1 } });
    clock.advance(36 * HOUR);
    expect(await tick()).toMatchObject({ reminded: 1, released: 0, delivered: { sent: 1 } });
    clock.advance(HOUR);
    expect(await tick()).toMatchObject({ reminded: 0, released: 0, delivered: { sent: 0 } });
    expect(surface.delivered.map((n) => [n.kind, n.payload.reminder])).toEqual([
      ['holder-ask', false],
      ['holder-ask-reminder', true],
    ]);
    expect(fake.server.calls(ASSIGN)).toHaveLength(0);

    clock.set(asked?.ask?.deadline as string);
    expect(await tick()).toMatchObject({ released: 1, performed: 1 });
    expect(licensesOf(USER.lee)).toEqual([SKU.POWER_BI_PRO]);
    const ask = await store.pool.query(`SELECT answer FROM holder_asks WHERE action_id = $1`, [actionId]);
    expect(ask.rows).toEqual([{ answer: 'no-answer' }]);
    expect(await auditOf(store, actionId)).toEqual([
      { action: 'reclaim.requested', actor: IT.id },
      { action: 'holder.answered', actor: 'seatkeeper' },
      { action: 'reclaim', actor: IT.id },
    ]);
    expect(await tick()).toMatchObject({ released: 0, performed: 0 });
    expect(fake.server.calls(ASSIGN)).toHaveLength(1);
  });

  it('keeps the seat when the holder answers Keep: an exemption, the finding exempted, nothing sent to Graph', async () => {
    const [asked] = value(
      await requestReclaim(ctx(), { sku: 'SPE_E5', email: 'isaiah.langer@example.com', askHolder: true }),
    );
    const actionId = asked?.actionId as string;

    // Only the holder (or an it-manager) answers; anyone else is refused, and that is audited.
    const adele = await personActor(store, 'adele.vance@example.com');
    const refused = await answerHolder(ctx(adele), { actionId, answer: 'release' });
    expect(refused.ok ? undefined : refused.error.code).toBe('NOT_AUTHORIZED');
    expect(
      await count(
        store,
        `SELECT 1 FROM audit_log WHERE action = 'denied' AND actor = 'adele.vance@example.com'`,
      ),
    ).toBe(1);

    const isaiah = await personActor(store, 'isaiah.langer@example.com');
    const kept = value(await answerHolder(ctx(isaiah), { actionId, answer: 'keep', wait: true }));
    expect(kept).toMatchObject({ state: 'cancelled', ask: { answer: 'keep' } });
    const seat = await seatOf('isaiah.langer@example.com', 'SPE_E5');
    const exemption = await store.pool.query(
      `SELECT scope, reason, created_by FROM exemptions WHERE subscriber_id = $1`,
      [seat.id],
    );
    expect(exemption.rows).toEqual([
      { scope: 'seat', reason: 'holder asked to keep', created_by: 'isaiah.langer@example.com' },
    ]);
    expect((await findingOf(seat.id))[0]).toMatchObject({ kind: 'idle', status: 'exempted' });
    expect(fake.server.calls(ASSIGN)).toHaveLength(0);

    // A second answer changes nothing; a new reclaim of the seat is blocked by the exemption.
    value(await answerHolder(ctx(isaiah), { actionId, answer: 'release', wait: true }));
    expect(
      (await store.pool.query(`SELECT state FROM actions WHERE id = $1`, [actionId])).rows[0].state,
    ).toBe('cancelled');
    const again = await reclaim(ctx(), { sku: 'SPE_E5', email: 'isaiah.langer@example.com', wait: true });
    expect(again.ok ? undefined : again.error).toMatchObject({ code: 'CONFLICT' });
    expect(again.ok ? '' : again.error.message).toContain('holder asked to keep');
    expect(fake.server.calls(ASSIGN)).toHaveLength(0);
  });

  it("records Graph's refusal of a seat that turned group-inherited, with its reason, as not retryable", async () => {
    // Since the import, the E3 came to Lee through a group as well as the direct assignment was removed.
    const lee = fake.user(USER.lee);
    for (const state of lee?.licenseAssignmentStates ?? [])
      if (state.skuId === SKU.ENTERPRISEPACK) state.assignedByGroup = '2f5c3b1e-0f7d-4c6a-9b52-7d1e2a9c4b10';

    const result = await reclaim(ctx(), { sku: 'ENTERPRISEPACK', email: 'lee.gu@example.com', wait: true });
    expect(result.ok).toBe(false);
    const message = result.ok ? '' : result.error.message;
    expect(result.ok ? undefined : result.error.code).toBe('VENDOR_FAILED');
    expect(message).toContain(
      'HTTP 400 Request_BadRequest: User license is inherited from a group membership and it cannot be removed directly from the user.',
    );
    const action = (await store.pool.query(`SELECT * FROM actions`)).rows[0];
    expect(action).toMatchObject({
      state: 'failed',
      attempts: 1,
      result: { code: 'Request_BadRequest', retryable: false },
    });
    expect(action.error).toContain('inherited from a group membership');
    const seat = await seatOf('lee.gu@example.com', 'ENTERPRISEPACK');
    expect(seat.is_active).toBe(true);
    expect((await findingOf(seat.id))[0]).toMatchObject({ status: 'open' });
    expect(await auditOf(store, action.id)).toEqual([
      { action: 'reclaim.requested', actor: IT.id },
      { action: 'reclaim.failed', actor: IT.id },
    ]);
    expect(fake.server.calls(ASSIGN)).toHaveLength(1);
  });

  it('retries an action that failed on an outage, and the retry removes the seat', async () => {
    fake.server.inject(outage(503, ASSIGN));
    const failed = await reclaim(ctx(), { sku: 'POWER_BI_PRO', email: 'lee.gu@example.com', wait: true });
    expect(failed.ok ? '' : failed.error.message).toMatch(/503.*retry with: seatkeeper retry [0-9a-f-]{36}/s);
    const action = (await store.pool.query(`SELECT id, state, result FROM actions`)).rows[0];
    expect(action).toMatchObject({
      state: 'failed',
      result: { retryable: true, code: 'serviceNotAvailable' },
    });
    expect(licensesOf(USER.lee)).toContain(SKU.POWER_BI_PRO);

    const retried = value(await retryAction(ctx(), { actionId: action.id, wait: true }));
    expect(retried).toMatchObject({ state: 'done', attempts: 2 });
    expect(licensesOf(USER.lee)).toEqual([SKU.ENTERPRISEPACK]);
    expect(fake.server.calls(ASSIGN)).toHaveLength(2);
    expect(await auditOf(store, action.id)).toEqual([
      { action: 'reclaim.requested', actor: IT.id },
      { action: 'reclaim.failed', actor: IT.id },
      { action: 'reclaim.retried', actor: IT.id },
      { action: 'reclaim', actor: IT.id },
    ]);
    // Retrying what is done does nothing.
    value(await retryAction(ctx(), { actionId: action.id, wait: true }));
    expect(fake.server.calls(ASSIGN)).toHaveLength(2);
  });

  it('reclaims once when the same action is submitted twice at the same time, and again later', async () => {
    const requestId = randomUUID();
    const input = { sku: 'POWER_BI_PRO', email: 'lee.gu@example.com', requestId, wait: true };
    const [first, second] = await Promise.all([reclaim(ctx(), input), reclaim(ctx(), input)]);
    expect(value(first)[0]).toMatchObject({ actionId: requestId, state: 'done' });
    expect(value(second)[0]).toMatchObject({ actionId: requestId, state: 'done' });
    expect(value(await reclaim(ctx(), input))[0]).toMatchObject({ actionId: requestId, state: 'done' });
    expect(fake.server.calls(ASSIGN)).toHaveLength(1);
    expect(await auditOf(store, requestId)).toEqual([
      { action: 'reclaim.requested', actor: IT.id },
      { action: 'reclaim', actor: IT.id },
    ]);
  });

  it('calls Graph once when two workers (replicas) pick up the same queued action', async () => {
    const [queued] = value(
      await requestReclaim(ctx(), { sku: 'ENTERPRISEPACK', email: 'lee.gu@example.com' }),
    );
    expect(queued?.state).toBe('queued');
    const other = await db.open();
    const worker = (s: Store) =>
      performAction({ store: s, config, now: clock.now }, queued?.actionId as string);
    const outcomes = await Promise.all([worker(store), worker(other)]);
    expect(outcomes.map((o) => o.ran).sort()).toEqual([false, true]);
    expect(outcomes.find((o) => o.ran)?.action.state).toBe('done');
    expect(fake.server.calls(ASSIGN)).toHaveLength(1);
    expect(await auditOf(store, queued?.actionId as string)).toEqual([
      { action: 'reclaim.requested', actor: IT.id },
      { action: 'reclaim', actor: IT.id },
    ]);
  });

  it('reclaims every idle seat of a SKU in one batch, down to the commit floor', async () => {
    // E5: 4 in use, floor 3: one of the two idle seats may go, the longest unused (Isaiah, July) first.
    await store.pool.query(`UPDATE licenses SET commit_floor = 3 WHERE sku = 'SPE_E5'`);
    const preview = value(await previewReclaim(ctx(), { sku: 'SPE_E5', allIdle: true }));
    expect(preview.map((r) => [r.email, r.state, r.blockers.map((b) => b.code)])).toEqual([
      ['isaiah.langer@example.com', 'preview', []],
      ['johanna.lorenz@example.com', 'blocked', ['commit-floor']],
    ]);
    const batchId = randomUUID();
    const rows = value(
      await reclaim(ctx(), { sku: 'SPE_E5', allIdle: true, requestId: batchId, wait: true }),
    );
    expect(rows.map((r) => [r.email, r.state, r.batchId])).toEqual([
      ['isaiah.langer@example.com', 'done', batchId],
      ['johanna.lorenz@example.com', 'blocked', null],
    ]);
    expect(licensesOf(USER.isaiah)).toEqual([]);
    expect(fake.server.calls(ASSIGN)).toHaveLength(1);

    // The same batch again makes nothing new; a new batch finds the floor reached.
    expect(
      value(await reclaim(ctx(), { sku: 'SPE_E5', allIdle: true, requestId: batchId, wait: true })),
    ).toHaveLength(1);
    const later = value(await reclaim(ctx(), { sku: 'SPE_E5', allIdle: true, wait: true }));
    expect(later.map((r) => [r.email, r.state])).toEqual([['johanna.lorenz@example.com', 'blocked']]);
    expect(later[0]?.blockers[0]?.message).toContain('(1 more already being reclaimed)');
    expect(fake.server.calls(ASSIGN)).toHaveLength(1);
  });
});
