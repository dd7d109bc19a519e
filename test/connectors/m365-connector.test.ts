import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createM365Connector,
  type M365ConnectorOptions,
  REPORT_SOURCE,
} from '../../connectors/m365-connector.ts';
import type { Connector, UsageSignal } from '../../connectors/types.ts';
import { clearing, person, seats, whoHas } from '../../handlers/inventory-queries.ts';
import { type HandlerContext, operatorActor, type Result } from '../../handlers/types.ts';
import { type Config, loadConfig } from '../../src/config/config.ts';
import { ImportFailedError, runImport } from '../../src/inventory/import-pipeline.ts';
import type { Store } from '../../src/store/store.ts';
import { GraphFake, outage, throttled } from '../fakes/graph-fake.ts';
import { generatedOrg, generatedUserId, SKU, USER } from '../fakes/graph-fixtures.ts';
import { account, fixtureConnector, subscription } from '../support/fixture-connector.ts';
import { graphConfig } from '../support/graph-env.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const USERS = /^\/v1\.0\/users$/;
const PAGE = { limit: 100, offset: 0 };

function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`handler failed: ${result.error.message}`);
  return result.value;
}

describe('Microsoft 365 connector against the Graph fake', () => {
  let fake: GraphFake;
  let db: TestDatabase;
  let store: Store;
  let config: Config;
  let clock: Date;
  let waits: number[];
  let retried: { endpoint: string; attempt: number; waitMs: number; reason: string }[];

  const ctx = (): HandlerContext => ({ store, config, actor: operatorActor(), now: () => clock });
  const connector = (options: M365ConnectorOptions = {}): Connector =>
    createM365Connector(
      config,
      {
        // Waits are recorded, not slept: the tests assert how long the connector would have waited.
        sleep: async (ms) => {
          waits.push(ms);
        },
        onRetry: (info) => retried.push(info),
        now: () => clock,
      },
      { baseBackoffMs: 100, ...options },
    );
  const importM365 = (c: Connector = connector()) =>
    runImport(store, c, { trigger: 'test', persons: true, minEntitlementDays: 90, now: () => clock });
  const configFor = (over: Record<string, string> = {}) => graphConfig(db, fake, over);

  async function startFake(created: GraphFake = new GraphFake()) {
    await fake?.stop();
    fake = await created.start();
    config = configFor();
  }

  /** Everything an import writes, to prove a failed one changed nothing. */
  async function inventory() {
    const q = async (sql: string) => (await store.pool.query(sql)).rows;
    return {
      licenses: await q(
        `SELECT vendor_key, sku, capability_status, consumed_units, enabled_units, warning_units, present
         FROM licenses ORDER BY vendor_key`,
      ),
      subscribers: await q('SELECT * FROM cloud_subscribers ORDER BY id'),
      persons: await q('SELECT * FROM persons ORDER BY id'),
      emails: await q('SELECT * FROM person_emails ORDER BY email'),
      counts: await q(
        `SELECT (SELECT count(*)::int FROM licenses) AS licenses,
                (SELECT count(*)::int FROM cloud_subscribers) AS subscribers,
                (SELECT count(*)::int FROM persons) AS persons,
                (SELECT count(*)::int FROM person_emails) AS emails`,
      ),
    };
  }

  async function seatsOf(sku: string) {
    return value(await whoHas(ctx(), { query: sku, ...PAGE })).rows.map((r) => ({
      email: r.email,
      person: r.person,
      lastActivityAt: r.lastActivityAt,
      source: r.lastActivitySource,
    }));
  }

  beforeEach(async () => {
    clock = new Date('2026-11-20T08:00:00Z');
    waits = [];
    retried = [];
    db = await createTestDatabase();
    store = await db.open();
    await startFake();
  });
  afterEach(async () => {
    await fake?.stop();
    await db?.drop();
  });

  it('refuses to start without the M365 credentials', () => {
    const bare = loadConfig({ ...db.env, LOG_LEVEL: 'silent', NODE_ENV: 'test' });
    expect(() => createM365Connector(bare)).toThrow(
      /Microsoft 365 connector is not configured: set M365_TENANT_ID, M365_CLIENT_ID, M365_CLIENT_SECRET/,
    );
  });

  it('imports licenses, accounts, persons and report usage over HTTPS', async () => {
    const result = await importM365();
    expect(result.counts).toMatchObject({
      subscriptions: 3,
      accounts: 9,
      persons: 9,
      matched: 9,
      clearing: 0,
    });

    // Free seats = enabled + warning − consumed: the E5 in Warning (0 enabled, 5 warning, 4 consumed) has 1.
    const e5 = value(await seats(ctx(), { app: 'SPE_E5', ...PAGE })).rows;
    expect(e5).toMatchObject([
      {
        sku: 'SPE_E5',
        product: 'Microsoft 365 E5',
        capabilityStatus: 'Warning',
        enabledUnits: 0,
        warningUnits: 5,
        purchased: 5,
        consumed: 4,
        available: 1,
      },
    ]);
    const e3 = value(await seats(ctx(), { app: 'ENTERPRISEPACK', ...PAGE })).rows;
    expect(e3).toMatchObject([{ purchased: 10, consumed: 3, available: 7, capabilityStatus: 'Enabled' }]);

    // Terms from directory/subscriptions: the soonest renewal of the live subscriptions; a trial SKU.
    const terms = await store.pool.query(
      `SELECT sku, is_trial, next_lifecycle_at FROM licenses ORDER BY sku`,
    );
    expect(terms.rows).toEqual([
      { sku: 'ENTERPRISEPACK', is_trial: false, next_lifecycle_at: new Date('2027-03-31T00:00:00Z') },
      { sku: 'POWER_BI_PRO', is_trial: true, next_lifecycle_at: new Date('2026-12-20T00:00:00Z') },
      { sku: 'SPE_E5', is_trial: false, next_lifecycle_at: new Date('2026-12-05T00:00:00Z') },
    ]);

    // Last activity = the latest of the three sign-ins and the report's dates, each with its source.
    expect(await seatsOf('SPE_E5')).toEqual([
      {
        email: 'adele.vance@example.com',
        person: 'adele.vance@example.com',
        lastActivityAt: '2026-11-19T09:14:02.000Z',
        source: 'graph:lastSuccessfulSignInDateTime',
      },
      {
        // Active only through non-interactive sign-ins (Outlook mobile): not "never", not March.
        email: 'alex.wilber@example.com',
        person: 'alex.wilber@example.com',
        lastActivityAt: '2026-11-19T06:12:44.000Z',
        source: 'graph:lastNonInteractiveSignInDateTime',
      },
      {
        // Never signed in, but the report shows Teams use.
        email: 'isaiah.langer@example.com',
        person: 'isaiah.langer@example.com',
        lastActivityAt: '2026-11-10T00:00:00.000Z',
        source: REPORT_SOURCE,
      },
      {
        // The 0001-01-01 sentinel is "never", not a date.
        email: 'johanna.lorenz@example.com',
        person: 'johanna.lorenz@example.com',
        lastActivityAt: '2026-10-02T11:00:00.000Z',
        source: 'graph:lastSuccessfulSignInDateTime',
      },
    ]);
    expect(await seatsOf('ENTERPRISEPACK')).toEqual([
      {
        email: 'diego.siciliani@example.com',
        person: 'diego.siciliani@example.com',
        lastActivityAt: '2026-11-18T16:45:00.000Z',
        source: 'graph:lastSuccessfulSignInDateTime',
      },
      {
        email: 'grady.archie@example.com',
        person: 'grady.archie@example.com',
        lastActivityAt: '2026-05-04T10:05:00.000Z',
        source: 'graph:lastNonInteractiveSignInDateTime',
      },
      {
        // No mail: the UPN is the address. The report's Exchange date is later than the last sign-in.
        email: 'lee.gu@example.com',
        person: 'lee.gu@example.com',
        lastActivityAt: '2026-11-04T00:00:00.000Z',
        source: REPORT_SOURCE,
      },
    ]);

    const flags = await store.pool.query(
      `SELECT s.vendor_account_id AS id, l.sku, s.account_enabled, s.group_inherited
       FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
       WHERE s.vendor_account_id = ANY($1) ORDER BY l.sku, s.email`,
      [[USER.diego, USER.grady, USER.johanna]],
    );
    expect(flags.rows).toEqual([
      { id: USER.diego, sku: 'ENTERPRISEPACK', account_enabled: true, group_inherited: true },
      { id: USER.grady, sku: 'ENTERPRISEPACK', account_enabled: false, group_inherited: false },
      // Assigned directly and by a group: removable, so not "inherited".
      { id: USER.johanna, sku: 'SPE_E5', account_enabled: true, group_inherited: false },
    ]);

    // Persons: aliases from proxyAddresses (smtp: and SMTP:, lower-cased, not SIP/X500) plus a differing UPN.
    const adele = value(await person(ctx(), { email: 'AVance@example.onmicrosoft.com' }));
    expect(adele).toMatchObject([
      {
        email: 'adele.vance@example.com',
        aliases: ['adele@example.com', 'avance@example.onmicrosoft.com'],
        displayName: 'Adele Vance',
        department: 'Retail',
        directoryEnabled: true,
        source: 'm365',
        seats: [{ sku: 'SPE_E5' }],
      },
    ]);
    const megan = value(await person(ctx(), { email: 'megan@partner.example' }));
    expect(megan).toMatchObject([
      { aliases: ['megan_partner.example#ext#@example.onmicrosoft.com'], seats: [] },
    ]);
    expect(value(await person(ctx(), { email: 'grady.archie@example.com' }))).toMatchObject([
      { directoryEnabled: false },
    ]);
    expect(value(await clearing(ctx(), PAGE)).total).toBe(0);

    // The report: 302 from Graph (with the token), then the pre-signed download (without it).
    const [report] = fake.server.calls(/getOffice365ActiveUserDetail/);
    expect(report?.headers.authorization).toMatch(/^Bearer /);
    const [download] = fake.server.calls(/^\/reports-download\//);
    expect(download?.headers.authorization).toBeUndefined();
    expect(fake.tokensIssued).toBe(1);
  });

  it('feeds matching: another vendor’s accounts reach Graph persons through their aliases', async () => {
    await importM365();
    const adobe = fixtureConnector('adobe', {
      subscriptions: [subscription({ key: 'cc', sku: 'ADOBE_CC_ALL_APPS', vendor: 'Adobe' })],
      accounts: [
        account('cc', 'a-1', 'ADELE@example.com'),
        account('cc', 'a-2', 'avance@example.onmicrosoft.com'),
        account('cc', 'a-3', 'alex@example.com'),
        account('cc', 'a-4', 'stranger@example.com'),
      ],
    });
    const result = await runImport(store, adobe, {
      trigger: 'test',
      minEntitlementDays: 90,
      now: () => clock,
    });
    expect(result.counts).toMatchObject({ matched: 3, clearing: 1 });
    const held = (await seatsOf('ADOBE_CC_ALL_APPS')).map((r) => [r.email, r.person]);
    expect(held).toEqual([
      ['ADELE@example.com', 'adele.vance@example.com'],
      ['alex@example.com', 'alex.wilber@example.com'],
      ['avance@example.onmicrosoft.com', 'adele.vance@example.com'],
      ['stranger@example.com', null],
    ]);
    // Asking by an alias finds everything the person holds.
    const byAlias = value(await whoHas(ctx(), { query: 'adele@example.com', ...PAGE })).rows;
    expect(byAlias.map((r) => r.sku).sort()).toEqual(['ADOBE_CC_ALL_APPS', 'ADOBE_CC_ALL_APPS', 'SPE_E5']);
  });

  it('pages through 2,500 users, with pages smaller than asked and an empty one, following next links exactly', async () => {
    const org = generatedOrg(2500);
    const big = new GraphFake({ org });
    big.maxPageSize = 400;
    big.shrinkPages = (page) => (page * 37) % 50;
    big.emptyPages = new Set([2]);
    await startFake(big);
    const progress: Record<string, number> = {};
    const result = await runImport(store, connector(), {
      trigger: 'test',
      persons: true,
      minEntitlementDays: 90,
      now: () => clock,
      onProgress: (p) => {
        progress[p.stream] = p.pages;
      },
    });
    const assignments = org.users.reduce((n, u) => n + u.assignedLicenses.length, 0);
    expect(assignments).toBe(2500 + 833);
    expect(result.counts).toMatchObject({
      accounts: assignments,
      persons: 2500,
      matched: assignments,
      clearing: 0,
    });
    const rows = await store.pool.query(`SELECT count(*)::int AS n FROM cloud_subscribers`);
    expect(rows.rows[0].n).toBe(assignments);

    const userCalls = fake.server.calls(USERS);
    const accountCalls = userCalls.filter((r) => r.query.get('$select')?.includes('signInActivity'));
    // Asked for 999; signInActivity caps pages at 120, and the fake shrinks them further.
    expect(accountCalls[0]?.query.get('$top')).toBe('999');
    expect(accountCalls.length).toBe(progress.accounts);
    expect(accountCalls.length).toBeGreaterThan(Math.ceil(2500 / 120));
    expect(progress.persons).toBeGreaterThan(Math.ceil(2500 / 400));
    // Every page after the first came from a next link (the fake refuses a rebuilt or reordered one).
    expect(userCalls.filter((r) => r.query.has('$skiptoken'))).toHaveLength(userCalls.length - 2);

    // Report usage reached users who never signed in (every 7th) but used Teams (every 5th).
    const fromReport = org.users.filter((u, i) => (i + 1) % 35 === 0 && u.assignedLicenses.length > 0);
    const expected = fromReport.reduce((n, u) => n + u.assignedLicenses.length, 0);
    const sourced = await store.pool.query(
      `SELECT count(*)::int AS n FROM cloud_subscribers WHERE last_activity_source = $1`,
      [REPORT_SOURCE],
    );
    expect(sourced.rows[0].n).toBe(expected);
    const seven = await store.pool.query(
      `SELECT last_activity_at FROM cloud_subscribers WHERE vendor_account_id = $1`,
      [generatedUserId(7)],
    );
    expect(seven.rows).toEqual([{ last_activity_at: null }]);
  });

  it('honours Retry-After on 429 and backs off on a 5xx burst, then completes', async () => {
    fake.server.inject(throttled(7, USERS), outage(503, /subscribedSkus/), outage(500, /subscribedSkus/));
    fake.server.inject(outage(502, /subscribedSkus/), outage(504, /directory\/subscriptions/));
    const small = { pageSize: 4 };
    // Throttled mid-paging too: the request for the third account page gets two 429s.
    let once = true;
    fake.onUsersPage = (page, req) => {
      if (page === 1 && once && req.query.get('$select')?.includes('signInActivity')) {
        once = false;
        fake.server.inject(throttled(3, USERS), throttled(2, USERS));
      }
    };
    const result = await importM365(connector(small));
    expect(result.counts).toMatchObject({ subscriptions: 3, accounts: 9, persons: 9 });

    const throttledWaits = retried.filter((r) => r.reason.startsWith('HTTP 429')).map((r) => r.waitMs);
    expect(throttledWaits).toEqual([7000, 3000, 2000]);
    expect(retried.find((r) => r.waitMs === 7000)).toMatchObject({
      endpoint: 'GET /v1.0/users',
      attempt: 1,
      reason: 'HTTP 429 TooManyRequests: Too many requests.',
    });
    const burst = retried.filter((r) => r.endpoint === 'GET /v1.0/subscribedSkus');
    expect(burst.map((r) => r.reason.slice(0, 8))).toEqual(['HTTP 503', 'HTTP 500', 'HTTP 502']);
    // Exponential backoff with full jitter: attempt n waits at most 100 ms × 2^(n−1).
    burst.forEach((r) => {
      expect(r.waitMs).toBeGreaterThanOrEqual(0);
      expect(r.waitMs).toBeLessThanOrEqual(100 * 2 ** (r.attempt - 1));
    });
    expect(waits).toHaveLength(retried.length);
    expect(fake.server.calls(/subscribedSkus/)).toHaveLength(4);
  });

  it('retries a call that hangs, after its timeout', async () => {
    fake.server.inject({ path: /subscribedSkus/, hang: true });
    const result = await importM365(connector({ timeoutMs: 300 }));
    expect(result.counts.subscriptions).toBe(3);
    expect(retried).toMatchObject([
      { endpoint: 'GET /v1.0/subscribedSkus', reason: 'no answer within 300 ms' },
    ]);
  });

  it('gives up after the bounded attempts and leaves the previous inventory intact', async () => {
    await importM365();
    const before = await inventory();
    fake.server.inject(...Array.from({ length: 4 }, () => outage(503, USERS)));
    const error = await importM365(connector({ maxAttempts: 4 })).catch((e) => e);
    expect(error).toBeInstanceOf(ImportFailedError);
    expect(error.message).toBe(
      'm365: Microsoft Graph GET /v1.0/users: HTTP 503 serviceNotAvailable: The service is temporarily unavailable. (gave up after 4 attempts)',
    );
    expect(fake.server.calls(USERS)).toHaveLength(6); // 2 in the first import (accounts, persons), 4 now
    expect(await inventory()).toEqual(before);
    const run = await store.pool.query(`SELECT outcome, error FROM import_runs WHERE id = $1`, [error.runId]);
    expect(run.rows).toEqual([{ outcome: 'failed', error: error.message }]);

    // A Retry-After beyond the limit is not waited out.
    fake.server.inject(throttled(3600, USERS));
    const tooLong = await importM365().catch((e) => e);
    expect(tooLong.message).toBe(
      'm365: Microsoft Graph GET /v1.0/users: HTTP 429 TooManyRequests: Too many requests. (asked to wait 3600 s)',
    );
    expect(await inventory()).toEqual(before);
  });

  it('gets a new token when the old one expires mid-import', async () => {
    let expired = false;
    fake.onUsersPage = (page) => {
      if (page === 1 && !expired) {
        expired = true;
        fake.expireTokens();
      }
    };
    const result = await importM365(connector({ pageSize: 3 }));
    expect(result.counts).toMatchObject({ accounts: 9, persons: 9 });
    expect(fake.rejectedTokens).toBe(1); // the page after the expiry, once
    expect(fake.tokensIssued).toBe(2);
    expect(fake.server.calls(/oauth2\/v2\.0\/token$/, 'POST')).toHaveLength(2);
  });

  it('renews the cached token shortly before it expires, without waiting for a 401', async () => {
    let advanced = false;
    fake.onUsersPage = (page) => {
      if (page === 1 && !advanced) {
        advanced = true;
        clock = new Date(clock.getTime() + 3350_000); // past expiry − 5 min (3599 s − 300 s)
      }
    };
    await importM365(connector({ pageSize: 3 }));
    expect(fake.tokensIssued).toBe(2);
    expect(fake.rejectedTokens).toBe(0);
    const [tokenCall] = fake.server.calls(/oauth2\/v2\.0\/token$/, 'POST');
    expect(tokenCall?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(tokenCall?.form ?? [])).toEqual({
      client_id: fake.clientId,
      client_secret: fake.clientSecret,
      scope: `${fake.url}/.default`,
      grant_type: 'client_credentials',
    });
  });

  it('fails on a wrong client secret without retrying and without revealing it', async () => {
    config = configFor({ M365_CLIENT_SECRET: 'wrong~secret.value' });
    const error = await importM365().catch((e) => e);
    expect(error).toBeInstanceOf(ImportFailedError);
    expect(error.message).toMatch(
      /^m365: Microsoft identity platform POST \/[0-9a-f-]+\/oauth2\/v2\.0\/token: HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided/,
    );
    expect(error.message).not.toContain('wrong~secret.value');
    expect(fake.server.calls(/oauth2/)).toHaveLength(1);
    expect((await store.pool.query('SELECT count(*)::int AS n FROM licenses')).rows[0].n).toBe(0);
  });

  it('fails a malformed page naming vendor, endpoint and field, and keeps the previous inventory', async () => {
    await importM365();
    const before = await inventory();
    expect(before.counts).toEqual([{ licenses: 3, subscribers: 9, persons: 9, emails: 13 }]);
    const grady = fake.user(USER.grady);
    if (grady) grady.accountEnabled = 'no' as unknown as boolean; // user #4: the first on the second page of 3
    const error = await importM365(connector({ pageSize: 3 })).catch((e) => e);
    expect(error).toBeInstanceOf(ImportFailedError);
    expect(error.message).toBe(
      'm365: Microsoft Graph GET /v1.0/users: value.0.accountEnabled: expected boolean, received string',
    );
    expect(await inventory()).toEqual(before);
    const staged = await store.pool.query(`SELECT count(*)::int AS n FROM staging_accounts`);
    expect(staged.rows[0].n).toBe(0);
  });

  it('fails the usage step loudly when the report conceals user names', async () => {
    await importM365();
    const before = await inventory();
    fake.concealedNames = true;
    const error = await importM365().catch((e) => e);
    expect(error).toBeInstanceOf(ImportFailedError);
    expect(error.message).toContain(
      "m365: Microsoft Graph GET /v1.0/reports/getOffice365ActiveUserDetail(period='D30'): the usage report conceals user names",
    );
    expect(error.message).toContain('every seat would look idle');
    expect(error.message).toContain('Display concealed user, group, and site names in all reports');
    expect(error.message).toContain('PATCH /v1.0/admin/reportSettings {"displayConcealedNames": false}');
    expect(await inventory()).toEqual(before);
  });

  it('reads the report on its own too, mapping user principal names to user ids', async () => {
    // Without accounts() before it, usage() learns the UPN → id mapping from /users itself.
    const c = connector();
    expect(c.capabilities).toEqual({ usage: true, directory: true, emails: true, removal: true });
    const signals: UsageSignal[] = [];
    for await (const page of c.usage?.() ?? []) signals.push(...page);
    expect(signals.map((s) => [s.accountId, s.lastActivityAt?.toISOString(), s.source]).sort()).toEqual(
      [
        [USER.adele, '2026-11-19T00:00:00.000Z', REPORT_SOURCE],
        [USER.alex, '2026-11-19T00:00:00.000Z', REPORT_SOURCE],
        [USER.diego, '2026-11-12T00:00:00.000Z', REPORT_SOURCE],
        [USER.isaiah, '2026-11-10T00:00:00.000Z', REPORT_SOURCE],
        [USER.lee, '2026-11-04T00:00:00.000Z', REPORT_SOURCE],
      ].sort(),
    );
    // No subscription key: the activity counts for all of the user's licenses. Deleted users' rows are skipped.
    expect(signals.every((s) => s.subscriptionKey === undefined)).toBe(true);
    expect(fake.server.calls(USERS)[0]?.query.get('$select')).toBe('id,userPrincipalName,assignedLicenses');
  });

  it('reads the report as it downloads, again from the start when the download stalls, and counts no row twice', async () => {
    await startFake(new GraphFake({ org: generatedOrg(2500) }));
    // A display name with a comma, quotes and letters of several bytes, as the report quotes it.
    const first = fake.org.users[0];
    if (first) first.displayName = 'Zoë "Zed" Ångström, Jr.';
    const read = async (c: Connector) => {
      const signals: UsageSignal[] = [];
      for await (const page of c.usage?.() ?? []) signals.push(...page);
      return signals.map((s) => `${s.accountId} ${s.lastActivityAt?.toISOString()}`);
    };
    const whole = await read(connector({ usagePageSize: 100 }));
    expect(whole.length).toBeGreaterThan(300);
    expect(new Set(whole).size).toBe(whole.length);

    // The first download sends half the report, then nothing: the pages read before it broke off are not read twice.
    fake.server.inject({ path: /^\/reports-download\//, stall: true });
    const again = await read(connector({ usagePageSize: 100, timeoutMs: 1500 }));
    expect(again).toEqual(whole);
    expect(fake.server.calls(/^\/reports-download\//)).toHaveLength(3);
    expect(retried).toMatchObject([
      {
        endpoint: expect.stringMatching(/^GET \/reports-download\//),
        attempt: 1,
        reason: expect.stringContaining('the download broke off: no answer within 1500 ms'),
      },
    ]);
  });

  it('removes a directly assigned seat, and the next import shows it gone', async () => {
    await importM365();
    const c = connector();
    const removed = await c.removeSeat?.({
      subscriptionKey: SKU.SPE_E5,
      sku: 'SPE_E5',
      accountId: USER.adele,
      email: 'adele.vance@example.com',
      login: null,
    });
    expect(removed).toEqual({ ok: true, detail: 'removed SPE_E5 from adele.vance@example.com' });
    const [call] = fake.server.calls(/assignLicense$/, 'POST');
    expect(call?.path).toBe(`/v1.0/users/${USER.adele}/assignLicense`);
    expect(call?.json).toEqual({ addLicenses: [], removeLicenses: [SKU.SPE_E5] });
    expect(fake.user(USER.adele)?.assignedLicenses).toEqual([]);

    await importM365();
    expect(value(await seats(ctx(), { app: 'SPE_E5', ...PAGE })).rows).toMatchObject([
      { consumed: 3, available: 2 },
    ]);
    expect((await seatsOf('SPE_E5')).map((r) => r.email)).not.toContain('adele.vance@example.com');
  });

  it('refuses to remove a group-inherited seat, with the vendor’s reason, and retries nothing', async () => {
    const result = await connector().removeSeat?.({
      subscriptionKey: SKU.ENTERPRISEPACK,
      sku: 'ENTERPRISEPACK',
      accountId: USER.diego,
      email: 'diego.siciliani@example.com',
      login: null,
    });
    expect(result).toEqual({
      ok: false,
      retryable: false,
      code: 'Request_BadRequest',
      reason:
        'Microsoft Graph POST /v1.0/users/{id}/assignLicense: HTTP 400 Request_BadRequest: User license is inherited from a group membership and it cannot be removed directly from the user.',
    });
    expect(fake.server.calls(/assignLicense$/)).toHaveLength(1);
    expect(fake.user(USER.diego)?.assignedLicenses).toEqual([
      { disabledPlans: [], skuId: SKU.ENTERPRISEPACK },
    ]);
  });

  it('reports a throttled or failing removal as retryable, resending a POST only after 429', async () => {
    const seat = {
      subscriptionKey: SKU.POWER_BI_PRO,
      sku: 'POWER_BI_PRO',
      accountId: USER.lee,
      email: 'lee.gu@example.com',
      login: null,
    };
    const assign = /assignLicense$/;
    fake.server.inject(...Array.from({ length: 3 }, () => throttled(1, assign)));
    const throttledResult = await connector({ maxAttempts: 3 }).removeSeat?.(seat);
    expect(throttledResult).toMatchObject({ ok: false, retryable: true, code: 'TooManyRequests' });
    expect(waits).toEqual([1000, 1000]);
    expect(fake.server.calls(assign)).toHaveLength(3);

    // A 503 on a POST may have been applied: not resent, left for a later retry.
    fake.server.inject(outage(503, assign));
    const failed = await connector().removeSeat?.(seat);
    expect(failed).toMatchObject({ ok: false, retryable: true, code: 'serviceNotAvailable' });
    expect(fake.server.calls(assign)).toHaveLength(4);
    expect(fake.user(USER.lee)?.assignedLicenses.map((l) => l.skuId)).toContain(SKU.POWER_BI_PRO);

    // Throttled once, then through.
    fake.server.inject(throttled(2, assign));
    expect(await connector().removeSeat?.(seat)).toMatchObject({ ok: true });
    expect(fake.user(USER.lee)?.assignedLicenses.map((l) => l.skuId)).toEqual([SKU.ENTERPRISEPACK]);
  });
});
