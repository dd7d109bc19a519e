/**
 * Savings: potential (open findings that free a paid seat) and realized (findings resolved by reclaiming the seat),
 * by app, by kind and in total, per currency — prices in different currencies are never added up.
 */
import { EFFECTIVE_STATUS } from '../src/findings/recompute.ts';
import { likePattern } from './inventory-queries.ts';
import { fail, type HandlerContext, ok, type Result } from './types.ts';

/** Finding kinds whose savings free a paid seat (overage is a cost; grace, unmatched and shadow have no price). */
export const SAVING_KINDS = ['unassigned', 'idle', 'departed', 'duplicate'] as const;

export interface SavingsRow {
  /** `total`, `app` or `kind`. */
  by: 'total' | 'app' | 'kind';
  /** The product (catalog name, else the vendor's plan name), for `by: app`. */
  app: string | null;
  /** The finding kind, for `by: kind`. */
  kind: string | null;
  /** Null for findings whose price is unknown. */
  currency: string | null;
  /** Annualized savings of the open findings; null when their price is unknown (never 0 for unknown). */
  potential: number | null;
  openFindings: number;
  /** Open findings without a known price. */
  unpricedFindings: number;
  /** Annualized savings of findings resolved as `reclaimed` (since `since`, when given). */
  realized: number | null;
  reclaimedFindings: number;
}

/**
 * Potential and realized savings. By app and in the total a seat counts once (an idle seat that is also a
 * duplicate saves its price once); by kind it counts under each kind it has. `byKind: false` leaves the rows by
 * kind out (and the work of counting them), for a caller that shows only apps and the total.
 */
export async function savingsReport(
  ctx: HandlerContext,
  args: { app?: string; since?: string; byKind?: boolean },
): Promise<Result<SavingsRow[]>> {
  let since: Date | null = null;
  if (args.since !== undefined) {
    since = /^\d{4}-\d{2}-\d{2}$/.test(args.since) ? new Date(`${args.since}T00:00:00Z`) : null;
    if (!since || Number.isNaN(since.getTime())) {
      return fail('INVALID_ARGUMENT', `--since must be a date like 2026-01-01, not '${args.since}'.`);
    }
  }
  const app = args.app?.trim() || null;
  const result = await ctx.store.pool.query(
    `WITH sel AS (
       SELECT l.id, COALESCE(pr.name, l.name) AS app
       FROM licenses l LEFT JOIN products pr ON pr.id = l.product_id
       WHERE $3::text IS NULL OR lower(l.sku) = lower($3) OR l.name ILIKE $4 OR pr.name ILIKE $4
     ),
     -- One narrow row per finding that counts (open, or reclaimed): what the sorts below carry. The app is joined
     -- back per license after aggregating, not to each of a million findings.
     facts AS MATERIALIZED (
       SELECT f.id, f.kind, f.license_id, f.savings, f.currency, x.open,
         -- One key per seat: the seat's id, or the finding's own (negated, so it never equals a seat id) when the
         -- finding has no seat. Numbers and a boolean, not text: the DISTINCT ON below sorts them, and text sorts
         -- by collation, several times slower at a million findings.
         COALESCE(f.subscriber_id, -f.id) AS seat
       FROM findings f
       CROSS JOIN LATERAL (SELECT ${EFFECTIVE_STATUS('$1')} = 'open' AS open) x
       WHERE f.kind = ANY($2::text[]) AND f.license_id = ANY (ARRAY(SELECT id FROM sel))
         AND (x.open OR (f.status = 'resolved' AND f.resolved_how = 'reclaimed'
           AND ($5::timestamptz IS NULL OR f.resolved_at >= $5)))
     ),
     seats AS (
       SELECT DISTINCT ON (open, seat) open, license_id, currency, savings
       FROM facts ORDER BY open, seat, savings DESC NULLS LAST, id
     ),
     per_license AS (
       SELECT open, license_id, currency, sum(savings) AS savings, count(*) AS n,
         count(*) FILTER (WHERE savings IS NULL) AS unpriced
       FROM seats GROUP BY open, license_id, currency
     ),
     parts AS (
       SELECT 'app' AS by, s.app, NULL::text AS kind, p.currency, p.open, p.savings, p.n, p.unpriced
       FROM per_license p JOIN sel s ON s.id = p.license_id
       UNION ALL SELECT 'total', NULL, NULL, currency, open, savings, n, unpriced FROM per_license
       UNION ALL
       SELECT 'kind', NULL, kind, currency, open, sum(savings), count(*), count(*) FILTER (WHERE savings IS NULL)
       FROM facts WHERE $6::boolean GROUP BY kind, currency, open
     )
     SELECT by, app, kind, currency,
       CASE WHEN COALESCE(sum(n) FILTER (WHERE open), 0) = 0 THEN 0
         ELSE round(sum(savings) FILTER (WHERE open), 2) END AS potential,
       COALESCE(sum(n) FILTER (WHERE open), 0)::int AS open_findings,
       COALESCE(sum(unpriced) FILTER (WHERE open), 0)::int AS unpriced,
       CASE WHEN COALESCE(sum(n) FILTER (WHERE NOT open), 0) = 0 THEN 0
         ELSE round(sum(savings) FILTER (WHERE NOT open), 2) END AS realized,
       COALESCE(sum(n) FILTER (WHERE NOT open), 0)::int AS reclaimed
     FROM parts
     GROUP BY by, app, kind, currency
     ORDER BY CASE by WHEN 'total' THEN 0 WHEN 'app' THEN 1 ELSE 2 END,
       potential DESC NULLS LAST, app, kind, currency NULLS LAST`,
    [ctx.now(), SAVING_KINDS, app, app ? likePattern(app) : null, since, args.byKind ?? true],
  );
  const num = (v: string | null) => (v === null ? null : Number(v));
  return ok(
    result.rows.map(
      (r): SavingsRow => ({
        by: r.by,
        app: r.app,
        kind: r.kind,
        currency: r.currency,
        potential: num(r.potential),
        openFindings: r.open_findings,
        unpricedFindings: r.unpriced,
        realized: num(r.realized),
        reclaimedFindings: r.reclaimed,
      }),
    ),
  );
}
