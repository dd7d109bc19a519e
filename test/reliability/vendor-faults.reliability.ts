/**
 * Imports from Microsoft Graph (the HTTPS fake, over real TLS) into a real database while the vendor misbehaves:
 * throttling storms, outages, slow, hung and stalled answers, truncated JSON, a paging loop, a token that expires
 * mid-import and a field that changes type. Each import either arrives exactly where a fault-free import does, or
 * fails with its reason recorded on the run — and then the inventory is the previous one, row for row.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createM365Connector, type M365ConnectorOptions } from '../../connectors/m365-connector.ts';
import type { Config } from '../../src/config/config.ts';
import { ImportFailedError, runImport } from '../../src/inventory/import-pipeline.ts';
import { importSource } from '../../src/inventory/import-service.ts';
import type { Store } from '../../src/store/store.ts';
import { GraphFake, outage, throttled } from '../fakes/graph-fake.ts';
import { graphConfig } from '../support/graph-env.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import { record } from './figures.ts';
import {
  compareStates,
  decidedInventory,
  type InventoryState,
  lastRun,
  wholeInventory,
} from './inventory-state.ts';

const USERS = /^\/v1\.0\/users$/;
const SKUS = /^\/v1\.0\/subscribedSkus$/;
const NOW = new Date('2026-11-20T08:00:00Z');

interface Scenario {
  name: string;
  /** Sets the fault up on the fake before the import. */
  arrange(fake: GraphFake): void;
  options?: M365ConnectorOptions;
  /** `completes`, or the reason the run must record. */
  expected: 'completes' | RegExp;
  /** Further checks once the import is over (waits honoured, tokens fetched). */
  verify?(fake: GraphFake, waits: number[]): void;
}

const times = <T>(n: number, make: () => T): T[] => Array.from({ length: n }, make);

const SCENARIOS: Scenario[] = [
  {
    name: '429 storm with Retry-After on /users and /subscribedSkus',
    arrange: (fake) =>
      fake.server.inject(...times(5, () => throttled(7, USERS)), ...times(2, () => throttled(3, SKUS))),
    expected: 'completes',
    verify: (_fake, waits) => {
      expect(waits.filter((w) => w === 7000)).toHaveLength(5);
      expect(waits.filter((w) => w === 3000)).toHaveLength(2);
    },
  },
  {
    name: '429 storm outlasting every retry',
    arrange: (fake) => fake.server.inject(...times(12, () => throttled(1, USERS))),
    expected: /GET \/v1\.0\/users: HTTP 429 TooManyRequests.*gave up after 6 attempts/,
  },
  {
    name: 'Retry-After longer than an import may wait (1 hour)',
    arrange: (fake) => fake.server.inject(throttled(3600, USERS)),
    expected: /HTTP 429 TooManyRequests.*asked to wait 3600 s/,
  },
  {
    name: '5xx burst (503, 500, 502, 504)',
    arrange: (fake) =>
      fake.server.inject(outage(503, USERS), outage(500, USERS), outage(502, SKUS), outage(504, USERS)),
    expected: 'completes',
  },
  {
    name: '5xx outage outlasting every retry',
    arrange: (fake) => fake.server.inject(...times(8, () => outage(503, USERS))),
    expected: /HTTP 503 serviceNotAvailable.*gave up after 6 attempts/,
  },
  {
    name: 'slow answers within the client timeout',
    arrange: (fake) => fake.server.inject({ path: USERS, delayMs: 400 }, { path: SKUS, delayMs: 400 }),
    options: { timeoutMs: 5000 },
    expected: 'completes',
  },
  {
    name: 'hung answer, then the vendor recovers',
    arrange: (fake) => fake.server.inject({ path: USERS, hang: true }, { path: SKUS, hang: true }),
    options: { timeoutMs: 500 },
    expected: 'completes',
  },
  {
    name: 'vendor hangs for good (client timeout on every attempt)',
    arrange: (fake) => fake.server.inject(...times(3, () => ({ path: USERS, hang: true }))),
    options: { timeoutMs: 300, maxAttempts: 3 },
    expected: /GET \/v1\.0\/users: no answer within 300 ms \(gave up after 3 attempts\)/,
  },
  {
    name: 'body stalls midway after the headers',
    arrange: (fake) => fake.server.inject({ path: USERS, stall: true }),
    options: { timeoutMs: 500 },
    expected: 'completes',
  },
  {
    name: 'truncated JSON with status 200',
    arrange: (fake) => fake.server.inject({ path: USERS, truncate: true }),
    expected: /GET \/v1\.0\/users: the response is not valid JSON \(truncated or malformed\)/,
  },
  {
    name: 'paging loop (a next link back to an earlier page)',
    arrange: (fake) => {
      fake.usersLinkBackAtPage = 2;
    },
    expected: /next-page link points back to a page already read/,
  },
  {
    name: 'token expires mid-import',
    arrange: (fake) => {
      let expired = false;
      fake.onUsersPage = (page) => {
        if (page === 1 && !expired) {
          expired = true;
          fake.expireTokens();
        }
      };
    },
    expected: 'completes',
    verify: (fake) => {
      expect(fake.rejectedTokens).toBe(1);
      // One token for the fault-free import, one for this one, one after the expiry.
      expect(fake.tokensIssued).toBe(3);
    },
  },
  {
    name: 'a field changes type (consumedUnits as a string)',
    arrange: (fake) => {
      (fake.org.skus[0] as unknown as Record<string, unknown>).consumedUnits = '5';
    },
    expected: /subscribedSkus.*consumedUnits/,
  },
  {
    name: 'a field changes type (accountEnabled as "yes")',
    arrange: (fake) => {
      (fake.org.users[0] as unknown as Record<string, unknown>).accountEnabled = 'yes';
    },
    expected: /users.*accountEnabled/,
  },
];

