/**
 * What the Slack surface listens to, and how each payload becomes a registry command for the user's Actor:
 * - `/license …` → the command's result as Block Kit (ephemeral unless shared), through `response_url`;
 * - button clicks (`block_actions`) → the command in the button's value, once per action id for commands that
 *   change something, with the card updated in place ("who did what when");
 * - modals (`view_submission`) for buttons that need more input (reason, until, person, quantity…);
 * - the person typeahead (`block_suggestion`);
 * - `app_home_opened` → the Home dashboard.
 * Every listener acknowledges Slack first and does the work afterwards (Slack allows 3 seconds).
 */
import { randomUUID } from 'node:crypto';
import type { App, BlockAction, ButtonAction, webApi } from '@slack/bolt';
import type { CommandOutput, CommandSpec } from '../../../handlers/registry.ts';
import { executeCommand } from '../../../handlers/registry.ts';
import { type Actor, fail, type HandlerContext, hasRole, type Result } from '../../../handlers/types.ts';
import type { Config } from '../../config/config.ts';
import type { Logger } from '../../log.ts';
import type { Store } from '../../store/store.ts';
import {
  actions,
  type Block,
  type ButtonElement,
  context,
  cut,
  escapeMrkdwn,
  LIMITS,
  plain,
  section,
  slackDate,
} from './block-kit.ts';
import {
  ACTION_PREFIX,
  type ButtonValue,
  decodeValue,
  idempotencyArg,
  toButtons,
  withActionId,
  withAsked,
} from './command-buttons.ts';
import {
  FORM_CALLBACK,
  type FormOrigin,
  formValues,
  formView,
  PERSON_SELECT,
  readFormMeta,
} from './forms.ts';
import { composeHome } from './home.ts';
import type { SlackIdentity } from './identity.ts';
import {
  actedLine,
  followUpButtons,
  outcomeText,
  type Rendered,
  renderFailure,
  renderHelp,
  renderOutput,
} from './renderers.ts';
import { findSlackCommand } from './slack-commands.ts';
import type { SlackSettings } from './slack-settings.ts';
import {
  type ActionRecord,
  claimAction,
  deleteAddress,
  finishAction,
  getAddress,
  releaseAction,
  searchPersons,
  setAddress,
} from './slack-store.ts';
import { bindSlashArgs, parseSlash } from './slash-command.ts';

type WebClient = webApi.WebClient;

/** The slash command the manifest registers. */
export const SLASH_COMMAND = '/license';

/** Everything the listeners need; built once by `startSlackSurface`. */
export interface SurfaceContext {
  store: Store;
  config: Config;
  log: Logger;
  settings: SlackSettings;
  identity: SlackIdentity;
  client: WebClient;
  now: () => Date;
  /** Runs work after the acknowledgement; `stop()` waits for it. */
  track(work: () => Promise<void>): Promise<void>;
}

/** Where a click or a form came from, and how to reach the person and the card. */
interface Origin extends FormOrigin {
  userId: string;
  /** The card's blocks, to update it in place. */
  blocks?: Block[];
  text?: string;
}

function handlerContext(sc: SurfaceContext, actor: Actor): HandlerContext {
  return { store: sc.store, config: sc.config, actor, now: sc.now };
}

/** Runs a registry command for an actor; the role is checked (and a denial audited) by `executeCommand`. */
async function runCommand(
  sc: SurfaceContext,
  actor: Actor,
  spec: CommandSpec,
  args: Parameters<typeof executeCommand>[2],
): Promise<Result<CommandOutput>> {
  return executeCommand(handlerContext(sc, actor), spec, args);
}

async function postToResponseUrl(url: string, body: Record<string, unknown>): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`response_url answered ${response.status}`);
}

/**
 * Answers only the person who clicked: through the response URL (usable 5 times within 30 minutes), else as an
 * ephemeral message in the channel, else as a DM from the app (Home tab).
 */
