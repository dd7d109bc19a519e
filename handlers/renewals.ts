/**
 * Renewals: the list with right-sized quantities and the budget check, its exports (CSV, JSON, iCalendar), and the
 * decisions — approve as recommended, approve as is, resize, decline, snooze, escalate — with finance as a second
 * step when an approval is large or does not fit the budget.
 *
 * Decisions are surface-neutral and idempotent by their id: a chat button carries a decision id, and a second click
 * (or a retried request, or another replica) finds the first outcome instead of acting twice.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { budgetCheck, money } from '../src/renewals/budget-check.ts';
import {
  channelTarget,
  emailTarget,
  enqueueNotifications,
  financeTargets,
  type NotificationTarget,
} from '../src/renewals/notify.ts';
import { RENEWAL_CTES, type RenewalRow, renewalParams, toRenewalRow } from '../src/renewals/renewal-sql.ts';
import { renewalsCalendar } from '../src/renewals/renewals-calendar.ts';
import { isoDay, type RenewalSettings, renewalSettings } from '../src/renewals/settings.ts';
import { appendAudit } from '../src/store/audit.ts';
import { withTransaction } from '../src/store/transaction.ts';
import { deny } from './authorize.ts';
import { resolveLicense } from './contracts.ts';
import type { ExportRow, ExportStream } from './export.ts';
import type { Listing, Page } from './inventory-queries.ts';
import { fail, type HandlerContext, hasRole, ok, type Result } from './types.ts';

export type { RenewalDecisionSummary, RenewalRow } from '../src/renewals/renewal-sql.ts';

type Db = Pick<pg.ClientBase, 'query'>;

// ---------------------------------------------------------------------------------------------------------------
// The list and its exports

/** Renewals from today up to `days` ahead (all of them without `days`), soonest cancel-by first. */
async function queryRenewals(
  db: Db,
  now: Date,
  settings: RenewalSettings,
  args: { days?: number; licenseId?: number } & Page,
): Promise<Listing<RenewalRow>> {
  const result = await db.query(
    `WITH ${RENEWAL_CTES}
     SELECT r.*, count(*) OVER ()::int AS total
     FROM renewals r
     WHERE ($5::bigint IS NOT NULL AND r.id = $5)
        OR ($5::bigint IS NULL AND r.renews_on >= $2::date AND ($6::int IS NULL OR r.renews_on <= $2::date + $6::int))
     ORDER BY r.cancel_by, r.id
     LIMIT $7 OFFSET $8`,
    [...renewalParams(now, settings), args.licenseId ?? null, args.days ?? null, args.limit, args.offset],
  );
  const today = isoDay(now);
  return {
    total: result.rows[0]?.total ?? 0,
    rows: result.rows.map((r) => toRenewalRow(r, today)),
  };
}

/** Licenses renewing within `days`, with the cancel-by date, a right-sized quantity, the budget and the decision. */
export async function listRenewals(
  ctx: HandlerContext,
  args: { days: number } & Page,
  overrides: Partial<RenewalSettings> = {},
): Promise<Result<Listing<RenewalRow>>> {
  return ok(await queryRenewals(ctx.store.pool, ctx.now(), renewalSettings(ctx.config, overrides), args));
}

/** Columns of `export renewals` (CSV and JSON): the renewal rows, the decision flattened. */
export const RENEWAL_EXPORT_COLUMNS = [
  'licenseId',
  'product',
  'sku',
  'vendor',
  'renewalDate',
  'renewalDateSource',
  'cancelBy',
  'noticeDays',
  'autoRenew',
  'trial',
  'termStart',
  'termEnd',
  'quantity',
  'purchased',
  'consumed',
  'peakConsumed',
  'utilization',
  'idleSeats',
  'recommendedQuantity',
  'commitFloor',
  'unitPrice',
  'currency',
  'billingPeriod',
  'priceUpliftCap',
  'annualCost',
  'recommendedCost',
  'savings',
  'costCenter',
  'budgetYear',
  'budgetAmount',
  'budgetCommitted',
  'budgetRemaining',
  'budgetCurrency',
  'budgetCheck',
  'budgetExceedsBy',
  'status',
  'decisionId',
  'decision',
  'decisionState',
  'decisionQuantity',
  'snoozedUntil',
  'requestedBy',
  'approvedBy',
  'owner',
  'vendorContact',
] as const;

