/**
 * What a `notifications` row says, whoever produced it: the weekly digest, a holder's "still need it?" question, a
 * renewal lead-time alert, or the generic payload (`title`, `text`, `facts`, `output`, `actions`) that the Slack
 * surface delivers too. The renderer turns the model into a card.
 */
import type { CommandOutput } from '../../../handlers/registry.ts';
import type { ArgMap } from './card-actions.ts';
import { day, money } from './card-views.ts';

export interface Fact {
  title: string;
  value: string;
}

/** A button on a notification: a registry command with arguments (as a map, or as typed tokens). */
export interface NoticeButton {
  label: string;
  command: string;
  args?: ArgMap;
  tokens?: readonly string[];
  style?: 'positive' | 'destructive';
  /** A read command: shows its list to whoever clicks, for everyone (no role needed to see the button). */
  view?: boolean;
}

export interface NoticeModel {
  title: string;
  text: string;
  facts: Fact[];
  /** A list to show (a command's output). */
  output?: CommandOutput;
  buttons: NoticeButton[];
  /** Rows whose per-row buttons come from a view's row actions (a renewal alert gets the renewal's buttons). */
  rowButtons?: { view: string; row: unknown };
}

export interface DigestModel {
  title: string;
  summary: Fact[];
  idleHeading: string;
  idle: { product: string; detail: string; savings: string; buttons: NoticeButton[] }[];
  renewalsHeading: string;
  renewals: { product: string; detail: string }[];
  unmatchedHeading: string;
  unmatched: { line: string }[];
  buttons: NoticeButton[];
}

export type NotificationModel =
  | { type: 'digest'; digest: DigestModel }
  | { type: 'notice'; notice: NoticeModel };

type Payload = Record<string, unknown>;
const str = (p: Payload, key: string): string | undefined =>
  typeof p[key] === 'string' && p[key] !== '' ? (p[key] as string) : undefined;
const num = (p: Payload, key: string): number | null =>
  typeof p[key] === 'number' ? (p[key] as number) : null;
const list = (value: unknown): Payload[] => (Array.isArray(value) ? (value as Payload[]) : []);
const humanize = (kind: string) => kind.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase());

/** The model of a notification, by its kind and payload. */
export function notificationModel(kind: string, payload: Payload): NotificationModel {
  if (payload.view === 'digest' || kind === 'digest') return { type: 'digest', digest: digestModel(payload) };
  if (kind.startsWith('holder-ask')) return { type: 'notice', notice: holderAsk(payload) };
  if (kind === 'renewal-alert' || kind === 'renewal-cancel-reminder') {
    return { type: 'notice', notice: renewalAlert(kind, payload) };
  }
  return { type: 'notice', notice: generic(kind, payload) };
}

function holderAsk(p: Payload): NoticeModel {
  const product = str(p, 'product') ?? 'this app';
  const action = str(p, 'actionId');
  return {
    title: p.reminder === true ? `Reminder: do you still need ${product}?` : `Do you still need ${product}?`,
    text: str(p, 'question') ?? '',
    facts: [
      { title: 'Account', value: str(p, 'account') ?? '—' },
      {
        title: 'Answer by',
        value: str(p, 'deadline') ? `${day(str(p, 'deadline'))} (no answer: released)` : '—',
      },
      { title: 'Asked by', value: str(p, 'requestedBy') ?? '—' },
    ],
    buttons: action
      ? [
          { label: 'Keep', command: 'answer', args: { action, answer: 'keep' }, style: 'positive' },
          { label: 'Release', command: 'answer', args: { action, answer: 'release' }, style: 'destructive' },
        ]
      : [],
  };
}

function renewalAlert(kind: string, p: Payload): NoticeModel {
  const product = `${str(p, 'product') ?? str(p, 'sku') ?? 'A license'} (${str(p, 'sku') ?? '?'})`;
  const currency = str(p, 'currency') ?? null;
  const cancelBy = day(str(p, 'cancelBy'));
  const title =
    kind === 'renewal-cancel-reminder'
      ? `Declined: tell the vendor before ${cancelBy} — ${product}`
      : p.missed === true
        ? `Cancel-by date missed: ${product}`
        : `Renewal coming: ${product}, cancel by ${cancelBy}`;
  const daysLeft = num(p, 'daysLeft');
  const facts: Fact[] = [
    { title: 'Renews', value: day(str(p, 'renewalDate')) },
    { title: 'Cancel by', value: daysLeft === null ? cancelBy : `${cancelBy} (${daysLeft} days)` },
    { title: 'Quantity', value: num(p, 'quantity')?.toString() ?? 'Unlimited' },
    { title: 'In use', value: `${num(p, 'consumed') ?? '?'}; ${num(p, 'idleSeats') ?? 0} idle` },
    {
      title: 'Recommended',
      value: `${num(p, 'recommendedQuantity') ?? '?'} seats, ${money(num(p, 'recommendedCost'), currency)}/yr`,
    },
    { title: 'Annual cost now', value: money(num(p, 'annualCost'), currency) },
    { title: 'Budget remaining', value: money(num(p, 'budgetRemaining'), str(p, 'budgetCurrency') ?? null) },
    { title: 'Owner', value: str(p, 'owner') ?? '—' },
    { title: 'Vendor contact', value: str(p, 'vendorContact') ?? '—' },
  ];
  if (str(p, 'decision')) facts.push({ title: 'Decision', value: str(p, 'decision') as string });
  const sku = str(p, 'sku');
  return {
    title,
    text: p.autoRenew === true ? 'It renews by itself unless cancelled by the cancel-by date.' : '',
    facts,
    buttons: [{ label: 'Renewals', command: 'renewals', args: {}, view: true }],
    // The same buttons as the renewal's row in the renewals list (Approve, Resize, Decline, Escalate).
    rowButtons:
      sku && kind === 'renewal-alert' && !str(p, 'decision')
        ? {
            view: 'renewals',
            row: {
              sku,
              licenseId: num(p, 'licenseId'),
              renewalDate: str(p, 'renewalDate'),
              recommendedQuantity: num(p, 'recommendedQuantity'),
              status: 'upcoming',
              decision: null,
            },
          }
        : undefined,
  };
}

