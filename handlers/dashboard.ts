/**
 * The dashboard's questions, for every surface that shows them (the web dashboard, Slack's App Home): utilization
 * per app with its trend, open findings with savings, renewals, clearing, import health, savings — and the inventory
 * as the seed lays it out ("Purchased Licenses / SaaS", "Subscribers", "Clearing Required"), sorted, filtered and
 * paged in SQL. Every aggregate reads licenses, snapshots, findings or import runs; none reads every subscriber, so
 * the page stays fast at a million accounts. The lists read one bounded page, in index order where one fits.
 */
import { configuredConnectors } from '../src/config/config.ts';
import { EFFECTIVE_STATUS, FINDING_TALLY } from '../src/findings/recompute.ts';
import { authorize } from './authorize.ts';
import type { ExportRow, ExportStream } from './export.ts';
import { likePattern } from './inventory-queries.ts';
import { listRenewals, type RenewalRow } from './renewals.ts';
import { type SavingsRow, savingsReport } from './savings.ts';
import { fail, type HandlerContext, ok, type Result } from './types.ts';

/** Largest page a list answers with. */
export const MAX_PAGE_SIZE = 200;
/** Deepest row a list pages to; beyond it, filter instead (an offset that deep would scan too much). */
export const MAX_OFFSET = 10_000;
/** A filtered count stops here and says "more than". */
export const COUNT_CAP = 100_000;

const iso = (v: Date | null | undefined) => (v ? v.toISOString() : null);
const num = (v: string | number | null | undefined) => (v === null || v === undefined ? null : Number(v));

/** The dashboard is for those who may read the whole inventory (helpdesk and up); it changes nothing. */
async function canRead(ctx: HandlerContext, what: string): Promise<Result<true>> {
  return authorize(ctx, 'helpdesk', what);
}

// ─── summary ──────────────────────────────────────────────────────────────────────────────────────────────────

export interface AppUtilization {
  app: string;
  vendor: string;
  licenses: number;
  /** Purchased usage rights; null when any license of the app is unlimited. */
  purchased: number | null;
  consumed: number;
  /** Accounts active recently (at the last import); null when the vendor reports no usage. */
  active: number | null;
  /** consumed ÷ purchased; null when unlimited or nothing purchased. */
  utilization: number | null;
  /** purchased − consumed, never below 0; null when unlimited. */
  unused: number | null;
  /** consumed − purchased when above 0 (overage). */
  overage: number;
  openFindings: number;
}

export interface FindingKindSummary {
  kind: string;
  open: number;
  seats: number;
  /** Annualized savings per currency; findings without a price are counted in `unpriced`. */
  savings: { currency: string; amount: number }[];
  unpriced: number;
}

export interface ImportHealth {
  source: string;
  configured: boolean;
  /** `succeeded`, `failed`, `running`, or `never` when the source has not imported yet. */
  lastOutcome: string;
  lastStartedAt: string | null;
  lastFinishedAt: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  /** Failed runs since the last success. */
  failuresSinceSuccess: number;
  counts: Record<string, number>;
  licenses: number;
}

export interface DashboardSummary {
  generatedAt: string;
  totals: {
    licenses: number;
    /** Purchased usage rights of licenses with a limit. */
    purchased: number;
    consumed: number;
    /** Consumed seats of licenses with a limit: what `purchased` is compared with. */
    consumedLimited: number;
    /** Active accounts, over licenses whose vendor reports usage. */
    active: number;
    unlimitedLicenses: number;
    subscribers: number;
    clearing: number;
    openFindings: number;
  };
  apps: AppUtilization[];
  findings: FindingKindSummary[];
  savings: SavingsRow[];
  renewals: RenewalRow[];
  imports: ImportHealth[];
}