function flatten(row: RenewalRow): ExportRow {
  const { decision, ...rest } = row;
  return {
    ...rest,
    decisionId: decision?.id ?? null,
    decision: decision?.decision ?? null,
    decisionState: decision?.state ?? null,
    decisionQuantity: decision?.quantity ?? null,
    snoozedUntil: decision?.decision === 'snooze' ? decision.until : null,
    requestedBy: decision?.requestedBy ?? null,
    approvedBy: decision?.approvedBy ?? null,
  };
}

/** Every upcoming renewal as export rows, a batch at a time (for `export renewals`). Readable by helpdesk. */
export function renewalsExport(ctx: HandlerContext, batchSize = 1000): Result<ExportStream> {
  if (!hasRole(ctx.actor, 'helpdesk'))
    return fail('NOT_AUTHORIZED', 'Exporting renewals needs the helpdesk role.');
  const settings = renewalSettings(ctx.config);
  // One clock reading for the whole export, so batches agree on "today".
  const now = ctx.now();
  async function* batches(): AsyncIterable<ExportRow[]> {
    for (let offset = 0; ; offset += batchSize) {
      const page = await queryRenewals(ctx.store.pool, now, settings, { limit: batchSize, offset });
      if (page.rows.length > 0) yield page.rows.map(flatten);
      if (page.rows.length < batchSize) return;
    }
  }
  return ok({ columns: RENEWAL_EXPORT_COLUMNS, batches: batches() });
}

/**
 * Every upcoming renewal as an iCalendar (RFC 5545) text: a cancel-by event (with a reminder a week before) and a
 * renewal event per license. Readable by helpdesk; the HTTP feed calls it as a token-holding reader.
 */
export async function renewalsIcs(
  ctx: HandlerContext,
  overrides: Partial<RenewalSettings> = {},
): Promise<Result<string>> {
  if (!hasRole(ctx.actor, 'helpdesk'))
    return fail('NOT_AUTHORIZED', 'The renewals calendar needs the helpdesk role.');
  const now = ctx.now();
  const settings = renewalSettings(ctx.config, overrides);
  const all = await queryRenewals(ctx.store.pool, now, settings, { limit: 100_000, offset: 0 });
  return ok(renewalsCalendar(all.rows, now));
}

// ---------------------------------------------------------------------------------------------------------------
// Decisions

/** The decisions a renewal can get; `approve` takes the recommended quantity, `approve-as-is` today's. */
export const DECISIONS = ['approve', 'approve-as-is', 'resize', 'decline', 'snooze', 'escalate'] as const;
export type DecisionKind = (typeof DECISIONS)[number];
const APPROVALS: ReadonlySet<string> = new Set(['approve', 'approve-as-is', 'resize']);

export interface DecideInput {
  /** Idempotency key (a UUID): a repeated request with the same id returns the first outcome and acts once. */
  decisionId?: string;
  sku?: string;
  license?: number;
  /** The renewal the actor saw (a card's); refused when the license has moved on to another renewal since. */
  renewalDate?: string;
  decision: string;
  /** Seats for `resize`. */
  quantity?: number;
  /** Date for `snooze`: the renewal asks for a decision again on that day. */
  until?: string;
  /** The vendor's price per seat and billing period for the new term (approvals); default: today's price. */
  unitPrice?: string;
  /** Why: shown to finance and kept in the audit log. */
  note?: string;
}

