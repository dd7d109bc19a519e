/**
 * Adobe Admin Console through the User Management API (UMAPI), per `vendor-contracts.md` §2.
 *
 * - Subscriptions are product profiles (`GET /v2/usermanagement/groups/{orgId}/{page}`, type `PRODUCT_PROFILE`):
 *   key = the profile's `groupId`, units from `licenseQuota` (a string; `"UNLIMITED"` means no cap on the profile),
 *   consumed = `memberCount`.
 * - Accounts are users (`GET /v2/usermanagement/users/{orgId}/{page}?directOnly=false`) × the product profiles among
 *   their `groups`; admin, developer and user groups are not seats.
 * - UMAPI reports no activity at all, so there is no `usage()`: an Adobe seat is never called idle on Adobe's word.
 * - A seat is removed with the action API (`remove` from the profile) and restored by `add`; `result`/`errors` are
 *   checked even on HTTP 200.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type Config, ConfigError } from '../src/config/config.ts';
import { SHIPPED_CATALOG } from '../src/inventory/catalog.ts';
import type {
  Connector,
  ConnectorDeps,
  RemovalResult,
  SeatRef,
  VendorAccount,
  VendorSubscription,
} from './types.ts';
import { VendorError, VendorHttp, type VendorRequest } from './vendor-http.ts';

const VENDOR = 'Adobe';
/** Scopes of an OAuth server-to-server credential with the User Management API. */
export const ADOBE_SCOPES = 'openid,AdobeID,user_management_sdk';
/** A vendor that never says `lastPage: true` must not keep us paging forever. */
const MAX_PAGES = 100_000;

const tokenResponse = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().positive(),
});

const pageEnvelope = z.object({ lastPage: z.boolean(), result: z.string() });
const groupsPage = pageEnvelope.extend({ groups: z.array(z.unknown()).optional() });
const anyGroup = z.object({ groupName: z.string().min(1), type: z.string().min(1) });
const productProfile = z.object({
  // Documented as a long; a string of digits is accepted too, as ids are only ever used as text here.
  groupId: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, 'expected a numeric id')]),
  groupName: z.string().min(1),
  memberCount: z.number().int().nonnegative(),
  productName: z.string().min(1).optional(),
  licenseQuota: z.union([z.string(), z.number()]).optional(),
});

