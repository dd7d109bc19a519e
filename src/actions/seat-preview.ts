/**
 * What reclaiming a seat would do, before anything is done: who holds it, the evidence, the savings, and anything that
 * blocks it. One statement computes it for one seat or for every idle seat of a SKU, so a batch of thousands costs
 * the same query as one. The same preview serves the dry run, the confirmation card, and the re-check just before the
 * vendor is called (things change while a holder is being asked).
 */
import type pg from 'pg';
import type { SeatRef } from '../../connectors/types.ts';

type Queryable = Pick<pg.ClientBase, 'query'>;

/** A seat as an action stores it: enough to call the vendor (and undo) even after the inventory row is gone. */
export interface StoredSeat extends SeatRef {
  /** The import source that owns the license (`m365`, `adobe`, ...): which connector acts. */
  source: string;
  licenseId: number;
  subscriberId: number;
}

export type BlockerCode =
  | 'not-active'
  | 'in-progress'
  | 'group-inherited'
  | 'exemption'
  | 'reassignment-window'
  | 'commit-floor'
  | 'no-removal';

export type WarningCode = 'not-idle' | 'finding-status' | 'no-usage-signal' | 'ask-skipped';

export interface Notice<Code extends string = string> {
  code: Code;
  message: string;
}

export interface SeatPreview {
  seat: StoredSeat;
  personId: number | null;
  /** The holder's primary e-mail, when the account is matched to a person. */
  person: string | null;
  product: string;
  vendor: string;
  lastActivityAt: string | null;
  lastActivitySource: string | null;
  daysSinceActivity: number | null;
  assignedAt: string | null;
  /** The open (or snoozed/exempted) idle or departed finding about this seat: the evidence. */
  finding: { id: number; kind: string; status: string } | null;
  /** Annualized savings of reclaiming it; null when the price is unknown. */
  savings: number | null;
  currency: string | null;
  blockers: Notice<BlockerCode>[];
  warnings: Notice<WarningCode>[];
}

export interface PreviewQuery {
  /** One seat by its inventory id (cards and buttons carry it). */
  subscriberId?: number;
  /** With `account`: that account's seat of this SKU; with `allIdle`: every seat of it with an open idle finding. */
  sku?: string;
  /** An account e-mail or login, or any address of the person holding the seat. */
  account?: string;
  allIdle?: boolean;
  /** The action being re-checked: it does not block itself nor count as pending. */
  excludeActionId?: string;
}

export interface PreviewContext {
  now: Date;
  /** Minimum entitlement period for licenses without their own (the configured default). */
  defaultEntitlementDays: number;
  /** Per source: null when its connector can remove seats, else why not. */
  removal: ReadonlyMap<string, string | null>;
}

const day = (d: Date | null): string | null => (d ? d.toISOString().slice(0, 10) : null);
const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** The import sources of the licenses a query can touch (to know which connectors are needed). */
export async function previewSources(db: Queryable, query: PreviewQuery): Promise<string[]> {
  const found = await db.query<{ source: string }>(
    `SELECT DISTINCT l.source FROM licenses l
     WHERE ($1::bigint IS NOT NULL AND l.id = (SELECT license_id FROM cloud_subscribers WHERE id = $1))
        OR ($1::bigint IS NULL AND lower(l.sku) = lower($2))`,
    [query.subscriberId ?? null, query.sku ?? null],
  );
  return found.rows.map((r) => r.source);
}

/** The licenses a query can touch, for locking them while actions are created. */
export async function previewLicenses(db: Queryable, query: PreviewQuery): Promise<number[]> {
  const found = await db.query<{ id: number }>(
    `SELECT l.id FROM licenses l
     WHERE ($1::bigint IS NOT NULL AND l.id = (SELECT license_id FROM cloud_subscribers WHERE id = $1))
        OR ($1::bigint IS NULL AND lower(l.sku) = lower($2))
     ORDER BY l.id`,
    [query.subscriberId ?? null, query.sku ?? null],
  );
  return found.rows.map((r) => r.id);
}

