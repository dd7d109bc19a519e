/**
 * The findings engine: one set-based statement computes every current finding from the inventory, upserts them by
 * natural key, and resolves the ones that no longer hold. Nothing is computed row by row in JavaScript, so it costs
 * the same few statements at ten accounts or a million.
 */
import type pg from 'pg';
import { appendAudit } from '../store/audit.ts';

export const FINDING_KINDS = [
  'idle',
  'unassigned',
  'overage',
  'grace',
  'departed',
  'duplicate',
  'shadow',
  'unmatched',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface FindingsPolicy {
  /** Days without activity after which a seat is idle (licenses may override). */
  idleDays: number;
  /** Days after assignment during which a never-active seat is not idle (new hires). */
  graceDays: number;
}

/** Anything that runs a query: a pool, or a client inside a transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

/** The findings policy from the configuration. */
export function policyOf(config: {
  SEATKEEPER_IDLE_DAYS: number;
  SEATKEEPER_IDLE_GRACE_DAYS: number;
}): FindingsPolicy {
  return { idleDays: config.SEATKEEPER_IDLE_DAYS, graceDays: config.SEATKEEPER_IDLE_GRACE_DAYS };
}

/**
 * Which findings an exemption covers, by scope. A seat or a person may be kept whatever the finding says about
 * them (a mailbox under legal hold, someone on leave whose account is disabled); a product is "birthright" —
 * everyone gets it whether they use it or not — so only `idle` stops applying to it: its unassigned units, its
 * departed holders and its duplicates are still waste.
 */
export const EXEMPTIBLE: Readonly<Record<'seat' | 'person' | 'product', readonly FindingKind[]>> = {
  seat: ['idle', 'departed', 'duplicate', 'unmatched'],
  person: ['idle', 'departed', 'duplicate'],
  product: ['idle'],
};

/**
 * Words of a name, lower-cased, for matching app names: `Zoom Video Communications, Inc.` → `zoom video
 * communications inc`. Only spaces and punctuation separate words, so names in any script keep their letters.
 */
export const NAME_KEY = (expr: string) =>
  `btrim(regexp_replace(lower(${expr}), '[[:space:][:punct:]]+', ' ', 'g'))`;

/** Whether name key `a` contains name key `b` as whole words (and `b` is not trivially short). */
const CONTAINS_WORDS = (a: string, b: string) =>
  `(length(${b}) >= 2 AND ' ' || ${a} || ' ' LIKE '% ' || ${b} || ' %')`;

/** Seats × unit price × billing periods per year; null when the price or billing period is unknown. */
const ANNUAL = (seats: string) =>
  `(l.unit_price * ${seats} * CASE l.billing_period WHEN 'monthly' THEN 12 WHEN 'annual' THEN 1 END)`;

/** A timestamp as ISO 8601 UTC text in evidence, whatever the server's time zone. */
const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Current findings, one row each: (key, kind, severity, license_id, subscriber_id, person_id, seats, evidence, savings, currency). */
const CURRENT = `
  -- unassigned: paid seats nobody holds
  SELECT 'unassigned:' || l.id AS key, 'unassigned' AS kind, 'medium' AS severity, l.id AS license_id,
    NULL::bigint AS subscriber_id, NULL::bigint AS person_id,
    (l.enabled_units + l.warning_units - l.consumed_units) AS seats,
    jsonb_build_object('purchased', l.enabled_units + l.warning_units, 'enabled', l.enabled_units,
      'warning', l.warning_units, 'consumed', l.consumed_units) AS evidence,
    ${ANNUAL('(l.enabled_units + l.warning_units - l.consumed_units)')} AS savings, l.currency
  FROM licenses l
  WHERE l.present AND NOT l.unlimited AND l.enabled_units + l.warning_units > l.consumed_units
  UNION ALL
  -- overage: more seats consumed than purchased (true-up exposure; a cost, not a saving)
  SELECT 'overage:' || l.id, 'overage', 'high', l.id, NULL, NULL,
    l.consumed_units - (l.enabled_units + l.warning_units),
    jsonb_build_object('purchased', l.enabled_units + l.warning_units, 'consumed', l.consumed_units,
      'excess', l.consumed_units - (l.enabled_units + l.warning_units),
      'trueUpCost', ${ANNUAL('(l.consumed_units - (l.enabled_units + l.warning_units))')}),
    NULL, l.currency
  FROM licenses l
  WHERE l.present AND NOT l.unlimited AND l.consumed_units > l.enabled_units + l.warning_units
  UNION ALL
  -- grace: the subscription is lapsing
  SELECT 'grace:' || l.id, 'grace', 'high', l.id, NULL, NULL, l.consumed_units,
    jsonb_build_object('capabilityStatus', l.capability_status, 'warningUnits', l.warning_units,
      'suspendedUnits', l.suspended_units, 'lockedOutUnits', l.locked_out_units,
      'nextLifecycleAt', ${ISO('l.next_lifecycle_at')}),
    NULL, l.currency
  FROM licenses l
  WHERE l.present AND (l.capability_status IN ('Warning', 'Suspended', 'LockedOut')
    OR l.warning_units > 0 OR l.suspended_units > 0)
  UNION ALL
  -- departed: a seat held by someone who left or whose directory account is disabled
  SELECT 'departed:' || s.id, 'departed', 'high', l.id, s.id, p.id, 1,
    jsonb_build_object('person', p.primary_email, 'employmentStatus', p.employment_status,
      'departedAt', ${ISO('p.departed_at')}, 'directoryEnabled', p.directory_enabled),
    ${ANNUAL('1')}, l.currency
  FROM cloud_subscribers s
  JOIN licenses l ON l.id = s.license_id
  JOIN persons p ON p.id = s.person_id
  WHERE s.is_active AND l.present AND (p.employment_status = 'departed' OR NOT p.directory_enabled)
  UNION ALL
  -- idle: no activity for N days (or never, and assigned longer ago than the grace period); only where the
  -- vendor reports activity at all, and not for departed holders (their finding says more), nor for seats that are
  -- duplicates (filtered in recomputeWithin: removing a covered seat costs its holder nothing, whatever the use)
  SELECT 'idle:' || s.id, 'idle', 'medium', l.id, s.id, p.id, 1,
    jsonb_build_object('lastActivityAt', ${ISO('s.last_activity_at')}, 'source', s.last_activity_source,
      'assignedAt', ${ISO('COALESCE(s.assigned_at, s.first_import_at)')},
      'idleDays', COALESCE(l.idle_days, $2::int),
      'daysSinceActivity', CASE WHEN s.last_activity_at IS NULL THEN NULL
        ELSE floor(extract(epoch FROM $1::timestamptz - s.last_activity_at) / 86400)::int END),
    ${ANNUAL('1')}, l.currency
  FROM cloud_subscribers s
  JOIN licenses l ON l.id = s.license_id
  LEFT JOIN persons p ON p.id = s.person_id
  WHERE s.is_active AND l.present AND l.usage_signal AND s.account_kind = 'person'
    AND (p.id IS NULL OR (p.employment_status <> 'departed' AND p.directory_enabled))
    AND COALESCE(s.assigned_at, s.first_import_at) < $1::timestamptz - make_interval(days => $3::int)
    AND (
      (s.last_activity_at IS NOT NULL AND s.last_activity_at < $1::timestamptz - make_interval(days => COALESCE(l.idle_days, $2::int)))
      OR (s.last_activity_at IS NULL AND COALESCE(s.assigned_at, s.first_import_at) < $1::timestamptz - make_interval(days => COALESCE(l.idle_days, $2::int)))
    )
  UNION ALL
  -- duplicate: a person holds a plan and a plan that includes it (plan_overlaps); the covered seat is the waste.
  -- One finding per covered seat, naming the first covering plan. Not for departed holders (as for idle).
  (SELECT DISTINCT ON (s.id) 'duplicate:' || s.id, 'duplicate', 'medium', l.id, s.id, p.id, 1,
    jsonb_build_object('coveredSku', l.sku, 'coveredPlan', COALESCE(lp.name, l.name),
      'coveringSku', cl.sku, 'coveringPlan', COALESCE(cp.name, cl.name),
      'coveringAccount', COALESCE(cs.email, cs.login), 'overlap', o.origin),
    ${ANNUAL('1')}, l.currency
  FROM cloud_subscribers s
  JOIN licenses l ON l.id = s.license_id
  JOIN persons p ON p.id = s.person_id
  JOIN plan_overlaps o ON o.covered_sku = lower(l.sku) AND o.origin <> 'disabled'
  JOIN licenses cl ON lower(cl.sku) = o.covering_sku AND cl.present
    AND cl.capability_status IN ('Enabled', 'Warning')
  JOIN cloud_subscribers cs ON cs.license_id = cl.id AND cs.person_id = s.person_id AND cs.is_active
  LEFT JOIN products lp ON lp.id = l.product_id
  LEFT JOIN products cp ON cp.id = cl.product_id
  WHERE s.is_active AND l.present AND p.employment_status <> 'departed' AND p.directory_enabled
  ORDER BY s.id, cl.id)
  UNION ALL
  -- shadow: an app seen in use (OAuth grants, SSO or expense exports) that no license is for. Matching is by
  -- whole words of the app's name against each license's vendor, plan, product and publisher ("Zoom Video
  -- Communications" is Zoom's), so buying the app makes the finding resolve by itself.
  SELECT 'shadow:' || a.key, 'shadow', CASE WHEN a.users >= 10 THEN 'high' ELSE 'medium' END,
    NULL, NULL, NULL, a.users,
    jsonb_build_object('app', a.name, 'users', a.users, 'sources', a.evidence->'sources',
      'firstSeenAt', ${ISO('a.first_seen_at')}, 'lastSeenAt', ${ISO('a.last_seen_at')}),
    NULL, NULL
  FROM shadow_apps a
  WHERE a.dismissed_at IS NULL AND jsonb_typeof(a.evidence->'sources') = 'object'
    AND a.evidence->'sources' <> '{}'::jsonb
    AND NOT EXISTS (
      -- the names licenses go by, computed once (not per app)
      SELECT 1 FROM (
        SELECT DISTINCT n.k FROM licenses l
        LEFT JOIN products pr ON pr.id = l.product_id
        CROSS JOIN LATERAL (VALUES (${NAME_KEY('l.vendor')}), (${NAME_KEY('l.name')}),
          (${NAME_KEY("COALESCE(pr.name, '')")}), (${NAME_KEY("COALESCE(pr.publisher, '')")})) AS n(k)
        WHERE l.present
      ) n
      WHERE ${CONTAINS_WORDS('a.key', 'n.k')} OR ${CONTAINS_WORDS('n.k', 'a.key')}
    )
  UNION ALL
  -- unmatched: accounts in clearing
  SELECT 'unmatched:' || s.id, 'unmatched', 'low', l.id, s.id, NULL, 1,
    jsonb_build_object('email', s.email, 'login', s.login, 'vendorAccountId', s.vendor_account_id),
    NULL, l.currency
  FROM cloud_subscribers s
  JOIN licenses l ON l.id = s.license_id
  WHERE s.is_active AND l.present AND s.person_id IS NULL AND s.account_kind = 'person'
`;

export interface RecomputeResult {
  /** Findings that hold now and did not before (new, or resolved before). */
  opened: number;
  /** Findings that no longer hold. */
  resolved: number;
  /** Findings now covered by an exemption that were not (or by another one). */
  exempted: number;
  /** Findings whose exemption or snooze ended. */
  reopened: number;
  /** Open findings after the recomputation. */
  open: number;
}

// Any constant shared by all replicas: two recomputations (an import's and a command's) run one after the other.
const RECOMPUTE_LOCK = 7_310_214_004;

/** Recomputes every finding in one transaction; audited as an automatic change. */
export async function recomputeFindings(
  client: pg.PoolClient,
  policy: FindingsPolicy,
  now: Date,
): Promise<RecomputeResult> {
  await client.query('BEGIN');
  try {
    const result = await recomputeWithin(client, policy, now);
    await appendAudit(client, {
      actor: 'seatkeeper',
      surface: 'system',
      action: 'findings.recompute',
      after: result,
      at: now,
    });
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Recomputes every finding inside the caller's transaction (a command that changes what findings depend on —
 * an overlap, an account's kind — recomputes in the same transaction as its change, so both commit or neither).
 * Not audited: the caller audits its own change.
 */
export async function recomputeWithin(
  db: Queryable,
  policy: FindingsPolicy,
  now: Date,
): Promise<RecomputeResult> {
  await db.query('SELECT pg_advisory_xact_lock($1)', [RECOMPUTE_LOCK]);
  // One statement: upsert what holds now, resolve what no longer does. Both parts see the same snapshot, and no
  // row is touched by both (a key is either current or not). Statuses (snoozed, exempted) are kept here and
  // settled by applyStatuses below.
  const result = await db.query<{ opened: number; resolved: number }>(
    `WITH every AS MATERIALIZED (${CURRENT}),
     -- A seat is a saving once: a seat that is covered by a larger plan (duplicate) is not also reported idle, so
     -- totals over findings never count a seat's price twice.
     current AS (
       SELECT * FROM every e
       WHERE e.kind <> 'idle'
         OR NOT EXISTS (SELECT 1 FROM every d WHERE d.kind = 'duplicate' AND d.subscriber_id = e.subscriber_id)
     ),
     previous AS (
       SELECT f.key, f.status FROM findings f WHERE f.key IN (SELECT key FROM current)
     ),
     up AS (
       INSERT INTO findings AS f (key, kind, severity, license_id, subscriber_id, person_id, seats, evidence, savings,
         currency, first_seen_at, last_seen_at, status)
       SELECT key, kind, severity, license_id, subscriber_id, person_id, seats, evidence, savings, currency,
         $1, $1, 'open'
       FROM current
       ON CONFLICT (key) DO UPDATE SET
         severity = EXCLUDED.severity, license_id = EXCLUDED.license_id, subscriber_id = EXCLUDED.subscriber_id,
         person_id = EXCLUDED.person_id, seats = EXCLUDED.seats, evidence = EXCLUDED.evidence,
         savings = EXCLUDED.savings, currency = EXCLUDED.currency, last_seen_at = EXCLUDED.last_seen_at,
         -- a resolved finding that holds again is open again; its history (first seen) stays
         status = CASE WHEN f.status = 'resolved' THEN 'open' ELSE f.status END,
         status_until = CASE WHEN f.status = 'resolved' THEN NULL ELSE f.status_until END,
         status_reason = CASE WHEN f.status = 'resolved' THEN NULL ELSE f.status_reason END,
         status_by = CASE WHEN f.status = 'resolved' THEN NULL ELSE f.status_by END,
         resolved_at = CASE WHEN f.status = 'resolved' THEN NULL ELSE f.resolved_at END,
         resolved_how = CASE WHEN f.status = 'resolved' THEN NULL ELSE f.resolved_how END
       RETURNING f.key
     ),
     resolved AS (
       UPDATE findings f SET status = 'resolved', resolved_at = $1, resolved_how = 'no longer holds',
         status_until = NULL, status_reason = NULL, status_by = NULL
       -- NOT EXISTS, not NOT IN: an anti-join, where NOT IN over a set larger than work_mem compares every
       -- finding with every current key (minutes at a million accounts).
       WHERE f.status <> 'resolved' AND NOT EXISTS (SELECT 1 FROM current c WHERE c.key = f.key)
       RETURNING f.key
     )
     SELECT
       (SELECT count(*)::int FROM up u LEFT JOIN previous p ON p.key = u.key
        WHERE p.key IS NULL OR p.status = 'resolved') AS opened,
       (SELECT count(*)::int FROM resolved) AS resolved`,
    [now, policy.idleDays, policy.graceDays],
  );
  const statuses = await applyStatuses(db, now);
  await foldTallies(db);
  const open = await db.query<{ n: string | null }>(
    `SELECT sum(findings) AS n FROM finding_tallies WHERE status = 'open'`,
  );
  return {
    opened: result.rows[0]?.opened ?? 0,
    resolved: result.rows[0]?.resolved ?? 0,
    ...statuses,
    open: Number(open.rows[0]?.n ?? 0),
  };
}

/**
 * Folds the appended deltas of `finding_tallies` and `subscriber_tallies` into one row per group. Deltas a
 * concurrent transaction has not committed yet are not seen, so they stay and are folded next time; within the
 * recomputation's lock no other fold runs.
 */
export async function foldTallies(db: Queryable): Promise<void> {
  await db.query(
    `WITH gone AS (DELETE FROM finding_tallies RETURNING *)
     INSERT INTO finding_tallies (license_id, kind, status, currency, findings, seats, savings, unpriced)
     SELECT license_id, kind, status, currency, sum(findings), sum(seats), sum(savings), sum(unpriced)
     FROM gone GROUP BY license_id, kind, status, currency
     HAVING sum(findings) <> 0
     ORDER BY license_id, kind, status, currency`,
  );
  await db.query(
    `WITH gone AS (DELETE FROM subscriber_tallies RETURNING *)
     INSERT INTO subscriber_tallies (license_id, accounts)
     SELECT license_id, sum(accounts) FROM gone GROUP BY license_id HAVING sum(accounts) <> 0 ORDER BY license_id`,
  );
}

/** SQL for the findings' totals as of the time in parameter `now` (see `finding_tally` in migration 0008). */
export const FINDING_TALLY = (now: string) => `finding_tally(${now}::timestamptz)`;

/** Active exemptions at $1, as (finding id, reason, by, until): the one lasting longest wins when several cover. */
const COVER = `
  SELECT DISTINCT ON (c.finding_id) c.finding_id, c.reason, c.created_by, c.until
  FROM (
    SELECT f.id AS finding_id, e.id, e.reason, e.created_by, e.until
    FROM findings f JOIN exemptions e ON e.scope = 'seat' AND e.subscriber_id = f.subscriber_id
    WHERE f.kind = ANY($2::text[]) AND f.status <> 'resolved'
      AND e.ended_at IS NULL AND (e.until IS NULL OR e.until > $1)
    UNION ALL
    SELECT f.id, e.id, e.reason, e.created_by, e.until
    FROM findings f JOIN exemptions e ON e.scope = 'person' AND e.person_id = f.person_id
    WHERE f.kind = ANY($3::text[]) AND f.status <> 'resolved'
      AND e.ended_at IS NULL AND (e.until IS NULL OR e.until > $1)
    UNION ALL
    SELECT f.id, e.id, e.reason, e.created_by, e.until
    FROM findings f
    JOIN licenses l ON l.id = f.license_id
    JOIN exemptions e ON e.scope = 'product' AND e.product_id = l.product_id
    WHERE f.kind = ANY($4::text[]) AND f.status <> 'resolved'
      AND e.ended_at IS NULL AND (e.until IS NULL OR e.until > $1)
  ) c
  ORDER BY c.finding_id, c.until DESC NULLS FIRST, c.id
`;

/**
 * Settles statuses against the clock and the exemptions, set-based: snoozes that ended reopen; findings covered
 * by an active exemption become `exempted` (with its reason, author and end); exempted findings no longer covered
 * (the exemption ended, expired or was revoked) reopen. Commands that change exemptions or snoozes call it in
 * their transaction; every recomputation calls it last.
 */
export async function applyStatuses(
  db: Queryable,
  now: Date,
): Promise<{ exempted: number; reopened: number }> {
  // Many rows at once, like a recomputation: take turns with it rather than risk a deadlock (re-entrant within one).
  await db.query('SELECT pg_advisory_xact_lock($1)', [RECOMPUTE_LOCK]);
  const snoozes = await db.query(
    `UPDATE findings SET status = 'open', status_until = NULL, status_reason = NULL, status_by = NULL
     WHERE status = 'snoozed' AND status_until <= $1`,
    [now],
  );
  // The two updates touch disjoint rows (covered or not), so one statement holds both.
  const result = await db.query<{ exempted: number; lifted: number }>(
    `WITH cover AS (${COVER}),
     exempt AS (
       UPDATE findings f SET status = 'exempted', status_until = c.until, status_reason = c.reason,
         status_by = c.created_by
       FROM cover c
       WHERE f.id = c.finding_id
         AND ROW(f.status, f.status_until, f.status_reason, f.status_by)
           IS DISTINCT FROM ROW('exempted'::text, c.until, c.reason, c.created_by)
       RETURNING f.id
     ),
     lift AS (
       UPDATE findings f SET status = 'open', status_until = NULL, status_reason = NULL, status_by = NULL
       WHERE f.status = 'exempted' AND NOT EXISTS (SELECT 1 FROM cover c WHERE c.finding_id = f.id)
       RETURNING f.id
     )
     SELECT (SELECT count(*)::int FROM exempt) AS exempted, (SELECT count(*)::int FROM lift) AS lifted`,
    [now, EXEMPTIBLE.seat, EXEMPTIBLE.person, EXEMPTIBLE.product],
  );
  return {
    exempted: result.rows[0]?.exempted ?? 0,
    reopened: (snoozes.rowCount ?? 0) + (result.rows[0]?.lifted ?? 0),
  };
}

/**
 * The status a finding has at `now` (SQL over alias `f`, time in parameter `now`): a snooze or exemption whose end
 * has passed reads as `open` even before the next recomputation settles it.
 */
export const EFFECTIVE_STATUS = (now: string) =>
  `(CASE WHEN f.status IN ('snoozed', 'exempted') AND f.status_until <= ${now} THEN 'open' ELSE f.status END)`;
