/**
 * The import pipeline: a connector's pages are validated and staged (page by page, memory flat in org size), then
 * switched into the inventory in one transaction. A failed or partial import leaves the previous inventory exactly
 * as it was and records why it failed.
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Connector } from '../../connectors/types.ts';
import { appendAudit } from '../store/audit.ts';
import type { Store } from '../store/store.ts';
import { postLicensesToCatalog } from './catalog.ts';
import { accountRecord, personRecord, subscriptionRecord, usageRecord, validatePage } from './records.ts';

export interface ImportCounts {
  subscriptions: number;
  accounts: number;
  persons: number;
  added: number;
  updated: number;
  deactivated: number;
  deleted: number;
  matched: number;
  clearing: number;
  [key: string]: number;
}

export interface ImportResult {
  runId: number;
  source: string;
  counts: ImportCounts;
}

export interface ImportOptions {
  /** What started the import (`cli`, `schedule`, ...), recorded on the run. */
  trigger: string;
  /** Also import persons (the connector is the configured person source). */
  persons?: boolean;
  /** Default minimum entitlement period for licenses without their own, in days. */
  minEntitlementDays: number;
  now?: () => Date;
  /** Called after each staged page (progress display). */
  onProgress?: (progress: { stream: string; pages: number; records: number }) => void;
  /** How long a lease lasts without renewal; a crashed import's source is free again after it. */
  leaseMs?: number;
}

/** The import did not complete; the previous inventory is unchanged and the run records `message`. */
export class ImportFailedError extends Error {
  constructor(
    readonly runId: number | undefined,
    readonly source: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImportFailedError';
  }
}

/** Memory for each sort or hash of the switch (a few per statement, on one connection, for its duration). */
const SWITCH_WORK_MEM = '64MB';

/** New subscribers from which the switch refreshes the table's statistics before it goes on. */
const ANALYZE_AFTER_ROWS = 1000;

/** Rows written per staging statement (a few vendor pages; the memory they hold stays small). */
const STAGE_BATCH_ROWS = 5000;

// Longer than any wait a vendor may ask for between two pages (VendorHttp honours Retry-After up to 5 min).
const DEFAULT_LEASE_MS = 10 * 60_000;

