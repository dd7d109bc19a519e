/**
 * Runs one queued action against the vendor: the service's job and the CLI call the same code. Whoever flips the
 * row from `queued` to `running` (one compare-and-set UPDATE) calls the vendor; everyone else gets the row as it is.
 * So a double click, a retried request or two replicas cause exactly one vendor call and one audit entry.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Connector } from '../../connectors/types.ts';
import type { Config } from '../config/config.ts';
import { applyStatuses } from '../findings/recompute.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { withTransaction } from '../store/transaction.ts';
import {
  type ActionOutcome,
  type ActionRecord,
  appendAuditRows,
  loadAction,
  type Queryable,
  SETTLED_STATES,
  seatLabel,
  toActionRecord,
} from './action-store.ts';
import { type ConnectorResolver, configuredConnectors, removalSupport } from './connectors.ts';
import { previewSeats } from './seat-preview.ts';
import { type ActionSettings, resolveActionSettings } from './settings.ts';

/** What running actions needs; a HandlerContext has all of it. */
export interface ActionRuntime {
  store: Store;
  config: Config;
  now: () => Date;
  connectors?: ConnectorResolver;
  settings?: Partial<ActionSettings>;
  log?: Logger;
}

export interface PerformOutcome {
  /** True when this call claimed the action and called the vendor (or cancelled it after the re-check). */
  ran: boolean;
  action: ActionRecord;
}

/**
 * Claims a queued action and carries it out. An action that is not queued (done, failed, asking, or running elsewhere)
 * is returned as it is, untouched.
 * @throws Error when no action has this id
 */
export async function performAction(runtime: ActionRuntime, actionId: string): Promise<PerformOutcome> {
  const { pool } = runtime.store;
  const claimed = await pool.query(
    `UPDATE actions SET state = 'running', attempts = attempts + 1, updated_at = $2
     WHERE id = $1 AND state = 'queued' RETURNING *`,
    [actionId, runtime.now()],
  );
  if (!claimed.rows[0]) {
    const current = await loadAction(pool, actionId);
    if (!current) throw new Error(`no action ${actionId}`);
    return { ran: false, action: current };
  }
  const action = toActionRecord(claimed.rows[0]);
  const resolve = runtime.connectors ?? configuredConnectors(runtime.config, { now: runtime.now });
  try {
    if (action.kind === 'reclaim') {
      const blockers = await recheck(runtime, resolve, action);
      if (blockers) return { ran: true, action: await finishCancelled(runtime, action, blockers) };
    }
    const connector = resolve(action.preview.seat.source);
    if (typeof connector === 'string') {
      return {
        ran: true,
        action: await finishFailed(runtime, action, { reason: connector, retryable: true }),
      };
    }
    const call = vendorCall(connector, action);
    if (typeof call === 'string') {
      return { ran: true, action: await finishFailed(runtime, action, { reason: call, retryable: false }) };
    }
    const answer = await call();
    if (!answer.ok) {
      return {
        ran: true,
        action: await finishFailed(runtime, action, {
          reason: answer.reason,
          code: answer.code,
          retryable: answer.retryable,
        }),
      };
    }
    return { ran: true, action: await finishDone(runtime, action, answer.detail) };
  } catch (error) {
    // Not a vendor's answer but a fault of ours (or the database): record it so the action is not stuck running.
    runtime.log?.error({ err: error, actionId }, 'action failed unexpectedly');
    return {
      ran: true,
      action: await finishFailed(runtime, action, {
        reason: `unexpected error: ${(error as Error).message}`,
        retryable: false,
      }),
    };
  }
}

function vendorCall(connector: Connector, action: ActionRecord) {
  const seat = action.preview.seat;
  if (action.kind === 'reclaim') {
    const remove = connector.removeSeat?.bind(connector);
    return remove ? () => remove(seat) : `the ${seat.source} connector cannot remove seats`;
  }
  const restore = connector.restoreSeat?.bind(connector);
  return restore
    ? () => restore(seat)
    : (connector.restoreUnsupported ?? `the ${seat.source} connector cannot restore seats`);
}

