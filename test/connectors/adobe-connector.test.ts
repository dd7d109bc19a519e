import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adobeSku, createAdobeConnector } from '../../connectors/adobe-connector.ts';
import type { ConnectorDeps, SeatRef } from '../../connectors/types.ts';
import { clearing, seats, whoHas } from '../../handlers/inventory-queries.ts';
import { type HandlerContext, operatorActor, type Result } from '../../handlers/types.ts';
import { type Config, ConfigError, loadConfig } from '../../src/config/config.ts';
import { ImportFailedError, type ImportOptions, runImport } from '../../src/inventory/import-pipeline.ts';
import type { Store } from '../../src/store/store.ts';
import {
  ADOBE_CLIENT_ID,
  ADOBE_CLIENT_SECRET,
  ADOBE_ORG_ID,
  ADOBE_PROFILES,
  AdobeFake,
  type AdobeFakeOptions,
  generatedAdobeData,
} from '../fakes/adobe-fake.ts';
import { type FixtureData, fixtureConnector, personEntry } from '../support/fixture-connector.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const NOW = new Date('2026-11-20T08:00:00Z');
const USERS = /^\/v2\/usermanagement\/users\//;
const GROUPS = /^\/v2\/usermanagement\/groups\//;
const ACTION = /^\/v2\/usermanagement\/action\//;

// The company directory: everyone in the fixture but fay@partner.example, whose seat goes to clearing.
const directory: FixtureData = {
  subscriptions: [],
  accounts: [],
  persons: ['ana.lopez', 'bo', 'cy', 'dee', 'eli', 'gus', 'hal'].map((name) =>
    personEntry(`${name}@example.com`),
  ),
};

function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`handler failed: ${result.error.message}`);
  return result.value;
}

