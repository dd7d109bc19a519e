/**
 * A local Adobe: IMS server-to-server tokens and the User Management API as `vendor-contracts.md` §2 documents them —
 * bearer token + `X-Api-Key` on every call, users and groups paged from 0 with `lastPage` (a page past the end
 * answers the last page, or "Not found" for groups), product profiles with a string `licenseQuota`, memberships
 * inherited through user groups (`directOnly`), 429 + `Retry-After` with the gateway's body, and the action API (`add`
 * and `remove` steps) with `result`/`errors` on HTTP 200 (partial and failed commands included).
 */
import { type FakeReply, type FakeRequest, FakeServer } from './fake-server.ts';

export type AdobeGroupType =
  | 'USER_GROUP'
  | 'PRODUCT_PROFILE'
  | 'SYSADMIN_GROUP'
  | 'DEPLOYMENT_ADMIN_GROUP'
  | 'SUPPORT_ADMIN_GROUP'
  | 'PRODUCT_ADMIN_GROUP'
  | 'PROFILE_ADMIN_GROUP'
  | 'USER_ADMIN_GROUP'
  | 'DEVELOPER_GROUP';

export interface AdobeGroup {
  groupId: number;
  groupName: string;
  type: AdobeGroupType;
  productName?: string;
  /** A string, as UMAPI sends it: a count or "UNLIMITED". */
  licenseQuota?: string;
  productProfileName?: string;
  userGroupName?: string;
  adminGroupName?: string;
  /** USER_GROUP only (not sent): product profiles assigned to the group, which its members hold indirectly. */
  profiles?: string[];
}

export interface AdobeUser {
  id: string;
  email: string;
  username?: string;
  domain?: string;
  firstname?: string;
  lastname?: string;
  country?: string;
  type: 'adobeID' | 'enterpriseID' | 'federatedID' | 'unknown';
  status: 'active';
  /** Direct memberships: user groups, product profiles and admin groups, by name. */
  groups: string[];
}

export interface AdobeData {
  users: AdobeUser[];
  groups: AdobeGroup[];
}

export interface AdobeFakeOptions {
  orgId?: string;
  clientId?: string;
  clientSecret?: string;
  data?: AdobeData;
  /** Users per page (UMAPI: variable, up to 200 or 2,000). */
  usersPageSize?: number;
  groupsPageSize?: number;
  /** Lifetime of issued tokens in seconds (IMS: 86399). */
  tokenLifetimeSeconds?: number;
  /** The fake's clock, for token expiry (default: the real one). */
  now?: () => number;
}

export const ADOBE_ORG_ID = '4E8F1A2B3C4D5E6F7A8B9C0D@AdobeOrg';
export const ADOBE_CLIENT_ID = 'seatkeeper-test-client';
export const ADOBE_CLIENT_SECRET = 'p8e-test-secret-do-not-log';

const ALL_APPS = 'Default All Apps plan - 100 GB configuration';
const ACROBAT = 'Acrobat Pro DC - Marketing';
const EXPRESS = 'Everyone';

/** Names of the fixture's three product profiles. */
export const ADOBE_PROFILES = { allApps: ALL_APPS, acrobat: ACROBAT, express: EXPRESS } as const;

const user = (id: string, email: string, groups: string[], over: Partial<AdobeUser> = {}): AdobeUser => {
  const [local = '', domain = ''] = email.split('@');
  return {
    id,
    email,
    username: email,
    domain,
    firstname: local.split('.')[0],
    lastname: 'Test',
    country: 'US',
    type: 'federatedID',
    status: 'active',
    groups,
    ...over,
  };
};

/**
 * The fixture organisation: 3 product profiles (All Apps quota 5, Acrobat Pro quota 3, Express UNLIMITED), a user
 * group that grants All Apps, admin and developer groups, and 8 users — one holding All Apps only through the user
 * group, one holding admin groups only, one outside the company's domain.
 */
