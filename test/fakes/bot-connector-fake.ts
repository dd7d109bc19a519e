/**
 * A Bot Connector fake (the Teams channel's REST API the bot calls back, at the activity's `serviceUrl`), on the HTTPS
 * FakeServer. It follows the v3 conversations contract: POST …/activities (send), POST …/activities/{id} (reply),
 * PUT …/activities/{id} (update), GET …/members/{id} (a TeamsChannelAccount, or 404 MemberNotFoundInConversation),
 * POST /v3/conversations (create a personal chat: needs `bot`, `members` and the tenant). Like Teams, it refuses an
 * activity whose Adaptive Card a client could not render (400 BadArgument): `cardProblems` checks a card with the
 * official `adaptivecards` object model plus a schema for what that parser lets through. It records every call and
 * lets a test wait for one; it also builds the activities Teams would POST to the bot.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import type { FakeRequest } from './fake-server.ts';
import { FakeServer } from './fake-server.ts';

export interface TeamsUser {
  /** The user's MRI in this tenant (`29:…`). */
  id: string;
  aadObjectId: string;
  name: string;
  email: string;
}

export const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const BOT = { id: '28:seatkeeper-bot', name: 'Seatkeeper' };

/** One call the bot made to the connector. */
export interface ConnectorCall {
  kind: 'send' | 'reply' | 'update' | 'create' | 'member';
  conversationId: string;
  /** The activity id the call addresses (reply to, update), or the id the fake assigned (send, reply). */
  activityId?: string;
  body: Record<string, unknown>;
  authorization?: string;
}

export class BotConnectorFake {
  readonly server = new FakeServer();
  readonly calls: ConnectorCall[] = [];
  /** Users the member lookup knows, by MRI. */
  readonly members = new Map<string, TeamsUser>();
  /** Activities refused because their card is invalid (a test expects none). */
  readonly rejected: { body: Record<string, unknown>; problems: string[] }[] = [];
  private readonly events = new EventEmitter();
  private sequence = 0;

  async start(): Promise<this> {
    const conversation = '([^/]+)';
    this.server
      .route('POST', /^\/v3\/conversations$/, (req) => this.create(req))
      .route('POST', new RegExp(`^/v3/conversations/${conversation}/activities$`), (req) =>
        this.record(req, 'send', req.params[0] as string),
      )
      .route('POST', new RegExp(`^/v3/conversations/${conversation}/activities/([^/]+)$`), (req) =>
        this.record(req, 'reply', req.params[0] as string, req.params[1]),
      )
      .route('PUT', new RegExp(`^/v3/conversations/${conversation}/activities/([^/]+)$`), (req) =>
        this.record(req, 'update', req.params[0] as string, req.params[1]),
      )
      .route('GET', new RegExp(`^/v3/conversations/${conversation}/members/([^/]+)$`), (req) => {
        const user = this.members.get(req.params[1] as string);
        this.push({
          kind: 'member',
          conversationId: req.params[0] as string,
          body: {},
          authorization: auth(req),
        });
        if (!user) {
          return {
            status: 404,
            body: {
              error: {
                code: 'MemberNotFoundInConversation',
                message: 'The member is not in the conversation.',
              },
            },
          };
        }
        return {
          body: {
            id: user.id,
            name: user.name,
            aadObjectId: user.aadObjectId,
            email: user.email,
            userPrincipalName: user.email,
            givenName: user.name.split(' ')[0],
            surname: user.name.split(' ').slice(1).join(' '),
            tenantId: TENANT_ID,
            userRole: 'user',
          },
        };
      });
    await this.server.start();
    return this;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** The service URL activities carry, so the bot calls this fake back. */
  get serviceUrl(): string {
    return `${this.server.url}/`;
  }

  /** Calls of one kind (optionally to one conversation). */
  of(kind: ConnectorCall['kind'], conversationId?: string): ConnectorCall[] {
    return this.calls.filter(
      (c) => c.kind === kind && (!conversationId || c.conversationId === conversationId),
    );
  }

  /** Resolves with the first call (already made or coming) that matches. */
  waitFor(match: (call: ConnectorCall) => boolean, timeoutMs = 20_000): Promise<ConnectorCall> {
    const found = this.calls.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off('call', listener);
        reject(new Error(`no matching Bot Connector call within ${timeoutMs} ms; calls: ${this.describe()}`));
      }, timeoutMs);
      const listener = (call: ConnectorCall) => {
        if (!match(call)) return;
        clearTimeout(timer);
        this.events.off('call', listener);
        resolve(call);
      };
      this.events.on('call', listener);
    });
  }

  describe(): string {
    return this.calls
      .map((c) => `${c.kind} ${c.conversationId}${c.activityId ? `/${c.activityId}` : ''}`)
      .join(', ');
  }

  private record(
    req: FakeRequest,
    kind: 'send' | 'reply' | 'update',
    conversationId: string,
    activityId?: string,
  ) {
    const body = (req.json ?? {}) as Record<string, unknown>;
    if (typeof body.type !== 'string') {
      return { status: 400, body: { error: { code: 'BadArgument', message: 'The activity has no type.' } } };
    }
    const attachments = (body.attachments ?? []) as { contentType?: string; content?: unknown }[];
    for (const attachment of attachments) {
      if (attachment.contentType !== 'application/vnd.microsoft.card.adaptive') continue;
      const problems = cardProblems(attachment.content);
      if (problems.length > 0) {
        this.rejected.push({ body, problems });
        return { status: 400, body: { error: { code: 'BadArgument', message: problems.join('; ') } } };
      }
    }
    const id = kind === 'update' ? (activityId as string) : `1:${++this.sequence}`;
    this.push({
      kind,
      conversationId,
      activityId: kind === 'update' ? activityId : id,
      body,
      authorization: auth(req),
    });
    return { status: kind === 'update' ? 200 : 201, body: { id } };
  }

  private create(req: FakeRequest) {
    const body = (req.json ?? {}) as {
      bot?: { id?: string };
      members?: { id?: string }[];
      tenantId?: string;
      channelData?: { tenant?: { id?: string } };
    };
    if (!body.bot?.id || !body.members?.[0]?.id || !(body.tenantId ?? body.channelData?.tenant?.id)) {
      return {
        status: 400,
        body: { error: { code: 'BadArgument', message: 'bot, members and the tenant are required.' } },
      };
    }
    const id = `a:personal-${++this.sequence}`;
    this.push({
      kind: 'create',
      conversationId: id,
      body: body as Record<string, unknown>,
      authorization: auth(req),
    });
    return { status: 201, body: { id } };
  }

  private push(call: ConnectorCall): void {
    this.calls.push(call);
    this.events.emit('call', call);
  }
}

