/**
 * A Google Workspace fake on FakeServer, following `../shared/vendor-contracts.md` §3 and the discovery documents:
 * the OAuth token endpoint (JWT-bearer grant, signature verified with the service account's public key), Admin SDK
 * Directory users.list / users.get, and License Manager listForProduct / listForProductAndSku / insert / delete, with
 * Google's error bodies, paging by `nextPageToken`, short-lived tokens and quota faults.
 */
import { generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FakeReply, type FakeRequest, FakeServer } from './fake-server.ts';

export const DIRECTORY_SCOPE = 'https://www.googleapis.com/auth/admin.directory.user.readonly';
export const DIRECTORY_WRITE_SCOPE = 'https://www.googleapis.com/auth/admin.directory.user';
export const LICENSING_SCOPE = 'https://www.googleapis.com/auth/apps.licensing';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export const NEVER_LOGGED_IN = '1970-01-01T00:00:00.000Z';

/** A Directory user as users.list returns it (only the fields the contract names). */
export interface FakeUser {
  id: string;
  primaryEmail: string;
  name: { givenName: string; familyName: string; fullName: string };
  suspended: boolean;
  suspensionReason?: string;
  archived: boolean;
  isAdmin: boolean;
  lastLoginTime: string;
  creationTime: string;
  orgUnitPath: string;
  customerId: string;
  aliases?: string[];
  nonEditableAliases?: string[];
  organizations?: { department?: string; costCenter?: string; primary?: boolean }[];
  relations?: { type: string; value: string }[];
  [field: string]: unknown;
}

export interface FakeAssignment {
  productId: string;
  skuId: string;
  /** The holder's *current* primary e-mail (the fake rewrites it on rename, like Google). */
  userId: string;
  productName: string;
  skuName: string;
  [field: string]: unknown;
}

export interface ServiceAccountFiles {
  file: string;
  clientEmail: string;
  publicKey: KeyObject;
}

/** Makes an RSA key pair and writes a service account key file like the one the Cloud console downloads. */
export function writeServiceAccount(
  dir: string,
  clientEmail = 'seatkeeper@example-project.iam.gserviceaccount.com',
) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const file = join(dir, 'service-account.json');
  writeFileSync(
    file,
    JSON.stringify({
      type: 'service_account',
      project_id: 'example-project',
      private_key_id: 'key-1',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      client_email: clientEmail,
      client_id: '100000000000000000001',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: 'https://oauth2.googleapis.com/token',
    }),
    { mode: 0o600 },
  );
  return { file, clientEmail, publicKey } satisfies ServiceAccountFiles;
}

export const CUSTOMER_ID = 'C01abc234';
export const DOMAIN = 'example.com';
export const ADMIN_SUBJECT = 'admin@example.com';

export const SKUS = {
  businessStandard: {
    productId: 'Google-Apps',
    skuId: '1010020028',
    skuName: 'Google Workspace Business Standard',
  },
  businessPlus: { productId: 'Google-Apps', skuId: '1010020025', skuName: 'Google Workspace Business Plus' },
  enterprisePlus: {
    productId: 'Google-Apps',
    skuId: '1010020020',
    skuName: 'Google Workspace Enterprise Plus',
  },
} as const;
type Sku = (typeof SKUS)[keyof typeof SKUS];

export function fakeUser(id: string, primaryEmail: string, over: Partial<FakeUser> = {}): FakeUser {
  const local = primaryEmail.split('@')[0] ?? primaryEmail;
  const [given = local, family = ''] = local.split('.');
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  return {
    id,
    primaryEmail,
    name: { givenName: cap(given), familyName: cap(family), fullName: `${cap(given)} ${cap(family)}`.trim() },
    suspended: false,
    archived: false,
    isAdmin: false,
    lastLoginTime: '2026-11-18T09:15:00.000Z',
    creationTime: '2024-01-10T08:00:00.000Z',
    orgUnitPath: '/',
    customerId: CUSTOMER_ID,
    kind: 'admin#directory#user',
    etag: `"etag-${id}"`,
    ...over,
  };
}

export function assignment(sku: Sku, userId: string): FakeAssignment {
  return { ...sku, userId, productName: 'Google Workspace' };
}