/** Everything the dashboard's first screen shows, in one call. */
export async function dashboardSummary(
  ctx: HandlerContext,
  args: { renewalDays?: number } = {},
): Promise<Result<DashboardSummary>> {
  const allowed = await canRead(ctx, 'dashboard');
  if (!allowed.ok) return allowed;
  const renewalDays = args.renewalDays ?? 365;
  if (!Number.isInteger(renewalDays) || renewalDays < 1 || renewalDays > 730) {
    return fail('INVALID_ARGUMENT', 'days must be a whole number from 1 to 730.');
  }
  const now = ctx.now();
  const pool = ctx.store.pool;
  const [apps, totals, findings, imports, savings, renewals, estimate] = await Promise.all([
    pool.query(
      `WITH latest AS (
         SELECT DISTINCT ON (sn.license_id) sn.license_id, sn.active
         FROM license_snapshots sn JOIN licenses l ON l.id = sn.license_id AND l.present
         ORDER BY sn.license_id, sn.taken_at DESC
       )
       SELECT COALESCE(o.product, o.name) AS app, min(o.vendor) AS vendor, count(*)::int AS licenses,
         CASE WHEN bool_or(o.unlimited) THEN NULL ELSE sum(o.purchased)::int END AS purchased,
         sum(o.consumed_units)::int AS consumed,
         CASE WHEN count(lt.active) = 0 THEN NULL ELSE sum(lt.active)::int END AS active,
         array_agg(o.id) AS license_ids
       FROM license_overview o
       LEFT JOIN latest lt ON lt.license_id = o.id
       WHERE o.present
       GROUP BY 1
       ORDER BY 1`,
    ),
    pool.query(
      `SELECT
         (SELECT count(*)::int FROM licenses WHERE present) AS licenses,
         (SELECT COALESCE(sum(enabled_units + warning_units), 0)::int FROM licenses WHERE present AND NOT unlimited)
           AS purchased,
         (SELECT COALESCE(sum(consumed_units), 0)::int FROM licenses WHERE present) AS consumed,
         (SELECT COALESCE(sum(consumed_units), 0)::int FROM licenses WHERE present AND NOT unlimited)
           AS consumed_limited,
         (SELECT count(*)::int FROM licenses WHERE present AND unlimited) AS unlimited,
         (SELECT count(*)::int FROM cloud_subscribers s WHERE s.person_id IS NULL AND s.is_active
            AND s.account_kind = 'person') AS clearing,
         (SELECT COALESCE(sum(active), 0)::int FROM (
            SELECT DISTINCT ON (sn.license_id) sn.active FROM license_snapshots sn
            JOIN licenses l ON l.id = sn.license_id AND l.present
            ORDER BY sn.license_id, sn.taken_at DESC) x) AS active`,
    ),
    pool.query(
      // The findings' running tallies answer both questions: per kind and currency (the findings tiles) and per
      // license (each app's open findings, added up below).
      `SELECT GROUPING(t.license_id) = 0 AS per_license, t.license_id, t.kind, t.currency,
         sum(t.findings)::int AS open, sum(t.seats)::int AS seats,
         sum(t.savings) AS savings,
         sum(t.unpriced)::int AS unpriced
       FROM ${FINDING_TALLY('$1')} t
       WHERE t.status = 'open'
       GROUP BY GROUPING SETS ((t.kind, t.currency), (t.license_id))
       ORDER BY per_license, t.kind, t.currency NULLS LAST`,
      [now],
    ),
    pool.query(
      `WITH sources AS (SELECT DISTINCT source FROM import_runs)
       SELECT s.source, last.outcome, last.started_at, last.finished_at, last.error, last.counts,
         ok.finished_at AS last_success,
         (SELECT count(*)::int FROM import_runs r WHERE r.source = s.source AND r.outcome = 'failed'
            AND r.started_at > COALESCE(ok.started_at, '-infinity')) AS failures,
         (SELECT count(*)::int FROM licenses l WHERE l.source = s.source AND l.present) AS licenses
       FROM sources s
       CROSS JOIN LATERAL (SELECT * FROM import_runs r WHERE r.source = s.source
                           ORDER BY r.started_at DESC, r.id DESC LIMIT 1) last
       LEFT JOIN LATERAL (SELECT * FROM import_runs r WHERE r.source = s.source AND r.outcome = 'succeeded'
                          ORDER BY r.started_at DESC, r.id DESC LIMIT 1) ok ON true
       ORDER BY s.source`,
    ),
    savingsReport(ctx, { byKind: false }),
    listRenewals(ctx, { days: renewalDays, limit: 100, offset: 0 }),
    // The exact number of subscribers is a count over the largest table; the planner's estimate is instant and a
    // dashboard tile needs no more. Small tables (estimate 0 before the first ANALYZE) are counted exactly below.
    pool.query<{ n: number }>(
      `SELECT GREATEST(reltuples, 0)::bigint::int AS n FROM pg_class WHERE oid = 'cloud_subscribers'::regclass`,
    ),
  ]);
  let subscribers = estimate.rows[0]?.n ?? 0;
  if (subscribers < COUNT_CAP) {
    subscribers = (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM cloud_subscribers`))
      .rows[0]?.n as number;
  }

  const kinds = new Map<string, FindingKindSummary>();
  const openByLicense = new Map<string, number>();
  let openFindings = 0;
  for (const r of findings.rows) {
    if (r.per_license) {
      if (r.license_id !== null) openByLicense.set(String(r.license_id), r.open);
      continue;
    }
    openFindings += r.open;
    const k: FindingKindSummary = kinds.get(r.kind) ?? {
      kind: r.kind,
      open: 0,
      seats: 0,
      savings: [],
      unpriced: 0,
    };
    k.open += r.open;
    k.seats += r.seats;
    k.unpriced += r.unpriced;
    if (r.currency && r.savings !== null) k.savings.push({ currency: r.currency, amount: Number(r.savings) });
    kinds.set(r.kind, k);
  }
  const configured = new Set<string>(configuredConnectors(ctx.config));
  const seen = new Set<string>();
  const health: ImportHealth[] = imports.rows.map((r) => {
    seen.add(r.source);
    return {
      source: r.source,
      configured: configured.has(r.source),
      lastOutcome: r.outcome,
      lastStartedAt: iso(r.started_at),
      lastFinishedAt: iso(r.finished_at),
      lastSuccessAt: iso(r.last_success),
      lastError: r.error,
      failuresSinceSuccess: r.failures,
      counts: r.counts ?? {},
      licenses: r.licenses,
    };
  });
  for (const source of configured) {
    if (seen.has(source)) continue;
    health.push({
      source,
      configured: true,
      lastOutcome: 'never',
      lastStartedAt: null,
      lastFinishedAt: null,
      lastSuccessAt: null,
      lastError: null,
      failuresSinceSuccess: 0,
      counts: {},
      licenses: 0,
    });
  }

  if (!savings.ok) return savings;
  if (!renewals.ok) return renewals;

  const t = totals.rows[0];
  return ok({
    generatedAt: now.toISOString(),
    totals: {
      licenses: t.licenses,
      purchased: t.purchased,
      consumed: t.consumed,
      consumedLimited: t.consumed_limited,
      active: t.active,
      unlimitedLicenses: t.unlimited,
      subscribers,
      clearing: t.clearing,
      openFindings,
    },
    apps: apps.rows.map((r): AppUtilization => {
      const purchased = r.purchased as number | null;
      return {
        app: r.app,
        vendor: r.vendor,
        licenses: r.licenses,
        purchased,
        consumed: r.consumed,
        active: r.active,
        utilization: purchased ? Math.round((r.consumed / purchased) * 10_000) / 10_000 : null,
        unused: purchased === null ? null : Math.max(purchased - r.consumed, 0),
        overage: purchased === null ? 0 : Math.max(r.consumed - purchased, 0),
        openFindings: (r.license_ids as (string | number)[]).reduce<number>(
          (sum, id) => sum + (openByLicense.get(String(id)) ?? 0),
          0,
        ),
      };
    }),
    findings: [...kinds.values()],
    savings: savings.value.filter((s) => s.by !== 'kind'),
    renewals: renewals.value.rows,
    imports: health,
  });
}

// ─── trend ────────────────────────────────────────────────────────────────────────────────────────────────────

export interface TrendPoint {
  /** `YYYY-MM-DD` (UTC); each license counts with its last snapshot of the day. */
  date: string;
  purchased: number;
  consumed: number;
  /** Null when no license of the selection reports usage that day. */
  active: number | null;
}

/**
 * Purchased, consumed and active seats per day over the last `days` days, from the snapshot each import takes;
 * all apps, or one (product name, plan name or SKU). A license carries its last known counts to the days after,
 * so a source importing less often does not make the totals saw-tooth.
 */
export async function utilizationTrend(
  ctx: HandlerContext,
  args: { app?: string; days?: number },
): Promise<Result<TrendPoint[]>> {
  const allowed = await canRead(ctx, 'dashboard');
  if (!allowed.ok) return allowed;
  const days = args.days ?? 90;
  if (!Number.isInteger(days) || days < 1 || days > 730) {
    return fail('INVALID_ARGUMENT', 'days must be a whole number from 1 to 730.');
  }
  const app = args.app?.trim() || null;
  const result = await ctx.store.pool.query(
    `WITH sel AS (
       SELECT l.id FROM licenses l LEFT JOIN products pr ON pr.id = l.product_id
       WHERE $3::text IS NULL OR lower(l.sku) = lower($3) OR COALESCE(pr.name, l.name) = $3
     ),
     daily AS (
       SELECT DISTINCT ON (sn.license_id, day) sn.license_id,
         (sn.taken_at AT TIME ZONE 'UTC')::date AS day, sn.purchased, sn.consumed, sn.active
       FROM license_snapshots sn
       WHERE sn.license_id IN (SELECT id FROM sel)
         AND sn.taken_at <= $1 AND sn.taken_at > $1::timestamptz - make_interval(days => $2::int)
       ORDER BY sn.license_id, day, sn.taken_at DESC
     ),
     days AS (SELECT DISTINCT day FROM daily),
     carried AS (
       SELECT d.day, x.purchased, x.consumed, x.active
       FROM days d
       CROSS JOIN LATERAL (
         SELECT DISTINCT ON (dl.license_id) dl.purchased, dl.consumed, dl.active
         FROM daily dl WHERE dl.day <= d.day ORDER BY dl.license_id, dl.day DESC
       ) x
     )
     SELECT to_char(day, 'YYYY-MM-DD') AS date, COALESCE(sum(purchased), 0)::int AS purchased,
       sum(consumed)::int AS consumed, sum(active)::int AS active
     FROM carried GROUP BY day ORDER BY day`,
    [ctx.now(), days, app],
  );
  return ok(
    result.rows.map((r) => ({
      date: r.date,
      purchased: r.purchased,
      consumed: r.consumed,
      active: r.active,
    })),
  );
}

// ─── open findings ────────────────────────────────────────────────────────────────────────────────────────────

export interface DashboardFinding {
  id: number;
  kind: string;
  severity: string;
  app: string | null;
  sku: string | null;
  account: string | null;
  person: string | null;
  seats: number;
  savings: number | null;
  currency: string | null;
  firstSeenAt: string;
}

export interface Page<T> {
  rows: T[];
  /** Rows matching the filter; at most {@link COUNT_CAP} (then `totalCapped`). */
  total: number;
  totalCapped: boolean;
  limit: number;
  offset: number;
}

function checkPage(
  limit: number | undefined,
  offset: number | undefined,
): Result<{ limit: number; offset: number }> {
  const l = limit ?? 50;
  const o = offset ?? 0;
  if (!Number.isInteger(l) || l < 1 || l > MAX_PAGE_SIZE) {
    return fail('INVALID_ARGUMENT', `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}.`);
  }
  if (!Number.isInteger(o) || o < 0 || o > MAX_OFFSET) {
    return fail(
      'INVALID_ARGUMENT',
      `offset must be a whole number from 0 to ${MAX_OFFSET}; filter to see more.`,
    );
  }
  return ok({ limit: l, offset: o });
}

/** Open findings, biggest savings first, filtered by kind and app. */
export async function openFindings(
  ctx: HandlerContext,
  args: { kind?: string; app?: string; limit?: number; offset?: number },
): Promise<Result<Page<DashboardFinding>>> {
  const allowed = await canRead(ctx, 'dashboard');
  if (!allowed.ok) return allowed;
  const page = checkPage(args.limit, args.offset);
  if (!page.ok) return page;
  const kind = args.kind?.trim() || null;
  const app = args.app?.trim() || null;
  const where = `${EFFECTIVE_STATUS('$1')} = 'open' AND ($2::text IS NULL OR f.kind = $2)
       AND ($3::text IS NULL OR lower(l.sku) = lower($3) OR COALESCE(pr.name, l.name, f.evidence->>'app') = $3)`;
  const from = `FROM findings f
       LEFT JOIN licenses l ON l.id = f.license_id
       LEFT JOIN products pr ON pr.id = l.product_id`;
  const [rows, count] = await Promise.all([
    ctx.store.pool.query(
      `SELECT f.id, f.kind, f.severity, COALESCE(pr.name, l.name, f.evidence->>'app') AS app, l.sku,
         COALESCE(s.email, s.login) AS account, p.primary_email AS person, f.seats, f.savings, f.currency,
         f.first_seen_at
       ${from}
       LEFT JOIN cloud_subscribers s ON s.id = f.subscriber_id
       LEFT JOIN persons p ON p.id = f.person_id
       WHERE ${where}
       ORDER BY f.savings DESC NULLS LAST, f.id
       LIMIT $4 OFFSET $5`,
      [ctx.now(), kind, app, page.value.limit, page.value.offset],
    ),
    ctx.store.pool.query(`SELECT count(*)::int AS n FROM (SELECT 1 ${from} WHERE ${where} LIMIT $4) x`, [
      ctx.now(),
      kind,
      app,
      COUNT_CAP + 1,
    ]),
  ]);
  const total = count.rows[0].n as number;
  return ok({
    rows: rows.rows.map((r) => ({
      id: Number(r.id),
      kind: r.kind,
      severity: r.severity,
      app: r.app,
      sku: r.sku,
      account: r.account,
      person: r.person,
      seats: r.seats,
      savings: num(r.savings),
      currency: r.currency,
      firstSeenAt: iso(r.first_seen_at) as string,
    })),
    total: Math.min(total, COUNT_CAP),
    totalCapped: total > COUNT_CAP,
    ...page.value,
  });
}

// ─── inventory: Purchased Licenses / SaaS, Subscribers, Clearing Required ────────────────────────────────────

export const INVENTORY_TABLES = ['licenses', 'subscribers', 'clearing'] as const;
export type InventoryTable = (typeof INVENTORY_TABLES)[number];

export interface InventoryColumn {
  key: string;
  /** The seed's column name. */
  label: string;
  sortable: boolean;
  /** How a surface shows it. */
  type: 'text' | 'number' | 'boolean' | 'datetime';
}

interface ColumnSql extends InventoryColumn {
  /** The select expression. */
  sql: string;
  /** The ORDER BY expression, when sortable. */
  order?: string;
}

const col = (
  key: string,
  label: string,
  sql: string,
  type: InventoryColumn['type'],
  order?: string,
): ColumnSql => ({ key, label, sql, type, sortable: order !== undefined, order });

/** The seed's "Purchased Licenses / SaaS" columns, in its order. */
const LICENSE_COLUMNS: readonly ColumnSql[] = [
  col('objectId', 'Object ID', 'o.id', 'number', 'o.id'),
  col('type', 'Type', 'o.type', 'text', 'o.type'),
  col(
    'softwareProduct',
    'Software Product',
    'COALESCE(o.product, o.name)',
    'text',
    'COALESCE(o.product, o.name)',
  ),
  col('licenseModel', 'License Model', 'o.license_model', 'text', 'o.license_model'),
  col('status', 'Status', 'o.status', 'text', 'o.status'),
  col('purchasedUsageRights', 'Purchased Usage Rights', 'o.purchased', 'number', 'o.purchased'),
  col('unlimitedUse', 'Unlimited Use', 'o.unlimited', 'boolean', 'o.unlimited'),
  col('sku', 'Publisher Part Number (SKU)', 'o.sku', 'text', 'lower(o.sku)'),
  col('capabilityStatus', 'Capability Status', 'o.capability_status', 'text', 'o.capability_status'),
  col('lastImportDate', 'Last Import Date', 'o.last_import_at', 'datetime', 'o.last_import_at'),
  col('consumedUnits', 'Consumed Units', 'o.consumed_units', 'number', 'o.consumed_units'),
  col('prepaidEnabledUnits', 'Prepaid Enabled Units', 'o.enabled_units', 'number', 'o.enabled_units'),
  col('prepaidSuspendedUnits', 'Prepaid Suspended Units', 'o.suspended_units', 'number', 'o.suspended_units'),
  col('prepaidWarningUnits', 'Prepaid Warning Units', 'o.warning_units', 'number', 'o.warning_units'),
  col('vendor', 'Vendor', 'o.vendor', 'text', 'o.vendor'),
];

/** The seed's "Subscribers" columns, in its order. */
const SUBSCRIBER_COLUMNS: readonly ColumnSql[] = [
  col('email', 'E-mail', 'COALESCE(s.email, s.login)', 'text', 'lower(s.email)'),
  col('subscriber', 'Subscriber', 'p.primary_email', 'text'),
  // Only columns an index orders are sortable: sorting a million rows by anything else takes seconds.
  col('isActive', 'Is Active', 's.is_active', 'boolean'),
  col('lastImportDate', 'Last Import Date', 'l.last_import_at', 'datetime'),
  col('licenseId', 'License ID', 'l.id', 'number', 's.license_id'),
  col('softwareProduct', 'Software Product', 'COALESCE(o.product, l.name)', 'text'),
  col('licenseModel', 'License Model', 'l.license_model', 'text'),
  col('status', 'Status', 'o.status', 'text'),
  col('sku', 'Publisher Part Number (SKU)', 'l.sku', 'text'),
];

/** "Clearing Required": active person accounts no person matches, with what helps to clear them. */
const CLEARING_COLUMNS: readonly ColumnSql[] = [
  col('email', 'E-mail', 's.email', 'text', 'lower(s.email)'),
  col('login', 'Login', 's.login', 'text'),
  col('vendorAccountId', 'Vendor Account ID', 's.vendor_account_id', 'text'),
  col('licenseId', 'License ID', 'l.id', 'number', 's.license_id'),
  col('softwareProduct', 'Software Product', 'COALESCE(o.product, l.name)', 'text'),
  col('sku', 'Publisher Part Number (SKU)', 'l.sku', 'text'),
  col('firstImportDate', 'First Import Date', 's.first_import_at', 'datetime', 's.first_import_at'),
  col('lastImportDate', 'Last Import Date', 'l.last_import_at', 'datetime', 'l.last_import_at'),
];

const TABLE_COLUMNS: Record<InventoryTable, readonly ColumnSql[]> = {
  licenses: LICENSE_COLUMNS,
  subscribers: SUBSCRIBER_COLUMNS,
  clearing: CLEARING_COLUMNS,
};

/** The columns of an inventory table, for headers and sort controls. */
export function inventoryColumns(table: InventoryTable): InventoryColumn[] {
  return TABLE_COLUMNS[table].map(({ key, label, sortable, type }) => ({ key, label, sortable, type }));
}

export interface InventoryFilter {
  /**
   * Text anywhere in the product, plan name or SKU (licenses) or in the e-mail/login (subscribers, clearing); a
   * whole e-mail address finds exactly that address.
   */
  q?: string;
  /** One license (subscribers, clearing). */
  licenseId?: number;
  /** Product name, plan name or SKU, exactly (case-insensitive). */
  app?: string;
  /** License status (`invalid`, `used`, `unused`). */
  status?: string;
  vendor?: string;
  /** Subscribers: `yes` or `no`. */
  active?: string;
  /** Subscribers: `yes` (matched to a person) or `no`. */
  matched?: string;
}

export interface InventoryQuery extends InventoryFilter {
  sort?: string;
  dir?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
}

export type InventoryRow = Record<string, string | number | boolean | null>;

export interface InventoryPage extends Page<InventoryRow> {
  table: InventoryTable;
  columns: InventoryColumn[];
  sort: string;
  dir: 'asc' | 'desc';
}

interface BuiltQuery {
  from: string;
  where: string;
  params: unknown[];
  /** Row identity, for stable order and keyset export. */
  id: string;
}

function yesNo(value: string | undefined, name: string): Result<boolean | null> {
  if (value === undefined || value === '') return ok(null);
  const v = value.toLowerCase();
  if (v === 'yes' || v === 'true') return ok(true);
  if (v === 'no' || v === 'false') return ok(false);
  return fail('INVALID_ARGUMENT', `${name} must be yes or no, not '${value}'.`);
}

function buildQuery(table: InventoryTable, filter: InventoryFilter): Result<BuiltQuery> {
  const params: unknown[] = [];
  const where: string[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const q = filter.q?.trim();
  if (q && q.length > 200)
    return fail('INVALID_ARGUMENT', 'The search text is too long (200 characters at most).');
  const app = filter.app?.trim();
  if (table === 'licenses') {
    if (q) {
      const like = p(likePattern(q));
      where.push(
        `(o.name ILIKE ${like} OR o.product ILIKE ${like} OR o.sku ILIKE ${like} OR o.vendor ILIKE ${like})`,
      );
    }
    if (app) {
      const a = p(app);
      where.push(`(lower(o.sku) = lower(${a}) OR lower(COALESCE(o.product, o.name)) = lower(${a}))`);
    }
    if (filter.status) where.push(`o.status = ${p(filter.status)}`);
    if (filter.vendor) where.push(`lower(o.vendor) = lower(${p(filter.vendor)})`);
    return ok({ from: 'FROM license_overview o', where: where.join(' AND ') || 'true', params, id: 'o.id' });
  }
  // Subscribers and clearing: the license conditions pick license ids first (few rows), so the subscriber scan
  // uses the (license_id, …) index instead of joining a million rows to licenses before filtering.
  const licenseWhere: string[] = [];
  if (app) {
    const a = p(app);
    licenseWhere.push(`(lower(l2.sku) = lower(${a}) OR lower(COALESCE(pr2.name, l2.name)) = lower(${a}))`);
  }
  if (filter.vendor) licenseWhere.push(`lower(l2.vendor) = lower(${p(filter.vendor)})`);
  if (filter.status) {
    licenseWhere.push(
      `EXISTS (SELECT 1 FROM license_overview o2 WHERE o2.id = l2.id AND o2.status = ${p(filter.status)})`,
    );
  }
  if (licenseWhere.length > 0) {
    where.push(`s.license_id IN (SELECT l2.id FROM licenses l2 LEFT JOIN products pr2 ON pr2.id = l2.product_id
      WHERE ${licenseWhere.join(' AND ')})`);
  }
  if (filter.licenseId !== undefined) {
    if (!Number.isSafeInteger(filter.licenseId))
      return fail('INVALID_ARGUMENT', 'licenseId must be a number.');
    where.push(`s.license_id = ${p(filter.licenseId)}`);
  }
  if (q && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(q)) {
    // A whole address is looked up in the e-mail index; part of one needs a scan.
    where.push(`lower(s.email) = lower(${p(q)})`);
  } else if (q) {
    const like = p(likePattern(q));
    where.push(`(s.email ILIKE ${like} OR s.login ILIKE ${like})`);
  }
  if (table === 'clearing') {
    where.push(`s.person_id IS NULL AND s.is_active AND s.account_kind = 'person'`);
  } else {
    const active = yesNo(filter.active, 'active');
    if (!active.ok) return active;
    if (active.value !== null) where.push(`s.is_active = ${p(active.value)}`);
    const matched = yesNo(filter.matched, 'matched');
    if (!matched.ok) return matched;
    if (matched.value !== null) where.push(matched.value ? 's.person_id IS NOT NULL' : 's.person_id IS NULL');
  }
  return ok({
    from: `FROM cloud_subscribers s
      JOIN licenses l ON l.id = s.license_id
      JOIN license_overview o ON o.id = l.id
      LEFT JOIN persons p ON p.id = s.person_id`,
    where: where.join(' AND ') || 'true',
    params,
    id: 's.id',
  });
}

/** Only the tables the count needs: the subscriber filters never touch persons or the overview's columns. */
const COUNT_FROM: Record<InventoryTable, string> = {
  licenses: 'FROM license_overview o',
  subscribers: 'FROM cloud_subscribers s',
  clearing: 'FROM cloud_subscribers s',
};

function toRow(columns: readonly ColumnSql[], r: Record<string, unknown>): InventoryRow {
  const row: InventoryRow = {};
  for (const c of columns) {
    const v = r[c.key];
    row[c.key] = v instanceof Date ? v.toISOString() : (v as InventoryRow[string]);
  }
  return row;
}

/** One page of an inventory table, sorted by a column (then by id, so pages never overlap) and filtered. */
export async function inventoryPage(
  ctx: HandlerContext,
  table: string,
  query: InventoryQuery,
): Promise<Result<InventoryPage>> {
  if (!(INVENTORY_TABLES as readonly string[]).includes(table)) {
    return fail(
      'INVALID_ARGUMENT',
      `Unknown table '${table}'; choose one of ${INVENTORY_TABLES.join(', ')}.`,
    );
  }
  const name = table as InventoryTable;
  const allowed = await canRead(ctx, 'dashboard');
  if (!allowed.ok) return allowed;
  const page = checkPage(query.limit, query.offset);
  if (!page.ok) return page;
  const columns = TABLE_COLUMNS[name];
  const sortKey = query.sort ?? columns.find((c) => c.sortable)?.key ?? '';
  const sortColumn = columns.find((c) => c.key === sortKey);
  if (!sortColumn?.order) {
    const sortable = columns.filter((c) => c.sortable).map((c) => c.key);
    return fail('INVALID_ARGUMENT', `Cannot sort by '${sortKey}'; sortable columns: ${sortable.join(', ')}.`);
  }
  const dir = query.dir ?? 'asc';
  if (dir !== 'asc' && dir !== 'desc')
    return fail('INVALID_ARGUMENT', `dir must be asc or desc, not '${dir}'.`);
  const built = buildQuery(name, query);
  if (!built.ok) return built;
  const { from, where, params, id } = built.value;
  const n = params.length;
  const select = columns.map((c) => `${c.sql} AS "${c.key}"`).join(', ');
  const nulls = dir === 'asc' ? 'NULLS LAST' : 'NULLS FIRST';
  const [rows, count] = await Promise.all([
    ctx.store.pool.query(
      `SELECT ${select} ${from} WHERE ${where}
       ORDER BY ${sortColumn.order} ${dir} ${nulls}, ${id} ${dir}
       LIMIT $${n + 1} OFFSET $${n + 2}`,
      [...params, page.value.limit, page.value.offset],
    ),
    ctx.store.pool.query(
      `SELECT count(*)::int AS n FROM (SELECT 1 ${COUNT_FROM[name]} WHERE ${where} LIMIT $${n + 1}) x`,
      [...params, COUNT_CAP + 1],
    ),
  ]);
  const total = count.rows[0].n as number;
  return ok({
    table: name,
    columns: inventoryColumns(name),
    sort: sortColumn.key,
    dir,
    rows: rows.rows.map((r) => toRow(columns, r)),
    total: Math.min(total, COUNT_CAP),
    totalCapped: total > COUNT_CAP,
    ...page.value,
  });
}

/**
 * An inventory table as filtered on screen, every row (not one page), in id order a batch at a time: a million rows
 * hold one batch in memory. Headers are the seed's column names.
 */
export async function inventoryExport(
  ctx: HandlerContext,
  table: string,
  filter: InventoryFilter,
  batchSize = 5000,
): Promise<Result<ExportStream>> {
  if (!(INVENTORY_TABLES as readonly string[]).includes(table)) {
    return fail(
      'INVALID_ARGUMENT',
      `Unknown table '${table}'; choose one of ${INVENTORY_TABLES.join(', ')}.`,
    );
  }
  const name = table as InventoryTable;
  const allowed = await canRead(ctx, 'dashboard export');
  if (!allowed.ok) return allowed;
  const built = buildQuery(name, filter);
  if (!built.ok) return built;
  const { from, where, params, id } = built.value;
  const columns = TABLE_COLUMNS[name];
  const n = params.length;
  const sql = `SELECT ${id} AS "__id", ${columns.map((c) => `${c.sql} AS "${c.key}"`).join(', ')}
    ${from} WHERE ${where} AND ${id} > $${n + 1} ORDER BY ${id} LIMIT $${n + 2}`;
  async function* batches(): AsyncIterable<ExportRow[]> {
    let after = 0;
    for (;;) {
      const result = await ctx.store.pool.query(sql, [...params, after, batchSize]);
      if (result.rows.length === 0) return;
      after = Number(result.rows[result.rows.length - 1].__id);
      yield result.rows.map((r) => toRow(columns, r));
      if (result.rows.length < batchSize) return;
    }
  }
  return ok({ columns: columns.map((c) => c.label), batches: relabel(columns, batches()) });
}

/** Rows keyed by the seed's column names, so a CSV header and its cells agree. */
async function* relabel(
  columns: readonly ColumnSql[],
  rows: AsyncIterable<ExportRow[]>,
): AsyncIterable<ExportRow[]> {
  for await (const batch of rows) {
    yield batch.map((row) => Object.fromEntries(columns.map((c) => [c.label, row[c.key] ?? null])));
  }
}