// ─── Adaptive Card checks ──────────────────────────────────────────────────────────────────────────────────────

interface AdaptiveCardsModule {
  AdaptiveCard: new () => {
    parse(json: unknown, context: unknown): void;
    validateProperties(): { validationEvents: { message: string }[] };
  };
  SerializationContext: new () => { eventCount: number; getEventAt(i: number): { message: string } };
}

// `import 'adaptivecards'` resolves to extensionless ESM Node cannot load; the UMD bundle needs no DOM to parse.
const AC = createRequire(import.meta.url)('adaptivecards/dist/adaptivecards.js') as AdaptiveCardsModule;

const ifType = (type: string, then: object) => ({
  if: { properties: { type: { const: type } }, required: ['type'] },
  then,
});

/** What the parser does not check, for every object anywhere in the card. */
export const CARD_GAPS_SCHEMA = {
  $id: 'seatkeeper-card-gaps',
  type: 'object',
  required: ['type', 'version', 'body'],
  properties: {
    type: { const: 'AdaptiveCard' },
    version: { const: '1.5' },
    body: { type: 'array' },
  },
  allOf: [{ $ref: '#/definitions/node' }],
  definitions: {
    node: {
      anyOf: [
        { type: 'array', items: { $ref: '#/definitions/node' } },
        { type: ['string', 'number', 'boolean', 'null'] },
        {
          type: 'object',
          allOf: [
            ifType('TextBlock', {
              required: ['text'],
              properties: { text: { type: 'string', minLength: 1 } },
            }),
            ifType('Image', { required: ['url'], properties: { url: { type: 'string', minLength: 1 } } }),
            ifType('FactSet', {
              required: ['facts'],
              properties: {
                facts: {
                  type: 'array',
                  minItems: 1,
                  items: {
                    type: 'object',
                    required: ['title', 'value'],
                    properties: { title: { type: 'string' }, value: { type: 'string', minLength: 1 } },
                  },
                },
              },
            }),
            ifType('ActionSet', {
              required: ['actions'],
              properties: { actions: { type: 'array', minItems: 1 } },
            }),
            // A refresh action has no title; buttons do (checked where actions are listed, below).
            ifType('Action.Execute', {
              required: ['verb'],
              properties: { verb: { type: 'string', minLength: 1 } },
            }),
            {
              properties: {
                actions: { type: 'array', items: { type: 'object', required: ['title'] } },
              },
            },
          ],
          additionalProperties: { $ref: '#/definitions/node' },
        },
      ],
    },
  },
};

const validateGaps = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(CARD_GAPS_SCHEMA);

/** Every problem with a card; empty when a host would render it as intended. */
export function cardProblems(card: unknown): string[] {
  const problems: string[] = [];
  const parsed = new AC.AdaptiveCard();
  // The library's own version table lists `choices.data` (dynamic typeahead) under 1.6; Teams honours it on 1.5
  // cards (its documentation shows it on a 1.2 card), so the card is parsed against the library's latest version.
  const context = new AC.SerializationContext();
  parsed.parse(card, context);
  for (let i = 0; i < context.eventCount; i++) problems.push(`parse: ${context.getEventAt(i).message}`);
  for (const event of parsed.validateProperties().validationEvents)
    problems.push(`validate: ${event.message}`);
  if (!validateGaps(card)) {
    for (const error of validateGaps.errors ?? []) {
      if (error.keyword === 'if' || error.keyword === 'anyOf') continue; // the failing branch is reported below it
      problems.push(
        `schema: ${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`,
      );
    }
  }
  const json = JSON.stringify(card);
  const unexpanded = json.match(/\$\{[^}]*\}/g);
  if (unexpanded) problems.push(`template: unexpanded ${unexpanded.slice(0, 3).join(', ')}`);
  return problems;
}

