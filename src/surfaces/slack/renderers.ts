/**
 * Block Kit views of the handlers' neutral results: one renderer per view name (`subscribers`, `seats`,
 * `persons`, `clearing`, `findings`, `renewals`, `contract`), a readable fallback for views added later, the help,
 * failures, and the "who did what when" line of an action. Presentation decisions (which buttons a finding gets,
 * what a reclaim confirmation shows) live here and nowhere else.
 */
import type { ClearingRow, PersonRow, SeatRow, SubscriberRow } from '../../../handlers/inventory-queries.ts';
import type { ReclaimRow } from '../../../handlers/reclaim.ts';
import { type CommandOutput, type CommandSpec, usageLine } from '../../../handlers/registry.ts';
import type { FindingRow, RenewalRow } from '../../../handlers/reports.ts';
import type { Failure } from '../../../handlers/types.ts';
import {
  actions,
  type Block,
  bar,
  context,
  cut,
  day,
  divider,
  escapeMrkdwn,
  fieldsSection,
  header,
  LIMITS,
  money,
  packLines,
  section,
  slackDate,
} from './block-kit.ts';
import { type CommandButton, toButtons } from './command-buttons.ts';
import { slackCommands } from './slack-commands.ts';

/** A message: blocks plus the plain text Slack shows in notifications and to screen readers. */
export interface Rendered {
  text: string;
  blocks: Block[];
}

/** How the list was asked for, so "More" can ask for the next page the same way. */
export interface Invocation {
  /** Registry command name. */
  command: string;
  /** Arguments as typed, without `--limit`/`--offset`. */
  tokens: readonly string[];
  offset: number;
  limit: number;
}

interface Item {
  /** One row, as mrkdwn (already escaped). */
  text: string;
  buttons?: CommandButton[];
}

interface ViewModel {
  title: string;
  items: Item[];
  /** Buttons about the whole list (e.g. "Reclaim all 14"). */
  listButtons?: CommandButton[];
}

const e = escapeMrkdwn;
const code = (text: string) => `\`${e(text).replace(/`/g, "'")}\``;
const tokensText = (inv: Invocation | undefined) =>
  inv ? `${inv.command}${inv.tokens.length ? ` ${inv.tokens.join(' ')}` : ''}` : '';

function optionValue(tokens: readonly string[], name: string): string | undefined {
  const i = tokens.indexOf(`--${name}`);
  if (i >= 0) return tokens[i + 1];
  const inline = tokens.find((t) => t.startsWith(`--${name}=`));
  return inline?.slice(name.length + 3);
}

function activity(row: SubscriberRow): string {
  if (row.lastActivitySource === 'no usage signal') return 'no usage signal';
  return row.lastActivityAt
    ? `last active ${day(row.lastActivityAt)} (${e(row.lastActivitySource ?? 'unknown source')})`
    : 'never active';
}

function subscriberLine(r: SubscriberRow): string {
  const who = r.person ? `person ${e(r.person)}` : ':grey_question: in clearing';
  return `• *${e(r.email ?? r.login ?? r.vendorAccountId)}* — ${e(r.product)} ${code(r.sku)} · ${who} · ${
    r.active ? 'active' : 'inactive'
  } · ${activity(r)}`;
}

function subscribersView(rows: SubscriberRow[], inv?: Invocation): ViewModel {
  const query = inv?.tokens.filter((t) => !t.startsWith('--')).join(' ');
  return {
    title: inv?.command === 'mine' ? 'Your seats' : query ? `Who has ${query}` : 'Seats held',
    items: rows.map((r) => ({ text: subscriberLine(r) })),
  };
}

