/**
 * The neutral contract between the product's verbs and the surfaces (CLI, Slack, Teams, web). A surface turns its
 * payload into an `Actor` and arguments, calls a handler, and renders the `Result`; it never touches the store.
 */
import type { Config } from '../src/config/config.ts';
import type { Store } from '../src/store/store.ts';

export const ROLES = ['admin', 'it-manager', 'finance', 'helpdesk', 'member'] as const;
export type Role = (typeof ROLES)[number];

export type Surface = 'cli' | 'slack' | 'teams' | 'web' | 'system';

/** Who is asking, resolved by the surface before any handler runs. */
export interface Actor {
  /** Stable id for the audit log: an e-mail, `slack:U123`, `teams:<aad id>`, or `operator` for the local CLI. */
  id: string;
  email: string | null;
  personId: number | null;
  displayName: string;
  roles: readonly Role[];
  surface: Surface;
}

export interface HandlerContext {
  store: Store;
  config: Config;
  actor: Actor;
  now: () => Date;
}

/**
 * Expected failures a surface turns into a clear message. `VENDOR_FAILED`: a vendor refused or failed an action on a
 * seat; the message carries the vendor's reason and the action id to retry.
 */
export type FailureCode =
  | 'NOT_AUTHORIZED'
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAVAILABLE'
  | 'VENDOR_FAILED';

export interface Failure {
  code: FailureCode;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: Failure };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(code: FailureCode, message: string): Result<T> => ({
  ok: false,
  error: { code, message },
});

// Each role includes the read rights of the ones below it; admin has every right.
const IMPLIED: Record<Role, readonly Role[]> = {
  admin: ROLES,
  'it-manager': ['it-manager', 'helpdesk', 'member'],
  finance: ['finance', 'helpdesk', 'member'],
  helpdesk: ['helpdesk', 'member'],
  member: ['member'],
};

/** Whether the actor holds `role`, directly or through a role that includes it. */
export function hasRole(actor: Pick<Actor, 'roles'>, role: Role): boolean {
  return actor.roles.some((held) => IMPLIED[held].includes(role));
}

/** The local operator: whoever can run the CLI on the service's machine has every right. */
export function operatorActor(): Actor {
  return {
    id: 'operator',
    email: null,
    personId: null,
    displayName: 'local operator',
    roles: ['admin'],
    surface: 'cli',
  };
}
