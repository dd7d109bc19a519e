/**
 * Universal Actions: the `adaptiveCard/action` invokes of card buttons, routed generically to registry commands.
 * A click runs through at most three steps — a form for inputs (reason, date, person, quantity), a confirmation
 * for destructive commands (with the command's dry-run preview), and the command itself — and answers with the
 * clicker's updated card. After a command succeeds, the shared message is edited too (PUT), so everyone sees who did
 * what; never while answering an automatic refresh, which would make Teams refresh again.
 */
import { randomUUID } from 'node:crypto';
import { type Activity, ActivityTypes } from '@microsoft/agents-activity';
import {
  type AdaptiveCardInvokeResponse,
  CardFactory,
  type ConnectorClient,
  MessageFactory,
  type TurnContext,
} from '@microsoft/agents-hosting';
import { z } from 'zod';
import { type ActionRow, showAction } from '../../../handlers/reclaim.ts';
import { type CommandOutput, type CommandSpec, executeCommand } from '../../../handlers/registry.ts';
import { type Actor, type Failure, hasRole } from '../../../handlers/types.ts';
import { waitForAction } from '../../actions/perform.ts';
import type { Logger } from '../../log.ts';
import type { Store } from '../../store/store.ts';
import {
  type ActionData,
  type ArgMap,
  actionDataSchema,
  actionIdFor,
  actionLabel,
  executeAction,
  fitArgs,
  idempotencyArg,
  inputId,
  needsConfirmation,
  type Origin,
} from './card-actions.ts';
import type { CardJson, CardTemplates } from './card-templates.ts';
import { type Banner, confirmCard, day, errorCard, formCard, viewCard } from './card-views.ts';
import { searchPersons } from './person-search.ts';
import type { TeamsRenderer } from './teams-render.ts';
import { bindArgMap } from './teams-text.ts';

const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';
const ERROR = 'application/vnd.microsoft.error';
const SEARCH = 'application/vnd.microsoft.search.searchResponse';

/** How long a completed action's answer is remembered, so a repeated click returns it instead of acting again. */
const OUTCOME_TTL_MS = 24 * 60 * 60_000;
const OUTCOME_CACHE_SIZE = 10_000;

/** Arguments that say how, not what: left out of "Reclaim dan@example.com · FIGMA" descriptions. */
const HOW_ARGS = new Set([
  'limit',
  'offset',
  'dry-run',
  'yes',
  'id',
  'action-id',
  'no-wait',
  'ask-holder',
  'decision',
  'license',
  'renewal-date',
]);

const invokeValueSchema = z.looseObject({
  action: z.looseObject({ type: z.literal('Action.Execute'), verb: z.string().max(64), data: z.unknown() }),
  trigger: z.enum(['manual', 'automatic']).optional(),
});

const searchValueSchema = z.looseObject({
  queryText: z.string().max(200).optional(),
  dataset: z.string().max(64).optional(),
  queryOptions: z
    .looseObject({ top: z.number().int().optional(), skip: z.number().int().optional() })
    .optional(),
});

const cardResponse = (card: CardJson): AdaptiveCardInvokeResponse => ({
  statusCode: 200,
  type: ADAPTIVE_CARD,
  value: card,
});

const errorResponse = (statusCode: number, code: string, message: string): AdaptiveCardInvokeResponse => ({
  statusCode,
  type: ERROR,
  value: { code, message },
});

/** What one executed action answered, remembered by action id. */
interface Outcome {
  ok: boolean;
  clicker: CardJson;
  shared?: CardJson;
  /** Vendor calls queued by the command, still to be carried out: the card shows their outcome once known. */
  pending?: Pending;
}

/** What the follow-up of queued vendor calls needs once the turn is over. */
interface Pending {
  actionIds: string[];
  actor: Actor;
  data: ActionData;
  label: string;
  target: string;
  /** When the click was answered, as the banner shows it. */
  at: string;
  personal: boolean;
  requester?: { mri: string; actor: Actor };
}

/**
 * Clicks' claims on their action ids, shared by the replicas: `chat_addresses` rows of their own platform value, so
 * that they never pass for a conversation reference of the `teams` rows.
 */
