/** Shared pieces of the seat-workflow tests: actors, a recording notifier, audit lookups, a movable clock. */
import type { Actor, HandlerContext, Result, Role, Surface } from '../../handlers/types.ts';
import type { Notifier, OutgoingNotification } from '../../src/actions/notifier.ts';
import { resolveActor } from '../../src/auth/actors.ts';
import type { Config } from '../../src/config/config.ts';
import type { Store } from '../../src/store/store.ts';

/** A clock tests move by hand. */
export function clockAt(iso: string) {
  let t = new Date(iso).getTime();
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
    set(at: string) {
      t = new Date(at).getTime();
    },
  };
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** An actor with the given roles, not matched to any person (an IT manager, a helpdesk agent, ...). */
export function actor(email: string, roles: readonly Role[], surface: Surface = 'slack'): Actor {
  return { id: email, email, personId: null, displayName: email, roles, surface };
}

/** The actor of a person Seatkeeper knows (roles: `member`, plus any in `roles`). */
export async function personActor(
  store: Store,
  email: string,
  roles: readonly Role[] = [],
  surface: Surface = 'teams',
): Promise<Actor> {
  const map = new Map<string, Role[]>(roles.length > 0 ? [[email, [...roles]]] : []);
  return resolveActor(store, map, { email }, surface);
}

export function contextFor(store: Store, config: Config, who: Actor, now: () => Date): HandlerContext {
  return { store, config, actor: who, now };
}

/** Unwraps a result a test expects to succeed, with the failure in the error when it did not. */
export function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** A chat surface stand-in that records what it was asked to deliver (a real Notifier, not a mock). */
export class RecordingNotifier implements Notifier {
  readonly name = 'test';
  readonly delivered: OutgoingNotification[] = [];

  canReach(target: Record<string, unknown>): boolean {
    return typeof target.personId === 'number';
  }

  async deliver(notification: OutgoingNotification): Promise<void> {
    this.delivered.push(notification);
  }
}

/** Audit entries about one action (the action id is in `after`), oldest first: [action, actor] pairs. */
export async function auditOf(store: Store, actionId: string): Promise<{ action: string; actor: string }[]> {
  const found = await store.pool.query<{ action: string; actor: string }>(
    `SELECT action, actor FROM audit_log WHERE after->>'actionId' = $1 ORDER BY id`,
    [actionId],
  );
  return found.rows;
}

export async function count(store: Store, sql: string, params: unknown[] = []): Promise<number> {
  return Number((await store.pool.query(`SELECT count(*)::int AS n FROM (${sql}) q`, params)).rows[0].n);
}
