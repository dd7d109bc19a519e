/**
 * The renewal view of the inventory, as SQL shared by the renewals list, its exports, the calendar, the daily scan
 * and the decision handlers, so they can never disagree about a cancel-by date, a quantity or a budget.
 *
 * Every query built on `RENEWAL_CTES` starts with the same four parameters (see `renewalParams`):
 * $1 now (timestamptz), $2 today (date, UTC), $3 look-back days, $4 buffer percent. Further parameters start at $5.
 */
import { FINDING_TALLY } from '../findings/recompute.ts';
import { type BudgetCheck, budgetCheck, money } from './budget-check.ts';
import { isoDay, type RenewalSettings } from './settings.ts';

/** The leading parameters of every query built on `RENEWAL_CTES`. */
export function renewalParams(
  now: Date,
  settings: Pick<RenewalSettings, 'lookbackDays' | 'bufferPercent'>,
): unknown[] {
  return [now, isoDay(now), settings.lookbackDays, settings.bufferPercent];
}

/**
 * CTEs:
 * - `live`: every present license with its current term — the renewal date (the contract's, else the vendor's next
 *   lifecycle date), cancel-by, quantity (the contracted one from the last approved renewal, else the vendor's
 *   purchased units), annual cost, and the live decision about the current renewal.
 * - `budget_status`: every budget with its committed spend (active terms in its cost center, product and currency)
 *   and the terms it could not count (other currency, unknown price). No currency is ever converted.
 * - `renewals`: licenses with a renewal date, with the right-sized quantity, idle seats and their budget.
 */
