import { afterEach, describe, expect, it } from 'vitest';
import { JobRunner } from '../../src/jobs/job-runner.ts';
import { createLogger } from '../../src/log.ts';
import type { Store } from '../../src/store/store.ts';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const log = createLogger('silent');

/** Polls until `check` holds (no fixed sleeps). */
async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(BACKENDS)('job runner on %s', (backend) => {
  let db: TestDatabase;
  const runners: JobRunner[] = [];
  afterEach(async () => {
    for (const r of runners.splice(0)) await r.stop();
    await db?.drop();
  });

  function runner(store: Store, name: string, onRun: (n: number) => Promise<void>) {
    const r = new JobRunner({ store, log, pollSeconds: 1, name });
    r.define<{ n: number }>({ name: 'test.record', run: async ({ n }) => onRun(n) });
    r.define({ name: 'test.repeating', every: '1 hour', run: async () => undefined });
    runners.push(r);
    return r;
  }

  it('runs each enqueued job exactly once across two replicas, and keeps one repeating job', async () => {
    db = await createTestDatabase(backend);
    const storeA = await db.open();
    const storeB = await db.open();
    await storeA.pool.query('CREATE TABLE job_log (n int NOT NULL, worker text NOT NULL)');
    const record = (store: Store, worker: string) => async (n: number) => {
      await store.pool.query('INSERT INTO job_log (n, worker) VALUES ($1, $2)', [n, worker]);
    };
    const a = runner(storeA, 'a', record(storeA, 'a'));
    const b = runner(storeB, 'b', record(storeB, 'b'));
    await a.start();
    await b.start();
    for (let n = 0; n < 30; n++) await (n % 2 ? a : b).enqueue('test.record', { n });

    await until(
      async () => (await storeA.pool.query('SELECT count(*)::int AS c FROM job_log')).rows[0].c >= 30,
    );
    const counts = await storeA.pool.query('SELECT n, count(*)::int AS c FROM job_log GROUP BY n ORDER BY n');
    expect(counts.rows).toHaveLength(30);
    expect(counts.rows.every((r) => r.c === 1)).toBe(true);
    const repeating = await storeA.pool.query(
      `SELECT count(*)::int AS c FROM agenda_jobs WHERE name = 'test.repeating'`,
    );
    expect(repeating.rows[0].c).toBe(1);
  });

  it('keeps running when the database drops every connection (a server restart)', async () => {
    db = await createTestDatabase(backend);
    const store = await db.open();
    const seen: number[] = [];
    const r = new JobRunner({ store, log, pollSeconds: 1 });
    r.define<{ n: number }>({ name: 'test.record', run: async ({ n }) => void seen.push(n) });
    runners.push(r);
    await r.start();
    await r.enqueue('test.record', { n: 1 });
    await until(async () => seen.length === 1);
    if (backend === 'server') {
      // Terminate every other session of this database, the LISTEN connection included.
      const admin = await db.open();
      await admin.pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
    }
    await until(async () => {
      try {
        await r.enqueue('test.record', { n: 2 });
        return true;
      } catch {
        return false;
      }
    });
    await until(async () => seen.includes(2));
    expect(seen.slice(0, 1)).toEqual([1]);
  });

  it('keeps enqueued work across a restart', async () => {
    db = await createTestDatabase(backend);
    const store = await db.open();
    const seen: number[] = [];
    const first = new JobRunner({ store, log, pollSeconds: 1 });
    first.define<{ n: number }>({ name: 'test.record', run: async () => undefined });
    // Enqueued while no runner processes: the job is a row and waits.
    await first.start();
    await first.stop();
    const queued = new JobRunner({ store, log, pollSeconds: 1 });
    queued.define<{ n: number }>({ name: 'test.record', run: async ({ n }) => void seen.push(n) });
    runners.push(queued);
    await store.pool.query(
      `INSERT INTO agenda_jobs (name, priority, next_run_at, type, data) VALUES ('test.record', 0, now(), 'normal', '{"n": 7}')`,
    );
    await queued.start();
    await until(async () => seen.length === 1);
    expect(seen).toEqual([7]);
  });
});
