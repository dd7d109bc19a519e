/** Shared pieces of the findings verbs that change something: role check, transaction, dates. */
import type pg from 'pg';
import { withTransaction } from '../src/store/transaction.ts';
import { authorize } from './authorize.ts';
import { fail, type HandlerContext, type Result, type Role } from './types.ts';

/** Checks the role here as well as in the registry: a chat button may call a handler directly. */
export async function requireRole(
  ctx: HandlerContext,
  role: Role,
  verb: string,
): Promise<Result<never> | undefined> {
  const allowed = await authorize(ctx, role, verb);
  return allowed.ok ? undefined : allowed;
}

/** Runs `work` in one transaction; a returned failure rolls back like a thrown error. */
export function inTransaction<T>(
  ctx: HandlerContext,
  work: (client: pg.PoolClient) => Promise<Result<T>>,
): Promise<Result<T>> {
  return withTransaction(ctx.store.pool, work, (result) => result.ok);
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An end date given as `2027-01-31` (that day at 00:00 UTC: the exemption or snooze ends when the day starts) or
 * as an ISO 8601 date-time with a zone; it must lie after `now`.
 */
export function parseUntil(text: string, now: Date, option = 'until'): Result<Date> {
  const value = text.trim();
  const date = DAY.test(value)
    ? new Date(`${value}T00:00:00Z`)
    : DATE_TIME.test(value)
      ? new Date(value)
      : undefined;
  // A date that rolls over (2027-02-30) is not the date the user meant.
  if (
    !date ||
    Number.isNaN(date.getTime()) ||
    (DAY.test(value) && date.toISOString().slice(0, 10) !== value)
  ) {
    return fail('INVALID_ARGUMENT', `--${option} must be a date like 2027-01-31, not '${text}'.`);
  }
  if (date <= now) {
    return fail('INVALID_ARGUMENT', `--${option} must lie in the future (got ${date.toISOString()}).`);
  }
  return { ok: true, value: date };
}

/** A free-text reason: required where asked, trimmed, at most 500 characters. */
export function checkReason(text: string | undefined, required: boolean): Result<string | null> {
  const value = text?.trim() ?? '';
  if (value === '') {
    return required
      ? fail(
          'INVALID_ARGUMENT',
          'Say why with --reason "…" (it is shown with the finding and kept in the audit log).',
        )
      : { ok: true, value: null };
  }
  if (value.length > 500) return fail('INVALID_ARGUMENT', '--reason is longer than 500 characters.');
  return { ok: true, value };
}

/** ISO text of a timestamp column, or null. */
export const iso = (value: Date | null | undefined): string | null => (value ? value.toISOString() : null);
