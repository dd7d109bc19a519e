/**
 * The Seatkeeper service: store (migrated at start), job runner, HTTP server, and every surface and connector whose
 * configuration is present. One log line per part says whether it is enabled, or why not.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONNECTOR_NAMES, personSource } from '../connectors/index.ts';
import { defineActionJobs } from './actions/jobs.ts';
import { CONNECTOR_GROUPS, type Config, configuredConnectors } from './config/config.ts';
import { createHttpApp, listen } from './http/http-server.ts';
import { Metrics } from './http/metrics.ts';
import { importSource } from './inventory/import-service.ts';
import { JobRunner } from './jobs/job-runner.ts';
import type { Logger } from './log.ts';
import { mountIcsFeed } from './renewals/ics-route.ts';
import { defineRenewalJobs } from './renewals/jobs.ts';
import { migrateStore } from './store/migrate.ts';
import { openStore, type Store } from './store/store.ts';
import { type SlackSurface, startSlackSurface } from './surfaces/slack/slack-surface.ts';
import { startTeamsSurface } from './surfaces/teams/teams-surface.ts';
import { mountConsole } from './web/console.ts';
import { mountDashboard } from './web/dashboard-routes.ts';
import { mountWebAuth } from './web/web-auth.ts';

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
  let slack: SlackSurface | undefined;
  try {
    log.info({ database: store.location, kind: store.kind }, `database: ${store.location}`);
    await migrateStore(store);
    log.info('database: migrations applied');

    const metrics = new Metrics();
    const runner = new JobRunner({ store, log, metrics, pollSeconds: config.SEATKEEPER_JOB_POLL_SECONDS });
    jobs = runner;
    const configured = configuredConnectors(config);
    for (const name of CONNECTOR_NAMES) {
      if (!configured.includes(name)) {
        log.info(`connector ${name}: not configured (set ${CONNECTOR_GROUPS[name].join(', ')})`);
        continue;
      }
      runner.define<{ catchUp?: boolean }>({
        name: `import:${name}`,
        every: config.SEATKEEPER_IMPORT_INTERVAL,
        lockLifetimeMs: 60 * 60_000,
        run: async (data) => {
          // Every replica starting together queues a catch-up import; the first one to run makes the rest moot.
          if (data?.catchUp && !(await importDue(store, name, config.SEATKEEPER_IMPORT_INTERVAL))) {
            log.info({ connector: name }, `import ${name}: skipped, another process has just imported`);
            return;
          }
          const result = await importSource(store, config, name, { trigger: 'schedule', log, metrics });
          log.info(
            { connector: name, runId: result.runId, counts: result.counts },
            `import ${name}: succeeded`,
          );
        },
      });
      const persons = personSource(config) === name ? ', person source' : '';
      log.info(`connector ${name}: enabled, imports every ${config.SEATKEEPER_IMPORT_INTERVAL}${persons}`);
    }
    defineRenewalJobs(runner, { store, config, log });
    defineActionJobs(runner, { store, config, log });
    // The HTTP app exists before the runner starts: chat surfaces mount routes on it and define their jobs.
    const app = createHttpApp({ store, metrics, log, jobsRunning: () => runner.isRunning });
    slack = await startSlackSurface({ app, store, config, log, jobs: runner });
    const teams = startTeamsSurface({ app, store, config, log, jobs: runner });
    await runner.start();
    log.info(`jobs: running (polling every ${config.SEATKEEPER_JOB_POLL_SECONDS}s)`);
    if (configured.length === 0) {
      log.info(
        'No connector is configured: the inventory stays empty until one is. See README, "Configuration".',
      );
    }
    // A connector that has not imported within its interval (e.g. on first start) imports now, not hours later.
    for (const name of configured) {
      if (await importDue(store, name, config.SEATKEEPER_IMPORT_INTERVAL))
        await runner.enqueue(`import:${name}`, { catchUp: true });
    }

    mountIcsFeed(app, { store, config, log });
    mountWebAuth(app, { store, config, log });
    mountDashboard(app, { store, config, log });
    mountConsole({ app, store, config, log, jobs: runner });
    server = await listen(app, config.PORT, config.HOST);
    const port = (server.address() as AddressInfo).port;
    log.info({ port }, `http: listening on ${config.HOST}:${port} (/healthz, /readyz, /metrics)`);

    const httpServer = server;
    const slackSurface = slack;
    return {
      store,
      jobs: runner,
      metrics,
      port,
      async stop() {
        const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
        httpServer.closeIdleConnections();
        await closed;
        // Messages acknowledged before the server closed are still answered.
        await teams.stop();
        await slackSurface?.stop();
        await runner.stop();
        await store.close();
        log.info('stopped');
      },
    };
  } catch (error) {
    server?.close();
    await slack?.stop().catch(() => undefined);
    await jobs?.stop().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}

/** Whether `source` has not imported successfully within `interval` (or never has). */
async function importDue(store: Store, source: string, interval: string): Promise<boolean> {
  const last = await store.pool.query<{ finished_at: Date | null }>(
    `SELECT max(finished_at) AS finished_at FROM import_runs WHERE source = $1 AND outcome = 'succeeded'`,
    [source],
  );
  const finished = last.rows[0]?.finished_at;
  return !finished || Date.now() - finished.getTime() > intervalToMs(interval);
}

/** `6 hours`, `30 minutes`, `1 day` → milliseconds (the format the configuration accepts). */
export function intervalToMs(interval: string): number {
  const [count, unit] = interval.split(' ') as [string, string];
  const unitMs = unit.startsWith('minute') ? 60_000 : unit.startsWith('hour') ? 3_600_000 : 86_400_000;
  return Number(count) * unitMs;
}