function seatsView(rows: SeatRow[], inv?: Invocation): ViewModel {
  const app = inv?.tokens.filter((t) => !t.startsWith('--')).join(' ');
  return {
    title: app ? `Seats: ${app}` : 'Seats per license',
    items: rows.map((r) => ({
      text: `• *${e(r.product)}* ${code(r.sku)} (${e(r.vendor)}) — ${bar(r.consumed, r.purchased)} · ${
        r.unlimited
          ? `${r.consumed} used, unlimited`
          : `${r.consumed} of ${r.purchased} used, ${r.available} free`
      } · ${e(r.capabilityStatus)}${r.status === 'invalid' ? ' · :warning: purchase information missing' : ''}`,
    })),
  };
}

function clearingView(rows: ClearingRow[]): ViewModel {
  return {
    title: 'Clearing: accounts that match no person',
    items: rows.map((r) => {
      const account = r.email ?? r.login ?? r.vendorAccountId;
      return {
        text: `• *${e(account)}*${r.email ? '' : ' (no e-mail)'} — ${e(r.product)} ${code(r.sku)} (${e(
          r.vendor,
        )}) · since ${day(r.firstImportAt)}`,
        buttons: r.email
          ? [
              {
                label: 'Assign to person…',
                command: 'clearing assign',
                tokens: ['--email', r.email],
                ask: ['person'],
                mutating: true,
                style: 'primary',
              },
            ]
          : [],
      };
    }),
  };
}

const FINDING_ICONS: Record<string, string> = {
  idle: ':zzz:',
  unassigned: ':package:',
  overage: ':chart_with_upwards_trend:',
  grace: ':hourglass_flowing_sand:',
  departed: ':wave:',
  duplicate: ':two:',
  shadow: ':ghost:',
  unmatched: ':grey_question:',
};

/** The evidence of a finding in one short line: `lastActivityAt 2026-01-02 · idleDays 94`. */
export function evidenceText(evidence: Record<string, unknown>, max = 200): string {
  const parts = Object.entries(evidence)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .map(
      ([k, v]) => `${k} ${typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? v.slice(0, 10) : String(v)}`,
    );
  return cut(parts.join(' · '), max);
}

const SEAT_KINDS = new Set(['idle', 'departed', 'duplicate', 'grace']);

/** The buttons a finding offers, in order; those the registry cannot run are dropped when rendered. */
export function findingButtons(f: FindingRow): CommandButton[] {
  if (f.kind === 'unmatched' && f.email) {
    return [
      {
        label: 'Assign to person…',
        command: 'clearing assign',
        tokens: ['--email', f.email],
        ask: ['person'],
        mutating: true,
        style: 'primary',
      },
    ];
  }
  if (!SEAT_KINDS.has(f.kind) || !f.email || !f.sku) return [];
  const seat = ['--email', f.email, '--sku', f.sku];
  const savings =
    f.savings === null ? 'savings unknown (no price)' : `saves ${money(f.savings, f.currency)}/year`;
  return [
    {
      label: 'Reclaim',
      command: 'reclaim',
      // The confirmation dialog shows the preview's essentials; confirming it is the `--yes`.
      tokens: [...seat, '--yes'],
      mutating: true,
      style: 'danger',
      confirm: {
        title: `Reclaim ${f.product ?? f.sku}?`,
        text: `Remove the ${f.product ?? f.sku} seat of ${f.email} (${f.kind}): ${evidenceText(f.evidence, 150)}. ${savings}.`,
        confirm: 'Reclaim',
      },
    },
    {
      label: 'Ask holder',
      command: 'reclaim',
      tokens: [...seat, '--ask-holder', '--yes'],
      mutating: true,
      confirm: {
        title: 'Ask the holder?',
        text: `Ask ${f.email} "still need ${f.product ?? f.sku}? Keep / Release"; the seat is reclaimed on Release or no answer.`,
        confirm: 'Ask',
      },
    },
    { label: 'Keep…', command: 'keep', tokens: seat, ask: ['reason', 'until'], mutating: true },
    {
      label: 'Snooze…',
      command: 'findings snooze',
      tokens: [String(f.id)],
      ask: ['until', 'reason'],
      mutating: true,
    },
  ];
}

