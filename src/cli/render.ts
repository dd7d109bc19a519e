/** Plain-text rendering of command outputs for a terminal. Views of each area live in `views/`. */
import type { ClearingRow, PersonRow, SeatRow, SubscriberRow } from '../../handlers/inventory-queries.ts';
import type { CommandOutput } from '../../handlers/registry.ts';
import type { FindingRow, RenewalRow } from '../../handlers/reports.ts';
import { ACTIONS_VIEWS } from './views/actions.ts';
import { FINDINGS_VIEWS } from './views/findings.ts';
import { RENEWALS_VIEWS } from './views/renewals.ts';

type Cell = string | number | boolean | null | undefined;

/** Aligned columns with a header row. */
export function table(headers: readonly string[], rows: readonly Cell[][]): string {
  const text = rows.map((r) => r.map((c) => (c === null || c === undefined ? '—' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...text.map(line)].join('\n')}\n`;
}

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : null);

function activity(row: SubscriberRow): string {
  if (row.lastActivitySource === 'no usage signal') return 'no usage signal';
  return row.lastActivityAt
    ? `${day(row.lastActivityAt)} (${row.lastActivitySource ?? 'unknown source'})`
    : 'never';
}

function subscribers(rows: SubscriberRow[]): string {
  return table(
    ['ACCOUNT', 'PERSON', 'PRODUCT', 'SKU', 'ACTIVE', 'LAST ACTIVITY'],
    rows.map((r) => [
      r.email ?? r.login,
      r.person ?? '(clearing)',
      r.product,
      r.sku,
      r.active ? 'yes' : 'no',
      activity(r),
    ]),
  );
}

function seats(rows: SeatRow[]): string {
  return table(
    ['PRODUCT', 'SKU', 'PURCHASED', 'CONSUMED', 'AVAILABLE', 'CAPABILITY', 'STATUS'],
    rows.map((r) => [
      r.product,
      r.sku,
      r.unlimited ? 'unlimited' : r.purchased,
      r.consumed,
      r.unlimited ? 'unlimited' : r.available,
      r.capabilityStatus,
      r.status,
    ]),
  );
}

function persons(rows: PersonRow[]): string {
  return rows
    .map((p) => {
      const head = [
        `${p.displayName ?? p.email} <${p.email}>`,
        p.aliases.length > 0 ? `  aliases: ${p.aliases.join(', ')}` : null,
        `  department: ${p.department ?? '—'}   cost center: ${p.costCenter ?? '—'}   manager: ${p.manager ?? '—'}`,
        `  status: ${p.employmentStatus}${p.departedAt ? ` since ${day(p.departedAt)}` : ''}${p.directoryEnabled ? '' : ' (directory account disabled)'}   source: ${p.source}`,
      ].filter((l) => l !== null);
      const seatsText = p.seats.length > 0 ? subscribers(p.seats) : 'No seats.\n';
      return `${head.join('\n')}\n\n${seatsText}`;
    })
    .join('\n');
}

function clearing(rows: ClearingRow[]): string {
  return table(
    ['VENDOR', 'ACCOUNT', 'PRODUCT', 'SKU', 'SINCE'],
    rows.map((r) => [r.vendor, r.email ?? `${r.login} (no e-mail)`, r.product, r.sku, day(r.firstImportAt)]),
  );
}

const money = (amount: number | null, currency: string | null) =>
  amount === null
    ? 'unknown'
    : `${amount.toLocaleString('en-US', { maximumFractionDigits: 2 })} ${currency ?? ''}`.trim();

function findings(rows: FindingRow[]): string {
  return table(
    ['ID', 'KIND', 'PRODUCT', 'SKU', 'ACCOUNT', 'SEATS', 'SAVINGS/YEAR', 'STATUS', 'SINCE'],
    rows.map((r) => [
      r.id,
      r.kind,
      r.product,
      r.sku,
      r.email ?? r.person,
      r.seats,
      money(r.savings, r.currency),
      r.statusUntil ? `${r.status} until ${day(r.statusUntil)}` : r.status,
      day(r.firstSeenAt),
    ]),
  );
}

function renewals(rows: RenewalRow[]): string {
  return table(
    ['PRODUCT', 'SKU', 'RENEWS', 'CANCEL BY', 'QUANTITY', 'RECOMMENDED', 'COST/YEAR', 'STATUS'],
    rows.map((r) => [
      r.product,
      r.sku,
      r.renewalDate,
      r.cancelBy,
      r.quantity ?? 'unlimited',
      r.recommendedQuantity,
      money(r.annualCost, r.currency),
      r.status,
    ]),
  );
}

function contract(
  rows: { licenseId: number; sku: string; changed: Record<string, unknown>; status: string }[],
): string {
  return rows
    .map(
      (r) =>
        `License ${r.licenseId} (${r.sku}): set ${Object.entries(r.changed)
          .map(([k, v]) => `${k} = ${v}`)
          .join(', ')}. Status now: ${r.status}.\n`,
    )
    .join('');
}

const RENDERERS: Record<string, (rows: never[]) => string> = {
  ...ACTIONS_VIEWS,
  ...FINDINGS_VIEWS,
  ...RENEWALS_VIEWS,
  contract,
  subscribers,
  seats,
  persons,
  clearing,
  findings,
  renewals,
};

export function renderOutput(output: CommandOutput): string {
  if (output.rows.length === 0) return `${output.empty}\n`;
  const render = RENDERERS[output.view];
  return render ? render(output.rows as never[]) : `${JSON.stringify(output.rows, null, 2)}\n`;
}
