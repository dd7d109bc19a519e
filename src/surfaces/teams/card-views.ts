/**
 * View models: a command's neutral output, formatted into the strings the card templates place. Presentation
 * decisions (what a finding card shows, how money and dates read) live here, once, for every card.
 */
import type { ClearingRow, PersonRow, SeatRow, SubscriberRow } from '../../../handlers/inventory-queries.ts';
import { type CommandOutput, type CommandSpec, usageLine } from '../../../handlers/registry.ts';
import type { FindingRow, RenewalRow } from '../../../handlers/reports.ts';
import type { Failure } from '../../../handlers/types.ts';
import type { ArgMap, InputKind } from './card-actions.ts';
import type { CardJson, CardTemplates, TemplateName } from './card-templates.ts';

export type BannerStyle = 'good' | 'attention' | 'warning' | 'accent' | 'emphasis';

/** A line above the rows: who did what, or why something did not happen. */
export interface Banner {
  text: string;
  style: BannerStyle;
  actions: CardJson[];
}

/** What a list card needs besides the rows. */
export interface ListContext {
  now: Date;
  title: string;
  /** Rows skipped before this page. */
  offset: number;
  banner?: Banner;
  /** The "More" button(s); empty on the last page. */
  more: CardJson[];
  /** The buttons of one row of a view (already filtered by the viewer's roles). */
  rowActions(view: string, row: unknown): CardJson[];
}

const DASH = '—';
const DAY_MS = 86_400_000;

/** A text for a TextBlock: never empty (an empty TextBlock is invalid in the schema). */
const text = (value: string | number | null | undefined): string =>
  value === null || value === undefined || value === '' ? DASH : String(value);

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** `2026-03-01` from an ISO timestamp or date. */
export const day = (iso: string | null | undefined): string => (iso ? iso.slice(0, 10) : DASH);

/** "today", "yesterday", "12 days ago". */
export function ago(iso: string | null, now: Date): string {
  if (!iso) return DASH;
  const days = Math.floor((now.getTime() - Date.parse(iso)) / DAY_MS);
  if (days <= 0) return 'today';
  if (days === 1) return 'yesterday';
  return `${days} days ago`;
}

/** Whole days from today until a date (negative when it has passed). */
export const daysUntil = (date: string, now: Date): number =>
  Math.round(
    (Date.parse(`${date.slice(0, 10)}T00:00:00Z`) - Date.parse(now.toISOString().slice(0, 10))) / DAY_MS,
  );

/** `€1,234` — or `1,234 XYZ` for a code `Intl` does not know; `—` when the amount is unknown. */
export function money(amount: number | null, currency: string | null): string {
  if (amount === null || !Number.isFinite(amount)) return DASH;
  if (!currency) return amount.toLocaleString('en', { maximumFractionDigits: 2 });
  try {
    return amount.toLocaleString('en', { style: 'currency', currency, maximumFractionDigits: 0 });
  } catch {
    return `${amount.toLocaleString('en', { maximumFractionDigits: 2 })} ${currency}`;
  }
}

const NOUNS: Record<string, string> = {
  subscribers: 'seat',
  seats: 'license',
  persons: 'person',
  clearing: 'account',
  findings: 'finding',
  renewals: 'renewal',
};

/** A title for a command's card ("Who has figma", "Renewals in the next 30 days"). */
export function titleFor(spec: CommandSpec, args: ArgMap): string {
  switch (spec.name) {
    case 'who-has':
      return `Who has ${String(args.query)}`;
    case 'seats':
      return args.app ? `Seats: ${String(args.app)}` : 'Seats per license';
    case 'person':
      return `Person ${String(args.email)}`;
    case 'clearing':
      return 'Clearing: accounts without a person';
    case 'findings': {
      const kind = args.kind ? ` (${String(args.kind)})` : '';
      const app = args.app ? ` for ${String(args.app)}` : '';
      return `Findings${kind}${app}`;
    }
    case 'renewals':
      return `Renewals in the next ${String(args.days ?? 90)} days`;
    case 'reclaim':
      return args['dry-run'] === true ? 'Reclaim preview' : 'Reclaim';
    default:
      return spec.summary;
  }
}

