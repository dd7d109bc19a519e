/** Findings and renewals, as lists every surface renders. */
import { EFFECTIVE_STATUS, FINDING_KINDS, FINDING_TALLY } from '../src/findings/recompute.ts';
import type { Listing, Page } from './inventory-queries.ts';
import { likePattern } from './inventory-queries.ts';
import { fail, type HandlerContext, ok, type Result } from './types.ts';

export interface FindingRow {
  id: number;
  kind: string;
  severity: string;
  /** `open`, `snoozed`, `exempted` or `resolved` — as of now: a snooze or exemption that has ended reads `open`. */
  status: string;
  /** When a snooze or exemption ends (null = until ended by hand). */
  statusUntil: string | null;
  /** Why it is snoozed or exempted, or (resolved) why it was dismissed. */
  statusReason: string | null;
  /** Who snoozed or exempted it. */
  statusBy: string | null;
  resolvedAt: string | null;
  /** `no longer holds`, `reclaimed`, `dismissed`, ... */
  resolvedHow: string | null;
  licenseId: number | null;
  sku: string | null;
  /** The catalog product, else the vendor's plan name; for `shadow`, the app's name. */
  product: string | null;
  vendor: string | null;
  /** The account's e-mail (or login), for findings about one seat. */
  email: string | null;
  /** The matched person's primary e-mail. */
  person: string | null;
  seats: number;
  /** Annualized savings; null when the price is unknown. */
  savings: number | null;
  currency: string | null;
  evidence: Record<string, unknown>;
  firstSeenAt: string;
  lastSeenAt: string;
}

// Renewals live in handlers/renewals.ts; re-exported here for the surfaces that import them from the reports.
export { listRenewals, type RenewalRow } from './renewals.ts';

const num = (value: string | null): number | null => (value === null ? null : Number(value));

/** Open findings (snoozed and exempted ones with `status`), optionally of one kind and one app (or one by id). */
export async function listFindings(
  ctx: HandlerContext,
  args: { kind?: string; app?: string; status?: string; id?: number } & Page,
): Promise<Result<Listing<FindingRow>>> {
  if (args.kind && !(FINDING_KINDS as readonly string[]).includes(args.kind)) {
    return fail(
      'INVALID_ARGUMENT',
      `Unknown finding kind '${args.kind}'; kinds: ${FINDING_KINDS.join(', ')}.`,
    );
  }
  const status = args.status ?? 'open';
  if (!['open', 'snoozed', 'exempted', 'resolved', 'all'].includes(status)) {
    return fail(
      'INVALID_ARGUMENT',
      `Unknown status '${status}'; use open, snoozed, exempted, resolved or all.`,
    );
  }
  const app = args.app?.trim() || null;
  const params = [
    status,
    args.kind ?? null,
    app,
    app ? likePattern(app) : null,
    args.limit,
    args.offset,
    ctx.now(),
    args.id ?? null,
  ];
  // Only a resolved finding is outside the index the page is read from, in order of savings.
  const unresolved = status === 'all' || status === 'resolved' ? '' : `f.status <> 'resolved' AND`;
  // The page is chosen on the findings alone; only its rows are joined to accounts and persons (an organisation of
  // a million accounts has hundreds of thousands of open findings).
  const page = ctx.store.pool.query(
    `WITH page AS (
       SELECT f.id
       FROM findings f
       LEFT JOIN licenses l ON l.id = f.license_id
       LEFT JOIN products pr ON pr.id = l.product_id
       WHERE ${unresolved} ($2::text IS NULL OR f.kind = $2)
         AND ($8::bigint IS NULL OR f.id = $8)
         AND ($3::text IS NULL OR lower(l.sku) = lower($3) OR l.name ILIKE $4 OR pr.name ILIKE $4
              OR f.evidence->>'app' ILIKE $4)
         AND ($1::text = 'all' OR ${EFFECTIVE_STATUS('$7')} = $1)
       ORDER BY f.savings DESC NULLS LAST, f.kind, f.id LIMIT $5 OFFSET $6
     )
     SELECT f.*, ${EFFECTIVE_STATUS('$7')} AS effective_status, l.sku,
       COALESCE(pr.name, l.name, f.evidence->>'app') AS product, l.vendor, COALESCE(s.email, s.login) AS account,
       p.primary_email AS person_email
     FROM page
     JOIN findings f ON f.id = page.id
     LEFT JOIN licenses l ON l.id = f.license_id
     LEFT JOIN products pr ON pr.id = l.product_id
     LEFT JOIN cloud_subscribers s ON s.id = f.subscriber_id
     LEFT JOIN persons p ON p.id = f.person_id
     ORDER BY f.savings DESC NULLS LAST, f.kind, f.id`,
    params,
  );
  // The total comes from the running tallies (per license, kind and status), not from counting the findings; only
  // findings without a license (shadow IT, named by the app in their evidence) are counted one by one.
  const total =
    args.id !== undefined
      ? undefined
      : ctx.store.pool.query<{ n: string }>(
          `SELECT
             (SELECT COALESCE(sum(t.findings), 0) FROM ${FINDING_TALLY('$5')} t
              WHERE ($2::text IS NULL OR t.kind = $2) AND ($1::text = 'all' OR t.status = $1)
                AND ($3::text IS NULL OR t.license_id IN (
                  SELECT l.id FROM licenses l LEFT JOIN products pr ON pr.id = l.product_id
                  WHERE lower(l.sku) = lower($3) OR l.name ILIKE $4 OR pr.name ILIKE $4)))
             + (SELECT count(*) FROM findings f
                WHERE $3::text IS NOT NULL AND f.license_id IS NULL AND f.evidence->>'app' ILIKE $4
                  AND ($2::text IS NULL OR f.kind = $2) AND ($1::text = 'all' OR ${EFFECTIVE_STATUS('$5')} = $1))
             AS n`,
          [status, args.kind ?? null, app, app ? likePattern(app) : null, ctx.now()],
        );
  const [result, counted] = await Promise.all([page, total]);
  return ok({
    total: counted ? Number(counted.rows[0]?.n ?? 0) : result.rows.length,
    rows: result.rows.map((r): FindingRow => {
      // A snooze or exemption that has ended says nothing any more.
      const lapsed = r.effective_status !== r.status;
      return {
        id: r.id,
        kind: r.kind,
        severity: r.severity,
        status: r.effective_status,
        statusUntil: lapsed || !r.status_until ? null : r.status_until.toISOString(),
        statusReason: lapsed ? null : r.status_reason,
        statusBy: lapsed ? null : r.status_by,
        resolvedAt: r.resolved_at ? r.resolved_at.toISOString() : null,
        resolvedHow: r.resolved_how,
        licenseId: r.license_id,
        sku: r.sku,
        product: r.product,
        vendor: r.vendor,
        email: r.account,
        person: r.person_email,
        seats: r.seats,
        savings: num(r.savings),
        currency: r.currency,
        evidence: r.evidence,
        firstSeenAt: r.first_seen_at.toISOString(),
        lastSeenAt: r.last_seen_at.toISOString(),
      };
    }),
  });
}
