/**
 * The weekly digest: savings found and realized, the apps with the most idle seats, renewals in the next 90 days and
 * the accounts that entered clearing this week. Composed as neutral data into the `notifications` outbox (one row
 * per week, whatever the number of replicas or runs), then delivered like every other notification.
 */

import type { RenewalRow } from '../../../handlers/reports.ts';
import { listRenewals } from '../../../handlers/reports.ts';
import type { Actor } from '../../../handlers/types.ts';
import type { Config } from '../../config/config.ts';
import type { Store } from '../../store/store.ts';
import {
  actions,
  type Block,
  context,
  escapeMrkdwn as e,
  header,
  LIMITS,
  money,
  packLines,
  section,
} from './block-kit.ts';
import { type CommandButton, toButtons } from './command-buttons.ts';
import type { Rendered } from './renderers.ts';
import {
  addNotification,
  type IdleApp,
  newUnmatched,
  openSavings,
  realizedSavings,
  type SavingsTotal,
  topIdleApps,
} from './slack-store.ts';

/** The digest as stored in the outbox: data, not Block Kit, so any surface can render it. */
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
    openSavings(store.pool),
    realizedSavings(store.pool, since),
    topIdleApps(store.pool, 5),
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

/**
 * Puts this week's digest for `channel` into the outbox unless it is there already. Returns the notification id
 * when this call added it.
 */
export async function queueWeeklyDigest(
  store: Store,
  config: Config,
  channel: string,
  now: Date,
  timeZone: string,
): Promise<number | undefined> {
  const payload = await composeDigest(store, config, now, timeZone);
  return addNotification(store.pool, {
    dedupeKey: `digest:slack:${channel}:${payload.weekOf}`,
    kind: 'digest',
    target: { platform: 'slack', channel },
    payload,
  });
}

const totalsText = (totals: SavingsTotal[]) =>
  totals
    .filter((t) => t.currency !== null && t.amount > 0)
    .map((t) => money(t.amount, t.currency))
    .join(' + ');

/** The digest as one Slack message (≤ 50 blocks), with buttons for the next step. */
export function renderDigest(p: DigestPayload): Rendered {
  const blocks: Block[] = [header(`Weekly license digest · week of ${p.weekOf}`)];
  const openFindings = p.open.reduce((n, t) => n + t.findings, 0);
  const openSeats = p.open.reduce((n, t) => n + t.seats, 0);
  const found = totalsText(p.open);
  const realized = totalsText(p.realized);
  const reclaimedSeats = p.realized.reduce((n, t) => n + t.seats, 0);
  blocks.push(
    section(
      `*Savings found:* ${found ? `*${found}* per year` : 'no priced savings'} in ${openFindings} open finding${
        openFindings === 1 ? '' : 's'
      } (${openSeats} seat${openSeats === 1 ? '' : 's'})\n*Realized this week:* ${
        reclaimedSeats
          ? `${realized || 'unpriced'} per year from ${reclaimedSeats} reclaimed seat${reclaimedSeats === 1 ? '' : 's'}`
          : 'nothing reclaimed'
      }`,
    ),
  );

  blocks.push(section('*Top idle apps*'));
  if (p.idle.length) {
    blocks.push(
      ...packLines(
        p.idle.map(
          (a) =>
            `• *${e(a.product)}* \`${e(a.sku)}\` — ${a.seats} idle seat${a.seats === 1 ? '' : 's'} · ${
              a.savings === null ? 'savings unknown' : `${money(a.savings, a.currency)}/year`
            }`,
        ),
        2,
      ).blocks,
    );
  } else {
    blocks.push(context('No idle seats.'));
  }
  const idleButtons: CommandButton[] = p.idle.map((a) => ({
    label: `Reclaim ${a.seats} idle ${a.product}`,
    command: 'reclaim',
    tokens: ['--sku', a.sku, '--all-idle', '--yes'],
    mutating: true,
    style: 'danger',
    confirm: {
      title: `Reclaim ${a.seats} idle seats?`,
      text: `Remove all idle ${a.product} (${a.sku}) seats${
        a.savings === null ? '' : `, saving ${money(a.savings, a.currency)} per year`
      }.`,
      confirm: 'Reclaim all',
    },
  }));
  idleButtons.push({ label: 'Idle findings', command: 'findings', tokens: ['--kind', 'idle'] });
  const idleActions = toButtons(idleButtons);
  if (idleActions.length) blocks.push(actions(idleActions, 'digest-idle'));

  blocks.push(section(`*Renewals in the next 90 days:* ${p.renewals.total}`));
  if (p.renewals.rows.length) {
    blocks.push(
      ...packLines(
        p.renewals.rows.map(
          (r) =>
            `• *${e(r.product)}* \`${e(r.sku)}\` renews ${r.renewalDate} · cancel by *${r.cancelBy}* · ${
              r.quantity ?? 'unlimited'
            } → ${r.recommendedQuantity} seats · ${money(r.annualCost, r.currency)}/year`,
        ),
        2,
      ).blocks,
    );
  }
  const renewalActions = toButtons([{ label: 'Review renewals', command: 'renewals', tokens: ['90'] }]);
  if (p.renewals.total > 0 && renewalActions.length) blocks.push(actions(renewalActions, 'digest-renewals'));

  blocks.push(section(`*New unmatched accounts this week:* ${p.unmatched.count}`));
  if (p.unmatched.accounts.length) {
    blocks.push(
      ...packLines(
        p.unmatched.accounts.map(
          (a) => `• ${e(a.account)} — ${e(a.product)} \`${e(a.sku)}\` (${e(a.vendor)})`,
        ),
        2,
      ).blocks,
    );
    if (p.unmatched.count > p.unmatched.accounts.length) {
      blocks.push(context(`…and ${p.unmatched.count - p.unmatched.accounts.length} more.`));
    }
    const clearingActions = toButtons([{ label: 'Open clearing', command: 'clearing', tokens: [] }]);
    if (clearingActions.length) blocks.push(actions(clearingActions, 'digest-clearing'));
  }
  blocks.push(context(`Weekly digest · times in ${e(p.timeZone)} · \`/license help\``));
  const text = `Weekly license digest (week of ${p.weekOf}): ${found || 'no priced'} savings found, ${
    p.renewals.total
  } renewals in 90 days, ${p.unmatched.count} new unmatched accounts`;
  return { text: text.slice(0, LIMITS.messageText), blocks: blocks.slice(0, LIMITS.messageBlocks) };
}
