/**
 * The renewal scan: alerts at lead times before each cancel-by date, and once the cancel-by date has passed.
 *
 * Each (license, renewal date, threshold) alerts once, however many times the scan runs, on however many replicas:
 * the scan claims a row in `renewal_alerts` (its primary key is that triple) and writes the notifications in the same
 * statement, so a claim and its notifications commit together or not at all. Only the tightest threshold reached
 * alerts: a contract entered 20 days before its cancel-by date gets one alert (30 days), not three.
 */
import type pg from 'pg';
import { RENEWAL_CTES, renewalParams } from './renewal-sql.ts';
import type { RenewalSettings } from './settings.ts';

export interface ScanAlert {
  licenseId: number;
  sku: string;
  renewalDate: string;
  cancelBy: string;
  /** The lead time reached, in days before the cancel-by date; 0 = the cancel-by date was missed. */
  thresholdDays: number;
  /** `renewal-alert` (decide), or `renewal-cancel-reminder` (declined, and the vendor is not told yet). */
  kind: string;
}

export interface ScanResult {
  alerts: ScanAlert[];
  /** Notifications written (one per target of each alert). */
  notifications: number;
}

/** Runs the scan as of `now`. Safe to run any number of times, concurrently too. */
export async function scanRenewals(
  db: Pick<pg.ClientBase, 'query'>,
  settings: Pick<RenewalSettings, 'leadDays' | 'procurementChannel' | 'lookbackDays' | 'bufferPercent'> &
    Partial<Pick<RenewalSettings, 'procurementPlatforms'>>,
  now: Date,
): Promise<ScanResult> {
  const result = await db.query(
    `WITH ${RENEWAL_CTES},
     due AS (
       SELECT r.*, (r.cancel_by - $2::date) AS days_left,
         CASE WHEN r.cancel_by < $2::date THEN 0
              ELSE (SELECT min(t) FROM unnest($5::int[]) AS t WHERE t >= r.cancel_by - $2::date) END AS threshold,
         CASE WHEN r.decision IS NOT DISTINCT FROM 'decline' THEN 'renewal-cancel-reminder' ELSE 'renewal-alert' END
           AS kind
       FROM renewals r
       WHERE r.renews_on >= $2::date
         -- A snooze silences the renewal until its date; the tightest threshold reached by then alerts after it.
         AND NOT (r.decision IS NOT DISTINCT FROM 'snooze' AND r.decision_until > $2::date)
         -- Declined: remind only while nobody has told the vendor.
         AND NOT (r.decision IS NOT DISTINCT FROM 'decline' AND NOT r.vendor_task_open)
     ),
     claimed AS (
       INSERT INTO renewal_alerts (license_id, renewal_date, threshold_days, sent_at)
       SELECT d.id, d.renews_on, d.threshold, $1 FROM due d WHERE d.threshold IS NOT NULL
       ON CONFLICT DO NOTHING
       RETURNING license_id, renewal_date, threshold_days
     ),
     outgoing AS (
       SELECT d.*, tg.key AS target_key, tg.target
       FROM claimed c
       JOIN due d ON d.id = c.license_id AND d.renews_on = c.renewal_date
       CROSS JOIN LATERAL (
         -- One copy per configured platform when both Slack and Teams reach the channel (each surface takes only
         -- rows pinned to it), else one unpinned copy for whichever surface delivers it.
         SELECT CASE WHEN cardinality($7::text[]) > 1 THEN p.platform || ':channel:' ELSE 'channel:' END || $6::text AS key,
           jsonb_build_object('channel', $6::text)
             || CASE WHEN cardinality($7::text[]) > 1 THEN jsonb_build_object('platform', p.platform)
                     ELSE '{}'::jsonb END AS target
         FROM unnest(CASE WHEN cardinality($7::text[]) > 1 THEN $7::text[] ELSE ARRAY[NULL::text] END) AS p(platform)
         UNION ALL
         SELECT 'email:' || lower(d.owner_email),
           jsonb_build_object('email', lower(d.owner_email)) || COALESCE(
             (SELECT jsonb_build_object('personId', pe.person_id) FROM person_emails pe
              WHERE pe.email = lower(d.owner_email)), '{}'::jsonb)
         WHERE d.owner_email IS NOT NULL
       ) tg
     ),
     sent AS (
       INSERT INTO notifications (dedupe_key, kind, target, payload, created_at)
       SELECT concat_ws(':', o.kind, o.id, o.renews_on, o.threshold, o.target_key), o.kind, o.target,
         jsonb_build_object(
           'licenseId', o.id, 'product', o.product, 'sku', o.sku, 'vendor', o.vendor,
           'renewalDate', o.renews_on, 'cancelBy', o.cancel_by, 'daysLeft', o.days_left,
           'thresholdDays', o.threshold, 'missed', o.threshold = 0, 'autoRenew', o.auto_renew,
           'quantity', o.quantity, 'consumed', o.consumed_units, 'recommendedQuantity', o.recommended,
           'annualCost', round(o.annual_cost, 2)::float8,
           'recommendedCost', round(o.unit_price * o.recommended * o.periods, 2)::float8,
           'currency', o.currency, 'idleSeats', o.idle_seats,
           'budgetRemaining', round(o.budget_remaining, 2)::float8, 'budgetCurrency', o.budget_currency,
           'owner', o.owner_email, 'vendorContact', o.vendor_contact,
           'decisionId', o.decision_id, 'decision', o.decision),
         $1
       FROM outgoing o
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING id
     )
     SELECT d.id, d.sku, d.renews_on, d.cancel_by, c.threshold_days, d.kind,
       (SELECT count(*)::int FROM sent) AS notifications
     FROM claimed c JOIN due d ON d.id = c.license_id AND d.renews_on = c.renewal_date
     ORDER BY d.cancel_by, d.id`,
    [
      ...renewalParams(now, settings),
      settings.leadDays,
      settings.procurementChannel,
      settings.procurementPlatforms ?? [],
    ],
  );
  return {
    alerts: result.rows.map((r) => ({
      licenseId: r.id,
      sku: r.sku,
      renewalDate: r.renews_on,
      cancelBy: r.cancel_by,
      thresholdDays: r.threshold_days,
      kind: r.kind,
    })),
    notifications: result.rows[0]?.notifications ?? 0,
  };
}