/** Eight users: aliases (editable and not), a suspended one, an archived one, one who never signed in. */
export function googleFixture(): { users: FakeUser[]; assignments: FakeAssignment[] } {
  const users = [
    fakeUser('100000000000000000001', 'ana.lopez@example.com', {
      aliases: ['Ana@example.com'],
      nonEditableAliases: ['ana.lopez@example.test-google-a.com'],
      organizations: [{ department: 'Design', costCenter: 'CC-10', primary: true }],
      relations: [{ type: 'manager', value: 'dee.kim@example.com' }],
      orgUnitPath: '/Design',
      lastLoginTime: '2026-11-19T16:02:11.000Z',
    }),
    fakeUser('100000000000000000002', 'bo.berg@example.com', {
      orgUnitPath: '/Sales',
      lastLoginTime: '2026-06-01T07:00:00.000Z',
    }),
    fakeUser('100000000000000000003', 'cy.chen@example.com', {
      suspended: true,
      suspensionReason: 'ADMIN',
      lastLoginTime: '2026-03-02T10:00:00.000Z',
    }),
    fakeUser('100000000000000000004', 'dee.kim@example.com', {
      aliases: ['boss@example.com'],
      organizations: [{ department: 'Management' }],
    }),
    fakeUser('100000000000000000005', 'eli.novak@example.com', { lastLoginTime: NEVER_LOGGED_IN }),
    fakeUser('100000000000000000006', 'fay.ortiz@example.com', { archived: true }),
    fakeUser('100000000000000000007', 'gus.ito@example.com', { orgUnitPath: '/Engineering' }),
    fakeUser('100000000000000000008', 'admin@example.com', { isAdmin: true }),
  ];
  const { businessStandard: std, businessPlus: plus, enterprisePlus: ent } = SKUS;
  const assignments = [
    assignment(std, 'ana.lopez@example.com'),
    assignment(std, 'bo.berg@example.com'),
    assignment(std, 'cy.chen@example.com'),
    assignment(std, 'eli.novak@example.com'),
    assignment(std, 'fay.ortiz@example.com'),
    assignment(plus, 'dee.kim@example.com'),
    assignment(plus, 'gus.ito@example.com'),
    assignment(ent, 'admin@example.com'),
  ];
  return { users, assignments };
}

/** `count` users, each holding Business Standard: enough to page users (500) and assignments (1000). */
export function generatedOrg(count: number): { users: FakeUser[]; assignments: FakeAssignment[] } {
  const users = Array.from({ length: count }, (_, i) =>
    fakeUser(String(200000000000000000000n + BigInt(i)), `user${String(i).padStart(5, '0')}@example.com`, {
      lastLoginTime: i % 3 === 0 ? NEVER_LOGGED_IN : '2026-11-01T12:00:00.000Z',
    }),
  );
  return { users, assignments: users.map((u) => assignment(SKUS.businessStandard, u.primaryEmail)) };
}

interface IssuedToken {
  sub: string;
  scopes: string[];
  /** API requests left before it expires (short-lived mode), or Infinity. */
  remaining: number;
}

function googleError(code: number, reason: string, message: string, status: string): FakeReply {
  return {
    status: code,
    body: { error: { code, message, errors: [{ message, domain: 'global', reason }], status } },
  };
}

export interface GoogleFakeOptions {
  serviceAccount: ServiceAccountFiles;
  adminSubject?: string;
  /** The fake's clock, for checking assertion times (share the connector's clock in tests). */
  now?: () => Date;
}

export class GoogleFake {
  readonly server = new FakeServer();
  users: FakeUser[] = [];
  assignments: FakeAssignment[] = [];
  /** Tokens last this many API requests, then answer 401 (simulates expiry while `expires_in` still says 3599). */
  tokenRequestLimit = Number.POSITIVE_INFINITY;
  /** `expires_in` reported with each token. */
  tokenLifetimeSeconds = 3599;
  /** How DELETE answers: Google's `Empty` as `200 {}`, or `204`. */
  deleteStatus: 200 | 204 = 200;
  /** Caps page sizes below `maxResults` (Google may return smaller pages than asked). */
  pageCap = Number.POSITIVE_INFINITY;
  /** Runs once after the last page of a users.list walk has been served (e.g. a rename mid-import). */
  afterUsersListed?: () => void;
  readonly tokens = new Map<string, IssuedToken>();
  private tokenCount = 0;
  private readonly adminSubject: string;
  private readonly now: () => Date;

