import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { JobRunner } from '../../src/jobs/job-runner.ts';
import { createLogger } from '../../src/log.ts';
import { defineRenewalJobs, RENEWAL_SCAN_JOB } from '../../src/renewals/jobs.ts';
import { scanRenewals } from '../../src/renewals/scan.ts';
import { DEFAULT_RENEWAL_SETTINGS, renewalSettings } from '../../src/renewals/settings.ts';
import type { Store } from '../../src/store/store.ts';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import {
  addDays,
  context,
  contract,
  IT_MANAGER,
  insertLicense,
  insertPerson,
  TestClock,
} from './renewal-fixtures.ts';

const log = createLogger('silent');
const settings = DEFAULT_RENEWAL_SETTINGS;

/** Polls until `check` holds (no fixed sleeps). */
async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function alertRows(store: Store) {
  const rows = await store.pool.query(
    'SELECT license_id, renewal_date, threshold_days FROM renewal_alerts ORDER BY threshold_days DESC',
  );
  return rows.rows;
}

async function notifications(store: Store) {
  const rows = await store.pool.query(
    'SELECT dedupe_key, kind, target, payload FROM notifications ORDER BY created_at, dedupe_key',
  );
  return rows.rows;
}

describe.each(BACKENDS)('renewal scan on %s', (backend) => {
  let db: TestDatabase;
  const runners: JobRunner[] = [];
  afterEach(async () => {
    for (const r of runners.splice(0)) await r.stop();
    await db?.drop();
  });

  /** Figma renewing on 2027-06-30 with 30 days' notice: cancel-by 2027-05-31, owned by ana. */
  async function figma(store: Store, clock: TestClock) {
    const ownerId = await insertPerson(store, 'ana@example.com');
    const licenseId = await insertLicense(store, { sku: 'FIGMA_ORG', enabled: 20, consumed: 12 });
    await contract(context(store, db.config, IT_MANAGER, clock), {
      sku: 'FIGMA_ORG',
      renewalDate: '2027-06-30',
      noticeDays: 30,
      unitPrice: '45',
      currency: 'USD',
      costCenter: 'Design',
      product: 'Figma Organization',
      owner: 'Ana@Example.com',
    });
    return { licenseId, ownerId };
  }

  it('alerts each lead time once as the clock passes it, to procurement and the owner, then the missed cancel-by', async () => {
    db = await createTestDatabase(backend);
    const store = await db.open();
    const clock = new TestClock('2027-02-01');
    const { licenseId, ownerId } = await figma(store, clock);

    const seen: number[] = [];
    // Days before cancel-by (2027-05-31): 119, 90, 90 again, 46, 30, 7, 0, -1 (missed), -2.
    for (const day of [
      '2027-02-01',
      '2027-03-02',
      '2027-03-02',
      '2027-04-15',
      '2027-05-01',
      '2027-05-24',
      '2027-05-31',
      '2027-06-01',
      '2027-06-02',
    ]) {
      clock.setDay(day);
      const first = await scanRenewals(store.pool, settings, clock.now());
      // A second run the same day (a restart, a retried job) finds nothing new.
      const again = await scanRenewals(store.pool, settings, clock.now());
      expect(again.alerts).toEqual([]);
      seen.push(...first.alerts.map((a) => a.thresholdDays));
    }
    expect(seen).toEqual([90, 60, 30, 7, 0]);
    expect(await alertRows(store)).toEqual(
      [90, 60, 30, 7, 0].map((t) => ({
        license_id: licenseId,
        renewal_date: '2027-06-30',
        threshold_days: t,
      })),
    );

    const sent = await notifications(store);
    expect(sent).toHaveLength(10);
    expect(new Set(sent.map((n) => n.dedupe_key)).size).toBe(10);
    expect(sent.slice(0, 2)).toEqual([
      expect.objectContaining({
        kind: 'renewal-alert',
        target: { channel: 'procurement' },
        payload: expect.objectContaining({
          licenseId,
          product: 'Figma Organization',
          sku: 'FIGMA_ORG',
          renewalDate: '2027-06-30',
          cancelBy: '2027-05-31',
          daysLeft: 90,
          thresholdDays: 90,
          missed: false,
          quantity: 20,
          annualCost: 900,
          currency: 'USD',
          owner: 'ana@example.com',
        }),
      }),
      expect.objectContaining({
        kind: 'renewal-alert',
        target: { email: 'ana@example.com', personId: ownerId },
      }),
    ]);
    const missed = sent.filter((n) => n.payload.thresholdDays === 0);
    expect(missed.map((n) => n.payload)).toEqual([
      expect.objectContaining({ missed: true, daysLeft: -1 }),
      expect.objectContaining({ missed: true, daysLeft: -1 }),
    ]);

    // After the renewal date the old term no longer alerts at all.
    clock.setDay('2027-07-01');
    expect((await scanRenewals(store.pool, settings, clock.now())).alerts).toEqual([]);
  });

  it('alerts only the tightest lead time reached when a contract is entered late', async () => {
    db = await createTestDatabase(backend);
    const store = await db.open();
    const clock = new TestClock('2027-05-11');
    await figma(store, clock);
    const result = await scanRenewals(store.pool, settings, clock.now());
    expect(result.alerts).toEqual([
      expect.objectContaining({ sku: 'FIGMA_ORG', thresholdDays: 30, cancelBy: '2027-05-31' }),
    ]);
    expect(result.notifications).toBe(2);
    // Moving the renewal date starts a new series of alerts for the new date.
    await contract(context(store, db.config, IT_MANAGER, clock), {
      sku: 'FIGMA_ORG',
      renewalDate: addDays('2027-06-30', 365),
    });
    expect((await scanRenewals(store.pool, settings, clock.now())).alerts).toEqual([]);
  });

  it('gives Slack and Teams each their own copy of the procurement alert when both reach the channel', async () => {
    db = await createTestDatabase(backend);
    const store = await db.open();
    const clock = new TestClock('2027-05-11');
    await figma(store, clock);
    const chat = { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'test-secret', NODE_ENV: 'test' };
    const both = renewalSettings(
      loadConfig({ ...chat, TEAMS_CHANNELS: 'it=19:it@thread.tacv2,procurement=19:buy@thread.tacv2' }),
    );
    expect(both.procurementPlatforms).toEqual(['slack', 'teams']);
    expect(renewalSettings(loadConfig({ ...chat, TEAMS_CHANNELS: 'it=19:it@thread.tacv2' }))).toMatchObject({
      procurementPlatforms: ['slack'],
    });

    const result = await scanRenewals(store.pool, both, clock.now());
    expect(result.notifications).toBe(3);
    expect(await scanRenewals(store.pool, both, clock.now())).toMatchObject({ alerts: [], notifications: 0 });
    const targets = (await notifications(store)).map((n) => n.target);
    expect(targets).toEqual(
      expect.arrayContaining([
        { channel: 'procurement', platform: 'slack' },
        { channel: 'procurement', platform: 'teams' },
        expect.objectContaining({ email: 'ana@example.com' }),
      ]),
    );
    expect(targets).toHaveLength(3);
  });

  it('alerts once when two replicas scan at the same time, and again not after a restart', async () => {
    db = await createTestDatabase(backend);
    const storeA = await db.open();
    const storeB = await db.open();
    const clock = new TestClock('2027-05-01');
    await figma(storeA, clock);

    const results = await Promise.all([
      scanRenewals(storeA.pool, settings, clock.now()),
      scanRenewals(storeB.pool, settings, clock.now()),
      scanRenewals(storeA.pool, settings, clock.now()),
      scanRenewals(storeB.pool, settings, clock.now()),
    ]);
    expect(results.flatMap((r) => r.alerts.map((a) => a.thresholdDays))).toEqual([30]);
    expect(results.reduce((sum, r) => sum + r.notifications, 0)).toBe(2);

    await storeA.close();
    const restarted = await db.open();
    expect((await scanRenewals(restarted.pool, settings, clock.now())).alerts).toEqual([]);
    expect(await notifications(restarted)).toHaveLength(2);
  });

  it('alerts once when the daily job runs on two job runners', async () => {
    db = await createTestDatabase(backend);
    const storeA = await db.open();
    const storeB = await db.open();
    const clock = new TestClock('2027-03-02');
    await figma(storeA, clock);
    for (const [store, name] of [
      [storeA, 'replica-a'],
      [storeB, 'replica-b'],
    ] as const) {
      const runner = new JobRunner({ store, log, pollSeconds: 1, name });
      defineRenewalJobs(runner, { store, config: db.config, log, now: clock.now });
      runners.push(runner);
      await runner.start();
    }
    for (const runner of runners) {
      await runner.enqueue(RENEWAL_SCAN_JOB);
      await runner.enqueue(RENEWAL_SCAN_JOB);
    }
    await until(async () => {
      const done = await storeA.pool.query(
        `SELECT count(*)::int AS c FROM agenda_jobs
         WHERE name = $1 AND type = 'normal' AND last_finished_at IS NOT NULL`,
        [RENEWAL_SCAN_JOB],
      );
      return done.rows[0].c === 4;
    });
    expect((await alertRows(storeA)).map((r) => r.threshold_days)).toEqual([90]);
    expect(await notifications(storeA)).toHaveLength(2);
    // The daily schedule itself exists once, whichever replica created it.
    const daily = await storeA.pool.query(
      `SELECT repeat_interval FROM agenda_jobs WHERE name = $1 AND type = 'single'`,
      [RENEWAL_SCAN_JOB],
    );
    expect(daily.rows).toEqual([{ repeat_interval: '0 7 * * *' }]);
  });
});