async function replyPrivately(sc: SurfaceContext, origin: Origin, message: Rendered): Promise<void> {
  if (origin.responseUrl) {
    try {
      await postToResponseUrl(origin.responseUrl, {
        response_type: 'ephemeral',
        replace_original: false,
        text: message.text,
        blocks: message.blocks,
      });
      return;
    } catch (error) {
      sc.log.warn({ err: error }, 'slack: response URL refused (expired?); answering through the Web API');
    }
  }
  if (origin.channel && !origin.home) {
    await sc.client.chat.postEphemeral({
      channel: origin.channel,
      user: origin.userId,
      text: message.text,
      blocks: message.blocks,
    });
  } else {
    await sc.client.chat.postMessage({ channel: origin.userId, text: message.text, blocks: message.blocks });
  }
}

const note = (text: string): Rendered => ({ text: cut(text, LIMITS.messageText), blocks: [section(text)] });

/**
 * Replaces the clicked buttons with the "who did what when" line (and what can be done next, e.g. Undo); other rows
 * keep theirs.
 */
export function markActed(
  blocks: Block[],
  blockId: string | undefined,
  elementId: string | undefined,
  line: string,
  next: ButtonElement[] = [],
): Block[] {
  const out: Block[] = [];
  const acted: Block[] = [{ ...context(line), block_id: `acted:${randomUUID().slice(0, 8)}` }];
  // Its own row, so that acting on it replaces it in turn.
  if (next.length) acted.push(actions(next, `row:next:${randomUUID().slice(0, 8)}`));
  let found = false;
  for (const block of blocks) {
    if (!blockId || block.block_id !== blockId) {
      out.push(block);
      continue;
    }
    found = true;
    out.push(...acted);
    // A row's buttons are all about that row: they go. Buttons about the whole card stay, but the clicked one.
    if (!blockId.startsWith('row:') && !blockId.startsWith('notification') && block.type === 'actions') {
      const rest = block.elements.filter((el) => !('action_id' in el) || el.action_id !== elementId);
      if (rest.length) out.push({ ...block, elements: rest });
    }
  }
  if (!found) out.push(...acted);
  return out.slice(0, LIMITS.messageBlocks);
}

/** Shows the outcome of an action on the card itself, for everyone who sees the card. */
async function updateCard(
  sc: SurfaceContext,
  origin: Origin,
  line: string,
  next: ButtonElement[] = [],
): Promise<CardAddress | undefined> {
  if (origin.home) {
    await publishHome(sc, origin.userId, line);
    return undefined;
  }
  if (origin.blocks) {
    const blocks = markActed(origin.blocks, origin.blockId, origin.elementActionId, line, next);
    const text = origin.text || line;
    if (!origin.ephemeral && origin.channel && origin.ts) {
      try {
        await sc.client.chat.update({ channel: origin.channel, ts: origin.ts, text, blocks });
        return { channel: origin.channel, ts: origin.ts, text, blocks };
      } catch (error) {
        // e.g. a message posted through a response URL: edit it through that URL instead.
        const code = (error as { data?: { error?: string } }).data?.error;
        sc.log.warn({ code }, 'slack: chat.update failed; replacing through the response URL');
      }
    }
    if (origin.responseUrl) {
      await postToResponseUrl(origin.responseUrl, { replace_original: true, text, blocks });
      return undefined;
    }
  }
  await replyPrivately(sc, origin, {
    text: line,
    blocks: [context(line), ...(next.length ? [actions(next, `row:next:${randomUUID().slice(0, 8)}`)] : [])],
  });
  return undefined;
}

/** A message in a channel as last written by the bot, so it can be edited again later. */
interface CardAddress {
  channel: string;
  ts: string;
  text: string;
  blocks: Block[];
}

/** Where the card that asked a holder lives, by the asked action's id (`asked:<action id>`). */
const askedKey = (actionId: string) => `asked:${actionId}`;

/**
 * Remembers the cards of actions left waiting for the holder's answer, so that the answer (Keep or Release, clicked
 * in Slack) can be shown on them as well.
 */
async function rememberAsked(sc: SurfaceContext, output: CommandOutput, card: CardAddress): Promise<void> {
  for (const row of output.rows as { actionId?: unknown; state?: unknown }[]) {
    if (typeof row.actionId === 'string' && row.state === 'asking') {
      await setAddress(sc.store.pool, askedKey(row.actionId), card);
    }
  }
}