describe('Adobe connector against the UMAPI fake', () => {
  let db: TestDatabase;
  let store: Store;
  let fake: AdobeFake | undefined;
  let config: Config;
  let waits: number[];
  let retryReasons: string[];

  beforeEach(async () => {
    waits = [];
    retryReasons = [];
    db = await createTestDatabase();
    store = await db.open();
    await runImport(store, fixtureConnector('directory', directory), {
      trigger: 'test',
      minEntitlementDays: 90,
      now: () => NOW,
      persons: true,
    });
  });
  afterEach(async () => {
    await fake?.stop();
    fake = undefined;
    await db?.drop();
  });

  async function startFake(options: AdobeFakeOptions = {}): Promise<AdobeFake> {
    fake = await new AdobeFake(options).start();
    config = loadConfig({
      ...db.env,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
      ADOBE_ORG_ID,
      ADOBE_CLIENT_ID,
      ADOBE_CLIENT_SECRET,
      ADOBE_UMAPI_URL: fake.url,
      ADOBE_IMS_URL: fake.url,
    });
    return fake;
  }

  // Waits are recorded, never slept: the tests prove what the connector would wait without waiting.
  const connector = (deps: ConnectorDeps = {}) =>
    createAdobeConnector(config, {
      sleep: async (ms) => {
        waits.push(ms);
      },
      onRetry: (info) => retryReasons.push(`${info.endpoint}: ${info.reason}`),
      ...deps,
    });

  const importAdobe = (deps: ConnectorDeps = {}, options: Partial<ImportOptions> = {}) =>
    runImport(store, connector(deps), {
      trigger: 'test',
      minEntitlementDays: 90,
      now: () => NOW,
      ...options,
    });

  const ctx = (): HandlerContext => ({ store, config, actor: operatorActor(), now: () => NOW });
  const page = { limit: 100, offset: 0 };

  async function seatSummary() {
    return value(await seats(ctx(), page)).rows.map((r) => ({
      sku: r.sku,
      product: r.product,
      purchased: r.purchased,
      consumed: r.consumed,
      available: r.available,
      unlimited: r.unlimited,
    }));
  }

  async function seatOf(email: string, sku: string): Promise<SeatRef> {
    const found = await store.pool.query(
      `SELECT l.vendor_key, l.sku, s.vendor_account_id, s.email, s.login
       FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
       WHERE lower(s.email) = lower($1) AND l.sku = $2`,
      [email, sku],
    );
    const row = found.rows[0];
    if (!row) throw new Error(`no ${sku} seat for ${email}`);
    return {
      subscriptionKey: row.vendor_key,
      sku: row.sku,
      accountId: row.vendor_account_id,
      email: row.email,
      login: row.login,
    };
  }

  async function inventoryRows() {
    const q = async (sql: string) => (await store.pool.query(sql)).rows;
    return {
      licenses: await q('SELECT * FROM licenses ORDER BY id'),
      subscribers: await q('SELECT * FROM cloud_subscribers ORDER BY id'),
      snapshots: await q('SELECT count(*)::int AS n FROM license_snapshots'),
    };
  }

  it('imports product profiles as licenses with their quotas, UNLIMITED included; admin groups are no seats', async () => {
    await startFake();
    const result = await importAdobe();
    expect(result.counts).toMatchObject({
      subscriptions: 3,
      accounts: 11,
      added: 11,
      matched: 10,
      clearing: 1,
    });
    expect(await seatSummary()).toEqual([
      {
        sku: 'ADOBE_ACROBAT_PRO',
        product: 'Acrobat Pro',
        purchased: 3,
        consumed: 3,
        available: 0,
        unlimited: false,
      },
      {
        sku: 'ADOBE_EXPRESS',
        product: 'Adobe Express',
        purchased: null,
        consumed: 4,
        available: null,
        unlimited: true,
      },
      {
        sku: 'ADOBE_CC_ALL_APPS',
        product: 'Creative Cloud All Apps',
        purchased: 5,
        consumed: 4,
        available: 1,
        unlimited: false,
      },
    ]);
    const licenses = await store.pool.query(
      `SELECT vendor_key, vendor, name FROM licenses ORDER BY vendor_key`,
    );
    expect(licenses.rows).toEqual([
      { vendor_key: '38324301', vendor: 'Adobe', name: ADOBE_PROFILES.allApps },
      { vendor_key: '38324302', vendor: 'Adobe', name: ADOBE_PROFILES.acrobat },
      { vendor_key: '38324303', vendor: 'Adobe', name: `Adobe Express: ${ADOBE_PROFILES.express}` },
    ]);
    // gus only holds _org_admin and _support_admin: administrators, not seats.
    expect(value(await whoHas(ctx(), { query: 'gus@example.com', ...page })).total).toBe(0);
  });

  it('lists one account per user and product profile, matched or in clearing, and claims no activity', async () => {
    await startFake();
    const adobe = connector();
    expect(adobe.capabilities).toEqual({ usage: false, directory: false, emails: true, removal: true });
    expect(adobe.usage).toBeUndefined();
    await runImport(store, adobe, { trigger: 'test', minEntitlementDays: 90, now: () => NOW });

    const allApps = value(await whoHas(ctx(), { query: 'ADOBE_CC_ALL_APPS', ...page })).rows;
    expect(allApps.map((r) => [r.email, r.person, r.vendorAccountId])).toEqual([
      ['ana.lopez@example.com', 'ana.lopez@example.com', '9A1F00000000000000000001@AdobeID'],
      // dee holds All Apps only through the "Designers" user group.
      ['dee@example.com', 'dee@example.com', '9A1F00000000000000000004@AdobeID'],
      ['eli@example.com', 'eli@example.com', '9A1F00000000000000000005@AdobeID'],
      ['hal@example.com', 'hal@example.com', '9A1F00000000000000000008@AdobeID'],
    ]);
    const hal = value(await whoHas(ctx(), { query: 'hal@example.com', ...page })).rows;
    expect(hal.map((r) => [r.sku, r.lastActivityAt, r.lastActivitySource])).toEqual([
      ['ADOBE_ACROBAT_PRO', null, 'no usage signal'],
      ['ADOBE_CC_ALL_APPS', null, 'no usage signal'],
      ['ADOBE_EXPRESS', null, 'no usage signal'],
    ]);
    const inClearing = value(await clearing(ctx(), page)).rows;
    expect(inClearing.map((r) => [r.email, r.sku, r.vendor])).toEqual([
      ['fay@partner.example', 'ADOBE_EXPRESS', 'Adobe'],
    ]);
    // The trend snapshot records no "active" count for a vendor without a usage signal.
    const snapshots = await store.pool.query(`SELECT DISTINCT active FROM license_snapshots`);
    expect(snapshots.rows).toEqual([{ active: null }]);

    // One token for the whole import, asked for as the contract says; every UMAPI call is authenticated.
    const tokenCalls = fake?.calls(/^\/ims\/token\//, 'POST') ?? [];
    expect(tokenCalls.map((c) => c.path)).toEqual(['/ims/token/v3']);
    expect(Object.fromEntries(tokenCalls[0]?.form ?? [])).toEqual({
      grant_type: 'client_credentials',
      client_id: ADOBE_CLIENT_ID,
      client_secret: ADOBE_CLIENT_SECRET,
      scope: 'openid,AdobeID,user_management_sdk',
    });
    const umapi = fake?.calls(/^\/v2\/usermanagement\//) ?? [];
    expect(umapi.length).toBeGreaterThan(0);
    for (const call of umapi) {
      expect(call.headers['x-api-key']).toBe(ADOBE_CLIENT_ID);
      expect(call.headers.authorization).toMatch(/^Bearer eyFAKE\.1\./);
    }
    expect(fake?.calls(USERS).map((c) => c.query.get('directOnly'))).toEqual(['false']);
  });

  it('pages users and groups from 0 until lastPage, one pipeline page per vendor page', async () => {
    const adobeFake = await startFake({ data: generatedAdobeData(25), usersPageSize: 10, groupsPageSize: 4 });
    const adobe = connector();
    const subscriptionPages: number[] = [];
    for await (const p of adobe.subscriptions()) subscriptionPages.push(p.length);
    const accountPages: number[] = [];
    for await (const p of adobe.accounts()) accountPages.push(p.length);

    // 11 groups in pages of 4: the three profiles sit at positions 3, 4 and 5.
    expect(subscriptionPages).toEqual([1, 2, 0]);
    const users = adobeFake.data.users;
    const expected = [0, 10, 20].map((start) =>
      users.slice(start, start + 10).reduce((n, u) => n + adobeFake.profilesOf(u).length, 0),
    );
    expect(accountPages).toEqual(expected);
    expect(adobeFake.calls(USERS).map((c) => c.path.split('/').pop())).toEqual(['0', '1', '2']);
    // accounts() reused the profile listing: the groups endpoint (5 requests/min) was read once.
    expect(adobeFake.calls(GROUPS).map((c) => c.path.split('/').pop())).toEqual(['0', '1', '2']);

    const result = await importAdobe();
    expect(result.counts.accounts).toBe(expected.reduce((a, b) => a + b, 0));
    const allApps = (await seatSummary()).find((s) => s.sku === 'ADOBE_CC_ALL_APPS');
    expect(allApps).toMatchObject({ purchased: 25, consumed: 9 });
  });

  it('honours Retry-After on 429 from the users and groups endpoints', async () => {
    const adobeFake = await startFake();
    adobeFake.throttle(USERS, 7).throttle(GROUPS, 2);
    const result = await importAdobe();
    expect(result.counts).toMatchObject({ subscriptions: 3, accounts: 11 });
    expect(waits).toEqual([2000, 7000]);
    expect(retryReasons).toEqual([
      `GET /v2/usermanagement/groups/${ADOBE_ORG_ID}/0: HTTP 429 429050: Too many requests`,
      `GET /v2/usermanagement/users/${ADOBE_ORG_ID}/0: HTTP 429 429050: Too many requests`,
    ]);
    expect(adobeFake.calls(USERS)).toHaveLength(2);
  });

  it('retries 5xx from UMAPI and IMS with bounded, jittered backoff', async () => {
    const adobeFake = await startFake();
    adobeFake.inject(
      { path: /^\/ims\//, status: 502 },
      { path: USERS, status: 503 },
      { path: USERS, status: 500 },
    );
    const result = await importAdobe();
    expect(result.counts).toMatchObject({ subscriptions: 3, accounts: 11 });
    expect(waits).toHaveLength(3);
    // First retry of each call: at most 2 s; the second retry of the users page: at most 4 s.
    const caps = [2000, 2000, 4000];
    waits.forEach((w, i) => {
      expect(w).toBeGreaterThanOrEqual(0);
      expect(w).toBeLessThanOrEqual(caps[i] ?? 0);
    });
    expect(retryReasons.map((r) => r.split(':').slice(-1)[0]?.trim())).toEqual([
      'HTTP 502',
      'HTTP 503',
      'HTTP 500',
    ]);
  });

  it('fetches a new token when UMAPI rejects the cached one mid-import', async () => {
    const adobeFake = await startFake({ usersPageSize: 3 });
    const result = await importAdobe(
      {},
      {
        onProgress: ({ stream, pages }) => {
          if (stream === 'accounts' && pages === 1) adobeFake.expireTokens();
        },
      },
    );
    expect(result.counts).toMatchObject({ accounts: 11 });
    expect(adobeFake.expiredTokenRejections).toBe(1);
    expect(adobeFake.tokensIssued).toBe(2);
    expect(adobeFake.calls(USERS).map((c) => c.path.split('/').pop())).toEqual(['0', '1', '1', '2']);
  });

  it('renews a token before its lifetime runs out, without a 401', async () => {
    let clock = NOW.getTime();
    const adobeFake = await startFake({ usersPageSize: 3, tokenLifetimeSeconds: 3600, now: () => clock });
    const result = await importAdobe(
      { now: () => new Date(clock) },
      {
        onProgress: ({ stream }) => {
          if (stream === 'accounts') clock += 2 * 3_600_000; // a slow import: two hours per page
        },
      },
    );
    expect(result.counts).toMatchObject({ accounts: 11 });
    expect(adobeFake.tokensIssued).toBe(3);
    expect(adobeFake.expiredTokenRejections).toBe(0);
  });

  it('fails a malformed users page naming vendor, endpoint and field, and keeps the previous inventory', async () => {
    const adobeFake = await startFake({ usersPageSize: 4 });
    await importAdobe();
    const before = await inventoryRows();
    expect(before.subscribers).toHaveLength(11);

    adobeFake.inject({
      path: /^\/v2\/usermanagement\/users\/[^/]+\/1$/,
      status: 200,
      body: { lastPage: true, result: 'success', users: [{ id: 'X1@AdobeID', email: 42, groups: [] }] },
    });
    const error = await importAdobe().catch((e) => e);
    expect(error).toBeInstanceOf(ImportFailedError);
    const message = `adobe: Adobe GET /v2/usermanagement/users/${ADOBE_ORG_ID}/1: the response does not match the contract: users[0].email: Invalid input: expected string, received number`;
    expect(error.message).toBe(message);
    expect(await inventoryRows()).toEqual(before);
    const run = await store.pool.query(`SELECT outcome, error FROM import_runs WHERE id = $1`, [error.runId]);
    expect(run.rows).toEqual([{ outcome: 'failed', error: message }]);
    const staged = await store.pool.query(`SELECT count(*)::int AS n FROM staging_accounts`);
    expect(staged.rows[0].n).toBe(0);
  });

  it('fails on a licenseQuota that is neither a count nor UNLIMITED, naming the field', async () => {
    const adobeFake = await startFake();
    await importAdobe();
    const before = await inventoryRows();
    const acrobat = adobeFake.data.groups.find((g) => g.groupName === ADOBE_PROFILES.acrobat);
    if (acrobat) acrobat.licenseQuota = 'lots';
    const error = await importAdobe().catch((e) => e);
    expect(error.message).toBe(
      `adobe: Adobe GET /v2/usermanagement/groups/${ADOBE_ORG_ID}/0: the response does not match the contract: groups[4].licenseQuota: expected a number of licenses or "UNLIMITED", got "lots"`,
    );
    expect(await inventoryRows()).toEqual(before);
  });

  it('removes a seat through the action API, honouring 429, and the next import no longer lists it', async () => {
    const adobeFake = await startFake();
    await importAdobe();
    const seat = await seatOf('bo@example.com', 'ADOBE_ACROBAT_PRO');
    expect(seat.subscriptionKey).toBe('38324302');

    adobeFake.throttle(ACTION, 4);
    // A fresh connector knows no profiles yet: it looks the profile's name up by its key.
    const result = await connector().removeSeat?.(seat);
    expect(result).toEqual({
      ok: true,
      detail: `removed bo@example.com from Adobe product profile "${ADOBE_PROFILES.acrobat}"`,
    });
    expect(waits).toEqual([4000]);
    const calls = adobeFake.calls(ACTION, 'POST');
    expect(calls).toHaveLength(2);
    expect(calls[1]?.path).toBe(`/v2/usermanagement/action/${ADOBE_ORG_ID}`);
    expect(calls[1]?.json).toEqual([
      {
        user: 'bo@example.com',
        requestID: expect.stringMatching(/^seatkeeper-/),
        do: [{ remove: { group: [ADOBE_PROFILES.acrobat] } }],
      },
    ]);

    const again = await importAdobe();
    expect(again.counts).toMatchObject({ accounts: 10, deleted: 1 });
    const bo = value(await whoHas(ctx(), { query: 'bo@example.com', ...page })).rows;
    expect(bo.map((r) => r.sku)).toEqual(['ADOBE_EXPRESS']);
    expect((await seatSummary())[0]).toMatchObject({ sku: 'ADOBE_ACROBAT_PRO', consumed: 2, available: 1 });
  });

  it('reports a refused or partial removal as a failure with the vendor error code, even on HTTP 200', async () => {
    const adobeFake = await startFake();
    await importAdobe();
    const bo = await seatOf('bo@example.com', 'ADOBE_ACROBAT_PRO');
    const adobe = connector();
    const endpoint = `Adobe POST /v2/usermanagement/action/${ADOBE_ORG_ID}`;

    // The user left the organisation since the import: Adobe answers 200 with result "error".
    expect(await adobe.removeSeat?.({ ...bo, email: 'gone@example.com' })).toEqual({
      ok: false,
      code: 'error.user.not_in_org',
      reason: `${endpoint}: result error: error.user.not_in_org: User gone@example.com is not a member of the organization`,
      retryable: false,
    });

    adobeFake.inject({
      path: ACTION,
      status: 200,
      body: {
        completed: 0,
        notCompleted: 1,
        completedInTestMode: 0,
        result: 'partial',
        errors: [
          {
            index: 0,
            step: 0,
            requestID: 'x',
            message: 'Changes to users are only allowed in claimed domains.',
            user: 'bo@example.com',
            errorCode: 'error.domain.trust.nonexistent',
          },
        ],
      },
    });
    expect(await adobe.removeSeat?.(bo)).toEqual({
      ok: false,
      code: 'error.domain.trust.nonexistent',
      reason: `${endpoint}: result partial: error.domain.trust.nonexistent: Changes to users are only allowed in claimed domains.`,
      retryable: false,
    });

    // "success" alongside errors is not trusted either.
    adobeFake.inject({
      path: ACTION,
      status: 200,
      body: {
        completed: 1,
        notCompleted: 0,
        result: 'success',
        errors: [
          { index: 0, errorCode: 'error.organization.migrating', message: 'Organization is migrating' },
        ],
      },
    });
    expect(await adobe.removeSeat?.(bo)).toMatchObject({
      ok: false,
      code: 'error.organization.migrating',
      retryable: true,
    });

    // An outage that outlasts the retries is a retryable failure, not an exception.
    adobeFake.inject(...Array.from({ length: 6 }, () => ({ path: ACTION, status: 503 })));
    expect(await adobe.removeSeat?.(bo)).toEqual({
      ok: false,
      code: undefined,
      reason: `${endpoint}: HTTP 503 (gave up after 6 attempts)`,
      retryable: true,
    });

    // A profile Adobe no longer lists: refused before any action is sent.
    const actions = adobeFake.calls(ACTION).length;
    expect(await adobe.removeSeat?.({ ...bo, subscriptionKey: '999' })).toMatchObject({
      ok: false,
      code: 'error.group.not_found',
    });
    expect(adobeFake.calls(ACTION)).toHaveLength(actions);
    // None of this removed bo's seat.
    expect(adobeFake.data.users.find((u) => u.email === 'bo@example.com')?.groups).toContain(
      ADOBE_PROFILES.acrobat,
    );
  });

  it('fails the import with the IMS error when the client secret is wrong, without revealing it', async () => {
    await startFake({ clientSecret: 'the-real-secret' });
    const error = await importAdobe().catch((e) => e);
    expect(error).toBeInstanceOf(ImportFailedError);
    expect(error.message).toBe(
      'adobe: Adobe IMS POST /ims/token/v3: HTTP 401 invalid_client: invalid client_secret parameter',
    );
    expect(error.message).not.toContain(ADOBE_CLIENT_SECRET);
    expect((await store.pool.query('SELECT count(*)::int AS n FROM licenses')).rows[0].n).toBe(0);
  });

  it('refuses to start without its credentials, naming the variable', async () => {
    await startFake();
    expect(() => createAdobeConnector(loadConfig({ LOG_LEVEL: 'silent' }))).toThrow(
      'Configuration error: the adobe connector needs ADOBE_ORG_ID, ADOBE_CLIENT_ID, ADOBE_CLIENT_SECRET; ADOBE_ORG_ID, ADOBE_CLIENT_ID, ADOBE_CLIENT_SECRET are not set. See README, "Configuration".',
    );
    const error = (() => {
      try {
        createAdobeConnector({ ...config, ADOBE_CLIENT_SECRET: undefined });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('ADOBE_CLIENT_SECRET');
  });
});

describe('Adobe product profile SKUs', () => {
  it('maps product names to the shipped catalog, else to a stable normalized id', () => {
    expect(adobeSku('All Apps plan - 100 GB')).toBe('ADOBE_CC_ALL_APPS');
    expect(adobeSku('Creative Cloud All Apps (ETLA,ETLA - DD211C79AB1DB19CBD0A)')).toBe('ADOBE_CC_ALL_APPS');
    expect(adobeSku('Acrobat Pro DC')).toBe('ADOBE_ACROBAT_PRO');
    expect(adobeSku('Adobe Acrobat Standard')).toBe('ADOBE_ACROBAT_STANDARD');
    expect(adobeSku('Photoshop - 100 GB')).toBe('ADOBE_PHOTOSHOP');
    expect(adobeSku('Adobe Express')).toBe('ADOBE_EXPRESS');
    expect(adobeSku('Premiere Pro')).toBe('ADOBE_PREMIERE_PRO');
    expect(adobeSku('Substance 3D Collection (ETLA - 1234ABCD)')).toBe('ADOBE_SUBSTANCE_3D_COLLECTION');
    expect(adobeSku('Adobe Stock')).toBe('ADOBE_STOCK');
  });
});