export interface DecisionResult {
  decisionId: string;
  licenseId: number;
  sku: string;
  product: string;
  decision: DecisionKind;
  /** `decided`, `pending-finance` (an approval waiting for finance), `rejected` (finance said no). */
  state: string;
  /** The renewal decided about. */
  renewalDate: string;
  cancelBy: string;
  /** Seats of the new term (approvals). */
  quantity: number | null;
  unitPrice: number | null;
  /** Annual cost of the new term at `quantity` and `unitPrice` (approvals), in `currency`. */
  amount: number | null;
  currency: string | null;
  until: string | null;
  budgetCheck: RenewalRow['budgetCheck'];
  budgetRemaining: number | null;
  budgetCurrency: string | null;
  budgetExceedsBy: number | null;
  financeRequired: boolean;
  /** Why finance must agree too. */
  financeReasons: string[];
  requestedBy: string;
  approvedBy: string | null;
  /** After an approval: the next renewal date of the rolled-forward term. */
  newRenewalDate: string | null;
  /** Tasks created (decline: tell the vendor). */
  taskIds: number[];
  /** Notifications written to the outbox. */
  notifications: number;
  /** The id had been used before: nothing was done again, this is the earlier outcome. */
  repeated: boolean;
  /** One sentence for people. */
  message: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const PRICE = /^\d{1,10}(\.\d{1,4})?$/;

const validDate = (value: string) => DATE.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`));
const periodsOf = (billing: string | null) => (billing === 'monthly' ? 12 : billing === 'annual' ? 1 : null);
const fmt = (amount: number | null, currency: string | null) =>
  amount === null
    ? 'an unknown amount'
    : `${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency ?? ''}`.trim();

/** Runs `work` in one transaction; a returned failure rolls back like a thrown error. */
function inTransaction<T>(
  ctx: HandlerContext,
  work: (db: pg.PoolClient) => Promise<Result<T>>,
): Promise<Result<T>> {
  return withTransaction(ctx.store.pool, work, (result) => result.ok);
}

interface DecisionRow {
  id: string;
  license_id: number;
  renewal_date: string;
  decision: DecisionKind;
  quantity: number | null;
  until: string | null;
  state: string;
  amount: string | null;
  currency: string | null;
  requested_by: string;
  approved_by: string | null;
}

/** Validates a decision's arguments against its kind; returns the failure message, if any. */
function checkInput(input: DecideInput, today: string): string | null {
  if (!(DECISIONS as readonly string[]).includes(input.decision)) {
    return `Unknown decision '${input.decision}'; decide one of ${DECISIONS.join(', ')}.`;
  }
  if (input.decisionId !== undefined && !UUID.test(input.decisionId)) {
    return `--id must be a UUID (the decision's idempotency key), not '${input.decisionId}'.`;
  }
  if (input.renewalDate !== undefined && !validDate(input.renewalDate)) {
    return `--renewal-date must be a date like 2027-03-31, not '${input.renewalDate}'.`;
  }
  if (input.decision === 'resize' && input.quantity === undefined) return 'Resizing needs --quantity N.';
  if (input.decision !== 'resize' && input.quantity !== undefined) {
    return '--quantity goes with --decision resize (approve takes the recommended quantity, approve-as-is today’s).';
  }
  if (input.quantity !== undefined && (!Number.isInteger(input.quantity) || input.quantity < 1)) {
    return '--quantity must be a whole number of at least 1 (to end the contract, decline it).';
  }
  if (input.decision === 'snooze') {
    if (input.until === undefined) return 'Snoozing needs --until YYYY-MM-DD.';
    if (!validDate(input.until)) return `--until must be a date like 2027-03-31, not '${input.until}'.`;
    if (input.until <= today) return `--until must be after today (${today}).`;
  } else if (input.until !== undefined) {
    return '--until goes with --decision snooze.';
  }
  if (input.unitPrice !== undefined) {
    if (!APPROVALS.has(input.decision))
      return '--unit-price goes with an approval (approve, approve-as-is, resize).';
    if (!PRICE.test(input.unitPrice))
      return `--unit-price must be an amount like 12.50, not '${input.unitPrice}'.`;
  }
  if (input.note !== undefined && input.note.length > 1000) return '--note must be at most 1000 characters.';
  return null;
}

/** The current renewal of one license, read inside the decision's transaction (the license row is locked). */
async function loadRenewal(
  db: Db,
  licenseId: number,
  now: Date,
  settings: RenewalSettings,
): Promise<{ row: RenewalRow; counted: number } | null> {
  const result = await db.query(`WITH ${RENEWAL_CTES} SELECT * FROM renewals WHERE id = $5`, [
    ...renewalParams(now, settings),
    licenseId,
  ]);
  const raw = result.rows[0];
  return raw ? { row: toRenewalRow(raw, isoDay(now)), counted: Number(raw.budget_counted) } : null;
}

