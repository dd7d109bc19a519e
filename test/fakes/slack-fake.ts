/**
 * A local fake of Slack for end-to-end tests, on plain HTTP (Bolt's `slackApiUrl` accepts http):
 * - the Web API methods Seatkeeper calls (`auth.test`, `chat.*`, `views.*`, `users.*`, `conversations.open`,
 *   `apps.connections.open`), form-encoded as WebClient sends them (`blocks`/`view` arrive as JSON strings);
 * - response URLs (`/respond/<n>`) that capture what the bot answers through them;
 * - a Socket Mode WebSocket endpoint (`/link`) that sends envelopes and collects the app's acknowledgements;
 * plus helpers to sign requests the way Slack does (v0 HMAC-SHA256) and to build command and interaction bodies.
 * Every call is recorded; tests wait on a matching call instead of sleeping.
 *
 * The harness at the end starts the real service in-process with the Slack surface pointed at this fake, seeds an
 * inventory, and states Slack's message limits independently of the code under test.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { setContract } from '../../handlers/contracts.ts';
import { operatorActor } from '../../handlers/types.ts';
import { type Config, loadConfig } from '../../src/config/config.ts';
import { recomputeFindings } from '../../src/findings/recompute.ts';
import { runImport } from '../../src/inventory/import-pipeline.ts';
import { createLogger } from '../../src/log.ts';
import { type Service, startService } from '../../src/service.ts';
import type { Store } from '../../src/store/store.ts';
import {
  account,
  type FixtureData,
  fixtureConnector,
  personEntry,
  subscription,
} from '../support/fixture-connector.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

export interface SlackCall {
  method: string;
  /** Form fields, with JSON-valued ones (`blocks`, `view`, `options`) parsed. */
  args: Record<string, unknown>;
  /** The bearer token the call carried. */
  token: string | undefined;
  /** For `respond`: the response URL's number. */
  respondId?: number;
  /** What the fake answered (Web API methods). */
  answer?: Record<string, unknown>;
}

export interface FakeSlackUser {
  id: string;
  email?: string;
  name?: string;
}

type Waiter = { match: (call: SlackCall) => boolean; resolve: (call: SlackCall) => void };

const JSON_FIELDS = new Set(['blocks', 'view', 'attachments', 'options', 'metadata']);

