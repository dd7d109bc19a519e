/** Findings and renewals, as lists every surface renders. */
import { FINDING_KINDS } from '../src/findings/recompute.ts';
import type { Listing, Page } from './inventory-queries.ts';
import { likePattern } from './inventory-queries.ts';
import { fail, type HandlerContext, ok, type Result } from './types.ts';

export interface FindingRow {
  id: number;
  kind: string;
  severity: string;
  status: string;
  sku: string | null;
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

export interface RenewalRow {
  licenseId: number;
  product: string;
  sku: string;
  vendor: string;
  renewalDate: string;
  /** Renewal date minus the notice period: the last day to cancel or resize. */
  cancelBy: string;
  noticeDays: number;
  autoRenew: boolean | null;
  /** Seats under contract now (purchased usage rights). */
  quantity: number | null;
  consumed: number;
  /** Peak consumed over 90 days + 5 %, never below today's consumed nor the commit floor. */
  recommendedQuantity: number;
  unitPrice: number | null;
  currency: string | null;
  billingPeriod: string | null;
  /** Cost per year at the current quantity; null when the price is unknown. */
  annualCost: number | null;
  budgetRemaining: number | null;
  /** `upcoming`, or `cancel-by passed` once the notice period has started. */
  status: string;
  owner: string | null;
}

const num = (value: string | null): number | null => (value === null ? null : Number(value));

/** Open findings (snoozed and exempted ones with `status`), optionally of one kind and one app. */
export async function listFindings(
  ctx: HandlerContext,
  args: { kind?: string; app?: string; status?: string } & Page,
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
  const result = await ctx.store.pool.query(
    `SELECT f.*, l.sku, COALESCE(pr.name, l.name) AS product, l.vendor, COALESCE(s.email, s.login) AS account,
       p.primary_email AS person_email, count(*) OVER ()::int AS total
     FROM findings f
     LEFT JOIN licenses l ON l.id = f.license_id
     LEFT JOIN products pr ON pr.id = l.product_id
     LEFT JOIN cloud_subscribers s ON s.id = f.subscriber_id
     LEFT JOIN persons p ON p.id = f.person_id
     WHERE ($1::text = 'all' OR f.status = $1)
       AND ($2::text IS NULL OR f.kind = $2)
       AND ($3::text IS NULL OR lower(l.sku) = lower($3) OR l.name ILIKE $4 OR pr.name ILIKE $4)
     ORDER BY f.savings DESC NULLS LAST, f.kind, f.id
     LIMIT $5 OFFSET $6`,
    [status, args.kind ?? null, app, app ? likePattern(app) : null, args.limit, args.offset],
  );
  return ok({
    total: result.rows[0]?.total ?? 0,
    rows: result.rows.map(
      (r): FindingRow => ({
        id: r.id,
        kind: r.kind,
        severity: r.severity,
        status: r.status,
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
      }),
    ),
  });
}

/** Licenses renewing within `days`, with the cancel-by date and a right-sized quantity. */
export async function listRenewals(
  ctx: HandlerContext,
  args: { days: number } & Page,
): Promise<Result<Listing<RenewalRow>>> {
  const today = ctx.now();
  const result = await ctx.store.pool.query(
    `WITH due AS (
       SELECT l.*, o.purchased, o.product AS catalog_product,
         (l.renewal_date - COALESCE(l.notice_days, 0))::date AS cancel_by,
         (SELECT max(sn.consumed) FROM license_snapshots sn
          WHERE sn.license_id = l.id AND sn.taken_at > $1::timestamptz - interval '90 days') AS peak
       FROM licenses l JOIN license_overview o ON o.id = l.id
       WHERE l.present AND l.renewal_date IS NOT NULL
         AND l.renewal_date <= ($1::timestamptz + make_interval(days => $2::int))::date
         AND l.renewal_date >= $1::date
     )
     SELECT d.*, GREATEST(ceil(GREATEST(COALESCE(d.peak, 0), d.consumed_units) * 1.05)::int, d.consumed_units,
         COALESCE(d.commit_floor, 0)) AS recommended,
       count(*) OVER ()::int AS total
     FROM due d
     ORDER BY d.cancel_by, d.id
     LIMIT $3 OFFSET $4`,
    [today, args.days, args.limit, args.offset],
  );
  const todayIso = today.toISOString().slice(0, 10);
  return ok({
    total: result.rows[0]?.total ?? 0,
    rows: result.rows.map((r): RenewalRow => {
      const price = num(r.unit_price);
      const periods = r.billing_period === 'monthly' ? 12 : r.billing_period === 'annual' ? 1 : null;
      const quantity = r.unlimited ? null : r.purchased;
      return {
        licenseId: r.id,
        product: r.catalog_product ?? r.name,
        sku: r.sku,
        vendor: r.vendor,
        renewalDate: r.renewal_date,
        cancelBy: r.cancel_by,
        noticeDays: r.notice_days ?? 0,
        autoRenew: r.auto_renew,
        quantity,
        consumed: r.consumed_units,
        recommendedQuantity: r.recommended,
        unitPrice: price,
        currency: r.currency,
        billingPeriod: r.billing_period,
        annualCost:
          price !== null && periods !== null && quantity !== null ? price * quantity * periods : null,
        budgetRemaining: null,
        status: r.cancel_by < todayIso ? 'cancel-by passed' : 'upcoming',
        owner: r.owner_email,
      };
    }),
  });
}