function renewalPayload(row: RenewalRow, decision: Partial<DecisionResult>): Record<string, unknown> {
  return {
    licenseId: row.licenseId,
    product: row.product,
    sku: row.sku,
    vendor: row.vendor,
    renewalDate: row.renewalDate,
    cancelBy: row.cancelBy,
    owner: row.owner,
    vendorContact: row.vendorContact,
    currentQuantity: row.quantity,
    recommendedQuantity: row.recommendedQuantity,
    annualCost: row.annualCost,
    decisionId: decision.decisionId,
    decision: decision.decision,
    state: decision.state,
    quantity: decision.quantity ?? null,
    amount: decision.amount ?? null,
    currency: decision.currency ?? row.currency,
    budgetCheck: decision.budgetCheck,
    budgetRemaining: decision.budgetRemaining ?? null,
    budgetCurrency: decision.budgetCurrency ?? null,
    budgetExceedsBy: decision.budgetExceedsBy ?? null,
    financeReasons: decision.financeReasons ?? [],
    requestedBy: decision.requestedBy,
    approvedBy: decision.approvedBy ?? null,
  };
}

function ownerTargets(row: RenewalRow, channel: string): NotificationTarget[] {
  return [channelTarget(channel), ...(row.owner ? [emailTarget(row.owner)] : [])];
}

/**
 * What a decided decision does. Approval: the term rolls forward (renewal date + the term's length, else one year)
 * at the new quantity (kept as the contracted quantity: the vendor's enabled units follow later) and price, so the
 * budget's committed spend moves with it. Decline: a task to tell the vendor before the cancel-by date, and a
 * reminder now (the daily scan repeats it at the lead times until the task is done). Escalate: finance is told.
 */
async function applyDecision(
  db: Db,
  ctx: HandlerContext,
  settings: RenewalSettings,
  row: RenewalRow,
  outcome: DecisionResult,
  note: string | undefined,
): Promise<void> {
  const now = ctx.now();
  if (APPROVALS.has(outcome.decision)) {
    const rolled = await db.query<{ renewal_date: string }>(
      `UPDATE licenses l SET
         renewal_date = (x.renews_on + x.len)::date,
         term_start = x.renews_on,
         term_end = CASE WHEN l.term_end IS NULL THEN NULL ELSE (l.term_end + x.len)::date END,
         unit_price = COALESCE($3::numeric, l.unit_price),
         updated_at = $4
       FROM (
         -- The term's length is start → renewal when the start is known (and plausible), else one year.
         SELECT $2::date AS renews_on,
           CASE WHEN li.term_start IS NOT NULL AND li.term_start <= $2::date - 28
             THEN age($2::date, li.term_start) ELSE interval '1 year' END AS len
         FROM licenses li WHERE li.id = $1
       ) x
       WHERE l.id = $1
       RETURNING l.renewal_date`,
      [row.licenseId, row.renewalDate, outcome.unitPrice, now],
    );
    outcome.newRenewalDate = rolled.rows[0]?.renewal_date ?? null;
    return;
  }
  if (outcome.decision === 'decline') {
    const contact = row.vendorContact ? ` (${row.vendorContact})` : '';
    const task = await db.query<{ id: number }>(
      `INSERT INTO tasks (kind, license_id, due_at, note, created_by, created_at)
       VALUES ('notify-vendor', $1, ($2::date)::timestamp AT TIME ZONE 'UTC', $3, $4, $5) RETURNING id`,
      [
        row.licenseId,
        row.cancelBy,
        `Tell ${row.vendor}${contact} that ${row.product} (${row.sku}) will not renew on ${row.renewalDate}; ` +
          `the notice must reach them by ${row.cancelBy}.${note ? ` Note: ${note}` : ''}`,
        ctx.actor.id,
        now,
      ],
    );
    outcome.taskIds = task.rows.map((t) => t.id);
    outcome.notifications += await enqueueNotifications(db, {
      dedupe: `renewal-cancel-reminder:${outcome.decisionId}`,
      kind: 'renewal-cancel-reminder',
      targets: ownerTargets(row, settings.procurementChannel),
      payload: { ...renewalPayload(row, outcome), taskId: outcome.taskIds[0], note: note ?? null },
      at: now,
    });
    return;
  }
  if (outcome.decision === 'escalate') {
    outcome.notifications += await enqueueNotifications(db, {
      dedupe: `renewal-escalation:${outcome.decisionId}`,
      kind: 'renewal-escalation',
      targets: financeTargets(ctx.config, settings.procurementChannel),
      payload: { ...renewalPayload(row, outcome), note: note ?? null },
      at: now,
    });
  }
}

