/**
 * Renewal notifications go to the outbox (`notifications`); the chat surfaces deliver them. Targets are neutral:
 * `{ channel }` for a configured channel, `{ email, personId? }` for a person, `{ slackUserId }` or
 * `{ teamsAadObjectId }` for a chat identity from the role configuration.
 */
import type pg from 'pg';
import { loadRoles } from '../auth/actors.ts';
import type { Config } from '../config/config.ts';

export interface NotificationTarget {
  /** Part of the dedupe key: one notification per (event, key). */
  key: string;
  target: Record<string, unknown>;
}

/** The procurement channel. */
export function channelTarget(channel: string): NotificationTarget {
  return { key: `channel:${channel}`, target: { channel } };
}

/** A person by e-mail; `enqueueNotifications` adds their person id when Seatkeeper knows them. */
export function emailTarget(email: string): NotificationTarget {
  return { key: `email:${email.toLowerCase()}`, target: { email: email.toLowerCase() } };
}

/**
 * Everyone the role configuration gives the finance role. Without any, the procurement channel is told instead, so
 * a decision waiting for finance never waits unseen.
 */
export function financeTargets(
  config: Pick<Config, 'SEATKEEPER_ADMINS' | 'SEATKEEPER_ROLES_FILE'>,
  fallbackChannel: string,
): NotificationTarget[] {
  const targets: NotificationTarget[] = [];
  for (const [identity, roles] of loadRoles(config)) {
    if (!roles.includes('finance')) continue;
    if (identity.startsWith('slack:')) {
      // Role keys are lower-cased; Slack user ids are upper-case.
      const id = identity.slice(6).toUpperCase();
      targets.push({ key: `slack:${id}`, target: { slackUserId: id } });
    } else if (identity.startsWith('teams:')) {
      const id = identity.slice(6);
      targets.push({ key: `teams:${id}`, target: { teamsAadObjectId: id } });
    } else {
      targets.push(emailTarget(identity));
    }
  }
  return targets.length > 0 ? targets : [channelTarget(fallbackChannel)];
}

/**
 * Adds one notification per target, keyed `<dedupe>:<target key>`, in one statement. A key that exists already is
 * left alone, so retries, double clicks and replicas create each notification once.
 * @returns how many were new
 */
export async function enqueueNotifications(
  db: Pick<pg.ClientBase, 'query'>,
  notice: {
    dedupe: string;
    kind: string;
    targets: readonly NotificationTarget[];
    payload: Record<string, unknown>;
    at: Date;
  },
): Promise<number> {
  if (notice.targets.length === 0) return 0;
  const result = await db.query(
    `INSERT INTO notifications (dedupe_key, kind, target, payload, created_at)
     SELECT $1 || ':' || t.key, $2,
       CASE WHEN pe.person_id IS NULL THEN t.target ELSE t.target || jsonb_build_object('personId', pe.person_id) END,
       $3::jsonb, $4
     FROM jsonb_to_recordset($5::jsonb) AS t(key text, target jsonb)
     LEFT JOIN person_emails pe ON pe.email = lower(t.target->>'email')
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING id`,
    [notice.dedupe, notice.kind, JSON.stringify(notice.payload), notice.at, JSON.stringify(notice.targets)],
  );
  return result.rowCount ?? 0;
}
