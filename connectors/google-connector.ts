/**
 * Google Workspace connector: Admin SDK Directory users (persons and last sign-in) and Enterprise License Manager
 * assignments (subscriptions and seats), authenticated as a service account with domain-wide delegation.
 *
 * Contract: `../shared/vendor-contracts.md` §3, checked against the discovery documents (`admin.directory_v1.json`,
 * `licensing.v1.json`): users.list `maxResults` 1..500, assignment lists 1..1000 with a required `customerId`,
 * DELETE answers the `Empty` message, and an assignment's `userId` is the user's *current* primary e-mail.
 */
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { type Config, ConfigError } from '../src/config/config.ts';
import { SHIPPED_CATALOG } from '../src/inventory/catalog.ts';
import type {
  Connector,
  ConnectorDeps,
  DirectoryPerson,
  RemovalResult,
  SeatRef,
  UsageSignal,
  VendorAccount,
  VendorSubscription,
} from './types.ts';
import { VendorError, VendorHttp, type VendorRequest, type VendorResponse } from './vendor-http.ts';

const VENDOR = 'Google';

/** Read-only directory access plus licensing (which also allows revoking a licence, used by `removeSeat`). */
export const GOOGLE_SCOPES = [
  'https://www.googleapis.com/auth/admin.directory.user.readonly',
  'https://www.googleapis.com/auth/apps.licensing',
] as const;

/**
 * License Manager products whose SKUs become subscriptions. `Google-Apps` holds every Workspace edition in the
 * shipped catalog; other products (Vault, Education, AppSheet, ...) can be added here once the catalog knows them.
 */
export const GOOGLE_LICENSE_PRODUCTS: readonly string[] = ['Google-Apps'];

/** Where usage signals from this connector come from (shown next to a seat's last activity). */
export const GOOGLE_USAGE_SOURCE = 'google:lastLoginTime';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google accepts assertions valid for at most one hour. */
const ASSERTION_SECONDS = 3600;
/** Fetch a new token this long before the cached one expires, so no request leaves with a dying token. */
const TOKEN_MARGIN_MS = 60_000;
const USERS_PAGE_SIZE = 500; // users.list maximum (discovery document)
const ASSIGNMENTS_PAGE_SIZE = 1000; // listForProduct maximum (discovery document)
/** Directory quota errors answered with 403: worth retrying after a pause (Directory API "Limits and quotas"). */
const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded']);
const RATE_LIMIT_ATTEMPTS = 6;
/** Google's recommended backoff: 1 s, 2 s, 4 s, ... plus up to 1 s of jitter, capped at 64 s. */
const RATE_LIMIT_BASE_MS = 1000;
const RATE_LIMIT_MAX_MS = 64_000;
/** Google's own sentinel for "never signed in". */
const NEVER = 0;

const emailPattern = /^[^\s@]+@[^\s@]+$/;

// ---------------------------------------------------------------------------------------------------------------
// Vendor payloads (zod): only the fields the connector reads; unknown fields pass through untouched.

const serviceAccountFile = z.object({
  type: z.literal('service_account'),
  client_email: z.string().regex(emailPattern),
  private_key: z.string().min(1),
  private_key_id: z.string().optional(),
});

const tokenResponse = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().positive(),
  token_type: z.string(),
});

const directoryUser = z.object({
  id: z.string().min(1),
  primaryEmail: z.string().regex(emailPattern, 'expected an e-mail address'),
  name: z.object({ fullName: z.string().optional() }).optional(),
  suspended: z.boolean().optional(),
  archived: z.boolean().optional(),
  lastLoginTime: z.iso.datetime({ offset: true }).optional(),
  customerId: z.string().optional(),
  aliases: z.array(z.string().regex(emailPattern, 'expected an e-mail address')).optional(),
  nonEditableAliases: z.array(z.string().regex(emailPattern, 'expected an e-mail address')).optional(),
  orgUnitPath: z.string().optional(),
  // Typed `any` in the discovery document: read leniently, so an odd entry never fails a whole import.
  organizations: z.unknown().optional(),
  relations: z.unknown().optional(),
});
type DirectoryUser = z.infer<typeof directoryUser>;

// Google leaves out `users` / `items` when a page is empty.
const usersPage = z.object({
  users: z.array(directoryUser).optional(),
  nextPageToken: z.string().optional(),
});

