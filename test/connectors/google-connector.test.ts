import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGoogleConnector, GOOGLE_USAGE_SOURCE } from '../../connectors/google-connector.ts';
import type { Connector, SeatRef } from '../../connectors/types.ts';
import { clearing, person, seats, whoHas } from '../../handlers/inventory-queries.ts';
import { operatorActor } from '../../handlers/types.ts';
import { type Config, ConfigError, loadConfig } from '../../src/config/config.ts';
import { ImportFailedError, runImport } from '../../src/inventory/import-pipeline.ts';
import type { Store } from '../../src/store/store.ts';
import {
  ADMIN_SUBJECT,
  assignment,
  CUSTOMER_ID,
  DIRECTORY_SCOPE,
  GoogleFake,
  generatedOrg,
  googleFixture,
  LICENSING_SCOPE,
  type ServiceAccountFiles,
  SKUS,
  writeServiceAccount,
} from '../fakes/google-fake.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const USERS = /^\/admin\/directory\/v1\/users$/;
const ASSIGNMENTS = /^\/apps\/licensing\/v1\/product\/Google-Apps\/users$/;
const ANA = '100000000000000000001';

function clockAt(iso: string) {
  let t = new Date(iso).getTime();
  return {
    now: () => new Date(t),
    advanceMinutes(minutes: number) {
      t += minutes * 60_000;
    },
  };
}

async function tableSnapshot(store: Store) {
  const q = async (sql: string) => (await store.pool.query(sql)).rows;
  return {
    persons: await q('SELECT * FROM persons ORDER BY id'),
    emails: await q('SELECT * FROM person_emails ORDER BY email'),
    licenses: await q('SELECT * FROM licenses ORDER BY id'),
    subscribers: await q('SELECT * FROM cloud_subscribers ORDER BY id'),
  };
}

