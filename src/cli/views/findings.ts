/** Terminal renderers for the findings commands' views (view name → rows → text). */
import type { AccountKindRow, ExemptionRow } from '../../../handlers/exemptions.ts';
import type { OverlapRow } from '../../../handlers/findings-overlaps.ts';
import type { ShadowAppRow, ShadowScanRow } from '../../../handlers/findings-shadow.ts';
import type { TrendRow } from '../../../handlers/findings-trends.ts';
import type { FindingRow } from '../../../handlers/reports.ts';
import type { SavingsRow } from '../../../handlers/savings.ts';
// A cycle (render.ts imports this file), harmless: `table` is only called once both modules have loaded.
import { table } from '../render.ts';

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : null);

const money = (amount: number | null, currency: string | null) =>
  amount === null
    ? 'unknown'
    : `${amount.toLocaleString('en-US', { maximumFractionDigits: 2 })} ${currency ?? ''}`.trim();

const percent = (ratio: number | null) => (ratio === null ? null : `${Math.round(ratio * 100)}%`);

function exemptions(rows: ExemptionRow[]): string {
  return table(
    ['ID', 'SCOPE', 'WHAT', 'REASON', 'UNTIL', 'BY', 'COVERS', 'STATE'],
    rows.map((r) => [
      r.id,
      r.scope,
      r.scope === 'seat' ? `${r.account} (${r.sku})` : r.scope === 'person' ? r.person : r.product,
      r.reason,
      day(r.until) ?? 'until ended',
      r.createdBy,
      r.covers,
      r.active ? 'active' : r.endedAt ? `ended ${day(r.endedAt)} by ${r.endedBy}` : 'expired',
    ]),
  );
}

function findingStatus(rows: FindingRow[]): string {
  return rows
    .map((r) => {
      const what = `Finding ${r.id} (${r.kind}, ${r.product ?? r.sku ?? '—'}${r.email ? `, ${r.email}` : ''})`;
      const until = r.statusUntil ? ` until ${day(r.statusUntil)}` : '';
      const why = r.statusReason ? `: ${r.statusReason}` : '';
      return `${what} is ${r.status}${until}${why}.\n`;
    })
    .join('');
}

function accountKinds(rows: AccountKindRow[]): string {
  return table(
    ['ACCOUNT', 'PRODUCT', 'SKU', 'KIND', 'WAS'],
    rows.map((r) => [r.account, r.product, r.sku, r.accountKind, r.previousKind]),
  );
}

function overlaps(rows: OverlapRow[]): string {
  return table(
    ['PLAN', 'INCLUDES', 'ORIGIN', 'DUPLICATES'],
    rows.map((r) => [
      r.coveringProduct ? `${r.coveringProduct} (${r.coveringSku})` : r.coveringSku,
      r.coveredProduct ? `${r.coveredProduct} (${r.coveredSku})` : r.coveredSku,
      r.origin,
      r.duplicates,
    ]),
  );
}

function shadowApps(rows: ShadowAppRow[]): string {
  return table(
    ['APP', 'USERS', 'SOURCES', 'FIRST SEEN', 'LAST SEEN', 'STATUS'],
    rows.map((r) => [
      r.app,
      r.users,
      r.source,
      day(r.firstSeenAt),
      day(r.lastSeenAt),
      r.dismissedAt
        ? `dismissed by ${r.dismissedBy}`
        : r.findingStatus === 'open'
          ? 'shadow IT'
          : (r.findingStatus ?? 'licensed'),
    ]),
  );
}

function shadowScan(rows: ShadowScanRow[]): string {
  return rows
    .map(
      (r) =>
        `${r.source}: ${r.observations} sightings of ${r.apps} apps (${r.newApps} new, ${r.gone} no longer seen); ` +
        `${r.shadowFindings} open shadow IT findings.\n`,
    )
    .join('');
}

function trends(rows: TrendRow[]): string {
  return table(
    ['PRODUCT', 'SKU', 'DATE', 'PURCHASED', 'CONSUMED', 'ACTIVE', 'UTILIZATION', 'ACTIVE RATE'],
    rows.map((r) => [
      r.product,
      r.sku,
      r.date,
      r.purchased ?? 'unlimited',
      r.consumed,
      r.active ?? 'no usage signal',
      percent(r.utilization),
      percent(r.activeRate),
    ]),
  );
}

function savings(rows: SavingsRow[]): string {
  return table(
    ['BY', 'APP / KIND', 'POTENTIAL/YEAR', 'OPEN', 'REALIZED/YEAR', 'RECLAIMED'],
    rows.map((r) => [
      r.by,
      r.by === 'total' ? 'all' : (r.app ?? r.kind),
      r.currency === null ? `unknown (${r.unpricedFindings} unpriced)` : money(r.potential, r.currency),
      r.openFindings,
      r.currency === null && r.reclaimedFindings > 0 ? 'unknown' : money(r.realized, r.currency),
      r.reclaimedFindings,
    ]),
  );
}

export const FINDINGS_VIEWS: Record<string, (rows: never[]) => string> = {
  exemptions,
  'finding-status': findingStatus,
  'account-kinds': accountKinds,
  overlaps,
  'shadow-apps': shadowApps,
  'shadow-scan': shadowScan,
  trends,
  savings,
};