function findingLine(f: FindingRow): string {
  const about = f.email ?? f.person;
  const savings = f.savings === null ? 'savings unknown' : `saves *${money(f.savings, f.currency)}*/year`;
  const evidence = evidenceText(f.evidence);
  return `${FINDING_ICONS[f.kind] ?? ':mag:'} *${e(f.kind)}* · ${e(f.product ?? f.sku ?? 'unknown app')}${
    f.sku ? ` ${code(f.sku)}` : ''
  }${about ? ` · ${e(about)}` : ''} · ${f.seats} seat${f.seats === 1 ? '' : 's'} · ${savings} · since ${day(
    f.firstSeenAt,
  )}${f.status === 'open' ? '' : ` · ${e(f.status)}`}${evidence ? `\n    _${e(evidence)}_` : ''}`;
}

function findingsView(rows: FindingRow[], output: CommandOutput, inv?: Invocation): ViewModel {
  const kind = inv ? optionValue(inv.tokens, 'kind') : undefined;
  const app = inv ? optionValue(inv.tokens, 'app') : undefined;
  const first = rows[0];
  const listButtons: CommandButton[] = [];
  // "Reclaim all N" only when the list is exactly the idle seats of one app, so N is the real number.
  if (kind === 'idle' && app && first?.sku && rows.every((r) => r.sku === first.sku)) {
    const known = rows.filter((r) => r.savings !== null);
    const total = known.reduce((sum, r) => sum + (r.savings ?? 0), 0);
    listButtons.push({
      label: `Reclaim all ${output.total} idle`,
      command: 'reclaim',
      tokens: ['--sku', first.sku, '--all-idle', '--yes'],
      mutating: true,
      style: 'danger',
      confirm: {
        title: `Reclaim ${output.total} idle seats?`,
        text: `Remove all ${output.total} idle ${first.product ?? first.sku} seats${
          known.length ? ` (this page alone saves ${money(total, first.currency)}/year)` : ''
        }. Each holder's evidence is in the list.`,
        confirm: 'Reclaim all',
      },
    });
  }
  listButtons.push({ label: 'Recompute', command: 'findings', tokens: ['--recompute'], mutating: true });
  return {
    title: `Findings${kind ? `: ${kind}` : ''}${app ? ` (${app})` : ''}`,
    items: rows.map((f) => ({ text: findingLine(f), buttons: findingButtons(f) })),
    listButtons,
  };
}

/** The decisions a renewal offers (the renewals issue's verbs), when the registry has them. */
export function renewalButtons(r: RenewalRow): CommandButton[] {
  const decide = (decision: string) => ['--license', String(r.licenseId), '--decision', decision];
  const cost = r.annualCost === null ? '' : ` Today: ${money(r.annualCost, r.currency)}/year.`;
  return [
    {
      label: `Approve ${r.recommendedQuantity}`,
      command: 'renewal decide',
      tokens: decide('approve'),
      mutating: true,
      style: 'primary',
      confirm: {
        title: `Approve ${r.product}?`,
        text: `Renew ${r.product} (${r.sku}) on ${r.renewalDate} at the recommended ${r.recommendedQuantity} seats (now ${
          r.quantity ?? 'unlimited'
        }).${cost}`,
        confirm: 'Approve',
      },
    },
    {
      label: 'Resize…',
      command: 'renewal decide',
      tokens: decide('resize'),
      ask: ['quantity'],
      mutating: true,
    },
    {
      label: 'Decline',
      command: 'renewal decide',
      tokens: decide('decline'),
      mutating: true,
      style: 'danger',
      confirm: {
        title: `Decline ${r.product}?`,
        text: `Cancel ${r.product} (${r.sku}) before ${r.cancelBy}; a reminder and a task to tell the vendor are created.`,
        confirm: 'Decline',
      },
    },
    { label: 'Snooze…', command: 'renewal decide', tokens: decide('snooze'), ask: ['until'], mutating: true },
    { label: 'Escalate', command: 'renewal decide', tokens: decide('escalate'), mutating: true },
  ];
}