const licenseAssignment = z.object({
  userId: z.string().regex(emailPattern, 'expected an e-mail address'),
  productId: z.string().min(1),
  skuId: z.string().min(1),
  skuName: z.string().optional(),
  productName: z.string().optional(),
});
type LicenseAssignment = z.infer<typeof licenseAssignment>;

const assignmentsPage = z.object({
  items: z.array(licenseAssignment).optional(),
  nextPageToken: z.string().optional(),
});

// ---------------------------------------------------------------------------------------------------------------

interface ServiceAccount {
  clientEmail: string;
  keyId?: string;
  key: KeyObject;
}

/**
 * Creates the Google Workspace connector.
 * @throws ConfigError naming the variable when GOOGLE_SERVICE_ACCOUNT_FILE or GOOGLE_ADMIN_SUBJECT is missing, or the
 *   key file cannot be read or is not a service account key (the key itself never appears in the message)
 */
export function createGoogleConnector(config: Config, deps: ConnectorDeps = {}): Connector {
  const file = required(config, 'GOOGLE_SERVICE_ACCOUNT_FILE');
  const subject = required(config, 'GOOGLE_ADMIN_SUBJECT');
  return new GoogleConnector(config, loadServiceAccount(file), subject, deps);
}

function required(config: Config, name: 'GOOGLE_SERVICE_ACCOUNT_FILE' | 'GOOGLE_ADMIN_SUBJECT'): string {
  const value = config[name];
  if (!value) {
    throw new ConfigError(
      name,
      `Configuration error: ${name} is invalid: expected a value for the google connector (it is not set). See README, "Configuration".`,
    );
  }
  return value;
}