/** Adds a holder's answer, and what came of it, to the card that asked them. */
async function showAnswerOnAskingCard(
  sc: SurfaceContext,
  output: CommandOutput,
  line: string,
  next: ButtonElement[],
): Promise<void> {
  for (const row of output.rows as { actionId?: unknown }[]) {
    if (typeof row.actionId !== 'string') continue;
    const card = await getAddress<CardAddress>(sc.store.pool, askedKey(row.actionId));
    if (!card) continue;
    const blocks = [
      ...card.blocks,
      { ...context(line), block_id: `answered:${randomUUID().slice(0, 8)}` },
      ...(next.length ? [actions(next, `row:next:${randomUUID().slice(0, 8)}`)] : []),
    ].slice(-LIMITS.messageBlocks);
    try {
      await sc.client.chat.update({ channel: card.channel, ts: card.ts, text: card.text, blocks });
      await deleteAddress(sc.store.pool, askedKey(row.actionId));
    } catch (error) {
      const code = (error as { data?: { error?: string } }).data?.error;
      sc.log.warn({ code, actionId: row.actionId }, 'slack: the asking card could not show the answer');
    }
  }
}

function alreadyText(record: ActionRecord): string {
  const when = slackDate(new Date(record.at));
  if (record.state === 'done' && record.ok === false) {
    return `:information_source: Already tried: *${escapeMrkdwn(record.label)}* by <@${record.user}> on ${when} failed${
      record.outcome ? ` — ${record.outcome}` : ''
    }. Nothing was run again; use Retry on the card.`;
  }
  return record.state === 'done'
    ? `:information_source: Already done: *${escapeMrkdwn(record.label)}* by <@${record.user}> on ${when}${
        record.outcome ? ` — ${record.outcome}` : ''
      }. Nothing was run again.`
    : `:hourglass: <@${record.user}> started *${escapeMrkdwn(record.label)}* on ${when}; it is still running.`;
}

/**
 * A typed `reclaim` without `--yes` only previews (as on the command line); in Slack the preview is a card whose
 * Reclaim buttons confirm it, so it is asked for as a dry run rather than refused.
 */
function previewFirst(spec: CommandSpec, words: string[]): string[] {
  if (spec.name !== 'reclaim' || words.includes('--yes') || words.includes('--dry-run')) return words;
  return [...words, '--dry-run'];
}

/** The actions a vendor failure names as worth retrying (`… retry with: seatkeeper retry <id>`). */
function retryableIds(message: string): string[] {
  return [...message.matchAll(/retry with: seatkeeper retry ([0-9a-f]{8}-[0-9a-f-]{27})/gi)].map(
    (m) => m[1] as string,
  );
}

/**
 * What a click claims: its action id within its command. The id alone is not enough, because the id a click passes
 * to its handler (a reclaim's action id) reappears on later buttons about the same thing (the holder's Keep /
 * Release), whose clicks are other actions.
 */
export function claimId(spec: CommandSpec, actionId: string): string {
  return `${spec.name.replace(/\s+/g, '-')}:${actionId}`;
}

/**
 * Runs a command from a click or a form. Query commands answer the clicker; commands that change something
 * (an action id) run once per id across retries and replicas, then update the card in place.
 */