  constructor(private readonly options: GoogleFakeOptions) {
    this.adminSubject = options.adminSubject ?? ADMIN_SUBJECT;
    this.now = options.now ?? (() => new Date());
    this.server
      .route('POST', /^\/token$/, (req) => this.token(req))
      .route('GET', /^\/admin\/directory\/v1\/users$/, (req) =>
        this.authorized(req, DIRECTORY_SCOPE, () => this.listUsers(req)),
      )
      .route('GET', /^\/admin\/directory\/v1\/users\/([^/]+)$/, (req) =>
        this.authorized(req, DIRECTORY_SCOPE, () => this.getUser(req.params[0] ?? '')),
      )
      .route('GET', /^\/apps\/licensing\/v1\/product\/([^/]+)\/users$/, (req) =>
        this.authorized(req, LICENSING_SCOPE, () => this.listAssignments(req, req.params[0] ?? '')),
      )
      .route('GET', /^\/apps\/licensing\/v1\/product\/([^/]+)\/sku\/([^/]+)\/users$/, (req) =>
        this.authorized(req, LICENSING_SCOPE, () =>
          this.listAssignments(req, req.params[0] ?? '', req.params[1] ?? ''),
        ),
      )
      .route('POST', /^\/apps\/licensing\/v1\/product\/([^/]+)\/sku\/([^/]+)\/user$/, (req) =>
        this.authorized(req, LICENSING_SCOPE, () =>
          this.insertAssignment(req.params[0] ?? '', req.params[1] ?? '', req.json),
        ),
      )
      .route('DELETE', /^\/apps\/licensing\/v1\/product\/([^/]+)\/sku\/([^/]+)\/user\/([^/]+)$/, (req) =>
        this.authorized(req, LICENSING_SCOPE, () =>
          this.deleteAssignment(req.params[0] ?? '', req.params[1] ?? '', req.params[2] ?? ''),
        ),
      );
  }

  get url(): string {
    return this.server.url;
  }

  get tokenUrl(): string {
    return `${this.server.url}/token`;
  }

