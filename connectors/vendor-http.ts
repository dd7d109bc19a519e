/**
 * HTTP for vendor admin APIs, shared by every connector: bounded retries that honour `Retry-After` on 429 (and on
 * 503), exponential backoff with jitter on 5xx, timeouts and network errors, one token refresh on 401, and errors
 * that name the vendor, the endpoint and what went wrong — never the credentials.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface VendorHttpOptions {
  /** Display name used in errors: `Microsoft Graph`, `Adobe`, `Google`, `GitHub`. */
  vendor: string;
  baseUrl: string;
  /** Headers that authenticate a request (e.g. a bearer token), fetched before each attempt. */
  authHeaders?: () => Promise<Record<string, string>>;
  /** Forget the cached credential after a 401, so the next `authHeaders()` fetches a fresh one. */
  invalidateAuth?: () => void;
  /** Attempts per request, the first included (default 6). */
  maxAttempts?: number;
  /** Per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  /** First backoff step (default 500 ms); doubles per attempt, capped at `maxBackoffMs`, with full jitter. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Longest `Retry-After` honoured before giving up (default 5 min). */
  maxRetryAfterMs?: number;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry (logging, metrics). */
  onRetry?: (info: { endpoint: string; attempt: number; waitMs: number; reason: string }) => void;
}

export interface VendorRequest {
  method?: string;
  /** A path relative to `baseUrl`, or an absolute URL (a next-page link). */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the auth headers (default true); false for pre-signed download links. */
  auth?: boolean;
  /** Follow redirects (default true). */
  redirect?: 'follow' | 'manual';
}

export interface VendorResponse {
  status: number;
  headers: Headers;
  text: string;
  url: string;
}