function summarize(outcome: DecisionResult, row: RenewalRow): string {
  const what = `${row.product} (${row.sku})`;
  if (outcome.state === 'rejected') {
    return `Finance rejected the renewal of ${what} at ${outcome.quantity} seats; decide it again.`;
  }
  if (outcome.state === 'pending-finance') {
    return (
      `Proposed renewing ${what} at ${outcome.quantity} seats for ${fmt(outcome.amount, outcome.currency)}/year. ` +
      `Finance must approve too: ${outcome.financeReasons.join('; ')}. Decision ${outcome.decisionId} waits for finance.`
    );
  }
  switch (outcome.decision) {
    case 'decline':
      return `Declined the renewal of ${what}: tell ${row.vendor} by ${row.cancelBy} (task ${outcome.taskIds.join(', ')}).`;
    case 'snooze':
      return `Snoozed the renewal of ${what} until ${outcome.until}.`;
    case 'escalate':
      return `Escalated the renewal of ${what} to finance.`;
    default:
      return (
        `Renewed ${what} at ${outcome.quantity ?? 'unlimited'} seats for ${fmt(outcome.amount, outcome.currency)}/year; ` +
        `the next renewal is ${outcome.newRenewalDate ?? 'unknown'}.`
      );
  }
}

/** The outcome of an existing decision, for a repeated request. */
async function earlierOutcome(db: Db, ctx: HandlerContext, d: DecisionRow, settings: RenewalSettings) {
  const license = await db.query(
    `SELECT l.sku, COALESCE(o.product, l.name) AS product, l.renewal_date, l.notice_days, l.unit_price
     FROM licenses l JOIN license_overview o ON o.id = l.id WHERE l.id = $1`,
    [d.license_id],
  );
  const l = license.rows[0];
  const current = await loadRenewal(db, d.license_id, ctx.now(), settings);
  const rolled = d.state === 'decided' && APPROVALS.has(d.decision);
  const outcome: DecisionResult = {
    decisionId: d.id,
    licenseId: d.license_id,
    sku: l?.sku,
    product: l?.product,
    decision: d.decision,
    state: d.state,
    renewalDate: d.renewal_date,
    cancelBy: current?.row.renewalDate === d.renewal_date ? current.row.cancelBy : d.renewal_date,
    quantity: d.quantity,
    unitPrice: l?.unit_price === null || l?.unit_price === undefined ? null : Number(l.unit_price),
    amount: d.amount === null ? null : Number(d.amount),
    currency: d.currency,
    until: d.until,
    budgetCheck: current?.row.budgetCheck ?? 'no budget',
    budgetRemaining: current?.row.budgetRemaining ?? null,
    budgetCurrency: current?.row.budgetCurrency ?? null,
    budgetExceedsBy: null,
    financeRequired:
      d.state === 'pending-finance' || (d.approved_by !== null && d.approved_by !== d.requested_by),
    financeReasons: [],
    requestedBy: d.requested_by,
    approvedBy: d.approved_by,
    newRenewalDate: rolled ? (l?.renewal_date ?? null) : null,
    taskIds: [],
    notifications: 0,
    repeated: true,
    message: '',
  };
  outcome.message = `Already ${d.state === 'decided' ? 'decided' : d.state} (decision ${d.id}): nothing done again.`;
  return outcome;
}

/**
 * Decides a renewal (it-manager). Approvals above the finance threshold, beyond the remaining budget, or against a
 * budget in another currency need finance too: without the finance role the decision waits as `pending-finance`
 * and finance is notified; with it (or admin) it is decided at once. Every decision is audited.
 */
