import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listBudgets, setBudget } from '../../handlers/budgets.ts';
import {
  answerPendingDecision,
  type DecideInput,
  type DecisionResult,
  decideRenewal,
  listRenewals,
  type RenewalRow,
} from '../../handlers/renewals.ts';
import type { Actor } from '../../handlers/types.ts';
import type { Config } from '../../src/config/config.ts';
import { scanRenewals } from '../../src/renewals/scan.ts';
import { DEFAULT_RENEWAL_SETTINGS, type RenewalSettings } from '../../src/renewals/settings.ts';
import type { Store } from '../../src/store/store.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import {
  ADMIN,
  context,
  contract,
  daysBefore,
  FINANCE,
  HELPDESK,
  IT_MANAGER,
  insertLicense,
  insertPerson,
  snapshot,
  TestClock,
  withRoles,
} from './renewal-fixtures.ts';

describe('renewal decisions', () => {
  let db: TestDatabase;
  let store: Store;
  let config: Config;
  let clock: TestClock;
  let licenseId: number;

  beforeEach(async () => {
    db = await createTestDatabase();
    store = await db.open();
    config = withRoles(db.config).config;
    clock = new TestClock('2027-03-01');
    await insertPerson(store, 'ana@example.com');
    licenseId = await insertLicense(store, { sku: 'FIGMA_ORG', enabled: 20, consumed: 10 });
    await snapshot(store, licenseId, daysBefore(clock, 2), 10);
    // 20 seats × 45 USD = 900 USD a year against a 1,000 USD budget: 100 USD remain.
    await contract(context(store, config, IT_MANAGER, clock), {
      sku: 'FIGMA_ORG',
      renewalDate: '2027-06-30',
      noticeDays: 30,
      unitPrice: '45',
      currency: 'USD',
      costCenter: 'Design',
      product: 'Figma',
      owner: 'ana@example.com',
      vendorContact: 'renewals@figma.example',
      priceUpliftCap: '5',
      commitFloor: 5,
    });
    const budget = await setBudget(context(store, config, FINANCE, clock), {
      costCenter: 'Design',
      amount: '1000',
      currency: 'USD',
      year: 2027,
    });
    expect(budget.ok).toBe(true);
  });
  afterEach(async () => db?.drop());

  async function decide(
    who: Actor,
    input: Omit<DecideInput, 'sku'>,
    settings: Partial<RenewalSettings> = {},
  ): Promise<DecisionResult> {
    const result = await decideRenewal(
      context(store, config, who, clock),
      { sku: 'FIGMA_ORG', ...input },
      settings,
    );
    if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
    return result.value;
  }

  async function figmaRow(): Promise<RenewalRow | undefined> {
    const list = await listRenewals(context(store, config, HELPDESK, clock), {
      days: 1200,
      limit: 10,
      offset: 0,
    });
    return list.ok ? list.value.rows.find((r) => r.sku === 'FIGMA_ORG') : undefined;
  }

  async function license() {
    const row = await store.pool.query(
      `SELECT renewal_date, term_start, term_end, unit_price::float8 AS unit_price FROM licenses WHERE id = $1`,
      [licenseId],
    );
    return row.rows[0];
  }

  async function audit() {
    const rows = await store.pool.query(
      `SELECT actor, action, target, after FROM audit_log
       WHERE action LIKE 'renewal.%' OR action = 'denied' ORDER BY id`,
    );
    return rows.rows;
  }

  it('holds an it-manager’s approval beyond the remaining budget for finance; finance’s approval renews and commits it', async () => {
    const proposed = await decide(IT_MANAGER, { decision: 'resize', quantity: 25 });
    expect(proposed).toMatchObject({
      state: 'pending-finance',
      quantity: 25,
      amount: 1125,
      currency: 'USD',
      budgetCheck: 'exceeds',
      budgetRemaining: 100,
      budgetExceedsBy: 125,
      financeRequired: true,
      financeReasons: ['it exceeds the remaining 2027 budget of Design by 125.00 USD'],
      requestedBy: IT_MANAGER.id,
      approvedBy: null,
      newRenewalDate: null,
    });
    expect(await figmaRow()).toMatchObject({
      status: 'pending-finance',
      renewalDate: '2027-06-30',
      decision: { id: proposed.decisionId, decision: 'resize', state: 'pending-finance', quantity: 25 },
    });
    expect((await license()).renewal_date).toBe('2027-06-30');
    const asked = await store.pool.query(
      `SELECT target, payload FROM notifications WHERE kind = 'renewal-finance-approval'`,
    );
    expect(asked.rows).toEqual([
      {
        target: { email: FINANCE.id },
        payload: expect.objectContaining({
          decisionId: proposed.decisionId,
          amount: 1125,
          budgetExceedsBy: 125,
        }),
      },
    ]);

    // The it-manager cannot approve the spend too.
    const self = await answerPendingDecision(context(store, config, IT_MANAGER, clock), {
      decisionId: proposed.decisionId,
      answer: 'confirm',
    });
    expect(self).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORIZED' } });

    clock.setDay('2027-03-03');
    const approved = await answerPendingDecision(context(store, config, FINANCE, clock), {
      decisionId: proposed.decisionId,
      answer: 'confirm',
    });
    expect(approved).toMatchObject({
      ok: true,
      value: {
        state: 'decided',
        approvedBy: FINANCE.id,
        quantity: 25,
        newRenewalDate: '2028-06-30',
        repeated: false,
      },
    });
    expect(await license()).toEqual({
      renewal_date: '2028-06-30',
      term_start: '2027-06-30',
      term_end: null,
      unit_price: 45,
    });
    // The new term is contracted at 25 seats (the vendor's enabled units stay 20 until the next import).
    expect(await figmaRow()).toMatchObject({
      renewalDate: '2028-06-30',
      quantity: 25,
      purchased: 20,
      annualCost: 1125,
      status: 'upcoming',
      decision: null,
    });
    const budgets = await listBudgets(context(store, config, FINANCE, clock), {
      year: 2027,
      limit: 5,
      offset: 0,
    });
    expect(budgets.ok && budgets.value.rows[0]).toMatchObject({ committed: 1125, remaining: -125 });

    // Answering again (a second click) changes nothing.
    const again = await answerPendingDecision(context(store, config, FINANCE, clock), {
      decisionId: proposed.decisionId,
      answer: 'confirm',
    });
    expect(again).toMatchObject({ ok: true, value: { repeated: true, state: 'decided' } });
    expect((await license()).renewal_date).toBe('2028-06-30');

    expect(await audit()).toEqual([
      expect.objectContaining({
        actor: IT_MANAGER.id,
        action: 'renewal.decide',
        target: `license:${licenseId}`,
        after: expect.objectContaining({ decisionId: proposed.decisionId, state: 'pending-finance' }),
      }),
      expect.objectContaining({ actor: IT_MANAGER.id, action: 'denied', target: 'renewal confirm' }),
      expect.objectContaining({
        actor: FINANCE.id,
        action: 'renewal.confirm',
        after: expect.objectContaining({ decisionId: proposed.decisionId, newRenewalDate: '2028-06-30' }),
      }),
    ]);
  });

  it('lets the it-manager alone approve within budget and threshold; above the threshold finance must agree', async () => {
    // Recommended: peak 10 + 5 % = 11 seats, 495 USD, fits.
    const small = await decide(IT_MANAGER, { decision: 'approve' }, { financeThreshold: 10_000 });
    expect(small).toMatchObject({
      state: 'decided',
      quantity: 11,
      amount: 495,
      budgetCheck: 'fits',
      financeRequired: false,
      approvedBy: IT_MANAGER.id,
      newRenewalDate: '2028-06-30',
    });

    // The next term, decided with a lower threshold: 11 × 45 = 495 is above 400.
    const large = await decide(IT_MANAGER, { decision: 'approve-as-is' }, { financeThreshold: 400 });
    expect(large).toMatchObject({
      state: 'pending-finance',
      renewalDate: '2028-06-30',
      quantity: 11,
      financeReasons: ['495.00 USD a year is above the finance threshold of 400'],
    });
    const rejected = await answerPendingDecision(context(store, config, FINANCE, clock), {
      decisionId: large.decisionId,
      answer: 'reject',
      note: 'renegotiate first',
    });
    expect(rejected).toMatchObject({ ok: true, value: { state: 'rejected' } });
    expect((await figmaRow())?.status).toBe('upcoming');
    const told = await store.pool.query(
      `SELECT target FROM notifications WHERE kind = 'renewal-finance-rejected'`,
    );
    expect(told.rows).toEqual([{ target: { email: IT_MANAGER.id } }]);

    // Someone with both roles (admin) decides at once.
    const admin = await decide(ADMIN, { decision: 'approve-as-is' }, { financeThreshold: 400 });
    expect(admin).toMatchObject({ state: 'decided', financeRequired: true, approvedBy: ADMIN.id });
    expect((await license()).renewal_date).toBe('2029-06-30');
  });

  it('rolls the term forward by its own length, at a new price within the uplift cap', async () => {
    await contract(context(store, config, IT_MANAGER, clock), {
      sku: 'FIGMA_ORG',
      termStart: '2025-06-30',
      termEnd: '2027-06-29',
    });
    const tooDear = await decideRenewal(context(store, config, IT_MANAGER, clock), {
      sku: 'FIGMA_ORG',
      decision: 'approve-as-is',
      unitPrice: '47.26',
    });
    expect(tooDear).toEqual({
      ok: false,
      error: {
        code: 'INVALID_ARGUMENT',
        message: "47.26 is more than the contract's price uplift cap of 5 % allows (at most 47.25).",
      },
    });
    const renewed = await decide(IT_MANAGER, { decision: 'approve-as-is', unitPrice: '47.25' });
    expect(renewed).toMatchObject({
      state: 'decided',
      quantity: 20,
      amount: 945,
      newRenewalDate: '2029-06-30',
    });
    expect(await license()).toEqual({
      renewal_date: '2029-06-30',
      term_start: '2027-06-30',
      term_end: '2029-06-29',
      unit_price: 47.25,
    });
  });

  it('on decline creates a task to tell the vendor and a cancel-by reminder, repeated until the task is done', async () => {
    const declined = await decide(IT_MANAGER, { decision: 'decline', note: 'moving to Penpot' });
    expect(declined).toMatchObject({ state: 'decided', taskIds: [expect.any(Number)], notifications: 2 });
    const tasks = await store.pool.query(`SELECT id, kind, license_id, due_at, note, created_by FROM tasks`);
    expect(tasks.rows).toEqual([
      {
        id: declined.taskIds[0],
        kind: 'notify-vendor',
        license_id: licenseId,
        due_at: new Date('2027-05-31T00:00:00Z'),
        note:
          'Tell Figma (renewals@figma.example) that Figma (FIGMA_ORG) will not renew on 2027-06-30; ' +
          'the notice must reach them by 2027-05-31. Note: moving to Penpot',
        created_by: IT_MANAGER.id,
      },
    ]);
    const reminders = await store.pool.query(
      `SELECT target, payload FROM notifications WHERE kind = 'renewal-cancel-reminder' ORDER BY dedupe_key`,
    );
    expect(reminders.rows.map((r) => r.target)).toEqual([
      { channel: 'procurement' },
      { email: 'ana@example.com', personId: expect.any(Number) },
    ]);
    expect(reminders.rows[0].payload).toMatchObject({ cancelBy: '2027-05-31', decision: 'decline' });
    expect((await figmaRow())?.status).toBe('declined');

    // The daily scan reminds at the next lead time while nobody has told the vendor...
    clock.setDay('2027-03-02');
    const scan = await scanRenewals(store.pool, DEFAULT_RENEWAL_SETTINGS, clock.now());
    expect(scan.alerts).toEqual([
      expect.objectContaining({ thresholdDays: 90, kind: 'renewal-cancel-reminder' }),
    ]);
    // ...and stops once someone has.
    await store.pool.query(`UPDATE tasks SET done_at = now(), done_by = 'ivy@example.com'`);
    clock.setDay('2027-05-01');
    expect((await scanRenewals(store.pool, DEFAULT_RENEWAL_SETTINGS, clock.now())).alerts).toEqual([]);
  });

  it('closes the vendor task when a decline is replaced by an approval', async () => {
    await decide(IT_MANAGER, { decision: 'decline' });
    const approved = await decide(IT_MANAGER, { decision: 'approve' });
    expect(approved.state).toBe('decided');
    const tasks = await store.pool.query(`SELECT done_by FROM tasks`);
    expect(tasks.rows).toEqual([{ done_by: `superseded by decision ${approved.decisionId}` }]);
    const states = await store.pool.query(
      `SELECT decision, state FROM renewal_decisions ORDER BY created_at, decision`,
    );
    expect(states.rows).toEqual([
      { decision: 'approve', state: 'decided' },
      { decision: 'decline', state: 'superseded' },
    ]);
  });

  it('snoozes the alerts until a date, escalates to finance, and audits every decision', async () => {
    const snoozed = await decide(IT_MANAGER, { decision: 'snooze', until: '2027-04-20' });
    expect(snoozed).toMatchObject({ state: 'decided', until: '2027-04-20' });
    expect(await figmaRow()).toMatchObject({ status: 'snoozed', decision: { until: '2027-04-20' } });
    clock.setDay('2027-03-02'); // 90 days before cancel-by, snoozed
    expect((await scanRenewals(store.pool, DEFAULT_RENEWAL_SETTINGS, clock.now())).alerts).toEqual([]);
    clock.setDay('2027-04-20'); // the snooze ends: the tightest lead time reached (60) alerts
    expect((await scanRenewals(store.pool, DEFAULT_RENEWAL_SETTINGS, clock.now())).alerts).toEqual([
      expect.objectContaining({ thresholdDays: 60 }),
    ]);
    expect((await figmaRow())?.status).toBe('upcoming');

    const escalated = await decide(IT_MANAGER, { decision: 'escalate', note: 'usage doubled, budget?' });
    expect(escalated).toMatchObject({ state: 'decided', notifications: 1 });
    const toFinance = await store.pool.query(
      `SELECT target, payload->>'note' AS note FROM notifications WHERE kind = 'renewal-escalation'`,
    );
    expect(toFinance.rows).toEqual([{ target: { email: FINANCE.id }, note: 'usage doubled, budget?' }]);
    expect((await figmaRow())?.status).toBe('escalated');

    const decisions = await store.pool.query(`SELECT id FROM renewal_decisions ORDER BY created_at`);
    const audited = (await audit())
      .filter((a) => a.action === 'renewal.decide')
      .map((a) => a.after.decisionId);
    expect(audited).toEqual(decisions.rows.map((d) => d.id));
    expect(audited).toHaveLength(2);
  });

  it('acts once for a repeated decision id, even when both requests arrive together', async () => {
    const decisionId = randomUUID();
    const [a, b] = await Promise.all([
      decide(IT_MANAGER, { decisionId, decision: 'approve' }),
      decide(IT_MANAGER, { decisionId, decision: 'approve' }),
    ]);
    expect([a.repeated, b.repeated].sort()).toEqual([false, true]);
    expect(a.decisionId).toBe(decisionId);
    expect(b.decisionId).toBe(decisionId);
    expect((await license()).renewal_date).toBe('2028-06-30');
    const rows = await store.pool.query(`SELECT count(*)::int AS c FROM renewal_decisions`);
    expect(rows.rows[0].c).toBe(1);
    expect((await audit()).filter((e) => e.action === 'renewal.decide')).toHaveLength(1);
  });

  it('refuses decisions it cannot carry out, with a reason, and audits the denied ones', async () => {
    const ctx = context(store, config, IT_MANAGER, clock);
    const refuse = async (input: Omit<DecideInput, 'sku'>, who = ctx) =>
      decideRenewal(who, { sku: 'FIGMA_ORG', ...input });
    expect(await refuse({ decision: 'approve' }, context(store, config, HELPDESK, clock))).toMatchObject({
      ok: false,
      error: { code: 'NOT_AUTHORIZED', message: 'Deciding a renewal needs the it-manager role.' },
    });
    expect(await refuse({ decision: 'renew' })).toMatchObject({
      error: {
        code: 'INVALID_ARGUMENT',
        message:
          "Unknown decision 'renew'; decide one of approve, approve-as-is, resize, decline, snooze, escalate.",
      },
    });
    expect(await refuse({ decision: 'resize' })).toMatchObject({
      error: { code: 'INVALID_ARGUMENT', message: 'Resizing needs --quantity N.' },
    });
    expect(await refuse({ decision: 'resize', quantity: 4 })).toMatchObject({
      error: {
        code: 'INVALID_ARGUMENT',
        message: 'FIGMA_ORG has a commit floor of 5 seats; resize to at least that.',
      },
    });
    expect(await refuse({ decision: 'snooze', until: '2027-03-01' })).toMatchObject({
      error: { code: 'INVALID_ARGUMENT', message: '--until must be after today (2027-03-01).' },
    });
    expect(await refuse({ decision: 'approve', renewalDate: '2026-06-30' })).toMatchObject({
      error: { code: 'CONFLICT' },
    });
    await insertLicense(store, { sku: 'NO_DATE' });
    expect(await decideRenewal(ctx, { sku: 'NO_DATE', decision: 'approve' })).toMatchObject({
      error: {
        code: 'CONFLICT',
        message: 'NO_DATE has no renewal date; set one first (contract set --renewal-date YYYY-MM-DD).',
      },
    });
    expect(await store.pool.query(`SELECT 1 FROM renewal_decisions`)).toMatchObject({ rowCount: 0 });
    expect(await audit()).toEqual([
      expect.objectContaining({ actor: HELPDESK.id, action: 'denied', target: 'renewal decide' }),
    ]);
  });
});
