/**
 * Savings: potential (open findings that free a paid seat) and realized (findings resolved by reclaiming the seat),
 * by app, by kind and in total, per currency — prices in different currencies are never added up.
 */
import { FINDING_TALLY } from '../src/findings/recompute.ts';
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
 * Potential and realized savings. A seat counts once: it has at most one open saving finding (a seat covered by a
 * larger plan is a duplicate, not also idle), and a reclaimed seat counts once however many of its findings the
 * reclaim resolved. `byKind: false` leaves the rows by kind out, for a caller that shows only apps and the total.
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
  // Open findings come from the running tallies; a seat has at most one open saving finding (the recomputation
  // reports a seat idle, departed or duplicate, never two of them), so adding findings adds seats. Reclaimed ones
  // are few (each was a decision) and read one by one, a seat counted once.
  const result = await ctx.store.pool.query(
    `WITH sel AS (
       SELECT l.id, COALESCE(pr.name, l.name) AS app
       FROM licenses l LEFT JOIN products pr ON pr.id = l.product_id
       WHERE $3::text IS NULL OR lower(l.sku) = lower($3) OR l.name ILIKE $4 OR pr.name ILIKE $4
     ),
     open AS (
       SELECT t.license_id, t.kind, t.currency, sum(t.findings) AS n, sum(t.unpriced) AS unpriced,
         sum(t.savings) AS savings
       FROM ${FINDING_TALLY('$1')} t
       WHERE t.status = 'open' AND t.kind = ANY($2::text[]) AND t.license_id IN (SELECT id FROM sel)
       GROUP BY t.license_id, t.kind, t.currency
     ),
     reclaimed AS (
       -- One row per seat: the seat's id, or the finding's own (negated, never a seat id) when it has none.
       SELECT DISTINCT ON (COALESCE(f.subscriber_id, -f.id)) f.license_id, f.kind, f.currency, f.savings
       FROM findings f
       WHERE f.resolved_how = 'reclaimed' AND f.status = 'resolved' AND f.kind = ANY($2::text[])
         AND f.license_id IN (SELECT id FROM sel) AND ($5::timestamptz IS NULL OR f.resolved_at >= $5)
       ORDER BY COALESCE(f.subscriber_id, -f.id), f.savings DESC NULLS LAST, f.id
     ),
     facts AS (
       SELECT true AS open, license_id, kind, currency, n, unpriced, savings FROM open
       UNION ALL
       SELECT false, license_id, kind, currency, count(*), count(*) FILTER (WHERE savings IS NULL), sum(savings)
       FROM reclaimed GROUP BY license_id, kind, currency
     ),
     parts AS (
       SELECT 'app' AS by, s.app, NULL::text AS kind, f.currency, f.open, sum(f.savings) AS savings, sum(f.n) AS n,
         sum(f.unpriced) AS unpriced
       FROM facts f JOIN sel s ON s.id = f.license_id GROUP BY s.app, f.currency, f.open
       UNION ALL
       SELECT 'total', NULL, NULL, currency, open, sum(savings), sum(n), sum(unpriced) FROM facts
       GROUP BY currency, open
       UNION ALL
       SELECT 'kind', NULL, kind, currency, open, sum(savings), sum(n), sum(unpriced) FROM facts
       WHERE $6::boolean GROUP BY kind, currency, open
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
