/**
 * Microsoft 365 connector: licenses (`subscribedSkus` + `directory/subscriptions`), assigned accounts and sign-in
 * activity (`/users`), per-product activity (the Office 365 active user detail report), persons (the same users, as
 * a directory) and seat removal and restore (`assignLicense`), all through `@microsoft/microsoft-graph-client`.
 *
 * The Graph client runs a middleware chain of our own: a resilience handler (bounded retries honouring
 * `Retry-After`, backoff with jitter on 5xx and network faults, one token refresh on 401, per-attempt timeouts, no
 * redirects followed), the client's AuthenticationHandler (attaches the app-only token only to the Graph host, via
 * `customHosts`) and its HTTPMessageHandler. The client's own RetryHandler is left out: it sleeps with real timers,
 * gives up after 3 retries and does not retry 500/502 or refresh tokens.
 *
 * Memory stays flat in org size: every stream passes Graph pages through one at a time, and the report CSV is parsed
 * as it downloads. One thing grows with the org, compactly: the map from user principal name to user id of licensed
 * users (kept by `accounts()` for the report join in `usage()`).
 */

import { Readable } from 'node:stream';
import {
  AuthenticationHandler,
  type AuthenticationProvider,
  Client,
  type Context,
  HTTPMessageHandler,
  type Middleware,
  type MiddlewareOptions,
  ResponseType,
} from '@microsoft/microsoft-graph-client';
import { parse } from 'csv-parse';
import { z } from 'zod';
import type { Config } from '../src/config/config.ts';
import {
  CAPABILITY_STATUSES,
  type Connector,
  type ConnectorDeps,
  type DirectoryPerson,
  type RemovalResult,
  type SeatRef,
  type UsageSignal,
  type VendorAccount,
  type VendorSubscription,
} from './types.ts';
import { retryAfterMs, VendorError, VendorHttp } from './vendor-http.ts';

const VENDOR = 'Microsoft Graph';
const VERSION = 'v1.0';
/** Source of activity dates taken from the Office 365 active user detail report. */
export const REPORT_SOURCE = 'graph:office365ActiveUserDetail';

/** Tuning knobs; the defaults suit production. */
export interface M365ConnectorOptions {
  /** Attempts per Graph call, the first included (default 6). */
  maxAttempts?: number;
  /** Per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  /** First backoff step (default 500 ms), doubling per attempt up to `maxBackoffMs` (default 30 s), full jitter. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Longest `Retry-After` honoured before giving up (default 5 min). */
  maxRetryAfterMs?: number;
  /** `$top` asked of `/users` (default 999, Graph's maximum); Graph may return smaller pages. */
  pageSize?: number;
  /** Report period (default D30). */
  reportPeriod?: 'D7' | 'D30' | 'D90' | 'D180';
  /** Usage signals per yielded page (default 1000). */
  usagePageSize?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Graph payloads (only the fields we use are checked; the others pass unvalidated)

const count = z.number().int().min(0);
const dateTime = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'expected an ISO 8601 date-time' });

const tokenResponse = z.object({
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', { message: 'expected Bearer' }),
  expires_in: z.coerce.number().int().positive(),
  access_token: z.string().min(1),
});

const subscribedSku = z.object({
  skuId: z.string().min(1),
  skuPartNumber: z.string().min(1),
  capabilityStatus: z.enum(CAPABILITY_STATUSES),
  consumedUnits: count,
  prepaidUnits: z.object({ enabled: count, suspended: count, warning: count, lockedOut: count }),
});

const companySubscription = z.object({
  skuId: z.string().nullish(),
  status: z.string().nullish(),
  isTrial: z.boolean().nullish(),
  nextLifecycleDateTime: dateTime.nullish(),
  totalLicenses: count.nullish(),
});

const signInActivity = z
  .object({
    lastSignInDateTime: dateTime.nullish(),
    lastNonInteractiveSignInDateTime: dateTime.nullish(),
    lastSuccessfulSignInDateTime: dateTime.nullish(),
  })
  .nullish();

const userBase = z.object({
  id: z.string().min(1),
  userPrincipalName: z.string().min(1),
  mail: z.string().nullish(),
  accountEnabled: z.boolean(),
});

