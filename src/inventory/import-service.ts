/**
 * One import of one configured connector, as the CLI and the scheduler run it: build the connector, run the
 * pipeline (with persons when it is the person source), scan its shadow IT where it has any, recompute findings
 * (once), count the outcome.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { type BuildOptions, createConnector, personSource } from '../../connectors/index.ts';
import { raiseAlertsAfterImport } from '../alerts/import-alerts.ts';
import type { Config, ConnectorName } from '../config/config.ts';
import { policyOf, recomputeFindings } from '../findings/recompute.ts';
import { SHADOW_SOURCES, type ShadowSourceName, scanShadowApps } from '../findings/shadow.ts';
import type { Metrics } from '../http/metrics.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { ImportFailedError, type ImportResult, recordFailedImport, runImport } from './import-pipeline.ts';

export interface ImportSourceOptions extends BuildOptions {
  trigger: string;
  log?: Logger;
  metrics?: Metrics;
  now?: () => Date;
  onProgress?: (progress: { stream: string; pages: number; records: number }) => void;
}

export async function importSource(
  store: Store,
  config: Config,
  name: ConnectorName,
  options: ImportSourceOptions,
): Promise<ImportResult> {
  const now = options.now ?? (() => new Date());
  try {
    let connector: ReturnType<typeof createConnector>;
    try {
      connector = createConnector(name, config, {
        ...options,
        onRetry: (info) => options.log?.warn({ connector: name, ...info }, 'vendor call retried'),
      });
    } catch (error) {
      const message = `${name}: ${(error as Error).message}`;
      await recordFailedImport(store, name, options.trigger, message, now());
      throw new ImportFailedError(undefined, name, message);
    }
    const result = await runImport(store, connector, {
      trigger: options.trigger,
      persons: personSource(config) === name,
      minEntitlementDays: config.SEATKEEPER_MIN_ENTITLEMENT_DAYS,
      now,
      onProgress: options.onProgress,
    }).catch(async (error: unknown) => {
      if (error instanceof ImportFailedError && error.runId !== undefined)
        await settleFailedRun(store, name, error.runId, error.message, now, options.log);
      throw error;
    });
    options.metrics?.importRuns.inc({ source: name, outcome: 'succeeded' });
    // Findings are recomputed once after an import. Shadow IT rides along with the import of its source and
    // recomputes them in its own transaction, after its sightings are merged; the import itself is already
    // committed, so a failing scan (e.g. a missing Graph permission) is reported, not turned into a failed import,
    // and the findings are then recomputed on their own.
    let recomputed = false;
    if ((SHADOW_SOURCES as readonly string[]).includes(name)) {
      const scans = await scanShadowApps(store, config, {
        only: name as ShadowSourceName,
        policy: policyOf(config),
        now: now(),
        actor: 'seatkeeper',
        surface: 'system',
        deps: { onRetry: (info) => options.log?.warn({ connector: name, ...info }, 'vendor call retried') },
      }).catch((error: Error) => {
        options.log?.warn({ connector: name, err: error }, `shadow IT scan of ${name} failed`);
        return [];
      });
      recomputed = scans.length > 0;
    }
    if (!recomputed) {
      const client = await store.pool.connect();
      try {
        await recomputeFindings(client, policyOf(config), now());
      } finally {
        client.release();
      }
    }
    return result;
  } catch (error) {
    options.metrics?.importRuns.inc({ source: name, outcome: 'failed' });
    throw error;
  } finally {
    // New findings, overages and a failure are told to the IT channels after every import; never changes its outcome.
    await raiseAlertsAfterImport(store, config, now(), options.log);
  }
}

/**
 * Makes sure a failed run is recorded as failed and its lease is given back. The pipeline does both as it fails, but
 * when the failure is the database going away (a restart), those writes fail too: the run would stay `running` and
 * the lease would refuse every import of the source until it expires. So they are retried here until the database
 * answers again (a bounded wait); they change nothing when the pipeline already did them.
 */
async function settleFailedRun(
  store: Store,
  source: string,
  runId: number,
  message: string,
  now: () => Date,
  log: Logger | undefined,
  attempts = 8,
): Promise<void> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await store.pool.query(
        `UPDATE import_runs SET outcome = 'failed', finished_at = $2, error = $3 WHERE id = $1 AND outcome = 'running'`,
        [runId, now(), message.slice(0, 4000)],
      );
      await store.pool.query('DELETE FROM import_leases WHERE source = $1 AND run_id = $2', [source, runId]);
      return;
    } catch (error) {
      if (attempt === attempts) {
        log?.error({ err: error, source, runId }, `import ${source}: could not record the failed run`);
        return;
      }
      await delay(Math.min(500 * 2 ** (attempt - 1), 15_000));
    }
  }
}
