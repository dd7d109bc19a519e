import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGithubConnector, MAX_RATE_LIMIT_WAIT_MS } from '../../connectors/github-connector.ts';
import type { ConnectorDeps, SeatRef } from '../../connectors/types.ts';
import { clearing, seats, whoHas } from '../../handlers/inventory-queries.ts';
import { operatorActor } from '../../handlers/types.ts';
import { type Config, loadConfig } from '../../src/config/config.ts';
import { ImportFailedError, runImport } from '../../src/inventory/import-pipeline.ts';
import type { Store } from '../../src/store/store.ts';
import { FIXTURE_LOGIN_EMAILS, GithubFake, generateSeats, githubUser } from '../fakes/github-fake.ts';
import { fixtureConnector, personEntry } from '../support/fixture-connector.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const START = Date.parse('2026-11-20T08:00:00Z');
const SEATS_PATH = /^\/(orgs\/acme|organizations\/4242)\/copilot\/billing\/seats$/;
const BILLING_PATH = /^\/orgs\/acme\/copilot\/billing$/;
const DELETE_PATH = /^\/orgs\/acme\/copilot\/billing\/selected_users$/;

/** The persons the fixture's logins map to; zed-contractor's has no entry anywhere. */
const DIRECTORY = [
  'ana.lopez@example.com',
  'bo@example.com',
  'cy@example.com',
  'dee@example.com',
  'eve@example.com',
  'fay@example.com',
  'gus@example.com',
].map((email) => personEntry(email));

let files: string;
beforeAll(() => {
  files = mkdtempSync(join(tmpdir(), 'sk-github-'));
});
afterAll(() => rmSync(files, { recursive: true, force: true }));

function writeMap(name: string, text: string): string {
  const file = join(files, name);
  writeFileSync(file, text);
  return file;
}

