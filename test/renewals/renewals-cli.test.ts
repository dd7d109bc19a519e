import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import {
  addDays,
  FINANCE,
  HELPDESK,
  IT_MANAGER,
  insertLicense,
  snapshot,
  withRoles,
} from './renewal-fixtures.ts';

const today = new Date().toISOString().slice(0, 10);
const renews = addDays(today, 40);
/** The budget year is the renewal's year (it may be next year near a year end). */
const year = renews.slice(0, 4);
/** One year on, as PostgreSQL adds it (29 February becomes 28 February). */
const nextYear = (day: string) =>
  `${Number(day.slice(0, 4)) + 1}${day.slice(4) === '-02-29' ? '-02-28' : day.slice(4)}`;

describe('renewals from the CLI', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCliInProcess(args, env);
  const json = async (...args: string[]) => {
    const run = await cli(...args, '--json');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    return JSON.parse(run.out);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    const store = await db.open();
    const id = await insertLicense(store, { sku: 'FIGMA_ORG', enabled: 20, consumed: 10 });
    await snapshot(store, id, new Date(Date.now() - 86_400_000), 10);
    await store.close();
    env = { ...db.env, SEATKEEPER_ROLES_FILE: withRoles(db.config).file };
  });
  afterAll(async () => db?.drop());

  it('sets contract terms including the price uplift cap and the vendor contact', async () => {
    const set = await cli(
      'contract',
      'set',
      '--sku',
      'FIGMA_ORG',
      '--renewal-date',
      renews,
      '--notice-days',
      '30',
      '--unit-price',
      '45',
      '--currency',
      'USD',
      '--cost-center',
      'Design',
      '--product',
      'Figma Organization',
      '--price-uplift-cap',
      '5',
      '--vendor-contact',
      'renewals@figma.example',
      '--as',
      IT_MANAGER.id,
    );
    expect(set.code).toBe(0);
    expect(set.out).toContain('price_uplift_cap = 5');
    expect(set.out).toContain('vendor_contact = renewals@figma.example');
    expect(await cli('contract', 'set', '--sku', 'FIGMA_ORG', '--price-uplift-cap', 'high')).toMatchObject({
      code: 2,
      err: "--price-uplift-cap must be a percentage like 5 or 3.5, not 'high'.\n",
    });
  });

  it('sets budgets for it-managers and finance only, and lists them with committed spend', async () => {
    expect(
      await cli(
        'budget',
        'set',
        '--cost-center',
        'Design',
        '--amount',
        '1000',
        '--currency',
        'USD',
        '--as',
        HELPDESK.id,
      ),
    ).toMatchObject({ code: 3, err: 'Setting a budget needs the it-manager or the finance role.\n' });
    expect(
      (await cli('budget', 'set', '--cost-center', 'Design', '--amount', 'lots', '--currency', 'USD')).code,
    ).toBe(2);
    expect((await cli('budget', 'set', '--cost-center', 'Design', '--amount', '1000')).code).toBe(2);
    const set = await cli(
      'budget',
      'set',
      '--cost-center',
      'design',
      '--amount',
      '1000',
      '--currency',
      'usd',
      '--year',
      year,
    );
    expect(set.code).toBe(0);
    expect(set.out).toMatch(/^YEAR +COST CENTER +PRODUCT +BUDGET +COMMITTED +REMAINING/);
    expect(set.out).toContain('1,000.00 USD');
    expect(await json('budgets')).toEqual([
      expect.objectContaining({
        costCenter: 'Design',
        product: null,
        year: Number(year),
        amount: 1000,
        currency: 'USD',
        committed: 900,
        remaining: 100,
        notCounted: [],
      }),
    ]);
  });

  it('lists renewals with the documented JSON fields and raises each alert once', async () => {
    const [row] = await json('renewals', '--days', '90');
    expect(row).toMatchObject({
      product: 'Figma Organization',
      sku: 'FIGMA_ORG',
      renewalDate: renews,
      cancelBy: addDays(renews, -30),
      quantity: 20,
      recommendedQuantity: 11,
      annualCost: 900,
      budgetRemaining: 100,
      budgetCurrency: 'USD',
      budgetCheck: 'fits',
      status: 'upcoming',
      priceUpliftCap: 5,
      vendorContact: 'renewals@figma.example',
    });
    const scan = await cli('renewal', 'scan');
    expect(scan.code).toBe(0);
    expect(scan.out).toContain('30 days before cancel-by');
    expect((await cli('renewal', 'scan')).out).toBe(
      'No renewal alert is due (each lead time alerts once).\n',
    );
  });

  it('takes decisions with roles, two steps when over budget, with exit 3 when denied', async () => {
    const denied = await cli(
      'renewal',
      'decide',
      '--sku',
      'FIGMA_ORG',
      '--decision',
      'approve',
      '--as',
      FINANCE.id,
    );
    expect(denied).toMatchObject({
      code: 3,
      err: "'renewal decide' needs the it-manager role, which you do not have.\n",
    });
    expect(
      (await cli('renewal', 'decide', '--sku', 'FIGMA_ORG', '--decision', 'approve', '--as', 'x@example.com'))
        .code,
    ).toBe(3);
    expect(
      await cli('renewal', 'decide', '--sku', 'FIGMA_ORG', '--decision', 'resize', '--as', IT_MANAGER.id),
    ).toMatchObject({
      code: 2,
      err: 'Resizing needs --quantity N.\n',
    });
    expect(
      (await cli('renewal', 'decide', '--sku', 'NOPE', '--decision', 'approve', '--as', IT_MANAGER.id)).code,
    ).toBe(1);
    expect((await cli('renewal', 'decide', '--sku', 'FIGMA_ORG')).code).toBe(2);

    // 25 seats cost 1,125 USD: 125 USD beyond what the budget has left.
    const [proposed] = await json(
      'renewal',
      'decide',
      '--sku',
      'FIGMA_ORG',
      '--decision',
      'resize',
      '--quantity',
      '25',
      '--as',
      IT_MANAGER.id,
      '--note',
      'team grows',
    );
    expect(proposed).toMatchObject({ state: 'pending-finance', amount: 1125, budgetExceedsBy: 125 });
    expect((await json('renewals'))[0]).toMatchObject({ status: 'pending-finance' });
    expect((await cli('renewal', 'confirm', '--id', proposed.decisionId, '--as', IT_MANAGER.id)).code).toBe(
      3,
    );
    const confirmed = await cli('renewal', 'confirm', '--id', proposed.decisionId, '--as', FINANCE.id);
    expect(confirmed.code).toBe(0);
    expect(confirmed.out).toMatch(
      new RegExp(
        `^Finance approved\\. Renewed Figma Organization \\(FIGMA_ORG\\) at 25 seats for 1,125\\.00 USD/year; the next renewal is ${nextYear(renews)}\\.`,
      ),
    );
    const again = await cli('renewal', 'confirm', '--id', proposed.decisionId, '--as', FINANCE.id);
    expect(again).toMatchObject({ code: 0, out: expect.stringContaining('nothing done again') });
    expect((await json('renewals', '--days', '500'))[0]).toMatchObject({
      renewalDate: nextYear(renews),
      quantity: 25,
      annualCost: 1125,
    });

    const audit = JSON.parse((await cli('export', 'audit', '--format', 'json')).out);
    expect(
      audit.map((a: { action: string; actor: string; target: string }) => [a.actor, a.action, a.target]),
    ).toEqual(
      expect.arrayContaining([
        [FINANCE.id, 'denied', 'renewal decide'],
        [IT_MANAGER.id, 'renewal.decide', expect.stringMatching(/^license:\d+$/)],
        [IT_MANAGER.id, 'denied', 'renewal confirm'],
        [FINANCE.id, 'renewal.confirm', expect.stringMatching(/^license:\d+$/)],
      ]),
    );
  });
});
