/**
 * Reclaiming seats, as surface-neutral verbs: preview (the dry run), request (creates the actions, asks the holder
 * where configured), perform (the vendor call, here or in the service's job), undo, retry, and the holder's answer.
 * Every verb checks its role itself, since buttons reach it without the command registry, and every change is
 * audited. Surfaces pass an id per click (`requestId`): the same id never acts twice.
 */

import {
  type ActionRecord,
  type ActionState,
  type AuditRow,
  appendAuditRows,
  derivedId,
  isUuid,
  loadAction,
  loadRequest,
  newActionId,
  type Queryable,
  seatLabel,
  toActionRecord,
} from '../src/actions/action-store.ts';
import { type ConnectorResolver, configuredConnectors, removalSupport } from '../src/actions/connectors.ts';
import { createAsks, type HolderAnswer } from '../src/actions/holder-asks.ts';
import { type ActionRuntime, performAction, waitForAction } from '../src/actions/perform.ts';
import {
  type Notice,
  type PreviewQuery,
  previewLicenses,
  previewSeats,
  previewSources,
  type SeatPreview,
} from '../src/actions/seat-preview.ts';
import { type ActionSettings, resolveActionSettings } from '../src/actions/settings.ts';
import { applyStatuses } from '../src/findings/recompute.ts';
import { authorize, deny } from './authorize.ts';
import type { Listing, Page } from './inventory-queries.ts';
import type { HandlerContext } from './types.ts';
import { fail, hasRole, ok, type Result } from './types.ts';

/** Which seats to reclaim, and how. */
export interface ReclaimInput {
  /** The SKU (publisher part number); with `email` one seat, with `allIdle` every idle seat of it. */
  sku?: string;
  /** The account's e-mail or login (or any address of the person holding the seat). */
  email?: string;
  /** One seat by its inventory id (what cards and buttons carry); `sku` and `email` are then not needed. */
  subscriberId?: number;
  /** Every seat of `sku` with an open idle finding. */
  allIdle?: boolean;
  /**
   * Idempotency key (a UUID): the action id for one seat, the batch id for `allIdle`. A surface sends the same id when
   * a click is repeated or a request retried; omitted, a new one is made.
   */
  requestId?: string;
  /** Ask the holder Keep/Release first, whatever the configuration says for this SKU. */
  askHolder?: boolean;
  /** Days the holder has to answer (default: the configured days). */
  askDays?: number;
}

/** Per-call plumbing: settings until the configuration carries them, and which connectors act. */
export interface ReclaimOptions {
  settings?: Partial<ActionSettings>;
  connectors?: ConnectorResolver;
}

/** One seat in a reclaim's output: the preview, and once requested, the action's state and the vendor's answer. */
export interface ReclaimRow {
  /** Null in a dry run and for blocked seats (nothing was created). */
  actionId: string | null;
  batchId: string | null;
  /** `preview`, `blocked`, or the action's state: `asking`, `queued`, `running`, `done`, `failed`, `cancelled`, `undone`. */
  state: string;
  subscriberId: number;
  licenseId: number;
  email: string | null;
  login: string | null;
  /** The holder's primary e-mail; null for an account in clearing. */
  person: string | null;
  sku: string;
  product: string;
  vendor: string;
  lastActivityAt: string | null;
  lastActivitySource: string | null;
  daysSinceActivity: number | null;
  finding: { id: number; kind: string; status: string } | null;
  /** Annualized savings of this seat; null when the price is unknown. */
  savings: number | null;
  currency: string | null;
  blockers: Notice[];
  warnings: Notice[];
  ask: AskInfo | null;
  /** The vendor's confirmation. */
  detail: string | null;
  /** The vendor's reason (or the re-check's) when it failed or was cancelled. */
  error: string | null;
  retryable: boolean | null;
  undoUntil: string | null;
}

export interface AskInfo {
  holder: string | null;
  deadline: string;
  remindedAt: string | null;
  /** `keep`, `release`, `no-answer`, or null while open. */
  answer: string | null;
}

