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

type Queryable = Pick<pg.ClientBase, 'query'>;

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
  -- vendor reports activity at all, and not for departed holders (their finding says more)
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
  -- unmatched: accounts in clearing
  SELECT 'unmatched:' || s.id, 'unmatched', 'low', l.id, s.id, NULL, 1,
    jsonb_build_object('email', s.email, 'login', s.login, 'vendorAccountId', s.vendor_account_id),
    NULL, l.currency
  FROM cloud_subscribers s
  JOIN licenses l ON l.id = s.license_id
  WHERE s.is_active AND l.present AND s.person_id IS NULL AND s.account_kind = 'person'
`;

export interface RecomputeResult {
  opened: number;
  resolved: number;
  open: number;
}

/** Recomputes every finding in one transaction; audited as an automatic change. */
export async function recomputeFindings(
  client: pg.PoolClient,
  policy: FindingsPolicy,
  now: Date,
): Promise<RecomputeResult> {
  await client.query('BEGIN');
  try {
    const result = await recomputeIn(client, policy, now);
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

async function recomputeIn(db: Queryable, policy: FindingsPolicy, now: Date): Promise<RecomputeResult> {
  // Snoozes end by themselves.
  await db.query(
    `UPDATE findings SET status = 'open', status_until = NULL WHERE status = 'snoozed' AND status_until <= $1`,
    [now],
  );
  // One statement: upsert what holds now, resolve what no longer does. Both parts see the same snapshot, and no
  // row is touched by both (a key is either current or not).
  const result = await db.query<{ opened: number; resolved: number }>(
    `WITH current AS (${CURRENT}),
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
         resolved_at = CASE WHEN f.status = 'resolved' THEN NULL ELSE f.resolved_at END,
         resolved_how = CASE WHEN f.status = 'resolved' THEN NULL ELSE f.resolved_how END
       RETURNING f.key
     ),
     resolved AS (
       UPDATE findings f SET status = 'resolved', resolved_at = $1, resolved_how = 'no longer holds'
       WHERE f.status <> 'resolved' AND f.key NOT IN (SELECT key FROM current)
       RETURNING f.key
     )
     SELECT
       (SELECT count(*)::int FROM up u LEFT JOIN previous p ON p.key = u.key
        WHERE p.key IS NULL OR p.status = 'resolved') AS opened,
       (SELECT count(*)::int FROM resolved) AS resolved`,
    [now, policy.idleDays, policy.graceDays],
  );
  const open = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM findings WHERE status = 'open'`);
  return {
    opened: result.rows[0]?.opened ?? 0,
    resolved: result.rows[0]?.resolved ?? 0,
    open: open.rows[0]?.n ?? 0,
  };
}