function renewalsView(rows: RenewalRow[], inv?: Invocation): ViewModel {
  const days = inv?.tokens.find((t) => /^\d+$/.test(t)) ?? optionValue(inv?.tokens ?? [], 'days') ?? '90';
  return {
    title: `Renewals in the next ${days} days`,
    items: rows.map((r) => ({
      text: `• *${e(r.product)}* ${code(r.sku)} renews *${r.renewalDate}* · cancel by ${r.cancelBy}${
        r.status === 'upcoming' ? '' : ` :warning: ${e(r.status)}`
      }\n    ${r.quantity ?? 'unlimited'} seats (${r.consumed} used) → recommended *${r.recommendedQuantity}* · ${money(
        r.annualCost,
        r.currency,
      )}/year${r.budgetRemaining === null ? '' : ` · budget left ${money(r.budgetRemaining, r.currency)}`}${
        r.owner ? ` · owner ${e(r.owner)}` : ''
      }`,
      buttons: renewalButtons(r),
    })),
  };
}

/** A reclaim preview (`reclaim --dry-run`) or result: evidence, savings and blockers per seat, Reclaim where free. */
function reclaimView(rows: ReclaimRow[], inv?: Invocation): ViewModel {
  const previewing = rows.some((r) => r.state === 'preview');
  const free = rows.filter((r) => r.state === 'preview');
  const first = rows[0];
  const listButtons: CommandButton[] = [];
  const allIdle = inv?.tokens.includes('--all-idle') === true;
  if (allIdle && first && free.length > 1) {
    const known = free.filter((r) => r.savings !== null);
    const total = known.reduce((sum, r) => sum + (r.savings ?? 0), 0);
    listButtons.push({
      label: `Reclaim all ${free.length}`,
      command: 'reclaim',
      tokens: ['--sku', first.sku, '--all-idle', '--yes'],
      mutating: true,
      style: 'danger',
      confirm: {
        title: `Reclaim ${free.length} ${first.product} seats?`,
        text: `Remove the ${free.length} seats listed${known.length ? `, saving ${money(total, first.currency)}/year` : ''}; blocked seats stay.`,
        confirm: 'Reclaim all',
      },
    });
  }
  return {
    title: previewing ? 'Reclaim preview' : 'Reclaim',
    items: rows.map((r) => {
      const account = r.email ?? r.login ?? String(r.subscriberId);
      const savings = r.savings === null ? 'savings unknown' : `saves *${money(r.savings, r.currency)}*/year`;
      const evidence = r.lastActivityAt
        ? `last active ${day(r.lastActivityAt)} (${e(r.lastActivitySource ?? 'unknown source')})`
        : 'never active';
      const blocked = r.blockers.length
        ? `\n    :no_entry: ${e(r.blockers.map((b) => b.message).join('; '))}`
        : '';
      const warned = r.warnings.length
        ? `\n    :warning: ${e(r.warnings.map((w) => w.message).join('; '))}`
        : '';
      return {
        text: `• *${e(account)}* — ${e(r.product)} ${code(r.sku)} · ${evidence} · ${savings} · ${e(r.state)}${blocked}${warned}`,
        buttons:
          r.state === 'preview'
            ? [
                {
                  label: 'Reclaim',
                  command: 'reclaim',
                  tokens: ['--seat', String(r.subscriberId), '--yes'],
                  mutating: true,
                  style: 'danger',
                  confirm: {
                    title: `Reclaim ${r.product}?`,
                    text: `Remove the ${r.product} seat of ${account}: ${evidence}. ${
                      r.savings === null
                        ? 'Savings unknown (no price)'
                        : `Saves ${money(r.savings, r.currency)}/year`
                    }.`,
                    confirm: 'Reclaim',
                  },
                },
              ]
            : [],
      };
    }),
    listButtons,
  };
}

