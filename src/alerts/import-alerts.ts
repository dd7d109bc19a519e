/**
 * Alerts to the IT channels after an import: new findings whose annual savings reach `SEATKEEPER_ALERT_MIN_SAVINGS`,
 * new overages, and failed imports with their recorded reason. Each goes into the `notifications` outbox as neutral
 * data (`alert-payloads.ts`), one row per event and channel, keyed so that it exists once however many imports,
 * replicas or concurrent producers see the event; the chat surfaces deliver each row once.
 *
 * "New" is read from the store, not from the import that just ran: a finding first seen within the last week that
 * no alert has named yet, a failed run that is not a repeat of the previous run's failure. So a producer that did not
 * run (a process stopped between import and alert) is caught up by the next one, and an import that finds the same
 * findings again alerts nothing.
 */
import type pg from 'pg';
import type { FindingRow } from '../../handlers/reports.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { withTransaction } from '../store/transaction.ts';
import {
  type FailedImport,
  findingAlert,
  findingSummary,
  importFailureAlert,
  type OverageFinding,
  overageAlert,
} from './alert-payloads.ts';
import { type AlertTarget, alertTargets, outboxTarget, targetKey } from './alert-targets.ts';

type Db = Pick<pg.ClientBase, 'query'>;

/** How far back a finding's first sighting or a failed run may lie and still be news. */
const RECENT_DAYS = 7;
/**
 * Findings alerted one by one per channel and run; beyond this they are told in one summary message (the first
 * import of a large tenant must not flood the channel).
 */
export const MAX_SINGLE_FINDING_ALERTS = 10;
/** Findings listed in a summary message (each row carries its buttons; the rest are counted). */
const SUMMARY_ROWS = 20;

export interface AlertOptions {
  now: Date;
  /** Defaults to `SEATKEEPER_ALERT_MIN_SAVINGS`. */
  minSavings?: number;
  /** Defaults to the configured channels (`alert-targets.ts`). */
  targets?: readonly AlertTarget[];
}

export interface AlertReport {
  /** Notifications this call added (others may have been added by a concurrent producer). */
  findings: number;
  summaries: number;
  overages: number;
  importFailures: number;
}

/** Raises the alerts due as of `now`. Safe to run any number of times, concurrently too. */
export async function raiseImportAlerts(
  store: Store,
  config: Config,
  options: AlertOptions,
): Promise<AlertReport> {
  const report: AlertReport = { findings: 0, summaries: 0, overages: 0, importFailures: 0 };
  const targets = options.targets ?? alertTargets(config);
  if (targets.length === 0) return report;
  const minSavings = options.minSavings ?? config.SEATKEEPER_ALERT_MIN_SAVINGS;
  const since = new Date(options.now.getTime() - RECENT_DAYS * 86_400_000);
  for (const to of targets) {
    const findings = await newFindings(store.pool, to, since, minSavings);
    const { single, summaries } = await addFindingAlerts(store, to, findings, minSavings, options.now);
    report.findings += single;
    report.summaries += summaries;
    report.overages += await addOverageAlerts(store.pool, to, since, options.now);
    report.importFailures += await addImportFailureAlerts(store.pool, to, since, options.now);
  }
  return report;
}

/**
 * What `importSource` calls when an import ends, whatever its outcome. Never throws: an alert that cannot be raised
 * is logged, and the next import raises it.
 */
export async function raiseAlertsAfterImport(
  store: Store,
  config: Config,
  now: Date,
  log?: Logger,
): Promise<void> {
  try {
    const report = await raiseImportAlerts(store, config, { now });
    const total = report.findings + report.summaries + report.overages + report.importFailures;
    if (total > 0) log?.info({ ...report }, 'alerts: raised after import');
  } catch (error) {
    log?.warn({ err: error }, 'alerts: not raised after import (the next import tries again)');
  }
}

const findingKey = (id: number, to: AlertTarget) => `finding-alert:${id}:${targetKey(to)}`;

interface FindingDbRow {
  id: number;
  kind: string;
  severity: string;
  status: string;
  license_id: number | null;
  sku: string | null;
  product: string | null;
  vendor: string | null;
  account: string | null;
  person_email: string | null;
  seats: number;
  savings: string | null;
  currency: string | null;
  evidence: Record<string, unknown>;
  first_seen_at: Date;
  last_seen_at: Date;
}

const FINDING_COLUMNS = `f.id, f.kind, f.severity, f.status, f.license_id, l.sku,
  COALESCE(pr.name, l.name, f.evidence->>'app') AS product, l.vendor, COALESCE(s.email, s.login) AS account,
  p.primary_email AS person_email, f.seats, f.savings, f.currency, f.evidence, f.first_seen_at, f.last_seen_at`;
