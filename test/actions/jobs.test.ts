import { afterEach, describe, expect, it } from 'vitest';
import { requestReclaim } from '../../handlers/reclaim.ts';
import { ACTION_RUN_JOB, defineActionJobs, runActionTick } from '../../src/actions/jobs.ts';
import { importSource } from '../../src/inventory/import-service.ts';
import { JobRunner } from '../../src/jobs/job-runner.ts';
import { createLogger } from '../../src/log.ts';
import type { Store } from '../../src/store/store.ts';
import { GraphFake } from '../fakes/graph-fake.ts';
import { SKU, USER } from '../fakes/graph-fixtures.ts';
import { graphConfig } from '../support/graph-env.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import { actor, auditOf, clockAt, contextFor, HOUR, value } from './support.ts';

const log = createLogger('silent');
const ASSIGN = /\/assignLicense$/;

/** Polls a condition on the database (no fixed sleeps). */
async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the action jobs on the job runner', () => {
  let db: TestDatabase;
  let fake: GraphFake;
  const runners: JobRunner[] = [];
  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
    await fake?.stop();
    await db?.drop();
  });

  it('runs a reclaim once when two replicas are both told to, and a stuck run becomes a retryable failure', async () => {
    const clock = clockAt('2026-11-20T08:00:00Z');
    db = await createTestDatabase();
    const storeA = await db.open();
    const storeB = await db.open();
    fake = await new GraphFake().start();
    const config = graphConfig(db, fake);
    await importSource(storeA, config, 'm365', { trigger: 'test', now: clock.now });
    const it = contextFor(storeA, config, actor('it.lead@example.com', ['it-manager']), clock.now);
    const [queued] = value(await requestReclaim(it, { sku: 'POWER_BI_PRO', email: 'lee.gu@example.com' }));
    const actionId = queued?.actionId as string;

    const replica = (store: Store, name: string) => {
      const runner = new JobRunner({ store, log, pollSeconds: 1, name });
      defineActionJobs(runner, { store, config, log, now: clock.now });
      runners.push(runner);
      return runner;
    };
    const a = replica(storeA, 'a');
    const b = replica(storeB, 'b');
    await a.start();
    await b.start();
    // A double click reaches both replicas: each enqueues the same action.
    await a.enqueue(ACTION_RUN_JOB, { actionId });
    await b.enqueue(ACTION_RUN_JOB, { actionId });
    const settledJobs = async () =>
      (
        await storeA.pool.query(
          `SELECT count(*)::int AS n FROM agenda_jobs WHERE name = $1 AND last_finished_at IS NOT NULL`,
          [ACTION_RUN_JOB],
        )
      ).rows[0].n === 2;
    await until(settledJobs);
    const action = await storeA.pool.query(`SELECT state, attempts FROM actions WHERE id = $1`, [actionId]);
    expect(action.rows).toEqual([{ state: 'done', attempts: 1 }]);
    expect(fake.server.calls(ASSIGN)).toHaveLength(1);
    expect(fake.user(USER.lee)?.assignedLicenses.map((l) => l.skuId)).toEqual([SKU.ENTERPRISEPACK]);
    expect(await auditOf(storeA, actionId)).toEqual([
      { action: 'reclaim.requested', actor: 'it.lead@example.com' },
      { action: 'reclaim', actor: 'it.lead@example.com' },
    ]);

    for (const runner of runners.splice(0)) await runner.stop();
    // A process that died while Graph was being called leaves its run "running": after the limit it is failed,
    // retryable, and not sent again by itself (Graph may have acted).
    const [stuck] = value(await requestReclaim(it, { sku: 'ENTERPRISEPACK', email: 'lee.gu@example.com' }));
    await storeA.pool.query(
      `UPDATE actions SET state = 'running', attempts = 1, updated_at = $2 WHERE id = $1`,
      [stuck?.actionId, clock.now()],
    );
    clock.advance(HOUR);
    expect(await runActionTick({ store: storeA, config, now: clock.now })).toMatchObject({
      interrupted: 1,
      performed: 0,
    });
    const failed = await storeA.pool.query(`SELECT state, error, result FROM actions WHERE id = $1`, [
      stuck?.actionId,
    ]);
    expect(failed.rows[0]).toMatchObject({
      state: 'failed',
      result: { retryable: true, code: 'INTERRUPTED' },
    });
    expect(failed.rows[0].error).toMatch(/^interrupted/);
    expect(fake.server.calls(ASSIGN)).toHaveLength(1);
  });
});