function subscriberRow(r: SubscriberRow, now: Date) {
  let lastActivity: string;
  if (r.lastActivityAt) lastActivity = `Last used ${ago(r.lastActivityAt, now)}`;
  else if (r.lastActivitySource === 'no usage signal') lastActivity = 'Vendor reports no usage';
  else lastActivity = 'Never used';
  return {
    account: text(r.email ?? r.login ?? r.vendorAccountId),
    product: `${r.product} · ${r.sku}`,
    holder: r.person ? `Person: ${r.person}` : 'No person matched (clearing)',
    status: r.active ? 'Active' : 'Inactive',
    statusColor: r.active ? 'Good' : 'Default',
    lastActivity,
  };
}

function seatRow(r: SeatRow) {
  const problems = [
    r.capabilityStatus !== 'Enabled' ? `Subscription ${r.capabilityStatus.toLowerCase()}` : '',
    r.warningUnits > 0 ? `${r.warningUnits} in grace` : '',
    r.suspendedUnits > 0 ? `${r.suspendedUnits} suspended` : '',
  ].filter(Boolean);
  return {
    product: r.product,
    detail: `${r.sku} · ${r.vendor} · ${r.type}`,
    purchased: r.unlimited ? 'Unlimited' : text(r.purchased),
    consumed: String(r.consumed),
    available: r.unlimited ? DASH : text(r.available),
    availableColor: r.available === 0 ? 'Attention' : 'Default',
    note: problems.join(' · '),
  };
}

const PERSON_SEATS_SHOWN = 15;

function personRow(r: PersonRow, now: Date, seatActions: (seat: SubscriberRow) => CardJson[]) {
  const status =
    r.employmentStatus === 'departed'
      ? `Departed ${r.departedAt ? `on ${day(r.departedAt)}` : ''}`.trim()
      : 'Active';
  const facts = [
    { title: 'Aliases', value: r.aliases.length > 0 ? r.aliases.join(', ') : DASH },
    { title: 'Department', value: text(r.department) },
    { title: 'Cost center', value: text(r.costCenter) },
    { title: 'Manager', value: text(r.manager) },
    { title: 'Status', value: status },
    { title: 'Directory account', value: r.directoryEnabled ? 'Enabled' : 'Disabled' },
    { title: 'Source', value: r.source },
  ];
  const shown = r.seats.slice(0, PERSON_SEATS_SHOWN);
  return {
    name: text(r.displayName ?? r.email),
    email: r.email,
    facts,
    seatsHeading: r.seats.length === 0 ? 'No seats' : `Seats (${r.seats.length})`,
    seats: shown.map((s) => {
      const row = subscriberRow(s, now);
      return { ...row, product: `${s.product} · ${s.sku}`, account: row.account, actions: seatActions(s) };
    }),
    seatsNote:
      r.seats.length > shown.length
        ? `${r.seats.length - shown.length} more: ask “who-has ${r.email}” for the full list.`
        : '',
  };
}

function clearingRow(r: ClearingRow) {
  return {
    account: text(r.email ?? r.login ?? r.vendorAccountId),
    product: `${r.product} · ${r.sku} · ${r.vendor}`,
    firstSeen: `First seen ${day(r.firstImportAt)}`,
  };
}

const KIND_LABELS: Record<string, string> = {
  idle: 'Idle seat',
  unassigned: 'Unassigned seats',
  overage: 'Overage',
  grace: 'Subscription lapsing',
  departed: 'Seat of a departed person',
  duplicate: 'Duplicate seat',
  shadow: 'Unmanaged app',
  unmatched: 'Unmatched account',
};