export async function decideRenewal(
  ctx: HandlerContext,
  input: DecideInput,
  overrides: Partial<RenewalSettings> = {},
): Promise<Result<DecisionResult>> {
  if (!hasRole(ctx.actor, 'it-manager')) {
    return deny(ctx, 'renewal decide', 'Deciding a renewal needs the it-manager role.', {
      required: 'it-manager',
    });
  }
  const settings = renewalSettings(ctx.config, overrides);
  const now = ctx.now();
  const today = isoDay(now);
  const invalid = checkInput(input, today);
  if (invalid) return fail('INVALID_ARGUMENT', invalid);
  const license = await resolveLicense(ctx, input);
  if (!license.ok) return license;
  const licenseId = license.value.id as number;
  const decisionId = input.decisionId?.toLowerCase() ?? randomUUID();
  const kind = input.decision as DecisionKind;

  return inTransaction(ctx, async (db) => {
    // One decision per license at a time: concurrent clicks and replicas queue here.
    await db.query('SELECT id FROM licenses WHERE id = $1 FOR UPDATE', [licenseId]);
    const existing = await db.query<DecisionRow>('SELECT * FROM renewal_decisions WHERE id = $1', [
      decisionId,
    ]);
    const earlier = existing.rows[0];
    if (earlier) {
      if (earlier.license_id !== licenseId) {
        return fail('CONFLICT', `Decision ${decisionId} is about another license.`);
      }
      return ok(await earlierOutcome(db, ctx, earlier, settings));
    }
    const loaded = await loadRenewal(db, licenseId, now, settings);
    if (!loaded) {
      return fail(
        'CONFLICT',
        `${license.value.sku} has no renewal date; set one first (contract set --renewal-date YYYY-MM-DD).`,
      );
    }
    const { row, counted } = loaded;
    if (input.renewalDate !== undefined && input.renewalDate !== row.renewalDate) {
      return fail(
        'CONFLICT',
        `The renewal of ${row.renewalDate === null ? 'this license' : row.sku} on ${input.renewalDate} is no longer current (it renews on ${row.renewalDate}).`,
      );
    }
    if (kind === 'snooze' && input.until !== undefined && input.until > row.renewalDate) {
      return fail('INVALID_ARGUMENT', `--until must not be after the renewal date (${row.renewalDate}).`);
    }

    let quantity: number | null = null;
    let unitPrice: number | null = row.unitPrice;
    let amount: number | null = null;
    const financeReasons: string[] = [];
    let check = { check: row.budgetCheck, exceedsBy: row.budgetExceedsBy };
    if (APPROVALS.has(kind)) {
      quantity =
        kind === 'approve'
          ? row.recommendedQuantity
          : kind === 'resize'
            ? (input.quantity as number)
            : row.quantity;
      if (kind === 'resize' && row.commitFloor !== null && (input.quantity as number) < row.commitFloor) {
        return fail(
          'INVALID_ARGUMENT',
          `${row.sku} has a commit floor of ${row.commitFloor} seats; resize to at least that.`,
        );
      }
      if (input.unitPrice !== undefined) {
        const price = Number(input.unitPrice);
        // The contract caps the vendor's increase; a higher quote is for negotiation, not for approval.
        if (row.unitPrice !== null && row.priceUpliftCap !== null) {
          const ceiling = money(row.unitPrice * (1 + row.priceUpliftCap / 100));
          if (price > ceiling) {
            return fail(
              'INVALID_ARGUMENT',
              `${input.unitPrice} is more than the contract's price uplift cap of ${row.priceUpliftCap} % allows (at most ${ceiling}).`,
            );
          }
        }
        unitPrice = price;
      }
      const periods = periodsOf(row.billingPeriod);
      amount =
        unitPrice !== null && periods !== null && quantity !== null
          ? money(unitPrice * quantity * periods)
          : null;
      check = budgetCheck({
        remaining: row.budgetRemaining,
        budgetCurrency: row.budgetCurrency,
        currency: row.currency,
        counted,
        newCost: amount,
      });
      if (amount !== null && amount > settings.financeThreshold) {
        financeReasons.push(
          `${fmt(amount, row.currency)} a year is above the finance threshold of ${settings.financeThreshold.toLocaleString('en-US')}`,
        );
      }
      if (check.check === 'exceeds') {
        financeReasons.push(
          `it exceeds the remaining ${row.budgetYear} budget of ${row.costCenter} by ${fmt(check.exceedsBy, row.budgetCurrency)}`,
        );
      }
      if (check.check === 'other currency') {
        financeReasons.push(
          `the budget of ${row.costCenter} is in ${row.budgetCurrency} and the license in ${row.currency}, which Seatkeeper does not convert`,
        );
      }
    }
    const pending = financeReasons.length > 0 && !hasRole(ctx.actor, 'finance');
    const outcome: DecisionResult = {
      decisionId,
      licenseId,
      sku: row.sku,
      product: row.product,
      decision: kind,
      state: pending ? 'pending-finance' : 'decided',
      renewalDate: row.renewalDate,
      cancelBy: row.cancelBy,
      quantity,
      unitPrice: APPROVALS.has(kind) ? unitPrice : null,
      amount,
      currency: row.currency,
      until: input.until ?? null,
      budgetCheck: check.check,
      budgetRemaining: row.budgetRemaining,
      budgetCurrency: row.budgetCurrency,
      budgetExceedsBy: check.exceedsBy,
      financeRequired: financeReasons.length > 0,
      financeReasons,
      requestedBy: ctx.actor.id,
      approvedBy: pending ? null : ctx.actor.id,
      newRenewalDate: null,
      taskIds: [],
      notifications: 0,
      repeated: false,
      message: '',
    };

    // The new decision replaces the live one; a replaced decline's open "tell the vendor" task is moot.
    const superseded = await db.query<{ id: string; decision: string }>(
      `UPDATE renewal_decisions SET state = 'superseded'
       WHERE license_id = $1 AND renewal_date = $2 AND state IN ('pending-finance', 'decided')
       RETURNING id, decision`,
      [licenseId, row.renewalDate],
    );
    if (superseded.rows.some((s) => s.decision === 'decline')) {
      await db.query(
        `UPDATE tasks SET done_at = $2, done_by = $3
         WHERE license_id = $1 AND kind = 'notify-vendor' AND done_at IS NULL`,
        [licenseId, now, `superseded by decision ${decisionId}`],
      );
    }
    await db.query(
      `INSERT INTO renewal_decisions (id, license_id, renewal_date, decision, quantity, until, state, amount, currency,
         requested_by, approved_by, created_at, decided_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        decisionId,
        licenseId,
        row.renewalDate,
        kind,
        quantity,
        outcome.until,
        outcome.state,
        amount,
        row.currency,
        ctx.actor.id,
        outcome.approvedBy,
        now,
        pending ? null : now,
      ],
    );
    if (pending) {
      outcome.notifications += await enqueueNotifications(db, {
        dedupe: `renewal-finance-approval:${decisionId}`,
        kind: 'renewal-finance-approval',
        targets: financeTargets(ctx.config, settings.procurementChannel),
        payload: { ...renewalPayload(row, outcome), note: input.note ?? null },
        at: now,
      });
    } else {
      await applyDecision(db, ctx, settings, row, outcome, input.note);
    }
    outcome.message = summarize(outcome, row);
    await appendAudit(db, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: 'renewal.decide',
      target: `license:${licenseId}`,
      before: {
        renewalDate: row.renewalDate,
        quantity: row.quantity,
        unitPrice: row.unitPrice,
        status: row.status,
      },
      after: {
        decisionId,
        decision: kind,
        state: outcome.state,
        quantity,
        unitPrice: outcome.unitPrice,
        amount,
        currency: row.currency,
        until: outcome.until,
        budgetCheck: outcome.budgetCheck,
        financeReasons,
        newRenewalDate: outcome.newRenewalDate,
        superseded: superseded.rows.map((s) => s.id),
        note: input.note ?? null,
      },
      at: now,
    });
    return ok(outcome);
  });
}

/**
 * Finance's answer to a decision waiting for it: approve (`confirm`) completes it — the term rolls forward and the
 * spend is committed — or reject. Needs the finance role (admin has it), and someone other than the proposer.
 * Idempotent: answering an answered decision returns its outcome again.
 */
export async function answerPendingDecision(
  ctx: HandlerContext,
  input: { decisionId: string; answer: 'confirm' | 'reject'; note?: string },
  overrides: Partial<RenewalSettings> = {},
): Promise<Result<DecisionResult>> {
  const verb = input.answer === 'confirm' ? 'renewal confirm' : 'renewal reject';
  if (!hasRole(ctx.actor, 'finance')) {
    return deny(
      ctx,
      verb,
      'Approving or rejecting a renewal that waits for finance needs the finance role.',
      {
        required: 'finance',
      },
    );
  }
  if (!UUID.test(input.decisionId)) {
    return fail('INVALID_ARGUMENT', `--id must be a decision id (a UUID), not '${input.decisionId}'.`);
  }
  const settings = renewalSettings(ctx.config, overrides);
  const now = ctx.now();
  const decisionId = input.decisionId.toLowerCase();
  const found = await ctx.store.pool.query<{ license_id: number; requested_by: string }>(
    'SELECT license_id, requested_by FROM renewal_decisions WHERE id = $1',
    [decisionId],
  );
  const proposal = found.rows[0];
  if (!proposal) return fail('NOT_FOUND', `No renewal decision ${decisionId}.`);
  const licenseId = proposal.license_id;
  // Four eyes: whoever proposed cannot also be finance's answer (the proposer never changes, so check it here).
  if (proposal.requested_by === ctx.actor.id) {
    return deny(ctx, verb, 'Finance’s answer must come from someone other than the proposer.', {
      required: 'finance',
    });
  }

  return inTransaction(ctx, async (db) => {
    await db.query('SELECT id FROM licenses WHERE id = $1 FOR UPDATE', [licenseId]);
    const d = (await db.query<DecisionRow>('SELECT * FROM renewal_decisions WHERE id = $1', [decisionId]))
      .rows[0];
    if (!d) return fail('NOT_FOUND', `No renewal decision ${decisionId}.`);
    const answered = input.answer === 'confirm' ? 'decided' : 'rejected';
    if (d.state === answered) return ok(await earlierOutcome(db, ctx, d, settings));
    if (d.state !== 'pending-finance') {
      return fail('CONFLICT', `Decision ${decisionId} is ${d.state}, not waiting for finance.`);
    }
    const loaded = await loadRenewal(db, licenseId, now, settings);
    if (!loaded || loaded.row.renewalDate !== d.renewal_date) {
      return fail(
        'CONFLICT',
        `The renewal of ${d.renewal_date} is no longer current; decision ${decisionId} lapsed.`,
      );
    }
    const { row } = loaded;
    await db.query(
      `UPDATE renewal_decisions SET state = $2, approved_by = $3, decided_at = $4 WHERE id = $1`,
      [decisionId, answered, ctx.actor.id, now],
    );
    const outcome: DecisionResult = {
      ...(await earlierOutcome(db, ctx, { ...d, state: answered, approved_by: ctx.actor.id }, settings)),
      renewalDate: row.renewalDate,
      cancelBy: row.cancelBy,
      financeRequired: true,
      newRenewalDate: null,
      repeated: false,
    };
    // The proposal's price is its amount per seat and period (decisions keep the amount, not the price): today's
    // price unless the proposal named another.
    const periods = periodsOf(row.billingPeriod);
    const atToday =
      row.unitPrice !== null && d.quantity !== null && periods !== null
        ? money(row.unitPrice * d.quantity * periods)
        : null;
    outcome.unitPrice =
      outcome.amount !== null && d.quantity && periods && atToday !== outcome.amount
        ? Number((outcome.amount / d.quantity / periods).toFixed(4))
        : row.unitPrice;
    if (answered === 'decided') {
      await applyDecision(db, ctx, settings, row, outcome, input.note);
    } else if (d.requested_by.includes('@')) {
      outcome.notifications += await enqueueNotifications(db, {
        dedupe: `renewal-finance-rejected:${decisionId}`,
        kind: 'renewal-finance-rejected',
        targets: [emailTarget(d.requested_by)],
        payload: { ...renewalPayload(row, outcome), note: input.note ?? null },
        at: now,
      });
    }
    outcome.message =
      answered === 'decided'
        ? `Finance approved. ${summarize({ ...outcome, state: 'decided' }, row)}`
        : summarize(outcome, row);
    await appendAudit(db, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: input.answer === 'confirm' ? 'renewal.confirm' : 'renewal.reject',
      target: `license:${licenseId}`,
      before: { decisionId, state: 'pending-finance', requestedBy: d.requested_by },
      after: {
        decisionId,
        decision: d.decision,
        state: answered,
        quantity: d.quantity,
        amount: outcome.amount,
        currency: d.currency,
        newRenewalDate: outcome.newRenewalDate,
        note: input.note ?? null,
      },
      at: now,
    });
    return ok(outcome);
  });
}
