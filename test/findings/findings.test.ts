import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setContract } from '../../handlers/contracts.ts';
import { listFindings } from '../../handlers/reports.ts';
import { type HandlerContext, operatorActor } from '../../handlers/types.ts';
import { recomputeFindings } from '../../src/findings/recompute.ts';
import { runImport } from '../../src/inventory/import-pipeline.ts';
import type { Store } from '../../src/store/store.ts';
import {
  account,
  type FixtureData,
  fixtureConnector,
  personEntry,
  subscription,
} from '../support/fixture-connector.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const NOW = new Date('2026-11-20T08:00:00Z');
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000);

const directory: FixtureData = {
  subscriptions: [],
  accounts: [],
  persons: [
    personEntry('ana@example.com'),
    personEntry('bo@example.com'),
    personEntry('cy@example.com'),
    personEntry('dee@example.com', { departedAt: daysAgo(20) }),
    personEntry('eve@example.com', { enabled: false }),
    personEntry('new@example.com'),
  ],
};

const m365: FixtureData = {
  subscriptions: [
    subscription({ key: 'e5', sku: 'SPE_E5', name: 'Microsoft 365 E5', enabledUnits: 10, consumedUnits: 6 }),
    // The documented trap: Warning with 0 enabled, 5 warning and 4 consumed has exactly 1 free seat.
    subscription({
      key: 'e3',
      sku: 'SPE_E3',
      capabilityStatus: 'Warning',
      enabledUnits: 0,
      warningUnits: 5,
      consumedUnits: 4,
      nextLifecycleAt: new Date('2026-12-15T00:00:00Z'),
    }),
    subscription({ key: 'visio', sku: 'VISIOCLIENT', enabledUnits: 1, consumedUnits: 2 }),
  ],
  accounts: [
    // Active through non-interactive sign-ins only: the connector reports that date; not idle.
    account('e5', 'ana', 'ana@example.com', {
      lastActivityAt: daysAgo(2),
      lastActivitySource: 'graph:lastNonInteractiveSignInDateTime',
      assignedAt: daysAgo(400),
    }),
    account('e5', 'bo', 'bo@example.com', {
      lastActivityAt: daysAgo(45),
      lastActivitySource: 'graph:lastSignInDateTime',
      assignedAt: daysAgo(400),
    }),
    account('e5', 'cy', 'cy@example.com', { assignedAt: daysAgo(90) }),
    account('e5', 'dee', 'dee@example.com', {
      lastActivityAt: daysAgo(25),
      lastActivitySource: 'graph:lastSignInDateTime',
      assignedAt: daysAgo(400),
    }),
    account('e5', 'eve', 'eve@example.com', { assignedAt: daysAgo(400) }),
    account('e5', 'new', 'new@example.com', { assignedAt: daysAgo(5) }),
    account('visio', 'ghost', 'ghost@elsewhere.example', {
      lastActivityAt: daysAgo(1),
      lastActivitySource: 'graph:lastSignInDateTime',
      assignedAt: daysAgo(100),
    }),
  ],
};

