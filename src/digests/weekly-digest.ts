/**
 * The weekly digest: savings found and realized, the apps with the most idle seats, renewals in the next 90 days and
 * the accounts that entered clearing this week. Composed as neutral data into the `notifications` outbox — one row
 * per channel and week, whatever the number of replicas or runs — and delivered by each chat surface with its own
 * renderer (Block Kit in Slack, the `digest` Adaptive Card in Teams).
 */
import type { RenewalRow } from '../../handlers/reports.ts';
import { listRenewals } from '../../handlers/reports.ts';
import type { Actor } from '../../handlers/types.ts';
import { addNotification } from '../alerts/outbox.ts';
import type { Config } from '../config/config.ts';
import type { Store } from '../store/store.ts';
import {
  type IdleApp,
  newUnmatched,
  openSavings,
  realizedSavings,
  type SavingsTotal,
  topIdleApps,
} from './digest-queries.ts';

/** The digest as stored in the outbox: data, not Block Kit or a card, so any surface can render it. */
export interface DigestPayload {
  view: 'digest';
  /** Monday of the digest's week (YYYY-MM-DD, in the configured time zone). */
  weekOf: string;
  /** Start of the period "this week" covers. */
  since: string;
  timeZone: string;
  open: SavingsTotal[];
  realized: SavingsTotal[];
  idle: IdleApp[];
  renewals: { total: number; rows: RenewalRow[] };
  unmatched: { count: number; accounts: { account: string; product: string; sku: string; vendor: string }[] };
}

/** A channel the digest goes to: a Slack channel (id or `#name`) or a Teams channel id (`19:…`). */
export interface DigestChannel {
  platform: 'slack' | 'teams';
  channel: string;
}

const DIGEST_ACTOR: Actor = {
  id: 'seatkeeper',
  email: null,
  personId: null,
  displayName: 'Seatkeeper digest',
  roles: ['admin'],
  surface: 'system',
};

/** The Monday (YYYY-MM-DD) of the week `at` falls in, in `timeZone`. */
export function mondayOf(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    weekday: 'short',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday'));
  const local = Date.UTC(Number(get('year')), Number(get('month')) - 1, Number(get('day')));
  return new Date(local - Math.max(weekday, 0) * 86_400_000).toISOString().slice(0, 10);
}

/** Gathers the digest's numbers as of `now`. */
export async function composeDigest(
  store: Store,
  config: Config,
  now: Date,
  timeZone: string,
): Promise<DigestPayload> {
  const since = new Date(now.getTime() - 7 * 86_400_000);
  const ctx = { store, config, actor: DIGEST_ACTOR, now: () => now };
  const [open, realized, idle, renewals, unmatched] = await Promise.all([
    openSavings(store.pool, now),
    realizedSavings(store.pool, since),
    topIdleApps(store.pool, 5, now),
    listRenewals(ctx, { days: 90, limit: 10, offset: 0 }),
    newUnmatched(store.pool, since, 10),
  ]);
  return {
    view: 'digest',
    weekOf: mondayOf(now, timeZone),
    since: since.toISOString(),
    timeZone,
    open,
    realized,
    idle,
    renewals: renewals.ok
      ? { total: renewals.value.total, rows: renewals.value.rows }
      : { total: 0, rows: [] },
    unmatched,
  };
}

/** The outbox key of a channel's digest for a week: the unique index keeps it to one row per channel and week. */
export const digestKey = (to: DigestChannel, weekOf: string): string =>
  `digest:${to.platform}:${to.channel}:${weekOf}`;

/** The outbox target of a channel's digest: pinned to its platform, so only that surface delivers it. */
function digestTarget(to: DigestChannel): Record<string, string> {
  return to.platform === 'teams'
    ? { platform: 'teams', teamsChannel: to.channel }
    : { platform: 'slack', channel: to.channel };
}

/**
 * Puts this week's digest for each channel into the outbox, unless it is there already (composed once for all of
 * them). Returns the ids of the rows this call added; none when another run or replica was first.
 */
export async function queueWeeklyDigest(
  store: Store,
  config: Config,
  channels: readonly DigestChannel[],
  now: Date,
  timeZone: string,
): Promise<number[]> {
  if (channels.length === 0) return [];
  const payload = await composeDigest(store, config, now, timeZone);
  const added: number[] = [];
  for (const to of channels) {
    const id = await addNotification(store.pool, {
      dedupeKey: digestKey(to, payload.weekOf),
      kind: 'digest',
      target: digestTarget(to),
      payload,
    });
    if (id !== undefined) added.push(id);
  }
  return added;
}
