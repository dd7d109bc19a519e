import type pg from 'pg';

export interface AuditEntry {
  /** Who acted: a person's e-mail, a chat identity, or `seatkeeper` for automatic changes. */
  actor: string;
  surface: 'cli' | 'slack' | 'teams' | 'web' | 'system';
  action: string;
  target?: string | null;
  before?: unknown;
  after?: unknown;
  at?: Date;
}

/** Appends one entry. The log has no update or delete path: the database refuses both. */
export async function appendAudit(db: Pick<pg.ClientBase, 'query'>, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (at, actor, surface, action, target, before, after)
     VALUES (COALESCE($1, now()), $2, $3, $4, $5, $6, $7)`,
    [
      entry.at ?? null,
      entry.actor,
      entry.surface,
      entry.action,
      entry.target ?? null,
      entry.before === undefined ? null : JSON.stringify(entry.before),
      entry.after === undefined ? null : JSON.stringify(entry.after),
    ],
  );
}