function contractView(
  rows: { licenseId: number; sku: string; changed: Record<string, unknown>; status: string }[],
) {
  return {
    title: 'Contract terms set',
    items: rows.map((r) => ({
      text: `• License ${r.licenseId} ${code(r.sku)}: ${Object.entries(r.changed)
        .map(([k, v]) => `${e(k)} = ${e(String(v))}`)
        .join(', ')} · status now ${e(r.status)}`,
    })),
  };
}

/** Any row as `field value · field value`, for views this surface does not know yet. */
export function genericLine(row: unknown): string {
  if (row === null || typeof row !== 'object') return `• ${e(String(row))}`;
  const parts = Object.entries(row as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `*${e(k)}* ${e(String(v))}`);
  return `• ${cut(parts.join(' · '), 600)}`;
}

function viewModel(output: CommandOutput, inv?: Invocation): ViewModel {
  const rows = output.rows;
  switch (output.view) {
    case 'subscribers':
      return subscribersView(rows as SubscriberRow[], inv);
    case 'seats':
      return seatsView(rows as SeatRow[], inv);
    case 'clearing':
      return clearingView(rows as ClearingRow[]);
    case 'findings':
      return findingsView(rows as FindingRow[], output, inv);
    case 'renewals':
      return renewalsView(rows as RenewalRow[], inv);
    case 'contract':
      return contractView(rows as never[]);
    case 'reclaim':
      return reclaimView(rows as ReclaimRow[], inv);
    default:
      return { title: tokensText(inv) || output.view, items: rows.map((r) => ({ text: genericLine(r) })) };
  }
}

/** The blocks of one person: who they are, then their seats (as many as fit; the rest is counted). */
function personBlocks(p: PersonRow, maxBlocks: number): Block[] {
  const blocks: Block[] = [header(p.displayName ? `${p.displayName} (${p.email})` : p.email)];
  blocks.push(
    fieldsSection([
      ['E-mail', e(p.email)],
      ['Aliases', p.aliases.length ? e(p.aliases.join(', ')) : '—'],
      ['Department', e(p.department ?? '—')],
      ['Cost center', e(p.costCenter ?? '—')],
      ['Manager', e(p.manager ?? '—')],
      [
        'Status',
        `${e(p.employmentStatus)}${p.departedAt ? ` since ${day(p.departedAt)}` : ''}${
          p.directoryEnabled ? '' : ' (directory account disabled)'
        }`,
      ],
    ]),
  );
  if (p.seats.length === 0) {
    blocks.push(section('No seats.'));
    return blocks;
  }
  const room = Math.max(1, maxBlocks - blocks.length - 1);
  const packed = packLines(p.seats.map(subscriberLine), room);
  const shown = packed.count;
  blocks.push(...packed.blocks);
  if (shown < p.seats.length) {
    blocks.push(
      context(
        `…and ${p.seats.length - shown} more: \`/license who-has ${e(p.email)}\` lists them page by page.`,
      ),
    );
  }
  return blocks;
}

/**
 * Renders a command's output as one message (≤ `maxBlocks` blocks), with "Previous"/"More" buttons when the list
 * has more pages and buttons on rows the registry can act on.
 */