export function adobeFixture(): AdobeData {
  return {
    groups: [
      { groupId: 4147407, groupName: '_org_admin', type: 'SYSADMIN_GROUP' },
      { groupId: 4147408, groupName: '_deployment_admin', type: 'DEPLOYMENT_ADMIN_GROUP' },
      { groupId: 4147409, groupName: '_support_admin', type: 'SUPPORT_ADMIN_GROUP' },
      {
        groupId: 38324301,
        groupName: ALL_APPS,
        type: 'PRODUCT_PROFILE',
        productName: 'All Apps plan - 100 GB',
        licenseQuota: '5',
        adminGroupName: `_admin_${ALL_APPS}`,
      },
      {
        groupId: 38324302,
        groupName: ACROBAT,
        type: 'PRODUCT_PROFILE',
        productName: 'Acrobat Pro DC',
        licenseQuota: '3',
        adminGroupName: `_admin_${ACROBAT}`,
      },
      {
        groupId: 38324303,
        groupName: EXPRESS,
        type: 'PRODUCT_PROFILE',
        productName: 'Adobe Express',
        licenseQuota: 'UNLIMITED',
      },
      { groupId: 51000001, groupName: 'Designers', type: 'USER_GROUP', profiles: [ALL_APPS] },
      {
        groupId: 51000002,
        groupName: `_admin_${ACROBAT}`,
        type: 'PROFILE_ADMIN_GROUP',
        productProfileName: ACROBAT,
      },
      {
        groupId: 51000003,
        groupName: `_admin_${ALL_APPS}`,
        type: 'PROFILE_ADMIN_GROUP',
        productProfileName: ALL_APPS,
      },
      {
        groupId: 51000004,
        groupName: '_product_admin_Acrobat Pro DC',
        type: 'PRODUCT_ADMIN_GROUP',
        productProfileName: 'Acrobat Pro DC',
      },
      {
        groupId: 51000005,
        groupName: `_developer_${EXPRESS}`,
        type: 'DEVELOPER_GROUP',
        productProfileName: EXPRESS,
      },
    ],
    users: [
      user('9A1F00000000000000000001@AdobeID', 'ana.lopez@example.com', [ALL_APPS, ACROBAT, '_org_admin']),
      user('9A1F00000000000000000002@AdobeID', 'bo@example.com', [ACROBAT, EXPRESS]),
      user('9A1F00000000000000000003@AdobeID', 'cy@example.com', [EXPRESS, `_developer_${EXPRESS}`]),
      user('9A1F00000000000000000004@AdobeID', 'dee@example.com', ['Designers']),
      user('9A1F00000000000000000005@AdobeID', 'eli@example.com', [
        ALL_APPS,
        '_product_admin_Acrobat Pro DC',
      ]),
      user('9A1F00000000000000000006@AdobeID', 'fay@partner.example', [EXPRESS], { type: 'adobeID' }),
      user('9A1F00000000000000000007@AdobeID', 'gus@example.com', ['_org_admin', '_support_admin']),
      user('9A1F00000000000000000008@AdobeID', 'hal@example.com', [
        ALL_APPS,
        ACROBAT,
        EXPRESS,
        `_admin_${ACROBAT}`,
      ]),
    ],
  };
}

/**
 * The fixture's groups with `n` generated users (`user00001@example.com`, ...), each holding one or two of the
 * product profiles, some with admin groups mixed in — for paging tests.
 */
export function generatedAdobeData(n: number): AdobeData {
  const { groups } = adobeFixture();
  const profiles = [ALL_APPS, ACROBAT, EXPRESS];
  const users = Array.from({ length: n }, (_, i) => {
    const held = [profiles[i % 3] as string];
    if (i % 4 === 0) held.push(EXPRESS);
    if (i % 5 === 0) held.push('_org_admin');
    const id = `GEN${String(i + 1).padStart(21, '0')}@AdobeID`;
    return user(id, `user${String(i + 1).padStart(5, '0')}@example.com`, [...new Set(held)]);
  });
  // Generated orgs are not capped by the fixture's small quotas.
  for (const g of groups)
    if (g.type === 'PRODUCT_PROFILE' && g.licenseQuota !== 'UNLIMITED') g.licenseQuota = String(n);
  return { users, groups };
}

