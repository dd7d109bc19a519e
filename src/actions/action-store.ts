/**
 * Actions on seats as rows of `actions`. The id is the idempotency key: a repeated click, a retried request or a second
 * replica finds the same row, and a row's state only moves forward by compare-and-set
 * (`asking → queued → running → done | failed | cancelled`, a done reclaim → `undone`; a failed one back to `queued` on
 * an explicit retry).
 */
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Notice, SeatPreview } from './seat-preview.ts';

export type Queryable = Pick<pg.ClientBase, 'query'>;

export type ActionKind = 'reclaim' | 'undo';
export type ActionState = 'asking' | 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'undone';

/** States an action does not leave by itself. */
export const SETTLED_STATES: readonly ActionState[] = ['done', 'failed', 'cancelled', 'undone'];

/** What the vendor (or the re-check) said, kept on the action. */
export interface ActionOutcome {
  /** The vendor's confirmation. */
  detail?: string;
  /** The vendor's error code, when it failed. */
  code?: string;
  /** Whether trying again later may help (throttling, outages). */
  retryable?: boolean;
  /** Findings this reclaim resolved (reopened by an undo). */
  findingIds?: number[];
  /** Why the action was cancelled before the vendor was called. */
  blockers?: Notice[];
  /** A holder's answer that ended the action. */
  answer?: string;
}

export interface ActionRecord {
  id: string;
  kind: ActionKind;
  state: ActionState;
  subscriberId: number | null;
  licenseId: number | null;
  batchId: string | null;
  undoes: string | null;
  requestedBy: string;
  surface: string;
  preview: SeatPreview;
  result: ActionOutcome | null;
  error: string | null;
  attempts: number;
  undoUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

/** An `actions` row as the record the workflows use. */
// biome-ignore lint/suspicious/noExplicitAny: an `actions` row as pg returns it.
export function toActionRecord(r: any): ActionRecord {
  return {
    id: r.id,
    kind: r.kind,
    state: r.state,
    subscriberId: r.subscriber_id,
    licenseId: r.license_id,
    batchId: r.batch_id,
    undoes: r.undoes,
    requestedBy: r.requested_by,
    surface: r.surface,
    preview: r.preview,
    result: r.result,
    error: r.error,
    attempts: r.attempts,
    undoUntil: r.undo_until,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: r.completed_at,
  };
}

/** The action with this id, if any. */
export async function loadAction(db: Queryable, id: string): Promise<ActionRecord | undefined> {
  const found = await db.query(`SELECT * FROM actions WHERE id = $1`, [id]);
  return found.rows[0] ? toActionRecord(found.rows[0]) : undefined;
}

/** The actions a request made: the action with this id, or the batch with this id. */
export async function loadRequest(db: Queryable, requestId: string): Promise<ActionRecord[]> {
  const found = await db.query(
    `SELECT * FROM actions WHERE id = $1 OR batch_id = $1 ORDER BY created_at, id`,
    [requestId],
  );
  return found.rows.map(toActionRecord);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `text` is a UUID (action and batch ids). */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

/** A fresh action (or batch) id. */
export function newActionId(): string {
  return randomUUID();
}

/**
 * A UUID (version 5 layout, SHA-1 of the name) derived from a name: the same batch item or the same undo always gets
 * the same id, so a second submission or a second replica inserts nothing new.
 */
export function derivedId(name: string): string {
  const hash = createHash('sha1').update(`seatkeeper:${name}`).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A human label of the seat an action is about, for audit targets and messages: `SPE_E5/ana@example.com`. */
export function seatLabel(preview: Pick<SeatPreview, 'seat'>): string {
  return `${preview.seat.sku}/${preview.seat.email ?? preview.seat.login ?? preview.seat.accountId}`;
}

export interface AuditRow {
  actor: string;
  surface: string;
  action: string;
  target: string | null;
  before?: unknown;
  after?: unknown;
}

/**
 * Appends several audit entries in one statement (a batch writes one per seat). The log has no update or delete path:
 * the database refuses both.
 */
export async function appendAuditRows(db: Queryable, at: Date, rows: readonly AuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO audit_log (at, actor, surface, action, target, before, after)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[])`,
    [
      at,
      rows.map((r) => r.actor),
      rows.map((r) => r.surface),
      rows.map((r) => r.action),
      rows.map((r) => r.target),
      rows.map((r) => (r.before === undefined ? null : JSON.stringify(r.before))),
      rows.map((r) => (r.after === undefined ? null : JSON.stringify(r.after))),
    ],
  );
}