describe('imports under vendor faults', () => {
  let fake: GraphFake;
  let db: TestDatabase;
  let store: Store;
  let config: Config;
  let waits: number[];

  const connector = (options: M365ConnectorOptions = {}) =>
    createM365Connector(
      config,
      {
        // Waits are recorded, not slept: the test checks what the vendor asked for was honoured.
        sleep: async (ms) => {
          waits.push(ms);
        },
        now: () => NOW,
      },
      { pageSize: 3, baseBackoffMs: 50, ...options },
    );
  const importM365 = (options?: M365ConnectorOptions) =>
    runImport(store, connector(options), {
      trigger: 'schedule',
      persons: true,
      minEntitlementDays: 90,
      now: () => NOW,
    });

  beforeEach(async () => {
    waits = [];
    db = await createTestDatabase();
    store = await db.open();
    fake = await new GraphFake().start();
    config = graphConfig(db, fake);
  });
  afterEach(async () => {
    await fake?.stop();
    await db?.drop();
  });

  it.each(SCENARIOS)(
    '$name: completes correctly or fails with a recorded reason, the inventory intact',
    async (scenario) => {
      // The previous inventory: a fault-free import of the same tenant.
      const first = await importM365();
      expect(first.counts).toMatchObject({ subscriptions: 3, accounts: 9, persons: 9 });
      const whole: InventoryState = await wholeInventory(store);
      const decided: InventoryState = await decidedInventory(store);

      scenario.arrange(fake);
      const outcome = await importM365(scenario.options).then(
        (result) => ({ ok: true as const, result }),
        (error: Error) => ({ ok: false as const, error }),
      );
      const run = await lastRun(store, 'm365');

      let diff: { lost: number; extra: number };
      if (scenario.expected === 'completes') {
        if (!outcome.ok) throw outcome.error;
        expect(outcome.result.counts).toMatchObject({ subscriptions: 3, accounts: 9, persons: 9 });
        expect(run).toMatchObject({ id: outcome.result.runId, outcome: 'succeeded', error: null });
        const after = await decidedInventory(store);
        diff = compareStates(decided, after);
        expect(after.checksums).toEqual(decided.checksums);
      } else {
        expect(outcome.ok).toBe(false);
        const error = (outcome as { error: Error }).error;
        expect(error).toBeInstanceOf(ImportFailedError);
        expect(error.message).toMatch(scenario.expected);
        expect(run?.outcome).toBe('failed');
        expect(run?.error).toMatch(scenario.expected);
        // Credentials never reach the recorded reason.
        expect(run?.error).not.toContain(fake.clientSecret);
        const after = await wholeInventory(store);
        diff = compareStates(whole, after);
        expect(after.checksums).toEqual(whole.checksums);
        // Nothing of the failed run is left staged.
        const staged = await store.pool.query(
          'SELECT (SELECT count(*) FROM staging_accounts) + (SELECT count(*) FROM staging_subscriptions) + (SELECT count(*) FROM staging_persons) AS n',
        );
        expect(Number(staged.rows[0].n)).toBe(0);
      }
      scenario.verify?.(fake, waits);
      expect(diff).toEqual({ lost: 0, extra: 0 });
      record({
        kind: 'fault',
        area: 'vendor',
        name: `Microsoft Graph: ${scenario.name}`,
        outcome: outcome.ok
          ? 'import completed, same inventory as fault-free'
          : `failed, recorded: ${run?.error}`,
        lost: diff.lost,
        duplicated: diff.extra,
      });
    },
  );

  it('the import the scheduler runs records a vendor failure on its run and counts it', async () => {
    await importSource(store, config, 'm365', { trigger: 'schedule', now: () => NOW });
    const whole = await wholeInventory(store);
    fake.server.inject(...times(8, () => outage(502, USERS)));
    await expect(
      importSource(store, config, 'm365', {
        trigger: 'schedule',
        now: () => NOW,
        sleep: async () => undefined,
      }),
    ).rejects.toThrow(/HTTP 502 badGateway.*gave up after 6 attempts/);
    const run = await lastRun(store, 'm365');
    expect(run).toMatchObject({ outcome: 'failed' });
    expect(run?.error).toMatch(/^m365: Microsoft Graph GET \/v1\.0\/users: HTTP 502/);
    const after = await wholeInventory(store);
    expect(after.checksums).toEqual(whole.checksums);
    const diff = compareStates(whole, after);
    expect(diff).toEqual({ lost: 0, extra: 0 });
    record({
      kind: 'fault',
      area: 'vendor',
      name: 'Microsoft Graph through the scheduled import path: 502 outage',
      outcome: `failed, recorded: ${run?.error}`,
      lost: diff.lost,
      duplicated: diff.extra,
    });
  });
});