const CLAIMS = 'teams-clicks';

/** The message of an Ask holder click, kept until the holder answers (key `asked:<action id>`). */
interface AskedCard {
  pending: Pending;
  conversationId: string;
  messageId: string;
  serviceUrl: string;
}

/** A click's claim on its action id (key `action:<id>`). */
interface ClaimRecord {
  state: 'running' | 'done';
  /** Who clicked first, and when. */
  by: string;
  at: string;
  /** The card the first click answered with. */
  clicker?: CardJson;
}

/** A claim left `running` this long belongs to a replica that died mid-action: another click may take it over. */
const STALE_CLAIM = '10 minutes';
/** How long a repeated invoke waits for the first one's card (Teams waits some seconds for an invoke's answer). */
const WAIT_FOR_FIRST_MS = 5_000;

const FOLLOW_UP_READER: Actor = {
  id: 'seatkeeper',
  email: null,
  personId: null,
  displayName: 'Seatkeeper',
  roles: ['helpdesk'],
  surface: 'system',
};

/** How long a follow-up waits for queued vendor calls before leaving the card as it is. */
const FOLLOW_UP_TIMEOUT_MS = 15 * 60_000;
const FOLLOW_UP_INTERVAL_MS = 500;

export interface ActionsDeps {
  store: Store;
  log: Logger;
  templates: CardTemplates;
  renderer: TeamsRenderer;
  now: () => Date;
  /** Carries out a queued action now (the reclaim issue's `action:run` job). */
  runAction(actionId: string): Promise<void>;
}

export class TeamsActions {
  private readonly outcomes = new Map<string, { at: number; outcome: Promise<Outcome> }>();

  constructor(private readonly deps: ActionsDeps) {}

  /** Answers an `adaptiveCard/action` invoke (and edits the shared message after a command succeeded). */
  async onExecute(ctx: TurnContext, actor: Actor): Promise<AdaptiveCardInvokeResponse> {
    const value = invokeValueSchema.safeParse(ctx.activity.value);
    if (!value.success) return errorResponse(400, 'BadRequest', 'This is not an Action.Execute invoke.');
    const data = actionDataSchema.safeParse(value.data.action.data ?? {});
    if (!data.success) return errorResponse(400, 'BadRequest', 'The card’s action data is not Seatkeeper’s.');
    const verb = value.data.action.verb;
    // An automatic refresh only ever renders: acting or editing the message here would make Teams refresh again.
    if (verb === 'refresh' || verb === 'view' || value.data.trigger === 'automatic') {
      return this.view(data.data, actor);
    }
    if (verb === 'run') return this.run(ctx, data.data, actor);
    return errorResponse(400, 'BadRequest', `Unknown action '${verb}'.`);
  }

  /** Answers an `application/search` invoke: the persons typeahead (helpdesk and above; others get no results). */
  async onSearch(ctx: TurnContext, actor: Actor): Promise<AdaptiveCardInvokeResponse> {
    const value = searchValueSchema.safeParse(ctx.activity.value);
    if (!value.success) return errorResponse(400, 'BadRequest', 'This is not a search invoke.');
    const { queryText = '', dataset, queryOptions } = value.data;
    const allowed = dataset === 'persons' && hasRole(actor, 'helpdesk');
    const results = allowed
      ? await searchPersons(this.deps.store, queryText, {
          limit: Math.min(Math.max(queryOptions?.top ?? 15, 1), 25),
          skip: Math.max(queryOptions?.skip ?? 0, 0),
        })
      : [];
    return { statusCode: 200, type: SEARCH, value: { results } };
  }

  /** Renders the card's origin for this viewer (More, Back, Cancel, refresh). */
  private async view(data: ActionData, actor: Actor, banner?: Banner): Promise<AdaptiveCardInvokeResponse> {
    if (!data.origin) return errorResponse(400, 'BadRequest', 'The card does not say what it shows.');
    const cardId = data.cardId ?? randomUUID();
    const shownBanner =
      banner ?? (data.banner ? { text: data.banner, style: 'good' as const, actions: [] } : undefined);
    const rendered = await this.deps.renderer.renderOrigin(data.origin, actor, {
      cardId,
      interactive: true,
      banner: shownBanner,
    });
    if (!rendered.ok) return cardResponse(errorCard(this.deps.templates, rendered.error));
    return cardResponse(rendered.value.card);
  }