const accountUser = userBase.extend({
  assignedLicenses: z.array(z.object({ skuId: z.string().min(1) })),
  licenseAssignmentStates: z
    .array(z.object({ skuId: z.string().nullish(), assignedByGroup: z.string().nullish() }))
    .nullish(),
  signInActivity,
});

const personUser = userBase.extend({
  displayName: z.string().nullish(),
  department: z.string().nullish(),
  proxyAddresses: z.array(z.string()).nullish(),
});

const indexUser = z.object({
  id: z.string().min(1),
  userPrincipalName: z.string().min(1),
  assignedLicenses: z.array(z.object({ skuId: z.string().min(1) })),
});

const assignLicenseResponse = z.object({ id: z.string().min(1) });

const ACCOUNT_FIELDS = [
  'id',
  'userPrincipalName',
  'mail',
  'accountEnabled',
  'assignedLicenses',
  'licenseAssignmentStates',
  'signInActivity',
];
const PERSON_FIELDS = [
  'id',
  'userPrincipalName',
  'mail',
  'proxyAddresses',
  'accountEnabled',
  'displayName',
  'department',
];
/** On a tie the first wins: a confirmed success names the source best. */
const SIGN_IN_FIELDS = [
  'lastSuccessfulSignInDateTime',
  'lastNonInteractiveSignInDateTime',
  'lastSignInDateTime',
] as const;

const EMAIL = /^[^\s@]+@[^\s@]+$/;

// ---------------------------------------------------------------------------------------------------------------
// Auth: OAuth2 client credentials, cached until shortly before expiry

/** App-only tokens for Graph; one request at a time, cached until shortly before they expire. */
class ClientCredentialsProvider implements AuthenticationProvider {
  private cached?: { token: string; refreshAt: number };
  private pending?: Promise<string>;

  constructor(
    private readonly http: VendorHttp,
    private readonly tenantId: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly scope: string,
    private readonly now: () => Date,
  ) {}

  getAccessToken(): Promise<string> {
    if (this.cached && this.now().getTime() < this.cached.refreshAt)
      return Promise.resolve(this.cached.token);
    // Concurrent callers share one token request.
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forgets the token (Graph said 401), so the next call fetches a new one. */
  invalidate(): void {
    this.cached = undefined;
  }

  private async fetchToken(): Promise<string> {
    const path = `/${encodeURIComponent(this.tenantId)}/oauth2/v2.0/token`;
    const form = new URLSearchParams({
      client_id: this.clientId,
      client_secret: this.clientSecret,
      scope: this.scope,
      grant_type: 'client_credentials',
    });
    let body: unknown;
    try {
      ({ body } = await this.http.json({
        method: 'POST',
        path,
        body: form.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        auth: false,
      }));
    } catch (error) {
      throw redact(error, this.clientSecret);
    }
    const parsed = tokenResponse.safeParse(body);
    if (!parsed.success) throw contractError('Microsoft identity platform', `POST ${path}`, parsed.error);
    const lifetimeMs = parsed.data.expires_in * 1000;
    // Refresh 5 minutes early (a tenth of the lifetime for short-lived tokens), so no call starts on a dying token.
    const marginMs = Math.min(300_000, lifetimeMs / 10);
    this.cached = {
      token: parsed.data.access_token,
      refreshAt: this.now().getTime() + lifetimeMs - marginMs,
    };
    return this.cached.token;
  }
}

/** An error message never carries the client secret, even if a proxy echoes the request back. */
function redact(error: unknown, secret: string): unknown {
  if (!(error instanceof VendorError)) return error;
  const variants = [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
  ];
  let message = error.message.replace(`${error.vendor} ${error.endpoint}: `, '');
  for (const v of variants) message = message.split(v).join('[redacted]');
  return new VendorError('Microsoft identity platform', error.endpoint, error.status, error.code, message);
}

// ---------------------------------------------------------------------------------------------------------------
// Resilience middleware

/** Per-call state shared with the middleware (through `GraphRequest.middlewareOptions`). */
class GraphCall implements MiddlewareOptions {
  /** Why the call gave up, when retries ran out or the wait asked was too long. */
  failure?: string;
  /** A failure that must surface as is (e.g. the token endpoint refused). */
  fatal?: unknown;