/** One line of evidence, by kind, from the finding's evidence object. */
function evidenceLine(r: FindingRow): string {
  const e = r.evidence as Record<string, unknown>;
  const n = (key: string) => (typeof e[key] === 'number' ? (e[key] as number) : undefined);
  const s = (key: string) => (typeof e[key] === 'string' ? (e[key] as string) : undefined);
  switch (r.kind) {
    case 'idle':
      return s('lastActivityAt')
        ? `No activity for ${n('daysSinceActivity') ?? '?'} days (last ${day(s('lastActivityAt'))}; idle after ${n('idleDays') ?? '?'})`
        : `Never used since ${day(s('assignedAt'))}`;
    case 'unassigned':
      return `${n('purchased') ?? '?'} purchased, ${n('consumed') ?? '?'} in use`;
    case 'overage':
      return `${n('consumed') ?? '?'} in use, ${n('purchased') ?? '?'} purchased (${n('excess') ?? '?'} over)`;
    case 'grace':
      return `Subscription ${s('capabilityStatus') ?? 'lapsing'}${s('nextLifecycleAt') ? ` — next change ${day(s('nextLifecycleAt'))}` : ''}`;
    case 'departed':
      return `${s('person') ?? 'The person'} ${s('employmentStatus') === 'departed' ? `left on ${day(s('departedAt'))}` : 'has a disabled directory account'}`;
    case 'duplicate':
      return `Also covered by ${s('coveringPlan') ?? s('coveringSku') ?? 'another plan'}`;
    case 'shadow':
      return `${s('app') ?? 'An app'} used by ${n('users') ?? '?'} people`;
    default:
      return plural(r.seats, 'seat');
  }
}

const SEVERITY_COLORS: Record<string, string> = { high: 'Attention', medium: 'Warning', low: 'Default' };

function findingRow(r: FindingRow) {
  const who = r.email
    ? `${r.email}${r.person && r.person !== r.email ? ` (${r.person})` : ''}`
    : plural(r.seats, 'seat');
  const state =
    r.status === 'open'
      ? ''
      : ` (${r.status}${r.statusUntil ? ` until ${day(r.statusUntil)}` : ''}${r.statusReason ? `: ${r.statusReason}` : ''})`;
  return {
    headline: `${KIND_LABELS[r.kind] ?? r.kind} — ${r.product ?? r.sku ?? 'unknown app'}${state}`,
    severityColor: SEVERITY_COLORS[r.severity] ?? 'Default',
    subject: who,
    evidence: evidenceLine(r),
    savings: r.savings === null ? DASH : `${money(r.savings, r.currency)}/yr`,
    since: `Since ${day(r.firstSeenAt)}`,
  };
}

const RENEWAL_STATUS: Record<string, string> = {
  'pending-finance': 'Waiting for finance',
  declined: 'Declined',
  snoozed: 'Snoozed',
  escalated: 'Escalated',
};

function budgetText(r: RenewalRow): string {
  switch (r.budgetCheck) {
    case 'fits':
      return `Fits (${money(r.budgetRemaining, r.budgetCurrency)} left)`;
    case 'exceeds':
      return `Exceeds the budget by ${money(r.budgetExceedsBy, r.budgetCurrency)}`;
    case 'other currency':
      return `Budget in ${r.budgetCurrency ?? 'another currency'}: not compared`;
    default:
      return r.budgetCheck.charAt(0).toUpperCase() + r.budgetCheck.slice(1);
  }
}