describe('GitHub Copilot connector', () => {
  let db: TestDatabase;
  let store: Store;
  let fake: GithubFake;
  let config: Config;
  let t: number;
  /** Every wait the connector (and the shared HTTP client under it) asked for, in ms; waiting moves the clock. */
  let waits: number[];
  const now = () => new Date(t);
  const deps: ConnectorDeps = {
    sleep: async (ms) => {
      waits.push(ms);
      t += ms;
    },
    now,
  };
  const ctx = () => ({ store, config, actor: operatorActor(), now });
  const importGithub = (over: Partial<Config> = {}) =>
    runImport(store, createGithubConnector({ ...config, ...over }, deps), {
      trigger: 'test',
      minEntitlementDays: 90,
      now,
    });
  const count = async (table: string) =>
    (await store.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n;

  beforeEach(async () => {
    t = START;
    waits = [];
    fake = await new GithubFake({ now }).start();
    db = await createTestDatabase();
    store = await db.open();
    config = loadConfig({
      ...db.env,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
      GITHUB_TOKEN: fake.token,
      GITHUB_ORG: 'acme',
      GITHUB_LOGIN_EMAILS: writeMap('logins.csv', FIXTURE_LOGIN_EMAILS),
      GITHUB_API_URL: fake.url,
    });
    await runImport(
      store,
      fixtureConnector('directory', { subscriptions: [], accounts: [], persons: DIRECTORY }),
      { trigger: 'test', minEntitlementDays: 90, now, persons: true },
    );
  });
  afterEach(async () => {
    await fake.stop();
    await db?.drop();
  });

  it('imports the Copilot license and every seat, matching logins through the map and sending the rest to clearing', async () => {
    const result = await importGithub();
    expect(result.counts).toMatchObject({ subscriptions: 1, accounts: 8, added: 8, matched: 7, clearing: 1 });

    const license = await seats(ctx(), { app: 'copilot', limit: 10, offset: 0 });
    expect(license.ok && license.value.rows).toEqual([
      expect.objectContaining({
        sku: 'copilot_business',
        product: 'GitHub Copilot Business',
        vendor: 'GitHub',
        purchased: 8,
        consumed: 8,
        available: 0,
      }),
    ]);

    const holders = await whoHas(ctx(), { query: 'copilot', limit: 50, offset: 0 });
    if (!holders.ok) throw new Error(holders.error.message);
    const byLogin = Object.fromEntries(
      holders.value.rows.map((r) => [
        r.login,
        {
          id: r.vendorAccountId,
          email: r.email,
          person: r.person,
          last: r.lastActivityAt,
          source: r.lastActivitySource,
        },
      ]),
    );
    const seen = { last: '2026-11-18T09:30:00.000Z', source: 'github:last_activity_at' };
    expect(byLogin).toEqual({
      'ana-dev': { id: '1001', email: 'Ana.Lopez@example.com', person: 'ana.lopez@example.com', ...seen },
      'bo-codes': {
        id: '1002',
        email: 'bo@example.com',
        person: 'bo@example.com',
        last: '2026-11-19T16:45:10.000Z',
        source: 'github:last_activity_at',
      },
      // The map is read case-insensitively on both sides.
      Cyrus: { id: '1003', email: 'CY@Example.com', person: 'cy@example.com', ...seen },
      'zed-contractor': { id: '1004', email: null, person: null, ...seen },
      // Never active (or telemetry off): no activity and no source.
      'dee-never': {
        id: '1005',
        email: 'dee@example.com',
        person: 'dee@example.com',
        last: null,
        source: null,
      },
      'eve-platform': { id: '1006', email: 'eve@example.com', person: 'eve@example.com', ...seen },
      // Pending cancellation: still a seat until 2026-12-01.
      'fay-leaving': { id: '1007', email: 'fay@example.com', person: 'fay@example.com', ...seen },
      // The operator's map wins over the address the user chose to make public.
      'gus-oss': { id: '1008', email: 'gus@example.com', person: 'gus@example.com', ...seen },
    });

    const inClearing = await clearing(ctx(), { limit: 10, offset: 0 });
    expect(inClearing.ok && inClearing.value.rows).toEqual([
      expect.objectContaining({
        login: 'zed-contractor',
        email: null,
        vendor: 'GitHub',
        vendorAccountId: '1004',
      }),
    ]);

    const flags = await store.pool.query(
      `SELECT login, group_inherited, assigned_at FROM cloud_subscribers WHERE group_inherited OR login = 'ana-dev'
       ORDER BY login`,
    );
    expect(flags.rows).toEqual([
      { login: 'ana-dev', group_inherited: false, assigned_at: new Date('2026-01-10T12:00:00Z') },
      { login: 'eve-platform', group_inherited: true, assigned_at: new Date('2026-01-10T12:00:00Z') },
    ]);

    expect(fake.calls(SEATS_PATH)[0]?.query.get('per_page')).toBe('100');
    for (const request of fake.requests) {
      expect(request.headers).toMatchObject({
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        authorization: `Bearer ${fake.token}`,
      });
    }
  });

  it('follows Link rel="next" across pages, including links in the /organizations/{id}/ form', async () => {
    fake.seats = generateSeats(250);
    const result = await importGithub();
    expect(result.counts).toMatchObject({ accounts: 250, added: 250 });
    expect(await count('cloud_subscribers')).toBe(250);
    expect(fake.calls(SEATS_PATH).map((r) => `${r.path}?${r.query}`)).toEqual([
      '/orgs/acme/copilot/billing/seats?per_page=100',
      '/organizations/4242/copilot/billing/seats?per_page=100&page=2',
      '/organizations/4242/copilot/billing/seats?per_page=100&page=3',
    ]);
  });

  it('waits until x-ratelimit-reset when the primary limit is spent (403), without hammering', async () => {
    fake.exhaustPrimaryLimit(30);
    const result = await importGithub();
    expect(result.counts.accounts).toBe(8);
    // Until the reset, plus a second for clock skew; the reset time came from GET /rate_limit.
    expect(waits).toEqual([31_000]);
    expect(fake.calls(BILLING_PATH)).toHaveLength(2);
    expect(fake.calls(/^\/rate_limit$/)).toHaveLength(1);
  });

  it('pauses before the next call when a response says x-ratelimit-remaining is 0', async () => {
    fake.setPrimaryLimit(1, 20);
    const result = await importGithub();
    expect(result.counts.accounts).toBe(8);
    expect(waits).toEqual([21_000]);
    // Nothing was refused: the seats call was made only after the reset.
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/orgs/acme/copilot/billing',
      '/orgs/acme/copilot/billing/seats',
    ]);
  });

  it('also waits out a primary limit answered with 429 once the shared client has given up retrying it', async () => {
    fake.primaryLimitStatus = 429;
    fake.exhaustPrimaryLimit(40);
    const result = await importGithub();
    expect(result.counts.accounts).toBe(8);
    // VendorHttp backs off 5 times (it does not know x-ratelimit-reset), then the connector waits for the reset.
    expect(fake.calls(BILLING_PATH)).toHaveLength(7);
    expect(waits).toHaveLength(6);
    expect(waits.reduce((a, b) => a + b, 0)).toBe(41_000);
  });

  it('gives up at once, saying until when, when the primary limit resets later than an import may wait', async () => {
    fake.exhaustPrimaryLimit(1800);
    const error = await importGithub().catch((e) => e);
    expect(error).toBeInstanceOf(ImportFailedError);
    expect(error.message).toContain(
      'GitHub GET /orgs/acme/copilot/billing: HTTP 403: API rate limit exceeded',
    );
    expect(error.message).toContain(
      `the primary rate limit is spent until 2026-11-20T08:30:00.000Z (x-ratelimit-reset), longer than an import waits (${MAX_RATE_LIMIT_WAIT_MS / 1000} s)`,
    );
    expect(waits).toEqual([]);
    expect(await count('licenses')).toBe(0);
  });

  it('honours retry-after on a secondary limit (429), and waits a minute on a 403 one', async () => {
    fake.injectSecondaryLimit({ status: 429, retryAfterSeconds: 7, path: SEATS_PATH });
    await importGithub();
    expect(waits).toEqual([7_000]);

    waits = [];
    // A 403's retry-after is not visible through the shared client's error, so GitHub's fallback applies: a minute.
    fake.injectSecondaryLimit({ status: 403, retryAfterSeconds: 30, path: SEATS_PATH });
    const result = await importGithub();
    expect(result.counts).toMatchObject({ accounts: 8, added: 0 });
    expect(waits).toEqual([60_000]);
  });

  it('retries 5xx answers with backoff and completes', async () => {
    fake.inject({ path: SEATS_PATH, status: 502 }, { path: SEATS_PATH, status: 503 });
    const result = await importGithub();
    expect(result.counts.accounts).toBe(8);
    expect(fake.calls(SEATS_PATH)).toHaveLength(3);
    expect(waits).toHaveLength(2);
  });

  it('fails on a malformed page naming vendor, endpoint and field, and leaves the previous inventory intact', async () => {
    fake.seats = generateSeats(150);
    await importGithub();
    const snapshot = async () => ({
      licenses: await count('licenses'),
      subscribers: await count('cloud_subscribers'),
      snapshots: await count('license_snapshots'),
      activity: (
        await store.pool.query(
          `SELECT vendor_account_id, last_activity_at FROM cloud_subscribers ORDER BY vendor_account_id`,
        )
      ).rows,
    });
    const before = await snapshot();
    expect(before.subscribers).toBe(150);

    // Page 1 changes (it would be written if imports were not atomic); page 2 breaks the contract.
    fake.patchSeat('user-50001', { last_activity_at: '2026-11-20T07:00:00Z' });
    fake.patchSeat('user-50120', { assignee: { ...githubUser('user-50120', 50120), id: '50120' } });
    t += 3_600_000;
    const error = await importGithub().catch((e) => e);
    const message =
      'github: GitHub GET /organizations/4242/copilot/billing/seats: the response does not match the contract: ' +
      'seats[20].assignee.id: Invalid input: expected number, received string';
    expect(error).toBeInstanceOf(ImportFailedError);
    expect(error.message).toBe(message);
    expect(await snapshot()).toEqual(before);
    const run = await store.pool.query(`SELECT outcome, error FROM import_runs WHERE id = $1`, [error.runId]);
    expect(run.rows).toEqual([{ outcome: 'failed', error: message }]);
    expect(await count('staging_accounts')).toBe(0);
  });

  it('fails on a rejected token without retrying and without showing the token', async () => {
    const error = await importGithub({ GITHUB_TOKEN: 'ghp_wrong_token_value' }).catch((e) => e);
    expect(error.message).toBe('github: GitHub GET /orgs/acme/copilot/billing: HTTP 401: Bad credentials');
    expect(fake.calls(BILLING_PATH)).toHaveLength(1);
    const stored = await store.pool.query(`SELECT error FROM import_runs WHERE id = $1`, [error.runId]);
    expect(stored.rows[0].error).not.toContain('ghp_wrong_token_value');
  });

  it('refuses to send the token to a next-page link on another host', async () => {
    fake.seats = generateSeats(150);
    fake.linkBaseUrl = 'https://evil.example';
    const error = await importGithub().catch((e) => e);
    expect(error.message).toBe(
      `github: GitHub GET /orgs/acme/copilot/billing/seats: the next-page link points to https://evil.example, not ${fake.url}; not following it`,
    );
    expect(await count('cloud_subscribers')).toBe(0);
  });

  describe('removing a seat', () => {
    const seatRef = async (login: string): Promise<SeatRef> => {
      const row = await store.pool.query(
        `SELECT l.vendor_key, l.sku, s.vendor_account_id, s.email, s.login
         FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id WHERE s.login = $1`,
        [login],
      );
      const r = row.rows[0];
      return {
        subscriptionKey: r.vendor_key,
        sku: r.sku,
        accountId: r.vendor_account_id,
        email: r.email,
        login: r.login,
      };
    };
    const connector = () => createGithubConnector(config, deps);

    beforeEach(async () => {
      await importGithub();
    });

    it('sets the seat to pending cancellation; it stays a seat until the cycle ends', async () => {
      const result = await connector().removeSeat?.(await seatRef('bo-codes'));
      expect(result).toEqual({
        ok: true,
        detail: 'seat set to pending cancellation: bo-codes keeps Copilot until the end of the billing cycle',
      });
      expect(fake.calls(DELETE_PATH, 'DELETE').map((r) => r.json)).toEqual([
        { selected_usernames: ['bo-codes'] },
      ]);
      expect(fake.seat('bo-codes')?.pending_cancellation_date).toBe('2026-12-01');
      const again = await importGithub();
      expect(again.counts).toMatchObject({ accounts: 8, deleted: 0, deactivated: 0 });
    });

    it('refuses a team-assigned seat with the vendor message, as a failure not worth retrying', async () => {
      const result = await connector().removeSeat?.(await seatRef('eve-platform'));
      expect(result).toEqual({
        ok: false,
        code: 'GROUP_INHERITED',
        reason:
          'GitHub DELETE /orgs/acme/copilot/billing/selected_users: HTTP 422: Cannot cancel the seat of eve-platform: ' +
          'it was assigned through a team. Remove the user from the team instead. — the seat comes from team platform: ' +
          'remove eve-platform from that team instead',
        retryable: false,
      });
      expect(fake.calls(DELETE_PATH, 'DELETE')).toHaveLength(1);
      expect(fake.seat('eve-platform')?.pending_cancellation_date).toBeNull();
    });

    it('does not cancel a seat already pending cancellation again, and says so', async () => {
      const result = await connector().removeSeat?.(await seatRef('fay-leaving'));
      expect(result).toEqual({
        ok: true,
        detail:
          'already pending cancellation: fay-leaving keeps Copilot until 2026-12-01; not cancelled again',
      });
      expect(fake.calls(DELETE_PATH, 'DELETE')).toHaveLength(0);
    });

    it('refuses when the login now belongs to another GitHub account', async () => {
      const stale = { ...(await seatRef('bo-codes')), accountId: '999' };
      const result = await connector().removeSeat?.(stale);
      expect(result).toMatchObject({ ok: false, code: 'ACCOUNT_MISMATCH', retryable: false });
      expect(fake.calls(DELETE_PATH, 'DELETE')).toHaveLength(0);
    });

    it('reports an outage as a failure worth retrying later', async () => {
      fake.inject(...Array.from({ length: 6 }, () => ({ path: DELETE_PATH, status: 503 })));
      const result = await connector().removeSeat?.(await seatRef('bo-codes'));
      expect(result).toMatchObject({ ok: false, retryable: true });
      expect(result?.ok === false && result.reason).toBe(
        'GitHub DELETE /orgs/acme/copilot/billing/selected_users: HTTP 503 (gave up after 6 attempts)',
      );
    });
  });
});