/** Runs one import of `connector` into the store. */
export async function runImport(
  store: Store,
  connector: Connector,
  options: ImportOptions,
): Promise<ImportResult> {
  const now = options.now ?? (() => new Date());
  const source = connector.source;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const { pool } = store;

  const run = await pool.query<{ id: number }>(
    `INSERT INTO import_runs (source, trigger, started_at) VALUES ($1, $2, $3) RETURNING id`,
    [source, options.trigger, now()],
  );
  const runId = run.rows[0]?.id as number;

  try {
    await takeLease(pool, source, runId, now(), leaseMs);
  } catch (error) {
    await recordFailure(pool, runId, now(), (error as Error).message);
    throw new ImportFailedError(runId, source, (error as Error).message);
  }

  // Renewed every tenth of its length, not per page: each renewal is a commit (a disk flush), and a large
  // organisation has thousands of pages.
  let renewedAt = now().getTime();
  const renew = async () => {
    const at = now();
    if (at.getTime() - renewedAt < leaseMs / 10) return;
    await renewLease(pool, source, runId, at, leaseMs);
    renewedAt = at.getTime();
  };
  const stagedCounts = { subscriptions: 0, accounts: 0, persons: 0 };
  try {
    // Subscriptions are upserted page by page (a vendor may list one twice, and one statement cannot upsert a row
    // twice); the rest is written in batches of several pages.
    stagedCounts.subscriptions = await stage(
      connector.subscriptions(),
      'subscriptions',
      (page, offset) => validatePage(subscriptionRecord, page, `${source} subscriptions`, offset),
      (rows) => stageSubscriptions(pool, runId, rows, connector.capabilities.usage),
      1,
    );
    stagedCounts.accounts = await stage(
      connector.accounts(),
      'accounts',
      (page, offset) => validatePage(accountRecord, page, `${source} accounts`, offset),
      (rows) => stageAccounts(pool, runId, rows),
    );
    // Usage and persons are read side by side: two vendor streams, two connections, each waiting on the network
    // while the other is written. When one fails the other stops at its next page.
    let halted = false;
    const alongside = async <T>(work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (error) {
        halted = true;
        throw error;
      }
    };
    const usageStaged = alongside(async () => {
      const usagePages = connector.usage?.();
      if (!usagePages) return;
      const usage = await openUsageStaging(pool, runId);
      try {
        await stage(
          usagePages,
          'usage',
          (page, offset) => validatePage(usageRecord, page, `${source} usage`, offset),
          (rows) => usage.add(rows),
          STAGE_BATCH_ROWS,
          () => halted,
        );
        if (!halted) await usage.apply();
      } finally {
        await usage.close();
      }
    });
    const importPersons = options.persons === true && connector.persons !== undefined;
    const personsStaged = alongside(async () => {
      const personPages = importPersons ? connector.persons?.() : undefined;
      if (!personPages) return 0;
      return stage(
        personPages,
        'persons',
        (page, offset) => validatePage(personRecord, page, `${source} persons`, offset),
        (rows) => stagePersons(pool, runId, rows),
        STAGE_BATCH_ROWS,
        () => halted,
      );
    });
    const [usageOutcome, personsOutcome] = await Promise.allSettled([usageStaged, personsStaged]);
    if (usageOutcome.status === 'rejected') throw usageOutcome.reason;
    if (personsOutcome.status === 'rejected') throw personsOutcome.reason;
    stagedCounts.persons = personsOutcome.value;
    const counts = await switchOver(store, source, runId, now(), {
      ...options,
      persons: importPersons,
      staged: stagedCounts,
    });
    return { runId, source, counts };
  } catch (error) {
    const message =
      error instanceof ImportFailedError ? error.message : `${source}: ${(error as Error).message}`;
    await clearStaging(pool, runId).catch(() => undefined);
    await recordFailure(pool, runId, now(), message).catch(() => undefined);
    await releaseLease(pool, source, runId).catch(() => undefined);
    throw new ImportFailedError(runId, source, message);
  }

  /**
   * Reads a stream's pages, validates each, and writes the rows in batches of at least `batchRows` (one statement
   * per few pages rather than per page: small vendor pages would otherwise cost a round trip each).
   */
  async function stage<T, R>(
    pages: AsyncIterable<T[]>,
    stream: string,
    validate: (page: T[], offset: number) => R[],
    write: (rows: R[]) => Promise<void>,
    batchRows = STAGE_BATCH_ROWS,
    /** Whether a stream read alongside this one failed: then this one stops too, its rows unwanted. */
    halted: () => boolean = () => false,
  ): Promise<number> {
    let records = 0;
    let pageCount = 0;
    let batch: R[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const rows = batch;
      batch = [];
      await write(rows);
    };
    const iterator = pages[Symbol.asyncIterator]();
    // A page asked for in advance may fail while the one before it is written: its failure surfaces when it is
    // awaited, and must not count as unhandled meanwhile.
    const ask = () => {
      const asked = iterator.next();
      asked.catch(() => undefined);
      return asked;
    };
    let next = ask();
    try {
      for (;;) {
        const current = await next;
        if (current.done) break;
        if (halted()) {
          iterator.return?.(undefined)?.catch(() => undefined);
          return records;
        }
        const page = current.value;
        const offset = records;
        records += page.length;
        pageCount += 1;
        options.onProgress?.({ stream, pages: pageCount, records });
        // Ask the vendor for the next page while this one is validated and written: network, validation and
        // database work side by side.
        next = ask();
        for (const row of validate(page, offset)) batch.push(row);
        if (batch.length >= batchRows) await flush();
        await renew();
      }
      await flush();
    } catch (error) {
      // The page asked for in advance is not wanted any more.
      iterator.return?.(undefined)?.catch(() => undefined);
      throw error;
    }
    return records;
  }
}

/** Records an import that failed before it could start (e.g. its connector could not be built). */
export async function recordFailedImport(
  store: Store,
  source: string,
  trigger: string,
  message: string,
  now = new Date(),
) {
  await store.pool.query(
    `INSERT INTO import_runs (source, trigger, started_at, finished_at, outcome, error) VALUES ($1, $2, $3, $3, 'failed', $4)`,
    [source, trigger, now, message.slice(0, 4000)],
  );
}

const HOLDER = `${hostname()}:${process.pid}`;