/** Previews for the seats a query names, blockers and warnings included, ordered by product and account. */
export async function previewSeats(
  db: Queryable,
  query: PreviewQuery,
  context: PreviewContext,
): Promise<SeatPreview[]> {
  const removable = [...context.removal].filter(([, reason]) => reason === null).map(([source]) => source);
  const result = await db.query(
    `WITH cand AS (
       SELECT s.id AS subscriber_id, s.license_id, s.person_id, s.email, s.login, s.vendor_account_id, s.is_active,
         s.inactive_since, s.group_inherited, s.assigned_at, s.last_activity_at, s.last_activity_source,
         l.source, l.vendor, l.vendor_key, l.sku, COALESCE(pr.name, l.name) AS product, l.commit_floor,
         l.consumed_units, l.usage_signal, l.currency AS license_currency,
         (l.unit_price * CASE l.billing_period WHEN 'monthly' THEN 12 WHEN 'annual' THEN 1 END)::float8 AS annual_price,
         COALESCE(l.min_entitlement_days, $5::int) AS entitlement_days,
         p.primary_email AS person,
         f.id AS finding_id, f.kind AS finding_kind, f.status AS finding_status, f.status_until AS finding_until,
         f.savings::float8 AS finding_savings, f.currency AS finding_currency,
         ex.scope AS exemption_scope, ex.reason AS exemption_reason, ex.until AS exemption_until,
         ex.created_by AS exemption_by,
         live.id AS live_action_id, live.state AS live_action_state,
         -- Seats already on their way out that the vendor's consumed count does not show yet.
         (SELECT count(*)::int FROM actions a
          WHERE a.license_id = l.id AND a.kind = 'reclaim' AND a.id IS DISTINCT FROM $6::uuid
            AND (a.state IN ('asking', 'queued', 'running')
                 OR (a.state = 'done' AND a.completed_at > l.last_import_at))) AS pending
       FROM cloud_subscribers s
       JOIN licenses l ON l.id = s.license_id
       LEFT JOIN products pr ON pr.id = l.product_id
       LEFT JOIN persons p ON p.id = s.person_id
       LEFT JOIN LATERAL (
         SELECT f.* FROM findings f
         WHERE f.subscriber_id = s.id AND f.kind IN ('idle', 'departed') AND f.status <> 'resolved'
         ORDER BY (f.kind = 'departed') DESC, f.id LIMIT 1
       ) f ON true
       LEFT JOIN LATERAL (
         SELECT e.* FROM exemptions e
         WHERE e.ended_at IS NULL AND (e.until IS NULL OR e.until > $4)
           AND ((e.scope = 'seat' AND e.subscriber_id = s.id)
             OR (e.scope = 'person' AND e.person_id = s.person_id)
             -- A product exemption means "everyone gets it" (birthright): it keeps idle seats, not departed ones.
             OR (e.scope = 'product' AND e.product_id = l.product_id AND f.kind IS DISTINCT FROM 'departed'))
         ORDER BY e.id LIMIT 1
       ) ex ON true
       LEFT JOIN LATERAL (
         SELECT a.id, a.state FROM actions a
         WHERE a.subscriber_id = s.id AND a.kind = 'reclaim' AND a.id IS DISTINCT FROM $6::uuid
           AND (a.state IN ('asking', 'queued', 'running') OR (a.state = 'done' AND NOT s.is_active))
         ORDER BY a.created_at DESC LIMIT 1
       ) live ON true
       WHERE ($7::bigint IS NOT NULL AND s.id = $7)
          OR ($7::bigint IS NULL AND lower(l.sku) = lower($1) AND (
               ($3::bool AND s.is_active AND l.present AND EXISTS (
                  SELECT 1 FROM findings fi WHERE fi.subscriber_id = s.id AND fi.kind = 'idle' AND fi.status = 'open'))
            OR (NOT $3::bool AND (lower(s.email) = lower($2) OR lower(s.login) = lower($2)
                 OR s.person_id = (SELECT person_id FROM person_emails WHERE email = lower($2))))))
     ),
     flagged AS (
       SELECT c.*,
         CASE WHEN c.assigned_at IS NOT NULL
                AND c.assigned_at + make_interval(days => c.entitlement_days) > $4
              THEN c.assigned_at + make_interval(days => c.entitlement_days) END AS window_until,
         (c.is_active AND NOT c.group_inherited AND c.exemption_reason IS NULL AND c.live_action_id IS NULL
          AND c.source = ANY($8::text[])
          AND NOT (c.assigned_at IS NOT NULL AND c.assigned_at + make_interval(days => c.entitlement_days) > $4))
           AS otherwise_free
       FROM cand c
     )
     SELECT f.*,
       -- Seats that nothing else blocks take their turn against the commit floor: the longest unused go first.
       CASE WHEN f.otherwise_free THEN row_number() OVER (
         PARTITION BY f.license_id, f.otherwise_free ORDER BY f.last_activity_at NULLS FIRST, f.subscriber_id)
       END AS floor_rank
     FROM flagged f
     ORDER BY f.product, lower(COALESCE(f.email, f.login)), f.subscriber_id`,
    [
      query.sku ?? null,
      query.account ?? null,
      query.allIdle === true,
      context.now,
      context.defaultEntitlementDays,
      query.excludeActionId ?? null,
      query.subscriberId ?? null,
      removable,
    ],
  );
  return result.rows.map((r) => toPreview(r, context));
}