/** A vendor call failed for good. `status` is the last HTTP status (0 when none arrived). */
export class VendorError extends Error {
  constructor(
    readonly vendor: string,
    readonly endpoint: string,
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(`${vendor} ${endpoint}: ${message}`);
    this.name = 'VendorError';
  }
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export class VendorHttp {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(readonly options: VendorHttpOptions) {
    this.sleep = options.sleep ?? ((ms) => delay(ms));
  }

  /** `METHOD path` without query string: what errors and logs name. */
  endpoint(request: VendorRequest): string {
    const path = request.path.startsWith('http')
      ? new URL(request.path).pathname
      : request.path.split('?')[0];
    return `${request.method ?? 'GET'} ${path}`;
  }

  url(request: VendorRequest): string {
    const url =
      request.path.startsWith('https://') || request.path.startsWith('http://')
        ? new URL(request.path)
        : new URL(
            request.path.replace(/^\//, ''),
            this.options.baseUrl.endsWith('/') ? this.options.baseUrl : `${this.options.baseUrl}/`,
          );
    for (const [k, v] of Object.entries(request.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  /** Sends a request, retrying what is worth retrying. Resolves with any 2xx/3xx response; throws VendorError. */
  async send(request: VendorRequest): Promise<VendorResponse> {
    const o = this.options;
    const endpoint = this.endpoint(request);
    const maxAttempts = o.maxAttempts ?? 6;
    let refreshedAuth = false;
    let lastReason = '';
    let lastStatus = 0;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let response: Response;
      let text: string;
      try {
        const headers: Record<string, string> = { ...o.headers, ...request.headers };
        if (request.auth !== false && o.authHeaders) Object.assign(headers, await o.authHeaders());
        if (request.body !== undefined) headers['content-type'] ??= 'application/json';
        response = await fetch(this.url(request), {
          method: request.method ?? 'GET',
          headers,
          body:
            request.body === undefined
              ? undefined
              : typeof request.body === 'string'
                ? request.body
                : JSON.stringify(request.body),
          redirect: request.redirect ?? 'follow',
          signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
        });
        text = await response.text();
      } catch (error) {
        if (error instanceof VendorError) throw error;
        const e = error as Error & { cause?: { code?: string; message?: string } };
        const cause = e.cause?.code ?? e.cause?.message ?? e.message;
        if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(cause)) {
          // Not transient: retrying cannot make an untrusted certificate trusted.
          throw new VendorError(
            o.vendor,
            endpoint,
            0,
            cause,
            `TLS certificate not trusted (${cause}); if a private CA signs this endpoint, name it in NODE_EXTRA_CA_CERTS`,
          );
        }
        lastReason = e.name === 'TimeoutError' ? `no answer within ${o.timeoutMs ?? 30_000} ms` : cause;
        lastStatus = 0;
        if (attempt < maxAttempts) {
          await this.wait(endpoint, attempt, this.backoff(attempt), lastReason);
          continue;
        }
        break;
      }
      if (response.status < 400)
        return { status: response.status, headers: response.headers, text, url: response.url };
      lastStatus = response.status;
      const { code, message } = describeError(text);
      lastReason = `HTTP ${response.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
      if (response.status === 401 && !refreshedAuth && o.invalidateAuth) {
        // A token that expired mid-import: fetch a new one once and try again.
        refreshedAuth = true;
        o.invalidateAuth();
        continue;
      }
      if (!RETRYABLE.has(response.status))
        throw new VendorError(o.vendor, endpoint, response.status, code, lastReason);
      if (attempt === maxAttempts) {
        throw new VendorError(
          o.vendor,
          endpoint,
          response.status,
          code,
          `${lastReason} (gave up after ${maxAttempts} attempts)`,
        );
      }
      const after = retryAfterMs(response.headers.get('retry-after'));
      if (after !== undefined && after > (o.maxRetryAfterMs ?? 300_000)) {
        throw new VendorError(
          o.vendor,
          endpoint,
          response.status,
          code,
          `${lastReason} (asked to wait ${Math.round(after / 1000)} s)`,
        );
      }
      await this.wait(endpoint, attempt, after ?? this.backoff(attempt), lastReason);
    }
    throw new VendorError(
      o.vendor,
      endpoint,
      lastStatus,
      undefined,
      `${lastReason} (gave up after ${maxAttempts} attempts)`,
    );
  }

  /** Sends a request and parses the JSON body; a body that is not JSON fails with the endpoint named. */
  async json<T = unknown>(request: VendorRequest): Promise<{ body: T; response: VendorResponse }> {
    const response = await this.send(request);
    if (response.text === '') return { body: undefined as T, response };
    try {
      return { body: JSON.parse(response.text) as T, response };
    } catch {
      throw new VendorError(
        this.options.vendor,
        this.endpoint(request),
        response.status,
        undefined,
        'the response is not valid JSON (truncated or malformed)',
      );
    }
  }

  private backoff(attempt: number): number {
    const base = this.options.baseBackoffMs ?? 500;
    const cap = this.options.maxBackoffMs ?? 30_000;
    return Math.round(Math.random() * Math.min(cap, base * 2 ** (attempt - 1)));
  }

  private async wait(endpoint: string, attempt: number, waitMs: number, reason: string): Promise<void> {
    this.options.onRetry?.({ endpoint, attempt, waitMs, reason });
    await this.sleep(waitMs);
  }
}

/** Pulls a code and message out of the error bodies vendors send (OData, GitHub, Adobe, Google). */
function describeError(text: string): { code?: string; message?: string } {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const error = body.error;
    if (error && typeof error === 'object') {
      const e = error as Record<string, unknown>;
      return { code: str(e.code) ?? str(e.status), message: str(e.message) };
    }
    return {
      code: str(body.errorCode) ?? str(body.error_code) ?? str(error),
      message: str(body.message) ?? str(body.error_description) ?? str(body.errorMessage),
    };
  } catch {
    return { message: text.slice(0, 200) || undefined };
  }
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value.slice(0, 300);
  if (typeof value === 'number') return String(value);
  return undefined;
}