const STYLES: Record<string, 'positive' | 'destructive'> = {
  primary: 'positive',
  positive: 'positive',
  danger: 'destructive',
  destructive: 'destructive',
};

function generic(kind: string, p: Payload): NoticeModel {
  const output = (p.output ?? (p.view && Array.isArray(p.rows) ? p : undefined)) as Payload | undefined;
  return {
    title: str(p, 'title') ?? humanize(kind),
    text: str(p, 'text') ?? '',
    facts: list(p.facts)
      .slice(0, 20)
      .map((f) => ({ title: String(f.label ?? f.title ?? ''), value: String(f.value ?? '—') })),
    output:
      output && typeof output.view === 'string' && Array.isArray(output.rows)
        ? {
            view: output.view,
            rows: output.rows.slice(0, 25),
            total: typeof output.total === 'number' ? output.total : output.rows.length,
            empty: typeof output.empty === 'string' ? output.empty : 'Nothing to report.',
          }
        : undefined,
    buttons: list(p.actions)
      .slice(0, 6)
      .flatMap((a): NoticeButton[] => {
        const label = a.label ?? a.title;
        if (typeof label !== 'string' || typeof a.command !== 'string') return [];
        return [
          {
            label,
            command: a.command,
            args: a.args && typeof a.args === 'object' ? (a.args as ArgMap) : undefined,
            tokens: Array.isArray(a.tokens) ? a.tokens.map(String) : undefined,
            style: typeof a.style === 'string' ? STYLES[a.style] : undefined,
            view: a.mutating === false,
          },
        ];
      }),
  };
}

function totals(values: unknown): string {
  const parts = list(values)
    .filter((t) => typeof t.amount === 'number' && (t.amount as number) > 0)
    .map((t) => money(t.amount as number, (t.currency as string | null) ?? null));
  return parts.join(' + ');
}

const sum = (values: unknown, key: string) => list(values).reduce((n, t) => n + (Number(t[key]) || 0), 0);
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

function digestModel(p: Payload): DigestModel {
  const found = totals(p.open);
  const realized = totals(p.realized);
  const reclaimed = sum(p.realized, 'seats');
  const renewals = (p.renewals ?? {}) as Payload;
  const unmatched = (p.unmatched ?? {}) as Payload;
  const idle = list(p.idle).slice(0, 10);
  return {
    title: `Weekly license digest · week of ${str(p, 'weekOf') ?? '—'}`,
    summary: [
      {
        title: 'Savings found',
        value: `${found ? `${found} per year` : 'no priced savings'} in ${plural(sum(p.open, 'findings'), 'open finding')}`,
      },
      {
        title: 'Realized this week',
        value: reclaimed
          ? `${realized || 'unpriced'} per year from ${plural(reclaimed, 'reclaimed seat')}`
          : 'nothing reclaimed',
      },
    ],
    idleHeading: idle.length > 0 ? 'Top idle apps' : 'Top idle apps: none',
    idle: idle.map((a) => {
      const seats = Number(a.seats) || 0;
      const savings =
        typeof a.savings === 'number' ? `${money(a.savings, (a.currency as string) ?? null)}/yr` : '—';
      return {
        product: String(a.product ?? a.sku ?? '—'),
        detail: `${String(a.sku ?? '')} · ${plural(seats, 'idle seat')}`,
        savings,
        buttons: [
          {
            label: `Reclaim ${seats} idle`,
            command: 'reclaim',
            args: { sku: String(a.sku ?? ''), 'all-idle': true },
            style: 'destructive' as const,
          },
        ],
      };
    }),
    renewalsHeading: `Renewals in the next 90 days: ${Number(renewals.total) || 0}`,
    renewals: list(renewals.rows)
      .slice(0, 10)
      .map((r) => ({
        product: `${String(r.product ?? '')} (${String(r.sku ?? '')})`,
        detail: `renews ${day(r.renewalDate as string)} · cancel by ${day(r.cancelBy as string)} · ${String(r.quantity ?? 'unlimited')} seats`,
      })),
    unmatchedHeading: `New unmatched accounts: ${Number(unmatched.count) || 0}`,
    unmatched: list(unmatched.accounts)
      .slice(0, 10)
      .map((a) => ({
        line: `${String(a.account ?? '—')} · ${String(a.product ?? '')} (${String(a.vendor ?? '')})`,
      })),
    buttons: [
      { label: 'Idle findings', command: 'findings', args: { kind: 'idle' }, view: true },
      { label: 'Renewals', command: 'renewals', args: {}, view: true },
      { label: 'Clearing', command: 'clearing', args: {}, view: true },
    ],
  };
}