  constructor(
    readonly endpoint: string,
    /** A next-page link, requested exactly as Graph gave it (the client would rebuild its query string). */
    readonly exactUrl: string | undefined,
    /** Safe to send again after a 5xx or a lost connection (GETs); POSTs are only resent after 429 and 401. */
    readonly idempotent: boolean,
  ) {}
}

interface Resilience {
  maxAttempts: number;
  timeoutMs: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  maxRetryAfterMs: number;
  sleep: (ms: number) => Promise<void>;
  onRetry?: ConnectorDeps['onRetry'];
}

const RETRYABLE_5XX = new Set([408, 500, 502, 503, 504]);
const NULL_BODY = new Set([101, 204, 205, 304]);

class ResilienceHandler implements Middleware {
  private next?: Middleware;

  constructor(
    private readonly settings: Resilience,
    private readonly auth: ClientCredentialsProvider,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const next = this.next;
    const call = context.middlewareControl?.getMiddlewareOptions(GraphCall) as GraphCall | undefined;
    if (!next || !call)
      throw new Error('Graph middleware misconfigured: a call without its GraphCall options');
    const s = this.settings;
    if (call.exactUrl) context.request = call.exactUrl;
    context.options ??= {};
    const options = context.options;
    // Never follow redirects with the token attached: the report's 302 goes to a pre-signed URL we fetch bare.
    options.redirect = 'manual';
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      dropAuthorization(options);
      options.signal = AbortSignal.timeout(s.timeoutMs);
      let response: Response;
      let body: ArrayBuffer;
      try {
        await next.execute(context);
        response = context.response as Response;
        // Read the body here, so a connection lost mid-body is retried like any other network fault.
        body = await response.arrayBuffer();
      } catch (error) {
        if (error instanceof VendorError) {
          call.fatal = error;
          throw error;
        }
        const reason = networkReason(error, s.timeoutMs);
        if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(reason)) {
          call.fatal = new VendorError(
            VENDOR,
            call.endpoint,
            0,
            reason,
            `TLS certificate not trusted (${reason}); if a private CA signs this endpoint, name it in NODE_EXTRA_CA_CERTS`,
          );
          throw error;
        }
        if (!call.idempotent || attempt >= s.maxAttempts) {
          call.failure = `${reason}${call.idempotent ? ` (gave up after ${attempt} attempts)` : ''}`;
          throw error;
        }
        await this.wait(call, attempt, this.backoff(attempt), reason);
        continue;
      }
      const status = response.status;
      const keep = () => {
        context.response = new Response(NULL_BODY.has(status) ? null : body, {
          status,
          statusText: response.statusText,
          headers: response.headers,
        });
      };
      if (status === 401 && !refreshed) {
        // The token expired mid-import (or was revoked): fetch a new one once. Not counted as an attempt.
        refreshed = true;
        this.auth.invalidate();
        attempt--;
        continue;
      }
      const retryable = status === 429 || (call.idempotent && RETRYABLE_5XX.has(status));
      if (!retryable) return keep();
      const reason = describeStatus(status, new TextDecoder().decode(body));
      if (attempt >= s.maxAttempts) {
        call.failure = `${reason} (gave up after ${attempt} attempts)`;
        return keep();
      }
      const after = retryAfterMs(response.headers.get('retry-after'));
      if (after !== undefined && after > s.maxRetryAfterMs) {
        call.failure = `${reason} (asked to wait ${Math.round(after / 1000)} s)`;
        return keep();
      }
      await this.wait(call, attempt, after ?? this.backoff(attempt), reason);
    }
  }

  private backoff(attempt: number): number {
    const { baseBackoffMs, maxBackoffMs } = this.settings;
    return Math.round(Math.random() * Math.min(maxBackoffMs, baseBackoffMs * 2 ** (attempt - 1)));
  }

  private async wait(call: GraphCall, attempt: number, waitMs: number, reason: string): Promise<void> {
    this.settings.onRetry?.({ endpoint: call.endpoint, attempt, waitMs, reason });
    await this.settings.sleep(waitMs);
  }
}