const FINDING_JOINS = `FROM findings f
  LEFT JOIN licenses l ON l.id = f.license_id
  LEFT JOIN products pr ON pr.id = l.product_id
  LEFT JOIN cloud_subscribers s ON s.id = f.subscriber_id
  LEFT JOIN persons p ON p.id = f.person_id`;

function findingRow(r: FindingDbRow): FindingRow {
  return {
    id: r.id,
    kind: r.kind,
    severity: r.severity,
    status: r.status,
    statusUntil: null,
    statusReason: null,
    statusBy: null,
    resolvedAt: null,
    resolvedHow: null,
    licenseId: r.license_id,
    sku: r.sku,
    product: r.product,
    vendor: r.vendor,
    email: r.account,
    person: r.person_email,
    seats: r.seats,
    savings: r.savings === null ? null : Number(r.savings),
    currency: r.currency,
    evidence: r.evidence,
    firstSeenAt: r.first_seen_at.toISOString(),
    lastSeenAt: r.last_seen_at.toISOString(),
  };
}

/** Open findings first seen since `since`, saving at least `minSavings` a year, that no alert to `to` named yet. */
async function newFindings(db: Db, to: AlertTarget, since: Date, minSavings: number): Promise<FindingRow[]> {
  const found = await db.query<FindingDbRow>(
    `SELECT ${FINDING_COLUMNS} ${FINDING_JOINS}
     WHERE f.status = 'open' AND f.kind <> 'overage' AND f.first_seen_at >= $1
       AND f.savings IS NOT NULL AND f.savings >= $2
       AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.dedupe_key = 'finding-alert:' || f.id || ':' || $3)
     ORDER BY f.savings DESC, f.id`,
    [since, minSavings, targetKey(to)],
  );
  return found.rows.map(findingRow);
}

/**
 * One alert per finding, up to `MAX_SINGLE_FINDING_ALERTS`; the rest in one summary. Every finding gets its own
 * outbox row either way — the summarized ones already marked sent, pointing at the summary — so each finding is
 * told once. Rows and summary commit together; a key another producer wrote first is left alone, and the summary
 * counts only what this call wrote.
 */
async function addFindingAlerts(
  store: Store,
  to: AlertTarget,
  findings: readonly FindingRow[],
  minSavings: number,
  now: Date,
): Promise<{ single: number; summaries: number }> {
  if (findings.length === 0) return { single: 0, summaries: 0 };
  const target = outboxTarget(to);
  const single = findings.slice(0, MAX_SINGLE_FINDING_ALERTS);
  const folded = findings.slice(MAX_SINGLE_FINDING_ALERTS);
  const summaryKey = folded.length
    ? `finding-alert-summary:${folded[0]?.id}:${folded.length}:${targetKey(to)}`
    : undefined;
  return withTransaction(store.pool, async (client) => {
    const rows = [
      ...single.map((f) => ({
        key: findingKey(f.id, to),
        payload: findingAlert(f, minSavings),
        folded: false,
      })),
      ...folded.map((f) => ({
        key: findingKey(f.id, to),
        payload: { findingId: f.id, foldedInto: summaryKey },
        folded: true,
      })),
    ];
    const inserted = await client.query<{ dedupe_key: string; folded: boolean }>(
      `INSERT INTO notifications (dedupe_key, kind, target, payload, created_at, sent_at)
       SELECT r.key, 'finding-alert', $2::jsonb, r.payload, $3, CASE WHEN r.folded THEN $3::timestamptz END
       FROM jsonb_to_recordset($1::jsonb) AS r(key text, payload jsonb, folded boolean)
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING dedupe_key, sent_at IS NOT NULL AS folded`,
      [JSON.stringify(rows), JSON.stringify(target), now],
    );
    const mine = new Set(inserted.rows.filter((r) => r.folded).map((r) => r.dedupe_key));
    const told = folded.filter((f) => mine.has(findingKey(f.id, to)));
    let summaries = 0;
    if (told.length > 0 && summaryKey) {
      const summary = await client.query(
        `INSERT INTO notifications (dedupe_key, kind, target, payload, created_at) VALUES ($1, 'finding-alert', $2, $3, $4)
         ON CONFLICT (dedupe_key) DO NOTHING`,
        [
          summaryKey,
          JSON.stringify(target),
          JSON.stringify(findingSummary(told, minSavings, SUMMARY_ROWS)),
          now,
        ],
      );
      summaries = summary.rowCount ?? 0;
    }
    return { single: inserted.rows.length - mine.size, summaries };
  });
}

