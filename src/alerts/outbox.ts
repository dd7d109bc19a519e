/**
 * Writing to the `notifications` outbox. A row's dedupe key names the event and where it goes (`digest:teams:<channel
 * id>:<week>`, `finding-alert:<finding id>:slack:<channel>`); the unique index on it makes each row exist once,
 * however many replicas or runs try to create it, and the surfaces deliver each row once.
 */
import type pg from 'pg';

type Db = Pick<pg.Pool, 'query'>;

/**
 * Adds a notification unless one with the same dedupe key exists (a digest per week, an alert per event).
 * Returns its id when this call created it.
 */
export async function addNotification(
  db: Db,
  notification: { dedupeKey: string; kind: string; target: unknown; payload: unknown; at?: Date },
): Promise<number | undefined> {
  const inserted = await db.query<{ id: number }>(
    `INSERT INTO notifications (dedupe_key, kind, target, payload, created_at)
     VALUES ($1, $2, $3, $4, COALESCE($5::timestamptz, now()))
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [
      notification.dedupeKey,
      notification.kind,
      JSON.stringify(notification.target),
      JSON.stringify(notification.payload),
      notification.at ?? null,
    ],
  );
  return inserted.rows[0]?.id;
}
