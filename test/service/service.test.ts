import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startServiceProcess } from '../support/processes.ts';
import { createTestDatabase, DEFAULT_BACKEND, type TestDatabase } from '../support/test-store.ts';

describe('the service', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function database(backend = DEFAULT_BACKEND): Promise<TestDatabase> {
    const db = await createTestDatabase(backend);
    cleanups.push(() => db.drop());
    return db;
  }

  it('serves health, readiness and Prometheus metrics, and stops cleanly on SIGTERM', async () => {
    const db = await database();
    const service = await startServiceProcess({ ...db.env, SEATKEEPER_DEMO: '0' });
    expect(await (await fetch(`${service.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', jobs: 'ok' } });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(
      /^seatkeeper_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} 1$/m,
    );
    expect(metrics).toContain('# TYPE seatkeeper_job_runs_total counter');
    expect(metrics).toContain('# TYPE seatkeeper_import_runs_total counter');

    expect(await service.stop()).toBe(0);
    const logged = service.lines.map((l) => JSON.parse(l).msg);
    expect(logged).toContain('database: migrations applied');
    expect(logged).toContain('jobs: running (polling every 10s)');
    expect(logged.at(-1)).toBe('stopped');
  });

  it('runs on the embedded database with nothing configured but the demo turned off; CLI commands go through it while it runs', async () => {
    const db = await database('embedded');
    const service = await startServiceProcess({ ...db.env, SEATKEEPER_DEMO: '0' });
    const dir = db.env.SEATKEEPER_DATA_DIR as string;
    expect(existsSync(join(dir, 'seatkeeper.lock'))).toBe(true);

    // The data directory is locked by the service; the CLI connects to it instead of opening the files.
    const seats = await runCli(['seats', '--json'], db.env);
    expect(seats).toMatchObject({ code: 0, out: '[]\n' });

    // A second service on the same directory is refused with a clear reason.
    const second = await startServiceProcess({ ...db.env, SEATKEEPER_DEMO: '0' }).catch((e: Error) => e);
    expect(second).toBeInstanceOf(Error);
    expect((second as Error).message).toMatch(
      /Cannot open the embedded database in SEATKEEPER_DATA_DIR \(.*\): The embedded database in .* is in use by process \d+ \(a running Seatkeeper\)/,
    );

    expect(await service.stop()).toBe(0);
    expect(existsSync(join(dir, 'seatkeeper.lock'))).toBe(false);
    // Without a running service the CLI opens the store itself.
    expect(await runCli(['clearing', '--json'], db.env)).toMatchObject({ code: 0, out: '[]\n' });
  });

  it('takes over the data directory of a service that was killed', async () => {
    const db = await database('embedded');
    const first = await startServiceProcess({ ...db.env, SEATKEEPER_DEMO: '0' });
    await first.stop('SIGKILL');
    const second = await startServiceProcess({ ...db.env, SEATKEEPER_DEMO: '0' });
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);
    expect(await second.stop()).toBe(0);
  });
});