const auth = (req: FakeRequest) =>
  typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined;

/** The Adaptive Card of a message activity the bot sent. */
export function cardOf(body: Record<string, unknown>): Record<string, unknown> {
  const attachments = body.attachments as
    | { contentType?: string; content?: Record<string, unknown> }[]
    | undefined;
  const card = attachments?.find((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')?.content;
  if (!card) throw new Error(`the activity carries no Adaptive Card: ${JSON.stringify(body).slice(0, 300)}`);
  return card;
}

/** Every string in a card (texts, fact values, button titles), for asserting what it shows. */
export function cardText(card: unknown): string {
  const parts: string[] = [];
  const walk = (node: unknown) => {
    if (typeof node === 'string') parts.push(node);
    else if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) if (key !== 'data') walk(value);
    }
  };
  walk(card);
  return parts.join('\n');
}

/** The `Action.Execute` buttons of a card, anywhere in it. */
export function buttonsOf(card: unknown): { title: string; verb: string; data: Record<string, unknown> }[] {
  const found: { title: string; verb: string; data: Record<string, unknown> }[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.type === 'Action.Execute' && typeof o.title === 'string') {
        found.push({ title: o.title, verb: String(o.verb), data: (o.data ?? {}) as Record<string, unknown> });
      }
      for (const [key, value] of Object.entries(o)) if (key !== 'refresh') walk(value);
    }
  };
  walk(card);
  return found;
}

type Scope = 'personal' | 'channel' | 'groupChat';

/** The conversation of an activity: a personal chat with a user, or a team channel. */
export function conversation(scope: Scope, id: string) {
  return {
    id,
    conversationType: scope,
    tenantId: TENANT_ID,
    ...(scope === 'personal' ? {} : { isGroup: true }),
  };
}

let activitySequence = 0;

/** The fields every activity Teams sends carries. */
function base(fake: BotConnectorFake, from: TeamsUser, conv: ReturnType<typeof conversation>) {
  return {
    id: `f:${++activitySequence}`,
    channelId: 'msteams',
    serviceUrl: fake.serviceUrl,
    timestamp: new Date().toISOString(),
    from: { id: from.id, name: from.name, aadObjectId: from.aadObjectId },
    recipient: BOT,
    conversation: conv,
    channelData: {
      tenant: { id: TENANT_ID },
      ...(conv.conversationType === 'channel'
        ? { team: { id: '19:team-general@thread.tacv2' }, channel: { id: conv.id.split(';')[0] } }
        : {}),
    },
  };
}

/** A message typed to the bot; in a channel it starts with the bot's @mention, as Teams sends it. */
export function messageActivity(
  fake: BotConnectorFake,
  from: TeamsUser,
  conv: ReturnType<typeof conversation>,
  text: string,
) {
  const mention = `<at>${BOT.name}</at>`;
  const personal = conv.conversationType === 'personal';
  return {
    ...base(fake, from, conv),
    type: 'message',
    text: personal ? text : `${mention} ${text}`,
    textFormat: 'plain',
    entities: personal ? [] : [{ type: 'mention', text: mention, mentioned: BOT }],
  };
}

/** A click on an `Action.Execute` button (or an automatic refresh) on the card of message `replyToId`. */
export function actionInvoke(
  fake: BotConnectorFake,
  from: TeamsUser,
  conv: ReturnType<typeof conversation>,
  replyToId: string,
  action: { verb: string; data: Record<string, unknown> },
  trigger: 'manual' | 'automatic' = 'manual',
) {
  return {
    ...base(fake, from, conv),
    type: 'invoke',
    name: 'adaptiveCard/action',
    replyToId,
    value: { action: { type: 'Action.Execute', id: `action-${++activitySequence}`, ...action }, trigger },
  };
}

/** A typeahead query of an `Input.ChoiceSet` with `Data.Query`. */
export function searchInvoke(
  fake: BotConnectorFake,
  from: TeamsUser,
  conv: ReturnType<typeof conversation>,
  queryText: string,
  dataset = 'persons',
) {
  return {
    ...base(fake, from, conv),
    type: 'invoke',
    name: 'application/search',
    value: { queryText, dataset, queryOptions: { skip: 0, top: 15 } },
  };
}

/** The app installed in a personal scope or a team (Teams sends a conversationUpdate with the bot added). */
export function installActivity(
  fake: BotConnectorFake,
  from: TeamsUser,
  conv: ReturnType<typeof conversation>,
) {
  return { ...base(fake, from, conv), type: 'conversationUpdate', membersAdded: [{ id: BOT.id }] };
}