describe('findings', () => {
  let db: TestDatabase;
  let store: Store;
  let ctx: HandlerContext;
  const policy = { idleDays: 30, graceDays: 30 };

  async function importAndRecompute(data: FixtureData, at = NOW) {
    await runImport(store, fixtureConnector('m365', data, { usage: true }), {
      trigger: 'test',
      minEntitlementDays: 90,
      now: () => at,
    });
    const client = await store.pool.connect();
    try {
      return await recomputeFindings(client, policy, at);
    } finally {
      client.release();
    }
  }

  async function open() {
    const result = await listFindings(ctx, { limit: 100, offset: 0 });
    if (!result.ok) throw new Error(result.error.message);
    return result.value.rows.map((f) => ({
      kind: f.kind,
      sku: f.sku,
      email: f.email,
      seats: f.seats,
      savings: f.savings,
    }));
  }

  beforeEach(async () => {
    db = await createTestDatabase();
    store = await db.open();
    ctx = { store, config: db.config, actor: operatorActor(), now: () => NOW };
    await runImport(store, fixtureConnector('directory', directory), {
      trigger: 'test',
      minEntitlementDays: 90,
      persons: true,
      now: () => NOW,
    });
  });
  afterEach(async () => db?.drop());

  it('finds every kind in the fixture organisation, with annualized savings where the price is known', async () => {
    await importAndRecompute(m365);
    await setContract(ctx, { sku: 'SPE_E5', unitPrice: '57', currency: 'EUR', billing: 'monthly' });
    const client = await store.pool.connect();
    await recomputeFindings(client, policy, NOW).finally(() => client.release());

    const rows = await open();
    const sorted = [...rows].sort((a, b) =>
      `${a.kind}${a.sku}${a.email}`.localeCompare(`${b.kind}${b.sku}${b.email}`),
    );
    expect(sorted).toEqual([
      { kind: 'departed', sku: 'SPE_E5', email: 'dee@example.com', seats: 1, savings: 684 },
      { kind: 'departed', sku: 'SPE_E5', email: 'eve@example.com', seats: 1, savings: 684 },
      { kind: 'grace', sku: 'SPE_E3', email: null, seats: 4, savings: null },
      { kind: 'idle', sku: 'SPE_E5', email: 'bo@example.com', seats: 1, savings: 684 },
      { kind: 'idle', sku: 'SPE_E5', email: 'cy@example.com', seats: 1, savings: 684 },
      { kind: 'overage', sku: 'VISIOCLIENT', email: null, seats: 1, savings: null },
      { kind: 'unassigned', sku: 'SPE_E3', email: null, seats: 1, savings: null },
      { kind: 'unassigned', sku: 'SPE_E5', email: null, seats: 4, savings: 2736 },
      { kind: 'unmatched', sku: 'VISIOCLIENT', email: 'ghost@elsewhere.example', seats: 1, savings: null },
    ]);
    // Savings are listed largest first; unknown prices are unknown, never 0.
    expect(rows[0]).toMatchObject({ kind: 'unassigned', savings: 2736 });
    const idle = await listFindings(ctx, { kind: 'idle', app: 'e5', limit: 10, offset: 0 });
    expect(idle.ok && idle.value.rows.map((r) => r.evidence)).toEqual([
      expect.objectContaining({
        lastActivityAt: daysAgo(45).toISOString(),
        source: 'graph:lastSignInDateTime',
        daysSinceActivity: 45,
      }),
      expect.objectContaining({ lastActivityAt: null, idleDays: 30 }),
    ]);
  });

  it('never calls a seat idle when the vendor reports no activity at all', async () => {
    await runImport(
      store,
      fixtureConnector(
        'adobe',
        {
          subscriptions: [
            subscription({
              key: 'cc',
              vendor: 'Adobe',
              sku: 'ADOBE_CC_ALL_APPS',
              enabledUnits: 1,
              consumedUnits: 1,
            }),
          ],
          accounts: [account('cc', 'a1', 'bo@example.com', { assignedAt: daysAgo(300) })],
        },
        { usage: false },
      ),
      { trigger: 'test', minEntitlementDays: 90, now: () => NOW },
    );
    const client = await store.pool.connect();
    await recomputeFindings(client, policy, NOW).finally(() => client.release());
    expect((await open()).filter((f) => f.sku === 'ADOBE_CC_ALL_APPS')).toEqual([]);
  });

  it('resolves what no longer holds after the next import, keeping the history', async () => {
    await importAndRecompute(m365);
    const later = new Date(NOW.getTime() + 86_400_000);
    const fixed: FixtureData = {
      ...m365,
      subscriptions: m365.subscriptions.map((s) => (s.key === 'visio' ? { ...s, enabledUnits: 2 } : s)),
      accounts: m365.accounts.map((a) => (a.accountId === 'bo' ? { ...a, lastActivityAt: later } : a)),
    };
    const result = await importAndRecompute(fixed, later);
    expect(result.resolved).toBe(2);
    const resolved = await store.pool.query(
      `SELECT kind, resolved_how, first_seen_at FROM findings WHERE status = 'resolved' ORDER BY kind`,
    );
    expect(resolved.rows).toEqual([
      { kind: 'idle', resolved_how: 'no longer holds', first_seen_at: NOW },
      { kind: 'overage', resolved_how: 'no longer holds', first_seen_at: NOW },
    ]);
    expect((await open()).map((f) => f.kind)).not.toContain('overage');
  });
});
