/**
 * The role check every handler that changes something makes itself, whatever surface called it (a button bypasses
 * the command registry), and the registry's own check. A denial is a value with a clear message, and it is audited
 * the same way everywhere (`denied`, the verb as target, the roles required and held).
 */
import { appendAudit } from '../src/store/audit.ts';
import { fail, type HandlerContext, hasRole, ok, type Result, type Role } from './types.ts';

/** Passes when the actor holds `role`; otherwise audits the denial and says what was needed. */
export async function authorize(
  ctx: HandlerContext,
  role: Role,
  what: string,
  target?: string,
): Promise<Result<true>> {
  if (hasRole(ctx.actor, role)) return ok(true);
  return deny(ctx, what, `'${what}' needs the ${role} role, which you do not have.`, {
    required: role,
    target,
  });
}

/** Audits a denial and returns it as a NOT_AUTHORIZED failure. */
export async function deny<T = never>(
  ctx: HandlerContext,
  what: string,
  message: string,
  detail: Record<string, unknown> = {},
): Promise<Result<T>> {
  await appendAudit(ctx.store.pool, {
    actor: ctx.actor.id,
    surface: ctx.actor.surface,
    action: 'denied',
    target: what,
    after: { ...detail, held: ctx.actor.roles },
  });
  return fail('NOT_AUTHORIZED', message);
}
