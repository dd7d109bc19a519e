/**
 * What an IT alert says, as neutral outbox data: a title, a sentence, facts, the finding rows it is about (the
 * `findings` view, so each surface shows them with the same per-row buttons as its findings list — Reclaim, Ask
 * holder, Keep, Snooze) and buttons naming registry commands. A button carries its arguments both as typed tokens
 * (Slack's `/license` buttons) and as an argument map (Teams' Universal Actions); a surface shows a button only when
 * the registry offers that command there and the viewer's roles allow it.
 */
import type { FindingRow } from '../../handlers/reports.ts';

/** A button on an alert (see `NotificationAction` in Slack and `NoticeButton` in Teams). */
export interface AlertButton {
  label: string;
  command: string;
  tokens: string[];
  args: Record<string, string | number | boolean>;
  /** False for a read command: it shows a list to whoever clicks. */
  mutating: boolean;
  style?: 'primary' | 'danger';
  confirm?: { title: string; text: string; confirm: string };
}

export interface AlertPayload extends Record<string, unknown> {
  title: string;
  text: string;
  facts: { label: string; value: string }[];
  actions: AlertButton[];
}

/** An overage finding with the license's open idle seats (reclaiming them is the cheapest way out). */
export interface OverageFinding extends FindingRow {
  idleSeats: number;
}

export interface FailedImport {
  runId: number;
  source: string;
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  lastSuccess: string | null;
}

const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** `1,800 EUR`; `unpriced` when the amount or currency is unknown. */
export function money(amount: number | null, currency: string | null): string {
  if (amount === null || !Number.isFinite(amount)) return 'unpriced';
  return `${NUMBER.format(amount)}${currency ? ` ${currency}` : ''}`;
}

const day = (iso: unknown) => (typeof iso === 'string' && iso.length >= 10 ? iso.slice(0, 10) : undefined);
const str = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
const appOf = (f: FindingRow) => f.product ?? f.sku ?? 'an app';

/** One sentence on what a finding says, from its evidence. */
export function describeFinding(f: FindingRow): string {
  const who = f.email ?? f.person ?? 'An account';
  const e = f.evidence;
  switch (f.kind) {
    case 'idle': {
      const last = day(e.lastActivityAt);
      const days = typeof e.daysSinceActivity === 'number' ? ` (${e.daysSinceActivity} days)` : '';
      return last
        ? `${who} has not used ${appOf(f)} since ${last}${days}.`
        : `${who} has never used ${appOf(f)} since it was assigned${day(e.assignedAt) ? ` on ${day(e.assignedAt)}` : ''}.`;
    }
    case 'departed':
      return `${who} still holds a ${appOf(f)} seat, but ${str(e.person) ?? 'its holder'} has left${
        day(e.departedAt) ? ` (${day(e.departedAt)})` : ''
      } or is disabled in the directory.`;
    case 'duplicate':
      return `${who} holds ${str(e.coveredPlan) ?? appOf(f)}, which ${str(e.coveringPlan) ?? 'another plan'} they also hold already includes.`;
    case 'unassigned':
      return `${plural(f.seats, `paid ${appOf(f)} seat`)} ${f.seats === 1 ? 'is' : 'are'} not assigned to anyone.`;
    default:
      return `${f.kind} finding on ${appOf(f)}.`;
  }
}

const findingsButton = (kind: string, sku: string | null): AlertButton => ({
  label: `${kind.charAt(0).toUpperCase()}${kind.slice(1)} findings`,
  command: 'findings',
  tokens: ['--kind', kind, ...(sku ? ['--app', sku] : [])],
  args: { kind, ...(sku ? { app: sku } : {}) },
  mutating: false,
});

/** A new finding saving at least `minSavings` a year; its row carries Reclaim / Ask holder / Keep / Snooze. */
export function findingAlert(f: FindingRow, minSavings: number): AlertPayload {
  const savings = money(f.savings, f.currency);
  return {
    title: `New ${f.kind} finding: ${appOf(f)} — saves ${savings}/year`,
    text: describeFinding(f),
    facts: [
      { label: 'Savings', value: `${savings} per year` },
      { label: 'Seats', value: String(f.seats) },
      ...(f.email ? [{ label: 'Account', value: f.email }] : []),
      ...(f.sku ? [{ label: 'SKU', value: f.sku }] : []),
      { label: 'Alert threshold', value: `${money(minSavings, f.currency)} per year` },
    ],
    output: { view: 'findings', rows: [f], total: 1, empty: 'This finding no longer holds.' },
    actions: [findingsButton(f.kind, f.sku)],
    findingId: f.id,
    minSavings,
  };
}