export const RENEWAL_CTES = `
live AS (
  SELECT $2::date AS today, l.id, l.source, l.vendor, l.sku, l.name, l.product_id, COALESCE(o.product, l.name) AS product,
    l.cost_center, l.owner_email, l.vendor_contact, l.unit_price, l.currency, l.billing_period, l.term_start,
    l.term_end, COALESCE(l.notice_days, 0) AS notice_days, l.auto_renew, l.commit_floor, l.price_uplift_cap,
    l.unlimited, l.consumed_units, l.is_trial, l.capability_status, o.purchased,
    COALESCE(l.renewal_date, (l.next_lifecycle_at AT TIME ZONE 'UTC')::date) AS renews_on,
    CASE WHEN l.renewal_date IS NOT NULL THEN 'contract' WHEN l.next_lifecycle_at IS NOT NULL THEN 'vendor' END
      AS renewal_date_source,
    k.quantity AS contracted_quantity,
    q.quantity,
    l.unit_price * q.quantity * p.periods AS annual_cost,
    p.periods,
    d.id AS decision_id, d.decision, d.state AS decision_state, d.quantity AS decision_quantity,
    d.until AS decision_until, d.requested_by, d.approved_by, d.amount AS decision_amount,
    EXISTS (SELECT 1 FROM tasks tk WHERE tk.license_id = l.id AND tk.kind = 'notify-vendor' AND tk.done_at IS NULL)
      AS vendor_task_open
  FROM licenses l
  JOIN license_overview o ON o.id = l.id
  -- Enabled units are the vendor's; what we agreed to buy is the quantity of the last approved renewal.
  LEFT JOIN LATERAL (
    SELECT dk.quantity FROM renewal_decisions dk
    WHERE dk.license_id = l.id AND dk.state = 'decided' AND dk.decision IN ('approve', 'approve-as-is', 'resize')
    ORDER BY dk.decided_at DESC, dk.created_at DESC LIMIT 1
  ) k ON true
  CROSS JOIN LATERAL (
    SELECT CASE WHEN l.unlimited THEN NULL ELSE COALESCE(k.quantity, o.purchased) END AS quantity
  ) q
  CROSS JOIN LATERAL (
    SELECT CASE l.billing_period WHEN 'monthly' THEN 12 WHEN 'annual' THEN 1 END AS periods
  ) p
  LEFT JOIN LATERAL (
    SELECT dd.* FROM renewal_decisions dd
    WHERE dd.license_id = l.id
      AND dd.renewal_date = COALESCE(l.renewal_date, (l.next_lifecycle_at AT TIME ZONE 'UTC')::date)
      AND dd.state IN ('pending-finance', 'decided')
    ORDER BY dd.created_at DESC, dd.id LIMIT 1
  ) d ON true
  WHERE l.present
),
budget_status AS (
  SELECT bu.id, bu.cost_center, bu.product_id, bu.fiscal_year, bu.amount, bu.currency,
    COALESCE(sum(lv.annual_cost) FILTER (WHERE lv.currency = bu.currency AND lv.annual_cost IS NOT NULL), 0)
      AS committed,
    count(lv.id) FILTER (WHERE lv.currency = bu.currency AND lv.annual_cost IS NOT NULL)::int AS counted,
    COALESCE(jsonb_agg(jsonb_build_object(
        'licenseId', lv.id, 'sku', lv.sku, 'product', lv.product, 'currency', lv.currency,
        'annualCost', lv.annual_cost::float8,
        'reason', CASE WHEN lv.annual_cost IS NULL THEN 'no price or quantity' ELSE 'other currency' END)
      ORDER BY lv.id) FILTER (WHERE lv.id IS NOT NULL
        AND (lv.annual_cost IS NULL OR lv.currency IS DISTINCT FROM bu.currency)), '[]'::jsonb) AS not_counted
  FROM budgets bu
  -- Active terms of the budget's year: present, not cancelled by the vendor, started by the year's end and not
  -- declined before it began.
  LEFT JOIN live lv ON lower(lv.cost_center) = lower(bu.cost_center)
    AND (bu.product_id IS NULL OR lv.product_id = bu.product_id)
    AND lv.capability_status NOT IN ('Deleted', 'LockedOut')
    AND (lv.term_start IS NULL OR lv.term_start <= make_date(bu.fiscal_year, 12, 31))
    AND NOT (lv.decision IS NOT DISTINCT FROM 'decline' AND lv.decision_state IS NOT DISTINCT FROM 'decided'
      AND lv.renews_on < make_date(bu.fiscal_year, 1, 1))
  GROUP BY bu.id
),
renewals AS (
  SELECT lv.*, (lv.renews_on - lv.notice_days) AS cancel_by, pk.peak,
    GREATEST(
      ceil(GREATEST(COALESCE(pk.peak, 0), lv.consumed_units) * (1 + $4::numeric / 100))::int,
      lv.consumed_units,
      COALESCE(lv.commit_floor, 0)) AS recommended,
    COALESCE(idle.seats, 0)::int AS idle_seats,
    b.id AS budget_id, b.fiscal_year AS budget_year, b.amount AS budget_amount, b.currency AS budget_currency,
    b.committed AS budget_committed, b.amount - b.committed AS budget_remaining,
    -- The part of the committed spend that is this license's current term (renewing replaces it).
    CASE WHEN b.id IS NOT NULL AND lv.currency = b.currency AND lv.annual_cost IS NOT NULL
      AND lv.capability_status NOT IN ('Deleted', 'LockedOut') THEN lv.annual_cost ELSE 0 END AS budget_counted
  FROM live lv
  -- Open idle findings per license, from the findings' running tallies.
  LEFT JOIN (
    SELECT t.license_id, sum(t.findings) AS seats FROM ${FINDING_TALLY('$1')} t
    WHERE t.kind = 'idle' AND t.status = 'open' GROUP BY t.license_id
  ) idle ON idle.license_id = lv.id
  LEFT JOIN LATERAL (
    SELECT max(sn.consumed) AS peak FROM license_snapshots sn
    WHERE sn.license_id = lv.id AND sn.taken_at <= $1::timestamptz
      AND sn.taken_at > $1::timestamptz - make_interval(days => $3::int)
  ) pk ON true
  -- The most specific budget of the renewal's year: the product's, else the cost center's.
  LEFT JOIN LATERAL (
    SELECT bs.* FROM budget_status bs
    WHERE lower(bs.cost_center) = lower(lv.cost_center)
      AND bs.fiscal_year = extract(year FROM lv.renews_on)::int
      AND (bs.product_id IS NULL OR bs.product_id = lv.product_id)
    ORDER BY bs.product_id IS NULL LIMIT 1
  ) b ON true
  WHERE lv.renews_on IS NOT NULL
)`;

/** A renewal as every surface shows it. Amounts are per year, in `currency`; null when the price is unknown. */
export interface RenewalRow {
  licenseId: number;
  product: string;
  sku: string;
  vendor: string;
  renewalDate: string;
  /** `contract` (set by hand or CSV) or `vendor` (the vendor's next lifecycle date). */
  renewalDateSource: 'contract' | 'vendor';
  /** Renewal date minus the notice period: the last day to cancel or resize. */
  cancelBy: string;
  noticeDays: number;
  autoRenew: boolean | null;
  /** A trial: the vendor's date is when it ends, not a paid renewal. */
  trial: boolean;
  termStart: string | null;
  termEnd: string | null;
  /** Seats under contract: the quantity of the last approved renewal, else the vendor's purchased units. */
  quantity: number | null;
  /** Units the vendor reports as purchased (enabled + warning). */
  purchased: number | null;
  consumed: number;
  /** Highest consumed count in the look-back window. */
  peakConsumed: number | null;
  /** Consumed ÷ quantity (0.25 = a quarter of the seats in use); null when unlimited or no quantity. */
  utilization: number | null;
  /** Open idle findings: seats to reclaim before renewing. */
  idleSeats: number;
  /** Peak consumed + buffer, never below today's consumed nor below the commit floor. */
  recommendedQuantity: number;
  commitFloor: number | null;
  unitPrice: number | null;
  currency: string | null;
  billingPeriod: string | null;
  /** Largest price increase the contract allows at renewal, in percent. */
  priceUpliftCap: number | null;
  /** Cost per year at the current quantity. */
  annualCost: number | null;
  /** Cost per year at the recommended quantity. */
  recommendedCost: number | null;
  /** annualCost − recommendedCost: what renewing as recommended saves versus renewing as is (negative: grows). */
  savings: number | null;
  costCenter: string | null;
  budgetYear: number | null;
  budgetAmount: number | null;
  budgetCommitted: number | null;
  /** The budget's amount minus committed spend, in `budgetCurrency`; null without a budget. */
  budgetRemaining: number | null;
  budgetCurrency: string | null;
  /** Whether renewing as recommended fits the remaining budget. */
  budgetCheck: BudgetCheck['check'];
  /** How far renewing as recommended exceeds the remaining budget; null unless `exceeds`. */
  budgetExceedsBy: number | null;
  /**
   * `upcoming`, `cancel-by passed`, or the live decision: `pending-finance`, `declined`, `snoozed`, `escalated`.
   */
  status: string;
  decision: RenewalDecisionSummary | null;
  owner: string | null;
  vendorContact: string | null;
}

