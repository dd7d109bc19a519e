/**
 * A Microsoft Graph fake on the HTTPS FakeServer, reproducing the contract in `../shared/vendor-contracts.md` §1:
 * the client-credentials token endpoint, `subscribedSkus`, `directory/subscriptions`, `/users` with `$select`,
 * `$top` and opaque `@odata.nextLink` paging (pages capped at 120 when `signInActivity` is selected, and smaller
 * still when told), the Office 365 active user detail report (302 to a pre-signed download that refuses an
 * Authorization header; concealed names on demand) and `assignLicense` (refuses group-inherited licenses).
 * Errors use OData bodies. Faults (429, 5xx, hangs) come from `server.inject`.
 *
 * For shadow IT: `servicePrincipals` (`$select`, `$top` ≤ 999) and `oauth2PermissionGrants` (no `$top`: Graph's
 * own page size), both paged by opaque `$skiptoken` next links, from `servicePrincipals` and `permissionGrants`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FakeReply, FakeRequest, Fault } from './fake-server.ts';
import { FakeServer } from './fake-server.ts';
import { contosoOrg, type GraphOrg, type GraphUser } from './graph-fixtures.ts';

/** A service principal: the local instance of an application in the tenant (Graph's fields). */
export interface GraphServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  /** The tenant that registered the app; Microsoft's apps come from Microsoft's tenants. */
  appOwnerOrganizationId: string | null;
  servicePrincipalType: 'Application' | 'ManagedIdentity' | 'Legacy' | 'SocialIdp';
  accountEnabled: boolean;
  publisherName: string | null;
  tags: string[];
}

/** A delegated permission grant (`oAuth2PermissionGrant`). */
export interface GraphPermissionGrant {
  id: string;
  /** Object id of the client app's service principal. */
  clientId: string;
  /** `AllPrincipals` (admin consent for everyone) or `Principal` (one user consented). */
  consentType: 'AllPrincipals' | 'Principal';
  /** The consenting user's object id; null for AllPrincipals. */
  principalId: string | null;
  /** Object id of the API's service principal (e.g. Microsoft Graph). */
  resourceId: string;
  /** Space-separated delegated permissions. */
  scope: string;
}

export interface GraphFakeOptions {
  org?: GraphOrg;
  clientId?: string;
  clientSecret?: string;
}

/** Properties Graph returns for a user when no `$select` is given. */
const DEFAULT_USER_FIELDS = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];

const REPORT_COLUMNS = [
  'Report Refresh Date',
  'User Principal Name',
  'Display Name',
  'Is Deleted',
  'Deleted Date',
  'Has Exchange License',
  'Has OneDrive License',
  'Has SharePoint License',
  'Has Skype For Business License',
  'Has Yammer License',
  'Has Teams License',
  'Exchange Last Activity Date',
  'OneDrive Last Activity Date',
  'SharePoint Last Activity Date',
  'Skype For Business Last Activity Date',
  'Yammer Last Activity Date',
  'Teams Last Activity Date',
  'Exchange License Assign Date',
  'OneDrive License Assign Date',
  'SharePoint License Assign Date',
  'Skype For Business License Assign Date',
  'Yammer License Assign Date',
  'Teams License Assign Date',
  'Assigned Products',
];

const PRODUCT_NAMES: Record<string, string> = {
  ENTERPRISEPACK: 'OFFICE 365 E3',
  SPE_E5: 'MICROSOFT 365 E5',
  POWER_BI_PRO: 'POWER BI PRO',
};

/** An OData error reply. */
export function odataError(status: number, code: string, message: string, headers?: Record<string, string>) {
  return {
    status,
    headers,
    body: {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().slice(0, 19),
          'request-id': '7f1e3a52-9d8c-4b0f-a1e6-3c5d2b7e9f40',
          'client-request-id': '7f1e3a52-9d8c-4b0f-a1e6-3c5d2b7e9f40',
        },
      },
    },
  } satisfies FakeReply;
}

