/**
 * The little the Slack surface keeps in the database, all in existing tables:
 * - `chat_addresses` (platform `slack`): channel ids by name, where each delivered notification was posted
 *   (`notification:<id>` → channel + ts), who opened the Home tab (`home:<user>`), and one row per clicked action
 *   (`action:<uuid>` → state, who, when, where the card is). Inserting that row is the compare-and-set that makes
 *   a second click, a retry or another replica do nothing twice.
 * - `notifications`: claiming a row for delivery (compare-and-set on `sent_at`), releasing it on failure.
 * - `persons.slack_user_id`: filled in once a Slack user is matched by e-mail.
 *
 * The person typeahead and the import status of the Home tab are here too. The digest's aggregates, which every
 * surface shows, live in `src/digests/` (re-exported below for the Home tab), and outbox writes in `src/alerts/`.
 */
import type pg from 'pg';

type Db = Pick<pg.Pool, 'query'>;

const PLATFORM = 'slack';

/** The record of one clicked action (the value stored under `action:<uuid>`). */
export interface ActionRecord {
  state: 'running' | 'done';
  /** Slack user id of whoever clicked first. */
  user: string;
  /** What was clicked (the button's label) and which command it ran. */
  label: string;
  command: string;
  at: string;
  channel?: string;
  ts?: string;
  outcome?: string;
  ok?: boolean;
}

/** A claim older than this while still `running` belongs to a process that died; the next click may take it. */
const STALE_CLAIM = '10 minutes';

/**
 * Claims an action id for one run. Returns `{ claimed: true }` for the first caller (across replicas), else the
 * record left by whoever holds it.
 */
export async function claimAction(
  db: Db,
  actionId: string,
  record: ActionRecord,
): Promise<{ claimed: true } | { claimed: false; record: ActionRecord }> {
  const key = `action:${actionId}`;
  const inserted = await db.query(
    `INSERT INTO chat_addresses (platform, key, address) VALUES ($1, $2, $3)
     ON CONFLICT (platform, key) DO NOTHING RETURNING key`,
    [PLATFORM, key, JSON.stringify(record)],
  );
  if (inserted.rowCount === 1) return { claimed: true };
  const takenOver = await db.query(
    `UPDATE chat_addresses SET address = $3, updated_at = now()
     WHERE platform = $1 AND key = $2 AND address->>'state' = 'running'
       AND updated_at < now() - $4::interval
     RETURNING key`,
    [PLATFORM, key, JSON.stringify(record), STALE_CLAIM],
  );
  if (takenOver.rowCount === 1) return { claimed: true };
  const held = await db.query<{ address: ActionRecord }>(
    'SELECT address FROM chat_addresses WHERE platform = $1 AND key = $2',
    [PLATFORM, key],
  );
  // Released between our insert and this read: claim again.
  if (!held.rows[0]) return claimAction(db, actionId, record);
  return { claimed: false, record: held.rows[0].address };
}

/** Records how a claimed action ended. */
export async function finishAction(db: Db, actionId: string, record: ActionRecord): Promise<void> {
  await db.query(
    'UPDATE chat_addresses SET address = $3, updated_at = now() WHERE platform = $1 AND key = $2',
    [PLATFORM, `action:${actionId}`, JSON.stringify(record)],
  );
}

/** Gives a claim back (the command was refused or failed before changing anything), so a later click may run. */
export async function releaseAction(db: Db, actionId: string): Promise<void> {
  await db.query('DELETE FROM chat_addresses WHERE platform = $1 AND key = $2', [
    PLATFORM,
    `action:${actionId}`,
  ]);
}

export async function getAddress<T>(db: Db, key: string): Promise<T | undefined> {
  const found = await db.query<{ address: T }>(
    'SELECT address FROM chat_addresses WHERE platform = $1 AND key = $2',
    [PLATFORM, key],
  );
  return found.rows[0]?.address;
}

export async function setAddress(db: Db, key: string, address: unknown): Promise<void> {
  await db.query(
    `INSERT INTO chat_addresses (platform, key, address) VALUES ($1, $2, $3)
     ON CONFLICT (platform, key) DO UPDATE SET address = EXCLUDED.address, updated_at = now()`,
    [PLATFORM, key, JSON.stringify(address)],
  );
}

export async function deleteAddress(db: Db, key: string): Promise<void> {
  await db.query('DELETE FROM chat_addresses WHERE platform = $1 AND key = $2', [PLATFORM, key]);
}

/** Keys with a prefix (`home:`), with their addresses. */
export async function listAddresses<T>(db: Db, prefix: string): Promise<{ key: string; address: T }[]> {
  const found = await db.query<{ key: string; address: T }>(
    `SELECT key, address FROM chat_addresses WHERE platform = $1 AND key LIKE $2 ORDER BY key`,
    [PLATFORM, `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`],
  );
  return found.rows;
}

/** Remembers a person's Slack user id (found by e-mail), so the next lookup needs no Web API call. */
export async function rememberSlackUser(db: Db, personId: number, userId: string): Promise<void> {
  await db.query(
    'UPDATE persons SET slack_user_id = $2, updated_at = now() WHERE id = $1 AND slack_user_id IS DISTINCT FROM $2',
    [personId, userId],
  );
}

