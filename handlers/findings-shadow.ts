/**
 * Shadow IT verbs: scan the configured sources now, list what was seen, dismiss an app someone decided is known
 * and fine (its finding resolves as `dismissed`), or restore it.
 */
import { NAME_KEY, policyOf, recomputeWithin } from '../src/findings/recompute.ts';
import {
  configuredShadowSources,
  SHADOW_SOURCES,
  type ShadowScanResult,
  type ShadowSourceName,
  scanShadowApps,
} from '../src/findings/shadow.ts';
import { appendAudit } from '../src/store/audit.ts';
import { checkReason, inTransaction, iso, requireRole } from './findings-kit.ts';
import type { Listing, Page } from './inventory-queries.ts';
import { fail, type HandlerContext, ok, type Result } from './types.ts';

export interface ShadowAppRow {
  app: string;
  /** The matching key: the name's words, lower-cased. */
  key: string;
  /** Sources that report it now (comma-separated), or the last one that did. */
  source: string;
  users: number;
  firstSeenAt: string;
  lastSeenAt: string;
  dismissedAt: string | null;
  dismissedBy: string | null;
  /** Per source: users, admin consent, dates, spend, scopes, app ids. */
  evidence: Record<string, unknown> | null;
  /** Status of its finding (`open`, `resolved`, ...), or null when it has none (a license is for it). */
  findingStatus: string | null;
}

const SHADOW_SELECT = `
  SELECT a.*, f.status AS finding_status
  FROM shadow_apps a LEFT JOIN findings f ON f.key = 'shadow:' || a.key
`;

// biome-ignore lint/suspicious/noExplicitAny: a row of SHADOW_SELECT, typed by the mapping below
function toShadowRow(r: any): ShadowAppRow {
  return {
    app: r.name,
    key: r.key,
    source: r.source,
    users: r.users,
    firstSeenAt: r.first_seen_at.toISOString(),
    lastSeenAt: r.last_seen_at.toISOString(),
    dismissedAt: iso(r.dismissed_at),
    dismissedBy: r.dismissed_by,
    evidence: r.evidence,
    findingStatus: r.finding_status,
  };
}

/** Apps seen in use, most users first. */
export async function listShadowApps(
  ctx: HandlerContext,
  args: Page,
): Promise<Result<Listing<ShadowAppRow>>> {
  const result = await ctx.store.pool.query(
    `SELECT s.*, count(*) OVER ()::int AS total FROM (${SHADOW_SELECT}) s
     ORDER BY s.users DESC, s.key LIMIT $1 OFFSET $2`,
    [args.limit, args.offset],
  );
  return ok({ total: result.rows[0]?.total ?? 0, rows: result.rows.map(toShadowRow) });
}

export interface ShadowScanRow {
  source: string;
  observations: number;
  apps: number;
  newApps: number;
  gone: number;
  /** Open `shadow` findings after this source's scan. */
  shadowFindings: number;
}

/** Reads the configured shadow sources now (Microsoft 365 grants; CSV_DIR/shadow.csv) and recomputes findings. */
export async function scanShadow(
  ctx: HandlerContext,
  input: { source?: string },
): Promise<Result<ShadowScanRow[]>> {
  const denied = await requireRole(ctx, 'it-manager', 'shadow scan');
  if (denied) return denied;
  if (input.source && !(SHADOW_SOURCES as readonly string[]).includes(input.source)) {
    return fail('INVALID_ARGUMENT', `--source must be one of ${SHADOW_SOURCES.join(', ')}.`);
  }
  const only = input.source as ShadowSourceName | undefined;
  const available = configuredShadowSources(ctx.config).filter((s) => !only || s.name === only);
  if (available.length === 0) {
    return fail(
      'UNAVAILABLE',
      only === 'm365'
        ? 'Microsoft 365 is not configured: set M365_TENANT_ID, M365_CLIENT_ID and M365_CLIENT_SECRET.'
        : only === 'csv'
          ? 'No shadow.csv in CSV_DIR (or CSV_DIR is not set).'
          : 'No shadow-IT source: configure Microsoft 365 (M365_*) or put shadow.csv in CSV_DIR.',
    );
  }
  let results: ShadowScanResult[];
  try {
    results = await scanShadowApps(ctx.store, ctx.config, {
      only,
      policy: policyOf(ctx.config),
      now: ctx.now(),
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
    });
  } catch (error) {
    // A vendor or file problem is the operator's to fix, not a crash: say what failed; nothing was changed.
    return fail('UNAVAILABLE', `Shadow scan failed, nothing changed: ${(error as Error).message}`);
  }
  return ok(
    results.map((r) => ({
      source: r.source,
      observations: r.observations,
      apps: r.apps,
      newApps: r.newApps,
      gone: r.gone,
      shadowFindings: r.shadowFindings,
    })),
  );
}