/** Several new findings at once (beyond the single alerts of one run): the largest listed, each with its buttons. */
export function findingSummary(
  findings: readonly FindingRow[],
  minSavings: number,
  rows: number,
): AlertPayload {
  const totals = new Map<string, number>();
  for (const f of findings) {
    const key = f.currency ?? '';
    totals.set(key, (totals.get(key) ?? 0) + (f.savings ?? 0));
  }
  const total = [...totals].map(([currency, amount]) => money(amount, currency || null)).join(' + ');
  const shown = findings.slice(0, rows);
  const kinds = [...new Set(findings.map((f) => f.kind))];
  return {
    title: `${plural(findings.length, 'more new finding')} saving ${total} per year`,
    text: `Each saves at least ${money(minSavings, findings[0]?.currency ?? null)} per year.${
      findings.length > shown.length ? ` The ${shown.length} largest are listed.` : ''
    }`,
    facts: [
      { label: 'Findings', value: String(findings.length) },
      { label: 'Savings', value: `${total} per year` },
    ],
    output: {
      view: 'findings',
      rows: shown,
      total: findings.length,
      empty: 'These findings no longer hold.',
    },
    actions: kinds.slice(0, 3).map((kind) => findingsButton(kind, null)),
    findingIds: findings.map((f) => f.id),
    minSavings,
  };
}

/** A license using more seats than bought: the true-up exposure, and reclaiming its idle seats as the way out. */
export function overageAlert(f: OverageFinding): AlertPayload {
  const e = f.evidence;
  const purchased = typeof e.purchased === 'number' ? e.purchased : null;
  const consumed = typeof e.consumed === 'number' ? e.consumed : null;
  const trueUp = typeof e.trueUpCost === 'number' ? e.trueUpCost : null;
  const app = appOf(f);
  const actions: AlertButton[] = [];
  if (f.sku && f.idleSeats > 0) {
    actions.push({
      label: `Reclaim ${f.idleSeats} idle`,
      command: 'reclaim',
      tokens: ['--sku', f.sku, '--all-idle', '--yes'],
      args: { sku: f.sku, 'all-idle': true },
      mutating: true,
      style: 'danger',
      confirm: {
        title: `Reclaim ${plural(f.idleSeats, 'idle seat')}?`,
        text: `Remove every idle ${app} (${f.sku}) seat to bring the license back within what was bought.`,
        confirm: 'Reclaim all',
      },
    });
  }
  if (f.sku) {
    actions.push({
      label: 'Seats',
      command: 'seats',
      tokens: [f.sku],
      args: { app: f.sku },
      mutating: false,
    });
    actions.push(findingsButton('idle', f.sku));
  }
  return {
    title: `Overage: ${app} uses ${plural(f.seats, 'seat')} more than bought`,
    text: `${consumed ?? '?'} seats are in use and ${purchased ?? '?'} bought${
      trueUp === null ? '' : `: a true-up of about ${money(trueUp, f.currency)} per year`
    }.${f.idleSeats > 0 ? ` ${plural(f.idleSeats, 'seat')} of it ${f.idleSeats === 1 ? 'is' : 'are'} idle.` : ''}`,
    facts: [
      { label: 'Bought', value: String(purchased ?? '—') },
      { label: 'In use', value: String(consumed ?? '—') },
      { label: 'Over by', value: String(f.seats) },
      { label: 'True-up per year', value: money(trueUp, f.currency) },
      { label: 'Idle seats', value: String(f.idleSeats) },
      ...(f.sku ? [{ label: 'SKU', value: f.sku }] : []),
    ],
    actions,
    findingId: f.id,
    licenseId: f.licenseId,
    sku: f.sku,
  };
}

/** A failed import run and the reason it recorded; the inventory of the last successful import still stands. */
export function importFailureAlert(run: FailedImport): AlertPayload {
  const reason = run.error ?? 'no reason was recorded';
  return {
    title: `Import of ${run.source} failed`,
    text: `${reason.length > 900 ? `${reason.slice(0, 899)}…` : reason}`,
    facts: [
      { label: 'Connector', value: run.source },
      { label: 'Started', value: `${run.startedAt.slice(0, 16).replace('T', ' ')} UTC` },
      { label: 'Trigger', value: run.trigger },
      {
        label: 'Inventory as of',
        value: run.lastSuccess
          ? `${run.lastSuccess.slice(0, 16).replace('T', ' ')} UTC (the last successful import)`
          : 'no successful import yet',
      },
    ],
    actions: [
      { label: 'Seats', command: 'seats', tokens: [], args: {}, mutating: false },
      { label: 'Findings', command: 'findings', tokens: [], args: {}, mutating: false },
    ],
    runId: run.runId,
    source: run.source,
    reason,
  };
}