/** Whether a lease holder is a process on this host that no longer runs. */
function holderIsDead(holder: string | null): boolean {
  if (!holder) return false;
  const [host, pid] = holder.split(':');
  if (host !== hostname() || !pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function takeLease(
  pool: pg.Pool,
  source: string,
  runId: number,
  now: Date,
  leaseMs: number,
): Promise<void> {
  const current = await pool.query<{ run_id: number; holder: string | null; expires_at: Date }>(
    `SELECT run_id, holder, expires_at FROM import_leases WHERE source = $1`,
    [source],
  );
  const held = current.rows[0];
  // Take the lease if it is free, expired, or held by a process on this host that died (killed mid-import).
  const takeable = !held || held.expires_at < now || holderIsDead(held.holder);
  const taken = takeable
    ? await pool.query(
        `INSERT INTO import_leases (source, run_id, expires_at, holder) VALUES ($1, $2, $3, $4)
         ON CONFLICT (source) DO UPDATE SET run_id = EXCLUDED.run_id, expires_at = EXCLUDED.expires_at,
           holder = EXCLUDED.holder
           WHERE import_leases.run_id IS NOT DISTINCT FROM $5`,
        [source, runId, new Date(now.getTime() + leaseMs), HOLDER, held?.run_id ?? null],
      )
    : { rowCount: 0 };
  if (taken.rowCount === 0) {
    throw new Error(`an import of ${source} is already running; this one was not started`);
  }
  const previous = held?.run_id;
  if (previous != null && previous !== runId) {
    // The previous holder died mid-import: its staged rows are garbage and its run never finished.
    await clearStaging(pool, previous);
    await pool.query(
      `UPDATE import_runs SET outcome = 'failed', finished_at = $2,
         error = 'interrupted: the importing process stopped before it finished' WHERE id = $1 AND outcome = 'running'`,
      [previous, now],
    );
  }
}

async function renewLease(
  pool: pg.Pool,
  source: string,
  runId: number,
  now: Date,
  leaseMs: number,
): Promise<void> {
  const renewed = await pool.query(
    `UPDATE import_leases SET expires_at = $3 WHERE source = $1 AND run_id = $2`,
    [source, runId, new Date(now.getTime() + leaseMs)],
  );
  if (renewed.rowCount === 0)
    throw new Error(`lost the import lease on ${source} (another import took it over)`);
}

async function releaseLease(db: Queryable, source: string, runId: number): Promise<void> {
  await db.query(`DELETE FROM import_leases WHERE source = $1 AND run_id = $2`, [source, runId]);
}

async function recordFailure(pool: pg.Pool, runId: number, now: Date, message: string): Promise<void> {
  await pool.query(`UPDATE import_runs SET outcome = 'failed', finished_at = $2, error = $3 WHERE id = $1`, [
    runId,
    now,
    message.slice(0, 4000),
  ]);
}

async function clearStaging(pool: pg.Pool, runId: number): Promise<void> {
  for (const table of ['staging_subscriptions', 'staging_accounts', 'staging_persons']) {
    await pool.query(`DELETE FROM ${table} WHERE run_id = $1`, [runId]);
  }
}

type Queryable = Pick<pg.ClientBase, 'query'>;

async function stageSubscriptions(
  db: Queryable,
  runId: number,
  rows: ReturnType<typeof subscriptionRecord.parse>[],
  usageSignal: boolean,
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO staging_subscriptions (run_id, vendor_key, vendor, sku, name, license_model, unlimited,
       capability_status, consumed_units, enabled_units, suspended_units, warning_units, locked_out_units, is_trial,
       next_lifecycle_at, usage_signal)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::text[],
       $9::int[], $10::int[], $11::int[], $12::int[], $13::int[], $14::bool[], $15::timestamptz[], $16::bool[])
     ON CONFLICT (run_id, vendor_key) DO UPDATE SET vendor = EXCLUDED.vendor, sku = EXCLUDED.sku,
       name = EXCLUDED.name, license_model = EXCLUDED.license_model, unlimited = EXCLUDED.unlimited,
       capability_status = EXCLUDED.capability_status, consumed_units = EXCLUDED.consumed_units,
       enabled_units = EXCLUDED.enabled_units, suspended_units = EXCLUDED.suspended_units,
       warning_units = EXCLUDED.warning_units, locked_out_units = EXCLUDED.locked_out_units,
       is_trial = EXCLUDED.is_trial, next_lifecycle_at = EXCLUDED.next_lifecycle_at`,
    [
      runId,
      rows.map((r) => r.key),
      rows.map((r) => r.vendor),
      rows.map((r) => r.sku),
      rows.map((r) => r.name),
      rows.map((r) => r.licenseModel ?? null),
      rows.map((r) => r.unlimited === true || r.licenseModel === 'unlimited'),
      rows.map((r) => r.capabilityStatus),
      rows.map((r) => r.consumedUnits),
      rows.map((r) => r.enabledUnits),
      rows.map((r) => r.suspendedUnits ?? 0),
      rows.map((r) => r.warningUnits ?? 0),
      rows.map((r) => r.lockedOutUnits ?? 0),
      rows.map((r) => r.isTrial ?? false),
      rows.map((r) => r.nextLifecycleAt ?? null),
      rows.map(() => usageSignal),
    ],
  );
}

async function stageAccounts(
  db: Queryable,
  runId: number,
  rows: ReturnType<typeof accountRecord.parse>[],
): Promise<void> {
  if (rows.length === 0) return;
  // A vendor that lists one assignment twice (overlapping pages) stages it once.
  await db.query(
    `INSERT INTO staging_accounts (run_id, subscription_key, vendor_account_id, email, login, account_enabled,
       group_inherited, assigned_at, last_activity_at, last_activity_source)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::bool[],
       $8::timestamptz[], $9::timestamptz[], $10::text[])
     ON CONFLICT (run_id, subscription_key, vendor_account_id) DO NOTHING`,
    [
      runId,
      rows.map((r) => r.subscriptionKey),
      rows.map((r) => r.accountId),
      rows.map((r) => r.email ?? null),
      rows.map((r) => r.login ?? null),
      rows.map((r) => r.enabled ?? true),
      rows.map((r) => r.groupInherited ?? false),
      rows.map((r) => r.assignedAt ?? null),
      rows.map((r) => r.lastActivityAt ?? null),
      rows.map((r) => (r.lastActivityAt ? (r.lastActivitySource ?? null) : null)),
    ],
  );
}

/**
 * Usage arrives after the accounts and is applied to them once, when all of it is in: applied page by page, each
 * page would scan every staged account of the run (a vendor reports usage by account, not by assignment), which
 * grows with the square of the organisation. The signals wait in a temporary table of their own on one connection.
 */
async function openUsageStaging(pool: pg.Pool, runId: number) {
  const client = await pool.connect();
  // Named after the run: an embedded database shares one session between connections.
  const table = `staging_usage_${runId}`;
  try {
    await client.query(
      `CREATE TEMPORARY TABLE ${table} (account text NOT NULL, sub text, at timestamptz NOT NULL, src text)`,
    );
  } catch (error) {
    client.release();
    throw error;
  }
  return {
    async add(rows: ReturnType<typeof usageRecord.parse>[]): Promise<void> {
      const dated = rows.filter((r) => r.lastActivityAt !== null);
      if (dated.length === 0) return;
      await client.query(
        `INSERT INTO ${table} (account, sub, at, src)
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])`,
        [
          dated.map((r) => r.accountId),
          dated.map((r) => r.subscriptionKey ?? null),
          dated.map((r) => r.lastActivityAt),
          dated.map((r) => r.source),
        ],
      );
    },
    /** Each staged account takes its latest signal, where that is later than what the account itself said. */
    async apply(): Promise<void> {
      await client.query(`ANALYZE ${table}`);
      await client.query('BEGIN');
      try {
        // The latest signal per account is found by a sort that would spill to disk in the default work_mem.
        await client.query(`SET LOCAL work_mem = '${SWITCH_WORK_MEM}'`);
        await client.query(
          `UPDATE staging_accounts a SET last_activity_at = u.at, last_activity_source = u.src
           FROM (
             SELECT DISTINCT ON (s.subscription_key, s.vendor_account_id) s.subscription_key, s.vendor_account_id,
               t.at, t.src
             FROM ${table} t
             JOIN staging_accounts s ON s.run_id = $1 AND s.vendor_account_id = t.account
               AND (t.sub IS NULL OR s.subscription_key = t.sub)
             ORDER BY s.subscription_key, s.vendor_account_id, t.at DESC
           ) u
           WHERE a.run_id = $1 AND a.subscription_key = u.subscription_key AND a.vendor_account_id = u.vendor_account_id
             AND (a.last_activity_at IS NULL OR a.last_activity_at < u.at)`,
          [runId],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
    async close(): Promise<void> {
      try {
        await client.query(`DROP TABLE IF EXISTS ${table}`);
      } finally {
        client.release();
      }
    },
  };
}

async function stagePersons(db: Queryable, runId: number, rows: ReturnType<typeof personRecord.parse>[]) {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO staging_persons (run_id, email, aliases, display_name, department, cost_center, manager_email,
       enabled, departed_at, external_id)
     SELECT $1, t.email, COALESCE(ARRAY(SELECT jsonb_array_elements_text(t.aliases)), '{}'), t.display_name,
       t.department, t.cost_center, t.manager_email, t.enabled, t.departed_at, t.external_id
     FROM unnest($2::text[], $3::jsonb[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[],
       $9::timestamptz[], $10::text[])
       AS t(email, aliases, display_name, department, cost_center, manager_email, enabled, departed_at, external_id)
     ON CONFLICT (run_id, email) DO NOTHING`,
    [
      runId,
      rows.map((r) => r.email.toLowerCase()),
      rows.map((r) => JSON.stringify((r.aliases ?? []).map((a) => a.toLowerCase()))),
      rows.map((r) => r.displayName ?? null),
      rows.map((r) => r.department ?? null),
      rows.map((r) => r.costCenter ?? null),
      rows.map((r) => r.managerEmail?.toLowerCase() ?? null),
      rows.map((r) => r.enabled),
      rows.map((r) => r.departedAt ?? null),
      rows.map((r) => r.externalId ?? null),
    ],
  );
}