  private async run(ctx: TurnContext, data: ActionData, actor: Actor): Promise<AdaptiveCardInvokeResponse> {
    const spec = data.command ? this.deps.renderer.command(data.command) : undefined;
    if (!spec)
      return errorResponse(400, 'BadRequest', `There is no command '${data.command ?? ''}' in Teams.`);
    // The same button on the same card is the same action: its id is derived from them (or given by the card).
    const actionId =
      data.actionId ?? (data.cardId ? actionIdFor(data.cardId, spec.name, data.args ?? {}) : undefined);
    if (!actionId) return errorResponse(400, 'BadRequest', 'The card’s action has no id.');
    const args: ArgMap = { ...(data.args ?? {}) };
    const label = actionLabel(spec.name, args);
    const target = describe(args);

    if (!hasRole(actor, spec.role)) {
      // The registry refuses and audits the denial; no form or preview is shown to someone who may not act.
      const denied = await executeCommand(this.deps.renderer.handlerContext(actor), spec, args);
      return this.failed(data, actor, label, target, denied.ok ? undefined : denied.error);
    }

    const inputs = data.inputs ?? [];
    if (inputs.length > 0 && data.stage === undefined) return this.form(data, spec, label, target, '');
    if (data.stage === 'submit') {
      for (const input of inputs) {
        const given = (data as Record<string, unknown>)[inputId(input.kind)];
        if (typeof given === 'string' && given.trim() !== '') {
          args[input.kind] = input.kind === 'quantity' ? Number(given) : given.trim();
        }
      }
    }
    const bound = bindArgMap(spec, args);
    if (!bound.ok) {
      if (inputs.length > 0) return this.form(data, spec, label, target, bound.error.message);
      return this.failed(data, actor, label, target, bound.error);
    }
    if (needsConfirmation(spec, bound.value) && data.stage !== 'confirmed') {
      return this.confirm(data, spec, bound.value, actor, label, target);
    }

    const remembered = this.remembered(actionId);
    if (remembered) {
      // A repeated click (or a retried invoke) answers with the first click's card and acts no second time.
      const outcome = await remembered;
      return cardResponse(outcome.clicker);
    }
    const outcome = this.once(actionId, actor, data, label, target, () =>
      this.execute(ctx, { ...data, actionId }, spec, bound.value, actor, label, target),
    );
    this.remember(actionId, outcome);
    const result = await outcome;
    if (!result.ok) this.outcomes.delete(actionId);
    if (result.shared) await this.updateShared(ctx, result.shared);
    if (result.pending) this.followUp(ctx, actionId, result.pending);
    return cardResponse(result.clicker);
  }