export class SlackFake {
  readonly calls: SlackCall[] = [];
  readonly users: FakeSlackUser[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly failures: { method: string; error: string }[] = [];
  private server?: Server;
  private tsCounter = 0;
  private responseCounter = 0;
  private viewCounter = 0;
  private socket?: Duplex;
  private readonly socketAcks = new Map<string, (payload: unknown) => void>();
  /** Base URL, ending in `/`. */
  url = '';

  /** The Web API base to give Seatkeeper as SLACK_API_URL. */
  get apiUrl(): string {
    return `${this.url}api/`;
  }

  addUser(user: FakeSlackUser): this {
    this.users.push(user);
    return this;
  }

  /** The next call of `method` answers `{ ok: false, error }`. */
  failNext(method: string, error: string): this {
    this.failures.push({ method, error });
    return this;
  }

  /** A fresh response URL served by this fake. */
  responseUrl(): string {
    return `${this.url}respond/${++this.responseCounter}`;
  }

  callsOf(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves with the first call (already made or still to come) that matches; rejects after `timeoutMs`. */
  waitFor(
    method: string,
    match: (call: SlackCall) => boolean = () => true,
    timeoutMs = 15_000,
  ): Promise<SlackCall> {
    const test = (c: SlackCall) => c.method === method && match(c);
    const done = this.calls.find(test);
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { match: test, resolve };
      this.waiters.push(waiter);
      setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          reject(
            new Error(
              `no ${method} call matched within ${timeoutMs} ms; calls: ${this.calls.map((c) => c.method).join(', ')}; last: ${this.calls
                .slice(-3)
                .map((c) => JSON.stringify(c.args).slice(0, 400))
                .join(' | ')}`,
            ),
          );
        }
      }, timeoutMs).unref();
    });
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(error.message);
      });
    });
    this.server.on('upgrade', (req, socket) => this.upgrade(req, socket));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  async stop(): Promise<void> {
    this.socket?.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private record(call: SlackCall): void {
    this.calls.push(call);
    for (const waiter of [...this.waiters]) {
      if (waiter.match(call)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(call);
      }
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', this.url).pathname;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];

    const respond = /^\/respond\/(\d+)$/.exec(path);
    if (respond) {
      this.record({
        method: 'respond',
        args: JSON.parse(body || '{}'),
        token,
        respondId: Number(respond[1]),
      });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    const api = /^\/api\/([a-zA-Z.]+)$/.exec(path);
    if (!api?.[1]) {
      res.writeHead(404);
      res.end();
      return;
    }
    const method = api[1];
    const args: Record<string, unknown> = {};
    const isJson = (req.headers['content-type'] ?? '').includes('json');
    if (isJson && body) Object.assign(args, JSON.parse(body));
    else {
      for (const [key, value] of new URLSearchParams(body)) {
        args[key] = JSON_FIELDS.has(key) ? safeJson(value) : value;
      }
    }
    const call: SlackCall = { method, args, token };
    const failure = this.failures.findIndex((f) => f.method === method);
    const answer =
      failure >= 0
        ? { ok: false, error: this.failures.splice(failure, 1)[0]?.error }
        : this.answer(method, args);
    call.answer = answer;
    this.record(call);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
  }

  private nextTs(): string {
    this.tsCounter++;
    return `1700000000.${String(this.tsCounter).padStart(6, '0')}`;
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    const user = (predicate: (u: FakeSlackUser) => boolean) => this.users.find(predicate);
    const userObject = (u: FakeSlackUser) => ({
      id: u.id,
      name: u.name ?? u.id.toLowerCase(),
      real_name: u.name ?? u.id,
      profile: { email: u.email, real_name: u.name ?? u.id },
    });
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://fake.slack.test/',
          team: 'Fake',
          user: 'seatkeeper',
          team_id: 'T0001',
          user_id: 'UBOT',
          bot_id: 'BBOT',
        };
      case 'chat.postMessage': {
        const channel = String(args.channel);
        return {
          ok: true,
          channel: channel.startsWith('U') ? `D${channel.slice(1)}` : channel,
          ts: this.nextTs(),
          message: { text: args.text, blocks: args.blocks },
        };
      }
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts, text: args.text };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: this.nextTs() };
      case 'views.open':
      case 'views.publish':
      case 'views.update':
        return { ok: true, view: { id: `V${++this.viewCounter}`, ...(args.view as object) } };
      case 'users.info': {
        const found = user((u) => u.id === args.user);
        return found ? { ok: true, user: userObject(found) } : { ok: false, error: 'user_not_found' };
      }
      case 'users.lookupByEmail': {
        const email = String(args.email).toLowerCase();
        const found = user((u) => u.email?.toLowerCase() === email);
        return found ? { ok: true, user: userObject(found) } : { ok: false, error: 'users_not_found' };
      }
      case 'conversations.open':
        return { ok: true, channel: { id: `D${String(args.users).slice(1)}` } };
      case 'apps.connections.open':
        return { ok: true, url: `${this.url.replace('http', 'ws')}link` };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  // ── Socket Mode: a minimal RFC 6455 server, enough for one client and text frames. ──

  /** Whether a Socket Mode client is connected. */
  get socketConnected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  /** Sends an envelope over Socket Mode and resolves with the payload the app acknowledged it with. */
  sendEnvelope(type: string, payload: unknown, timeoutMs = 15_000): Promise<unknown> {
    const socket = this.socket;
    if (!socket) throw new Error('no Socket Mode client is connected');
    const envelopeId = randomUUID();
    const acked = new Promise<unknown>((resolve, reject) => {
      this.socketAcks.set(envelopeId, resolve);
      setTimeout(() => reject(new Error(`envelope ${type} not acknowledged`)), timeoutMs).unref();
    });
    socket.write(
      frame(
        JSON.stringify({
          envelope_id: envelopeId,
          type,
          payload,
          accepts_response_payload: true,
          retry_attempt: 0,
          retry_reason: '',
        }),
      ),
    );
    return acked;
  }

  private upgrade(req: IncomingMessage, socket: Duplex): void {
    const key = req.headers['sec-websocket-key'];
    if (!key || !req.url?.startsWith('/link')) {
      socket.destroy();
      return;
    }
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    this.socket = socket;
    this.record({ method: 'socket.connect', args: {}, token: undefined });
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const parsed = unframe(buffer);
        if (!parsed) break;
        buffer = buffer.subarray(parsed.length);
        if (parsed.opcode === 0x8) {
          socket.end(Buffer.from([0x88, 0]));
          return;
        }
        if (parsed.opcode === 0x9) {
          socket.write(frame(parsed.payload, 0xa));
          continue;
        }
        if (parsed.opcode !== 0x1) continue;
        const message = JSON.parse(parsed.payload.toString('utf8')) as {
          envelope_id?: string;
          payload?: unknown;
        };
        const resolve = message.envelope_id ? this.socketAcks.get(message.envelope_id) : undefined;
        if (resolve && message.envelope_id) {
          this.socketAcks.delete(message.envelope_id);
          resolve(message.payload ?? null);
        }
      }
    });
    socket.on('error', () => undefined);
    socket.write(
      frame(
        JSON.stringify({
          type: 'hello',
          num_connections: 1,
          debug_info: { host: 'fake' },
          connection_info: { app_id: 'A0001' },
        }),
      ),
    );
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A server-to-client frame (never masked). */
function frame(data: string | Buffer, opcode = 0x1): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let head: Buffer;
  if (payload.length < 126) head = Buffer.from([0x80 | opcode, payload.length]);
  else if (payload.length < 65_536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(payload.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  return Buffer.concat([head, payload]);
}

/** One client-to-server frame from the start of `buffer`, or undefined while incomplete. */
function unframe(buffer: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = (buffer[0] as number) & 0x0f;
  const masked = ((buffer[1] as number) & 0x80) !== 0;
  let length = (buffer[1] as number) & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskOffset = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return undefined;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (masked)
    for (let i = 0; i < payload.length; i++)
      payload[i] = (payload[i] as number) ^ (buffer[maskOffset + (i % 4)] as number);
  return { opcode, payload, length: offset + length };
}

// ── Requests as Slack sends them ──

/** Slack's v0 signature of a request body. */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface PostOptions {
  /** Seconds since the epoch (default: now). */
  timestamp?: number;
  /** Override the signature (e.g. a wrong one). */
  signature?: string;
}

/** POSTs a body signed as Slack signs it. */
export async function postSigned(
  url: string,
  secret: string,
  body: string,
  contentType: 'application/x-www-form-urlencoded' | 'application/json',
  options: PostOptions = {},
): Promise<Response> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': options.signature ?? slackSignature(secret, timestamp, body),
    },
    body,
  });
}

