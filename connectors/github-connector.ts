/**
 * GitHub Copilot connector: the organization's Copilot plan (`GET /orgs/{org}/copilot/billing`), its seats with their
 * last activity (`GET /orgs/{org}/copilot/billing/seats`, `Link` paging), and seat removal
 * (`DELETE /orgs/{org}/copilot/billing/selected_users`). REST API version 2022-11-28; the contract is section 4 of
 * `shared/vendor-contracts.md`.
 *
 * GitHub rarely reports e-mails, so seat holders are matched to persons through an operator-maintained CSV of
 * `login,email` (GITHUB_LOGIN_EMAILS); a login it does not map goes to clearing under its login.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import { type Config, ConfigError } from '../src/config/config.ts';
import type {
  Connector,
  ConnectorDeps,
  RemovalResult,
  SeatRef,
  VendorAccount,
  VendorSubscription,
} from './types.ts';
import { VendorError, VendorHttp, type VendorRequest, type VendorResponse } from './vendor-http.ts';

const VENDOR = 'GitHub';
const API_VERSION = '2022-11-28';
/** The documented maximum page size of the seats list (the default is 50). */
const SEATS_PER_PAGE = 100;
const ACTIVITY_SOURCE = 'github:last_activity_at';
/**
 * The longest this connector waits for a rate limit, Retry-After included. It stays below the import lease (120 s,
 * renewed once per page): a longer sleep mid-import would let another replica take the import over.
 */
export const MAX_RATE_LIMIT_WAIT_MS = 90_000;
/** GitHub's advice for a secondary limit without a readable `retry-after`: wait at least a minute, then back off. */
const SECONDARY_LIMIT_WAIT_MS = 60_000;
/** Rate-limit waits per request before giving up. */
const MAX_RATE_LIMIT_WAITS = 3;

// --- The vendor contract (only the fields we use; unknown fields are ignored so additions never break imports) ---

const count = z.number().int().min(0);
const dateTime = z.iso.datetime({ offset: true });

const billingSchema = z.object({
  seat_breakdown: z.object({
    total: count,
    pending_cancellation: count.optional(),
    pending_invitation: count.optional(),
  }),
  seat_management_setting: z.string(),
  // Optional in the spec: organizations that predate Copilot Enterprise may not report it.
  plan_type: z.string().min(1).optional(),
});

const seatSchema = z.object({
  // nullable-simple-user in the spec; a seat without an assignee cannot be attributed to anyone.
  assignee: z
    .object({
      login: z.string().min(1),
      id: z.number().int().positive(),
      email: z.string().nullish(),
    })
    .nullish(),
  // A team or an enterprise team; its fields differ, so only its presence and name are read.
  assigning_team: z.record(z.string(), z.unknown()).nullish(),
  pending_cancellation_date: z.iso.date().nullish(),
  last_activity_at: dateTime.nullish(),
  created_at: dateTime,
});
type Seat = z.infer<typeof seatSchema>;

const seatsPageSchema = z.object({ total_seats: count, seats: z.array(seatSchema) });
const cancelSchema = z.object({ seats_cancelled: count });
const rateLimitSchema = z.object({
  resources: z.object({ core: z.object({ remaining: count, reset: z.number().int() }) }),
});

/**
 * Creates the GitHub Copilot connector.
 *
 * Mapping: one subscription per organization (key `copilot:<org, lower-cased>`, SKU `copilot_<plan_type>`), one
 * account per seat keyed by the assignee's immutable numeric id. An account's e-mail comes from the login map first,
 * then from the assignee's public e-mail: the map is the operator's deliberate statement of who a login is, while a
 * public e-mail is whatever the user chose to show (often a private address).
 *
 * @throws ConfigError when GITHUB_TOKEN or GITHUB_ORG is missing, or the GITHUB_LOGIN_EMAILS file is unreadable or
 *   malformed (the message names the file, the line and the problem)
 */
