/**
 * The weekly digest as one Slack message. What it says is composed surface-neutrally (`src/digests/`); this file only
 * turns it into Block Kit, with buttons for the next step.
 */

import type { Config } from '../../config/config.ts';
import type { SavingsTotal } from '../../digests/digest-queries.ts';
import { type DigestPayload, mondayOf, queueWeeklyDigest } from '../../digests/weekly-digest.ts';
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

export { type DigestPayload, mondayOf };

/**
 * Puts this week's digest for the Slack `channel` into the outbox unless it is there already. Returns the notification
 * id when this call added it.
 */
export async function queueSlackDigest(
  store: Store,
  config: Config,
  channel: string,
  now: Date,
  timeZone: string,
): Promise<number | undefined> {
  const [id] = await queueWeeklyDigest(store, config, [{ platform: 'slack', channel }], now, timeZone);
  return id;
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
