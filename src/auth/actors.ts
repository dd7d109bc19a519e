/**
 * Who is asking: a surface's identity (e-mail, Slack user id, Teams AAD object id) becomes an `Actor` with roles
 * before any handler runs. Roles come from SEATKEEPER_ADMINS and SEATKEEPER_ROLES_FILE; anyone Seatkeeper knows as a
 * person is a `member` (their own seats).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { type Actor, ROLES, type Role, type Surface } from '../../handlers/types.ts';
import { type Config, ConfigError } from '../config/config.ts';
import type { Store } from '../store/store.ts';

/** Role → identities (`ana@example.com`, `slack:U123`, `teams:<aad id>`), lower-cased. */
export type RoleMap = ReadonlyMap<string, readonly Role[]>;

const identity = z
  .string()
  .trim()
  .regex(
    /^([^\s@]+@[^\s@]+|slack:[A-Z0-9]+|teams:[0-9a-fA-F-]{8,})$/i,
    'expected an e-mail, slack:<user id> or teams:<AAD object id>',
  );
const GRANTABLE = ROLES.filter((r) => r !== 'member');
const rolesFile = z.record(z.string(), z.array(identity)).superRefine((value, ctx) => {
  for (const key of Object.keys(value)) {
    if (!(GRANTABLE as string[]).includes(key)) {
      ctx.addIssue({ code: 'custom', path: [key], message: `expected roles ${GRANTABLE.join(', ')}` });
    }
  }
});

/** Reads the role configuration once at start-up. @throws ConfigError naming the file and the problem */
export function loadRoles(config: Pick<Config, 'SEATKEEPER_ADMINS' | 'SEATKEEPER_ROLES_FILE'>): RoleMap {
  const map = new Map<string, Role[]>();
  const grant = (who: string, role: Role) => {
    const key = who.trim().toLowerCase();
    const held = map.get(key) ?? [];
    if (!held.includes(role)) held.push(role);
    map.set(key, held);
  };
  for (const email of config.SEATKEEPER_ADMINS?.split(',') ?? []) grant(email, 'admin');
  const file = config.SEATKEEPER_ROLES_FILE;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(
        'SEATKEEPER_ROLES_FILE',
        `Configuration error: SEATKEEPER_ROLES_FILE (${file}) cannot be read as JSON: ${(error as Error).message}`,
      );
    }
    const checked = rolesFile.safeParse(parsed);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const where = issue?.path.join('.') || '(top level)';
      const what = issue?.message;
      throw new ConfigError(
        'SEATKEEPER_ROLES_FILE',
        `Configuration error: SEATKEEPER_ROLES_FILE (${file}) is invalid at ${where}: ${what}.`,
      );
    }
    for (const [role, who] of Object.entries(checked.data))
      for (const id of who ?? []) grant(id, role as Role);
  }
  return map;
}

export interface IdentityClaim {
  email?: string | null;
  slackUserId?: string | null;
  teamsAadObjectId?: string | null;
  displayName?: string | null;
}

/** Resolves a surface's identity to an Actor: matching person (by any address or chat id) and roles. */
export async function resolveActor(
  store: Store,
  roles: RoleMap,
  claim: IdentityClaim,
  surface: Surface,
): Promise<Actor> {
  const found = await store.pool.query<{
    id: number;
    primary_email: string;
    display_name: string | null;
    emails: string[];
  }>(
    `SELECT p.id, p.primary_email, p.display_name, ARRAY(SELECT email FROM person_emails e WHERE e.person_id = p.id) AS emails
     FROM persons p
     WHERE p.id = (SELECT person_id FROM person_emails WHERE email = lower($1))
        OR ($2::text IS NOT NULL AND p.slack_user_id = $2)
        OR ($3::text IS NOT NULL AND p.teams_aad_object_id = $3)
     ORDER BY p.id LIMIT 1`,
    [claim.email ?? null, claim.slackUserId ?? null, claim.teamsAadObjectId ?? null],
  );
  const person = found.rows[0];
  const keys = [
    claim.email?.toLowerCase(),
    ...(person?.emails ?? []),
    claim.slackUserId ? `slack:${claim.slackUserId}`.toLowerCase() : undefined,
    claim.teamsAadObjectId ? `teams:${claim.teamsAadObjectId}`.toLowerCase() : undefined,
  ].filter((k): k is string => Boolean(k));
  const held = new Set<Role>(keys.flatMap((k) => roles.get(k) ?? []));
  if (person) held.add('member');
  const email = person?.primary_email ?? claim.email?.toLowerCase() ?? null;
  return {
    id:
      email ??
      (claim.slackUserId ? `slack:${claim.slackUserId}` : `teams:${claim.teamsAadObjectId ?? 'unknown'}`),
    email,
    personId: person?.id ?? null,
    displayName: person?.display_name ?? claim.displayName ?? email ?? 'unknown user',
    roles: ROLES.filter((r) => held.has(r)),
    surface,
  };
}