/** A 429 as Graph sends it: `Retry-After` in seconds and a TooManyRequests body. */
export function throttled(retryAfterSeconds: number, path?: RegExp): Fault {
  return {
    path,
    ...odataError(429, 'TooManyRequests', 'Too many requests.', { 'retry-after': String(retryAfterSeconds) }),
  };
}

/** A 5xx with an OData body. */
export function outage(status: 500 | 502 | 503 | 504, path?: RegExp): Fault {
  const codes = {
    500: 'generalException',
    502: 'badGateway',
    503: 'serviceNotAvailable',
    504: 'gatewayTimeout',
  };
  return { path, ...odataError(status, codes[status], 'The service is temporarily unavailable.') };
}

interface Cursor {
  offset: number;
  select: string[];
  top: number;
  page: number;
  query: string;
}

export class GraphFake {
  readonly server = new FakeServer();
  org: GraphOrg;
  readonly clientId: string;
  readonly clientSecret: string;
  /** `expires_in` of new tokens; the fake also enforces it. */
  tokenLifetimeSeconds = 3599;
  /** Largest page returned whatever `$top` asks (Graph may return fewer than asked). */
  maxPageSize = Number.POSITIVE_INFINITY;
  /** When set, page k (0-based) is this much smaller than the cap, by `shrink(k)` users. */
  shrinkPages?: (page: number) => number;
  /** Page numbers (0-based) returned empty, with a next link (Graph allows empty pages). */
  emptyPages = new Set<number>();
  /** Hide user names in reports (the tenant's `displayConcealedNames`). */
  concealedNames = false;
  /** Service principals and delegated permission grants of the tenant (shadow IT). */
  servicePrincipals: GraphServicePrincipal[] = [];
  permissionGrants: GraphPermissionGrant[] = [];
  /** Page size of `oauth2PermissionGrants` (Graph's default; the call takes no `$top`). */
  grantsPageSize = 100;
  /**
   * When set, the `/users` page with this number (from 0) links back to page 1 with the very link issued for it
   * before, as a directory whose paging state broke under concurrent changes does: a client that trusts
   * next-page links blindly pages forever.
   */
  usersLinkBackAtPage?: number;
  /** Called when a `/users` page is served (page number from 0), e.g. to expire tokens or inject faults. */
  onUsersPage?: (page: number, req: FakeRequest) => void;

  /** Tokens issued so far; Graph calls rejected for a missing, unknown or expired token. */
  tokensIssued = 0;
  rejectedTokens = 0;
  private readonly tokens = new Map<string, number>();
  private readonly cursors = new Map<string, Cursor>();
  /** The `/users` next links issued, by the page number they lead to (for `usersLinkBackAtPage`). */
  private readonly usersLinks = new Map<number, { token: string; cursor: Cursor; link: string }>();
  private readonly downloads = new Map<string, { sig: string; csv: string }>();
  private readonly listCursors = new Map<
    string,
    { offset: number; select?: string[]; top: number; path: string }
  >();