  /**
   * Runs `act` once per action id across replicas: the first invoke claims the id in the database; another one (a
   * retried invoke, a second replica) waits briefly for the first one's card and answers with it. A refusal or a
   * failure gives the claim back, so that a later click (perhaps by someone with the role) may run.
   */
  private async once(
    actionId: string,
    actor: Actor,
    data: ActionData,
    label: string,
    target: string,
    act: () => Promise<Outcome>,
  ): Promise<Outcome> {
    const { pool } = this.deps.store;
    const key = `action:${actionId}`;
    const record: ClaimRecord = {
      state: 'running',
      by: actor.displayName,
      at: this.deps.now().toISOString(),
    };
    const claimed = await pool.query(
      `INSERT INTO chat_addresses (platform, key, address) VALUES ($4, $1, $2)
       ON CONFLICT (platform, key) DO UPDATE SET address = EXCLUDED.address, updated_at = now()
         WHERE chat_addresses.address->>'state' = 'running' AND chat_addresses.updated_at < now() - $3::interval
       RETURNING key`,
      [key, JSON.stringify(record), STALE_CLAIM, CLAIMS],
    );
    if (claimed.rowCount !== 1) {
      const deadline = Date.now() + WAIT_FOR_FIRST_MS;
      for (;;) {
        const held = await pool.query<{ address: ClaimRecord }>(
          'SELECT address FROM chat_addresses WHERE platform = $2 AND key = $1',
          [key, CLAIMS],
        );
        const first = held.rows[0]?.address;
        // Given back in the meantime: nothing was done, so this invoke may act.
        if (!first) return this.once(actionId, actor, data, label, target, act);
        if (first.state === 'done' && first.clicker) return { ok: true, clicker: first.clicker };
        if (Date.now() >= deadline) {
          const busy: Failure = {
            code: 'CONFLICT',
            message: `${first.by} started this at ${first.at.slice(11, 16)} UTC; it is still running.`,
          };
          const answer = await this.failed(data, actor, label, target, busy);
          return { ok: false, clicker: answer.value as CardJson };
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    let outcome: Outcome;
    try {
      outcome = await act();
    } catch (error) {
      await this.release(actionId);
      throw error;
    }
    if (!outcome.ok) await this.release(actionId);
    else await this.recordDone(actionId, { ...record, state: 'done', clicker: outcome.clicker });
    return outcome;
  }

  private async release(actionId: string): Promise<void> {
    await this.deps.store.pool.query('DELETE FROM chat_addresses WHERE platform = $2 AND key = $1', [
      `action:${actionId}`,
      CLAIMS,
    ]);
  }

  private async recordDone(actionId: string, record: ClaimRecord): Promise<void> {
    await this.deps.store.pool.query(
      'UPDATE chat_addresses SET address = $2, updated_at = now() WHERE platform = $3 AND key = $1',
      [`action:${actionId}`, JSON.stringify(record), CLAIMS],
    );
  }

  /**
   * After the click was answered with "queued": waits for the action job to carry the vendor calls out, then edits
   * the message once more so that it ends showing the outcome (done, failed with the vendor's reason, Undo/Retry).
   * The turn is over by then; the message is edited through the turn's connector client, which stays valid.
   */
  private followUp(ctx: TurnContext, actionId: string, pending: Pending): void {
    const messageId = ctx.activity.replyToId;
    const conversationId = ctx.activity.conversation?.id;
    const client = ctx.turnState.get<ConnectorClient>(ctx.adapter.ConnectorClientKey);
    const serviceUrl = ctx.activity.serviceUrl ?? '';
    void (async () => {
      // The outcome of the clicker's own action is theirs to see, even where reading the action log is not (a holder
      // who answered Release): it is read by Seatkeeper itself.
      const handler = this.deps.renderer.handlerContext(FOLLOW_UP_READER);
      const runtime = { store: this.deps.store, config: handler.config, now: this.deps.now };
      for (const id of pending.actionIds) {
        await waitForAction(runtime, id, {
          timeoutMs: FOLLOW_UP_TIMEOUT_MS,
          intervalMs: FOLLOW_UP_INTERVAL_MS,
        });
      }
      const rows: ActionRow[] = [];
      for (const id of pending.actionIds) {
        const shown = await showAction(handler, { actionId: id });
        if (shown.ok) rows.push(shown.value);
      }
      if (rows.length === 0) return;
      const output: CommandOutput = { view: 'actions', rows, total: rows.length, empty: '' };
      const cards = await this.cards(pending, output);
      // A click repeated from now on, on any replica, answers with the final card.
      this.outcomes.set(actionId, { at: Date.now(), outcome: Promise.resolve({ ok: true, ...cards }) });
      await this.recordDone(actionId, {
        state: 'done',
        by: pending.actor.displayName,
        at: this.deps.now().toISOString(),
        clicker: cards.clicker,
      });
      if (client && messageId && conversationId) {
        await client.updateActivity(conversationId, messageId, cardActivity(cards.shared, messageId));
      }
      if (pending.data.command === 'answer') {
        await this.showAnswerOnAskingCard(client, serviceUrl, pending.actor, pending.data.args ?? {}, output);
      }
    })()
      // Left behind by a stop, it ends with the store; the outcome stays in the action log.
      .catch((error: unknown) =>
        this.deps.log.warn({ err: error, actionId }, 'teams: could not show the outcome of a queued action'),
      );
  }

  /** Runs the command once and builds the clicker's and everyone's card. */
  private async execute(
    ctx: TurnContext,
    data: ActionData,
    spec: CommandSpec,
    args: ArgMap,
    actor: Actor,
    label: string,
    target: string,
  ): Promise<Outcome> {
    const run: ArgMap = { ...args };
    const declares = (name: string) => spec.args.some((a) => a.name === name);
    // The button's action id becomes the handler's idempotency key, so two replicas also act once.
    const key = idempotencyArg(spec);
    if (key && run[key] === undefined) run[key] = data.actionId as string;
    if (declares('yes') && data.stage === 'confirmed') run.yes = true;
    // A click must be answered within seconds: the vendor call continues as a job.
    if (declares('no-wait')) run['no-wait'] = true;
    const bound = bindArgMap(spec, run);
    const result = bound.ok
      ? await executeCommand(this.deps.renderer.handlerContext(actor), spec, bound.value)
      : bound;
    if (!result.ok) {
      const answer = await this.failed(data, actor, label, target, result.error);
      return { ok: false, clicker: answer.value as CardJson };
    }
    const queued: string[] = [];
    for (const row of result.value.rows as { actionId?: unknown; state?: unknown }[]) {
      if (typeof row.actionId === 'string' && row.state === 'queued') {
        queued.push(row.actionId);
        await this.deps.runAction(row.actionId);
      }
    }
    const pending: Pending = {
      actionIds: queued,
      actor,
      data: { ...data, cardId: data.cardId ?? randomUUID() },
      label,
      target,
      at: this.deps.now().toISOString().slice(11, 16),
      personal: ctx.activity.conversation?.conversationType === 'personal',
      requester: ctx.activity.from?.id ? { mri: ctx.activity.from.id, actor } : undefined,
    };
    const cards = await this.cards(pending, result.value);
    await this.rememberAsked(ctx, pending, result.value);
    if (spec.name === 'answer') {
      const client = ctx.turnState.get<ConnectorClient>(ctx.adapter.ConnectorClientKey);
      await this.showAnswerOnAskingCard(client, ctx.activity.serviceUrl ?? '', actor, args, result.value);
    }
    return { ok: true, ...cards, ...(queued.length > 0 ? { pending } : {}) };
  }

  /** The clicker's card (with what they may do next) and everyone's card, both saying who did what and when. */
  private async cards(
    p: Pending,
    output: CommandOutput,
    after = '',
  ): Promise<{ clicker: CardJson; shared: CardJson }> {
    const { actor, data, label, target } = p;
    const cardId = data.cardId as string;
    const failed = (output.rows as { state?: unknown }[]).some(
      (r) => r?.state === 'failed' || r?.state === 'cancelled',
    );
    const only = output.rows.length === 1 ? (output.rows[0] as { error?: unknown }) : undefined;
    const reason = failed && typeof only?.error === 'string' ? `: ${only.error}` : '';
    const text = `${label}${target ? ` ${target}` : ''} — by ${actor.displayName} at ${p.at} UTC${
      after ? '' : summary(output)
    }${after ? `. ${after}` : ''}${reason}.`;
    const banner: Banner = {
      text,
      style: failed ? 'attention' : 'good',
      actions: this.nextButtons(output, actor, cardId),
    };
    const clicker = await this.originCard(data.origin, actor, cardId, banner, output);
    if (p.personal || !data.origin) return { clicker, shared: clicker };
    const base = await this.deps.renderer.renderOrigin(data.origin, actor, {
      cardId,
      interactive: false,
      banner: { ...banner, actions: [] },
    });
    const shared = base.ok
      ? await this.deps.renderer.sharedCard(data.origin, base.value, {
          cardId,
          banner: text,
          requester: p.requester,
        })
      : clicker;
    return { clicker, shared };
  }

  /**
   * Remembers the message of a click that left actions waiting for the holder's answer (Ask holder), so that the
   * answer, clicked later in the holder's own chat, can be shown on it too.
   */
  private async rememberAsked(ctx: TurnContext, pending: Pending, output: CommandOutput): Promise<void> {
    const messageId = ctx.activity.replyToId;
    const conversationId = ctx.activity.conversation?.id;
    if (!messageId || !conversationId) return;
    for (const row of output.rows as { actionId?: unknown; state?: unknown }[]) {
      if (typeof row.actionId !== 'string' || row.state !== 'asking') continue;
      const asked: AskedCard = {
        pending: { ...pending, actionIds: [] },
        conversationId,
        messageId,
        serviceUrl: ctx.activity.serviceUrl ?? '',
      };
      await this.deps.store.pool.query(
        `INSERT INTO chat_addresses (platform, key, address) VALUES ($1, $2, $3)
         ON CONFLICT (platform, key) DO UPDATE SET address = EXCLUDED.address, updated_at = now()`,
        [CLAIMS, `asked:${row.actionId}`, JSON.stringify(asked)],
      );
    }
  }

  /**
   * Edits the message that asked the holder: who asked, then the holder's answer and what came of it. The edit goes
   * through this turn's connector client when the asking message is on the same service URL (one tenant's region).
   */
  private async showAnswerOnAskingCard(
    client: ConnectorClient | undefined,
    serviceUrl: string,
    holder: Actor,
    args: ArgMap,
    output: CommandOutput,
  ): Promise<void> {
    for (const row of output.rows as { actionId?: unknown; state?: unknown }[]) {
      if (typeof row.actionId !== 'string') continue;
      const key = `asked:${row.actionId}`;
      const found = await this.deps.store.pool.query<{ address: AskedCard }>(
        'SELECT address FROM chat_addresses WHERE platform = $1 AND key = $2',
        [CLAIMS, key],
      );
      const asked = found.rows[0]?.address;
      if (!asked || !client || asked.serviceUrl !== serviceUrl) continue;
      const answer = typeof args.answer === 'string' ? args.answer.toLowerCase() : 'an answer';
      const at = this.deps.now().toISOString().slice(11, 16);
      // Keep cancels the reclaim: the outcome the holder asked for, not a failure.
      const shown =
        answer === 'keep' && (row as { state?: unknown }).state === 'cancelled'
          ? { ...row, state: 'kept' }
          : row;
      const after = `${holder.displayName} answered ${answer === 'keep' ? 'Keep' : answer === 'release' ? 'Release' : answer} at ${at} UTC${summary({ ...output, rows: [shown] })}`;
      try {
        const cards = await this.cards(asked.pending, { ...output, rows: [shown] }, after);
        await client.updateActivity(
          asked.conversationId,
          asked.messageId,
          cardActivity(cards.shared, asked.messageId),
        );
        // A Release queued for the action job: the follow-up shows the outcome here again once it is known.
        if (row.state !== 'queued' && row.state !== 'running') {
          await this.deps.store.pool.query('DELETE FROM chat_addresses WHERE platform = $1 AND key = $2', [
            CLAIMS,
            key,
          ]);
        }
      } catch (error) {
        this.deps.log.warn(
          { err: error, actionId: row.actionId },
          'teams: the asking card could not show the answer',
        );
      }
    }
  }

  /** The origin re-rendered (fresh data) with a banner, or the command's own output when there is no origin. */
  private async originCard(
    origin: Origin | undefined,
    actor: Actor,
    cardId: string,
    banner: Banner,
    output: CommandOutput,
  ): Promise<CardJson> {
    if (origin) {
      const rendered = await this.deps.renderer.renderOrigin(origin, actor, {
        cardId,
        interactive: true,
        banner,
      });
      if (rendered.ok) return rendered.value.card;
    }
    return viewCard(this.deps.templates, output, {
      now: this.deps.now(),
      title: banner.text.split(':')[0] ?? 'Done',
      offset: 0,
      banner,
      more: [],
      rowActions: () => [],
    });
  }

  /**
   * What can be done next about a single action's outcome: Undo a reclaim the vendor confirmed (within its window),
   * Retry one the vendor failed and that may succeed again.
   */
  private nextButtons(output: CommandOutput, actor: Actor, cardId: string | undefined): CardJson[] {
    if (output.rows.length !== 1) return [];
    const row = output.rows[0] as Record<string, unknown>;
    const id = typeof row.actionId === 'string' ? row.actionId : undefined;
    if (!id) return [];
    const undoable =
      row.state === 'done' &&
      row.kind !== 'undo' &&
      typeof row.undoUntil === 'string' &&
      Date.parse(row.undoUntil) > this.deps.now().getTime();
    const retryable = row.state === 'failed' && row.retryable === true;
    const [label, name] = undoable ? ['Undo', 'undo'] : retryable ? ['Retry', 'retry'] : [];
    const spec = name ? this.deps.renderer.command(name) : undefined;
    const positional = spec?.args.find((a) => a.kind === 'positional');
    if (!label || !spec || !positional || !hasRole(actor, spec.role)) return [];
    const args = fitArgs(spec, { [positional.name]: id });
    if (!args) return [];
    return [
      executeAction(label, 'run', {
        command: spec.name,
        args,
        // One id per outcome: the same Undo clicked twice (or on two replicas) undoes once.
        actionId: actionIdFor(id, spec.name, args),
        ...(cardId ? { cardId } : {}),
      }),
    ];
  }

  /** The failure shown on the clicker's card only (nothing changed, so the shared message stays). */
  private async failed(
    data: ActionData,
    actor: Actor,
    label: string,
    target: string,
    failure: Failure | undefined,
  ): Promise<AdaptiveCardInvokeResponse> {
    const error = failure ?? { code: 'UNAVAILABLE' as const, message: 'Something went wrong.' };
    if (data.origin) {
      const banner: Banner = {
        text: `${label}${target ? ` ${target}` : ''} did not happen: ${error.message}`,
        style: 'attention',
        actions: [],
      };
      const rendered = await this.deps.renderer.renderOrigin(data.origin, actor, {
        cardId: data.cardId ?? randomUUID(),
        interactive: true,
        banner,
      });
      if (rendered.ok) return cardResponse(rendered.value.card);
    }
    return cardResponse(errorCard(this.deps.templates, error, '', this.backButton(data)));
  }

  /** The form for a command's inputs; Save runs the command with them, Cancel shows the origin again. */
  private async form(
    data: ActionData,
    spec: CommandSpec,
    label: string,
    target: string,
    error: string,
  ): Promise<AdaptiveCardInvokeResponse> {
    const inputs = data.inputs ?? [];
    let personChoices: { title: string; value: string }[] = [];
    if (inputs.some((i) => i.kind === 'person')) {
      const email = typeof data.args?.email === 'string' ? data.args.email : '';
      const local = email.split('@')[0]?.split(/[._+-]/)[0] ?? '';
      personChoices = await searchPersons(this.deps.store, local, { limit: 5, skip: 0 });
      if (personChoices.length === 0)
        personChoices = await searchPersons(this.deps.store, '', { limit: 5, skip: 0 });
      if (personChoices.length === 0) {
        return cardResponse(
          errorCard(
            this.deps.templates,
            { code: 'NOT_FOUND', message: 'Seatkeeper knows no persons yet: import a directory first.' },
            '',
            this.backButton(data),
          ),
        );
      }
    }
    const save: ActionData = { ...stripInputs(data), stage: 'submit' };
    const card = formCard(this.deps.templates, {
      title: `${label}${target ? `: ${target}` : ''}`,
      text: spec.summary,
      error,
      inputs,
      personChoices,
      quantity: data.defaults?.quantity,
      today: day(this.deps.now().toISOString()),
      actions: [
        executeAction('Save', 'run', save, { style: 'positive' }),
        ...this.backButton(data, 'Cancel'),
      ],
    });
    return cardResponse(card);
  }

  /** The question before a destructive command: its dry-run preview when it has one, then Confirm / Cancel. */
  private async confirm(
    data: ActionData,
    spec: CommandSpec,
    args: ArgMap,
    actor: Actor,
    label: string,
    target: string,
  ): Promise<AdaptiveCardInvokeResponse> {
    let details: unknown[] = [{ command: spec.name, ...args }];
    let view = 'confirm';
    const warnings: string[] = [];
    if (spec.args.some((a) => a.name === 'dry-run' && a.kind === 'flag')) {
      const preview = await executeCommand(this.deps.renderer.handlerContext(actor), spec, {
        ...args,
        'dry-run': true,
      });
      if (!preview.ok) return this.failed(data, actor, label, target, preview.error);
      if (preview.value.rows.length === 0) {
        return this.failed(data, actor, label, target, { code: 'NOT_FOUND', message: preview.value.empty });
      }
      details = preview.value.rows;
      view = preview.value.view;
      const blocked = (preview.value.rows as { blockers?: unknown }[]).filter(
        (r) => Array.isArray(r.blockers) && r.blockers.length > 0,
      ).length;
      if (blocked > 0) {
        warnings.push(`${blocked} of ${preview.value.rows.length} cannot be done now; see “Blocked”.`);
      }
    }
    const confirmed: ActionData = { ...stripInputs(data), args, inputs: undefined, stage: 'confirmed' };
    const card = confirmCard(this.deps.templates, {
      title: `${label}?`,
      question: `${label}${target ? ` ${target}` : ''}. This changes the vendor account or contract; please confirm.`,
      view,
      details,
      warnings,
      now: this.deps.now(),
      actions: [
        executeAction(`Yes, ${label.toLowerCase()}`, 'run', confirmed, { style: 'destructive' }),
        ...this.backButton(data, 'Cancel'),
      ],
    });
    return cardResponse(card);
  }

  private backButton(data: ActionData, title = 'Back'): CardJson[] {
    if (!data.origin) return [];
    return [
      executeAction(
        title,
        'view',
        { origin: data.origin, ...(data.cardId ? { cardId: data.cardId } : {}) },
        { ignoreInputs: true },
      ),
    ];
  }

  private remembered(actionId: string): Promise<Outcome> | undefined {
    const entry = this.outcomes.get(actionId);
    if (!entry) return undefined;
    if (Date.now() - entry.at > OUTCOME_TTL_MS) {
      this.outcomes.delete(actionId);
      return undefined;
    }
    return entry.outcome;
  }

  private remember(actionId: string, outcome: Promise<Outcome>): void {
    if (this.outcomes.size >= OUTCOME_CACHE_SIZE) {
      const oldest = this.outcomes.keys().next().value;
      if (oldest !== undefined) this.outcomes.delete(oldest);
    }
    this.outcomes.set(actionId, { at: Date.now(), outcome });
  }

  /** Edits the message the card is on, for everyone; a failure is logged (the clicker still gets their card). */
  private async updateShared(ctx: TurnContext, card: CardJson): Promise<void> {
    const messageId = ctx.activity.replyToId;
    if (!messageId) return;
    try {
      await ctx.updateActivity(cardActivity(card, messageId));
    } catch (error) {
      this.deps.log.warn(
        { err: error, conversationId: ctx.activity.conversation?.id },
        'teams: could not update the shared card',
      );
    }
  }
}

/** The message activity that replaces message `id` with `card`. */
function cardActivity(card: CardJson, id: string): Activity {
  const update = MessageFactory.attachment(CardFactory.adaptiveCard(card)) as Activity;
  update.type = ActivityTypes.Message;
  update.id = id;
  return update;
}

/** "dan@example.com · FIGMA_PRO": the arguments that say what a command acts on. */
function describe(args: ArgMap): string {
  return Object.entries(args)
    .filter(
      ([name, value]) =>
        typeof value !== 'boolean' &&
        // A numeric id names the thing acted on (a finding); a UUID id is a request's key, not worth showing.
        (!HOW_ARGS.has(name) || (name === 'id' && typeof value === 'number')),
    )
    .map(([, value]) => String(value))
    .join(' · ');
}

/** " (queued)", " (2 done, 1 blocked)": the states the result rows report. */
function summary(output: CommandOutput): string {
  const counts = new Map<string, number>();
  for (const row of output.rows as Record<string, unknown>[]) {
    const state = row?.state ?? row?.status;
    if (typeof state === 'string') counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  if (counts.size === 0) return '';
  if (output.rows.length === 1) return ` (${[...counts.keys()][0]})`;
  return ` (${[...counts].map(([state, n]) => `${n} ${state}`).join(', ')})`;
}

/** The action data without the values Teams merged in from the card's inputs. */
function stripInputs(data: ActionData): ActionData {
  return Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith('in-'))) as ActionData;
}