function loadServiceAccount(file: string): ServiceAccount {
  const variable = 'GOOGLE_SERVICE_ACCOUNT_FILE';
  const invalid = (why: string) =>
    new ConfigError(
      variable,
      `Configuration error: ${variable} is invalid: ${why} (file ${file}). See README, "Configuration".`,
    );
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw invalid(`cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'read error'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Never echo the content: it is a private key.
    throw invalid('the file is not JSON; expected a service account key file from the Google Cloud console');
  }
  const parsed = serviceAccountFile.safeParse(json);
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path.join('.') || 'content';
    throw invalid(`not a service account key file: '${field}' is missing or invalid`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(parsed.data.private_key);
  } catch {
    throw invalid("'private_key' is not a PEM private key");
  }
  if (key.asymmetricKeyType !== 'rsa') throw invalid("'private_key' is not an RSA key (RS256 needs one)");
  return { clientEmail: parsed.data.client_email, keyId: parsed.data.private_key_id, key };
}

/** Signs the JWT-bearer assertion (RFC 7523) that Google exchanges for an access token. */
function signAssertion(account: ServiceAccount, subject: string, audience: string, now: Date): string {
  const iat = Math.floor(now.getTime() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(account.keyId ? { kid: account.keyId } : {}) };
  const claims = {
    iss: account.clientEmail,
    sub: subject,
    scope: GOOGLE_SCOPES.join(' '),
    aud: audience,
    iat,
    exp: iat + ASSERTION_SECONDS,
  };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  // An RSA key signs RSASSA-PKCS1-v1_5 by default: exactly RS256 with SHA-256.
  return `${input}.${sign('sha256', Buffer.from(input), account.key).toString('base64url')}`;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** A 403 that is Google saying "slow down" rather than "not allowed". */
function isRateLimited(error: unknown): error is VendorError {
  if (!(error instanceof VendorError) || error.status !== 403) return false;
  // vendor-http keeps Google's numeric `error.code`, not `errors[].reason`; Google's messages for these reasons are
  // "Rate Limit Exceeded", "User Rate Limit Exceeded" and "Quota exceeded ...".
  return (
    RATE_LIMIT_REASONS.has(error.code ?? '') || /rate limit exceeded|quota exceeded/i.test(error.message)
  );
}

/** `users[3].primaryEmail` from a zod path. */
function fieldPath(path: readonly PropertyKey[]): string {
  return (
    path.reduce<string>(
      (out, part) =>
        typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part),
      '',
    ) || '(body)'
  );
}

/** Every address of a user, lower-cased, except the primary one. */
function aliasesOf(user: DirectoryUser): string[] {
  const primary = user.primaryEmail.toLowerCase();
  const all = [...(user.aliases ?? []), ...(user.nonEditableAliases ?? [])].map((a) => a.toLowerCase());
  return [...new Set(all)].filter((a) => a !== primary);
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value)
    ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null)
    : [];
}

const text = (value: unknown): string | null =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : null;

function toPerson(user: DirectoryUser): DirectoryPerson {
  const orgs = records(user.organizations);
  const org = orgs.find((o) => o.primary === true) ?? orgs[0];
  const manager = text(records(user.relations).find((r) => r.type === 'manager')?.value);
  // The root organisational unit `/` says nothing about a department.
  const orgUnit = user.orgUnitPath && user.orgUnitPath !== '/' ? user.orgUnitPath : null;
  return {
    email: user.primaryEmail.toLowerCase(),
    aliases: aliasesOf(user),
    displayName: text(user.name?.fullName),
    department: text(org?.department) ?? orgUnit,
    costCenter: text(org?.costCenter),
    managerEmail: manager && emailPattern.test(manager) ? manager.toLowerCase() : null,
    // Suspended and archived users cannot sign in; the directory does not say when anyone left.
    enabled: user.suspended !== true && user.archived !== true,
    externalId: user.id,
  };
}

function lastLogin(user: DirectoryUser): Date | null {
  if (!user.lastLoginTime) return null;
  const at = new Date(user.lastLoginTime);
  return at.getTime() <= NEVER ? null : at;
}

/** `productId/skuId`: SKU ids are unique only within a product. */
function subscriptionKey(productId: string, skuId: string): string {
  return `${productId}/${skuId}`;
}

const catalogNames = new Map(
  SHIPPED_CATALOG.filter((e) => e.publisher === 'Google').map((e) => [e.sku, e.product]),
);

/**
 * What the connector knows of each directory user while it resolves assignments: their immutable id by current
 * primary e-mail, and which ids cannot sign in.
 */
interface DirectoryIndex {
  idByEmail: Map<string, string>;
  disabled: Set<string>;
}

class GoogleConnector implements Connector {
  readonly source = 'google';
  readonly capabilities = { usage: true, directory: true, emails: true, removal: true };

  private readonly directory: VendorHttp;
  private readonly licensing: VendorHttp;
  private readonly tokenHttp: VendorHttp;
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  private cachedToken?: { value: string; expiresAt: number };
  private pendingToken?: Promise<string>;
  private customerId?: string;

  constructor(
    private readonly config: Config,
    private readonly account: ServiceAccount,
    private readonly subject: string,
    private readonly deps: ConnectorDeps,
  ) {
    this.now = deps.now ?? (() => new Date());
    this.sleep = deps.sleep ?? ((ms) => delay(ms));
    const common = {
      vendor: VENDOR,
      sleep: deps.sleep,
      onRetry: deps.onRetry,
      // Google asks for backoff that starts at about a second (License Manager: "wait 5 s and retry" on 503).
      baseBackoffMs: 1000,
      maxBackoffMs: RATE_LIMIT_MAX_MS,
    };
    const auth = {
      authHeaders: async () => ({ authorization: `Bearer ${await this.token()}` }),
      invalidateAuth: () => {
        this.cachedToken = undefined;
      },
    };
    this.directory = new VendorHttp({ ...common, ...auth, baseUrl: config.GOOGLE_DIRECTORY_URL });
    this.licensing = new VendorHttp({ ...common, ...auth, baseUrl: config.GOOGLE_LICENSING_URL });
    this.tokenHttp = new VendorHttp({ ...common, baseUrl: config.GOOGLE_TOKEN_URL });
  }

  /**
   * One subscription per product SKU that has assignments. License Manager has no "subscription with counts"
   * endpoint, so consumed units are the assignments counted here. The purchased number is not in this API (only
   * resellers see seat counts), so enabledUnits = consumedUnits: no seat is ever reported free without evidence.
   * A SKU whose last assignment is revoked therefore stops being listed (and shows as Deleted).
   */
  async *subscriptions(): AsyncIterable<VendorSubscription[]> {
    const customerId = await this.licensingCustomerId();
    const skus = new Map<string, { assignment: LicenseAssignment; count: number }>();
    for (const productId of GOOGLE_LICENSE_PRODUCTS) {
      for await (const page of this.assignmentPages(productId, customerId)) {
        for (const a of page) {
          const key = subscriptionKey(a.productId, a.skuId);
          const entry = skus.get(key) ?? { assignment: a, count: 0 };
          entry.count += 1;
          skus.set(key, entry);
        }
      }
    }
    yield [...skus].map(([key, { assignment: a, count }]) => ({
      key,
      vendor: VENDOR,
      sku: a.skuId,
      name: a.skuName ?? catalogNames.get(a.skuId) ?? a.skuId,
      licenseModel: 'named_user',
      capabilityStatus: 'Enabled',
      consumedUnits: count,
      enabledUnits: count,
    }));
  }

  /**
   * Every assignment, keyed by the user's immutable Directory id. An assignment names the user only by current
   * primary e-mail, so one pass over the directory first builds an e-mail → id index. That index is the one thing
   * here that grows with the organisation: about 100 bytes a user (10 MB per 100,000 users), where asking the
   * Directory per assignment would cost one request per seat against a 2,400 queries/minute quota.
   */
  async *accounts(): AsyncIterable<VendorAccount[]> {
    const index = await this.directoryIndex();
    const customerId = await this.licensingCustomerId();
    for (const productId of GOOGLE_LICENSE_PRODUCTS) {
      for await (const page of this.assignmentPages(productId, customerId)) {
        const accounts: VendorAccount[] = [];
        for (const a of page) {
          const accountId = await this.resolveAccountId(index, a.userId);
          accounts.push({
            subscriptionKey: subscriptionKey(a.productId, a.skuId),
            accountId,
            email: a.userId.toLowerCase(),
            login: null,
            // A suspended user keeps a billable licence: flag it rather than hide it.
            enabled: !index.disabled.has(accountId),
          });
        }
        yield accounts;
      }
    }
  }

  /** Last sign-in per user, for all of their subscriptions. Google's 1970 sentinel means "never". */
  async *usage(): AsyncIterable<UsageSignal[]> {
    for await (const users of this.userPages()) {
      yield users.map((u) => ({
        accountId: u.id,
        lastActivityAt: lastLogin(u),
        source: GOOGLE_USAGE_SOURCE,
      }));
    }
  }

  async *persons(): AsyncIterable<DirectoryPerson[]> {
    for await (const users of this.userPages()) yield users.map(toPerson);
  }

  /** Revokes the licence. The assignment is addressed by the user's current primary e-mail, looked up by id. */
  async removeSeat(seat: SeatRef): Promise<RemovalResult> {
    const key = productSku(seat.subscriptionKey);
    if ('ok' in key) return key;
    const { productId, skuId } = key;
    try {
      const userId = await this.currentPrimaryEmail(seat.accountId);
      if (!userId) {
        return {
          ok: false,
          code: 'userNotFound',
          reason: 'the user is no longer in the Google directory (deleting a user frees its licence)',
          retryable: false,
        };
      }
      const path = `/apps/licensing/v1/product/${enc(productId)}/sku/${enc(skuId)}/user/${enc(userId)}`;
      // The `Empty` message: 200 with `{}` or 204 without a body; both mean revoked.
      const response = await this.send(this.licensing, { method: 'DELETE', path });
      if (response.status !== 200 && response.status !== 204) {
        return { ok: false, reason: `unexpected HTTP ${response.status} to DELETE`, retryable: false };
      }
      return { ok: true, detail: `revoked ${productId}/${skuId} from ${userId}` };
    } catch (error) {
      if (!(error instanceof VendorError)) throw error;
      return vendorFailure(error);
    }
  }

  /**
   * Assigns the licence again (License Manager `insert`, undo of a revocation), to the user's current primary e-mail.
   * A 409 means the user holds it already, which is what was asked.
   */
  async restoreSeat(seat: SeatRef): Promise<RemovalResult> {
    const key = productSku(seat.subscriptionKey);
    if ('ok' in key) return key;
    const { productId, skuId } = key;
    try {
      const userId = await this.currentPrimaryEmail(seat.accountId);
      if (!userId) {
        return {
          ok: false,
          code: 'userNotFound',
          reason: 'the user is no longer in the Google directory, so the licence cannot be given back',
          retryable: false,
        };
      }
      const path = `/apps/licensing/v1/product/${enc(productId)}/sku/${enc(skuId)}/user`;
      await this.send(this.licensing, { method: 'POST', path, body: { userId } });
      return { ok: true, detail: `assigned ${productId}/${skuId} to ${userId}` };
    } catch (error) {
      if (!(error instanceof VendorError)) throw error;
      // A POST retried after an outage may have gone through the first time: the assignment exists, as asked.
      if (error.status === 409)
        return { ok: true, detail: `${seat.email ?? seat.accountId} holds it already` };
      return vendorFailure(error);
    }
  }

  // -------------------------------------------------------------------------------------------------------------

  private async token(): Promise<string> {
    const cached = this.cachedToken;
    if (cached && cached.expiresAt - TOKEN_MARGIN_MS > this.now().getTime()) return cached.value;
    // Concurrent callers share one token request.
    this.pendingToken ??= this.fetchToken().finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  private async fetchToken(): Promise<string> {
    const issuedAt = this.now();
    const tokenUrl = this.config.GOOGLE_TOKEN_URL;
    const body = new URLSearchParams({
      grant_type: JWT_BEARER,
      assertion: signAssertion(this.account, this.subject, tokenUrl, issuedAt),
    });
    const token = await this.getJson(
      this.tokenHttp,
      {
        method: 'POST',
        path: tokenUrl,
        body: body.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        auth: false,
      },
      tokenResponse,
    );
    this.cachedToken = { value: token.access_token, expiresAt: issuedAt.getTime() + token.expires_in * 1000 };
    return token.access_token;
  }

  /**
   * Sends through vendor-http (429/5xx/timeouts/401) and also retries Google's 403 quota errors, which vendor-http
   * treats as final.
   */
  private async send(http: VendorHttp, request: VendorRequest): Promise<VendorResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await http.send(request);
      } catch (error) {
        if (!isRateLimited(error)) throw error;
        if (attempt >= RATE_LIMIT_ATTEMPTS) {
          const reason = error.message.slice(error.message.indexOf(': ') + 2);
          throw new VendorError(
            VENDOR,
            http.endpoint(request),
            error.status,
            error.code,
            `${reason} (gave up after ${RATE_LIMIT_ATTEMPTS} attempts)`,
          );
        }
        const waitMs =
          Math.min(RATE_LIMIT_MAX_MS, RATE_LIMIT_BASE_MS * 2 ** (attempt - 1)) +
          Math.round(Math.random() * 1000);
        this.deps.onRetry?.({ endpoint: http.endpoint(request), attempt, waitMs, reason: error.message });
        await this.sleep(waitMs);
      }
    }
  }

  /** GETs (or sends) JSON and checks it against the contract; a mismatch names vendor, endpoint and field. */
  private async getJson<T>(http: VendorHttp, request: VendorRequest, schema: z.ZodType<T>): Promise<T> {
    const response = await this.send(http, request);
    const endpoint = http.endpoint(request);
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      throw new VendorError(
        VENDOR,
        endpoint,
        response.status,
        undefined,
        'the response is not valid JSON (truncated or malformed)',
      );
    }
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new VendorError(
      VENDOR,
      endpoint,
      response.status,
      'contract',
      `the response does not match the contract: ${fieldPath(issue?.path ?? [])}: ${issue?.message ?? 'invalid'}`,
    );
  }

  /** Follows `nextPageToken` until Google leaves it out. */
  private async *pages<T extends { nextPageToken?: string }>(
    http: VendorHttp,
    path: string,
    query: Record<string, string | number>,
    schema: z.ZodType<T>,
  ): AsyncGenerator<T> {
    let pageToken: string | undefined;
    // Every token followed so far: a token back to any earlier page (not only the last one) would page forever.
    const followed = new Set<string>();
    do {
      const page = await this.getJson(http, { path, query: { ...query, pageToken } }, schema);
      yield page;
      if (page.nextPageToken && (page.nextPageToken === pageToken || followed.has(page.nextPageToken))) {
        throw new VendorError(
          VENDOR,
          `GET ${path}`,
          200,
          'contract',
          'a nextPageToken came back that was already followed (the paging loops)',
        );
      }
      pageToken = page.nextPageToken || undefined;
      if (pageToken) followed.add(pageToken);
    } while (pageToken);
  }

  private async *userPages(): AsyncGenerator<DirectoryUser[]> {
    const query = { customer: this.config.GOOGLE_CUSTOMER_ID, maxResults: USERS_PAGE_SIZE };
    for await (const page of this.pages(this.directory, '/admin/directory/v1/users', query, usersPage)) {
      yield page.users ?? [];
    }
  }

  private async *assignmentPages(productId: string, customerId: string): AsyncGenerator<LicenseAssignment[]> {
    const path = `/apps/licensing/v1/product/${enc(productId)}/users`;
    const query = { customerId, maxResults: ASSIGNMENTS_PAGE_SIZE };
    for await (const page of this.pages(this.licensing, path, query, assignmentsPage)) yield page.items ?? [];
  }

  /**
   * The customer id License Manager needs. Its reference asks for the real id (`C0…`) and documents no
   * `my_customer` alias, so with the default `my_customer` the id is read from a Directory user (`customerId`).
   */
  private async licensingCustomerId(): Promise<string> {
    if (this.customerId) return this.customerId;
    const configured = this.config.GOOGLE_CUSTOMER_ID;
    if (configured !== 'my_customer') {
      this.customerId = configured;
      return configured;
    }
    const page = await this.getJson(
      this.directory,
      { path: '/admin/directory/v1/users', query: { customer: configured, maxResults: 1 } },
      usersPage,
    );
    const id = page.users?.[0]?.customerId;
    if (!id) {
      throw new ConfigError(
        'GOOGLE_CUSTOMER_ID',
        'Configuration error: GOOGLE_CUSTOMER_ID is invalid: the directory did not reveal the customer id behind my_customer; set it to the id shown in the Admin console (C0…). See README, "Configuration".',
      );
    }
    this.customerId = id;
    return id;
  }

  private async directoryIndex(): Promise<DirectoryIndex> {
    const index: DirectoryIndex = { idByEmail: new Map(), disabled: new Set() };
    for await (const users of this.userPages()) {
      for (const u of users) {
        index.idByEmail.set(u.primaryEmail.toLowerCase(), u.id);
        if (u.suspended || u.archived) index.disabled.add(u.id);
      }
    }
    return index;
  }

  /**
   * The Directory id behind an assignment's e-mail. A user renamed after the directory pass is looked up once by
   * the new address (users.get accepts any of a user's addresses).
   */
  private async resolveAccountId(index: DirectoryIndex, email: string): Promise<string> {
    const key = email.toLowerCase();
    const known = index.idByEmail.get(key);
    if (known) return known;
    const user = await this.getUser(key);
    if (user) {
      index.idByEmail.set(key, user.id);
      if (user.suspended || user.archived) index.disabled.add(user.id);
      return user.id;
    }
    // A licence held by an address the directory does not know: still a paid seat, so keep it visible under its
    // address rather than drop it; the `email:` prefix keeps it apart from real ids.
    return `email:${key}`;
  }

  private async currentPrimaryEmail(accountId: string): Promise<string | null> {
    if (accountId.startsWith('email:')) return accountId.slice('email:'.length);
    return (await this.getUser(accountId))?.primaryEmail ?? null;
  }

  /** users.get by id or any address; null when the directory has no such user. */
  private async getUser(userKey: string): Promise<DirectoryUser | null> {
    try {
      return await this.getJson(
        this.directory,
        { path: `/admin/directory/v1/users/${enc(userKey)}` },
        directoryUser,
      );
    } catch (error) {
      if (error instanceof VendorError && error.status === 404) return null;
      throw error;
    }
  }
}

/** A path segment; `@` is legal in one and keeps e-mails readable in logs and errors. */
const enc = (segment: string) => encodeURIComponent(segment).replace(/%40/g, '@');

/** `productId/skuId` (a subscription key) split in two, or the failure to report for a key that is not one. */
function productSku(key: string): { productId: string; skuId: string } | RemovalResult {
  const slash = key.indexOf('/');
  const skuId = key.slice(slash + 1);
  if (slash <= 0 || !skuId) {
    return { ok: false, reason: `'${key}' is not a Google product/SKU key`, retryable: false };
  }
  return { productId: key.slice(0, slash), skuId };
}

/** A seat call's vendor error as a failure: retryable when the vendor was unreachable, throttling or failing. */
function vendorFailure(error: VendorError): RemovalResult {
  const retryable = error.status === 0 || error.status === 429 || error.status >= 500 || isRateLimited(error);
  return { ok: false, reason: error.message, code: error.code ?? `HTTP ${error.status}`, retryable };
}