async function execute(
  sc: SurfaceContext,
  origin: Origin,
  spec: CommandSpec,
  tokens: readonly string[],
  actionId: string | undefined,
  page: boolean,
): Promise<void> {
  const actor = await sc.identity.actor(origin.userId);
  const bound = bindSlashArgs(spec, withActionId(spec, tokens, actionId));
  if (!bound.ok) {
    await replyPrivately(sc, origin, renderFailure(bound.error, spec));
    return;
  }
  if (!actionId) {
    const result = await runCommand(sc, actor, spec, bound.value.args);
    if (!result.ok) {
      await replyPrivately(sc, origin, renderFailure(result.error, spec));
      return;
    }
    const rendered = renderOutput(result.value, {
      command: spec.name,
      tokens: bound.value.tokens,
      offset: bound.value.offset,
      limit: bound.value.limit,
    });
    if (page && origin.ephemeral && origin.responseUrl) {
      await postToResponseUrl(origin.responseUrl, {
        response_type: 'ephemeral',
        replace_original: true,
        text: rendered.text,
        blocks: rendered.blocks,
      });
    } else {
      await replyPrivately(sc, origin, rendered);
    }
    return;
  }

  const started: ActionRecord = {
    state: 'running',
    user: origin.userId,
    label: origin.label,
    command: spec.name,
    at: sc.now().toISOString(),
    ...(origin.channel ? { channel: origin.channel } : {}),
    ...(origin.ts ? { ts: origin.ts } : {}),
  };
  const clickId = claimId(spec, actionId);
  const claim = await claimAction(sc.store.pool, clickId, started);
  if (!claim.claimed) {
    await replyPrivately(sc, origin, note(alreadyText(claim.record)));
    return;
  }
  let result: Result<CommandOutput>;
  try {
    result = await runCommand(sc, actor, spec, bound.value.args);
  } catch (error) {
    await releaseAction(sc.store.pool, clickId);
    throw error;
  }
  if (!result.ok) {
    const retry = result.error.code === 'VENDOR_FAILED' ? retryableIds(result.error.message) : [];
    if (retry.length === 0) {
      // Nothing changed: a later click (perhaps by someone with the role) may run it.
      await releaseAction(sc.store.pool, clickId);
      await replyPrivately(sc, origin, renderFailure(result.error, spec));
      return;
    }
    // The vendor was asked and refused: that is how this click ended, shown to everyone, with Retry where it helps.
    const failedAt = sc.now();
    const reason = escapeMrkdwn(result.error.message.replace(/\s*\n\s*/g, ' '));
    await finishAction(sc.store.pool, clickId, {
      ...started,
      state: 'done',
      at: failedAt.toISOString(),
      outcome: reason,
      ok: false,
    }).catch((error: unknown) => sc.log.warn({ err: error, actionId }, 'slack: failed action not recorded'));
    const next = toButtons(
      retry.length === 1
        ? [
            {
              label: 'Retry',
              command: 'retry',
              tokens: [retry[0] as string],
              mutating: true,
              style: 'primary',
            },
          ]
        : [],
    );
    await updateCard(sc, origin, actedLine(origin.userId, origin.label, failedAt, reason, false), next);
    return;
  }
  const at = sc.now();
  const outcome = outcomeText(result.value);
  try {
    await finishAction(sc.store.pool, clickId, {
      ...started,
      state: 'done',
      at: at.toISOString(),
      outcome,
      ok: true,
    });
    await deleteAddress(sc.store.pool, `card:${clickId}`);
  } catch (error) {
    // It ran: the card must still say so. The claim stays `running`, so no click runs it again for a while.
    sc.log.warn({ err: error, actionId }, 'slack: action done but not recorded as done');
  }
  const next = toButtons(followUpButtons(result.value, at));
  const line = actedLine(origin.userId, origin.label, at, outcome);
  const card = await updateCard(sc, origin, line, next);
  if (card) await rememberAsked(sc, result.value, card);
  if (spec.name === 'answer') await showAnswerOnAskingCard(sc, result.value, line, next);
}

/** The App Home for a user, with `notice` on top; remembered so it can be refreshed after imports. */
export async function publishHome(sc: SurfaceContext, userId: string, notice?: string): Promise<void> {
  const actor = await sc.identity.actor(userId);
  const view = await composeHome(handlerContext(sc, actor), notice);
  await sc.client.views.publish({ user_id: userId, view });
  await setAddress(sc.store.pool, `home:${userId}`, { publishedAt: sc.now().toISOString() });
}

/** An unexpected error: logged with a reference the person can quote, and told to them briefly. */
async function failed(sc: SurfaceContext, origin: Origin, error: unknown, what: string): Promise<void> {
  const ref = randomUUID().slice(0, 8);
  sc.log.error({ err: error, ref, user: origin.userId, what }, 'slack: request failed');
  await replyPrivately(
    sc,
    origin,
    note(`:boom: Something went wrong (reference ${ref}). It is logged.`),
  ).catch(() => undefined);
}