describe('GitHub connector configuration', () => {
  const base = loadConfig({ LOG_LEVEL: 'silent', NODE_ENV: 'test', GITHUB_TOKEN: 'x', GITHUB_ORG: 'acme' });
  const create = (over: Partial<Config>) => () => createGithubConnector({ ...base, ...over });

  it('names a missing variable', () => {
    expect(create({ GITHUB_TOKEN: undefined })).toThrow(
      'Configuration error: GITHUB_TOKEN is invalid: the GitHub connector needs it (it is not set). See README, "Configuration".',
    );
    expect(create({ GITHUB_ORG: undefined })).toThrow(/GITHUB_ORG is invalid/);
  });

  it('names the login map file, the line and the problem', () => {
    const missing = join(files, 'missing.csv');
    expect(create({ GITHUB_LOGIN_EMAILS: missing })).toThrow(
      `GITHUB_LOGIN_EMAILS: cannot read ${missing}: ENOENT`,
    );
    const cases: [string, string][] = [
      ['', 'line 1: expected the header "login,email", got ""'],
      ['user,mail\nbo,bo@example.com\n', 'line 1: expected the header "login,email", got "user,mail"'],
      ['login,email\nbo-codes,bo@example.com\n\ncyrus\n', 'line 4: no e-mail for login "cyrus"'],
      ['login,email\nbo-codes,bo(at)example.com\n', 'line 2: "bo(at)example.com" is not an e-mail address'],
      ['login,email\nbo codes,bo@example.com\n', 'line 2: "bo codes" is not a GitHub login'],
      [
        'login,email\nbo-codes,bo@example.com\nBO-codes,b@example.com\n',
        'line 3: login "BO-codes" is already mapped on line 2',
      ],
      ['login,email\nbo-codes,"bo@example.com\n', 'line 2: not valid CSV: Quote Not Closed'],
    ];
    for (const [text, problem] of cases) {
      const file = writeMap('bad.csv', text);
      expect(create({ GITHUB_LOGIN_EMAILS: file })).toThrow(`GITHUB_LOGIN_EMAILS (${file}) ${problem}`);
    }
  });

  it('accepts a map with a byte-order mark, columns in any order and extra columns', () => {
    const file = writeMap('ok.csv', '\ufeffEmail,Login,Team\r\nbo@example.com,bo-codes,x\r\n');
    expect(create({ GITHUB_LOGIN_EMAILS: file })().source).toBe('github');
  });
});