export function createGithubConnector(config: Config, deps: ConnectorDeps = {}): Connector {
  const token = required(config, 'GITHUB_TOKEN');
  const org = required(config, 'GITHUB_ORG');
  const mapFile = config.GITHUB_LOGIN_EMAILS;
  // Read now so a bad file stops start-up; read again per import so edits apply without a restart.
  if (mapFile) readLoginMap(mapFile);

  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  const now = deps.now ?? (() => new Date());
  const http = new VendorHttp({
    vendor: VENDOR,
    baseUrl: config.GITHUB_API_URL,
    headers: {
      accept: 'application/vnd.github+json',
      'x-github-api-version': API_VERSION,
      // GitHub rejects requests without a User-Agent.
      'user-agent': 'seatkeeper',
    },
    authHeaders: async () => ({ authorization: `Bearer ${token}` }),
    // No invalidateAuth: the token is static, so a 401 is final rather than worth a second try.
    maxRetryAfterMs: MAX_RATE_LIMIT_WAIT_MS,
    sleep,
    onRetry: deps.onRetry,
  });
  const github = new GithubClient(http, sleep, now, deps.onRetry);
  const orgPath = `/orgs/${encodeURIComponent(org)}`;
  const subscriptionKey = `copilot:${org.toLowerCase()}`;

  return {
    source: 'github',
    capabilities: { usage: true, directory: false, emails: false, removal: true },

    async *subscriptions(): AsyncIterable<VendorSubscription[]> {
      const billing = await github.json({ path: `${orgPath}/copilot/billing` }, billingSchema);
      // Copilot has no pool of purchased seats: every assigned seat is billed, so what is purchased is what is
      // consumed (nothing is ever "free"). `total` is what GitHub bills this cycle, and that includes seats pending
      // cancellation: they stay billed and usable until the next cycle starts, as they stay in the seats list.
      // Pending invitations are not seats yet (no member holds them, the seats list omits them) and are left out;
      // whether GitHub already bills them is not documented.
      const total = billing.seat_breakdown.total;
      // Before Copilot Enterprise existed every organization plan was Business, which is what a missing plan_type means.
      const plan = billing.plan_type ?? 'business';
      yield [
        {
          key: subscriptionKey,
          vendor: VENDOR,
          sku: `copilot_${plan}`,
          name: `GitHub Copilot ${planName(plan)}`,
          licenseModel: 'named_user',
          capabilityStatus: 'Enabled',
          consumedUnits: total,
          enabledUnits: total,
        },
      ];
    },

    async *accounts(): AsyncIterable<VendorAccount[]> {
      const logins = mapFile ? readLoginMap(mapFile) : new Map<string, string>();
      const pages = github.pages(
        { path: `${orgPath}/copilot/billing/seats`, query: { per_page: SEATS_PER_PAGE } },
        seatsPageSchema,
      );
      for await (const page of pages) {
        yield page.seats.flatMap((seat) => {
          const account = toAccount(seat, subscriptionKey, logins);
          return account ? [account] : [];
        });
      }
    },

    removeSeat: (seat: SeatRef) => removeSeat(github, orgPath, org, seat),

    // No restoreSeat: the contract (vendor-contracts.md §4) offers no call that withdraws a pending cancellation.
    restoreUnsupported:
      'GitHub cannot undo a Copilot seat cancellation: the seat stays usable until the end of the billing cycle and the ' +
      'API has no call that withdraws a pending cancellation. Assign a new seat to the user once it has lapsed.',
  };
}

function required(config: Config, name: 'GITHUB_TOKEN' | 'GITHUB_ORG'): string {
  const value = config[name];
  if (!value) {
    throw new ConfigError(
      name,
      `Configuration error: ${name} is invalid: the GitHub connector needs it (it is not set). See README, "Configuration".`,
    );
  }
  return value;
}