function renewalRow(r: RenewalRow, now: Date) {
  const left = daysUntil(r.cancelBy, now);
  const passed = r.status === 'cancel-by passed' || left < 0;
  const decided = RENEWAL_STATUS[r.status];
  const status =
    decided ??
    (passed ? 'Cancel-by passed' : left === 0 ? 'Cancel by today' : `Cancel by in ${plural(left, 'day')}`);
  const utilization = r.utilization === null ? '' : ` (${Math.round(r.utilization * 100)} %)`;
  const saving = r.savings !== null && r.savings > 0 ? `, saves ${money(r.savings, r.currency)}/yr` : '';
  return {
    product: `${r.product} (${r.sku})${r.trial ? ' — trial' : ''}`,
    detail: `${r.vendor} · renews ${day(r.renewalDate)} · cancel by ${day(r.cancelBy)}`,
    status,
    statusColor: decided ? 'Accent' : passed ? 'Attention' : left <= 30 ? 'Warning' : 'Default',
    annualCost: r.annualCost === null ? DASH : `${money(r.annualCost, r.currency)}/yr`,
    facts: [
      { title: 'Quantity', value: r.quantity === null ? 'Unlimited' : String(r.quantity) },
      { title: 'In use', value: `${r.consumed}${utilization}; ${plural(r.idleSeats, 'idle seat')}` },
      {
        title: 'Recommended',
        value: `${r.recommendedQuantity} seats${r.recommendedCost === null ? '' : `, ${money(r.recommendedCost, r.currency)}/yr`}${saving}`,
      },
      { title: 'Budget', value: budgetText(r) },
      {
        title: 'Unit price',
        value:
          r.unitPrice === null ? DASH : `${money(r.unitPrice, r.currency)} ${r.billingPeriod ?? ''}`.trim(),
      },
      { title: 'Auto-renew', value: r.autoRenew === null ? DASH : r.autoRenew ? 'Yes' : 'No' },
      { title: 'Owner', value: text(r.owner) },
      ...(r.decision
        ? [
            {
              title: 'Decision',
              value: `${r.decision.decision} by ${r.decision.requestedBy} (${r.decision.state})${r.decision.until ? ` until ${day(r.decision.until)}` : ''}`,
            },
          ]
        : []),
    ],
  };
}

/** Scalar fields of any row as facts, for views without their own template (action results, previews). */
export function factsOf(row: unknown): { title: string; value: string }[] {
  if (row === null || typeof row !== 'object') return [{ title: 'Value', value: text(String(row)) }];
  const facts: { title: string; value: string }[] = [];
  for (const [key, value] of Object.entries(row as Record<string, unknown>)) {
    if (facts.length >= 20) break;
    if (value === null || value === undefined || value === '') continue;
    const shown = typeof value === 'object' ? JSON.stringify(value) : String(value);
    const title = key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[-_]/g, ' ');
    facts.push({
      title: title.charAt(0).toUpperCase() + title.slice(1).toLowerCase(),
      value: shown.length > 200 ? `${shown.slice(0, 199)}…` : shown,
    });
  }
  return facts;
}

const noticeText = (list: unknown): string =>
  Array.isArray(list)
    ? list
        .map((n) => (n && typeof n === 'object' && 'message' in n ? String(n.message) : String(n)))
        .join(' ')
    : '';

/** A reclaim's preview or outcome, one seat. */
function seatActionFacts(r: Record<string, unknown>, now: Date): { title: string; value: string }[] {
  const str = (key: string) => (typeof r[key] === 'string' && r[key] !== '' ? (r[key] as string) : undefined);
  const facts = [
    { title: 'State', value: text(str('state')) },
    { title: 'Person', value: str('person') ?? 'No person matched (clearing)' },
    {
      title: 'Last used',
      value: str('lastActivityAt')
        ? `${ago(str('lastActivityAt') ?? null, now)} (${day(str('lastActivityAt'))})`
        : 'Never',
    },
    {
      title: 'Savings',
      value: typeof r.savings === 'number' ? `${money(r.savings, str('currency') ?? null)}/yr` : DASH,
    },
  ];
  const blockers = noticeText(r.blockers);
  if (blockers) facts.push({ title: 'Blocked', value: blockers });
  const warnings = noticeText(r.warnings);
  if (warnings) facts.push({ title: 'Note', value: warnings });
  const ask = r.ask as
    | { holder?: string | null; deadline?: string; answer?: string | null }
    | null
    | undefined;
  if (ask?.deadline) {
    facts.push({
      title: 'Holder asked',
      value: `${ask.holder ?? 'holder'}, answer by ${day(ask.deadline)}${ask.answer ? ` — ${ask.answer}` : ''}`,
    });
  }
  if (str('detail')) facts.push({ title: 'Vendor', value: str('detail') as string });
  if (str('error')) facts.push({ title: 'Vendor error', value: str('error') as string });
  if (str('undoUntil')) facts.push({ title: 'Undo until', value: day(str('undoUntil')) });
  if (str('actionId')) facts.push({ title: 'Action id', value: str('actionId') as string });
  return facts;
}

