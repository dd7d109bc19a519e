import type { Server } from 'node:http';
import express, { type Express } from 'express';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { Metrics } from './metrics.ts';

export interface HttpDeps {
  store: Store;
  metrics: Metrics;
  log: Logger;
  /** Whether background work is running; `/readyz` reports it. */
  jobsRunning: () => boolean;
}

/**
 * The service's one HTTP server. Health and metrics now; the chat surfaces (`/slack/events`, `/api/messages`) and
 * the dashboard mount their routes on the same app.
 */
export function createHttpApp(deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // The matched route, not the raw URL, so ids in paths do not explode the label set.
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      deps.metrics.httpDuration.observe(
        { method: req.method, route, status: String(res.statusCode) },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    try {
      await deps.store.pool.query('SELECT 1');
      checks.database = 'ok';
    } catch (error) {
      checks.database = `unreachable: ${(error as Error).message}`;
    }
    checks.jobs = deps.jobsRunning() ? 'ok' : 'not running';
    const ready = Object.values(checks).every((v) => v === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  return app;
}

/** Listens and resolves once the port is bound (port 0 picks a free one). */
export function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
    server.once('error', reject);
  });
}
