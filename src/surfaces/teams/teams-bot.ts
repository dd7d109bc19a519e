/**
 * One turn of the Teams bot: typed commands (personal chat or @mention), card actions and typeahead searches
 * (invokes), and installs (conversation references for proactive messages). Everything the product does happens in
 * the registry's handlers; this only translates.
 */
import { randomUUID } from 'node:crypto';
import { Activity, ActivityTypes } from '@microsoft/agents-activity';
import {
  type AdaptiveCardInvokeResponse,
  CardFactory,
  type CloudAdapter,
  type ConnectorClient,
  MessageFactory,
  type TurnContext,
} from '@microsoft/agents-hosting';
import { executeCommand } from '../../../handlers/registry.ts';
import type { Actor } from '../../../handlers/types.ts';
import type { Logger } from '../../log.ts';
import type { Origin } from './card-actions.ts';
import type { CardJson, CardTemplates } from './card-templates.ts';
import { errorCard, helpCard } from './card-views.ts';
import type { TeamsActions } from './teams-actions.ts';
import type { TeamsAddresses } from './teams-addresses.ts';
import type { TeamsIdentities } from './teams-identity.ts';
import type { TeamsRenderer } from './teams-render.ts';
import { commandText, parseCommand } from './teams-text.ts';

export interface BotDeps {
  adapter: CloudAdapter;
  log: Logger;
  templates: CardTemplates;
  renderer: TeamsRenderer;
  actions: TeamsActions;
  identities: TeamsIdentities;
  addresses: TeamsAddresses;
}

/** A message carrying one Adaptive Card. */
export function cardMessage(card: CardJson, summary?: string): Activity {
  const activity = MessageFactory.attachment(CardFactory.adaptiveCard(card)) as Activity;
  if (summary) activity.summary = summary;
  return activity;
}

export class TeamsBot {
  constructor(private readonly deps: BotDeps) {}

  /** The turn handler given to `adapter.process`. */
  async handle(ctx: TurnContext): Promise<void> {
    switch (ctx.activity.type) {
      case ActivityTypes.Message:
        return this.onMessage(ctx);
      case ActivityTypes.Invoke:
        return this.onInvoke(ctx);
      case ActivityTypes.ConversationUpdate:
        return this.onConversationUpdate(ctx);
      case ActivityTypes.InstallationUpdate:
        return this.onInstallationUpdate(ctx);
      default:
        return;
    }
  }

  private client(ctx: TurnContext): ConnectorClient | undefined {
    return ctx.turnState.get<ConnectorClient>(this.deps.adapter.ConnectorClientKey);
  }

  private async actor(ctx: TurnContext): Promise<Actor> {
    const actor = await this.deps.identities.actorFor(ctx.activity, this.client(ctx));
    await this.deps.addresses.remember(ctx.activity, actor.personId);
    return actor;
  }