/** The form body of a slash command. */
export function slashCommandBody(fields: {
  text: string;
  userId: string;
  responseUrl: string;
  channelId?: string;
  command?: string;
}): string {
  return new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: 'T0001',
    team_domain: 'fake',
    channel_id: fields.channelId ?? 'C0CHANNEL',
    channel_name: 'licenses',
    user_id: fields.userId,
    user_name: fields.userId.toLowerCase(),
    command: fields.command ?? '/license',
    text: fields.text,
    api_app_id: 'A0001',
    response_url: fields.responseUrl,
    trigger_id: `trigger.${randomUUID()}`,
  }).toString();
}

/** The form body of an interaction (`payload=<json>`). */
export function interactionBody(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** A Block Kit block as the tests read them back. */
export interface CapturedBlock {
  type: string;
  block_id?: string;
  text?: { type: string; text: string };
  fields?: { text: string }[];
  elements?: Record<string, unknown>[];
  [key: string]: unknown;
}

/** Every button in a set of blocks. */
export function buttonsIn(blocks: CapturedBlock[]): { block_id: string; button: Record<string, unknown> }[] {
  return blocks.flatMap((b) =>
    b.type === 'actions' || b.type === 'section'
      ? [...(b.elements ?? []), ...(b.accessory ? [b.accessory as Record<string, unknown>] : [])]
          .filter((el) => el.type === 'button')
          .map((button) => ({ block_id: String(b.block_id ?? ''), button }))
      : [],
  );
}

/** A `block_actions` payload for clicking `button` (found in `blocks`) as `userId`. */
export function blockActionsPayload(fields: {
  userId: string;
  button: Record<string, unknown>;
  blockId: string;
  responseUrl: string;
  /** The message the button is on: omitted for ephemeral messages and the Home tab. */
  message?: { ts: string; text?: string; blocks: CapturedBlock[] };
  channelId?: string;
  ephemeral?: boolean;
  home?: boolean;
}): Record<string, unknown> {
  const container = fields.home
    ? { type: 'view', view_id: 'VHOME' }
    : {
        type: 'message',
        message_ts: fields.message?.ts ?? '1700000000.999999',
        channel_id: fields.channelId ?? 'C0CHANNEL',
        is_ephemeral: fields.ephemeral === true,
      };
  return {
    type: 'block_actions',
    team: { id: 'T0001', domain: 'fake' },
    user: {
      id: fields.userId,
      username: fields.userId.toLowerCase(),
      name: fields.userId.toLowerCase(),
      team_id: 'T0001',
    },
    api_app_id: 'A0001',
    token: 'legacy-verification-token',
    container,
    trigger_id: `trigger.${randomUUID()}`,
    ...(fields.home ? { view: { id: 'VHOME', type: 'home', blocks: [], state: { values: {} } } } : {}),
    ...(fields.home ? {} : { channel: { id: fields.channelId ?? 'C0CHANNEL', name: 'licenses' } }),
    ...(fields.message
      ? { message: { type: 'message', user: 'UBOT', bot_id: 'BBOT', ...fields.message } }
      : {}),
    ...(fields.home ? {} : { response_url: fields.responseUrl }),
    actions: [
      {
        type: 'button',
        action_id: fields.button.action_id,
        block_id: fields.blockId,
        text: fields.button.text,
        value: fields.button.value,
        ...(fields.button.style ? { style: fields.button.style } : {}),
        action_ts: String(Date.now() / 1000),
      },
    ],
  };
}

/** A `view_submission` payload for a modal the bot opened, with the given input values. */
export function viewSubmissionPayload(fields: {
  userId: string;
  view: Record<string, unknown>;
  values: Record<string, Record<string, Record<string, unknown>>>;
}): Record<string, unknown> {
  return {
    type: 'view_submission',
    team: { id: 'T0001', domain: 'fake' },
    user: {
      id: fields.userId,
      username: fields.userId.toLowerCase(),
      name: fields.userId.toLowerCase(),
      team_id: 'T0001',
    },
    api_app_id: 'A0001',
    token: 'legacy-verification-token',
    trigger_id: `trigger.${randomUUID()}`,
    view: {
      id: 'VMODAL',
      team_id: 'T0001',
      type: 'modal',
      app_id: 'A0001',
      bot_id: 'BBOT',
      hash: 'hash',
      root_view_id: 'VMODAL',
      previous_view_id: null,
      clear_on_close: false,
      notify_on_close: false,
      ...fields.view,
      state: { values: fields.values },
    },
    response_urls: [],
  };
}

/** A `block_suggestion` payload: the user typed `value` into an external select. */
export function blockSuggestionPayload(fields: {
  userId: string;
  actionId: string;
  blockId: string;
  value: string;
}) {
  return {
    type: 'block_suggestion',
    user: {
      id: fields.userId,
      username: fields.userId.toLowerCase(),
      name: fields.userId.toLowerCase(),
      team_id: 'T0001',
    },
    container: { type: 'view', view_id: 'VMODAL' },
    api_app_id: 'A0001',
    token: 'legacy-verification-token',
    action_id: fields.actionId,
    block_id: fields.blockId,
    value: fields.value,
    team: { id: 'T0001', domain: 'fake' },
    view: { id: 'VMODAL', type: 'modal', callback_id: 'sk.form', state: { values: {} } },
  };
}

/** An Events API callback body (JSON) for `event`. */
export function eventBody(event: Record<string, unknown>): string {
  return JSON.stringify({
    token: 'legacy-verification-token',
    team_id: 'T0001',
    api_app_id: 'A0001',
    event: { event_ts: String(Date.now() / 1000), ...event },
    type: 'event_callback',
    event_id: `Ev${randomUUID().slice(0, 8)}`,
    event_time: Math.floor(Date.now() / 1000),
  });
}

// ── Harness: the real service with its Slack surface pointed at this fake ──

export const SIGNING_SECRET = 'test-signing-secret-7f3a9c0e1d2b4a6f';
export const BOT_TOKEN = 'xoxb-0000-test-bot-token-8c1e5a';
export const APP_TOKEN = 'xapp-1-test-app-token-4b2d9e';

/** Slack users of the fake workspace and who they are to Seatkeeper. */
export const USERS = {
  admin: { id: 'UADMIN', email: 'it@example.com', name: 'Ida Admin' }, // SEATKEEPER_ADMINS
  helpdesk: { id: 'UHELP', email: 'help@example.com', name: 'Hal Desk' }, // helpdesk in the roles file
  member: { id: 'UMEMBER', email: 'ana@example.com', name: 'Ana Member' }, // a person, no role
  stranger: { id: 'USTRANGER', email: 'stranger@elsewhere.example', name: 'Stan Ger' }, // not a person
  byId: { id: 'UROLE', name: 'Rolf Role' }, // no e-mail visible; it-manager through `slack:UROLE`
} as const;

export interface SlackTestEnv {
  db: TestDatabase;
  /** The configuration the service runs with. */
  config: Config;
  service: Service;
  fake: SlackFake;
  /** `http://127.0.0.1:<port>/slack/events` */
  eventsUrl: string;
  baseUrl: string;
  logLines: string[];
  stop(): Promise<void>;
}

/**
 * Starts the service with the Slack surface, configured with `slackEnv` (SLACK_* variables) and the fake Slack API.
 */
export async function startSlackService(slackEnv: Record<string, string | undefined>): Promise<SlackTestEnv> {
  const fake = await new SlackFake().start();
  for (const user of Object.values(USERS)) fake.addUser(user);
  const db = await createTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'sk-slack-'));
  const rolesFile = join(dir, 'roles.json');
  writeFileSync(rolesFile, JSON.stringify({ helpdesk: ['help@example.com'], 'it-manager': ['slack:UROLE'] }));
  const slack = Object.fromEntries(
    Object.entries({ SLACK_API_URL: fake.apiUrl, ...slackEnv }).filter(([, value]) => value !== undefined),
  ) as Record<string, string>;
  const config = loadConfig({
    ...slack,
    ...db.env,
    PORT: '0',
    HOST: '127.0.0.1',
    NODE_ENV: 'test',
    LOG_LEVEL: 'trace',
    SEATKEEPER_JOB_POLL_SECONDS: '1',
    SEATKEEPER_ADMINS: 'it@example.com',
    SEATKEEPER_ROLES_FILE: rolesFile,
  });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const service = await startService(config, createLogger('trace', sink));
  const baseUrl = `http://127.0.0.1:${service.port}`;
  return {
    db,
    config,
    service,
    fake,
    baseUrl,
    eventsUrl: `${baseUrl}/slack/events`,
    logLines,
    async stop() {
      await service.stop();
      await db.drop();
      await fake.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY);
const inDays = (n: number) => new Date(Date.now() + n * DAY).toISOString().slice(0, 10);

/** 45 Figma holders (the first 10 idle), Ana with two seats, one unmatched Visio account. */
export async function seedInventory(store: Store): Promise<void> {
  const holders = Array.from({ length: 45 }, (_, i) => `user${String(i + 1).padStart(2, '0')}@example.com`);
  const directory: FixtureData = {
    subscriptions: [],
    accounts: [],
    persons: [
      personEntry('it@example.com', { displayName: 'Ida Admin' }),
      personEntry('help@example.com', { displayName: 'Hal Desk' }),
      personEntry('ana@example.com', { displayName: 'Ana Lopez', aliases: ['a.lopez@example.com'] }),
      personEntry('bo@example.com', { displayName: 'Bo Berg' }),
      ...holders.map((email) => personEntry(email)),
    ],
  };
  await runImport(store, fixtureConnector('directory', directory), {
    trigger: 'test',
    minEntitlementDays: 90,
    persons: true,
  });
  const saas: FixtureData = {
    subscriptions: [
      subscription({
        key: 'figma',
        vendor: 'Figma',
        sku: 'FIGMA_PRO',
        name: 'Figma Professional',
        enabledUnits: 60,
        consumedUnits: 46,
      }),
      subscription({
        key: 'e5',
        sku: 'SPE_E5',
        name: 'Microsoft 365 E5',
        enabledUnits: 10,
        consumedUnits: 1,
      }),
      subscription({
        key: 'visio',
        sku: 'VISIOCLIENT',
        name: 'Visio Plan 2',
        enabledUnits: 2,
        consumedUnits: 1,
      }),
    ],
    accounts: [
      ...holders.map((email, i) =>
        account('figma', `fig-${i + 1}`, email, {
          assignedAt: daysAgo(400),
          lastActivityAt: i < 10 ? daysAgo(100 + i) : daysAgo(2),
          lastActivitySource: 'figma:lastActive',
        }),
      ),
      account('figma', 'fig-ana', 'ana@example.com', {
        assignedAt: daysAgo(400),
        lastActivityAt: daysAgo(1),
        lastActivitySource: 'figma:lastActive',
      }),
      account('e5', 'e5-ana', 'a.lopez@example.com', {
        assignedAt: daysAgo(400),
        lastActivityAt: daysAgo(3),
        lastActivitySource: 'graph:lastSignInDateTime',
      }),
      account('visio', 'visio-ghost', 'ghost@agency.example', {
        assignedAt: daysAgo(50),
        lastActivityAt: daysAgo(1),
        lastActivitySource: 'graph:lastSignInDateTime',
      }),
    ],
  };
  await runImport(store, fixtureConnector('saas', saas, { usage: true }), {
    trigger: 'test',
    minEntitlementDays: 90,
  });
  const ctx = { store, config: loadConfig({}), actor: operatorActor(), now: () => new Date() };
  const contract = await setContract(ctx, {
    sku: 'FIGMA_PRO',
    unitPrice: '180',
    currency: 'EUR',
    billing: 'annual',
    renewalDate: inDays(40),
    noticeDays: 10,
  });
  if (!contract.ok) throw new Error(contract.error.message);
  const client = await store.pool.connect();
  try {
    await recomputeFindings(client, { idleDays: 30, graceDays: 30 }, new Date());
  } finally {
    client.release();
  }
}

/** Slack's documented limits (chat-platforms.md A.5), stated independently of the code under test. */
export function expectWithinLimits(
  message: { text?: unknown; blocks?: unknown; type?: string },
  maxBlocks = 50,
): void {
  const blocks = (message.blocks ?? []) as CapturedBlock[];
  expect(blocks.length).toBeGreaterThan(0);
  expect(blocks.length).toBeLessThanOrEqual(maxBlocks);
  if (typeof message.text === 'string') expect(message.text.length).toBeLessThanOrEqual(40_000);
  const ids = blocks.map((b) => b.block_id).filter(Boolean);
  expect(new Set(ids).size).toBe(ids.length);
  for (const block of blocks) {
    if (block.block_id) expect(block.block_id.length).toBeLessThanOrEqual(255);
    if (block.type === 'header') expect(block.text?.text.length).toBeLessThanOrEqual(150);
    if (block.type === 'section') {
      if (block.text) {
        expect(block.text.text.length).toBeGreaterThan(0);
        expect(block.text.text.length).toBeLessThanOrEqual(3000);
      }
      expect(block.fields?.length ?? 0).toBeLessThanOrEqual(10);
      for (const field of block.fields ?? []) expect(field.text.length).toBeLessThanOrEqual(2000);
    }
    if (block.type === 'context') {
      expect(block.elements?.length).toBeLessThanOrEqual(10);
    }
    if (block.type === 'actions') {
      expect(block.elements?.length).toBeGreaterThan(0);
      expect(block.elements?.length).toBeLessThanOrEqual(25);
      for (const element of block.elements ?? []) {
        const text = (element.text as { text: string } | undefined)?.text ?? '';
        expect(text.length).toBeLessThanOrEqual(75);
        expect(String(element.value ?? '').length).toBeLessThanOrEqual(2000);
        expect(String(element.action_id).length).toBeLessThanOrEqual(255);
        const confirm = element.confirm as
          | {
              title: { text: string };
              text: { text: string };
              confirm: { text: string };
              deny: { text: string };
            }
          | undefined;
        if (confirm) {
          expect(confirm.title.text.length).toBeLessThanOrEqual(100);
          expect(confirm.text.text.length).toBeLessThanOrEqual(300);
          expect(confirm.confirm.text.length).toBeLessThanOrEqual(30);
          expect(confirm.deny.text.length).toBeLessThanOrEqual(30);
        }
      }
    }
  }
}

/** Polls until `check` holds (no fixed sleeps: it returns as soon as the condition is met). */
export async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** All text of a message, for "does it mention …" assertions. */
export function textOf(blocks: unknown): string {
  return JSON.stringify(blocks ?? []);
}