export function renderOutput(
  output: CommandOutput,
  inv?: Invocation,
  maxBlocks: number = LIMITS.messageBlocks,
): Rendered {
  if (output.rows.length === 0) {
    return { text: cut(output.empty, LIMITS.messageText), blocks: [section(e(output.empty))] };
  }
  if (output.view === 'persons') {
    const people = output.rows as PersonRow[];
    const blocks: Block[] = [];
    for (const p of people) {
      const room = maxBlocks - blocks.length - (blocks.length ? 1 : 0);
      if (room < 4) break;
      if (blocks.length) blocks.push(divider());
      blocks.push(...personBlocks(p, room));
    }
    const first = people[0] as PersonRow;
    return { text: cut(`${first.email}: ${first.seats.length} seats`, LIMITS.messageText), blocks };
  }

  const model = viewModel(output, inv);
  const offset = inv?.offset ?? 0;
  const blocks: Block[] = [header(model.title)];
  const summaryAt = blocks.push(context(' ')) - 1;
  // One block stays free for the buttons under the list (batch actions, paging).
  const room = maxBlocks - blocks.length - 1;

  let shown = 0;
  if (model.items.some((i) => (i.buttons?.length ?? 0) > 0)) {
    let used = 0;
    for (const [index, item] of model.items.entries()) {
      const buttons = toButtons(item.buttons ?? []);
      const need = buttons.length ? 2 : 1;
      if (used + need > room) break;
      blocks.push(section(item.text));
      if (buttons.length) blocks.push(actions(buttons, `row:${offset + index + 1}`));
      used += need;
      shown++;
    }
  } else {
    const packed = packLines(
      model.items.map((i) => i.text),
      room,
    );
    blocks.push(...packed.blocks);
    shown = packed.count;
  }
  const range =
    output.total > shown ? `${offset + 1}–${offset + shown} of ${output.total}` : `${output.total}`;
  blocks[summaryAt] = context(`${range} · ${inv ? code(`/license ${tokensText(inv)}`) : e(output.view)}`);
  const footer = [
    ...toButtons(model.listButtons ?? []),
    ...(inv ? pageButtons(output.total, shown, inv) : []),
  ];
  if (footer.length) blocks.push(actions(footer, 'list'));
  return { text: cut(`${model.title}: ${range}`, LIMITS.messageText), blocks };
}

/** "Previous" and "More": the same command for the neighbouring pages. */
function pageButtons(total: number, shown: number, inv: Invocation) {
  const buttons: CommandButton[] = [];
  const pageOf = (offset: number) => [
    ...inv.tokens,
    '--offset',
    String(offset),
    '--limit',
    String(inv.limit),
  ];
  if (inv.offset > 0) {
    buttons.push({
      label: 'Previous',
      command: inv.command,
      tokens: pageOf(Math.max(0, inv.offset - inv.limit)),
      page: true,
    });
  }
  const next = inv.offset + shown;
  if (shown > 0 && next < total) {
    buttons.push({
      label: `More (${total - next} left)`,
      command: inv.command,
      tokens: pageOf(next),
      page: true,
      style: 'primary',
    });
  }
  return toButtons(buttons);
}

/** A usage line without the paging options (Slack pages with buttons). */
export function slackUsage(spec: CommandSpec): string {
  return usageLine({ ...spec, args: spec.args.filter((a) => a.name !== 'limit' && a.name !== 'offset') });
}

/** The commands `/license` offers: the registry's Slack commands, then `mine` and `help`. */
export function renderHelp(intro?: string): Rendered {
  const lines = slackCommands().map(
    (c) =>
      `• ${code(slackUsage(c))} — ${e(c.summary)}${c.examples[0] ? ` (e.g. ${code(`/license ${c.examples[0]}`)})` : ''}`,
  );
  lines.push(`• ${code('help')} — this list`);
  const blocks: Block[] = [];
  if (intro) blocks.push(section(e(intro)));
  blocks.push(header('Seatkeeper: /license commands'));
  blocks.push(...packLines(lines, LIMITS.messageBlocks - blocks.length - 1).blocks);
  blocks.push(
    context(
      'Answers are only visible to you; add `share` (e.g. `/license share seats figma`) to post one in the channel.',
    ),
  );
  return { text: cut(`${intro ? `${intro} ` : ''}Seatkeeper /license commands`, LIMITS.messageText), blocks };
}