function planName(plan: string): string {
  if (plan === 'business') return 'Business';
  if (plan === 'enterprise') return 'Enterprise';
  return `(${plan})`;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

function toAccount(
  seat: Seat,
  subscriptionKey: string,
  logins: Map<string, string>,
): VendorAccount | undefined {
  // The spec allows a seat without an assignee; with no account id there is nothing to record. The seat is still in
  // the subscription's billed total, so the count does not hide it.
  if (!seat.assignee) return undefined;
  const { login, id } = seat.assignee;
  const publicEmail = seat.assignee.email?.trim();
  return {
    subscriptionKey,
    accountId: String(id),
    login,
    // Null sends the seat to clearing, where it shows under its login.
    email: logins.get(login.toLowerCase()) ?? (publicEmail && EMAIL.test(publicEmail) ? publicEmail : null),
    // A seat pending cancellation is still a seat: billed and usable until pending_cancellation_date (the start of
    // the next cycle), after which GitHub stops listing it and the next import removes it.
    enabled: true,
    // Team-assigned seats cannot be cancelled one user at a time (the DELETE answers 422).
    groupInherited: seat.assigning_team != null,
    assignedAt: new Date(seat.created_at),
    // Null means no Copilot activity reported: never used, or IDE telemetry switched off — GitHub cannot tell them
    // apart. The pipeline treats null as "no activity seen", like a never-used seat.
    lastActivityAt: seat.last_activity_at ? new Date(seat.last_activity_at) : null,
    lastActivitySource: seat.last_activity_at ? ACTIVITY_SOURCE : null,
  };
}

// --- Seat removal ---

async function removeSeat(
  github: GithubClient,
  orgPath: string,
  org: string,
  seat: SeatRef,
): Promise<RemovalResult> {
  const login = seat.login;
  if (!login) {
    return {
      ok: false,
      code: 'NO_LOGIN',
      reason: 'no GitHub login is recorded for this seat',
      retryable: false,
    };
  }
  const seatPath = `${orgPath}/members/${encodeURIComponent(login)}/copilot`;
  let current: Seat | undefined;
  try {
    current = await github.json({ path: seatPath }, seatSchema);
    // Logins can be renamed and then reused: never cancel someone else's seat on a stale login.
    if (current.assignee && String(current.assignee.id) !== seat.accountId) {
      return {
        ok: false,
        code: 'ACCOUNT_MISMATCH',
        reason: `the login ${login} now belongs to GitHub account ${current.assignee.id}, not ${seat.accountId}; import again before removing`,
        retryable: false,
      };
    }
    if (current.pending_cancellation_date) {
      return {
        ok: true,
        detail: `already pending cancellation: ${login} keeps Copilot until ${current.pending_cancellation_date}; not cancelled again`,
      };
    }
    const { seats_cancelled } = await github.json(
      {
        method: 'DELETE',
        path: `${orgPath}/copilot/billing/selected_users`,
        body: { selected_usernames: [login] },
      },
      cancelSchema,
    );
    if (seats_cancelled === 0) {
      // A retried DELETE whose first attempt went through also answers 0: look before calling it a failure.
      const after = await github.json({ path: seatPath }, seatSchema);
      if (after.pending_cancellation_date) return pendingNow(login, after.pending_cancellation_date);
      return {
        ok: false,
        code: 'NOT_CANCELLED',
        reason: `GitHub cancelled no seat for ${login} in ${org} (seats_cancelled: 0)`,
        retryable: false,
      };
    }
    return pendingNow(login, undefined);
  } catch (error) {
    return removalFailure(error, login, org, current);
  }
}

function pendingNow(login: string, until: string | undefined): RemovalResult {
  return {
    ok: true,
    detail: `seat set to pending cancellation: ${login} keeps Copilot until ${until ?? 'the end of the billing cycle'}`,
  };
}

function removalFailure(error: unknown, login: string, org: string, seat: Seat | undefined): RemovalResult {
  if (!(error instanceof VendorError)) {
    return { ok: false, reason: (error as Error).message, retryable: false };
  }
  if (error.status === 404) {
    return {
      ok: false,
      code: 'NO_SEAT',
      reason: `${error.message} — ${login} holds no Copilot seat in ${org} (removed already, or the login was renamed); import again`,
      retryable: false,
    };
  }
  if (error.status === 422) {
    const team = seat?.assigning_team;
    const teamName = team ? String(team.slug ?? team.name ?? 'a team') : undefined;
    return {
      ok: false,
      code: teamName ? 'GROUP_INHERITED' : 'VENDOR_REFUSED',
      reason: teamName
        ? `${error.message} — the seat comes from team ${teamName}: remove ${login} from that team instead`
        : error.message,
      retryable: false,
    };
  }
  // Outages and throttling pass; anything else (401, 403 permissions, a broken contract) needs a person.
  const retryable = error.status === 0 || error.status >= 500 || error.status === 429 || isRateLimited(error);
  return { ok: false, code: error.code, reason: error.message, retryable };
}

// --- HTTP: validation, Link paging and GitHub's rate limits on top of the shared client ---

/**
 * GitHub's rate limits, which VendorHttp does not know: a spent primary limit answers 403 (or 429) with
 * `x-ratelimit-remaining: 0` until `x-ratelimit-reset`; a secondary limit answers 403 or 429 with a message and maybe
 * `retry-after`. VendorHttp retries 429 + Retry-After itself, but a 403 ends in a VendorError that carries no headers,
 * so the reset time is asked of `GET /rate_limit` (which does not count against the limit).
 */
class GithubClient {
  /** Epoch ms until which the primary limit is known to be spent (from a response's own headers). */
  private spentUntil = 0;

  constructor(
    private readonly http: VendorHttp,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly now: () => Date,
    private readonly onRetry: ConnectorDeps['onRetry'],
  ) {}

  /** Sends a request and validates its JSON body against `schema`; a mismatch names the endpoint and the field. */
  async json<T>(request: VendorRequest, schema: z.ZodType<T>): Promise<T> {
    return (await this.exchange(request, schema)).body;
  }

  /** Every page of a listing, following `Link: rel="next"` exactly as given until there is none. */
  async *pages<T>(first: VendorRequest, schema: z.ZodType<T>): AsyncIterable<T> {
    const origin = new URL(this.http.options.baseUrl).origin;
    const seen = new Set<string>();
    let request: VendorRequest | undefined = first;
    while (request) {
      const { body, response } = await this.exchange(request, schema);
      yield body;
      const next = nextLink(response.headers.get('link'), response.url);
      if (!next) return;
      // The Authorization header goes with the link: only ever to the API we were configured with.
      if (new URL(next).origin !== origin) {
        throw new VendorError(
          VENDOR,
          this.http.endpoint(request),
          response.status,
          'contract',
          `the next-page link points to ${new URL(next).origin}, not ${origin}; not following it`,
        );
      }
      if (seen.has(next)) {
        throw new VendorError(
          VENDOR,
          this.http.endpoint(request),
          response.status,
          'contract',
          'the next-page link points back to a page already read',
        );
      }
      seen.add(next);
      request = { path: next };
    }
  }

  private async exchange<T>(
    request: VendorRequest,
    schema: z.ZodType<T>,
  ): Promise<{ body: T; response: VendorResponse }> {
    const { body, response } = await this.send(request);
    const parsed = schema.safeParse(body);
    if (parsed.success) return { body: parsed.data, response };
    const issue = parsed.error.issues[0];
    throw new VendorError(
      VENDOR,
      this.http.endpoint(request),
      response.status,
      'contract',
      `the response does not match the contract: ${fieldPath(issue?.path ?? [])}: ${issue?.message ?? 'invalid'}`,
    );
  }

  private async send(request: VendorRequest): Promise<{ body: unknown; response: VendorResponse }> {
    const endpoint = this.http.endpoint(request);
    for (let waits = 0; ; waits++) {
      await this.awaitPrimaryReset(endpoint);
      try {
        const result = await this.http.json(request);
        this.track(result.response.headers);
        return result;
      } catch (error) {
        if (!(error instanceof VendorError) || !isRateLimited(error)) throw error;
        if (waits >= MAX_RATE_LIMIT_WAITS) {
          throw new VendorError(
            VENDOR,
            endpoint,
            error.status,
            error.code,
            `${stripPrefix(error)} (still rate limited after ${waits} waits)`,
          );
        }
        const waitMs = await this.rateLimitWait(error, endpoint, waits);
        this.onRetry?.({ endpoint, attempt: waits + 1, waitMs, reason: stripPrefix(error) });
        await this.sleep(waitMs);
      }
    }
  }

  /** Remembers a spent primary limit announced by a successful response, so the next call waits instead of failing. */
  private track(headers: Headers): void {
    const remaining = headers.get('x-ratelimit-remaining');
    const reset = Number(headers.get('x-ratelimit-reset'));
    if (remaining === '0' && Number.isFinite(reset) && reset > 0) this.spentUntil = reset * 1000;
  }

  private async awaitPrimaryReset(endpoint: string): Promise<void> {
    if (this.spentUntil === 0) return;
    const waitMs = this.untilReset(this.spentUntil / 1000, endpoint, 'x-ratelimit-remaining reached 0', 0);
    this.spentUntil = 0;
    if (waitMs <= 0) return;
    this.onRetry?.({ endpoint, attempt: 1, waitMs, reason: 'primary rate limit spent' });
    await this.sleep(waitMs);
  }

  /** How long to wait after a rate-limit answer: until the primary reset, or a minute (doubling) for a secondary limit. */
  private async rateLimitWait(error: VendorError, endpoint: string, waits: number): Promise<number> {
    const core = await this.primaryLimit();
    if (core && core.remaining === 0)
      return this.untilReset(core.reset, endpoint, stripPrefix(error), error.status);
    const waitMs = SECONDARY_LIMIT_WAIT_MS * 2 ** waits;
    if (waitMs > MAX_RATE_LIMIT_WAIT_MS) {
      throw new VendorError(
        VENDOR,
        endpoint,
        error.status,
        error.code,
        `${stripPrefix(error)} (secondary rate limit; gave up after ${waits} waits)`,
      );
    }
    return waitMs;
  }

  /** The primary limit as `GET /rate_limit` reports it; undefined when it cannot say (e.g. limits off on GHES). */
  private async primaryLimit(): Promise<{ remaining: number; reset: number } | undefined> {
    try {
      const { body } = await this.http.json({ path: '/rate_limit' });
      const parsed = rateLimitSchema.safeParse(body);
      return parsed.success ? parsed.data.resources.core : undefined;
    } catch {
      return undefined;
    }
  }

  /** Milliseconds until `resetEpochSeconds` (plus a second for clock skew), or a clear failure when too far away. */
  private untilReset(resetEpochSeconds: number, endpoint: string, reason: string, status: number): number {
    const waitMs = resetEpochSeconds * 1000 - this.now().getTime() + 1000;
    if (waitMs > MAX_RATE_LIMIT_WAIT_MS) {
      throw new VendorError(
        VENDOR,
        endpoint,
        status,
        'rate_limited',
        `${reason}: the primary rate limit is spent until ${new Date(resetEpochSeconds * 1000).toISOString()} (x-ratelimit-reset), longer than an import waits (${MAX_RATE_LIMIT_WAIT_MS / 1000} s); try again after that`,
      );
    }
    return Math.max(0, waitMs);
  }
}

/** A 403 or 429 that GitHub sent because of a rate limit (not a missing permission). */
function isRateLimited(error: VendorError): boolean {
  if (error.code === 'rate_limited' || error.status === 429) return true;
  return error.status === 403 && /rate limit|abuse detection/i.test(error.message);
}

/** The error's own text, without the `GitHub GET /path: ` prefix VendorError adds. */
function stripPrefix(error: VendorError): string {
  const prefix = `${error.vendor} ${error.endpoint}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/** The `rel="next"` target of a `Link` header (RFC 8288), resolved against the page's URL. */
function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    const rel = match?.[2] ? /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(match[2])?.[1] : undefined;
    if (match?.[1] && rel?.toLowerCase().split(/\s+/).includes('next'))
      return new URL(match[1], base).toString();
  }
  return undefined;
}

function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(response body)';
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

// --- The login → e-mail map ---

const LOGIN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * Reads the GITHUB_LOGIN_EMAILS file: CSV with a `login,email` header (any order, other columns ignored), one login
 * per line. Keys are lower-cased logins (GitHub logins are case-insensitive).
 * @throws ConfigError naming the file, the line and the problem
 */
function readLoginMap(file: string): Map<string, string> {
  const problem = (line: number, message: string) =>
    new ConfigError('GITHUB_LOGIN_EMAILS', `GITHUB_LOGIN_EMAILS (${file}) line ${line}: ${message}`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new ConfigError(
      'GITHUB_LOGIN_EMAILS',
      `GITHUB_LOGIN_EMAILS: cannot read ${file}: ${e.code ?? e.message}`,
    );
  }
  let rows: { info: { lines: number }; record: string[] }[];
  try {
    // csv-parse's typings do not model `info: true`, which wraps each record with its line numbers.
    rows = parseCsv(text, {
      bom: true,
      info: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
    }) as unknown as typeof rows;
  } catch (error) {
    const e = error as Error & { lines?: number };
    throw problem(e.lines ?? 1, `not valid CSV: ${e.message}`);
  }
  const [header, ...records] = rows;
  const columns = header?.record.map((c) => c.toLowerCase()) ?? [];
  const loginAt = columns.indexOf('login');
  const emailAt = columns.indexOf('email');
  if (!header || loginAt < 0 || emailAt < 0) {
    throw problem(
      header?.info.lines ?? 1,
      `expected the header "login,email", got "${header?.record.join(',') ?? ''}"`,
    );
  }
  const map = new Map<string, string>();
  const firstLine = new Map<string, number>();
  for (const { info, record } of records) {
    const login = record[loginAt] ?? '';
    const email = record[emailAt] ?? '';
    if (!LOGIN.test(login)) throw problem(info.lines, `"${login}" is not a GitHub login`);
    if (!EMAIL.test(email)) {
      throw problem(
        info.lines,
        email ? `"${email}" is not an e-mail address` : `no e-mail for login "${login}"`,
      );
    }
    const key = login.toLowerCase();
    const earlier = firstLine.get(key);
    if (earlier !== undefined)
      throw problem(info.lines, `login "${login}" is already mapped on line ${earlier}`);
    firstLine.set(key, info.lines);
    map.set(key, email);
  }
  return map;
}