  constructor(options: GraphFakeOptions = {}) {
    this.org = options.org ?? contosoOrg();
    this.clientId = options.clientId ?? '3f2a6c1d-8e4b-4a7f-9d0c-5b1e2f3a4c6d';
    this.clientSecret = options.clientSecret ?? 'fake~Secret.0123456789abcdefghij';
    const v1 = (path: string) => new RegExp(`^/v1\\.0${path}$`);
    this.server
      .route('POST', /^\/([^/]+)\/oauth2\/v2\.0\/token$/, (req) => this.token(req))
      .route('GET', v1('/subscribedSkus'), (req) => this.authed(req, () => this.subscribedSkus(req)))
      .route('GET', v1('/directory/subscriptions'), (req) =>
        this.authed(req, () => ({
          body: { '@odata.context': this.context('directory/subscriptions'), value: this.org.subscriptions },
        })),
      )
      .route('GET', v1('/users'), (req) => this.authed(req, () => this.users(req)))
      .route('GET', v1("/reports/getOffice365ActiveUserDetail\\(period='([^']*)'\\)"), (req) =>
        this.authed(req, () => this.report(req)),
      )
      .route('GET', /^\/reports-download\/([0-9a-f]+)$/, (req) => this.download(req))
      .route('POST', v1('/users/([^/]+)/assignLicense'), (req) =>
        this.authed(req, () => this.assignLicense(req)),
      )
      .route('GET', v1('/servicePrincipals'), (req) =>
        this.authed(req, () => this.list(req, 'servicePrincipals', this.servicePrincipals, true)),
      )
      .route('GET', v1('/oauth2PermissionGrants'), (req) =>
        this.authed(req, () => this.list(req, 'oauth2PermissionGrants', this.permissionGrants, false)),
      );
  }

  /** A plain paged collection: `$select` projection, `$top` where Graph allows it, `$skiptoken` next links. */
  private list(req: FakeRequest, name: string, items: readonly object[], topAllowed: boolean): FakeReply {
    const skiptoken = req.query.get('$skiptoken');
    let cursor: { offset: number; select?: string[]; top: number; path: string };
    if (skiptoken !== null) {
      const found = this.listCursors.get(skiptoken);
      if (!found || found.path !== name) {
        return odataError(
          400,
          'Directory_ExpiredPageToken',
          'The specified page token value has expired or is invalid.',
        );
      }
      this.listCursors.delete(skiptoken);
      cursor = found;
    } else {
      if (req.query.has('$top') && !topAllowed) {
        return odataError(400, 'Request_UnsupportedQuery', `Unsupported query: $top on ${name}.`);
      }
      const top = req.query.has('$top')
        ? Number(req.query.get('$top'))
        : topAllowed
          ? 100
          : this.grantsPageSize;
      if (!Number.isInteger(top) || top < 1 || top > 999) {
        return odataError(
          400,
          'Request_UnsupportedQuery',
          `Invalid page size specified: '${req.query.get('$top')}'. Must be between 1 and 999 inclusive.`,
        );
      }
      cursor = { offset: 0, select: selectList(req), top, path: name };
    }
    const slice = items.slice(cursor.offset, cursor.offset + cursor.top);
    const offset = cursor.offset + slice.length;
    const body: Record<string, unknown> = {
      '@odata.context': this.context(name),
      value: slice.map((item) => (cursor.select ? project(item, cursor.select) : item)),
    };
    if (offset < items.length) {
      const token = randomBytes(18).toString('base64url');
      this.listCursors.set(token, { ...cursor, offset });
      const select = cursor.select ? `$select=${cursor.select.join(',')}&` : '';
      const top = topAllowed ? `$top=${cursor.top}&` : '';
      body['@odata.nextLink'] = `${this.url}/v1.0/${name}?${select}${top}$skiptoken=${token}`;
    }
    return { body };
  }

  get url(): string {
    return this.server.url;
  }