/** A failure as an ephemeral answer, with the usage when the arguments were wrong. */
export function renderFailure(failure: Failure, spec?: CommandSpec): Rendered {
  const icon = failure.code === 'NOT_AUTHORIZED' ? ':lock:' : ':warning:';
  const usage =
    spec && failure.code === 'INVALID_ARGUMENT' ? `\nUsage: ${code(`/license ${slackUsage(spec)}`)}` : '';
  const text = `${icon} ${e(failure.message)}${usage}`;
  return { text: cut(`${failure.message}`, LIMITS.messageText), blocks: [section(text)] };
}

/** What seat actions (reclaim, undo, retry, a holder's answer) ended with, in one line. */
function seatOutcome(rows: readonly Record<string, unknown>[]): string {
  const seat = (r: Record<string, unknown>) =>
    `${String(r.product ?? r.sku ?? 'seat')} of ${String(r.email ?? r.login ?? 'an account')}`;
  const state = (r: Record<string, unknown>) =>
    r.state === 'asking' ? 'asking the holder' : r.state === 'blocked' ? 'blocked' : String(r.state);
  if (rows.length === 1) {
    const r = rows[0] as Record<string, unknown>;
    const why = r.error ?? r.detail;
    return e(`${seat(r)}: ${state(r)}${typeof why === 'string' && why ? ` (${why})` : ''}`);
  }
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(state(r), (counts.get(state(r)) ?? 0) + 1);
  const products = [...new Set(rows.map((r) => String(r.product ?? r.sku)))].join(', ');
  return e(`${rows.length} seats of ${products}: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}`);
}

/** One line saying what an action's command answered. */
export function outcomeText(output: CommandOutput): string {
  const first = output.rows[0] as Record<string, unknown> | undefined;
  if (!first) return e(output.empty || 'done');
  if ((output.view === 'reclaim' || output.view === 'actions') && typeof first.state === 'string') {
    return seatOutcome(output.rows as Record<string, unknown>[]);
  }
  if (typeof first.message === 'string') return e(first.message);
  if (typeof first.summary === 'string') return e(first.summary);
  if (output.view === 'findings')
    return `${output.total} open finding${output.total === 1 ? '' : 's'} after recomputing`;
  const line = viewModel({ ...output, rows: [first] }).items[0]?.text ?? genericLine(first);
  return `${line.replace(/^• /, '')}${output.total > 1 ? ` (+${output.total - 1} more)` : ''}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What one can do next about an action's outcome: undo a reclaim within its window, retry a failed one. Offered
 * only for a single action (not a batch), and only when the registry runs `undo`/`retry` on Slack.
 */
export function followUpButtons(output: CommandOutput, now: Date): CommandButton[] {
  if (output.rows.length !== 1) return [];
  const row = output.rows[0] as Record<string, unknown>;
  const id = row.actionId;
  if (typeof id !== 'string' || !UUID.test(id)) return [];
  const what = `${String(row.product ?? row.sku ?? 'the seat')}${row.email ? ` of ${String(row.email)}` : ''}`;
  if (
    row.state === 'done' &&
    row.kind !== 'undo' &&
    typeof row.undoUntil === 'string' &&
    new Date(row.undoUntil).getTime() > now.getTime()
  ) {
    return [
      {
        label: 'Undo',
        command: 'undo',
        tokens: [id],
        mutating: true,
        style: 'danger',
        confirm: {
          title: 'Undo the reclaim?',
          text: `Give ${what} back (possible until ${row.undoUntil.slice(0, 10)}).`,
          confirm: 'Undo',
        },
      },
    ];
  }
  if (row.state === 'failed' && row.retryable === true) {
    return [{ label: 'Retry', command: 'retry', tokens: [id], mutating: true, style: 'primary' }];
  }
  return [];
}

/** The context line that replaces a card's buttons once someone acted: who did what, when, with what outcome. */
export function actedLine(userId: string, label: string, at: Date, outcome: string, ok = true): string {
  return `${ok ? ':white_check_mark:' : ':x:'} *${e(label)}* by <@${userId}> on ${slackDate(at)} — ${outcome}`;
}
