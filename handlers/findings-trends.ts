/** Trends: utilization per license over time, from the counts each import records (`license_snapshots`). */
import type { Listing, Page } from './inventory-queries.ts';
import { likePattern } from './inventory-queries.ts';
import { type HandlerContext, ok, type Result } from './types.ts';

export interface TrendRow {
  licenseId: number;
  sku: string;
  product: string;
  vendor: string;
  /** The day (UTC), `YYYY-MM-DD`; the day's last import counts. */
  date: string;
  takenAt: string;
  /** Purchased usage rights then; null when unlimited. */
  purchased: number | null;
  consumed: number;
  /** Accounts active in the 30 days before; null when the vendor reports no usage. */
  active: number | null;
  /** consumed / purchased (0–1, above 1 on overage); null when unlimited or nothing purchased. */
  utilization: number | null;
  /** active / consumed; null without a usage signal or without consumed seats. */
  activeRate: number | null;
}

/** One row per license and day over the last `days` days, oldest first within each license. */
export async function utilizationTrends(
  ctx: HandlerContext,
  args: { app?: string; days: number } & Page,
): Promise<Result<Listing<TrendRow>>> {
  const app = args.app?.trim() || null;
  const result = await ctx.store.pool.query(
    `SELECT t.*, count(*) OVER ()::int AS total FROM (
       SELECT DISTINCT ON (sn.license_id, day) sn.license_id, l.sku, COALESCE(pr.name, l.name) AS product, l.vendor,
         to_char(sn.taken_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, sn.taken_at, sn.purchased, sn.consumed,
         sn.active,
         CASE WHEN sn.purchased > 0 THEN round(sn.consumed::numeric / sn.purchased, 4) END AS utilization,
         CASE WHEN sn.consumed > 0 AND sn.active IS NOT NULL THEN round(sn.active::numeric / sn.consumed, 4) END
           AS active_rate
       FROM license_snapshots sn
       JOIN licenses l ON l.id = sn.license_id
       LEFT JOIN products pr ON pr.id = l.product_id
       WHERE sn.taken_at <= $1 AND sn.taken_at > $1::timestamptz - make_interval(days => $2::int)
         AND ($3::text IS NULL OR lower(l.sku) = lower($3) OR l.name ILIKE $4 OR pr.name ILIKE $4
              OR l.vendor ILIKE $4)
       ORDER BY sn.license_id, day, sn.taken_at DESC
     ) t
     ORDER BY t.product, t.license_id, t.day
     LIMIT $5 OFFSET $6`,
    [ctx.now(), args.days, app, app ? likePattern(app) : null, args.limit, args.offset],
  );
  const num = (v: string | null) => (v === null ? null : Number(v));
  return ok({
    total: result.rows[0]?.total ?? 0,
    rows: result.rows.map(
      (r): TrendRow => ({
        licenseId: r.license_id,
        sku: r.sku,
        product: r.product,
        vendor: r.vendor,
        date: r.day,
        takenAt: r.taken_at.toISOString(),
        purchased: r.purchased,
        consumed: r.consumed,
        active: r.active,
        utilization: num(r.utilization),
        activeRate: num(r.active_rate),
      }),
    ),
  });
}