// biome-ignore lint/suspicious/noExplicitAny: a row of the statement above, read column by column.
function toPreview(r: any, context: PreviewContext): SeatPreview {
  const blockers: Notice<BlockerCode>[] = [];
  const warnings: Notice<WarningCode>[] = [];
  if (!r.is_active) {
    blockers.push({
      code: 'not-active',
      message: r.live_action_id
        ? `already reclaimed (action ${r.live_action_id})`
        : `the vendor no longer lists this seat (inactive since ${day(r.inactive_since) ?? 'the last import'})`,
    });
  } else if (r.live_action_id) {
    blockers.push({
      code: 'in-progress',
      message: `a reclaim of this seat is already ${r.live_action_state} (action ${r.live_action_id})`,
    });
  }
  if (r.group_inherited) {
    blockers.push({
      code: 'group-inherited',
      message:
        'the license comes from a group or team assignment and cannot be removed for this account alone: remove the account from the group instead',
    });
  }
  if (r.exemption_reason) {
    const until = r.exemption_until ? ` until ${day(r.exemption_until)}` : '';
    blockers.push({
      code: 'exemption',
      message: `exempted (${r.exemption_scope}) by ${r.exemption_by}${until}: ${r.exemption_reason}`,
    });
  }
  if (r.window_until) {
    blockers.push({
      code: 'reassignment-window',
      message: `assigned on ${day(r.assigned_at)}: within the ${r.entitlement_days}-day minimum entitlement period, it can be reclaimed from ${day(r.window_until)}`,
    });
  }
  if (r.commit_floor !== null) {
    const rank = Number(r.floor_rank ?? 1);
    const remaining = r.consumed_units - r.pending - rank;
    if (remaining < r.commit_floor) {
      const pending = r.pending > 0 ? ` (${r.pending} more already being reclaimed)` : '';
      blockers.push({
        code: 'commit-floor',
        message: `${r.consumed_units} seats in use${pending} against a commit floor of ${r.commit_floor} for this term: freeing this one saves nothing until the term ends`,
      });
    }
  }
  const removal = context.removal.get(r.source);
  if (removal) blockers.push({ code: 'no-removal', message: removal });

  if (!r.finding_id) {
    const last = r.last_activity_at ? `last active ${day(r.last_activity_at)}` : 'no activity recorded';
    warnings.push({ code: 'not-idle', message: `no idle or departed finding for this seat (${last})` });
  } else if (r.finding_status !== 'open') {
    const until = r.finding_until ? ` until ${day(r.finding_until)}` : '';
    warnings.push({
      code: 'finding-status',
      message: `the ${r.finding_kind} finding is ${r.finding_status}${until}`,
    });
  }
  if (!r.usage_signal) {
    warnings.push({
      code: 'no-usage-signal',
      message: `${r.vendor} reports no activity for this license: whether the seat is used is not known`,
    });
  }

  const lastActivity: Date | null = r.last_activity_at;
  return {
    seat: {
      source: r.source,
      licenseId: r.license_id,
      subscriberId: r.subscriber_id,
      subscriptionKey: r.vendor_key,
      sku: r.sku,
      accountId: r.vendor_account_id,
      email: r.email,
      login: r.login,
    },
    personId: r.person_id,
    person: r.person,
    product: r.product,
    vendor: r.vendor,
    lastActivityAt: iso(lastActivity),
    lastActivitySource: r.last_activity_source,
    daysSinceActivity: lastActivity
      ? Math.floor((context.now.getTime() - lastActivity.getTime()) / 86_400_000)
      : null,
    assignedAt: iso(r.assigned_at),
    finding: r.finding_id ? { id: r.finding_id, kind: r.finding_kind, status: r.finding_status } : null,
    savings: r.finding_savings ?? r.annual_price ?? null,
    currency: r.finding_currency ?? r.license_currency ?? null,
    blockers,
    warnings,
  };
}
