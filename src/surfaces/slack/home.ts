/**
 * The App Home tab: the compliance dashboard. Utilization per app, open findings with their savings, renewals due,
 * the clearing count and the last import of each connector, each from the same handlers `/license` uses and with
 * the asking user's roles. A member without a helpdesk role sees their own seats.
 */
import type { types } from '@slack/bolt';
import type { ClearingRow, SeatRow } from '../../../handlers/inventory-queries.ts';
import { type CommandOutput, executeCommand, findCommand } from '../../../handlers/registry.ts';
import type { FindingRow, RenewalRow } from '../../../handlers/reports.ts';
import { type HandlerContext, hasRole, type Result } from '../../../handlers/types.ts';
import {
  actions,
  type Block,
  bar,
  context,
  divider,
  escapeMrkdwn as e,
  header,
  LIMITS,
  money,
  packLines,
  section,
  slackDate,
} from './block-kit.ts';
import { toButtons } from './command-buttons.ts';
import { findingButtons, renderFailure, renderOutput, renewalButtons } from './renderers.ts';
import { MINE } from './slack-commands.ts';
import { lastImports, openSavings } from './slack-store.ts';

const UTILIZATION_ROWS = 15;
const TOP_ROWS = 5;

async function run(ctx: HandlerContext, name: string, args: Record<string, string | number | boolean>) {
  const spec = findCommand(name);
  if (!spec) return undefined;
  return executeCommand(ctx, spec, args);
}

function failureText(result: Result<CommandOutput> | undefined): string | undefined {
  if (!result) return 'not available';
  return result.ok ? undefined : result.error.message;
}