interface IssuedToken {
  expiresAt: number;
  revoked: boolean;
}

/** The Adobe fake; `url` serves both IMS (`/ims/token/v2|v3`) and UMAPI (`/v2/usermanagement/...`). */
export class AdobeFake extends FakeServer {
  readonly orgId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly data: AdobeData;
  usersPageSize: number;
  groupsPageSize: number;
  tokenLifetimeSeconds: number;
  /** Tokens issued so far, and UMAPI calls refused with 401 because their token had expired. */
  tokensIssued = 0;
  expiredTokenRejections = 0;
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly now: () => number;

  constructor(options: AdobeFakeOptions = {}) {
    super();
    this.orgId = options.orgId ?? ADOBE_ORG_ID;
    this.clientId = options.clientId ?? ADOBE_CLIENT_ID;
    this.clientSecret = options.clientSecret ?? ADOBE_CLIENT_SECRET;
    // A copy: removals change memberships, and fixtures are shared between tests.
    this.data = structuredClone(options.data ?? adobeFixture());
    this.usersPageSize = options.usersPageSize ?? 200;
    this.groupsPageSize = options.groupsPageSize ?? 200;
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 86_399;
    this.now = options.now ?? Date.now;

    this.route('POST', /^\/ims\/token\/v[23]$/, (req) => this.issueToken(req));
    const base = '^/v2/usermanagement';
    this.route('GET', new RegExp(`${base}/users/([^/]+)/(\\d+)$`), (req) =>
      this.authorized(req, () => this.usersPage(req)),
    );
    this.route('GET', new RegExp(`${base}/groups/([^/]+)/(\\d+)$`), (req) =>
      this.authorized(req, () => this.groupsPage(req)),
    );
    this.route('POST', new RegExp(`${base}/action/([^/]+)$`), (req) =>
      this.authorized(req, () => this.action(req)),
    );
  }

  /** Every token issued so far stops working (as if it had expired), though the client still thinks it valid. */
  expireTokens(): void {
    for (const token of this.tokens.values()) token.revoked = true;
  }

  /** The next `times` requests on `path` are throttled: 429, `Retry-After: seconds`, the gateway's body. */
  throttle(path: RegExp, seconds: number, times = 1): this {
    for (let i = 0; i < times; i++) {
      this.inject({
        path,
        status: 429,
        headers: { 'retry-after': String(seconds) },
        body: { error_code: '429050', message: 'Too many requests' },
      });
    }
    return this;
  }

  /** Product profiles a user holds: directly, or (unless `directOnly`) through a user group. */
  profilesOf(u: AdobeUser, directOnly = false): string[] {
    const byName = new Map(this.data.groups.map((g) => [g.groupName, g]));
    const held = u.groups.filter((name) => byName.get(name)?.type === 'PRODUCT_PROFILE');
    if (!directOnly) {
      for (const name of u.groups) held.push(...(byName.get(name)?.profiles ?? []));
    }
    return [...new Set(held)];
  }