  async start(): Promise<this> {
    await this.server.start();
    return this;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** Every token issued so far stops working at once (as if they expired mid-import). */
  expireTokens(): void {
    for (const token of this.tokens.keys()) this.tokens.set(token, 0);
  }

  /** The user as the fake holds it now. */
  user(id: string): GraphUser | undefined {
    return this.org.users.find((u) => u.id === id);
  }

  private context(what: string): string {
    return `${this.url}/v1.0/$metadata#${what}`;
  }

  private token(req: FakeRequest): FakeReply {
    const aad = (status: number, error: string, code: number, description: string): FakeReply => ({
      status,
      body: {
        error,
        error_description: `AADSTS${code}: ${description} Trace ID: 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b`,
        error_codes: [code],
        timestamp: new Date().toISOString().replace('T', ' ').slice(0, 19),
      },
    });
    if (req.params[0] !== this.org.tenantId)
      return aad(400, 'invalid_request', 90002, `Tenant '${req.params[0]}' not found.`);
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      return aad(400, 'invalid_request', 900144, "The request body must contain the parameter 'grant_type'.");
    const form = req.form;
    if (form.get('grant_type') !== 'client_credentials')
      return aad(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (form.get('client_id') !== this.clientId)
      return aad(400, 'unauthorized_client', 700016, 'Application was not found in the directory.');
    if (form.get('client_secret') !== this.clientSecret)
      return aad(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    if (form.get('scope') !== `${this.url}/.default`)
      return aad(400, 'invalid_scope', 1002012, 'The provided value for scope is not valid.');
    const token = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, Date.now() + this.tokenLifetimeSeconds * 1000);
    this.tokensIssued++;
    return {
      body: {
        token_type: 'Bearer',
        expires_in: this.tokenLifetimeSeconds,
        ext_expires_in: this.tokenLifetimeSeconds,
        access_token: token,
      },
    };
  }

  /** Graph calls need a live bearer token. */
  private authed(req: FakeRequest, handle: () => FakeReply): FakeReply {
    const header = String(req.headers.authorization ?? '');
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const expiresAt = this.tokens.get(token);
    if (!token || expiresAt === undefined || expiresAt <= Date.now()) {
      this.rejectedTokens++;
      return odataError(
        401,
        'InvalidAuthenticationToken',
        !token ? 'Access token is empty.' : 'Lifetime validation failed, the token is expired.',
        { 'www-authenticate': 'Bearer realm="", error="invalid_token"' },
      );
    }
    return handle();
  }

  private subscribedSkus(req: FakeRequest): FakeReply {
    const select = selectList(req);
    if (req.query.has('$filter'))
      return odataError(400, 'Request_UnsupportedQuery', 'Unsupported query: $filter on subscribedSkus.');
    const value = this.org.skus.map((s) => (select ? project(s, select) : s));
    return { body: { '@odata.context': this.context('subscribedSkus'), value } };
  }

  private users(req: FakeRequest): FakeReply {
    const skiptoken = req.query.get('$skiptoken');
    let cursor: Cursor;
    if (skiptoken !== null) {
      const found = this.cursors.get(skiptoken);
      // The link must come back exactly as issued: same parameters, same order, same values.
      if (!found || req.query.toString() !== found.query) {
        return odataError(
          400,
          'Directory_ExpiredPageToken',
          'The specified page token value has expired or is invalid.',
        );
      }
      this.cursors.delete(skiptoken);
      cursor = found;
    } else {
      const top = req.query.has('$top') ? Number(req.query.get('$top')) : 100;
      if (!Number.isInteger(top) || top < 1 || top > 999) {
        return odataError(
          400,
          'Request_UnsupportedQuery',
          `Invalid page size specified: '${req.query.get('$top')}'. Must be between 1 and 999 inclusive.`,
        );
      }
      cursor = { offset: 0, select: selectList(req) ?? DEFAULT_USER_FIELDS, top, page: 0, query: '' };
    }
    this.onUsersPage?.(cursor.page, req);
    // signInActivity makes Graph cap pages at 120 whatever $top says.
    const cap = Math.min(cursor.top, cursor.select.includes('signInActivity') ? 120 : 999, this.maxPageSize);
    const size = this.emptyPages.has(cursor.page)
      ? 0
      : Math.max(1, cap - (this.shrinkPages?.(cursor.page) ?? 0));
    const slice = this.org.users.slice(cursor.offset, cursor.offset + size);
    const offset = cursor.offset + slice.length;
    const body: Record<string, unknown> = {
      '@odata.context': this.context(`users(${cursor.select.join(',')})`),
      value: slice.map((u) => project(u, cursor.select)),
    };
    const back = this.usersLinks.get(1);
    if (this.usersLinkBackAtPage !== undefined && cursor.page === this.usersLinkBackAtPage && back) {
      this.cursors.set(back.token, back.cursor);
      body['@odata.nextLink'] = back.link;
    } else if (offset < this.org.users.length) {
      const token = `RFNwdAIAAQAAACE6${randomBytes(18).toString('base64url')}`;
      const link = new URL(`${this.url}/v1.0/users`);
      // Built by hand: Graph keeps $select's commas and the token's characters as they are.
      link.search = `?$select=${cursor.select.join(',')}&$top=${cursor.top}&$skiptoken=${token}`;
      const next = { ...cursor, offset, page: cursor.page + 1, query: link.searchParams.toString() };
      this.cursors.set(token, next);
      this.usersLinks.set(next.page, { token, cursor: next, link: link.toString() });
      body['@odata.nextLink'] = link.toString();
    }
    return { body };
  }

  private report(req: FakeRequest): FakeReply {
    const period = req.params[0] ?? '';
    if (!['D7', 'D30', 'D90', 'D180'].includes(period)) {
      return odataError(400, 'BadRequest', `Invalid value '${period}' for parameter 'period'.`);
    }
    const id = randomBytes(8).toString('hex');
    const sig = randomBytes(16).toString('base64url');
    this.downloads.set(id, { sig, csv: this.reportCsv() });
    return {
      status: 302,
      headers: {
        location: `${this.url}/reports-download/${id}?sv=2026-01-01&se=2026-11-20T08%3A05%3A00Z&sig=${sig}`,
      },
    };
  }

  /** The pre-signed download: the signature is the credential, so an Authorization header is refused. */
  private download(req: FakeRequest): FakeReply {
    if (req.headers.authorization !== undefined) {
      return {
        status: 403,
        headers: { 'content-type': 'application/xml' },
        body: '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.</Message></Error>',
      };
    }
    const entry = this.downloads.get(req.params[0] ?? '');
    if (!entry || req.query.get('sig') !== entry.sig) {
      return { status: 404, body: 'The specified resource does not exist.' };
    }
    return { headers: { 'content-type': 'application/octet-stream' }, body: entry.csv };
  }

  private reportCsv(): string {
    const org = this.org;
    const conceal = (value: string) =>
      this.concealedNames ? createHash('md5').update(value).digest('hex').toUpperCase() : value;
    const rows = [REPORT_COLUMNS];
    for (const u of org.users) {
      const a = org.activity[u.id] ?? {};
      const licensed = u.assignedLicenses.length > 0;
      const has = licensed ? 'True' : 'False';
      const assign = licensed ? '2025-06-01' : '';
      const products = u.assignedLicenses
        .map((l) => org.skus.find((s) => s.skuId === l.skuId)?.skuPartNumber ?? '')
        .map((part) => PRODUCT_NAMES[part] ?? part)
        .join('+');
      rows.push([
        org.reportRefreshDate,
        conceal(u.userPrincipalName),
        conceal(u.displayName),
        'False',
        '',
        has,
        has,
        has,
        'False',
        has,
        has,
        a.exchange ?? '',
        a.oneDrive ?? '',
        a.sharePoint ?? '',
        a.skypeForBusiness ?? '',
        a.yammer ?? '',
        a.teams ?? '',
        assign,
        assign,
        assign,
        '',
        assign,
        assign,
        products,
      ]);
    }
    for (const d of org.deletedReportRows) {
      const row = REPORT_COLUMNS.map(() => '');
      row[0] = org.reportRefreshDate;
      row[1] = conceal(d.userPrincipalName);
      row[2] = conceal(d.displayName);
      row[3] = 'True';
      row[4] = d.deletedDate;
      row[11] = '2026-10-30';
      rows.push(row);
    }
    // Graph's CSV starts with a UTF-8 byte order mark.
    return `\uFEFF${rows.map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
  }

  private assignLicense(req: FakeRequest): FakeReply {
    const key = req.params[0] ?? '';
    const u = this.org.users.find(
      (x) => x.id === key || x.userPrincipalName.toLowerCase() === key.toLowerCase(),
    );
    if (!u) {
      return odataError(
        404,
        'Request_ResourceNotFound',
        `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`,
      );
    }
    const body = req.json as { addLicenses?: unknown; removeLicenses?: unknown } | undefined;
    const add = body?.addLicenses;
    const remove = body?.removeLicenses;
    if (!Array.isArray(add) || !Array.isArray(remove)) {
      return odataError(
        400,
        'Request_BadRequest',
        "Invalid value specified for property 'addLicenses' or 'removeLicenses' of resource 'User'.",
      );
    }
    for (const skuId of remove) {
      const sku = this.org.skus.find((s) => s.skuId === skuId);
      if (!sku) {
        return odataError(
          400,
          'Request_BadRequest',
          `License ${String(skuId)} does not correspond to a valid company License.`,
        );
      }
      const states = u.licenseAssignmentStates.filter((s) => s.skuId === skuId);
      if (!states.some((s) => s.assignedByGroup === null)) {
        return states.length > 0
          ? odataError(
              400,
              'Request_BadRequest',
              'User license is inherited from a group membership and it cannot be removed directly from the user.',
            )
          : odataError(400, 'Request_BadRequest', 'User does not have a corresponding license.');
      }
    }
    for (const entry of add as { skuId?: string }[]) {
      const sku = this.org.skus.find((s) => s.skuId === entry?.skuId);
      if (!sku)
        return odataError(
          400,
          'Request_BadRequest',
          'License does not correspond to a valid company License.',
        );
      if (sku.consumedUnits >= sku.prepaidUnits.enabled + sku.prepaidUnits.warning)
        return odataError(
          400,
          'Request_BadRequest',
          'License assignment failed because there are no available licenses.',
        );
    }
    for (const skuId of remove as string[]) {
      u.licenseAssignmentStates = u.licenseAssignmentStates.filter(
        (s) => !(s.skuId === skuId && s.assignedByGroup === null),
      );
      if (!u.licenseAssignmentStates.some((s) => s.skuId === skuId)) {
        // No group holds it either: the license leaves the user and frees a unit.
        u.assignedLicenses = u.assignedLicenses.filter((l) => l.skuId !== skuId);
        const sku = this.org.skus.find((s) => s.skuId === skuId);
        if (sku) sku.consumedUnits--;
      }
    }
    for (const entry of add as { skuId: string }[]) {
      if (!u.assignedLicenses.some((l) => l.skuId === entry.skuId)) {
        u.assignedLicenses.push({ disabledPlans: [], skuId: entry.skuId });
        const sku = this.org.skus.find((s) => s.skuId === entry.skuId);
        if (sku) sku.consumedUnits++;
      }
      u.licenseAssignmentStates.push({
        assignedByGroup: null,
        disabledPlans: [],
        error: null,
        lastUpdatedDateTime: new Date().toISOString(),
        skuId: entry.skuId,
        state: 'Active',
      });
    }
    return { body: { '@odata.context': this.context('users/$entity'), ...project(u, DEFAULT_USER_FIELDS) } };
  }
}

function selectList(req: FakeRequest): string[] | undefined {
  const select = req.query.get('$select');
  return select ? select.split(',').map((s) => s.trim()) : undefined;
}

/** Only the selected properties, as Graph does (a property the object lacks is left out, e.g. signInActivity). */
function project(source: object, fields: string[]): Record<string, unknown> {
  const record = source as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    if (field in record) out[field] = record[field];
    else if (field === 'businessPhones') out[field] = [];
    else if (DEFAULT_USER_FIELDS.includes(field)) out[field] = null;
  }
  return out;
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