/** The Home view for the actor in `ctx`; `notice` (e.g. what they just did) is shown at the top. */
export async function composeHome(ctx: HandlerContext, notice?: string): Promise<types.HomeView> {
  const blocks: Block[] = [header('Seatkeeper: licenses at a glance')];
  if (notice) blocks.push(context(notice));
  blocks.push(context(`Updated ${slackDate(ctx.now())} · \`/license help\` for every command`));

  if (!hasRole(ctx.actor, 'helpdesk')) {
    const mine = await executeCommand(ctx, MINE, { limit: 20, offset: 0 });
    const rendered = mine.ok
      ? renderOutput(mine.value, { command: 'mine', tokens: [], offset: 0, limit: 20 }, 60)
      : renderFailure(mine.error);
    blocks.push(...rendered.blocks);
    return { type: 'home', blocks: blocks.slice(0, LIMITS.viewBlocks) };
  }

  const pool = ctx.store.pool;
  const [savings, seats, findings, renewals, clearing, imports] = await Promise.all([
    openSavings(pool, ctx.now()),
    run(ctx, 'seats', { limit: UTILIZATION_ROWS, offset: 0 }),
    run(ctx, 'findings', { status: 'open', limit: TOP_ROWS, offset: 0 }),
    run(ctx, 'renewals', { days: 90, limit: TOP_ROWS, offset: 0 }),
    run(ctx, 'clearing', { limit: 1, offset: 0 }),
    lastImports(pool),
  ]);

  // Findings and savings first: it is what someone opening the dashboard acts on.
  const openCount = savings.reduce((n, s) => n + s.findings, 0);
  const totals = savings
    .filter((s) => s.currency !== null && s.amount > 0)
    .map((s) => money(s.amount, s.currency));
  blocks.push(divider());
  blocks.push(
    section(
      `*Open findings:* ${openCount}${totals.length ? ` · savings *${totals.join(' + ')}* per year` : ''}${
        savings.some((s) => s.currency === null) ? ' (some without a known price)' : ''
      }`,
    ),
  );
  const top = findings?.ok ? (findings.value.rows as FindingRow[]) : [];
  if (failureText(findings)) blocks.push(context(e(failureText(findings) ?? '')));
  for (const [i, f] of top.entries()) {
    blocks.push(
      section(
        `${i + 1}. *${e(f.kind)}* · ${e(f.product ?? f.sku ?? 'unknown app')}${f.email ? ` · ${e(f.email)}` : ''} · ${
          f.savings === null ? 'savings unknown' : `${money(f.savings, f.currency)}/year`
        }`,
      ),
    );
    const buttons = toButtons(findingButtons(f));
    if (buttons.length) blocks.push(actions(buttons, `home-finding:${f.id}`));
  }
  blocks.push(
    actions(
      toButtons([
        { label: 'All findings', command: 'findings', tokens: [] },
        { label: 'Recompute findings', command: 'findings', tokens: ['--recompute'], mutating: true },
        { label: 'Who has…', command: 'who-has', tokens: [], ask: ['query'] },
        { label: 'My seats', command: 'mine', tokens: [] },
      ]),
      'home-findings',
    ),
  );

  blocks.push(divider(), header('Utilization per app'));
  if (seats?.ok && seats.value.rows.length) {
    const lines = (seats.value.rows as SeatRow[]).map(
      (r) =>
        `• *${e(r.product)}* \`${e(r.sku)}\` ${bar(r.consumed, r.purchased)} · ${
          r.unlimited ? `${r.consumed} used` : `${r.consumed}/${r.purchased} used, ${r.available} free`
        }`,
    );
    blocks.push(...packLines(lines, 3).blocks);
    if (seats.value.total > seats.value.rows.length) {
      blocks.push(context(`${seats.value.total - seats.value.rows.length} more apps: \`/license seats\``));
    }
  } else {
    blocks.push(section(e(failureText(seats) ?? 'No licenses yet: run an import first.')));
  }

  blocks.push(divider(), header('Renewals due in 90 days'));
  if (renewals?.ok && renewals.value.rows.length) {
    for (const r of renewals.value.rows as RenewalRow[]) {
      blocks.push(
        section(
          `• *${e(r.product)}* \`${e(r.sku)}\` renews ${r.renewalDate} · cancel by *${r.cancelBy}* · ${
            r.quantity ?? 'unlimited'
          } → ${r.recommendedQuantity} seats · ${money(r.annualCost, r.currency)}/year`,
        ),
      );
      const buttons = toButtons(renewalButtons(r));
      if (buttons.length) blocks.push(actions(buttons, `home-renewal:${r.licenseId}`));
    }
    if (renewals.value.total > renewals.value.rows.length) {
      blocks.push(context(`${renewals.value.total} in all: \`/license renewals\``));
    }
  } else {
    blocks.push(section(e(failureText(renewals) ?? 'No renewal in the next 90 days.')));
  }

  blocks.push(divider(), header('Clearing'));
  if (clearing?.ok) {
    const first = clearing.value.rows[0] as ClearingRow | undefined;
    blocks.push(
      section(
        clearing.value.total === 0
          ? 'Every account is matched to a person.'
          : `*${clearing.value.total}* account${clearing.value.total === 1 ? '' : 's'} match no person${
              first
                ? ` (e.g. ${e(first.email ?? first.login ?? first.vendorAccountId)}, ${e(first.product)})`
                : ''
            }.`,
      ),
    );
    if (clearing.value.total > 0) {
      blocks.push(
        actions(toButtons([{ label: 'Show clearing', command: 'clearing', tokens: [] }]), 'home-clearing'),
      );
    }
  } else {
    blocks.push(section(e(failureText(clearing) ?? '')));
  }

  blocks.push(divider(), header('Last import per connector'));
  blocks.push(
    ...packLines(
      imports.length
        ? imports.map(
            (i) =>
              `• *${e(i.source)}* — ${
                i.outcome === 'succeeded'
                  ? ':white_check_mark:'
                  : i.outcome === 'failed'
                    ? ':x:'
                    : ':hourglass:'
              } ${e(i.outcome)} ${slackDate(i.finishedAt ?? i.startedAt)}${
                i.outcome === 'failed' && i.error ? `: ${e(i.error.slice(0, 200))}` : ''
              }`,
          )
        : ['No import has run yet.'],
      3,
    ).blocks,
  );
  return { type: 'home', blocks: blocks.slice(0, LIMITS.viewBlocks) };
}