async function findApp(db: Pick<HandlerContext['store']['pool'], 'query'>, app: string) {
  const found = await db.query(`${SHADOW_SELECT} WHERE a.key = ${NAME_KEY('$1::text')} FOR UPDATE OF a`, [
    app,
  ]);
  return found.rows[0];
}

/** Marks an app as known and fine: no `shadow` finding for it any more (resolved as `dismissed`, with the reason). */
export async function dismissShadowApp(
  ctx: HandlerContext,
  input: { app?: string; reason?: string },
): Promise<Result<ShadowAppRow[]>> {
  const denied = await requireRole(ctx, 'it-manager', 'shadow dismiss');
  if (denied) return denied;
  const app = input.app?.trim();
  if (!app) return fail('INVALID_ARGUMENT', 'Say which app: shadow dismiss <app> --reason "…".');
  const reason = checkReason(input.reason, true);
  if (!reason.ok) return reason;
  const now = ctx.now();
  return inTransaction(ctx, async (client) => {
    const before = await findApp(client, app);
    if (!before)
      return fail('NOT_FOUND', `No app named '${app}' has been seen (see 'findings --kind shadow').`);
    if (before.dismissed_at) {
      return fail('CONFLICT', `${before.name} was dismissed already, by ${before.dismissed_by}.`);
    }
    await client.query('UPDATE shadow_apps SET dismissed_at = $2, dismissed_by = $3 WHERE id = $1', [
      before.id,
      now,
      ctx.actor.id,
    ]);
    await client.query(
      `UPDATE findings SET status = 'resolved', resolved_at = $2, resolved_how = 'dismissed', status_until = NULL,
         status_reason = $3, status_by = $4
       WHERE key = $1 AND status <> 'resolved'`,
      [`shadow:${before.key}`, now, reason.value, ctx.actor.id],
    );
    const after = await findApp(client, app);
    await appendAudit(client, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: 'shadow.dismiss',
      target: `shadow:${before.key}`,
      before: { dismissedAt: null, findingStatus: before.finding_status },
      after: { dismissedAt: now.toISOString(), reason: reason.value },
      at: now,
    });
    return ok([toShadowRow(after)]);
  });
}

/** Undoes a dismissal: the app is shadow IT again while no license is for it. */
export async function restoreShadowApp(
  ctx: HandlerContext,
  input: { app?: string },
): Promise<Result<ShadowAppRow[]>> {
  const denied = await requireRole(ctx, 'it-manager', 'shadow restore');
  if (denied) return denied;
  const app = input.app?.trim();
  if (!app) return fail('INVALID_ARGUMENT', 'Say which app: shadow restore <app>.');
  const now = ctx.now();
  return inTransaction(ctx, async (client) => {
    const before = await findApp(client, app);
    if (!before) return fail('NOT_FOUND', `No app named '${app}' has been seen.`);
    if (!before.dismissed_at) return fail('CONFLICT', `${before.name} is not dismissed.`);
    await client.query('UPDATE shadow_apps SET dismissed_at = NULL, dismissed_by = NULL WHERE id = $1', [
      before.id,
    ]);
    await recomputeWithin(client, policyOf(ctx.config), now);
    const after = await findApp(client, app);
    await appendAudit(client, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: 'shadow.restore',
      target: `shadow:${before.key}`,
      before: { dismissedAt: iso(before.dismissed_at), dismissedBy: before.dismissed_by },
      after: { dismissedAt: null, findingStatus: after?.finding_status ?? null },
      at: now,
    });
    return ok([toShadowRow(after)]);
  });
}
