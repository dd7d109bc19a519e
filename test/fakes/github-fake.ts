/**
 * A fake of GitHub's Copilot user-management REST API (version 2022-11-28), built from section 4 of
 * `shared/vendor-contracts.md`: bearer-token check with GitHub's error body, `/orgs/{org}/copilot/billing`, the seats
 * list with `Link` paging whose later pages use the `/organizations/{id}/…` form, the per-user seat, seat removal
 * through `selected_users` (pending cancellation; 422 for team-assigned seats), `x-ratelimit-*` headers on every
 * answer, a primary rate limit that really runs out and resets on the fake's clock, and secondary-limit injection.
 */
import { type FakeReply, type FakeRequest, FakeServer } from './fake-server.ts';

const DOCS = 'https://docs.github.com/rest';
const SUPPORTED_VERSIONS = new Set(['2022-11-28']);

/** simple-user, as GitHub embeds it in a seat. */
export interface GithubUser {
  login: string;
  id: number;
  node_id: string;
  avatar_url: string;
  url: string;
  html_url: string;
  type: string;
  site_admin: boolean;
  name?: string | null;
  email?: string | null;
}

/** copilot-seat-details. */
export interface GithubSeat {
  assignee: GithubUser | null;
  organization: { login: string; id: number } | null;
  assigning_team: { id: number; slug: string; name: string } | null;
  pending_cancellation_date: string | null;
  last_activity_at: string | null;
  last_activity_editor: string | null;
  last_authenticated_at: string | null;
  created_at: string;
  updated_at: string;
  plan_type: 'business' | 'enterprise' | 'unknown';
}

export interface GithubFakeOptions {
  token?: string;
  org?: string;
  orgId?: number;
  /** The fake's clock, for rate-limit windows (share the test's clock so a recorded wait really passes). */
  now?: () => Date;
  seats?: GithubSeat[];
  /** Start of the next billing cycle: the date a cancelled seat keeps Copilot until. */
  nextCycleStart?: string;
}

export function githubUser(login: string, id: number, email: string | null = null): GithubUser {
  return {
    login,
    id,
    node_id: `U_${Buffer.from(String(id)).toString('base64')}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    url: `https://api.github.com/users/${login}`,
    html_url: `https://github.com/${login}`,
    type: 'User',
    site_admin: false,
    email,
  };
}

export function githubSeat(user: GithubUser, over: Partial<GithubSeat> = {}): GithubSeat {
  return {
    assignee: user,
    organization: { login: 'acme', id: 4242 },
    assigning_team: null,
    pending_cancellation_date: null,
    last_activity_at: '2026-11-18T09:30:00Z',
    last_activity_editor: 'vscode/1.95.0/copilot/1.250.0',
    last_authenticated_at: '2026-11-18T09:00:00Z',
    created_at: '2026-01-10T12:00:00Z',
    updated_at: '2026-01-10T12:00:00Z',
    plan_type: 'business',
    ...over,
  };
}

/**
 * The fixture organization `acme`: eight seats covering every case the connector must handle. Logins that the
 * fixture login map (`FIXTURE_LOGIN_EMAILS`) maps are noted.
 */
export function fixtureSeats(): GithubSeat[] {
  return [
    // A public e-mail, not in the map.
    githubSeat(githubUser('ana-dev', 1001, 'Ana.Lopez@example.com')),
    // No e-mail: mapped.
    githubSeat(githubUser('bo-codes', 1002), { last_activity_at: '2026-11-19T16:45:10Z' }),
    githubSeat(githubUser('Cyrus', 1003), {
      last_activity_editor: 'JetBrains-IC/2024.2/copilot-intellij/1.5',
    }),
    // No e-mail and not mapped: clearing, under the login.
    githubSeat(githubUser('zed-contractor', 1004)),
    // Never active (or telemetry off): mapped.
    githubSeat(githubUser('dee-never', 1005), {
      last_activity_at: null,
      last_activity_editor: null,
      last_authenticated_at: null,
    }),
    // Assigned through a team: mapped.
    githubSeat(githubUser('eve-platform', 1006), {
      assigning_team: { id: 77, slug: 'platform', name: 'Platform' },
    }),
    // Already cancelled, still a seat until the next cycle: mapped.
    githubSeat(githubUser('fay-leaving', 1007), { pending_cancellation_date: '2026-12-01' }),
    // A private public e-mail, and a map entry that wins over it.
    githubSeat(githubUser('gus-oss', 1008, 'gus@personal.example')),
  ];
}

/** The login map for the fixture seats (GITHUB_LOGIN_EMAILS contents); zed-contractor is deliberately missing. */
export const FIXTURE_LOGIN_EMAILS = [
  'login,email',
  'bo-codes,bo@example.com',
  'cyrus,CY@Example.com',
  'dee-never,dee@example.com',
  'eve-platform,eve@example.com',
  'fay-leaving,fay@example.com',
  'gus-oss,gus@example.com',
  '',
].join('\n');