interface SwitchOptions extends ImportOptions {
  staged: { subscriptions: number; accounts: number; persons: number };
}

/** Moves one run's staged rows into the inventory, all in one transaction. */
async function switchOver(
  store: Store,
  source: string,
  runId: number,
  now: Date,
  options: SwitchOptions,
): Promise<ImportCounts> {
  const client = await store.pool.connect();
  try {
    // Fresh staging rows have no statistics: without them the planner picks nested loops over thousands of rows.
    await client.query('ANALYZE staging_subscriptions, staging_accounts, staging_persons');
    await client.query('BEGIN');
    // Joins and sorts over every account of the source: in the default work_mem they spill to disk.
    await client.query(`SET LOCAL work_mem = '${SWITCH_WORK_MEM}'`);
    const lease = await client.query(
      `SELECT 1 FROM import_leases WHERE source = $1 AND run_id = $2 FOR UPDATE`,
      [source, runId],
    );
    if (lease.rowCount === 0)
      throw new Error(`lost the import lease on ${source} (another import took it over)`);

    const orphan = await client.query<{ subscription_key: string }>(
      `SELECT a.subscription_key FROM staging_accounts a
       WHERE a.run_id = $1 AND NOT EXISTS (
         SELECT 1 FROM staging_subscriptions s WHERE s.run_id = $1 AND s.vendor_key = a.subscription_key)
       LIMIT 1`,
      [runId],
    );
    if (orphan.rows[0]) {
      throw new Error(
        `an account is assigned to subscription '${orphan.rows[0].subscription_key}', which the vendor did not list`,
      );
    }

    if (options.persons) await switchPersons(client, source, runId, now);
    await switchLicenses(client, source, runId, now);
    await postLicensesToCatalog(client);
    const upserted = await switchSubscribers(client, source, runId, now);
    // Many new rows (a first import): without fresh statistics the passes that follow plan nested loops over them.
    if (upserted.added >= ANALYZE_AFTER_ROWS) await client.query('ANALYZE cloud_subscribers');
    // Before requirements are made: an account that is gone must not earn a fresh requirement on its way out.
    const removed = await removeMissingSubscribers(client, source, runId, now);
    await matchSubscribers(client, now);
    await createRequirements(client, now, options.minEntitlementDays);
    await client.query(
      `DELETE FROM license_requirements r WHERE NOT EXISTS (
         SELECT 1 FROM cloud_subscribers s WHERE s.person_id = r.person_id AND s.license_id = r.license_id)`,
    );
    await snapshot(client, source, runId, now);
    const tally = await client.query<{ matched: number; clearing: number }>(
      `SELECT count(*) FILTER (WHERE s.person_id IS NOT NULL)::int AS matched,
              count(*) FILTER (WHERE s.person_id IS NULL AND s.account_kind = 'person')::int AS clearing
       FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
       WHERE l.source = $1 AND s.is_active`,
      [source],
    );
    const counts: ImportCounts = {
      ...options.staged,
      ...upserted,
      ...removed,
      matched: tally.rows[0]?.matched ?? 0,
      clearing: tally.rows[0]?.clearing ?? 0,
    };
    await client.query(
      `UPDATE import_runs SET outcome = 'succeeded', finished_at = $2, counts = $3 WHERE id = $1`,
      [runId, now, JSON.stringify(counts)],
    );
    await appendAudit(client, {
      actor: 'seatkeeper',
      surface: 'system',
      action: 'import',
      target: source,
      after: { runId, trigger: options.trigger, ...counts },
      at: now,
    });
    for (const table of ['staging_subscriptions', 'staging_accounts', 'staging_persons']) {
      await client.query(`DELETE FROM ${table} WHERE run_id = $1`, [runId]);
    }
    await releaseLease(client, source, runId);
    await client.query('COMMIT');
    return counts;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function switchPersons(db: Queryable, source: string, runId: number, now: Date): Promise<void> {
  // A person renamed in the directory keeps their record: follow the directory's own id to the new address.
  await db.query(
    `UPDATE persons p SET primary_email = s.email, updated_at = $3
     FROM staging_persons s
     WHERE s.run_id = $1 AND p.source = $2 AND s.external_id IS NOT NULL AND p.external_id = s.external_id
       AND lower(p.primary_email) <> s.email
       AND NOT EXISTS (SELECT 1 FROM persons taken WHERE lower(taken.primary_email) = s.email)`,
    [runId, source, now],
  );
  await db.query(
    `INSERT INTO persons AS p (primary_email, display_name, department, cost_center, manager_email,
       employment_status, departed_at, directory_enabled, source, external_id, created_at, updated_at)
     SELECT s.email, s.display_name, s.department, s.cost_center, s.manager_email,
       CASE WHEN s.departed_at IS NULL THEN 'active' ELSE 'departed' END, s.departed_at, s.enabled, $2,
       s.external_id, $3, $3
     FROM staging_persons s WHERE s.run_id = $1
     ON CONFLICT (lower(primary_email)) DO UPDATE SET
       display_name = EXCLUDED.display_name, department = EXCLUDED.department, cost_center = EXCLUDED.cost_center,
       manager_email = EXCLUDED.manager_email, employment_status = EXCLUDED.employment_status,
       departed_at = EXCLUDED.departed_at, directory_enabled = EXCLUDED.directory_enabled, source = EXCLUDED.source,
       external_id = EXCLUDED.external_id, updated_at = EXCLUDED.updated_at
     WHERE (p.display_name, p.department, p.cost_center, p.manager_email, p.employment_status, p.departed_at,
            p.directory_enabled, p.source, p.external_id)
       IS DISTINCT FROM (EXCLUDED.display_name, EXCLUDED.department, EXCLUDED.cost_center, EXCLUDED.manager_email,
            EXCLUDED.employment_status, EXCLUDED.departed_at, EXCLUDED.directory_enabled, EXCLUDED.source,
            EXCLUDED.external_id)`,
    [runId, source, now],
  );
  // Persons this directory no longer lists have left.
  await db.query(
    `UPDATE persons p SET employment_status = 'departed', departed_at = COALESCE(p.departed_at, $3), updated_at = $3
     WHERE p.source = $2 AND p.employment_status <> 'departed'
       AND NOT EXISTS (SELECT 1 FROM staging_persons s WHERE s.run_id = $1 AND s.email = lower(p.primary_email))`,
    [runId, source, now],
  );
  // The directory owns the addresses it lists; addresses added by hand (clearing) stay.
  await db.query(
    `WITH listed AS (
       SELECT p.id AS person_id, e.email, e.email = s.email AS is_primary
       FROM staging_persons s
       JOIN persons p ON lower(p.primary_email) = s.email
       CROSS JOIN LATERAL unnest(array_prepend(s.email, s.aliases)) AS e(email)
       WHERE s.run_id = $1
     ), dropped AS (
       DELETE FROM person_emails pe USING persons p
       WHERE pe.person_id = p.id AND p.source = $2 AND pe.source = $2
         AND NOT EXISTS (SELECT 1 FROM listed l WHERE l.email = pe.email AND l.person_id = pe.person_id)
     )
     INSERT INTO person_emails AS pe (email, person_id, is_primary, source, created_at)
     SELECT DISTINCT ON (email) email, person_id, is_primary, $2, $3 FROM listed ORDER BY email, is_primary DESC
     ON CONFLICT (email) DO UPDATE SET person_id = EXCLUDED.person_id, is_primary = EXCLUDED.is_primary,
       source = EXCLUDED.source
     WHERE (pe.person_id, pe.is_primary, pe.source) IS DISTINCT FROM
           (EXCLUDED.person_id, EXCLUDED.is_primary, EXCLUDED.source)`,
    [runId, source, now],
  );
}

async function switchLicenses(db: Queryable, source: string, runId: number, now: Date): Promise<void> {
  await db.query(
    `INSERT INTO licenses AS l (source, vendor_key, vendor, sku, name, license_model, unlimited, capability_status,
       consumed_units, enabled_units, suspended_units, warning_units, locked_out_units, is_trial, next_lifecycle_at,
       usage_signal, present, first_import_at, last_import_at, updated_at)
     SELECT $2, s.vendor_key, s.vendor, s.sku, s.name,
       COALESCE(s.license_model, old.license_model, ps.license_model, 'named_user'),
       s.unlimited OR COALESCE(s.license_model, old.license_model, ps.license_model, '') = 'unlimited',
       s.capability_status, s.consumed_units, s.enabled_units, s.suspended_units, s.warning_units,
       s.locked_out_units, s.is_trial, s.next_lifecycle_at, s.usage_signal, true, $3, $3, $3
     FROM staging_subscriptions s
     LEFT JOIN licenses old ON old.source = $2 AND old.vendor_key = s.vendor_key
     LEFT JOIN product_skus ps ON ps.sku = lower(s.sku)
     WHERE s.run_id = $1
     ON CONFLICT (source, vendor_key) DO UPDATE SET
       vendor = EXCLUDED.vendor, sku = EXCLUDED.sku, name = EXCLUDED.name, license_model = EXCLUDED.license_model,
       unlimited = EXCLUDED.unlimited, capability_status = EXCLUDED.capability_status,
       consumed_units = EXCLUDED.consumed_units, enabled_units = EXCLUDED.enabled_units,
       suspended_units = EXCLUDED.suspended_units, warning_units = EXCLUDED.warning_units,
       locked_out_units = EXCLUDED.locked_out_units, is_trial = EXCLUDED.is_trial,
       next_lifecycle_at = EXCLUDED.next_lifecycle_at, usage_signal = EXCLUDED.usage_signal, present = true,
       last_import_at = EXCLUDED.last_import_at,
       updated_at = CASE WHEN (l.vendor, l.sku, l.name, l.license_model, l.unlimited, l.capability_status,
           l.consumed_units, l.enabled_units, l.suspended_units, l.warning_units, l.locked_out_units, l.is_trial,
           l.next_lifecycle_at, l.usage_signal, l.present)
         IS DISTINCT FROM (EXCLUDED.vendor, EXCLUDED.sku, EXCLUDED.name, EXCLUDED.license_model, EXCLUDED.unlimited,
           EXCLUDED.capability_status, EXCLUDED.consumed_units, EXCLUDED.enabled_units, EXCLUDED.suspended_units,
           EXCLUDED.warning_units, EXCLUDED.locked_out_units, EXCLUDED.is_trial, EXCLUDED.next_lifecycle_at,
           EXCLUDED.usage_signal, true)
         THEN EXCLUDED.updated_at ELSE l.updated_at END`,
    [runId, source, now],
  );
  // A subscription the vendor no longer lists is gone: it stays on record as Deleted.
  await db.query(
    `UPDATE licenses l SET present = false, capability_status = 'Deleted', updated_at = $3, last_import_at = $3
     WHERE l.source = $2 AND l.present
       AND NOT EXISTS (SELECT 1 FROM staging_subscriptions s WHERE s.run_id = $1 AND s.vendor_key = l.vendor_key)`,
    [runId, source, now],
  );
}

async function switchSubscribers(
  db: Queryable,
  source: string,
  runId: number,
  now: Date,
): Promise<{ added: number; updated: number }> {
  // Activity only moves forward: a vendor report that no longer covers an old sign-in does not erase it.
  const result = await db.query<{ added: number; updated: number }>(
    `WITH upserted AS (
       INSERT INTO cloud_subscribers AS cs (license_id, vendor_account_id, email, login, person_id, account_enabled,
         group_inherited, assigned_at, last_activity_at, last_activity_source, is_active, inactive_since,
         first_import_at, updated_at)
       SELECT l.id, a.vendor_account_id, a.email, a.login, pe.person_id, a.account_enabled, a.group_inherited,
         COALESCE(a.assigned_at, old.assigned_at),
         CASE WHEN old.last_activity_at IS NOT NULL AND (a.last_activity_at IS NULL OR old.last_activity_at > a.last_activity_at)
              THEN old.last_activity_at ELSE a.last_activity_at END,
         CASE WHEN old.last_activity_at IS NOT NULL AND (a.last_activity_at IS NULL OR old.last_activity_at > a.last_activity_at)
              THEN old.last_activity_source ELSE a.last_activity_source END,
         true, NULL, $3, $3
       FROM staging_accounts a
       JOIN licenses l ON l.source = $2 AND l.vendor_key = a.subscription_key
       LEFT JOIN cloud_subscribers old ON old.license_id = l.id AND old.vendor_account_id = a.vendor_account_id
       -- A new account is matched as it is written, not rewritten by the matching that follows.
       LEFT JOIN person_emails pe ON pe.email = lower(a.email)
       WHERE a.run_id = $1
       ON CONFLICT (license_id, vendor_account_id) DO UPDATE SET
         email = EXCLUDED.email, login = EXCLUDED.login, account_enabled = EXCLUDED.account_enabled,
         group_inherited = EXCLUDED.group_inherited, assigned_at = EXCLUDED.assigned_at,
         last_activity_at = EXCLUDED.last_activity_at, last_activity_source = EXCLUDED.last_activity_source,
         is_active = true, inactive_since = NULL, updated_at = EXCLUDED.updated_at
       WHERE (cs.email, cs.login, cs.account_enabled, cs.group_inherited, cs.assigned_at, cs.last_activity_at,
              cs.last_activity_source, cs.is_active)
         IS DISTINCT FROM (EXCLUDED.email, EXCLUDED.login, EXCLUDED.account_enabled, EXCLUDED.group_inherited,
              EXCLUDED.assigned_at, EXCLUDED.last_activity_at, EXCLUDED.last_activity_source, true)
       RETURNING (xmax = 0) AS inserted
     )
     SELECT count(*) FILTER (WHERE inserted)::int AS added, count(*) FILTER (WHERE NOT inserted)::int AS updated
     FROM upserted`,
    [runId, source, now],
  );
  return result.rows[0] ?? { added: 0, updated: 0 };
}

/** Matches subscribers to persons by e-mail, case-insensitively, through every address (aliases included). */
export async function matchSubscribers(db: Queryable, now: Date): Promise<void> {
  await db.query(
    `UPDATE cloud_subscribers s SET person_id = m.person_id, updated_at = $1
     FROM (
       SELECT s2.id, pe.person_id FROM cloud_subscribers s2 LEFT JOIN person_emails pe ON pe.email = lower(s2.email)
     ) m
     WHERE s.id = m.id AND s.person_id IS DISTINCT FROM m.person_id`,
    [now],
  );
}

/** A valid license gives every matched, active subscriber's person a requirement. */
async function createRequirements(db: Queryable, now: Date, defaultDays: number): Promise<void> {
  await db.query(
    `INSERT INTO license_requirements (person_id, license_id, created_at, min_entitlement_until)
     SELECT DISTINCT s.person_id, s.license_id, $1::timestamptz,
       $1::timestamptz + make_interval(days => COALESCE(l.min_entitlement_days, $2))
     FROM cloud_subscribers s
     JOIN licenses l ON l.id = s.license_id
     JOIN license_overview o ON o.id = l.id AND o.status <> 'invalid'
     WHERE s.is_active AND s.person_id IS NOT NULL
     ON CONFLICT (person_id, license_id) DO NOTHING`,
    [now, defaultDays],
  );
}

/**
 * Accounts the vendor no longer lists: kept as inactive while their person's requirement is within its minimum
 * entitlement period, deleted otherwise (and once that period has elapsed).
 */
async function removeMissingSubscribers(
  db: Queryable,
  source: string,
  runId: number,
  now: Date,
): Promise<{ deactivated: number; deleted: number }> {
  const result = await db.query<{ deactivated: number; deleted: number }>(
    `WITH missing AS (
       SELECT s.id, s.is_active,
         EXISTS (SELECT 1 FROM license_requirements r
                 WHERE r.person_id = s.person_id AND r.license_id = s.license_id AND r.min_entitlement_until > $3)
           AS keep
       FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
       WHERE l.source = $2 AND NOT EXISTS (
         SELECT 1 FROM staging_accounts a
         WHERE a.run_id = $1 AND a.subscription_key = l.vendor_key AND a.vendor_account_id = s.vendor_account_id)
     ), deactivated AS (
       UPDATE cloud_subscribers s SET is_active = false, inactive_since = $3, updated_at = $3
       FROM missing m WHERE s.id = m.id AND m.keep AND m.is_active
       RETURNING s.id
     ), deleted AS (
       DELETE FROM cloud_subscribers s USING missing m WHERE s.id = m.id AND NOT m.keep
       RETURNING s.id
     )
     SELECT (SELECT count(*)::int FROM deactivated) AS deactivated, (SELECT count(*)::int FROM deleted) AS deleted`,
    [runId, source, now],
  );
  return result.rows[0] ?? { deactivated: 0, deleted: 0 };
}

/** Purchased, consumed and recently active seats per license, for trends. */
async function snapshot(db: Queryable, source: string, runId: number, now: Date): Promise<void> {
  await db.query(
    `INSERT INTO license_snapshots (license_id, taken_at, import_run_id, purchased, consumed, active)
     SELECT o.id, $2, $3, o.purchased, o.consumed_units,
       CASE WHEN l.usage_signal THEN (
         SELECT count(*)::int FROM cloud_subscribers s
         WHERE s.license_id = o.id AND s.is_active AND s.last_activity_at > $2::timestamptz - interval '30 days')
       END
     FROM license_overview o JOIN licenses l ON l.id = o.id
     WHERE o.source = $1 AND o.present
     ON CONFLICT DO NOTHING`,
    [source, now, runId],
  );
}