const usersPage = pageEnvelope.extend({
  users: z
    .array(
      z.object({
        id: z.string().min(1).optional(),
        email: z.string().min(1).optional(),
        username: z.string().min(1).optional(),
        status: z.string().optional(),
        groups: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

const actionResponse = z.object({
  result: z.string(),
  completed: z.number().int().optional(),
  notCompleted: z.number().int().optional(),
  message: z.string().optional(),
  errors: z
    .array(
      z.object({
        index: z.number().int().optional(),
        message: z.string().optional(),
        errorCode: z.string().optional(),
        requestID: z.string().optional(),
        user: z.string().optional(),
      }),
    )
    .optional(),
});

/** Action results that say "not now" rather than "no": the removal can be tried again later. */
const RETRYABLE_RESULTS = new Set([
  'error.organization.migrating',
  'error.throttled_by_external_service',
  'error.api.not_available',
]);

// Catalog products published by Adobe, longest name first so "Acrobat Pro" wins over a shorter name it contains.
const ADOBE_CATALOG = SHIPPED_CATALOG.filter((e) => e.publisher === 'Adobe')
  .map((e) => ({ sku: e.sku, name: normalizeProductName(e.product) }))
  .sort((a, b) => b.name.length - a.name.length);
/** Adobe's names for catalog products that do not contain the catalog's name. */
const ADOBE_ALIASES: { pattern: RegExp; sku: string }[] = [
  { pattern: /\ball apps\b/, sku: 'ADOBE_CC_ALL_APPS' },
];

/**
 * Lower case, without what Adobe appends to a product's name: contract details in parentheses ("(ETLA,ETLA - …)"),
 * a storage tier (" - 100 GB"), the retired "DC" suffix, a leading "Adobe", "plan".
 */
function normalizeProductName(name: string): string {
  return name
    .toLowerCase()
    .replace(/\([^)]*\)/g, ' ')
    .replace(/\s+-\s+\d+\s*[gt]b\b.*$/, ' ')
    .replace(/^\s*adobe\s+/, ' ')
    .replace(/\b(dc|plan)\b/g, ' ')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/**
 * The SKU of a product profile, from its `productName`: the shipped catalog's id when the product is one of its Adobe
 * products (`ADOBE_CC_ALL_APPS`, `ADOBE_ACROBAT_PRO`, ...), else `ADOBE_` + the normalized product name, which stays
 * the same across profiles of one product and across imports.
 */
export function adobeSku(productName: string): string {
  const name = normalizeProductName(productName);
  const padded = ` ${name} `;
  const hit =
    ADOBE_CATALOG.find((e) => e.name !== '' && padded.includes(` ${e.name} `)) ??
    ADOBE_ALIASES.find((a) => a.pattern.test(name));
  if (hit) return hit.sku;
  const slug = name.replace(/ /g, '_').toUpperCase().slice(0, 190);
  return `ADOBE_${slug || 'PRODUCT'}`;
}

/** `licenseQuota` is a string: a count, or "UNLIMITED" when the profile has no cap of its own. */
function parseQuota(raw: string | number | undefined): { unlimited: boolean; units: number } | undefined {
  // Absent: the profile sets no quota, which the Admin Console shows as unlimited.
  if (raw === undefined) return { unlimited: true, units: 0 };
  const text = String(raw).trim();
  if (/^\d+$/.test(text)) return { unlimited: false, units: Number(text) };
  if (/^unlimited$/i.test(text)) return { unlimited: true, units: 0 };
  return undefined;
}

/** `users[3].email` from a zod path. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, part) =>
      typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part),
    '',
  );
}

function contractError(endpoint: string, status: number, field: string, message: string): VendorError {
  return new VendorError(
    VENDOR,
    endpoint,
    status,
    'contract',
    `the response does not match the contract: ${field || '(body)'}: ${message}`,
  );
}

/** Parses `value` or fails naming the vendor, the endpoint and the field. */
function parse<T>(
  schema: z.ZodType<T>,
  value: unknown,
  endpoint: string,
  status: number,
  prefix: PropertyKey[] = [],
): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw contractError(
    endpoint,
    status,
    fieldPath([...prefix, ...(issue?.path ?? [])]),
    issue?.message ?? 'invalid',
  );
}

interface Profile {
  key: string;
  name: string;
  subscription: VendorSubscription;
}

class AdobeConnector implements Connector {
  readonly source = 'adobe';
  readonly capabilities = { usage: false, directory: false, emails: true, removal: true };

  private readonly http: VendorHttp;
  private readonly ims: VendorHttp;
  private readonly now: () => Date;
  private token?: { value: string; refreshAt: number };
  private pendingToken?: Promise<string>;
  /** Product profile name → key, from the last complete listing. Small (profiles, not users), so kept. */
  private profiles?: Map<string, string>;

  constructor(
    private readonly orgId: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
    config: Config,
    deps: ConnectorDeps,
  ) {
    this.now = deps.now ?? (() => new Date());
    const shared = {
      sleep: deps.sleep,
      onRetry: deps.onRetry,
      // UMAPI limits are per minute (5/min on groups): backoff steps of 2 s doubling up to 60 s span that window.
      baseBackoffMs: 2_000,
      maxBackoffMs: 60_000,
    };
    this.ims = new VendorHttp({ vendor: 'Adobe IMS', baseUrl: config.ADOBE_IMS_URL, ...shared });
    this.http = new VendorHttp({
      vendor: VENDOR,
      baseUrl: config.ADOBE_UMAPI_URL,
      headers: { 'x-api-key': clientId, accept: 'application/json' },
      authHeaders: async () => ({ authorization: `Bearer ${await this.accessToken()}` }),
      invalidateAuth: () => {
        this.token = undefined;
      },
      ...shared,
    });
  }

  async *subscriptions(): AsyncIterable<VendorSubscription[]> {
    const names = new Map<string, string>();
    for await (const page of this.profilePages()) {
      for (const p of page) names.set(p.name, p.key);
      yield page.map((p) => p.subscription);
    }
    // Only a complete listing replaces the previous one: accounts() must not drop seats of unlisted profiles.
    this.profiles = names;
  }

  async *accounts(): AsyncIterable<VendorAccount[]> {
    // The pipeline lists subscriptions first; reusing that listing spares the groups endpoint (5 requests/min).
    const profiles = this.profiles ?? (await this.listProfiles());
    // directOnly=false: a profile held through a user group is a seat too (and is counted in memberCount).
    for await (const { body, endpoint, status } of this.pages('users', { directOnly: 'false' })) {
      const { users = [] } = parse(usersPage, body, endpoint, status);
      const page: VendorAccount[] = [];
      users.forEach((user, i) => {
        // `id` is the user's unique, immutable identifier; the e-mail stands in only when Adobe omits it.
        const accountId = user.id ?? (user.email ? `email:${user.email.toLowerCase()}` : undefined);
        if (!accountId) throw contractError(endpoint, status, `users[${i}].id`, 'expected an id or an email');
        for (const group of new Set(user.groups ?? [])) {
          const key = profiles.get(group);
          if (key === undefined) continue; // an admin, developer or user group: not a seat
          page.push({
            subscriptionKey: key,
            accountId,
            email: user.email ?? null,
            login: user.username ?? null,
            enabled: user.status === undefined || user.status === 'active',
            // UMAPI has no activity data: leave it unknown rather than invent it.
            lastActivityAt: null,
            lastActivitySource: null,
          });
        }
      });
      yield page;
    }
  }

  async removeSeat(seat: SeatRef): Promise<RemovalResult> {
    return this.profileAction(seat, 'remove');
  }

  /** Adds the user back to the product profile (undo of a removal). */
  async restoreSeat(seat: SeatRef): Promise<RemovalResult> {
    return this.profileAction(seat, 'add');
  }

  /** One action-API command that adds the seat's user to, or removes it from, the seat's product profile. */
  private async profileAction(seat: SeatRef, step: 'add' | 'remove'): Promise<RemovalResult> {
    const user = seat.email ?? seat.login;
    if (!user) {
      return {
        ok: false,
        reason: 'the seat has no e-mail or user name to name in an Adobe action',
        retryable: false,
      };
    }
    try {
      const profile = await this.profileName(seat.subscriptionKey);
      if (!profile) {
        return {
          ok: false,
          code: 'error.group.not_found',
          reason: `Adobe lists no product profile with id ${seat.subscriptionKey}`,
          retryable: false,
        };
      }
      const requestID = `seatkeeper-${randomUUID()}`;
      const request: VendorRequest = {
        method: 'POST',
        path: `/v2/usermanagement/action/${this.org()}`,
        body: [{ user, requestID, do: [{ [step]: { group: [profile] } }] }],
      };
      const endpoint = this.http.endpoint(request);
      const { body, response } = await this.http.json(request);
      const answer = actionResponse.safeParse(body);
      if (!answer.success) {
        const issue = answer.error.issues[0];
        const error = contractError(
          endpoint,
          response.status,
          fieldPath(issue?.path ?? []),
          issue?.message ?? '',
        );
        return { ok: false, code: 'contract', reason: error.message, retryable: false };
      }
      const { result, completed = 0, errors = [], message } = answer.data;
      // HTTP 200 means "understood and at least partly done": only `success`, no errors, and a completed command
      // mean the change was made.
      if (result === 'success' && errors.length === 0 && completed >= 1) {
        const detail =
          step === 'remove'
            ? `removed ${user} from Adobe product profile "${profile}"`
            : `added ${user} to Adobe product profile "${profile}"`;
        return { ok: true, detail };
      }
      const first = errors[0];
      const code = first?.errorCode ?? result;
      const detail = first?.message ?? message ?? `${completed} of 1 command completed`;
      return {
        ok: false,
        code,
        reason: `${VENDOR} ${endpoint}: result ${result}: ${code}: ${detail}`,
        retryable: RETRYABLE_RESULTS.has(code),
      };
    } catch (error) {
      if (!(error instanceof VendorError)) throw error;
      const transient =
        error.status === 0 || error.status === 408 || error.status === 429 || error.status >= 500;
      return { ok: false, code: error.code, reason: error.message, retryable: transient };
    }
  }

  /** The org id as a path segment (`…@AdobeOrg` stays readable in URLs and errors). */
  private org(): string {
    return encodeURIComponent(this.orgId).replace(/%40/g, '@');
  }

  /** Pages from 0 until `lastPage` (a page past the end would return the last page again, not an empty one). */
  private async *pages(
    kind: 'users' | 'groups',
    query?: Record<string, string>,
  ): AsyncGenerator<{ body: unknown; endpoint: string; status: number }> {
    for (let page = 0; page < MAX_PAGES; page++) {
      const request: VendorRequest = { path: `/v2/usermanagement/${kind}/${this.org()}/${page}`, query };
      const endpoint = this.http.endpoint(request);
      const { body, response } = await this.http.json(request);
      const envelope = parse(pageEnvelope, body, endpoint, response.status);
      // An empty groups listing answers "Not found" with lastPage; any other result is the vendor saying no.
      const empty = kind === 'groups' && envelope.result === 'Not found' && envelope.lastPage;
      if (envelope.result !== 'success' && !empty) {
        throw new VendorError(
          VENDOR,
          endpoint,
          response.status,
          envelope.result,
          `result ${envelope.result}`,
        );
      }
      yield { body, endpoint, status: response.status };
      if (envelope.lastPage) return;
    }
    throw new VendorError(
      VENDOR,
      `GET /v2/usermanagement/${kind}`,
      200,
      undefined,
      `no last page after ${MAX_PAGES}`,
    );
  }

  /** Product profiles, one array per groups page; other group types are skipped. */
  private async *profilePages(): AsyncGenerator<Profile[]> {
    for await (const { body, endpoint, status } of this.pages('groups')) {
      const { groups = [] } = parse(groupsPage, body, endpoint, status);
      const page: Profile[] = [];
      groups.forEach((raw, i) => {
        const group = parse(anyGroup, raw, endpoint, status, ['groups', i]);
        if (group.type !== 'PRODUCT_PROFILE') return;
        const p = parse(productProfile, raw, endpoint, status, ['groups', i]);
        const quota = parseQuota(p.licenseQuota);
        if (!quota) {
          throw contractError(
            endpoint,
            status,
            `groups[${i}].licenseQuota`,
            `expected a number of licenses or "UNLIMITED", got ${JSON.stringify(p.licenseQuota)}`,
          );
        }
        const key = String(p.groupId);
        const product = p.productName ?? p.groupName;
        page.push({
          key,
          name: p.groupName,
          subscription: {
            key,
            vendor: VENDOR,
            sku: adobeSku(product),
            name: p.groupName.toLowerCase().includes(product.toLowerCase())
              ? p.groupName
              : `${product}: ${p.groupName}`,
            unlimited: quota.unlimited,
            capabilityStatus: 'Enabled',
            consumedUnits: p.memberCount,
            enabledUnits: quota.units,
          },
        });
      });
      yield page;
    }
  }

  private async listProfiles(): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for await (const page of this.profilePages()) for (const p of page) names.set(p.name, p.key);
    this.profiles = names;
    return names;
  }

  /** The profile name the action API wants, for a subscription key; lists the groups when not known yet. */
  private async profileName(key: string): Promise<string | undefined> {
    const find = (names: Map<string, string>) => [...names].find(([, k]) => k === key)?.[0];
    const known = this.profiles && find(this.profiles);
    return known ?? find(await this.listProfiles());
  }

  /** A cached server-to-server token, fetched again shortly before it expires (or after a 401). */
  private async accessToken(): Promise<string> {
    const now = this.now().getTime();
    if (this.token && now < this.token.refreshAt) return this.token.value;
    this.pendingToken ??= this.fetchToken().finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  private async fetchToken(): Promise<string> {
    const request: VendorRequest = {
      method: 'POST',
      path: '/ims/token/v3',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      // In the body, not the query string: query strings end up in proxy logs.
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.clientId,
        client_secret: this.clientSecret,
        scope: ADOBE_SCOPES,
      }).toString(),
    };
    const { body, response } = await this.ims.json(request);
    const token = parse(tokenResponse, body, this.ims.endpoint(request), response.status);
    const issuedAt = this.now().getTime();
    const lifetimeMs = token.expires_in * 1000;
    // Refresh early (10% of the lifetime, at most 5 min) so a token does not expire between check and use.
    this.token = {
      value: token.access_token,
      refreshAt: issuedAt + lifetimeMs - Math.min(300_000, lifetimeMs / 10),
    };
    return token.access_token;
  }
}

/**
 * The Adobe Admin Console connector (source `adobe`).
 * @throws ConfigError when ADOBE_ORG_ID, ADOBE_CLIENT_ID or ADOBE_CLIENT_SECRET is not set
 */
export function createAdobeConnector(config: Config, deps: ConnectorDeps = {}): Connector {
  const required = ['ADOBE_ORG_ID', 'ADOBE_CLIENT_ID', 'ADOBE_CLIENT_SECRET'] as const;
  const missing = required.filter((name) => !config[name]);
  if (missing.length > 0) {
    throw new ConfigError(
      missing[0] as string,
      `Configuration error: the adobe connector needs ${required.join(', ')}; ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set. See README, "Configuration".`,
    );
  }
  return new AdobeConnector(
    config.ADOBE_ORG_ID as string,
    config.ADOBE_CLIENT_ID as string,
    config.ADOBE_CLIENT_SECRET as string,
    config,
    deps,
  );
}
