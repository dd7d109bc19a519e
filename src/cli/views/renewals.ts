/**
 * Terminal renderers for the renewals commands' views (view name → rows → text). The `renewals` and `contract`
 * views are rendered by src/cli/render.ts.
 */
import type { BudgetRow } from '../../../handlers/budgets.ts';
import type { DecisionResult } from '../../../handlers/renewals.ts';
import type { ScanAlert } from '../../renewals/scan.ts';
// A cycle (render.ts imports this file), harmless: `table` is only called once both modules have loaded.
import { table } from '../render.ts';

const money = (amount: number | null, currency: string | null) =>
  amount === null
    ? 'unknown'
    : `${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency ?? ''}`.trim();

function budgets(rows: BudgetRow[]): string {
  const main = table(
    ['YEAR', 'COST CENTER', 'PRODUCT', 'BUDGET', 'COMMITTED', 'REMAINING', 'TERMS', 'NOT COUNTED'],
    rows.map((b) => [
      b.year,
      b.costCenter,
      b.product ?? '(all)',
      money(b.amount, b.currency),
      money(b.committed, b.currency),
      money(b.remaining, b.currency),
      b.counted,
      b.notCounted.length,
    ]),
  );
  // Terms in another currency are named, so nobody mistakes them for zero.
  const notes = rows.flatMap((b) =>
    b.notCounted.map(
      (n) =>
        `  not counted in ${b.costCenter} ${b.year}: ${n.product} (${n.sku}) — ${n.reason}` +
        (n.annualCost !== null ? `, ${money(n.annualCost, n.currency)}/year` : ''),
    ),
  );
  return notes.length > 0 ? `${main}\n${notes.join('\n')}\n` : main;
}

function decision(rows: DecisionResult[]): string {
  return rows
    .map((d) => {
      const lines = [d.message];
      if (d.state === 'pending-finance')
        lines.push(`  finance approves with: renewal confirm --id ${d.decisionId}`);
      else lines.push(`  decision ${d.decisionId} (${d.decision}, ${d.state})`);
      return `${lines.join('\n')}\n`;
    })
    .join('');
}

function scan(rows: ScanAlert[]): string {
  return table(
    ['SKU', 'RENEWS', 'CANCEL BY', 'ALERT', 'KIND'],
    rows.map((a) => [
      a.sku,
      a.renewalDate,
      a.cancelBy,
      a.thresholdDays === 0 ? 'cancel-by missed' : `${a.thresholdDays} days before cancel-by`,
      a.kind,
    ]),
  );
}

export const RENEWALS_VIEWS: Record<string, (rows: never[]) => string> = {
  budgets,
  'renewal-decision': decision,
  'renewal-scan': scan,
};