/** Headings and facts of rows without a list template (action outcomes, previews, decisions). */
export function resultRows(
  view: string,
  rows: readonly unknown[],
  now: Date,
): { heading: string; facts: { title: string; value: string }[] }[] {
  return rows.slice(0, 10).map((row) => {
    const r = (row ?? {}) as Record<string, unknown>;
    const name = [r.product, r.email ?? r.login ?? r.account]
      .filter((v) => typeof v === 'string' && v)
      .join(' · ');
    if (view === 'reclaim' || view === 'actions') {
      return { heading: text(name || (r.sku as string | undefined)), facts: seatActionFacts(r, now) };
    }
    return { heading: name, facts: factsOf(row) };
  });
}

const EMPTY_BANNER = { banner: '', bannerStyle: 'default', bannerActions: [] as CardJson[] };
/** The banner fields every template with a banner binds. */
export const bannerData = (banner?: Banner) =>
  banner ? { banner: banner.text, bannerStyle: banner.style, bannerActions: banner.actions } : EMPTY_BANNER;

/** The card of a command's output: the view's own template, or the generic result card for other views. */
export function viewCard(templates: CardTemplates, output: CommandOutput, ctx: ListContext): CardJson {
  const shown = output.rows.length;
  const noun = NOUNS[output.view] ?? 'row';
  const subtitle =
    output.total === 0
      ? 'Nothing found'
      : shown === output.total
        ? plural(output.total, noun)
        : `${shown === 1 ? ctx.offset + 1 : `${ctx.offset + 1}–${ctx.offset + shown}`} of ${plural(output.total, noun)}`;
  const remaining = output.total - ctx.offset - shown;
  const common = {
    title: ctx.title,
    subtitle,
    ...bannerData(ctx.banner),
    empty: text(output.empty),
    more: ctx.more,
    pageNote: remaining > 0 && ctx.more.length > 0 ? `${remaining} more — choose “More”.` : '',
  };
  const actions = (row: unknown) => ctx.rowActions(output.view, row);
  const template = output.view as TemplateName;
  switch (output.view) {
    case 'subscribers':
      return templates.expand(template, {
        ...common,
        rows: (output.rows as SubscriberRow[]).map((r) => ({
          ...subscriberRow(r, ctx.now),
          actions: actions(r),
        })),
      });
    case 'seats':
      return templates.expand(template, {
        ...common,
        rows: (output.rows as SeatRow[]).map((r) => ({ ...seatRow(r), actions: actions(r) })),
      });
    case 'persons':
      return templates.expand(template, {
        ...common,
        rows: (output.rows as PersonRow[]).map((r) =>
          personRow(r, ctx.now, (seat) => ctx.rowActions('subscribers', seat)),
        ),
      });
    case 'clearing':
      return templates.expand(template, {
        ...common,
        rows: (output.rows as ClearingRow[]).map((r) => ({ ...clearingRow(r), actions: actions(r) })),
      });
    case 'findings':
      return templates.expand(template, {
        ...common,
        rows: (output.rows as FindingRow[]).map((r) => ({ ...findingRow(r), actions: actions(r) })),
      });
    case 'renewals':
      return templates.expand(template, {
        ...common,
        rows: (output.rows as RenewalRow[]).map((r) => ({ ...renewalRow(r, ctx.now), actions: actions(r) })),
      });
    default:
      return templates.expand('result', {
        ...common,
        rows: resultRows(output.view, output.rows, ctx.now).map((r, i) => ({
          ...r,
          actions: actions(output.rows[i]),
        })),
      });
  }
}

