/**
 * One import of one configured connector, as the CLI and the scheduler run it: build the connector, run the
 * pipeline (with persons when it is the person source), recompute findings, count the outcome.
 */
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
    });
    options.metrics?.importRuns.inc({ source: name, outcome: 'succeeded' });
    const client = await store.pool.connect();
    try {
      await recomputeFindings(client, policyOf(config), now());
    } finally {
      client.release();
    }
    if ((SHADOW_SOURCES as readonly string[]).includes(name)) {
      // Shadow IT rides along with the import of its source; the import itself is already committed, so a failing
      // scan (e.g. a missing Graph permission) is reported, not turned into a failed import.
      await scanShadowApps(store, config, {
        only: name as ShadowSourceName,
        policy: policyOf(config),
        now: now(),
        actor: 'seatkeeper',
        surface: 'system',
        deps: { onRetry: (info) => options.log?.warn({ connector: name, ...info }, 'vendor call retried') },
      }).catch((error: Error) =>
        options.log?.warn({ connector: name, err: error }, `shadow IT scan of ${name} failed`),
      );
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