/** An action as every action verb returns it. */
export interface ActionRow {
  actionId: string;
  /** `reclaim` or `undo`. */
  kind: string;
  state: ActionState;
  batchId: string | null;
  /** For an undo: the reclaim it undoes. */
  undoes: string | null;
  subscriberId: number | null;
  email: string | null;
  login: string | null;
  sku: string;
  product: string;
  vendor: string;
  person: string | null;
  requestedBy: string;
  surface: string;
  createdAt: string;
  completedAt: string | null;
  attempts: number;
  detail: string | null;
  error: string | null;
  retryable: boolean | null;
  undoUntil: string | null;
  ask: AskInfo | null;
}

/** The reason of the exemption a holder's "Keep" makes. */
export const KEEP_REASON = 'holder asked to keep';

const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

function runtimeOf(ctx: HandlerContext, options: ReclaimOptions, resolve?: ConnectorResolver): ActionRuntime {
  return {
    store: ctx.store,
    config: ctx.config,
    now: ctx.now,
    settings: options.settings,
    connectors: resolve ?? options.connectors ?? configuredConnectors(ctx.config, { now: ctx.now }),
  };
}

function checkInput(input: ReclaimInput): Result<PreviewQuery & { batch: boolean }> {
  if (input.requestId !== undefined && !isUuid(input.requestId)) {
    return fail('INVALID_ARGUMENT', `The action id must be a UUID, not '${input.requestId}'.`);
  }
  if (input.subscriberId !== undefined) {
    if (input.allIdle || input.email)
      return fail('INVALID_ARGUMENT', 'A seat id names one seat: give it without --email or --all-idle.');
    return ok({ subscriberId: input.subscriberId, batch: false });
  }
  const sku = input.sku?.trim();
  if (!sku) return fail('INVALID_ARGUMENT', 'Say which SKU (--sku).');
  if (input.allIdle) {
    if (input.email)
      return fail('INVALID_ARGUMENT', 'Give --email for one seat or --all-idle for all, not both.');
    return ok({ sku, allIdle: true, batch: true });
  }
  const account = input.email?.trim();
  if (!account)
    return fail('INVALID_ARGUMENT', 'Say whose seat (--email), or --all-idle for every idle seat.');
  return ok({ sku, account, batch: false });
}

async function previews(
  db: Queryable,
  ctx: HandlerContext,
  query: PreviewQuery,
  resolve: ConnectorResolver,
): Promise<SeatPreview[]> {
  const sources = await previewSources(db, query);
  return previewSeats(db, query, {
    now: ctx.now(),
    defaultEntitlementDays: ctx.config.SEATKEEPER_MIN_ENTITLEMENT_DAYS,
    removal: removalSupport(resolve, sources),
  });
}

function noSeat(query: PreviewQuery): string {
  if (query.subscriberId !== undefined) return `No seat ${query.subscriberId} in the inventory.`;
  if (query.allIdle) return `No idle seat of ${query.sku}.`;
  return `No seat of ${query.sku} is held by ${query.account}.`;
}

function severalSeats(query: PreviewQuery, found: SeatPreview[]): string {
  const list = found
    .map((p) => `${p.seat.subscriberId} (${p.seat.source}: ${p.seat.email ?? p.seat.login})`)
    .join(', ');
  return `Several seats of ${query.sku} match ${query.account}: ${list}. Say which with its seat id (--seat ID).`;
}

/** The preview (dry run): who, what, evidence, savings and blockers. Nothing is changed. */
export async function previewReclaim(
  ctx: HandlerContext,
  input: ReclaimInput,
  options: ReclaimOptions = {},
): Promise<Result<ReclaimRow[]>> {
  const allowed = await authorize(ctx, 'it-manager', 'reclaim');
  if (!allowed.ok) return allowed;
  const checked = checkInput(input);
  if (!checked.ok) return checked;
  const resolve = options.connectors ?? configuredConnectors(ctx.config, { now: ctx.now });
  const found = await previews(ctx.store.pool, ctx, checked.value, resolve);
  if (found.length === 0 && !checked.value.batch) return fail('NOT_FOUND', noSeat(checked.value));
  return ok(found.map((p) => reclaimRow(p)));
}

/**
 * Creates the reclaim actions: one seat, or every unblocked idle seat of a SKU (blocked ones are reported, not
 * created). Seats whose product asks the holder first get `asking` and a question in the outbox; the others are
 * `queued` for the vendor call. The same `requestId` returns what the first request made. Nothing is sent to the
 * vendor here.
 */