/** `n` seats with ids from `firstId`, logins `user-<id>`, each with a public e-mail `user-<id>@example.com`. */
export function generateSeats(n: number, firstId = 50_000): GithubSeat[] {
  return Array.from({ length: n }, (_, i) => {
    const id = firstId + i;
    return githubSeat(githubUser(`user-${id}`, id, `user-${id}@example.com`), {
      last_activity_at: i % 3 === 0 ? null : `2026-11-${String(1 + (i % 19)).padStart(2, '0')}T10:00:00Z`,
    });
  });
}

export class GithubFake extends FakeServer {
  readonly token: string;
  readonly org: string;
  readonly orgId: number;
  seats: GithubSeat[];
  seatManagementSetting: 'assign_all' | 'assign_selected' | 'disabled' | 'unconfigured' = 'assign_selected';
  planType: 'business' | 'enterprise' | undefined = 'business';
  nextCycleStart: string;
  /** The status a spent primary limit answers with: GitHub documents 403 or 429. */
  primaryLimitStatus: 403 | 429 = 403;
  /** The primary (core) limit of the token: `reset` is epoch seconds. */
  readonly rate = { limit: 5000, remaining: 5000, reset: 0 };
  /** Where Link URLs point (default: this server); change it to play a misbehaving proxy. */
  linkBaseUrl: string | undefined;
  private readonly now: () => Date;

  constructor(options: GithubFakeOptions = {}) {
    super();
    this.token = options.token ?? 'ghp_fake_token_0123456789';
    this.org = options.org ?? 'acme';
    this.orgId = options.orgId ?? 4242;
    this.now = options.now ?? (() => new Date());
    this.seats = options.seats ?? fixtureSeats();
    this.nextCycleStart = options.nextCycleStart ?? '2026-12-01';
    this.rate.reset = this.epoch() + 3600;

    const orgRef = '(?:orgs/([^/]+)|organizations/(\\d+))';
    this.route('GET', /^\/rate_limit$/, (req) => this.guard(req, false, () => this.rateLimitBody()));
    this.route('GET', new RegExp(`^/${orgRef}/copilot/billing$`), (req) =>
      this.guard(req, true, () => this.billing()),
    );
    this.route('GET', new RegExp(`^/${orgRef}/copilot/billing/seats$`), (req) =>
      this.guard(req, true, () => this.seatsPage(req)),
    );
    this.route('GET', new RegExp(`^/${orgRef}/members/([^/]+)/copilot$`), (req) =>
      this.guard(req, true, () => this.seatOf(req.params[2] ?? '')),
    );
    this.route('DELETE', new RegExp(`^/${orgRef}/copilot/billing/selected_users$`), (req) =>
      this.guard(req, true, () => this.cancelSeats(req)),
    );
  }

  /** The seat of `login` (case-insensitive), for assertions. */
  seat(login: string): GithubSeat | undefined {
    return this.seats.find((s) => s.assignee?.login.toLowerCase() === login.toLowerCase());
  }

  /** Replaces fields of one seat with anything, valid or not (to break the contract on purpose). */
  patchSeat(login: string, patch: Record<string, unknown>): void {
    const seat = this.seat(login);
    if (!seat) throw new Error(`no fake seat for ${login}`);
    Object.assign(seat, patch);
  }

  /** Spends the primary limit: requests get `primaryLimitStatus` until the fake's clock reaches now + `resetInSeconds`. */
  exhaustPrimaryLimit(resetInSeconds: number): void {
    this.rate.remaining = 0;
    this.rate.reset = this.epoch() + resetInSeconds;
  }

  /** Leaves `remaining` requests in a window that resets `resetInSeconds` from now. */
  setPrimaryLimit(remaining: number, resetInSeconds: number): void {
    this.rate.remaining = remaining;
    this.rate.reset = this.epoch() + resetInSeconds;
  }