function dropAuthorization(options: RequestInit): void {
  const headers = options.headers;
  if (!headers) return;
  if (headers instanceof Headers) headers.delete('authorization');
  else if (Array.isArray(headers))
    options.headers = headers.filter((pair) => pair[0]?.toLowerCase() !== 'authorization');
  else
    for (const name of Object.keys(headers))
      if (name.toLowerCase() === 'authorization') delete (headers as Record<string, string>)[name];
}

function networkReason(error: unknown, timeoutMs: number): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.cause?.code === 'UND_ERR_ABORTED')
    return `no answer within ${timeoutMs} ms`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(error);
}

/** `HTTP 400 Request_BadRequest: message` from an OData error body (`{"error":{"code","message"}}`). */
function describeStatus(status: number, text: string): string {
  const { code, message } = odataError(text);
  return `HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
}

function odataError(text: string): { code?: string; message?: string } {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof body.error?.code === 'string' ? body.error.code.slice(0, 200) : undefined;
    const message = typeof body.error?.message === 'string' ? body.error.message.slice(0, 500) : undefined;
    return { code, message };
  } catch {
    return { message: text.trim().slice(0, 200) || undefined };
  }
}

/** A payload that breaks the contract: names the vendor, the endpoint and the field. */
function contractError(vendor: string, endpoint: string, error: z.ZodError): VendorError {
  const issue = error.issues[0];
  const field = issue?.path.map(String).join('.') || '(body)';
  const message = (issue?.message ?? 'invalid').replace(/^Invalid input: /, '');
  return new VendorError(vendor, endpoint, 200, 'contract', `${field}: ${message}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The connector

/**
 * Creates the Microsoft 365 connector from the `M365_*`, `GRAPH_BASE_URL` and `MS_LOGIN_URL` settings.
 * @throws Error when M365_TENANT_ID, M365_CLIENT_ID or M365_CLIENT_SECRET is not set
 */
export function createM365Connector(
  config: Config,
  deps: ConnectorDeps = {},
  options: M365ConnectorOptions = {},
): Connector {
  const missing = (['M365_TENANT_ID', 'M365_CLIENT_ID', 'M365_CLIENT_SECRET'] as const).filter(
    (name) => !config[name],
  );
  if (missing.length > 0) {
    throw new Error(
      `The Microsoft 365 connector is not configured: set ${missing.join(', ')} (the app registration's tenant id, client id and client secret). See README, "Configuration".`,
    );
  }
  return new M365Connector(config, deps, options);
}

class M365Connector implements Connector {
  readonly source = 'm365';
  readonly capabilities = { usage: true, directory: true, emails: true, removal: true };

  private readonly client: Client;
  private readonly download: VendorHttp;
  private readonly graphBase: string;
  private readonly pageSize: number;
  private readonly reportPeriod: string;
  private readonly usagePageSize: number;
  /** Lower-cased UPN → user id of licensed users, complete once `accounts()` has read every page. */
  private upnIndex?: Map<string, string>;

  constructor(config: Config, deps: ConnectorDeps, options: M365ConnectorOptions) {
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const now = deps.now ?? (() => new Date());
    const resilience: Resilience = {
      maxAttempts: options.maxAttempts ?? 6,
      timeoutMs: options.timeoutMs ?? 30_000,
      baseBackoffMs: options.baseBackoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 300_000,
      sleep,
      onRetry: deps.onRetry,
    };
    const shared = {
      maxAttempts: resilience.maxAttempts,
      timeoutMs: resilience.timeoutMs,
      baseBackoffMs: resilience.baseBackoffMs,
      maxBackoffMs: resilience.maxBackoffMs,
      maxRetryAfterMs: resilience.maxRetryAfterMs,
      sleep,
      onRetry: deps.onRetry,
    };
    this.graphBase = config.GRAPH_BASE_URL.replace(/\/+$/, '');
    const login = new VendorHttp({
      ...shared,
      vendor: 'Microsoft identity platform',
      baseUrl: config.MS_LOGIN_URL,
    });
    const auth = new ClientCredentialsProvider(
      login,
      config.M365_TENANT_ID as string,
      config.M365_CLIENT_ID as string,
      config.M365_CLIENT_SECRET as string,
      `${this.graphBase}/.default`,
      now,
    );
    this.client = Client.initWithMiddleware({
      baseUrl: this.graphBase,
      defaultVersion: VERSION,
      // The token goes to this host only (a next-page or download link elsewhere gets none).
      customHosts: new Set([new URL(this.graphBase).hostname]),
      middleware: [
        new ResilienceHandler(resilience, auth),
        new AuthenticationHandler(auth),
        new HTTPMessageHandler(),
      ],
    });
    // Pre-signed report downloads: no Authorization header, ever.
    this.download = new VendorHttp({ ...shared, vendor: VENDOR, baseUrl: this.graphBase });
    this.pageSize = options.pageSize ?? 999;
    this.reportPeriod = options.reportPeriod ?? 'D30';
    this.usagePageSize = options.usagePageSize ?? 1000;
  }

  async *subscriptions(): AsyncIterable<VendorSubscription[]> {
    // Terms are few (one row per commercial subscription): gather them, then stream the SKUs.
    const terms = new Map<string, { next: Date | null; trial: boolean; any: boolean }>();
    for await (const page of this.pages(
      '/directory/subscriptions',
      '/directory/subscriptions',
      companySubscription,
    )) {
      for (const s of page) {
        if (!s.skuId || s.status === 'Deleted') continue;
        const key = s.skuId.toLowerCase();
        const term = terms.get(key) ?? { next: null, trial: true, any: false };
        const next = s.nextLifecycleDateTime ? new Date(s.nextLifecycleDateTime) : null;
        // Several subscriptions of one SKU: the soonest lifecycle date matters; one paid one makes it not a trial.
        if (next && (!term.next || next < term.next)) term.next = next;
        term.trial &&= s.isTrial === true;
        term.any = true;
        terms.set(key, term);
      }
    }
    const select = 'skuId,skuPartNumber,capabilityStatus,consumedUnits,prepaidUnits';
    for await (const page of this.pages(
      `/subscribedSkus?$select=${select}`,
      '/subscribedSkus',
      subscribedSku,
    )) {
      yield page.map((sku): VendorSubscription => {
        const term = terms.get(sku.skuId.toLowerCase());
        return {
          key: sku.skuId,
          vendor: 'Microsoft',
          sku: sku.skuPartNumber,
          // Graph has no display name for a SKU; the catalog maps part numbers to product names.
          name: sku.skuPartNumber,
          capabilityStatus: sku.capabilityStatus,
          consumedUnits: sku.consumedUnits,
          enabledUnits: sku.prepaidUnits.enabled,
          suspendedUnits: sku.prepaidUnits.suspended,
          warningUnits: sku.prepaidUnits.warning,
          lockedOutUnits: sku.prepaidUnits.lockedOut,
          isTrial: term?.any ? term.trial : false,
          nextLifecycleAt: term?.next ?? null,
        };
      });
    }
  }

  async *accounts(): AsyncIterable<VendorAccount[]> {
    const index = new Map<string, string>();
    this.upnIndex = undefined;
    const path = `/users?$select=${ACCOUNT_FIELDS.join(',')}&$top=${this.pageSize}`;
    for await (const users of this.pages(path, '/users', accountUser)) {
      const page: VendorAccount[] = [];
      for (const user of users) {
        if (user.assignedLicenses.length === 0) continue;
        index.set(user.userPrincipalName.toLowerCase(), user.id);
        const activity = latestSignIn(user.signInActivity);
        for (const license of user.assignedLicenses) {
          page.push({
            subscriptionKey: license.skuId,
            accountId: user.id,
            email: user.mail || user.userPrincipalName,
            enabled: user.accountEnabled,
            groupInherited: isGroupInherited(user.licenseAssignmentStates, license.skuId),
            lastActivityAt: activity?.at ?? null,
            lastActivitySource: activity?.source ?? null,
          });
        }
      }
      yield page;
    }
    this.upnIndex = index;
  }

  async *usage(): AsyncIterable<UsageSignal[]> {
    const index = this.upnIndex ?? (await this.licensedUsersByUpn());
    const path = `/reports/getOffice365ActiveUserDetail(period='${this.reportPeriod}')`;
    const endpoint = `GET /${VERSION}${path}`;
    const { response, text } = await this.send('GET', path, path);
    if (response.status < 300 || response.status >= 400) {
      yield* reportSignals([text], index, endpoint, this.usagePageSize);
      return;
    }
    const location = response.headers.get('location');
    if (!location)
      throw new VendorError(VENDOR, endpoint, response.status, 'contract', 'a redirect without a Location');
    // The pre-signed download URL must be fetched without the Authorization header. The report is parsed as its
    // bytes arrive: a large tenant's report never sits in memory whole.
    const url = new URL(location, `${this.graphBase}/${VERSION}/`).toString();
    // A download that breaks off is read again from the start (the link stays valid for minutes), passing over the
    // rows whose signals were already handed on.
    let handedOn = 0;
    for (let attempt = 1; ; attempt++) {
      const download = await this.download.stream({ path: url, auth: false });
      try {
        const signals = reportSignals(download.body, index, endpoint, this.usagePageSize, {
          skip: handedOn,
          onPage: (rows) => {
            handedOn = rows;
          },
        });
        for await (const page of signals) yield page;
        return;
      } catch (error) {
        // Only a broken download is read again; a report that breaks the contract fails as it is.
        const brokeOff = error instanceof VendorError && error.status === 0;
        if (!brokeOff || attempt >= this.download.maxAttempts) throw error;
        await this.download.pauseBeforeRetry({ path: url }, attempt, error.message);
      }
    }
  }

  async *persons(): AsyncIterable<DirectoryPerson[]> {
    const path = `/users?$select=${PERSON_FIELDS.join(',')}&$top=${this.pageSize}`;
    for await (const users of this.pages(path, '/users', personUser)) {
      yield users.map((user): DirectoryPerson => {
        const email = user.mail || user.userPrincipalName;
        const primary = email.toLowerCase();
        const aliases = new Set<string>();
        for (const address of user.proxyAddresses ?? []) {
          const smtp = /^smtp:(.+)$/i.exec(address.trim());
          if (smtp?.[1]) aliases.add(smtp[1].toLowerCase());
        }
        // Other vendors often know a user by UPN (federated sign-in), which can differ from the mail address.
        aliases.add(user.userPrincipalName.toLowerCase());
        aliases.delete(primary);
        return {
          email,
          aliases: [...aliases].filter((a) => EMAIL.test(a)),
          displayName: user.displayName ?? null,
          department: user.department ?? null,
          enabled: user.accountEnabled,
          externalId: user.id,
        };
      });
    }
  }

  async removeSeat(seat: SeatRef): Promise<RemovalResult> {
    const result = await this.assignLicense(seat, {
      addLicenses: [],
      removeLicenses: [seat.subscriptionKey],
    });
    return result.ok
      ? { ok: true, detail: `removed ${seat.sku} from ${seat.email ?? seat.accountId}` }
      : result;
  }

  /**
   * Assigns the SKU again (undo of a removal). The plans the user had disabled before are not known to the inventory,
   * so the license comes back with every plan enabled.
   */
  async restoreSeat(seat: SeatRef): Promise<RemovalResult> {
    const result = await this.assignLicense(seat, {
      addLicenses: [{ skuId: seat.subscriptionKey, disabledPlans: [] }],
      removeLicenses: [],
    });
    return result.ok
      ? { ok: true, detail: `assigned ${seat.sku} to ${seat.email ?? seat.accountId}` }
      : result;
  }

  /** One `assignLicense` call; Graph's refusals and outages become a failed RemovalResult with its reason. */
  private async assignLicense(
    seat: SeatRef,
    body: { addLicenses: unknown[]; removeLicenses: string[] },
  ): Promise<RemovalResult> {
    const path = `/users/${encodeURIComponent(seat.accountId)}/assignLicense`;
    try {
      const { text } = await this.send('POST', path, '/users/{id}/assignLicense', body);
      const endpoint = `POST /${VERSION}/users/{id}/assignLicense`;
      parseJson(text, assignLicenseResponse, endpoint);
      return { ok: true };
    } catch (error) {
      if (!(error instanceof VendorError)) throw error;
      // Throttling, outages and lost connections may pass; a refusal (group-inherited, unknown SKU) will not.
      const retryable = error.status === 0 || error.status === 429 || error.status >= 500;
      return { ok: false, reason: error.message, code: error.code, retryable };
    }
  }

  /** UPN → id of licensed users, when `usage()` runs without a complete `accounts()` before it. */
  private async licensedUsersByUpn(): Promise<Map<string, string>> {
    const index = new Map<string, string>();
    const path = `/users?$select=id,userPrincipalName,assignedLicenses&$top=${this.pageSize}`;
    for await (const users of this.pages(path, '/users', indexUser))
      for (const user of users)
        if (user.assignedLicenses.length > 0) index.set(user.userPrincipalName.toLowerCase(), user.id);
    return index;
  }

  /** Pages of a collection, following `@odata.nextLink` exactly as given until there is none. */
  private async *pages<T>(first: string, endpointPath: string, item: z.ZodType<T>): AsyncGenerator<T[]> {
    const schema = z.object({ value: z.array(item), '@odata.nextLink': z.string().min(1).nullish() });
    const endpoint = `GET /${VERSION}${endpointPath}`;
    let link: string | undefined;
    // Every link followed so far: a link back to any earlier page (not only the last one) would page forever.
    const followed = new Set<string>();
    const request = (url: string | undefined) => {
      const sent = this.send('GET', url ?? first, endpointPath, undefined, url);
      // Asked for ahead: a failure surfaces when the page is wanted, and does not count as unhandled meanwhile.
      sent.catch(() => undefined);
      return sent;
    };
    let pending = request(undefined);
    for (;;) {
      const { text } = await pending;
      const page = parseJson(text, schema, endpoint);
      const next = page['@odata.nextLink'];
      if (next) {
        if (followed.has(next) || next === link)
          throw new VendorError(
            VENDOR,
            endpoint,
            200,
            'contract',
            `the next-page link points back to a page already read (after ${followed.size + 1} pages)`,
          );
        followed.add(next);
        link = next;
        // The next page is on its way while this one is handed on: Graph's latency overlaps the caller's work.
        pending = request(next);
      }
      yield page.value;
      if (!next) return;
    }
  }

  /** One Graph call through the middleware chain; a status ≥ 400 becomes a VendorError. */
  private async send(
    method: 'GET' | 'POST',
    path: string,
    endpointPath: string,
    body?: unknown,
    exactUrl?: string,
  ): Promise<{ response: Response; text: string }> {
    const endpoint = `${method} /${VERSION}${endpointPath}`;
    const call = new GraphCall(endpoint, exactUrl, method === 'GET');
    let response: Response;
    try {
      const request = this.client.api(path).middlewareOptions([call]).responseType(ResponseType.RAW);
      response = (method === 'GET' ? await request.get() : await request.post(body)) as Response;
    } catch (error) {
      if (call.fatal) throw call.fatal;
      throw new VendorError(VENDOR, endpoint, 0, undefined, call.failure ?? (error as Error).message);
    }
    const text = await response.text();
    if (response.status >= 400) {
      const { code } = odataError(text);
      throw new VendorError(
        VENDOR,
        endpoint,
        response.status,
        code,
        call.failure ?? describeStatus(response.status, text),
      );
    }
    return { response, text };
  }
}

function parseJson<T>(text: string, schema: z.ZodType<T>, endpoint: string): T {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new VendorError(
      VENDOR,
      endpoint,
      200,
      'contract',
      'the response is not valid JSON (truncated or malformed)',
    );
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw contractError(VENDOR, endpoint, parsed.error);
  return parsed.data;
}

/**
 * The latest of the interactive, non-interactive and successful sign-ins: interactive alone would call mobile and
 * Outlook users idle. Graph has sent `0001-01-01T00:00:00Z` for "never"; anything before 1970 counts as never.
 */
function latestSignIn(activity: z.infer<typeof signInActivity>): { at: Date; source: string } | null {
  let latest: { at: Date; source: string } | null = null;
  for (const field of SIGN_IN_FIELDS) {
    const value = activity?.[field];
    if (!value) continue;
    const at = new Date(value);
    if (at.getTime() <= 0) continue;
    if (!latest || at > latest.at) latest = { at, source: `graph:${field}` };
  }
  return latest;
}

/** Inherited when a group assigns the SKU and no direct assignment exists (only a direct one can be removed). */
function isGroupInherited(
  states: z.infer<typeof accountUser>['licenseAssignmentStates'],
  skuId: string,
): boolean {
  const forSku = (states ?? []).filter((s) => s.skuId?.toLowerCase() === skuId.toLowerCase());
  return forSku.some((s) => s.assignedByGroup) && !forSku.some((s) => !s.assignedByGroup);
}

const UPN_COLUMN = 'User Principal Name';
const DELETED_COLUMN = 'Is Deleted';
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Streams the report's rows into usage signals: one per matched user, the latest of its per-product last activity
 * dates (every `… Last Activity Date` column, found by header name), for all of the user's licenses.
 */
async function* reportSignals(
  body: AsyncIterable<Uint8Array> | Iterable<string>,
  index: Map<string, string>,
  endpoint: string,
  pageSize: number,
  resume: { skip: number; onPage?: (rows: number) => void } = { skip: 0 },
): AsyncGenerator<UsageSignal[]> {
  let dateColumns: string[] = [];
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    trim: true,
    columns: (header: string[]) => {
      dateColumns = header.filter((h) => / Last Activity Date$/.test(h));
      if (!header.includes(UPN_COLUMN) || dateColumns.length === 0) {
        throw new VendorError(
          VENDOR,
          endpoint,
          200,
          'contract',
          `the report has no '${UPN_COLUMN}' column or no '… Last Activity Date' columns (header: ${header.join(', ').slice(0, 300)})`,
        );
      }
      return header;
    },
  });
  // Records are parsed as they are taken (back-pressure): meanwhile the rest of the body waits in the network.
  const source = Readable.from(body, { objectMode: false });
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  let line = 1;
  let page: UsageSignal[] = [];
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) {
      line++;
      // Rows already handed on by an earlier, broken-off read of the same report.
      if (line - 1 <= resume.skip) continue;
      const upn = record[UPN_COLUMN] ?? '';
      if (!upn.includes('@')) throw concealedNames(endpoint, line);
      if (/^true$/i.test(record[DELETED_COLUMN] ?? '')) continue;
      const accountId = index.get(upn.toLowerCase());
      if (!accountId) continue;
      let latest: Date | null = null;
      for (const column of dateColumns) {
        const value = record[column];
        if (!value) continue;
        const at = new Date(`${value}T00:00:00Z`);
        if (!DAY.test(value) || Number.isNaN(at.getTime())) {
          throw new VendorError(
            VENDOR,
            endpoint,
            200,
            'contract',
            `line ${line}: ${column}: expected a YYYY-MM-DD date, got '${value.slice(0, 30)}'`,
          );
        }
        if (!latest || at > latest) latest = at;
      }
      if (!latest) continue;
      page.push({ accountId, lastActivityAt: latest, source: REPORT_SOURCE });
      if (page.length >= pageSize) {
        resume.onPage?.(line - 1);
        yield page;
        page = [];
      }
    }
  } catch (error) {
    if (error instanceof VendorError) throw error;
    throw new VendorError(
      VENDOR,
      endpoint,
      200,
      'contract',
      `the report is not valid CSV: ${(error as Error).message}`,
    );
  } finally {
    // Stopped early (a failure, or a consumer that wants no more): the download is let go.
    source.destroy();
  }
  if (page.length > 0) {
    resume.onPage?.(line - 1);
    yield page;
  }
}

/** Concealed names would match no user, and every seat would look idle: stop, and say how to fix it. */
function concealedNames(endpoint: string, line: number): VendorError {
  return new VendorError(
    VENDOR,
    endpoint,
    200,
    'concealedNames',
    `the usage report conceals user names (line ${line} has an opaque identifier instead of a user principal name), ` +
      'so its activity matches no user and every seat would look idle; the usage step stops here. ' +
      'Turn concealment off in the Microsoft 365 admin center (Settings > Org settings > Services > Reports: untick ' +
      '"Display concealed user, group, and site names in all reports") or with PATCH /v1.0/admin/reportSettings ' +
      '{"displayConcealedNames": false} (permission ReportSettings.ReadWrite.All), then import again.',
  );
}