/**
 * Blockers that appeared since the request (an exemption, the commit floor reached by other reclaims, the seat gone):
 * the vendor is not called.
 */
async function recheck(
  runtime: ActionRuntime,
  resolve: ConnectorResolver,
  action: ActionRecord,
): Promise<ActionOutcome['blockers'] | undefined> {
  const seat = action.preview.seat;
  if (action.subscriberId === null) {
    return [{ code: 'not-active', message: 'the seat is no longer in the inventory' }];
  }
  const [preview] = await previewSeats(
    runtime.store.pool,
    { subscriberId: action.subscriberId, excludeActionId: action.id },
    {
      now: runtime.now(),
      defaultEntitlementDays: runtime.config.SEATKEEPER_MIN_ENTITLEMENT_DAYS,
      removal: removalSupport(resolve, [seat.source]),
    },
  );
  if (!preview) return [{ code: 'not-active', message: 'the seat is no longer in the inventory' }];
  return preview.blockers.length > 0 ? preview.blockers : undefined;
}

/** Runs `work` in one transaction on one connection. */
function inTransaction<T>(runtime: ActionRuntime, work: (db: Queryable) => Promise<T>): Promise<T> {
  return withTransaction(runtime.store.pool, work);
}

/**
 * Moves this attempt's row to its final state. The attempt number fences it: a run declared interrupted and retried
 * since cannot be overwritten by the stale one.
 */
async function settle(
  db: Queryable,
  action: ActionRecord,
  now: Date,
  state: 'done' | 'failed' | 'cancelled',
  result: ActionOutcome,
  error: string | null,
  undoUntil: Date | null,
): Promise<ActionRecord | undefined> {
  const updated = await db.query(
    `UPDATE actions SET state = $3, result = $4, error = $5, undo_until = $6, updated_at = $7,
       completed_at = CASE WHEN $3 = 'done' THEN $7::timestamptz ELSE completed_at END
     WHERE id = $1 AND attempts = $2 AND state IN ('running', 'failed') RETURNING *`,
    [action.id, action.attempts, state, JSON.stringify(result), error, undoUntil, now],
  );
  return updated.rows[0] ? toActionRecord(updated.rows[0]) : undefined;
}

async function finishDone(
  runtime: ActionRuntime,
  action: ActionRecord,
  detail?: string,
): Promise<ActionRecord> {
  const now = runtime.now();
  const settings = resolveActionSettings(runtime.config, runtime.settings);
  const target = seatLabel(action.preview);
  const settled = await inTransaction(runtime, async (db) => {
    if (action.kind === 'reclaim') {
      // The vendor confirmed: the seat is gone, and what it was found for is resolved as reclaimed (realized savings).
      const resolved = await db.query<{ id: number; kind: string; savings: number | null }>(
        `UPDATE findings SET status = 'resolved', resolved_at = $2, resolved_how = 'reclaimed'
         WHERE subscriber_id = $1 AND status <> 'resolved' RETURNING id, kind, savings::float8 AS savings`,
        [action.subscriberId, now],
      );
      await db.query(
        `UPDATE cloud_subscribers SET is_active = false, inactive_since = $2, updated_at = $2
         WHERE id = $1 AND is_active`,
        [action.subscriberId, now],
      );
      const undoUntil = new Date(now.getTime() + settings.undoDays * 86_400_000);
      const findingIds = resolved.rows.map((f) => f.id);
      const row = await settle(db, action, now, 'done', { detail, findingIds }, null, undoUntil);
      if (row) {
        await appendAuditRows(db, now, [
          {
            actor: action.requestedBy,
            surface: action.surface,
            action: 'reclaim',
            target,
            before: { active: true, findings: resolved.rows },
            after: { active: false, actionId: action.id, vendor: detail ?? null, undoUntil },
          },
        ]);
      }
      return row;
    }
    // An undo: the seat is back at the vendor, so it is active again and its findings are open again.
    const reclaim = action.undoes
      ? await db.query(`SELECT * FROM actions WHERE id = $1`, [action.undoes])
      : null;
    const findingIds: number[] = reclaim?.rows[0]?.result?.findingIds ?? [];
    await db.query(`UPDATE actions SET state = 'undone', updated_at = $2 WHERE id = $1 AND state = 'done'`, [
      action.undoes,
      now,
    ]);
    await db.query(
      `UPDATE cloud_subscribers SET is_active = true, inactive_since = NULL, updated_at = $2
       WHERE id = $1 AND NOT is_active`,
      [action.subscriberId, now],
    );
    await db.query(
      `UPDATE findings SET status = 'open', resolved_at = NULL, resolved_how = NULL
       WHERE id = ANY($1::bigint[]) AND resolved_how = 'reclaimed'`,
      [findingIds],
    );
    // A reopened finding an exemption covers (made since the reclaim) is exempted, not open.
    await applyStatuses(db, now);
    const row = await settle(db, action, now, 'done', { detail, findingIds }, null, null);
    if (row) {
      await appendAuditRows(db, now, [
        {
          actor: action.requestedBy,
          surface: action.surface,
          action: 'reclaim.undone',
          target,
          before: { active: false, reclaim: action.undoes },
          after: { active: true, actionId: action.id, vendor: detail ?? null },
        },
      ]);
    }
    return row;
  });
  return settled ?? ((await loadAction(runtime.store.pool, action.id)) as ActionRecord);
}

