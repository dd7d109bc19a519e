/**
 * The base of every vendor fake: an HTTPS server on loopback (test certificate) with a route table, a log of
 * requests, and injectable faults (429 with Retry-After, 5xx, hangs, truncated bodies) for the next N requests.
 * Slow answers (`delayMs`) and bodies that stop midway (`stall`) reproduce what a congested vendor or a dropped
 * proxy connection does: the headers arrive, the rest comes late or never.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { testTls } from './tls.ts';

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
  /** Parsed JSON or form body, when there is one. */
  json: unknown;
  form: URLSearchParams;
  params: string[];
}

export interface FakeReply {
  status?: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string as is. */
  body?: unknown;
}

export type RouteHandler = (req: FakeRequest) => FakeReply | Promise<FakeReply>;

export interface Fault {
  /** Only requests whose path matches (default: all). */
  path?: RegExp;
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Never answer (the client must time out). */
  hang?: boolean;
  /** Send only the first part of the real answer's body. */
  truncate?: boolean;
  /** Answer (with the real answer, or the fault's status) only after this many milliseconds. */
  delayMs?: number;
  /** Send the status, the headers and the first half of the real answer's body, then nothing more. */
  stall?: boolean;
  /** Hold the answer (the real one, or the fault's status) until this settles: a vendor slow for as long as a test needs. */
  gate?: Promise<unknown>;
}

export class FakeServer {
  readonly requests: FakeRequest[] = [];
  private readonly routes: { method: string; pattern: RegExp; handle: RouteHandler }[] = [];
  private readonly faults: Fault[] = [];
  private server?: Server;
  url = '';

  route(method: string, pattern: RegExp, handle: RouteHandler): this {
    this.routes.push({ method, pattern, handle });
    return this;
  }

  /** The next requests (matching `fault.path`) get `fault` instead of their answer, one fault per request. */
  inject(...faults: Fault[]): this {
    this.faults.push(...faults);
    return this;
  }

  /** Requests received on paths matching `pattern`. */
  calls(pattern: RegExp, method?: string): FakeRequest[] {
    return this.requests.filter((r) => pattern.test(r.path) && (!method || r.method === method));
  }

  async start(): Promise<this> {
    const { cert, key } = testTls();
    this.server = createServer({ cert, key }, (req, res) => {
      this.handle(req, res).catch((error: Error) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'fakeFailure', message: error.message } }));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `https://localhost:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'https://localhost');
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    const request: FakeRequest = {
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      headers: req.headers,
      body,
      json,
      form: new URLSearchParams(body),
      params: [],
    };
    this.requests.push(request);

    const faultIndex = this.faults.findIndex((f) => !f.path || f.path.test(request.path));
    const fault = faultIndex >= 0 ? this.faults.splice(faultIndex, 1)[0] : undefined;
    if (fault?.hang) return; // the socket stays open until the client gives up or the server stops
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.gate) await fault.gate.catch(() => undefined);
    const answers =
      fault &&
      (fault.truncate || fault.stall || ((fault.delayMs || fault.gate) && fault.status === undefined));
    if (fault && !answers)
      return send(res, { status: fault.status ?? 500, headers: fault.headers, body: fault.body ?? '' });

    const route = this.routes.find((r) => r.method === request.method && r.pattern.test(request.path));
    if (!route) {
      return send(res, {
        status: 404,
        body: { error: { code: 'notFound', message: `no fake route for ${request.method} ${request.path}` } },
      });
    }
    request.params = (route.pattern.exec(request.path) ?? []).slice(1);
    const reply = await route.handle(request);
    if (fault?.stall) {
      const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      const headers = {
        'content-type': 'application/json',
        ...reply.headers,
        'content-length': String(Buffer.byteLength(text)),
      };
      res.writeHead(reply.status ?? 200, headers);
      res.write(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
      return; // the rest never comes; the socket stays open until the client gives up or the server stops
    }
    if (fault?.truncate) {
      const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      return send(res, { ...reply, body: text.slice(0, Math.max(1, Math.floor(text.length / 2))) });
    }
    send(res, reply);
  }
}

function send(res: ServerResponse, reply: FakeReply): void {
  const isText = typeof reply.body === 'string' || reply.body === undefined;
  const headers = { ...(isText ? {} : { 'content-type': 'application/json' }), ...reply.headers };
  res.writeHead(reply.status ?? 200, headers);
  res.end(isText ? ((reply.body as string | undefined) ?? '') : JSON.stringify(reply.body));
}
