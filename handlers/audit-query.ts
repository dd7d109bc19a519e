/**
 * The audit log, queried: who did what, where and when, with before and after. Read-only like the log itself (the
 * database refuses updates and deletes); the CSV form is `seatkeeper export audit`.
 */
import { authorize } from './authorize.ts';
import type { Listing, Page } from './inventory-queries.ts';
import { fail, type HandlerContext, ok, type Result } from './types.ts';

export interface AuditRow {
  id: number;
  /** ISO 8601 UTC. */
  at: string;
  /** A person's e-mail, a chat identity, `operator` (local CLI) or `seatkeeper` (automatic changes). */
  actor: string;
  /** `cli`, `slack`, `teams`, `web` or `system`. */
  surface: string;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
}

export interface AuditQuery extends Page {
  /** From this date (`YYYY-MM-DD`, UTC midnight) or instant (ISO 8601), inclusive. */
  since?: string;
  /** Before this date or instant. */
  until?: string;
  /** Only this actor (case-insensitive). */
  actor?: string;
  /** Only this action, or the actions under it (`reclaim` also matches `reclaim.failed`). */
  action?: string;
}

function instant(value: string | undefined, name: string): Result<Date | null> {
  if (value === undefined || value.trim() === '') return ok(null);
  const text = value.trim();
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : new Date(text);
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(text)) {
    return fail(
      'INVALID_ARGUMENT',
      `--${name} must be a date like 2026-11-01 (or an ISO 8601 time), not '${value}'.`,
    );
  }
  return ok(date);
}

/** Audit entries in the order they were written, filtered by time, actor and action. Needs the it-manager role. */
export async function queryAudit(ctx: HandlerContext, query: AuditQuery): Promise<Result<Listing<AuditRow>>> {
  const allowed = await authorize(ctx, 'it-manager', 'audit');
  if (!allowed.ok) return allowed;
  const since = instant(query.since, 'since');
  if (!since.ok) return since;
  const until = instant(query.until, 'until');
  if (!until.ok) return until;
  const action = query.action?.trim() || null;
  const found = await ctx.store.pool.query(
    `SELECT a.*, count(*) OVER ()::int AS total FROM audit_log a
     WHERE ($1::timestamptz IS NULL OR a.at >= $1) AND ($2::timestamptz IS NULL OR a.at < $2)
       AND ($3::text IS NULL OR lower(a.actor) = lower($3))
       AND ($4::text IS NULL OR a.action = $4 OR starts_with(a.action, $4 || '.'))
     ORDER BY a.id LIMIT $5 OFFSET $6`,
    [since.value, until.value, query.actor?.trim() || null, action, query.limit, query.offset],
  );
  return ok({
    total: found.rows[0]?.total ?? 0,
    rows: found.rows.map((r) => ({
      id: r.id,
      at: r.at.toISOString(),
      actor: r.actor,
      surface: r.surface,
      action: r.action,
      target: r.target,
      before: r.before,
      after: r.after,
    })),
  });
}
