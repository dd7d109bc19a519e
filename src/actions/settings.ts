/**
 * How the seat workflows behave: SEATKEEPER_ASK_HOLDER_PRODUCTS, SEATKEEPER_ASK_HOLDER_DAYS, SEATKEEPER_UNDO_DAYS and
 * SEATKEEPER_KEEP_DAYS, which a caller (a test, a surface) may override per request.
 */
import type { Config } from '../config/config.ts';

export interface ActionSettings {
  /**
   * SKUs whose holders are asked "still need it? Keep / Release" before their seat is reclaimed (compared
   * case-insensitively). Empty: nobody is asked unless a request asks for it.
   */
  askHolderSkus: readonly string[];
  /** Days the holder has to answer; one reminder goes out half-way. */
  askHolderDays: number;
  /** Days after a removal during which it can be undone. */
  undoDays: number;
  /** Days the exemption made by a holder's "Keep" lasts (then the seat may be questioned again). */
  keepDays: number;
  /**
   * A vendor call still marked running after this long was interrupted (the process died): it is recorded as failed,
   * retryable, and never re-sent by itself, since the vendor may have acted. Longer than any wait a connector honours.
   */
  interruptedAfterMinutes: number;
}

export const DEFAULT_ACTION_SETTINGS: ActionSettings = {
  askHolderSkus: [],
  askHolderDays: 3,
  undoDays: 7,
  keepDays: 90,
  interruptedAfterMinutes: 30,
};

/**
 * The settings in force: the configuration's (today: the defaults) with any per-request overrides. Every caller
 * passes its `Config`, so reading the proposed variables is a change to this function alone.
 */
export function resolveActionSettings(
  config: Config,
  overrides: Partial<ActionSettings> = {},
): ActionSettings {
  const fromConfig: Partial<ActionSettings> = {
    askHolderSkus: (config.SEATKEEPER_ASK_HOLDER_PRODUCTS ?? '')
      .split(',')
      .filter((sku) => sku.trim() !== ''),
    askHolderDays: config.SEATKEEPER_ASK_HOLDER_DAYS,
    undoDays: config.SEATKEEPER_UNDO_DAYS,
    keepDays: config.SEATKEEPER_KEEP_DAYS,
  };
  const defined = Object.fromEntries(Object.entries(fromConfig).filter(([, v]) => v !== undefined));
  const merged = { ...DEFAULT_ACTION_SETTINGS, ...defined, ...overrides };
  return { ...merged, askHolderSkus: merged.askHolderSkus.map((sku) => sku.trim().toLowerCase()) };
}