function claimsOf(assertion: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

describe('Google Workspace connector', () => {
  let dir: string;
  let serviceAccount: ServiceAccountFiles;
  let fake: GoogleFake;
  let db: TestDatabase;
  let store: Store;
  let clock: ReturnType<typeof clockAt>;
  let waits: number[];
  let retries: { endpoint: string; attempt: number; waitMs: number; reason: string }[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sk-google-'));
    serviceAccount = writeServiceAccount(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    clock = clockAt('2026-11-20T08:00:00Z');
    waits = [];
    retries = [];
    fake = await new GoogleFake({ serviceAccount, now: clock.now }).start();
    Object.assign(fake, googleFixture());
    db = await createTestDatabase();
    store = await db.open();
  });
  afterEach(async () => {
    await fake?.stop();
    await db?.drop();
  });

  const configWith = (env: Record<string, string> = {}): Config =>
    loadConfig({ ...fake.env(), LOG_LEVEL: 'silent', NODE_ENV: 'test', ...env });
  const connector = (env: Record<string, string> = {}) =>
    createGoogleConnector(configWith(env), {
      now: clock.now,
      sleep: async (ms) => {
        waits.push(ms);
      },
      onRetry: (info) => retries.push(info),
    });
  const importGoogle = (c: Connector = connector()) =>
    runImport(store, c, { trigger: 'test', persons: true, minEntitlementDays: 90, now: clock.now });
  const ctx = () => ({ store, config: db.config, actor: operatorActor(), now: clock.now });
  const page = { limit: 100, offset: 0 };

  async function seatOf(email: string): Promise<SeatRef & { id: string }> {
    const row = await store.pool.query(
      `SELECT s.id, l.vendor_key, l.sku, s.vendor_account_id, s.email, s.login
       FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id WHERE s.email = $1`,
      [email],
    );
    const r = row.rows[0];
    return {
      id: r.id,
      subscriptionKey: r.vendor_key,
      sku: r.sku,
      accountId: r.vendor_account_id,
      email: r.email,
      login: r.login,
    };
  }

  it('imports directory persons with their aliases and matches every seat to its person by immutable id', async () => {
    const result = await importGoogle();
    expect(result.counts).toMatchObject({
      subscriptions: 3,
      accounts: 8,
      persons: 8,
      matched: 8,
      clearing: 0,
    });

    // Found through an alias, in another case than the directory spells it.
    const found = await person(ctx(), { email: 'ANA@example.com' });
    expect(found.ok && found.value).toMatchObject([
      {
        email: 'ana.lopez@example.com',
        aliases: ['ana.lopez@example.test-google-a.com', 'ana@example.com'],
        displayName: 'Ana Lopez',
        department: 'Design',
        costCenter: 'CC-10',
        manager: 'dee.kim@example.com',
        directoryEnabled: true,
        source: 'google',
        seats: [
          {
            sku: '1010020028',
            product: 'Google Workspace Business Standard',
            vendorAccountId: ANA,
            lastActivityAt: '2026-11-19T16:02:11.000Z',
            lastActivitySource: GOOGLE_USAGE_SOURCE,
          },
        ],
      },
    ]);
    const boss = await whoHas(ctx(), { query: 'boss@example.com', ...page });
    expect(boss.ok && boss.value.rows.map((r) => [r.email, r.sku])).toEqual([
      ['dee.kim@example.com', '1010020025'],
    ]);
    // The organisational unit stands in for a department the directory does not state.
    const gus = await person(ctx(), { email: 'gus.ito@example.com' });
    expect(gus.ok && gus.value[0]?.department).toBe('/Engineering');
    const ids = await store.pool.query(`SELECT external_id FROM persons ORDER BY external_id`);
    expect(ids.rows.map((r) => r.external_id)).toHaveLength(8);
  });

  it('marks suspended and archived users as disabled, and their seats too', async () => {
    await importGoogle();
    const persons = await store.pool.query(
      `SELECT primary_email, directory_enabled FROM persons WHERE NOT directory_enabled ORDER BY 1`,
    );
    expect(persons.rows).toEqual([
      { primary_email: 'cy.chen@example.com', directory_enabled: false },
      { primary_email: 'fay.ortiz@example.com', directory_enabled: false },
    ]);
    const seatsOff = await store.pool.query(
      `SELECT email FROM cloud_subscribers WHERE NOT account_enabled ORDER BY 1`,
    );
    // A suspended user's licence stays billable: the seat is kept and flagged, not dropped.
    expect(seatsOff.rows.map((r) => r.email)).toEqual(['cy.chen@example.com', 'fay.ortiz@example.com']);
  });

  it('applies lastLoginTime as usage and treats the 1970 sentinel as never signed in', async () => {
    await importGoogle();
    const rows = await store.pool.query(
      `SELECT email, last_activity_at, last_activity_source FROM cloud_subscribers ORDER BY email`,
    );
    const byEmail = Object.fromEntries(rows.rows.map((r) => [r.email, r]));
    expect(byEmail['eli.novak@example.com']).toMatchObject({
      last_activity_at: null,
      last_activity_source: null,
    });
    expect(byEmail['bo.berg@example.com']).toMatchObject({
      last_activity_at: new Date('2026-06-01T07:00:00.000Z'),
      last_activity_source: GOOGLE_USAGE_SOURCE,
    });
    // Active in the last 30 days on Business Standard: Ana (19 Nov) and Fay (18 Nov); not Bo, Cy or never-Eli.
    const snapshot = await store.pool.query(
      `SELECT s.active FROM license_snapshots s JOIN licenses l ON l.id = s.license_id WHERE l.sku = '1010020028'`,
    );
    expect(snapshot.rows).toEqual([{ active: 2 }]);
  });

  it('lists one subscription per SKU, counting consumed units from assignments and claiming no free seats', async () => {
    await importGoogle();
    const listed = await seats(ctx(), page);
    expect(
      listed.ok &&
        listed.value.rows.map((r) => ({
          sku: r.sku,
          product: r.product,
          type: r.type,
          consumed: r.consumed,
          purchased: r.purchased,
          available: r.available,
        })),
    ).toEqual([
      {
        sku: '1010020025',
        product: 'Google Workspace Business Plus',
        type: 'Subscription',
        consumed: 2,
        purchased: 2,
        available: 0,
      },
      {
        sku: '1010020028',
        product: 'Google Workspace Business Standard',
        type: 'Subscription',
        consumed: 5,
        purchased: 5,
        available: 0,
      },
      {
        sku: '1010020020',
        product: 'Google Workspace Enterprise Plus',
        type: 'Subscription',
        consumed: 1,
        purchased: 1,
        available: 0,
      },
    ]);
    const keys = await store.pool.query(`SELECT vendor_key FROM licenses ORDER BY vendor_key`);
    expect(keys.rows.map((r) => r.vendor_key)).toEqual([
      'Google-Apps/1010020020',
      'Google-Apps/1010020025',
      'Google-Apps/1010020028',
    ]);
    // License Manager gets the real customer id, learnt from the directory behind `my_customer`.
    const licensing = fake.server.calls(ASSIGNMENTS, 'GET');
    expect(licensing.length).toBeGreaterThan(0);
    for (const call of licensing) {
      expect(call.query.get('customerId')).toBe(CUSTOMER_ID);
      expect(call.query.get('maxResults')).toBe('1000');
    }
    for (const call of fake.server.calls(USERS, 'GET'))
      expect(call.query.get('customer')).toBe('my_customer');
  });

  it('follows nextPageToken through 1,203 users and assignments, asking for full pages', async () => {
    Object.assign(fake, generatedOrg(1203));
    const result = await importGoogle(connector({ GOOGLE_CUSTOMER_ID: CUSTOMER_ID }));
    expect(result.counts).toMatchObject({ subscriptions: 1, accounts: 1203, persons: 1203, matched: 1203 });

    const userCalls = fake.server.calls(USERS, 'GET');
    // Three walks (accounts, usage, persons) of three pages each; a configured customer id needs no lookup.
    expect(userCalls).toHaveLength(9);
    expect(userCalls.map((c) => c.query.get('maxResults'))).toEqual(Array(9).fill('500'));
    expect(userCalls.filter((c) => c.query.has('pageToken'))).toHaveLength(6);
    expect(userCalls.every((c) => c.query.get('customer') === CUSTOMER_ID)).toBe(true);
    // Two walks (subscriptions, accounts) of two pages each.
    expect(fake.server.calls(ASSIGNMENTS, 'GET')).toHaveLength(4);

    const never = await store.pool.query(
      `SELECT count(*)::int AS n FROM cloud_subscribers WHERE last_activity_at IS NULL`,
    );
    expect(never.rows[0].n).toBe(401); // every third generated user never signed in
    const license = await store.pool.query(`SELECT consumed_units, enabled_units FROM licenses`);
    expect(license.rows).toEqual([{ consumed_units: 1203, enabled_units: 1203 }]);
  });

  it('reads pages smaller than it asked for', async () => {
    fake.pageCap = 3;
    const result = await importGoogle();
    expect(result.counts).toMatchObject({ subscriptions: 3, accounts: 8, persons: 8 });
    expect(fake.server.calls(ASSIGNMENTS, 'GET').length).toBe(6); // 3 pages per walk
  });

  it("retries Google's 403 quota errors and 503s with growing waits, then imports everything", async () => {
    fake
      .rateLimit(USERS, 'userRateLimitExceeded', 2)
      .rateLimit(ASSIGNMENTS, 'rateLimitExceeded', 1)
      .rateLimit(ASSIGNMENTS, 'quotaExceeded', 1)
      .unavailable(ASSIGNMENTS, 2);
    const result = await importGoogle();
    expect(result.counts).toMatchObject({ subscriptions: 3, accounts: 8, persons: 8, matched: 8 });

    expect(retries.map((r) => [r.endpoint, r.reason])).toEqual([
      [
        'GET /admin/directory/v1/users',
        'Google GET /admin/directory/v1/users: HTTP 403 403: User Rate Limit Exceeded',
      ],
      [
        'GET /admin/directory/v1/users',
        'Google GET /admin/directory/v1/users: HTTP 403 403: User Rate Limit Exceeded',
      ],
      [
        'GET /apps/licensing/v1/product/Google-Apps/users',
        'Google GET /apps/licensing/v1/product/Google-Apps/users: HTTP 403 403: Rate Limit Exceeded',
      ],
      [
        'GET /apps/licensing/v1/product/Google-Apps/users',
        expect.stringMatching(/HTTP 403 403: Quota exceeded for quota metric/),
      ],
      [
        'GET /apps/licensing/v1/product/Google-Apps/users',
        'HTTP 503 503: The service is currently unavailable.',
      ],
      [
        'GET /apps/licensing/v1/product/Google-Apps/users',
        'HTTP 503 503: The service is currently unavailable.',
      ],
    ]);
    expect(waits).toEqual(retries.map((r) => r.waitMs));
    // 403s: 1 s, then 2 s, each plus up to 1 s of jitter. 503s: full jitter under 1 s, then under 2 s.
    const [u1 = 0, u2 = 0, l1 = 0, l2 = 0, s1 = -1, s2 = -1] = waits;
    expect(u1).toBeGreaterThanOrEqual(1000);
    expect(u1).toBeLessThanOrEqual(2000);
    expect(u2).toBeGreaterThanOrEqual(2000);
    expect(u2).toBeLessThanOrEqual(3000);
    expect(l1).toBeGreaterThanOrEqual(1000);
    expect(l2).toBeGreaterThanOrEqual(2000);
    expect(s1).toBeGreaterThanOrEqual(0);
    expect(s1).toBeLessThanOrEqual(1000);
    expect(s2).toBeGreaterThanOrEqual(0);
    expect(s2).toBeLessThanOrEqual(2000);
  });

  it('fails at once on a 403 that is not a quota error, and gives up on endless quota errors', async () => {
    fake.server.inject({
      path: USERS,
      status: 403,
      body: {
        error: {
          code: 403,
          message: 'Not Authorized to access this resource/api',
          errors: [
            { message: 'Not Authorized to access this resource/api', domain: 'global', reason: 'forbidden' },
          ],
        },
      },
    });
    const denied = await importGoogle().catch((e) => e);
    expect(denied).toBeInstanceOf(ImportFailedError);
    expect(denied.message).toBe(
      'google: Google GET /admin/directory/v1/users: HTTP 403 403: Not Authorized to access this resource/api',
    );
    expect(retries).toEqual([]);
    expect(fake.server.calls(USERS)).toHaveLength(1);

    fake.rateLimit(USERS, 'userRateLimitExceeded', 20);
    const throttled = await importGoogle().catch((e) => e);
    expect(throttled.message).toBe(
      'google: Google GET /admin/directory/v1/users: HTTP 403 403: User Rate Limit Exceeded (gave up after 6 attempts)',
    );
    expect(retries).toHaveLength(5);
    expect(fake.server.calls(USERS)).toHaveLength(7);
  });

  it('signs the assertion as the service account for the admin, and fetches a new token when one expires', async () => {
    fake.tokenRequestLimit = 2; // every token dies after two API calls, while expires_in still says 3599
    const result = await importGoogle();
    expect(result.counts).toMatchObject({ accounts: 8, persons: 8 });
    // Six API calls (customer lookup, 2 assignment walks, 3 user walks): two per token, each third one refused once.
    const api = fake.server.requests.filter((r) => r.path !== '/token');
    expect(api).toHaveLength(8);
    const tokenCalls = fake.server.calls(/^\/token$/, 'POST');
    expect(tokenCalls).toHaveLength(3);
    expect(fake.tokens.size).toBe(3);

    const first = tokenCalls[0];
    expect(first?.form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const claims = claimsOf(first?.form.get('assertion') ?? '');
    expect(claims).toMatchObject({
      iss: serviceAccount.clientEmail,
      sub: ADMIN_SUBJECT,
      scope: `${DIRECTORY_SCOPE} ${LICENSING_SCOPE}`,
      aud: fake.tokenUrl,
      iat: clock.now().getTime() / 1000,
      exp: clock.now().getTime() / 1000 + 3600,
    });
    // Only tokens the fake issued were ever sent.
    const bearers = new Set(api.map((r) => String(r.headers.authorization).replace('Bearer ', '')));
    for (const b of bearers) expect(fake.tokens.has(b)).toBe(true);
  });

  it('reuses a cached token and fetches a new one before it runs out', async () => {
    const c = connector();
    await importGoogle(c);
    expect(fake.tokens.size).toBe(1);
    await importGoogle(c);
    expect(fake.tokens.size).toBe(1);
    clock.advanceMinutes(59.5); // inside the last minute of the token's hour
    await importGoogle(c);
    expect(fake.tokens.size).toBe(2);
  });

  it('reports a token refusal by name: wrong key, or a subject without delegation', async () => {
    const other = mkdtempSync(join(tmpdir(), 'sk-google-other-'));
    try {
      const impostor = writeServiceAccount(other, serviceAccount.clientEmail);
      const badKey = await importGoogle(connector({ GOOGLE_SERVICE_ACCOUNT_FILE: impostor.file })).catch(
        (e) => e,
      );
      expect(badKey.message).toBe(
        'google: Google POST /token: HTTP 400 invalid_grant: Invalid JWT Signature.',
      );
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    const wrongSubject = await importGoogle(connector({ GOOGLE_ADMIN_SUBJECT: 'bo.berg@example.com' })).catch(
      (e) => e,
    );
    expect(wrongSubject.message).toMatch(
      /^google: Google POST \/token: HTTP 401 unauthorized_client: Client is/,
    );
    expect(wrongSubject.message).not.toMatch(/eyJ/); // no assertion in the message
    expect(fake.tokens.size).toBe(0);
  });

  it.each([
    {
      what: 'a directory user',
      corrupt: (f: GoogleFake) => {
        (f.users[4] as Record<string, unknown>).lastLoginTime = 'last tuesday';
      },
      message:
        'google: Google GET /admin/directory/v1/users: the response does not match the contract: users[4].lastLoginTime: Invalid ISO datetime',
    },
    {
      what: 'a licence assignment',
      corrupt: (f: GoogleFake) => {
        delete (f.assignments[2] as Record<string, unknown>).skuId;
      },
      message:
        'google: Google GET /apps/licensing/v1/product/Google-Apps/users: the response does not match the contract: items[2].skuId: Invalid input: expected string, received undefined',
    },
  ])(
    'fails on $what that breaks the contract, naming the field, and keeps the previous inventory',
    async ({ corrupt, message }) => {
      await importGoogle();
      const before = await tableSnapshot(store);
      corrupt(fake);
      clock.advanceMinutes(10);
      const error = await importGoogle().catch((e) => e);
      expect(error).toBeInstanceOf(ImportFailedError);
      expect(error.message).toBe(message);
      expect(await tableSnapshot(store)).toEqual(before);
      const run = await store.pool.query(`SELECT outcome, error FROM import_runs WHERE id = $1`, [
        error.runId,
      ]);
      expect(run.rows).toEqual([{ outcome: 'failed', error: message }]);
    },
  );

  it('keeps the same subscriber row when a user is renamed, between imports or during one', async () => {
    await importGoogle();
    const before = await seatOf('ana.lopez@example.com');

    fake.rename(ANA, 'ana.garcia@example.com');
    await importGoogle();
    const renamed = await seatOf('ana.garcia@example.com');
    expect(renamed).toMatchObject({ id: before.id, accountId: ANA, subscriptionKey: before.subscriptionKey });
    const holder = await store.pool.query(
      `SELECT p.primary_email FROM cloud_subscribers s JOIN persons p ON p.id = s.person_id WHERE s.id = $1`,
      [before.id],
    );
    expect(holder.rows).toEqual([{ primary_email: 'ana.garcia@example.com' }]);

    // Renamed after the connector read the directory but before it read the assignments.
    fake.afterUsersListed = () => fake.rename(ANA, 'ana.g@example.com');
    const result = await importGoogle();
    expect(result.counts).toMatchObject({ added: 0, deleted: 0, clearing: 0 });
    expect(await seatOf('ana.g@example.com')).toMatchObject({ id: before.id, accountId: ANA });
    expect(fake.server.calls(/^\/admin\/directory\/v1\/users\/ana\.g@example\.com$/)).toHaveLength(1);
  });

  it('keeps a licence held by an address the directory does not know, in clearing under that address', async () => {
    fake.assignments.push(assignment(SKUS.enterprisePlus, 'ghost@partner.example'));
    const result = await importGoogle();
    expect(result.counts).toMatchObject({ accounts: 9, clearing: 1 });
    const listed = await clearing(ctx(), page);
    expect(listed.ok && listed.value.rows.map((r) => [r.email, r.vendorAccountId])).toEqual([
      ['ghost@partner.example', 'email:ghost@partner.example'],
    ]);
  });

  it.each([200, 204] as const)(
    'removes a seat by deleting the assignment (DELETE answers %i)',
    async (status) => {
      fake.deleteStatus = status;
      await importGoogle();
      const seat = await seatOf('bo.berg@example.com');
      const c = connector();
      expect(await c.removeSeat?.(seat)).toEqual({
        ok: true,
        detail: 'revoked Google-Apps/1010020028 from bo.berg@example.com',
      });
      expect(fake.server.calls(/\/user\//, 'DELETE').map((r) => r.path)).toEqual([
        '/apps/licensing/v1/product/Google-Apps/sku/1010020028/user/bo.berg@example.com',
      ]);
      await importGoogle();
      const license = await store.pool.query(`SELECT consumed_units FROM licenses WHERE sku = '1010020028'`);
      expect(license.rows).toEqual([{ consumed_units: 4 }]);
      expect(
        (await store.pool.query(`SELECT 1 FROM cloud_subscribers WHERE email = 'bo.berg@example.com'`))
          .rowCount,
      ).toBe(0);
    },
  );

  it('removes by the current primary e-mail when the inventory still shows the old one', async () => {
    await importGoogle();
    const seat = await seatOf('ana.lopez@example.com');
    fake.rename(ANA, 'ana.garcia@example.com');
    const result = await connector().removeSeat?.(seat);
    expect(result).toMatchObject({ ok: true });
    expect(fake.server.calls(/\/user\//, 'DELETE').map((r) => r.path)).toEqual([
      '/apps/licensing/v1/product/Google-Apps/sku/1010020028/user/ana.garcia@example.com',
    ]);
    expect(fake.assignments.some((a) => a.userId === 'ana.garcia@example.com')).toBe(false);
  });

  it('reports a removal that failed, and whether trying again later can help', async () => {
    await importGoogle();
    const seat = await seatOf('gus.ito@example.com');
    const c = connector();
    fake.assignments = fake.assignments.filter((a) => a.userId !== 'gus.ito@example.com');
    expect(await c.removeSeat?.(seat)).toEqual({
      ok: false,
      code: '404',
      reason:
        'Google DELETE /apps/licensing/v1/product/Google-Apps/sku/1010020025/user/gus.ito@example.com: HTTP 404 404: User does not have a license for specified sku and product',
      retryable: false,
    });
    fake.unavailable(/\/user\//, 10);
    expect(await c.removeSeat?.({ ...seat, accountId: '100000000000000000004' })).toMatchObject({
      ok: false,
      code: '503',
      retryable: true,
    });
    expect(await c.removeSeat?.({ ...seat, accountId: 'no-such-user' })).toMatchObject({
      ok: false,
      code: 'userNotFound',
      retryable: false,
    });
  });
});

describe('Google Workspace connector configuration', () => {
  let dir: string;
  let serviceAccountFile: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sk-google-config-'));
    serviceAccountFile = writeServiceAccount(dir).file;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const configWith = (): Config =>
    loadConfig({
      GOOGLE_SERVICE_ACCOUNT_FILE: serviceAccountFile,
      GOOGLE_ADMIN_SUBJECT: ADMIN_SUBJECT,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
    });

  it('accepts a valid service account key file', () => {
    expect(createGoogleConnector(configWith()).capabilities).toEqual({
      usage: true,
      directory: true,
      emails: true,
      removal: true,
    });
  });

  const secret = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC-do-not-print';
  const configError = (over: Partial<Config>) => {
    try {
      createGoogleConnector({ ...configWith(), ...over });
    } catch (error) {
      return error as ConfigError;
    }
    throw new Error('expected a configuration error');
  };
  const fileWith = (name: string, content: string) => {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  };

  it('names the missing variable', () => {
    expect(configError({ GOOGLE_ADMIN_SUBJECT: undefined })).toMatchObject({
      name: 'ConfigError',
      variable: 'GOOGLE_ADMIN_SUBJECT',
    });
    expect(configError({ GOOGLE_SERVICE_ACCOUNT_FILE: undefined }).variable).toBe(
      'GOOGLE_SERVICE_ACCOUNT_FILE',
    );
  });

  it.each([
    { what: 'missing', file: () => join(dir, 'nope.json'), says: 'cannot read the file (ENOENT)' },
    {
      what: 'not JSON',
      file: () => fileWith('pem.json', `-----BEGIN PRIVATE KEY-----\n${secret}\n-----END PRIVATE KEY-----\n`),
      says: 'the file is not JSON',
    },
    {
      what: 'without client_email',
      file: () => fileWith('no-email.json', JSON.stringify({ type: 'service_account', private_key: secret })),
      says: "'client_email' is missing or invalid",
    },
    {
      what: 'with a broken key',
      file: () =>
        fileWith(
          'broken.json',
          JSON.stringify({
            type: 'service_account',
            client_email: 'sa@x.iam.gserviceaccount.com',
            private_key: secret,
          }),
        ),
      says: "'private_key' is not a PEM private key",
    },
    {
      what: 'with a non-RSA key',
      file: () =>
        fileWith(
          'ec.json',
          JSON.stringify({
            type: 'service_account',
            client_email: 'sa@x.iam.gserviceaccount.com',
            private_key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
              type: 'pkcs8',
              format: 'pem',
            }),
          }),
        ),
      says: "'private_key' is not an RSA key",
    },
  ])('rejects a service account file $what without printing its content', ({ file, says }) => {
    const error = configError({ GOOGLE_SERVICE_ACCOUNT_FILE: file() });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variable).toBe('GOOGLE_SERVICE_ACCOUNT_FILE');
    expect(error.message).toContain(says);
    expect(error.message).toMatch(/^Configuration error: GOOGLE_SERVICE_ACCOUNT_FILE is invalid: /);
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain('BEGIN');
  });
});
