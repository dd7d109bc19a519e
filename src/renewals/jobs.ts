/** The renewals' background work: the daily scan that raises lead-time and missed-cancel-by alerts. */
import type { Config } from '../config/config.ts';
import type { JobRunner } from '../jobs/job-runner.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { scanRenewals } from './scan.ts';
import { type RenewalSettings, renewalSettings } from './settings.ts';

export const RENEWAL_SCAN_JOB = 'renewals:scan';

export interface RenewalJobDeps {
  store: Store;
  config: Config;
  log: Logger;
  /** The clock; tests pass a controllable one. */
  now?: () => Date;
  settings?: Partial<RenewalSettings>;
}

/**
 * Defines the daily renewal scan on `runner` (call before `runner.start()`). A scan that runs late, twice, or on
 * two replicas still alerts each threshold once (see `scanRenewals`), so the schedule only decides how soon.
 */
export function defineRenewalJobs(runner: JobRunner, deps: RenewalJobDeps): void {
  const settings = renewalSettings(deps.config, deps.settings);
  const now = deps.now ?? (() => new Date());
  runner.define({
    name: RENEWAL_SCAN_JOB,
    every: settings.scanCron,
    lockLifetimeMs: 10 * 60_000,
    run: async () => {
      const result = await scanRenewals(deps.store.pool, settings, now());
      deps.log.info(
        { job: RENEWAL_SCAN_JOB, alerts: result.alerts.length, notifications: result.notifications },
        `renewal scan: ${result.alerts.length} alerts, ${result.notifications} notifications`,
      );
    },
  });
  deps.log.info(
    `renewals: scan on '${settings.scanCron}', alerts ${settings.leadDays.join('/')} days before cancel-by to #${settings.procurementChannel} and owners`,
  );
}