  private async onMessage(ctx: TurnContext): Promise<void> {
    const activity = ctx.activity;
    // An Action.Submit from a client without Universal Actions has a value and no text: nothing to parse.
    if (!activity.text && activity.value) return;
    const actor = await this.actor(ctx);
    const mentions = (activity.entities ?? []).filter((e) => e.type?.toLowerCase() === 'mention') as {
      text?: string;
      mentioned?: { id?: string };
    }[];
    const text = commandText(activity.text, mentions, activity.recipient?.id);
    const { renderer, templates } = this.deps;
    const parsed = parseCommand(text, renderer.teamsCommands());
    if (parsed.kind === 'help') {
      await ctx.sendActivity(cardMessage(helpCard(templates, renderer.teamsCommands()), 'Seatkeeper help'));
      return;
    }
    if (parsed.kind === 'unknown') {
      const note = `I don’t know “${parsed.word}”. Here is what I can do:`;
      await ctx.sendActivity(
        cardMessage(helpCard(templates, renderer.teamsCommands(), note), 'Seatkeeper help'),
      );
      return;
    }
    if (parsed.kind === 'invalid') {
      const card = errorCard(
        templates,
        { code: 'INVALID_ARGUMENT', message: parsed.message },
        `Example: ${parsed.spec.examples[0] ?? parsed.spec.name}. Write “help” for every command.`,
      );
      await ctx.sendActivity(cardMessage(card, parsed.message));
      return;
    }
    if (parsed.spec.private === true && activity.conversation?.conversationType !== 'personal') {
      const message = `${parsed.spec.name} answers only in a personal chat with me: its answer is for you alone.`;
      const card = errorCard(
        templates,
        { code: 'INVALID_ARGUMENT', message },
        'Open a chat with the app and write it there.',
      );
      await ctx.sendActivity(cardMessage(card, message));
      return;
    }
    // A typed reclaim without --yes only previews, as on the command line; here the preview is a card whose
    // Reclaim buttons lead to the confirmation, so it is asked for as a dry run rather than refused.
    if (parsed.spec.name === 'reclaim' && parsed.args.yes !== true && parsed.args['dry-run'] !== true) {
      parsed.args['dry-run'] = true;
      parsed.given['dry-run'] = true;
    }
    const result = await executeCommand(renderer.handlerContext(actor), parsed.spec, parsed.args);
    if (!result.ok) {
      await ctx.sendActivity(cardMessage(errorCard(templates, result.error), result.error.message));
      return;
    }
    const cardId = randomUUID();
    const personal = activity.conversation?.conversationType === 'personal';
    const origin: Origin = { command: parsed.spec.name, args: parsed.given };
    const rendered = renderer.listCard(parsed.spec, parsed.given, result.value, actor, {
      cardId,
      interactive: personal,
    });
    const card = personal
      ? rendered.card
      : await renderer.sharedCard(origin, rendered, {
          cardId,
          requester: activity.from?.id ? { mri: activity.from.id, actor } : undefined,
        });
    await ctx.sendActivity(cardMessage(card, text));
  }

  private async onInvoke(ctx: TurnContext): Promise<void> {
    let response: AdaptiveCardInvokeResponse;
    if (ctx.activity.name === 'adaptiveCard/action') {
      response = await this.deps.actions.onExecute(ctx, await this.actor(ctx));
    } else if (ctx.activity.name === 'application/search') {
      response = await this.deps.actions.onSearch(ctx, await this.actor(ctx));
    } else {
      return; // the SDK answers other invokes with 501 Not Implemented
    }
    await ctx.sendActivity(
      Activity.fromObject({
        type: ActivityTypes.InvokeResponse,
        value: { status: response.statusCode, body: response },
      }),
    );
  }

  /** The bot added to a team, a group chat or a personal scope: keep the reference; greet a person. */
  private async onConversationUpdate(ctx: TurnContext): Promise<void> {
    const activity = ctx.activity;
    const botId = activity.recipient?.id;
    if (activity.membersRemoved?.some((m) => m.id === botId)) {
      await this.deps.addresses.forget(activity);
      return;
    }
    if (!activity.membersAdded?.some((m) => m.id === botId)) return;
    await this.installed(ctx, true);
  }

  private async onInstallationUpdate(ctx: TurnContext): Promise<void> {
    const action = ctx.activity.action ?? '';
    if (action.startsWith('remove')) await this.deps.addresses.forget(ctx.activity);
    // Teams also sends conversationUpdate for an install, which greets; this only keeps the reference.
    else if (action.startsWith('add')) await this.installed(ctx, false);
  }

  private async installed(ctx: TurnContext, greet: boolean): Promise<void> {
    const actor = await this.actor(ctx);
    this.deps.log.info(
      { conversationType: ctx.activity.conversation?.conversationType, person: actor.personId },
      'teams: installed in a conversation',
    );
    if (greet && ctx.activity.conversation?.conversationType === 'personal') {
      const card = helpCard(this.deps.templates, this.deps.renderer.teamsCommands(), '');
      await ctx.sendActivity(cardMessage(card, 'Welcome to Seatkeeper'));
    }
  }
}
