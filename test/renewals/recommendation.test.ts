import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBudgets, setBudget } from '../../handlers/budgets.ts';
import { listRenewals, type RenewalRow } from '../../handlers/renewals.ts';
import type { HandlerContext } from '../../handlers/types.ts';
import { budgetCheck } from '../../src/renewals/budget-check.ts';
import type { Store } from '../../src/store/store.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import {
  context,
  contract,
  daysBefore,
  FINANCE,
  HELPDESK,
  IT_MANAGER,
  insertLicense,
  snapshot,
  TestClock,
} from './renewal-fixtures.ts';

describe('renewal recommendation and budget check', () => {
  let db: TestDatabase;
  let store: Store;
  const clock = new TestClock('2027-03-01');
  let it_: HandlerContext;

  async function renewal(sku: string, overrides = {}): Promise<RenewalRow> {
    const list = await listRenewals(
      context(store, db.config, HELPDESK, clock),
      { days: 365, limit: 100, offset: 0 },
      overrides,
    );
    if (!list.ok) throw new Error(list.error.message);
    const row = list.value.rows.find((r) => r.sku === sku);
    if (!row) throw new Error(`${sku} is not in the renewals list`);
    return row;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await db.open();
    it_ = context(store, db.config, IT_MANAGER, clock);
  });
  afterAll(async () => db?.drop());

  it('takes the peak of the look-back window plus 5 %, exactly, and prices the savings against renewing as is', async () => {
    const id = await insertLicense(store, { sku: 'MIRO_BIZ', vendor: 'Miro', enabled: 40, consumed: 18 });
    // 35 seats 100 days ago are outside the 90-day window; the peak inside it is 20.
    await snapshot(store, id, daysBefore(clock, 100), 35);
    await snapshot(store, id, daysBefore(clock, 30), 20);
    await snapshot(store, id, daysBefore(clock, 5), 19);
    // A snapshot after "now" (a clock set in the past) does not count either.
    await snapshot(store, id, new Date(clock.now().getTime() + 86_400_000), 39);
    await contract(it_, {
      sku: 'MIRO_BIZ',
      renewalDate: '2027-06-01',
      noticeDays: 60,
      unitPrice: '10',
      currency: 'EUR',
      billing: 'monthly',
      costCenter: 'Product',
      product: 'Miro Business',
    });
    expect(await renewal('MIRO_BIZ')).toMatchObject({
      renewalDate: '2027-06-01',
      cancelBy: '2027-04-02',
      quantity: 40,
      consumed: 18,
      peakConsumed: 20,
      // ceil(20 × 1.05) = 21
      recommendedQuantity: 21,
      utilization: 0.45,
      annualCost: 4800,
      recommendedCost: 2520,
      savings: 2280,
      budgetRemaining: null,
      budgetCheck: 'no budget',
      status: 'upcoming',
    });
    // A longer look-back reaches the old peak of 35: ceil(36.75) = 37.
    expect((await renewal('MIRO_BIZ', { lookbackDays: 120 })).recommendedQuantity).toBe(37);
  });

  it('computes the buffer in exact decimals: 100 seats + 10 % is 110, not 111', async () => {
    // In binary floating point 100 × 1.1 = 110.00000000000001, which would round up to 111.
    await insertLicense(store, { sku: 'EXACT', enabled: 120, consumed: 100 });
    await contract(it_, { sku: 'EXACT', renewalDate: '2027-05-01', unitPrice: '1', currency: 'EUR' });
    expect((await renewal('EXACT', { bufferPercent: 10 })).recommendedQuantity).toBe(110);
  });

  it('never recommends below today’s consumed seats nor below the commit floor', async () => {
    const grown = await insertLicense(store, { sku: 'GROWN', enabled: 12, consumed: 9 });
    await snapshot(store, grown, daysBefore(clock, 3), 5);
    const floored = await insertLicense(store, { sku: 'FLOORED', enabled: 30, consumed: 2 });
    await snapshot(store, floored, daysBefore(clock, 3), 2);
    for (const [sku, floor] of [
      ['GROWN', undefined],
      ['FLOORED', 15],
    ] as const) {
      await contract(it_, {
        sku,
        renewalDate: '2027-05-01',
        unitPrice: '5',
        currency: 'EUR',
        costCenter: 'Ops',
        product: sku,
        commitFloor: floor,
      });
    }
    // Without a buffer: the peak (5) is below today's 9.
    expect((await renewal('GROWN', { bufferPercent: 0 })).recommendedQuantity).toBe(9);
    // With 5 %: ceil(9.45) = 10.
    expect((await renewal('GROWN')).recommendedQuantity).toBe(10);
    // Peak 2 + 5 % = 3, but the contract commits to 15.
    expect(await renewal('FLOORED')).toMatchObject({ recommendedQuantity: 15, commitFloor: 15, savings: 75 });
  });

  it('counts open idle findings as the seats to reclaim first', async () => {
    const id = await insertLicense(store, { sku: 'IDLE_APP', enabled: 10, consumed: 8 });
    await contract(it_, { sku: 'IDLE_APP', renewalDate: '2027-05-01', unitPrice: '1', currency: 'EUR' });
    const finding = (key: string, status: string, until: Date | null) =>
      store.pool.query(
        `INSERT INTO findings (kind, key, severity, license_id, evidence, first_seen_at, last_seen_at, status, status_until)
         VALUES ('idle', $1, 'medium', $2, '{}', $3, $3, $4, $5)`,
        [key, id, clock.now(), status, until],
      );
    await finding('idle:a', 'open', null);
    await finding('idle:b', 'open', null);
    await finding('idle:c', 'resolved', null);
    await finding('idle:d', 'snoozed', new Date(clock.now().getTime() + 86_400_000));
    // A snooze that has ended counts as open again.
    await finding('idle:e', 'snoozed', daysBefore(clock, 1));
    expect((await renewal('IDLE_APP')).idleSeats).toBe(3);
  });

  it('checks the recommendation against the remaining budget, counting only terms in the budget’s currency', async () => {
    const figma = await insertLicense(store, { sku: 'FIGMA_ORG', enabled: 20, consumed: 10 });
    await snapshot(store, figma, daysBefore(clock, 1), 10);
    await insertLicense(store, { sku: 'ZEPLIN', vendor: 'Zeplin', enabled: 4, consumed: 4 });
    await insertLicense(store, { sku: 'SKETCH', vendor: 'Sketch', enabled: 3, consumed: 3 });
    const design = { costCenter: 'Design', renewalDate: '2027-06-30', noticeDays: 30 };
    await contract(it_, { sku: 'FIGMA_ORG', ...design, unitPrice: '45', currency: 'USD', product: 'Figma' });
    await contract(it_, { sku: 'ZEPLIN', ...design, unitPrice: '100', currency: 'EUR', product: 'Zeplin' });
    // Priced without a billing period or quantity would be unknown; this one has no price at all.
    await contract(it_, { sku: 'SKETCH', ...design, product: 'Sketch' });

    const set = await setBudget(context(store, db.config, FINANCE, clock), {
      costCenter: 'design',
      amount: '1000',
      currency: 'usd',
      year: 2027,
    });
    expect(set.ok && set.value).toMatchObject({
      costCenter: 'Design',
      year: 2027,
      amount: 1000,
      currency: 'USD',
      committed: 900,
      remaining: 100,
      counted: 1,
      notCounted: [
        expect.objectContaining({
          sku: 'ZEPLIN',
          currency: 'EUR',
          annualCost: 400,
          reason: 'other currency',
        }),
        expect.objectContaining({
          sku: 'SKETCH',
          currency: null,
          annualCost: null,
          reason: 'no price or quantity',
        }),
      ],
    });
    // Renewing Figma at 11 seats (495 USD) replaces its 900 USD term: it fits.
    expect(await renewal('FIGMA_ORG')).toMatchObject({
      recommendedQuantity: 11,
      recommendedCost: 495,
      budgetYear: 2027,
      budgetRemaining: 100,
      budgetCurrency: 'USD',
      budgetCheck: 'fits',
      budgetExceedsBy: null,
    });
    // The EUR license is never converted into the USD budget.
    expect(await renewal('ZEPLIN')).toMatchObject({ budgetCheck: 'other currency', budgetExceedsBy: null });

    // A product budget is more specific than the cost center's.
    await setBudget(context(store, db.config, IT_MANAGER, clock), {
      costCenter: 'Design',
      product: 'figma',
      amount: '300',
      currency: 'USD',
      year: 2027,
    });
    expect(await renewal('FIGMA_ORG')).toMatchObject({
      budgetAmount: 300,
      budgetRemaining: -600,
      budgetCheck: 'exceeds',
      // 495 − 900 (today's term) − (−600) = 195
      budgetExceedsBy: 195,
    });
    const budgets = await listBudgets(context(store, db.config, HELPDESK, clock), {
      year: 2027,
      limit: 10,
      offset: 0,
    });
    expect(budgets.ok && budgets.value.rows.map((b) => [b.costCenter, b.product, b.remaining])).toEqual([
      ['Design', null, 100],
      ['Design', 'Figma', -600],
    ]);
    // No budget for the year of the renewal: nothing to check against.
    expect(await renewal('MIRO_BIZ')).toMatchObject({ budgetCheck: 'no budget', budgetRemaining: null });
  });

  it('refuses budgets from people without it-manager or finance, and bad amounts', async () => {
    const denied = await setBudget(context(store, db.config, HELPDESK, clock), {
      costCenter: 'Design',
      amount: '5',
      currency: 'USD',
    });
    expect(denied).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORIZED' } });
    const bad = await setBudget(it_, { costCenter: 'Design', amount: '1,000', currency: 'USD' });
    expect(bad).toMatchObject({
      ok: false,
      error: {
        code: 'INVALID_ARGUMENT',
        message: "--amount must be an amount like 120000 or 120000.50, not '1,000'.",
      },
    });
    const audit = await store.pool.query(
      `SELECT actor, action, target FROM audit_log WHERE action IN ('denied', 'budget.set') ORDER BY id`,
    );
    expect(audit.rows).toEqual([
      { actor: FINANCE.id, action: 'budget.set', target: expect.stringMatching(/^budget:\d+$/) },
      { actor: IT_MANAGER.id, action: 'budget.set', target: expect.stringMatching(/^budget:\d+$/) },
      { actor: HELPDESK.id, action: 'denied', target: 'budget set' },
    ]);
  });

  it('falls back to the vendor’s next lifecycle date when the contract has no renewal date', async () => {
    const id = await insertLicense(store, { sku: 'SPE_E5', vendor: 'Microsoft', enabled: 5, consumed: 4 });
    await store.pool.query(
      `UPDATE licenses SET next_lifecycle_at = '2027-04-15T10:00:00Z', is_trial = true WHERE id = $1`,
      [id],
    );
    expect(await renewal('SPE_E5')).toMatchObject({
      renewalDate: '2027-04-15',
      renewalDateSource: 'vendor',
      cancelBy: '2027-04-15',
      trial: true,
      annualCost: null,
      budgetCheck: 'no budget',
    });
    // A contract's own date wins.
    await contract(it_, { sku: 'SPE_E5', renewalDate: '2027-05-20' });
    expect(await renewal('SPE_E5')).toMatchObject({
      renewalDate: '2027-05-20',
      renewalDateSource: 'contract',
    });
  });

  it('compares a renewal’s cost with the budget: fits, exceeds by the difference, never across currencies', () => {
    const base = { remaining: 100, budgetCurrency: 'USD', currency: 'USD', counted: 900 };
    expect(budgetCheck({ ...base, newCost: 1000 })).toEqual({ check: 'fits', exceedsBy: null });
    expect(budgetCheck({ ...base, newCost: 1000.01 })).toEqual({ check: 'exceeds', exceedsBy: 0.01 });
    expect(budgetCheck({ ...base, newCost: 1125 })).toEqual({ check: 'exceeds', exceedsBy: 125 });
    expect(budgetCheck({ ...base, currency: 'EUR', newCost: 1 })).toEqual({
      check: 'other currency',
      exceedsBy: null,
    });
    expect(budgetCheck({ ...base, newCost: null })).toEqual({ check: 'unknown price', exceedsBy: null });
    expect(budgetCheck({ ...base, remaining: null, newCost: 5 })).toEqual({
      check: 'no budget',
      exceedsBy: null,
    });
  });
});