  private issueToken(req: FakeRequest): FakeReply {
    // IMS takes the parameters in the form body or the query string.
    const param = (name: string) => req.form.get(name) ?? req.query.get(name);
    if (param('grant_type') !== 'client_credentials') {
      return {
        status: 400,
        body: { error: 'unsupported_grant_type', error_description: 'unsupported grant_type' },
      };
    }
    if (param('client_id') !== this.clientId) {
      return {
        status: 400,
        body: { error: 'invalid_client', error_description: 'invalid client_id parameter' },
      };
    }
    if (param('client_secret') !== this.clientSecret) {
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'invalid client_secret parameter' },
      };
    }
    const scopes = (param('scope') ?? '').split(',').map((s) => s.trim());
    if (!scopes.includes('user_management_sdk')) {
      return { status: 400, body: { error: 'invalid_scope', error_description: 'invalid scope' } };
    }
    this.tokensIssued++;
    const token = `eyFAKE.${this.tokensIssued}.${Math.random().toString(36).slice(2)}`;
    this.tokens.set(token, { expiresAt: this.now() + this.tokenLifetimeSeconds * 1000, revoked: false });
    return { body: { access_token: token, token_type: 'bearer', expires_in: this.tokenLifetimeSeconds } };
  }

  /** UMAPI's gate: a live bearer token (else 401, empty body) and the client id as API key (else 403, empty). */
  private authorized(req: FakeRequest, handle: () => FakeReply): FakeReply {
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const token = bearer ? this.tokens.get(bearer) : undefined;
    if (!token || token.revoked || token.expiresAt <= this.now()) {
      if (token) this.expiredTokenRejections++;
      return {
        status: 401,
        headers: {
          'www-authenticate':
            'Bearer realm="JIL", error="invalid_token", error_description="The access token is invalid"',
        },
      };
    }
    if (req.headers['x-api-key'] !== this.clientId) return { status: 403 };
    if (req.params[0] !== this.orgId) {
      return {
        status: 400,
        body: { result: 'error.organization.invalid_id', message: 'Bad organization Id' },
      };
    }
    return handle();
  }

  private usersPage(req: FakeRequest): FakeReply {
    const directOnly = req.query.get('directOnly') !== 'false';
    const { items, page, pages, lastPage } = paginate(
      this.data.users,
      Number(req.params[1]),
      this.usersPageSize,
    );
    const users = items.map((u) => {
      const groups = directOnly ? u.groups : [...new Set([...u.groups, ...this.profilesOf(u, false)])];
      const { groups: _direct, ...rest } = u;
      // Missing fields are omitted: a user without memberships has no `groups`.
      return groups.length > 0 ? { ...rest, groups } : rest;
    });
    return {
      headers: pageHeaders(this.data.users.length, pages, page, this.usersPageSize),
      body: { lastPage, result: 'success', users },
    };
  }

  private groupsPage(req: FakeRequest): FakeReply {
    const requested = Number(req.params[1]);
    const { items, page, pages, lastPage } = paginate(this.data.groups, requested, this.groupsPageSize);
    if (requested >= pages) return { body: { lastPage: true, result: 'Not found' } };
    const groups = items.map(({ profiles: _hidden, ...g }) => ({ ...g, memberCount: this.memberCount(g) }));
    return {
      headers: pageHeaders(this.data.groups.length, pages, page, this.groupsPageSize),
      body: { lastPage, result: 'success', groups },
    };
  }

  private memberCount(group: AdobeGroup): number {
    return this.data.users.filter((u) =>
      group.type === 'PRODUCT_PROFILE'
        ? this.profilesOf(u).includes(group.groupName)
        : u.groups.includes(group.groupName),
    ).length;
  }

  /** The action API: each command is checked whole, then applied; errors are reported per command on HTTP 200. */
  private action(req: FakeRequest): FakeReply {
    const commands = req.json;
    if (!Array.isArray(commands) || commands.length === 0) {
      return {
        status: 400,
        body: { result: 'error.command.malformed', message: 'Expected a JSON array of commands' },
      };
    }
    if (commands.length > 10) {
      return {
        status: 400,
        body: { result: 'error.command.malformed', message: 'At most 10 commands per request' },
      };
    }
    const testOnly = req.query.get('testOnly') === 'true';
    const errors: Record<string, unknown>[] = [];
    let completed = 0;
    commands.forEach((command: Record<string, unknown>, index) => {
      const failure = this.runCommand(command, testOnly);
      if (!failure) {
        completed++;
        return;
      }
      errors.push({ index, ...failure, requestID: command?.requestID, user: command?.user });
    });
    const notCompleted = commands.length - completed;
    return {
      body: {
        completed: testOnly ? 0 : completed,
        notCompleted,
        completedInTestMode: testOnly ? completed : 0,
        result: notCompleted === 0 ? 'success' : completed === 0 ? 'error' : 'partial',
        ...(errors.length > 0 ? { errors } : {}),
      },
    };
  }

  /** Checks one command whole, then applies it (unless testing); answers its error, if any. */
  private runCommand(
    command: Record<string, unknown>,
    testOnly: boolean,
  ): { step: number; errorCode: string; message: string } | undefined {
    const fail = (step: number, errorCode: string, message: string) => ({ step, errorCode, message });
    if (typeof command?.user !== 'string') return fail(0, 'error.command.user.missing', 'No user in command');
    const name = command.user.toLowerCase();
    const target = this.data.users.find(
      (u) => u.email.toLowerCase() === name || u.username?.toLowerCase() === name,
    );
    // The fake cannot tell a user who never existed from one outside the org: both are "not in org".
    if (!target) {
      return fail(0, 'error.user.not_in_org', `User ${command.user} is not a member of the organization`);
    }
    if (!Array.isArray(command.do)) {
      return fail(0, 'error.command.steps.malformed', 'The value of do must be a JSON array');
    }
    const removals: string[] = [];
    const additions: string[] = [];
    for (const [stepIndex, step] of (command.do as Record<string, unknown>[]).entries()) {
      const add = step?.add as { group?: unknown } | undefined;
      if (add !== undefined) {
        const list = add.group;
        if (!Array.isArray(list) || list.length === 0) {
          return fail(stepIndex, 'error.group.invalid_list', 'Empty group list');
        }
        if (list.length > 10)
          return fail(stepIndex, 'error.command.add_remove.list_too_long', 'Too many groups');
        for (const group of list) {
          if (typeof group !== 'string' || !this.isMembershipGroup(group)) {
            return fail(stepIndex, 'error.group.not_found', `Group ${String(group)} was not found`);
          }
          additions.push(group);
        }
        continue;
      }
      const remove = step?.remove as { group?: unknown } | 'all' | undefined;
      if (remove === undefined) return fail(stepIndex, 'error.command.step.unknown', 'Unknown step');
      if (remove === 'all') {
        removals.push(...target.groups.filter((g) => this.isMembershipGroup(g)));
        continue;
      }
      const list = remove.group;
      if (!Array.isArray(list) || list.length === 0) {
        return fail(stepIndex, 'error.group.invalid_list', 'Empty group list');
      }
      if (list.length > 10)
        return fail(stepIndex, 'error.command.add_remove.list_too_long', 'Too many groups');
      for (const group of list) {
        if (typeof group !== 'string' || !this.isMembershipGroup(group)) {
          return fail(stepIndex, 'error.group.not_found', `Group ${String(group)} was not found`);
        }
        removals.push(group);
      }
    }
    if (!testOnly) {
      target.groups = target.groups.filter((g) => !removals.includes(g));
      for (const group of additions) if (!target.groups.includes(group)) target.groups.push(group);
    }
    return undefined;
  }

  /** Groups whose membership the action API's add/remove changes: product profiles and user groups. */
  private isMembershipGroup(name: string): boolean {
    const type = this.data.groups.find((g) => g.groupName === name)?.type;
    return type === 'PRODUCT_PROFILE' || type === 'USER_GROUP';
  }
}

/** A page past the end answers the last page (UMAPI's rule for users). */
function paginate<T>(all: readonly T[], requested: number, size: number) {
  const pages = Math.max(1, Math.ceil(all.length / size));
  const page = Math.min(requested, pages - 1);
  return { items: all.slice(page * size, (page + 1) * size), page, pages, lastPage: page === pages - 1 };
}

function pageHeaders(total: number, pages: number, page: number, size: number): Record<string, string> {
  return {
    'x-total-count': String(total),
    'x-page-count': String(pages),
    'x-current-page': String(page),
    'x-page-size': String(size),
  };
}
