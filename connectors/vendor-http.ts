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

/** A response whose body is handed over as it arrives (`VendorHttp.stream`). */
export interface VendorStream {
  status: number;
  headers: Headers;
  url: string;
  /** The body's bytes in the order they arrive; read it once. */
  body: AsyncIterable<Uint8Array>;
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
    const { response, text } = await this.exchange(request, true);
    return { status: response.status, headers: response.headers, text, url: response.url };
  }

  /**
   * Sends a request like `send`, but hands over a 2xx/3xx body as it arrives instead of reading it whole: a large
   * download (a report) passes through in chunks and never sits in memory at once. The timeout then applies to each
   * wait for the next chunk; a body that stalls that long, or whose connection drops, fails the iteration with a
   * VendorError of status 0 (nothing is retried once the body has started: the caller knows what it has read).
   */
  async stream(request: VendorRequest): Promise<VendorStream> {
    const { response, timer } = await this.exchange(request, false);
    const endpoint = this.endpoint(request);
    const vendor = this.options.vendor;
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      const reader = response.body?.getReader();
      if (!reader) return;
      let finished = false;
      try {
        for (;;) {
          // Only the vendor's silence counts: the time the caller takes between chunks is not the vendor's.
          timer.arm();
          let read: Awaited<ReturnType<typeof reader.read>>;
          try {
            read = await reader.read();
          } catch (error) {
            const reason = failureReason(error, timeoutMs);
            throw new VendorError(vendor, endpoint, 0, undefined, `the download broke off: ${reason}`);
          } finally {
            timer.disarm();
          }
          if (read.done) {
            finished = true;
            return;
          }
          yield read.value;
        }
      } finally {
        // A caller that stops early (or a failure) lets the connection go.
        if (!finished) await reader.cancel().catch(() => undefined);
        reader.releaseLock();
      }
    }
    return { status: response.status, headers: response.headers, url: response.url, body: chunks() };
  }

  /**
   * The retry loop behind `send` and `stream`: a 2xx/3xx response is returned (its body read when `readBody`), a
   * failure retried or thrown as VendorError.
   */
  private async exchange(
    request: VendorRequest,
    readBody: boolean,
  ): Promise<{ response: Response; text: string; timer: IdleTimer }> {
    const o = this.options;
    const endpoint = this.endpoint(request);
    const maxAttempts = this.maxAttempts;
    const timeoutMs = o.timeoutMs ?? 30_000;
    let refreshedAuth = false;
    let lastReason = '';
    let lastStatus = 0;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let response: Response;
      let text = '';
      const timer = new IdleTimer(timeoutMs);
      try {
        const headers: Record<string, string> = { ...o.headers, ...request.headers };
        if (request.auth !== false && o.authHeaders) Object.assign(headers, await o.authHeaders());
        if (request.body !== undefined) headers['content-type'] ??= 'application/json';
        timer.arm();
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
          signal: timer.signal,
        });
        // A whole body (or an error's) is read within the same timeout as the headers.
        if (readBody || response.status >= 400) text = await response.text();
        timer.disarm();
      } catch (error) {
        timer.disarm();
        if (error instanceof VendorError) throw error;
        const cause = failureReason(error, timeoutMs);
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
        lastReason = cause;
        lastStatus = 0;
        if (attempt < maxAttempts) {
          await this.wait(endpoint, attempt, this.backoff(attempt), lastReason);
          continue;
        }
        break;
      }
      if (response.status < 400) return { response, text, timer };
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

  /** How many times a request is tried in all. */
  get maxAttempts(): number {
    return this.options.maxAttempts ?? 6;
  }

  /**
   * Waits before trying `request` again after failed attempt `attempt`, as `send` does between its own attempts
   * (jittered exponential backoff, reported through `onRetry`): for a caller that retries a whole exchange, such as
   * a download that broke off.
   */
  async pauseBeforeRetry(request: VendorRequest, attempt: number, reason: string): Promise<void> {
    await this.wait(this.endpoint(request), attempt, this.backoff(attempt), reason);
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

/**
 * Aborts a request when the vendor stays silent for `ms`: armed while waiting for the vendor (the headers, the next
 * chunk of a body), disarmed while the caller works.
 */
class IdleTimer {
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  readonly signal = this.controller.signal;

  constructor(private readonly ms: number) {}

  arm(): void {
    this.disarm();
    this.timer = setTimeout(
      () => this.controller.abort(new DOMException(`no answer within ${this.ms} ms`, 'TimeoutError')),
      this.ms,
    );
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** What went wrong with a request that got no (complete) answer: a timeout, or the network's error code. */
function failureReason(error: unknown, timeoutMs: number): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
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
