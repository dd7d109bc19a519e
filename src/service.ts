/**
 * The Seatkeeper service: store (migrated at start), job runner, HTTP server, and every surface and connector whose
 * configuration is present. One log line per part says whether it is enabled, or why not.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/config.ts';
import { createHttpApp, listen } from './http/http-server.ts';
import { Metrics } from './http/metrics.ts';
import { JobRunner } from './jobs/job-runner.ts';
import type { Logger } from './log.ts';
import { migrateStore } from './store/migrate.ts';
import { openStore, type Store } from './store/store.ts';

export interface Service {
  store: Store;
  jobs: JobRunner;
  metrics: Metrics;
  /** The bound HTTP port. */
  port: number;
  stop(): Promise<void>;
}

export async function startService(config: Config, log: Logger): Promise<Service> {
  const store = await openStore(config);
  let jobs: JobRunner | undefined;
  let server: Server | undefined;
  try {
    log.info({ database: store.location, kind: store.kind }, `database: ${store.location}`);
    await migrateStore(store);
    log.info('database: migrations applied');

    const metrics = new Metrics();
    const runner = new JobRunner({ store, log, metrics, pollSeconds: config.SEATKEEPER_JOB_POLL_SECONDS });
    jobs = runner;
    await runner.start();
    log.info(`jobs: running (polling every ${config.SEATKEEPER_JOB_POLL_SECONDS}s)`);

    const app = createHttpApp({ store, metrics, log, jobsRunning: () => runner.isRunning });
    server = await listen(app, config.PORT, config.HOST);
    const port = (server.address() as AddressInfo).port;
    log.info({ port }, `http: listening on ${config.HOST}:${port} (/healthz, /readyz, /metrics)`);
    log.info(
      'slack: not configured; teams: not configured; connectors: none configured. See README, "Configuration".',
    );

    const httpServer = server;
    return {
      store,
      jobs: runner,
      metrics,
      port,
      async stop() {
        const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
        httpServer.closeIdleConnections();
        await closed;
        await runner.stop();
        await store.close();
        log.info('stopped');
      },
    };
  } catch (error) {
    server?.close();
    await jobs?.stop().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}