export async function personContact(
  db: Db,
  personId: number,
): Promise<{ email: string; slackUserId: string | null } | undefined> {
  const found = await db.query<{ primary_email: string; slack_user_id: string | null }>(
    'SELECT primary_email, slack_user_id FROM persons WHERE id = $1',
    [personId],
  );
  const row = found.rows[0];
  return row ? { email: row.primary_email, slackUserId: row.slack_user_id } : undefined;
}

/** Persons whose e-mail (any alias) or name matches what was typed, for the typeahead (at most `limit`). */
export async function searchPersons(
  db: Db,
  typed: string,
  limit: number,
): Promise<{ email: string; displayName: string | null }[]> {
  const text = typed
    .trim()
    .toLowerCase()
    .replace(/[\\%_]/g, (c) => `\\${c}`);
  const found = await db.query<{ primary_email: string; display_name: string | null }>(
    `SELECT p.primary_email, p.display_name
     FROM persons p
     WHERE p.employment_status = 'active'
       AND ($1 = '' OR p.display_name ILIKE '%' || $1 || '%'
            OR EXISTS (SELECT 1 FROM person_emails pe WHERE pe.person_id = p.id AND pe.email LIKE $1 || '%'))
     ORDER BY lower(p.primary_email)
     LIMIT $2`,
    [text, limit],
  );
  return found.rows.map((r) => ({ email: r.primary_email, displayName: r.display_name }));
}

export interface PendingNotification {
  id: number;
  kind: string;
  target: Record<string, unknown>;
  payload: Record<string, unknown>;
  attempts: number;
  createdAt: Date;
}

/** Attempts after which a notification is left with its error for an operator to look at. */
export const MAX_DELIVERY_ATTEMPTS = 5;

/**
 * Unsent notifications this surface may deliver, oldest first: no platform or `slack`, and not addressed to a
 * Teams identity alone.
 */
export async function pendingNotifications(db: Db, limit: number): Promise<PendingNotification[]> {
  const found = await db.query<{
    id: number;
    kind: string;
    target: Record<string, unknown>;
    payload: Record<string, unknown>;
    attempts: number;
    created_at: Date;
  }>(
    `SELECT id, kind, target, payload, attempts, created_at FROM notifications
     WHERE sent_at IS NULL AND attempts < $1
       AND (target->>'platform' IS NULL OR target->>'platform' = 'slack')
       AND (NOT target ? 'teamsAadObjectId'
            OR target ?| array['channel', 'slackChannel', 'slackUserId', 'personId', 'email'])
     ORDER BY created_at, id
     LIMIT $2`,
    [MAX_DELIVERY_ATTEMPTS, limit],
  );
  return found.rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    target: r.target,
    payload: r.payload,
    attempts: r.attempts,
    createdAt: r.created_at,
  }));
}

/**
 * Claims a notification for posting by marking it sent — compare-and-set on `sent_at IS NULL`, so of two replicas
 * (or two runs) exactly one gets it. A failed post gives it back with `releaseNotification`.
 */
export async function claimNotification(db: Db, id: number): Promise<boolean> {
  const claimed = await db.query(
    `UPDATE notifications SET sent_at = now(), attempts = attempts + 1
     WHERE id = $1 AND sent_at IS NULL AND attempts < $2 RETURNING id`,
    [id, MAX_DELIVERY_ATTEMPTS],
  );
  return claimed.rowCount === 1;
}

export async function releaseNotification(db: Db, id: number, error: string): Promise<void> {
  await db.query('UPDATE notifications SET sent_at = NULL, error = $2 WHERE id = $1', [
    id,
    error.slice(0, 1000),
  ]);
}

export async function markDelivered(db: Db, id: number): Promise<void> {
  await db.query('UPDATE notifications SET error = NULL WHERE id = $1', [id]);
}

export interface ImportStatus {
  source: string;
  outcome: string;
  startedAt: Date;
  finishedAt: Date | null;
  error: string | null;
}

/** The latest import run of each connector. */
export async function lastImports(db: Db): Promise<ImportStatus[]> {
  const found = await db.query<{
    source: string;
    outcome: string;
    started_at: Date;
    finished_at: Date | null;
    error: string | null;
  }>(
    `SELECT DISTINCT ON (source) source, outcome, started_at, finished_at, error
     FROM import_runs ORDER BY source, started_at DESC, id DESC`,
  );
  return found.rows.map((r) => ({
    source: r.source,
    outcome: r.outcome,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
  }));
}

/** When the latest successful import finished (the Home tab is refreshed after it). */
export async function latestImportFinished(db: Db): Promise<Date | null> {
  const found = await db.query<{ at: Date | null }>(
    `SELECT max(finished_at) AS at FROM import_runs WHERE outcome = 'succeeded'`,
  );
  return found.rows[0]?.at ?? null;
}

export { addNotification } from '../../alerts/outbox.ts';
export {
  type IdleApp,
  newUnmatched,
  openSavings,
  realizedSavings,
  type SavingsTotal,
  topIdleApps,
} from '../../digests/digest-queries.ts';