/** One alert per new overage (any amount: it is a cost, not a saving) and channel, in one statement. */
async function addOverageAlerts(db: Db, to: AlertTarget, since: Date, now: Date): Promise<number> {
  const found = await db.query<FindingDbRow & { idle_seats: number }>(
    `SELECT ${FINDING_COLUMNS},
       (SELECT count(*)::int FROM findings i WHERE i.license_id = f.license_id AND i.kind = 'idle'
          AND i.status = 'open') AS idle_seats
     ${FINDING_JOINS}
     WHERE f.status = 'open' AND f.kind = 'overage' AND f.first_seen_at >= $1
       AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.dedupe_key = 'overage-alert:' || f.id || ':' || $2)
     ORDER BY f.id`,
    [since, targetKey(to)],
  );
  if (found.rows.length === 0) return 0;
  const rows = found.rows.map((r) => ({
    key: `overage-alert:${r.id}:${targetKey(to)}`,
    payload: overageAlert({ ...findingRow(r), idleSeats: r.idle_seats } satisfies OverageFinding),
  }));
  return insertAlerts(db, 'overage-alert', to, rows, now);
}

/**
 * One alert per failed import run and channel. A run failing for the same reason as the run before it is not news
 * (the first of the streak said it), so a connector failing every six hours for days alerts once, and again when
 * the reason changes or after it has worked in between. A run refused while another import of the same connector
 * was under way is not a failure of the connector and alerts nothing.
 */
async function addImportFailureAlerts(db: Db, to: AlertTarget, since: Date, now: Date): Promise<number> {
  const found = await db.query<{
    id: number;
    source: string;
    trigger: string;
    started_at: Date;
    finished_at: Date | null;
    error: string | null;
    last_success: Date | null;
  }>(
    `SELECT r.id, r.source, r.trigger, r.started_at, r.finished_at, r.error,
       (SELECT max(s.finished_at) FROM import_runs s WHERE s.source = r.source AND s.outcome = 'succeeded'
          AND s.started_at < r.started_at) AS last_success
     FROM import_runs r
     LEFT JOIN LATERAL (
       SELECT p.outcome, p.error FROM import_runs p
       WHERE p.source = r.source AND (p.started_at, p.id) < (r.started_at, r.id) AND p.outcome <> 'running'
       ORDER BY p.started_at DESC, p.id DESC LIMIT 1
     ) prev ON true
     WHERE r.outcome = 'failed' AND r.started_at >= $1
       AND NOT (prev.outcome IS NOT DISTINCT FROM 'failed' AND prev.error IS NOT DISTINCT FROM r.error)
       -- refused because another import of the source was running (it held the lease): nothing is wrong with it
       AND NOT EXISTS (
         SELECT 1 FROM import_runs o
         WHERE o.source = r.source AND o.id <> r.id AND o.started_at <= r.started_at
           AND (o.finished_at IS NULL OR o.finished_at >= r.finished_at)
       )
       AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.dedupe_key = 'import-failure:' || r.id || ':' || $2)
     ORDER BY r.started_at, r.id`,
    [since, targetKey(to)],
  );
  if (found.rows.length === 0) return 0;
  const rows = found.rows.map((r) => ({
    key: `import-failure:${r.id}:${targetKey(to)}`,
    payload: importFailureAlert({
      runId: r.id,
      source: r.source,
      trigger: r.trigger,
      startedAt: r.started_at.toISOString(),
      finishedAt: r.finished_at?.toISOString() ?? null,
      error: r.error,
      lastSuccess: r.last_success?.toISOString() ?? null,
    } satisfies FailedImport),
  }));
  return insertAlerts(db, 'import-failure', to, rows, now);
}

/** Adds alerts in one statement; a key that exists already is left alone. Returns how many this call added. */
async function insertAlerts(
  db: Db,
  kind: string,
  to: AlertTarget,
  rows: readonly { key: string; payload: Record<string, unknown> }[],
  now: Date,
): Promise<number> {
  const inserted = await db.query(
    `INSERT INTO notifications (dedupe_key, kind, target, payload, created_at)
     SELECT r.key, $2, $3::jsonb, r.payload, $4
     FROM jsonb_to_recordset($1::jsonb) AS r(key text, payload jsonb)
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [JSON.stringify(rows), kind, JSON.stringify(outboxTarget(to)), now],
  );
  return inserted.rowCount ?? 0;
}