  async start(): Promise<this> {
    await this.server.start();
    return this;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** Environment for the connector: every Google endpoint points at this fake. */
  env(): Record<string, string> {
    return {
      GOOGLE_SERVICE_ACCOUNT_FILE: this.options.serviceAccount.file,
      GOOGLE_ADMIN_SUBJECT: this.adminSubject,
      GOOGLE_TOKEN_URL: this.tokenUrl,
      GOOGLE_DIRECTORY_URL: this.url,
      GOOGLE_LICENSING_URL: this.url,
    };
  }

  /** The next `times` requests matching `path` get Google's 403 quota error with `reason`. */
  rateLimit(
    path: RegExp,
    reason: 'rateLimitExceeded' | 'userRateLimitExceeded' | 'quotaExceeded',
    times = 1,
  ) {
    const message =
      reason === 'userRateLimitExceeded'
        ? 'User Rate Limit Exceeded'
        : reason === 'rateLimitExceeded'
          ? 'Rate Limit Exceeded'
          : 'Quota exceeded for quota metric "Queries" and limit "Queries per minute per user"';
    const { status, body } = googleError(403, reason, message, 'PERMISSION_DENIED');
    this.server.inject(...Array.from({ length: times }, () => ({ path, status, body })));
    return this;
  }

  /** The next `times` requests matching `path` get 503 (License Manager: an API quota was exceeded). */
  unavailable(path: RegExp, times = 1) {
    const { status, body } = googleError(
      503,
      'backendError',
      'The service is currently unavailable.',
      'UNAVAILABLE',
    );
    this.server.inject(...Array.from({ length: times }, () => ({ path, status, body })));
    return this;
  }

  /** Renames a user as the Admin console does: the old address stays as an alias, assignments follow. */
  rename(id: string, newEmail: string): void {
    const user = this.users.find((u) => u.id === id);
    if (!user) throw new Error(`no fake user ${id}`);
    const old = user.primaryEmail;
    user.primaryEmail = newEmail;
    user.aliases = [...(user.aliases ?? []), old];
    for (const a of this.assignments) if (a.userId.toLowerCase() === old.toLowerCase()) a.userId = newEmail;
  }

  // --- token endpoint ---------------------------------------------------------------------------------------------

  private token(req: FakeRequest): FakeReply {
    const oauthError = (status: number, error: string, description: string): FakeReply => ({
      status,
      body: { error, error_description: description },
    });
    if (req.form.get('grant_type') !== JWT_BEARER)
      return oauthError(
        400,
        'unsupported_grant_type',
        `Invalid grant_type: ${req.form.get('grant_type') ?? ''}`,
      );
    const assertion = req.form.get('assertion') ?? '';
    const [h, c, s] = assertion.split('.');
    if (!h || !c || !s)
      return oauthError(400, 'invalid_request', 'Invalid JWT: Token must be a short-lived token');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
    } catch {
      return oauthError(400, 'invalid_request', 'Invalid JWT: cannot be parsed');
    }
    if (header.alg !== 'RS256') return oauthError(400, 'invalid_grant', 'Invalid JWT: alg must be RS256');
    const signed = verify(
      'sha256',
      Buffer.from(`${h}.${c}`),
      this.options.serviceAccount.publicKey,
      Buffer.from(s, 'base64url'),
    );
    if (!signed) return oauthError(400, 'invalid_grant', 'Invalid JWT Signature.');
    if (claims.iss !== this.options.serviceAccount.clientEmail)
      return oauthError(400, 'invalid_grant', 'Invalid JWT: iss is not a known service account');
    if (claims.aud !== this.tokenUrl)
      return oauthError(400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
    const now = Math.floor(this.now().getTime() / 1000);
    const iat = Number(claims.iat);
    const exp = Number(claims.exp);
    if (
      !Number.isInteger(iat) ||
      !Number.isInteger(exp) ||
      exp <= iat ||
      exp - iat > 3600 ||
      Math.abs(iat - now) > 300 ||
      exp < now
    )
      return oauthError(
        400,
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    // Domain-wide delegation: the subject must be the admin this client was granted, the scopes the granted ones.
    const scopes = String(claims.scope ?? '')
      .split(' ')
      .filter(Boolean);
    const granted = [DIRECTORY_SCOPE, DIRECTORY_WRITE_SCOPE, LICENSING_SCOPE];
    if (claims.sub !== this.adminSubject || scopes.length === 0 || scopes.some((sc) => !granted.includes(sc)))
      return oauthError(
        401,
        'unauthorized_client',
        'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
      );
    const accessToken = `ya29.fake-${++this.tokenCount}`;
    this.tokens.set(accessToken, { sub: String(claims.sub), scopes, remaining: this.tokenRequestLimit });
    return {
      body: { access_token: accessToken, expires_in: this.tokenLifetimeSeconds, token_type: 'Bearer' },
    };
  }

  private authorized(req: FakeRequest, scope: string, handle: () => FakeReply): FakeReply {
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const token = bearer ? this.tokens.get(bearer) : undefined;
    if (!token || token.remaining <= 0) {
      return googleError(
        401,
        'authError',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        'UNAUTHENTICATED',
      );
    }
    token.remaining -= 1;
    const readScopes = scope === DIRECTORY_SCOPE ? [DIRECTORY_SCOPE, DIRECTORY_WRITE_SCOPE] : [scope];
    if (!token.scopes.some((s) => readScopes.includes(s)))
      return googleError(
        403,
        'insufficientPermissions',
        'Request had insufficient authentication scopes.',
        'PERMISSION_DENIED',
      );
    return handle();
  }

  // --- Directory --------------------------------------------------------------------------------------------------

  private listUsers(req: FakeRequest): FakeReply {
    const customer = req.query.get('customer');
    const domain = req.query.get('domain');
    if (!customer && !domain) return googleError(400, 'badRequest', 'Bad Request', 'INVALID_ARGUMENT');
    if (customer && customer !== 'my_customer' && customer !== CUSTOMER_ID)
      return googleError(404, 'notFound', 'Resource Not Found: customer', 'NOT_FOUND');
    const paged = this.page(req, this.users, 100, 500);
    if ('error' in paged) return paged.error;
    // A copy: the hook below may change the users after this page was "sent".
    const users = structuredClone(paged.items);
    if (!paged.next && this.afterUsersListed) {
      const hook = this.afterUsersListed;
      this.afterUsersListed = undefined;
      hook();
    }
    return {
      body: {
        kind: 'admin#directory#users',
        etag: '"users-etag"',
        ...(users.length > 0 ? { users } : {}),
        ...(paged.next ? { nextPageToken: paged.next } : {}),
      },
    };
  }

  private getUser(key: string): FakeReply {
    const k = key.toLowerCase();
    const user = this.users.find(
      (u) =>
        u.id === key ||
        u.primaryEmail.toLowerCase() === k ||
        (u.aliases ?? []).some((a) => a.toLowerCase() === k),
    );
    return user ? { body: user } : googleError(404, 'notFound', 'Resource Not Found: userKey', 'NOT_FOUND');
  }

  // --- License Manager --------------------------------------------------------------------------------------------

  private listAssignments(req: FakeRequest, productId: string, skuId?: string): FakeReply {
    const customerId = req.query.get('customerId');
    if (!customerId)
      return googleError(400, 'required', 'Required parameter: customerId', 'INVALID_ARGUMENT');
    // ⚠ The reference documents the real id (C0…) only; the fake refuses the Directory's `my_customer` alias.
    if (customerId !== CUSTOMER_ID && customerId !== DOMAIN)
      return googleError(400, 'invalid', 'Invalid customerId', 'INVALID_ARGUMENT');
    const items = this.assignments.filter((a) => a.productId === productId && (!skuId || a.skuId === skuId));
    const paged = this.page(req, items, 100, 1000);
    if ('error' in paged) return paged.error;
    return {
      body: {
        kind: 'licensing#licenseAssignmentList',
        etag: '"assignments-etag"',
        ...(paged.items.length > 0
          ? {
              items: paged.items.map((a) => ({
                kind: 'licensing#licenseAssignment',
                etags: `"${a.skuId}-${a.userId}"`,
                selfLink: `${this.url}/apps/licensing/v1/product/${a.productId}/sku/${a.skuId}/user/${a.userId}`,
                ...a,
              })),
            }
          : {}),
        ...(paged.next ? { nextPageToken: paged.next } : {}),
      },
    };
  }

  private deleteAssignment(productId: string, skuId: string, userId: string): FakeReply {
    const index = this.assignments.findIndex(
      (a) =>
        a.productId === productId && a.skuId === skuId && a.userId.toLowerCase() === userId.toLowerCase(),
    );
    if (index < 0)
      return googleError(
        404,
        'notFound',
        'User does not have a license for specified sku and product',
        'NOT_FOUND',
      );
    this.assignments.splice(index, 1);
    return this.deleteStatus === 204 ? { status: 204 } : { body: {} };
  }

  /** License Manager `insert`: `{"userId": "<e-mail>"}` gets the SKU, answered with the new LicenseAssignment. */
  private insertAssignment(productId: string, skuId: string, body: unknown): FakeReply {
    const userId = (body as { userId?: unknown } | undefined)?.userId;
    if (typeof userId !== 'string' || userId === '')
      return googleError(400, 'required', 'Required parameter: userId', 'INVALID_ARGUMENT');
    const sku = Object.values(SKUS).find((s) => s.productId === productId && s.skuId === skuId);
    if (!sku) return googleError(400, 'invalid', 'Invalid sku or product', 'INVALID_ARGUMENT');
    const user = this.users.find((u) => u.primaryEmail.toLowerCase() === userId.toLowerCase());
    if (!user) return googleError(400, 'invalid', 'Invalid user', 'INVALID_ARGUMENT');
    const held = this.assignments.some(
      (a) =>
        a.productId === productId && a.skuId === skuId && a.userId.toLowerCase() === userId.toLowerCase(),
    );
    if (held)
      return googleError(
        409,
        'duplicate',
        'User already has a license for the specified product and SKU',
        'ALREADY_EXISTS',
      );
    const created = assignment(sku, user.primaryEmail);
    this.assignments.push(created);
    return {
      body: {
        kind: 'licensing#licenseAssignment',
        etags: `"${skuId}-${user.primaryEmail}"`,
        selfLink: `${this.url}/apps/licensing/v1/product/${productId}/sku/${skuId}/user/${user.primaryEmail}`,
        ...created,
      },
    };
  }

  /** Offset paging behind an opaque token, `maxResults` checked against the method's bounds. */
  private page<T>(
    req: FakeRequest,
    all: T[],
    defaultSize: number,
    maxSize: number,
  ): { items: T[]; next?: string } | { error: FakeReply } {
    const asked = req.query.get('maxResults');
    const size = asked === null ? defaultSize : Number(asked);
    if (!Number.isInteger(size) || size < 1 || size > maxSize)
      return {
        error: googleError(400, 'invalid', `Invalid value for: maxResults (${asked})`, 'INVALID_ARGUMENT'),
      };
    const token = req.query.get('pageToken');
    const offset = token
      ? Number(Buffer.from(token, 'base64url').toString('utf8').replace('offset:', ''))
      : 0;
    if (!Number.isInteger(offset) || offset < 0)
      return { error: googleError(400, 'invalid', 'Invalid page token', 'INVALID_ARGUMENT') };
    const end = offset + Math.min(size, this.pageCap);
    const next = end < all.length ? Buffer.from(`offset:${end}`).toString('base64url') : undefined;
    return { items: all.slice(offset, end), next };
  }
}