/** The help card: the commands this surface offers, with a note (e.g. "I don't know 'foo'"). */
export function helpCard(templates: CardTemplates, commands: readonly CommandSpec[], note = ''): CardJson {
  return templates.expand('help', {
    title: 'Seatkeeper: SaaS licenses and seats',
    note,
    intro: 'Write one of these to me in a chat, or @mention me in a channel:',
    commands: commands.map((c) => ({
      usage: usageLine(c),
      summary: c.summary,
      example: c.examples[0] ? `e.g. ${c.examples[0]}` : DASH,
    })),
    footer: 'Lists show 10 rows at a time; “More” shows the next ones. “help” shows this card again.',
  });
}

const FAILURE_TITLES: Record<Failure['code'], string> = {
  NOT_AUTHORIZED: 'Not allowed',
  INVALID_ARGUMENT: 'That did not work',
  NOT_FOUND: 'Not found',
  CONFLICT: 'Already done or in the way',
  UNAVAILABLE: 'Not available right now',
  VENDOR_FAILED: 'The vendor refused or failed',
};

/** A card for a failure a handler returned (or the surface found). */
export function errorCard(
  templates: CardTemplates,
  failure: Failure,
  hint = '',
  actions: CardJson[] = [],
): CardJson {
  return templates.expand('error', {
    title: FAILURE_TITLES[failure.code],
    message: text(failure.message),
    hint,
    actions,
  });
}

/** A card for a question before a command runs: what will happen, and Confirm / Cancel. */
export function confirmCard(
  templates: CardTemplates,
  data: {
    title: string;
    question: string;
    view: string;
    details: unknown[];
    warnings: string[];
    actions: CardJson[];
    now: Date;
  },
): CardJson {
  return templates.expand('confirm', {
    title: data.title,
    question: data.question,
    details: resultRows(data.view, data.details, data.now),
    warnings: data.warnings,
    actions: data.actions,
  });
}

/** Everything the form card's inputs need; inputs not asked for are hidden. */
export interface FormData {
  title: string;
  text: string;
  error: string;
  inputs: readonly { kind: InputKind; required: boolean }[];
  /** Static choices for the person typeahead (the card must carry at least one). */
  personChoices: { title: string; value: string }[];
  quantity?: number;
  today: string;
  actions: CardJson[];
}

/** A card asking for the inputs of a command: a person (typeahead), a reason, a date or a quantity. */
export function formCard(templates: CardTemplates, data: FormData): CardJson {
  const wanted = (kind: InputKind) => data.inputs.find((i) => i.kind === kind);
  const person = wanted('person');
  const reason = wanted('reason');
  const until = wanted('until');
  const quantity = wanted('quantity');
  return templates.expand('form', {
    title: data.title,
    text: data.text,
    error: data.error,
    person: { show: Boolean(person), label: 'Person', choices: data.personChoices },
    reason: {
      show: Boolean(reason),
      label: 'Reason',
      required: reason?.required ?? false,
      placeholder: 'Why does this seat stay?',
      value: '',
    },
    until: {
      show: Boolean(until),
      label: until?.required ? 'Until' : 'Until (leave empty: no end date)',
      required: until?.required ?? false,
      min: data.today,
      value: '',
    },
    quantity: { show: Boolean(quantity), label: 'Seats', value: data.quantity ?? 0 },
    actions: data.actions,
  });
}

/** A notification that is not a list: a title, a text, facts and buttons. */
export function noticeCard(
  templates: CardTemplates,
  data: {
    title: string;
    text: string;
    facts: { title: string; value: string }[];
    actions: CardJson[];
    banner?: Banner;
  },
): CardJson {
  return templates.expand('notice', {
    title: text(data.title),
    text: data.text,
    facts: data.facts,
    actions: data.actions,
    ...bannerData(data.banner),
  });
}
