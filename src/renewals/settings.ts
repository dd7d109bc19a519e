/**
 * Renewal settings: lead times, the finance threshold, where alerts go, the recommendation's look-back and buffer,
 * and the calendar feed's token. They are read from the parsed configuration when it carries them (the variable
 * names below), else the documented defaults apply; handlers and jobs also take overrides (tests, embedders).
 */
import { platformsReaching } from '../alerts/alert-targets.ts';
import type { Config } from '../config/config.ts';

export interface RenewalSettings {
  /** Days before the cancel-by date at which to alert, largest first (`SEATKEEPER_RENEWAL_LEAD_DAYS`). */
  leadDays: readonly number[];
  /**
   * Annual amount above which an approval also needs the finance role (`SEATKEEPER_RENEWAL_FINANCE_THRESHOLD`).
   * Compared in the license's own currency: there is no conversion.
   */
  financeThreshold: number;
  /** Chat channel that receives renewal alerts (`SEATKEEPER_PROCUREMENT_CHANNEL`). */
  procurementChannel: string;
  /**
   * The chat platforms that each get the procurement channel's alert: Slack when it is configured, Teams when
   * `TEAMS_CHANNELS` names the channel (`platformsReaching`). With both, each platform gets its own copy; with one or none, a single copy
   * goes to whichever surface can deliver it.
   */
  procurementPlatforms: readonly ('slack' | 'teams')[];
  /** Days of snapshots whose peak sizes the recommendation (`SEATKEEPER_RENEWAL_LOOKBACK_DAYS`). */
  lookbackDays: number;
  /** Head-room added to the peak, in percent (`SEATKEEPER_RENEWAL_BUFFER_PERCENT`). */
  bufferPercent: number;
  /** Cron expression of the daily scan (`SEATKEEPER_RENEWAL_SCAN_CRON`), in the process's time zone. */
  scanCron: string;
  /** Secret of the iCalendar feed URL (`SEATKEEPER_CALENDAR_TOKEN`); unset = the feed is off. */
  calendarToken: string | undefined;
}

export const DEFAULT_RENEWAL_SETTINGS: RenewalSettings = {
  leadDays: [90, 60, 30, 7],
  financeThreshold: 10_000,
  procurementChannel: 'procurement',
  procurementPlatforms: [],
  lookbackDays: 90,
  bufferPercent: 5,
  // 07:00 rather than midnight: alerts land when people read them.
  scanCron: '0 7 * * *',
  calendarToken: undefined,
};

/**
 * Parses `90,60,30,7` into distinct positive day counts, largest first.
 * @throws Error naming the bad value
 */
export function parseLeadDays(value: string | readonly number[]): number[] {
  const parts = typeof value === 'string' ? value.split(',').map((p) => p.trim()) : value.map(String);
  const days = parts.map((p) => {
    // 0 is reserved for "the cancel-by date was missed" in renewal_alerts.
    if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 3650) {
      throw new Error(`lead days must be whole numbers from 1 to 3650 separated by commas, not '${p}'`);
    }
    return Number(p);
  });
  return [...new Set(days)].sort((a, b) => b - a);
}

type Loose = Partial<Record<string, unknown>>;

const numberOr = (value: unknown, fallback: number): number =>
  value === undefined || value === null || value === '' || Number.isNaN(Number(value))
    ? fallback
    : Number(value);

/** The renewal settings of a configuration, with `overrides` applied last. */
export function renewalSettings(
  config: Config | Loose,
  overrides: Partial<RenewalSettings> = {},
): RenewalSettings {
  // Config does not declare these variables yet; read them loosely so they take effect once it does.
  const c = config as Loose;
  const d = DEFAULT_RENEWAL_SETTINGS;
  const lead = c.SEATKEEPER_RENEWAL_LEAD_DAYS;
  const procurementChannel =
    typeof c.SEATKEEPER_PROCUREMENT_CHANNEL === 'string' && c.SEATKEEPER_PROCUREMENT_CHANNEL
      ? c.SEATKEEPER_PROCUREMENT_CHANNEL
      : d.procurementChannel;
  const fromConfig: RenewalSettings = {
    leadDays:
      typeof lead === 'string' || Array.isArray(lead) ? parseLeadDays(lead as string | number[]) : d.leadDays,
    financeThreshold: numberOr(c.SEATKEEPER_RENEWAL_FINANCE_THRESHOLD, d.financeThreshold),
    procurementChannel,
    // Only a parsed configuration (SLACK_API_URL always has a value there) says which chat surfaces run.
    procurementPlatforms:
      typeof c.SLACK_API_URL === 'string' ? platformsReaching(config as Config, procurementChannel) : [],
    lookbackDays: numberOr(c.SEATKEEPER_RENEWAL_LOOKBACK_DAYS, d.lookbackDays),
    bufferPercent: numberOr(c.SEATKEEPER_RENEWAL_BUFFER_PERCENT, d.bufferPercent),
    scanCron:
      typeof c.SEATKEEPER_RENEWAL_SCAN_CRON === 'string' && c.SEATKEEPER_RENEWAL_SCAN_CRON
        ? c.SEATKEEPER_RENEWAL_SCAN_CRON
        : d.scanCron,
    calendarToken:
      typeof c.SEATKEEPER_CALENDAR_TOKEN === 'string' && c.SEATKEEPER_CALENDAR_TOKEN
        ? c.SEATKEEPER_CALENDAR_TOKEN
        : d.calendarToken,
  };
  const merged = { ...fromConfig, ...stripUndefined(overrides) };
  return { ...merged, leadDays: parseLeadDays(merged.leadDays) };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The UTC calendar day of an instant, `YYYY-MM-DD`: the day every renewal date is compared with. */
export function isoDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}