export async function requestReclaim(
  ctx: HandlerContext,
  input: ReclaimInput,
  options: ReclaimOptions = {},
): Promise<Result<ReclaimRow[]>> {
  const allowed = await authorize(ctx, 'it-manager', 'reclaim');
  if (!allowed.ok) return allowed;
  const checked = checkInput(input);
  if (!checked.ok) return checked;
  const query = checked.value;
  const settings = resolveActionSettings(ctx.config, options.settings);
  const resolve = options.connectors ?? configuredConnectors(ctx.config, { now: ctx.now });
  const requestId = input.requestId ?? newActionId();
  const now = ctx.now();

  const client = await ctx.store.pool.connect();
  try {
    await client.query('BEGIN');
    // One request at a time per license: the in-progress and commit-floor checks below then see every earlier one.
    const licenses = await previewLicenses(client, query);
    await client.query(
      `SELECT pg_advisory_xact_lock(7310215, id::int) FROM unnest($1::bigint[]) AS id ORDER BY id`,
      [licenses],
    );
    const earlier = await loadRequest(client, requestId);
    if (earlier.length > 0) {
      await client.query('COMMIT');
      if (earlier.some((a) => a.kind !== 'reclaim')) {
        return fail('CONFLICT', `The id ${requestId} belongs to another kind of action.`);
      }
      const asks = await loadAsks(
        ctx.store.pool,
        earlier.map((a) => a.id),
      );
      return ok(earlier.map((a) => reclaimRow(a.preview, a, asks.get(a.id))));
    }
    const found = await previews(client, ctx, query, resolve);
    if (!query.batch) {
      if (found.length === 0) {
        await client.query('ROLLBACK');
        return fail('NOT_FOUND', noSeat(query));
      }
      if (found.length > 1) {
        await client.query('ROLLBACK');
        return fail('CONFLICT', severalSeats(query, found));
      }
      const [only] = found as [SeatPreview];
      if (only.blockers.length > 0) {
        await client.query('ROLLBACK');
        return fail('CONFLICT', `Not reclaimed: ${describeSeat(only)}: ${describeBlockers(only.blockers)}.`);
      }
    }
    const free = found.filter((p) => p.blockers.length === 0);
    const batchId = query.batch ? requestId : null;
    const ask = (p: SeatPreview) =>
      input.askHolder === true || settings.askHolderSkus.includes(p.seat.sku.toLowerCase());
    for (const p of free) {
      if (ask(p) && p.personId === null) {
        p.warnings.push({
          code: 'ask-skipped',
          message:
            'the holder is not matched to a person, so cannot be asked: the seat is reclaimed without asking',
        });
      }
    }
    const items = free.map((p) => ({
      id: query.batch ? derivedId(`${requestId}:${p.seat.subscriberId}`) : requestId,
      preview: p,
      state: (ask(p) && p.personId !== null ? 'asking' : 'queued') as ActionState,
    }));
    const inserted = await client.query(
      `INSERT INTO actions (id, kind, state, subscriber_id, license_id, batch_id, requested_by, surface, preview,
         created_at, updated_at)
       SELECT t.id, 'reclaim', t.state, t.sub, t.lic, $6::uuid, $7, $8, t.preview, $9, $9
       FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::jsonb[]) AS t(id, state, sub, lic, preview)
       ON CONFLICT (id) DO NOTHING RETURNING *`,
      [
        items.map((i) => i.id),
        items.map((i) => i.state),
        items.map((i) => i.preview.seat.subscriberId),
        items.map((i) => i.preview.seat.licenseId),
        items.map((i) => JSON.stringify(i.preview)),
        batchId,
        ctx.actor.id,
        ctx.actor.surface,
        now,
      ],
    );
    const asking = items.filter((i) => i.state === 'asking');
    const deadline = await createAsks(
      client,
      asking.map((i) => ({ actionId: i.id, preview: i.preview })),
      { now, days: input.askDays ?? settings.askHolderDays, requestedBy: ctx.actor.id },
    );
    await appendAuditRows(
      client,
      now,
      inserted.rows.map((r) => {
        const item = items.find((i) => i.id === r.id) as (typeof items)[number];
        return {
          actor: ctx.actor.id,
          surface: ctx.actor.surface,
          action: 'reclaim.requested',
          target: seatLabel(item.preview),
          after: {
            actionId: item.id,
            batchId,
            state: item.state,
            savings: item.preview.savings,
            currency: item.preview.currency,
            finding: item.preview.finding,
            ...(item.state === 'asking' ? { askDeadline: deadline } : {}),
          },
        };
      }),
    );
    await client.query('COMMIT');
    const created = new Map(inserted.rows.map((r) => [r.id as string, toActionRecord(r)]));
    const asks = await loadAsks(ctx.store.pool, [...created.keys()]);
    return ok(
      found.map((p) => {
        const item = items.find((i) => i.preview === p);
        const action = item ? created.get(item.id) : undefined;
        return reclaimRow(p, action, action ? asks.get(action.id) : undefined);
      }),
    );
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Request, then (with `wait`) carry out the queued actions here, one after the other, and report what each vendor
 * said. Without `wait` the actions stay queued for the service's job (or a surface enqueues `action:run`). One seat
 * that the vendor refused is a `VENDOR_FAILED` failure naming the reason and the action to retry; in a batch, any
 * refusal makes the whole answer `VENDOR_FAILED` with one line per failed seat.
 */
export async function reclaim(
  ctx: HandlerContext,
  input: ReclaimInput & { wait?: boolean },
  options: ReclaimOptions = {},
): Promise<Result<ReclaimRow[]>> {
  const resolve = options.connectors ?? configuredConnectors(ctx.config, { now: ctx.now });
  const requested = await requestReclaim(ctx, input, { ...options, connectors: resolve });
  if (!requested.ok || !input.wait) return requested;
  const runtime = runtimeOf(ctx, options, resolve);
  const rows: ReclaimRow[] = [];
  for (const row of requested.value) {
    // Queued: carry it out here. Running: another process got to it first (a repeated request); wait for it.
    if (!row.actionId || (row.state !== 'queued' && row.state !== 'running')) {
      rows.push(row);
      continue;
    }
    const settled = await settleHere(runtime, row.actionId);
    rows.push({ ...row, ...actionFields(settled) });
  }
  const failed = rows.filter((r) => r.state === 'failed' || r.state === 'cancelled');
  if (failed.length > 0) {
    const lines = failed.map(
      (r) =>
        `${r.email ?? r.login} (${r.sku}): ${r.state === 'cancelled' ? 'cancelled' : 'failed'}: ${r.error}` +
        (r.retryable ? ` — retry with: seatkeeper retry ${r.actionId}` : ` (action ${r.actionId})`),
    );
    const done = rows.filter((r) => r.state === 'done').length;
    const head =
      rows.length === 1
        ? 'The vendor did not remove the seat.'
        : `${failed.length} of ${rows.length} seats were not removed (${done} removed).`;
    return fail('VENDOR_FAILED', `${head}\n${lines.join('\n')}`);
  }
  return ok(rows);
}

/** Queued (to be carried out here) or running (elsewhere: to be waited for). */
const inFlight = (action: ActionRecord) => action.state === 'queued' || action.state === 'running';

/** Performs an action here, or waits for the process that got to it first. */
async function settleHere(runtime: ActionRuntime, actionId: string): Promise<ActionRecord> {
  const { action } = await performAction(runtime, actionId);
  if (action.state === 'running' || action.state === 'queued') return waitForAction(runtime, actionId);
  return action;
}

/**
 * Undoes a completed reclaim within its window by giving the seat back at the vendor; refused, with the reason, where
 * the vendor cannot (GitHub) or the window has closed. The undo of a reclaim has a fixed id, so it happens once.
 */
export async function undoReclaim(
  ctx: HandlerContext,
  input: { actionId: string; wait?: boolean },
  options: ReclaimOptions = {},
): Promise<Result<ActionRow>> {
  const allowed = await authorize(ctx, 'it-manager', 'undo', input.actionId);
  if (!allowed.ok) return allowed;
  if (!isUuid(input.actionId)) return fail('INVALID_ARGUMENT', `'${input.actionId}' is not an action id.`);
  const reclaimed = await loadAction(ctx.store.pool, input.actionId);
  if (!reclaimed) return fail('NOT_FOUND', `No action ${input.actionId}.`);
  if (reclaimed.kind !== 'reclaim')
    return fail('INVALID_ARGUMENT', `Action ${input.actionId} is not a reclaim.`);
  const undoId = derivedId(`undo:${reclaimed.id}`);
  const resolve = options.connectors ?? configuredConnectors(ctx.config, { now: ctx.now });
  const runtime = runtimeOf(ctx, options, resolve);
  const existing = await loadAction(ctx.store.pool, undoId);
  if (!existing) {
    if (reclaimed.state !== 'done') {
      return fail(
        'CONFLICT',
        `Action ${reclaimed.id} is ${reclaimed.state}: only a reclaim the vendor confirmed can be undone.`,
      );
    }
    if (reclaimed.undoUntil && ctx.now() > reclaimed.undoUntil) {
      return fail(
        'CONFLICT',
        `The undo window of action ${reclaimed.id} closed on ${iso(reclaimed.undoUntil)}.`,
      );
    }
    const connector = resolve(reclaimed.preview.seat.source);
    if (typeof connector === 'string') return fail('CONFLICT', `Cannot undo: ${connector}.`);
    if (!connector.restoreSeat) {
      return fail(
        'CONFLICT',
        `Cannot undo: ${connector.restoreUnsupported ?? `the ${connector.source} connector cannot restore seats`}`,
      );
    }
    const now = ctx.now();
    const inserted = await ctx.store.pool.query(
      `INSERT INTO actions (id, kind, state, subscriber_id, license_id, undoes, requested_by, surface, preview,
         created_at, updated_at)
       VALUES ($1, 'undo', 'queued', $2, $3, $4, $5, $6, $7, $8, $8)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [
        undoId,
        reclaimed.subscriberId,
        reclaimed.licenseId,
        reclaimed.id,
        ctx.actor.id,
        ctx.actor.surface,
        JSON.stringify(reclaimed.preview),
        now,
      ],
    );
    if (inserted.rows[0]) {
      await appendAuditRows(ctx.store.pool, now, [
        {
          actor: ctx.actor.id,
          surface: ctx.actor.surface,
          action: 'reclaim.undo.requested',
          target: seatLabel(reclaimed.preview),
          after: { actionId: undoId, undoes: reclaimed.id },
        },
      ]);
    }
  }
  let undo = (await loadAction(ctx.store.pool, undoId)) as ActionRecord;
  if (input.wait && inFlight(undo)) undo = await settleHere(runtime, undoId);
  if (undo.state === 'failed') {
    return fail(
      'VENDOR_FAILED',
      `The vendor did not give the seat back: ${undo.error}${undo.result?.retryable ? ` — retry with: seatkeeper retry ${undo.id}` : ` (action ${undo.id})`}`,
    );
  }
  return ok((await actionRows(ctx.store.pool, [undo]))[0] as ActionRow);
}

/** Queues a failed action again and (with `wait`) carries it out; an action already on its way is returned as it is. */
export async function retryAction(
  ctx: HandlerContext,
  input: { actionId: string; wait?: boolean },
  options: ReclaimOptions = {},
): Promise<Result<ActionRow>> {
  const allowed = await authorize(ctx, 'it-manager', 'retry', input.actionId);
  if (!allowed.ok) return allowed;
  if (!isUuid(input.actionId)) return fail('INVALID_ARGUMENT', `'${input.actionId}' is not an action id.`);
  const now = ctx.now();
  const requeued = await ctx.store.pool.query(
    `UPDATE actions SET state = 'queued', updated_at = $2 WHERE id = $1 AND state = 'failed' RETURNING *`,
    [input.actionId, now],
  );
  let action: ActionRecord | undefined;
  if (requeued.rows[0]) {
    action = toActionRecord(requeued.rows[0]);
    await appendAuditRows(ctx.store.pool, now, [
      {
        actor: ctx.actor.id,
        surface: ctx.actor.surface,
        action: `${action.kind === 'reclaim' ? 'reclaim' : 'reclaim.undo'}.retried`,
        target: seatLabel(action.preview),
        after: { actionId: action.id, previousError: action.error, attempts: action.attempts },
      },
    ]);
  } else {
    action = await loadAction(ctx.store.pool, input.actionId);
    if (!action) return fail('NOT_FOUND', `No action ${input.actionId}.`);
    if (!['queued', 'running', 'done'].includes(action.state)) {
      return fail('CONFLICT', `Action ${action.id} is ${action.state}: only a failed action can be retried.`);
    }
  }
  if (input.wait && inFlight(action)) action = await settleHere(runtimeOf(ctx, options), action.id);
  if (action.state === 'failed') {
    return fail(
      'VENDOR_FAILED',
      `The vendor refused again: ${action.error}${action.result?.retryable ? ` — retry later with: seatkeeper retry ${action.id}` : ''}`,
    );
  }
  return ok((await actionRows(ctx.store.pool, [action]))[0] as ActionRow);
}

/**
 * The holder's answer to "still need it?": Keep exempts the seat (reason "holder asked to keep") and cancels the
 * reclaim; Release queues it and (with `wait`) carries it out. Only the holder, or an it-manager on their behalf, may
 * answer; a second answer changes nothing.
 */
export async function answerHolder(
  ctx: HandlerContext,
  input: { actionId: string; answer: string; wait?: boolean },
  options: ReclaimOptions = {},
): Promise<Result<ActionRow>> {
  if (!isUuid(input.actionId)) return fail('INVALID_ARGUMENT', `'${input.actionId}' is not an action id.`);
  if (input.answer !== 'keep' && input.answer !== 'release') {
    return fail('INVALID_ARGUMENT', `Answer keep or release, not '${input.answer}'.`);
  }
  const answer: HolderAnswer = input.answer;
  const found = await ctx.store.pool.query(
    `SELECT h.person_id, h.answer, p.primary_email FROM holder_asks h LEFT JOIN persons p ON p.id = h.person_id
     WHERE h.action_id = $1`,
    [input.actionId],
  );
  const ask = found.rows[0];
  if (!ask) return fail('NOT_FOUND', `No question was asked for action ${input.actionId}.`);
  const isHolder = ctx.actor.personId !== null && ctx.actor.personId === ask.person_id;
  if (!isHolder && !hasRole(ctx.actor, 'it-manager')) {
    return deny(
      ctx,
      'answer',
      `Only the seat holder (${ask.primary_email}) or an it-manager can answer this question.`,
      {
        target: input.actionId,
      },
    );
  }
  const settings = resolveActionSettings(ctx.config, options.settings);
  const now = ctx.now();
  const client = await ctx.store.pool.connect();
  try {
    await client.query('BEGIN');
    const answered = await client.query(
      `UPDATE holder_asks SET answer = $2, answered_at = $3 WHERE action_id = $1 AND answer IS NULL RETURNING *`,
      [input.actionId, answer, now],
    );
    if (answered.rows[0]) {
      const action = toActionRecord(
        (await client.query(`SELECT * FROM actions WHERE id = $1 FOR UPDATE`, [input.actionId])).rows[0],
      );
      const target = seatLabel(action.preview);
      const audit: AuditRow[] = [
        {
          actor: ctx.actor.id,
          surface: ctx.actor.surface,
          action: 'holder.answered',
          target,
          after: { actionId: action.id, answer, onBehalf: !isHolder },
        },
      ];
      if (answer === 'keep') {
        await client.query(
          `UPDATE actions SET state = 'cancelled', result = $2, updated_at = $3 WHERE id = $1 AND state = 'asking'`,
          [action.id, JSON.stringify({ answer: 'keep' }), now],
        );
        const until = new Date(now.getTime() + settings.keepDays * 86_400_000);
        const exemption = await client.query<{ id: number }>(
          `INSERT INTO exemptions (scope, subscriber_id, reason, until, created_by, created_at)
           SELECT 'seat', s.id, $2, $3, $4, $5 FROM cloud_subscribers s WHERE s.id = $1
           RETURNING id`,
          [action.subscriberId, KEEP_REASON, until, ctx.actor.id, now],
        );
        // The seat's findings become exempted now (as the keep command does), not at the next recomputation.
        await applyStatuses(client, now);
        audit.push({
          actor: ctx.actor.id,
          surface: ctx.actor.surface,
          action: 'exemption.created',
          target,
          after: {
            actionId: action.id,
            exemptionId: exemption.rows[0]?.id ?? null,
            scope: 'seat',
            reason: KEEP_REASON,
            until,
          },
        });
      } else {
        await client.query(
          `UPDATE actions SET state = 'queued', updated_at = $2 WHERE id = $1 AND state = 'asking'`,
          [action.id, now],
        );
      }
      await appendAuditRows(client, now, audit);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  let action = (await loadAction(ctx.store.pool, input.actionId)) as ActionRecord;
  if (input.wait && inFlight(action)) action = await settleHere(runtimeOf(ctx, options), action.id);
  if (action.state === 'failed') {
    return fail(
      'VENDOR_FAILED',
      `Released, but the vendor did not remove the seat: ${action.error} (action ${action.id}).`,
    );
  }
  return ok((await actionRows(ctx.store.pool, [action]))[0] as ActionRow);
}

/** Actions, newest first, optionally in one state or one batch. */
export async function listActions(
  ctx: HandlerContext,
  input: { state?: string; batchId?: string } & Page,
): Promise<Result<Listing<ActionRow>>> {
  const allowed = await authorize(ctx, 'helpdesk', 'actions');
  if (!allowed.ok) return allowed;
  if (input.batchId !== undefined && !isUuid(input.batchId))
    return fail('INVALID_ARGUMENT', `'${input.batchId}' is not a batch id.`);
  const found = await ctx.store.pool.query(
    `SELECT a.*, count(*) OVER ()::int AS total FROM actions a
     WHERE ($1::text IS NULL OR a.state = $1) AND ($2::uuid IS NULL OR a.batch_id = $2 OR a.id = $2)
     ORDER BY a.created_at DESC, a.id LIMIT $3 OFFSET $4`,
    [input.state ?? null, input.batchId ?? null, input.limit, input.offset],
  );
  return ok({
    total: found.rows[0]?.total ?? 0,
    rows: await actionRows(ctx.store.pool, found.rows.map(toActionRecord)),
  });
}

/** One action by id. */
export async function showAction(
  ctx: HandlerContext,
  input: { actionId: string },
): Promise<Result<ActionRow>> {
  const allowed = await authorize(ctx, 'helpdesk', 'action');
  if (!allowed.ok) return allowed;
  if (!isUuid(input.actionId)) return fail('INVALID_ARGUMENT', `'${input.actionId}' is not an action id.`);
  const action = await loadAction(ctx.store.pool, input.actionId);
  if (!action) return fail('NOT_FOUND', `No action ${input.actionId}.`);
  return ok((await actionRows(ctx.store.pool, [action]))[0] as ActionRow);
}

export interface AskRow {
  actionId: string;
  holder: string | null;
  email: string | null;
  sku: string;
  product: string;
  question: string;
  deadline: string;
  remindedAt: string | null;
  answer: string | null;
  requestedBy: string;
}

/**
 * Open "still need it?" questions: the actor's own (any member), or everyone's (`all`, it-manager). Answer with
 * `answerHolder`.
 */
export async function openAsks(ctx: HandlerContext, input: { all?: boolean }): Promise<Result<AskRow[]>> {
  // Someone with no person behind them (the local operator) asking as an it-manager means everyone's.
  const all = input.all === true || (ctx.actor.personId === null && hasRole(ctx.actor, 'it-manager'));
  if (all) {
    const allowed = await authorize(ctx, 'it-manager', 'asks --all');
    if (!allowed.ok) return allowed;
  } else if (ctx.actor.personId === null) {
    return fail(
      'NOT_FOUND',
      'Seatkeeper knows no person behind your identity, so no question is addressed to you.',
    );
  }
  const found = await ctx.store.pool.query(
    `SELECT h.action_id, h.deadline, h.reminded_at, h.answer, p.primary_email, a.preview, a.requested_by,
       n.payload->>'question' AS question
     FROM holder_asks h
     JOIN actions a ON a.id = h.action_id
     LEFT JOIN persons p ON p.id = h.person_id
     LEFT JOIN notifications n ON n.dedupe_key = 'holder-ask:' || h.action_id
     WHERE h.answer IS NULL AND ($1::bool OR h.person_id = $2)
     ORDER BY h.deadline, h.action_id`,
    [all, ctx.actor.personId],
  );
  return ok(
    found.rows.map((r) => ({
      actionId: r.action_id,
      holder: r.primary_email,
      email: r.preview.seat.email,
      sku: r.preview.seat.sku,
      product: r.preview.product,
      question: r.question ?? `Do you still need ${r.preview.product}?`,
      deadline: r.deadline.toISOString(),
      remindedAt: iso(r.reminded_at),
      answer: r.answer,
      requestedBy: r.requested_by,
    })),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Rows

async function loadAsks(db: Queryable, actionIds: readonly string[]): Promise<Map<string, AskInfo>> {
  if (actionIds.length === 0) return new Map();
  const found = await db.query(
    `SELECT h.action_id, h.deadline, h.reminded_at, h.answer, p.primary_email
     FROM holder_asks h LEFT JOIN persons p ON p.id = h.person_id WHERE h.action_id = ANY($1::uuid[])`,
    [actionIds],
  );
  return new Map(
    found.rows.map((r) => [
      r.action_id as string,
      {
        holder: r.primary_email,
        deadline: r.deadline.toISOString(),
        remindedAt: iso(r.reminded_at),
        answer: r.answer,
      },
    ]),
  );
}

function actionFields(action: ActionRecord) {
  return {
    state: action.state as string,
    detail: action.result?.detail ?? null,
    error: action.error,
    retryable: action.state === 'failed' ? (action.result?.retryable ?? null) : null,
    undoUntil: iso(action.undoUntil),
  };
}

function reclaimRow(preview: SeatPreview, action?: ActionRecord, ask?: AskInfo): ReclaimRow {
  return {
    actionId: action?.id ?? null,
    batchId: action?.batchId ?? null,
    subscriberId: preview.seat.subscriberId,
    licenseId: preview.seat.licenseId,
    email: preview.seat.email,
    login: preview.seat.login,
    person: preview.person,
    sku: preview.seat.sku,
    product: preview.product,
    vendor: preview.vendor,
    lastActivityAt: preview.lastActivityAt,
    lastActivitySource: preview.lastActivitySource,
    daysSinceActivity: preview.daysSinceActivity,
    finding: preview.finding,
    savings: preview.savings,
    currency: preview.currency,
    blockers: preview.blockers,
    warnings: preview.warnings,
    ask: ask ?? null,
    ...(action
      ? actionFields(action)
      : {
          state: preview.blockers.length > 0 ? 'blocked' : 'preview',
          detail: null,
          error: null,
          retryable: null,
          undoUntil: null,
        }),
  };
}

async function actionRows(db: Queryable, actions: readonly ActionRecord[]): Promise<ActionRow[]> {
  const asks = await loadAsks(
    db,
    actions.map((a) => a.id),
  );
  return actions.map((a) => ({
    actionId: a.id,
    kind: a.kind,
    state: a.state,
    batchId: a.batchId,
    undoes: a.undoes,
    subscriberId: a.subscriberId,
    email: a.preview.seat.email,
    login: a.preview.seat.login,
    sku: a.preview.seat.sku,
    product: a.preview.product,
    vendor: a.preview.vendor,
    person: a.preview.person,
    requestedBy: a.requestedBy,
    surface: a.surface,
    createdAt: iso(a.createdAt) ?? '',
    completedAt: iso(a.completedAt),
    attempts: a.attempts,
    detail: a.result?.detail ?? null,
    error: a.error,
    retryable: a.state === 'failed' ? (a.result?.retryable ?? null) : null,
    undoUntil: iso(a.undoUntil),
    ask: asks.get(a.id) ?? null,
  }));
}

/** `ana@example.com's Figma (FIGMA_PRO)`. */
export function describeSeat(p: Pick<SeatPreview, 'seat' | 'product'>): string {
  return `${p.seat.email ?? p.seat.login ?? p.seat.accountId}'s ${p.product} (${p.seat.sku})`;
}

/** The blockers' messages in one line. */
export function describeBlockers(blockers: readonly Notice[]): string {
  return blockers.map((b) => b.message).join('; ');
}

/** A short text of a preview, for a confirmation that was not given (the CLI without --yes). */
export function summarizePreview(rows: readonly ReclaimRow[]): string {
  const lines = rows.map((r) => {
    const who = `${r.email ?? r.login} (${r.product}, ${r.sku})`;
    if (r.blockers.length > 0) return `  ${who}: blocked: ${describeBlockers(r.blockers)}`;
    const saving =
      r.savings === null ? 'savings unknown' : `saves ${r.savings} ${r.currency ?? ''}/year`.trim();
    return `  ${who}: would be reclaimed, ${saving}`;
  });
  return lines.join('\n');
}