  /** The next request matching `path` hits a secondary limit: 403 or 429 with GitHub's message and `retry-after`. */
  injectSecondaryLimit(
    options: { status?: 403 | 429; retryAfterSeconds?: number; path?: RegExp } = {},
  ): void {
    const status = options.status ?? 429;
    this.inject({
      path: options.path,
      status,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        ...(options.retryAfterSeconds !== undefined
          ? { 'retry-after': String(options.retryAfterSeconds) }
          : {}),
        ...this.rateHeaders(),
      },
      body: JSON.stringify({
        message:
          'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.',
        documentation_url: `${DOCS}/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
        status: String(status),
      }),
    });
  }

  /** Authentication, API version, the primary limit and the organization, then the route itself. */
  private guard(req: FakeRequest, counted: boolean, handle: () => FakeReply): FakeReply {
    const auth = req.headers.authorization;
    if (!auth) return this.error(401, 'Requires authentication');
    if (auth !== `Bearer ${this.token}` && auth !== `token ${this.token}`)
      return this.error(401, 'Bad credentials');
    if (!req.headers['user-agent']) {
      return this.error(
        403,
        'Request forbidden by administrative rules. Please make sure your request has a User-Agent header',
      );
    }
    const version = req.headers['x-github-api-version'];
    if (typeof version === 'string' && !SUPPORTED_VERSIONS.has(version)) {
      return this.error(400, `API version '${version}' is not supported.`);
    }
    if (counted) {
      if (this.epoch() >= this.rate.reset) {
        this.rate.remaining = this.rate.limit;
        this.rate.reset = this.epoch() + 3600;
      }
      if (this.rate.remaining <= 0) {
        return this.error(
          this.primaryLimitStatus,
          'API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.',
          `${DOCS}/using-the-rest-api/rate-limits-for-the-rest-api`,
        );
      }
      this.rate.remaining -= 1;
      const [org, id] = req.params;
      const known = org ? org.toLowerCase() === this.org.toLowerCase() : Number(id) === this.orgId;
      if (!known) return this.error(404, 'Not Found');
    }
    const reply = handle();
    return { ...reply, headers: { ...this.rateHeaders(), ...reply.headers } };
  }

  private billing(): FakeReply {
    const active = this.seats.filter((s) => s.last_activity_at !== null).length;
    return {
      body: {
        seat_breakdown: {
          total: this.seats.length,
          added_this_cycle: 0,
          pending_cancellation: this.seats.filter((s) => s.pending_cancellation_date).length,
          pending_invitation: 0,
          active_this_cycle: active,
          inactive_this_cycle: this.seats.length - active,
        },
        public_code_suggestions: 'block',
        ide_chat: 'enabled',
        platform_chat: 'enabled',
        cli: 'enabled',
        seat_management_setting: this.seatManagementSetting,
        ...(this.planType ? { plan_type: this.planType } : {}),
      },
    };
  }

  private seatsPage(req: FakeRequest): FakeReply {
    const perPage = Math.min(100, Math.max(1, Number(req.query.get('per_page') ?? 50) || 50));
    const page = Math.max(1, Number(req.query.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(this.seats.length / perPage));
    // GitHub writes page links with the organization's numeric id, whatever form the request used.
    const base = `${this.linkBaseUrl ?? this.url}/organizations/${this.orgId}/copilot/billing/seats`;
    const link = (n: number, rel: string) => `<${base}?per_page=${perPage}&page=${n}>; rel="${rel}"`;
    const links: string[] = [];
    if (page > 1) links.push(link(page - 1, 'prev'));
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'));
    return {
      headers: links.length > 0 ? { link: links.join(', ') } : {},
      body: { total_seats: this.seats.length, seats: this.seats.slice((page - 1) * perPage, page * perPage) },
    };
  }

  private seatOf(login: string): FakeReply {
    const seat = this.seat(login);
    return seat ? { body: seat } : this.error(404, 'Not Found');
  }

  private cancelSeats(req: FakeRequest): FakeReply {
    const body = req.json as { selected_usernames?: unknown } | undefined;
    const names = body?.selected_usernames;
    if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) {
      return this.error(400, 'Invalid request.\n\n"selected_usernames" wasn\'t supplied.');
    }
    if (this.seatManagementSetting !== 'assign_selected') {
      return this.error(
        422,
        'Your organization has enabled Copilot access for all members. Enable access for selected members in order to manage seats via the API.',
      );
    }
    const seats = names.map((n) => this.seat(n)).filter((s): s is GithubSeat => s !== undefined);
    const viaTeam = seats.find((s) => s.assigning_team !== null);
    if (viaTeam) {
      return this.error(
        422,
        `Cannot cancel the seat of ${viaTeam.assignee?.login}: it was assigned through a team. Remove the user from the team instead.`,
      );
    }
    let cancelled = 0;
    for (const seat of seats) {
      if (seat.pending_cancellation_date) continue;
      seat.pending_cancellation_date = this.nextCycleStart;
      cancelled++;
    }
    return { body: { seats_cancelled: cancelled } };
  }

  private rateLimitBody(): FakeReply {
    const core = { ...this.rate, used: this.rate.limit - this.rate.remaining };
    return { body: { resources: { core }, rate: core } };
  }

  private rateHeaders(): Record<string, string> {
    return {
      'x-ratelimit-limit': String(this.rate.limit),
      'x-ratelimit-remaining': String(this.rate.remaining),
      'x-ratelimit-used': String(this.rate.limit - this.rate.remaining),
      'x-ratelimit-reset': String(this.rate.reset),
      'x-ratelimit-resource': 'core',
    };
  }

  private error(status: number, message: string, documentation = DOCS): FakeReply {
    return {
      status,
      headers: this.rateHeaders(),
      body: { message, documentation_url: documentation, status: String(status) },
    };
  }

  private epoch(): number {
    return Math.floor(this.now().getTime() / 1000);
  }
}