async function finishFailed(
  runtime: ActionRuntime,
  action: ActionRecord,
  failure: { reason: string; code?: string; retryable: boolean },
): Promise<ActionRecord> {
  const now = runtime.now();
  const settled = await inTransaction(runtime, async (db) => {
    const outcome: ActionOutcome = { code: failure.code, retryable: failure.retryable };
    const row = await settle(db, action, now, 'failed', outcome, failure.reason, null);
    if (row) {
      await appendAuditRows(db, now, [
        {
          actor: action.requestedBy,
          surface: action.surface,
          action: `${action.kind === 'reclaim' ? 'reclaim' : 'reclaim.undo'}.failed`,
          target: seatLabel(action.preview),
          after: { actionId: action.id, attempt: action.attempts, ...failure },
        },
      ]);
    }
    return row;
  });
  return settled ?? ((await loadAction(runtime.store.pool, action.id)) as ActionRecord);
}

async function finishCancelled(
  runtime: ActionRuntime,
  action: ActionRecord,
  blockers: NonNullable<ActionOutcome['blockers']>,
): Promise<ActionRecord> {
  const now = runtime.now();
  const reason = `not reclaimed: ${blockers.map((b) => b.message).join('; ')}`;
  const settled = await inTransaction(runtime, async (db) => {
    const row = await settle(db, action, now, 'cancelled', { blockers }, reason, null);
    if (row) {
      await appendAuditRows(db, now, [
        {
          actor: action.requestedBy,
          surface: action.surface,
          action: 'reclaim.cancelled',
          target: seatLabel(action.preview),
          after: { actionId: action.id, blockers },
        },
      ]);
    }
    return row;
  });
  return settled ?? ((await loadAction(runtime.store.pool, action.id)) as ActionRecord);
}

/**
 * Waits until an action another process claimed has settled (or leaves `running`), checking the row every
 * `intervalMs`. Used by the CLI when the service's job got to the action first.
 */
export async function waitForAction(
  runtime: ActionRuntime,
  actionId: string,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<ActionRecord> {
  const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
  for (;;) {
    const action = await loadAction(runtime.store.pool, actionId);
    if (!action) throw new Error(`no action ${actionId}`);
    if (SETTLED_STATES.includes(action.state) || action.state === 'asking' || Date.now() >= deadline)
      return action;
    await delay(options.intervalMs ?? 250);
  }
}
