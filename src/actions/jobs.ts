/**
 * The seat workflows' background work on the job runner:
 * - `action:run` carries out one action (a surface enqueues it after a click, so the click answers at once);
 * - `actions:tick` runs every minute: reminders and deadlines of holder asks, interrupted runs, queued actions nobody
 *   ran (e.g. `--no-wait`, or a holder's answer), and delivery of holder questions through the configured notifiers.
 * Every step is a compare-and-set or a set-based statement, so replicas running the same tick never act twice.
 */
import type { Config } from '../config/config.ts';
import type { JobRunner } from '../jobs/job-runner.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { appendAuditRows } from './action-store.ts';
import { HOLDER_ASK, HOLDER_ASK_REMINDER, releaseExpiredAsks, sendDueReminders } from './holder-asks.ts';
import { type DeliveryReport, deliverNotifications, type Notifier } from './notifier.ts';
import { type ActionRuntime, performAction } from './perform.ts';
import { type ActionSettings, resolveActionSettings } from './settings.ts';

export const ACTION_RUN_JOB = 'action:run';
export const ACTION_TICK_JOB = 'actions:tick';

export interface ActionJobDeps {
  store: Store;
  config: Config;
  log: Logger;
  /** Surfaces that deliver holder questions (Slack, Teams); none: the questions wait in the outbox. */
  notifiers?: readonly Notifier[];
  settings?: Partial<ActionSettings>;
  now?: () => Date;
}

/** Registers the seat workflows' jobs; call before the runner starts. */
export function defineActionJobs(runner: Pick<JobRunner, 'define'>, deps: ActionJobDeps): void {
  const runtime: ActionRuntime = {
    store: deps.store,
    config: deps.config,
    now: deps.now ?? (() => new Date()),
    settings: deps.settings,
    log: deps.log,
  };
  const lockLifetimeMs = resolveActionSettings(deps.config, deps.settings).interruptedAfterMinutes * 60_000;
  runner.define<{ actionId?: string }>({
    name: ACTION_RUN_JOB,
    lockLifetimeMs,
    concurrency: 4,
    run: async (data) => {
      if (!data.actionId) throw new Error(`${ACTION_RUN_JOB} needs an actionId`);
      const { ran, action } = await performAction(runtime, data.actionId);
      if (ran)
        deps.log.info({ actionId: action.id, state: action.state }, `action ${action.kind}: ${action.state}`);
    },
  });
  runner.define({
    name: ACTION_TICK_JOB,
    every: '1 minute',
    lockLifetimeMs,
    run: async () => {
      const tick = await runActionTick(runtime, deps.notifiers ?? []);
      if (tick.performed > 0 || tick.released > 0 || tick.interrupted > 0 || tick.reminded > 0)
        deps.log.info(tick, 'actions: tick');
    },
  });
}

export interface TickReport {
  reminded: number;
  released: number;
  interrupted: number;
  performed: number;
  delivered: DeliveryReport;
}

/**
 * One pass of the periodic work (the `actions:tick` job, also callable directly): reminders, expired asks released,
 * interrupted runs failed, queued actions carried out, holder questions delivered.
 */
export async function runActionTick(
  runtime: ActionRuntime,
  notifiers: readonly Notifier[] = [],
): Promise<TickReport> {
  const { pool } = runtime.store;
  const now = runtime.now();
  const settings = resolveActionSettings(runtime.config, runtime.settings);
  const reminded = await sendDueReminders(pool, now);
  const released = await releaseExpiredAsks(pool, now);
  const interrupted = await failInterrupted(runtime, now, settings.interruptedAfterMinutes);
  const queued = await pool.query<{ id: string }>(
    `SELECT id FROM actions WHERE state = 'queued' ORDER BY created_at, id LIMIT 100`,
  );
  let performed = 0;
  for (const { id } of queued.rows) {
    if ((await performAction(runtime, id)).ran) performed++;
  }
  const delivered = await deliverNotifications(runtime.store, notifiers, {
    kinds: [HOLDER_ASK, HOLDER_ASK_REMINDER],
    now,
  });
  return { reminded, released: released.length, interrupted, performed, delivered };
}

/**
 * A run still marked running long after it started belongs to a process that died mid-call. The vendor may or may not
 * have acted, so it is not re-sent by itself: it becomes a retryable failure for a person to look at.
 */
async function failInterrupted(runtime: ActionRuntime, now: Date, minutes: number): Promise<number> {
  const client = await runtime.store.pool.connect();
  try {
    await client.query('BEGIN');
    const stale = await client.query<{ id: string; requested_by: string; surface: string; target: string }>(
      `UPDATE actions SET state = 'failed', updated_at = $1,
         error = 'interrupted: the process running the vendor call stopped; check the seat at the vendor, then retry',
         result = jsonb_build_object('retryable', true, 'code', 'INTERRUPTED')
       WHERE state = 'running' AND updated_at < $1::timestamptz - make_interval(mins => $2::int)
       RETURNING id, requested_by, surface, (preview->'seat'->>'sku') || '/' || COALESCE(preview->'seat'->>'email',
         preview->'seat'->>'login', preview->'seat'->>'accountId') AS target`,
      [now, minutes],
    );
    await appendAuditRows(
      client,
      now,
      stale.rows.map((r) => ({
        actor: r.requested_by,
        surface: r.surface,
        action: 'reclaim.failed',
        target: r.target,
        after: { actionId: r.id, reason: 'interrupted', retryable: true },
      })),
    );
    await client.query('COMMIT');
    return stale.rowCount ?? 0;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