async function resolveMentions(
  sc: SurfaceContext,
  words: readonly (string | { userId: string })[],
): Promise<Result<string[]>> {
  const out: string[] = [];
  for (const word of words) {
    if (typeof word === 'string') {
      out.push(word);
      continue;
    }
    const email = await sc.identity.emailOf(word.userId);
    if (!email)
      return fail('NOT_FOUND', `Slack does not tell Seatkeeper the e-mail address of <@${word.userId}>.`);
    out.push(email);
  }
  return { ok: true, value: out };
}

/** Registers every listener of the surface on the Bolt app. */
export function registerListeners(app: App, sc: SurfaceContext): void {
  app.command(SLASH_COMMAND, async ({ command, ack }) => {
    const parsed = parseSlash(command.text ?? '');
    if (parsed.kind === 'help') {
      const help = renderHelp(parsed.intro);
      await ack({ response_type: 'ephemeral', text: help.text, blocks: help.blocks });
      return;
    }
    await ack();
    const origin: Origin = {
      userId: command.user_id,
      label: parsed.spec.name,
      channel: command.channel_id,
      responseUrl: command.response_url,
      ephemeral: true,
      home: false,
    };
    await sc.track(async () => {
      try {
        const words = await resolveMentions(sc, parsed.tokens);
        const bound = words.ok ? bindSlashArgs(parsed.spec, previewFirst(parsed.spec, words.value)) : words;
        if (!bound.ok) {
          await replyPrivately(sc, origin, renderFailure(bound.error, parsed.spec));
          return;
        }
        const actor = await sc.identity.actor(command.user_id);
        const result = await runCommand(sc, actor, parsed.spec, bound.value.args);
        if (!result.ok) {
          await replyPrivately(sc, origin, renderFailure(result.error, parsed.spec));
          return;
        }
        const rendered = renderOutput(result.value, {
          command: parsed.spec.name,
          tokens: bound.value.tokens,
          offset: bound.value.offset,
          limit: bound.value.limit,
        });
        await postToResponseUrl(command.response_url, {
          response_type: parsed.share && parsed.spec.private !== true ? 'in_channel' : 'ephemeral',
          text: rendered.text,
          blocks: rendered.blocks,
        });
      } catch (error) {
        await failed(sc, origin, error, `/license ${parsed.spec.name}`);
      }
    });
  });

  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: new RegExp(`^${ACTION_PREFIX.replace('.', '\\.')}`) },
    async ({ ack, body, action }) => {
      await ack();
      const container = body.container as {
        is_ephemeral?: boolean;
        channel_id?: string;
        message_ts?: string;
      };
      const origin: Origin = {
        userId: body.user.id,
        label: action.text?.text ?? 'Action',
        channel: body.channel?.id ?? container.channel_id,
        ts: body.message?.ts ?? container.message_ts,
        responseUrl: body.response_url || undefined,
        ephemeral: container.is_ephemeral === true,
        home: body.view?.type === 'home',
        blocks: body.message?.blocks as Block[] | undefined,
        text: body.message?.text,
        blockId: action.block_id,
        elementActionId: action.action_id,
      };
      await sc.track(async () => {
        try {
          const value = decodeValue(action.value);
          const spec = value ? findSlackCommand(value.c) : undefined;
          // Every button of a command that takes an idempotency key carries one; a value without it was not made
          // here, and would escape the once-per-click claim.
          if (!value || !spec || (!value.id && idempotencyArg(spec))) {
            await replyPrivately(
              sc,
              origin,
              note(':warning: This button no longer works. Ask again with `/license`.'),
            );
            return;
          }
          if (value.ask?.length) {
            await openForm(sc, origin, spec, value, body.trigger_id);
            return;
          }
          await execute(sc, origin, spec, value.t, value.id, value.pg === 1);
        } catch (error) {
          await failed(sc, origin, error, `button ${action.action_id}`);
        }
      });
    },
  );

  app.view(FORM_CALLBACK, async ({ ack, body, view }) => {
    const meta = readFormMeta(view.private_metadata);
    if (!meta) {
      await ack();
      return;
    }
    const spec = findSlackCommand(meta.c);
    const firstBlock = `arg:${meta.ask[0] ?? ''}`;
    if (!spec) {
      await ack({
        response_action: 'errors',
        errors: { [firstBlock]: 'This command is no longer available.' },
      });
      return;
    }
    const tokens = withAsked(spec, meta.t, formValues(spec, meta.ask, view.state.values));
    const bound = bindSlashArgs(spec, tokens);
    if (!bound.ok) {
      const named = meta.ask.find((name) => bound.error.message.includes(name));
      await ack({
        response_action: 'errors',
        errors: { [`arg:${named ?? meta.ask[0] ?? ''}`]: cut(bound.error.message, 150) },
      });
      return;
    }
    await ack();
    const card = meta.id
      ? await getAddress<{ blocks: Block[]; text?: string }>(sc.store.pool, `card:${claimId(spec, meta.id)}`)
      : undefined;
    const origin: Origin = {
      userId: body.user.id,
      label: meta.l,
      ...(meta.ch ? { channel: meta.ch } : {}),
      ...(meta.ts ? { ts: meta.ts } : {}),
      ...(meta.ru ? { responseUrl: meta.ru } : {}),
      ephemeral: meta.e === 1,
      home: meta.h === 1,
      ...(card ? { blocks: card.blocks, text: card.text } : {}),
      ...(meta.b ? { blockId: meta.b } : {}),
      ...(meta.a ? { elementActionId: meta.a } : {}),
    };
    await sc.track(async () => {
      try {
        await execute(sc, origin, spec, tokens, meta.id, false);
      } catch (error) {
        await failed(sc, origin, error, `form ${spec.name}`);
      }
    });
  });

  app.options<'block_suggestion'>(
    { type: 'block_suggestion', action_id: PERSON_SELECT },
    async ({ ack, body }) => {
      const actor = await sc.identity.actor(body.user.id);
      // The directory is for those who may act on the inventory, not for every member.
      const people = hasRole(actor, 'helpdesk')
        ? await searchPersons(sc.store.pool, body.value, LIMITS.options)
        : [];
      await ack({
        options: people.map((p) => ({
          text: plain(p.displayName ? `${p.displayName} (${p.email})` : p.email, LIMITS.optionText),
          value: p.email.slice(0, LIMITS.optionValue),
        })),
      });
    },
  );

  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    await sc.track(async () => {
      try {
        await publishHome(sc, event.user);
      } catch (error) {
        sc.log.error({ err: error, user: event.user }, 'slack: App Home not published');
      }
    });
  });
}

/** Opens the modal of a button that needs more input; a user without the role is told so at once. */
async function openForm(
  sc: SurfaceContext,
  origin: Origin,
  spec: CommandSpec,
  value: ButtonValue,
  triggerId: string,
): Promise<void> {
  const actor = await sc.identity.actor(origin.userId);
  if (!hasRole(actor, spec.role)) {
    // executeCommand refuses before running anything, and audits the denial.
    const denied = await runCommand(sc, actor, spec, {});
    if (!denied.ok) await replyPrivately(sc, origin, renderFailure(denied.error, spec));
    return;
  }
  if (value.id) {
    const clickId = claimId(spec, value.id);
    const record = await getAddress<ActionRecord>(sc.store.pool, `action:${clickId}`);
    if (record) {
      await replyPrivately(sc, origin, note(alreadyText(record)));
      return;
    }
    if (origin.blocks) {
      await setAddress(sc.store.pool, `card:${clickId}`, { blocks: origin.blocks, text: origin.text });
    }
  }
  const view = formView(spec, value, origin);
  if (!view) {
    await replyPrivately(sc, origin, note(':warning: This button carries too much to open a form.'));
    return;
  }
  await sc.client.views.open({ trigger_id: triggerId, view });
}