export interface RenewalDecisionSummary {
  id: string;
  /** `decline`, `snooze`, `escalate`, or an approval waiting for finance. */
  decision: string;
  state: string;
  quantity: number | null;
  until: string | null;
  amount: number | null;
  requestedBy: string;
  approvedBy: string | null;
}

const num = (value: string | number | null | undefined): number | null =>
  value === null || value === undefined ? null : Number(value);

/** A row of the `renewals` CTE as every surface shows it. */
// biome-ignore lint/suspicious/noExplicitAny: a pg row of the renewals CTE, whose columns are listed above
export function toRenewalRow(r: any, today: string): RenewalRow {
  const price = num(r.unit_price);
  const periods = num(r.periods);
  const annualCost = num(r.annual_cost);
  const recommendedCost = price !== null && periods !== null ? money(price * r.recommended * periods) : null;
  const check = budgetCheck({
    remaining: num(r.budget_remaining),
    budgetCurrency: r.budget_currency,
    currency: r.currency,
    counted: num(r.budget_counted) ?? 0,
    newCost: recommendedCost,
  });
  return {
    licenseId: r.id,
    product: r.product,
    sku: r.sku,
    vendor: r.vendor,
    renewalDate: r.renews_on,
    renewalDateSource: r.renewal_date_source,
    cancelBy: r.cancel_by,
    noticeDays: r.notice_days,
    autoRenew: r.auto_renew,
    trial: r.is_trial,
    termStart: r.term_start,
    termEnd: r.term_end,
    quantity: r.quantity,
    purchased: r.purchased,
    consumed: r.consumed_units,
    peakConsumed: r.peak,
    utilization: r.quantity ? Math.round((r.consumed_units / r.quantity) * 1000) / 1000 : null,
    idleSeats: r.idle_seats,
    recommendedQuantity: r.recommended,
    commitFloor: r.commit_floor,
    unitPrice: price,
    currency: r.currency,
    billingPeriod: r.billing_period,
    priceUpliftCap: num(r.price_uplift_cap),
    annualCost: annualCost === null ? null : money(annualCost),
    recommendedCost,
    savings: annualCost !== null && recommendedCost !== null ? money(annualCost - recommendedCost) : null,
    costCenter: r.cost_center,
    budgetYear: r.budget_year ?? null,
    budgetAmount: num(r.budget_amount),
    budgetCommitted: num(r.budget_committed),
    budgetRemaining: num(r.budget_remaining),
    budgetCurrency: r.budget_currency ?? null,
    budgetCheck: check.check,
    budgetExceedsBy: check.exceedsBy,
    status: renewalStatus(r, today),
    decision: r.decision_id
      ? {
          id: r.decision_id,
          decision: r.decision,
          state: r.decision_state,
          quantity: r.decision_quantity,
          until: r.decision_until,
          amount: num(r.decision_amount),
          requestedBy: r.requested_by,
          approvedBy: r.approved_by,
        }
      : null,
    owner: r.owner_email,
    vendorContact: r.vendor_contact,
  };
}

/** The renewal's status: the live decision first, then whether the cancel-by date has passed. */
function renewalStatus(
  r: {
    decision: string | null;
    decision_state: string | null;
    decision_until: string | null;
    cancel_by: string;
  },
  today: string,
): string {
  if (r.decision_state === 'pending-finance') return 'pending-finance';
  if (r.decision === 'decline') return 'declined';
  // A snooze ends on its date: from then on the renewal asks for a decision again.
  if (r.decision === 'snooze' && r.decision_until !== null && r.decision_until > today) return 'snoozed';
  if (r.decision === 'escalate') return 'escalated';
  return r.cancel_by < today ? 'cancel-by passed' : 'upcoming';
}
