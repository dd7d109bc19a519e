/**
 * Delivery of the `notifications` outbox through pluggable notifiers: a chat surface (Slack DM, Teams personal chat)
 * implements `Notifier`, the CLI has its own (`seatkeeper asks` shows the questions put to you). A row is claimed by a
 * compare-and-set on `sent_at` before it is handed over, so two replicas never deliver it twice; a delivery that throws
 * gives the row back with the error, to be tried again.
 */
import type { Store } from '../store/store.ts';

export interface OutgoingNotification {
  id: number;
  dedupeKey: string;
  /** `holder-ask`, `holder-ask-reminder`, ... */
  kind: string;
  /** Who it is for: `{ personId, email, slackUserId, teamsAadObjectId }` for a person. */
  target: Record<string, unknown>;
  payload: Record<string, unknown>;
  createdAt: Date;
  attempts: number;
}

export interface Notifier {
  /** Recorded as the channel it went through. */
  readonly name: string;
  /** Whether this notifier can reach the target (e.g. Slack knows the person's user id). */
  canReach(target: Record<string, unknown>): boolean;
  /** Delivers it; throws when it could not (the row is tried again later). */
  deliver(notification: OutgoingNotification): Promise<void>;
}

export interface DeliveryReport {
  sent: number;
  failed: number;
  /** Pending rows no notifier can reach (yet). */
  unreachable: number;
}

/** Gives up on a row after this many failed deliveries (it stays in the table with its last error). */
const MAX_ATTEMPTS = 10;

/** Delivers pending notifications of the given kinds through the first notifier that can reach each. */
export async function deliverNotifications(
  store: Store,
  notifiers: readonly Notifier[],
  options: { kinds: readonly string[]; now: Date; limit?: number },
): Promise<DeliveryReport> {
  const report: DeliveryReport = { sent: 0, failed: 0, unreachable: 0 };
  const pending = await store.pool.query(
    `SELECT * FROM notifications
     WHERE sent_at IS NULL AND kind = ANY($1::text[]) AND attempts < $2
     ORDER BY created_at, id LIMIT $3`,
    [options.kinds, MAX_ATTEMPTS, options.limit ?? 500],
  );
  for (const row of pending.rows) {
    const target = row.target as Record<string, unknown>;
    const notifier = notifiers.find((n) => n.canReach(target));
    if (!notifier) {
      report.unreachable++;
      continue;
    }
    const claimed = await store.pool.query(
      `UPDATE notifications SET sent_at = $2, attempts = attempts + 1, error = NULL
       WHERE id = $1 AND sent_at IS NULL RETURNING attempts`,
      [row.id, options.now],
    );
    if (!claimed.rows[0]) continue; // another replica took it
    try {
      await notifier.deliver({
        id: row.id,
        dedupeKey: row.dedupe_key,
        kind: row.kind,
        target,
        payload: row.payload,
        createdAt: row.created_at,
        attempts: claimed.rows[0].attempts,
      });
      report.sent++;
    } catch (error) {
      report.failed++;
      await store.pool.query(`UPDATE notifications SET sent_at = NULL, error = $2 WHERE id = $1`, [
        row.id,
        `${notifier.name}: ${(error as Error).message}`.slice(0, 2000),
      ]);
    }
  }
  return report;
}

/**
 * A notifier for one person who is reading their questions right now (the CLI's `seatkeeper asks`): whatever is
 * addressed to them counts as delivered through `channel`.
 */
export class ReaderNotifier implements Notifier {
  readonly delivered: OutgoingNotification[] = [];

  constructor(
    readonly name: string,
    private readonly personId: number,
  ) {}

  canReach(target: Record<string, unknown>): boolean {
    return target.personId === this.personId;
  }

  async deliver(notification: OutgoingNotification): Promise<void> {
    this.delivered.push(notification);
  }
}
