import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setContract } from '../../handlers/contracts.ts';
import {
  endExemption,
  keep,
  listExemptions,
  setAccountKind,
  snoozeFinding,
  unsnoozeFinding,
} from '../../handlers/exemptions.ts';
import { listFindings } from '../../handlers/reports.ts';
import { type Actor, type HandlerContext, operatorActor, type Result } from '../../handlers/types.ts';
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
const DAY = 86_400_000;
const at = (days: number) => new Date(NOW.getTime() + days * DAY);
const date = (days: number) => at(days).toISOString().slice(0, 10);

const m365: FixtureData = {
  subscriptions: [
    subscription({ key: 'e5', sku: 'SPE_E5', name: 'Microsoft 365 E5', enabledUnits: 6, consumedUnits: 5 }),
  ],
  accounts: [
    // Active only through non-interactive sign-ins (Outlook mobile): not idle.
    account('e5', 'ana', 'ana@example.com', {
      lastActivityAt: at(-2),
      lastActivitySource: 'graph:lastNonInteractiveSignInDateTime',
      assignedAt: at(-400),
    }),
    account('e5', 'bo', 'bo@example.com', {
      lastActivityAt: at(-45),
      lastActivitySource: 'graph:lastSignInDateTime',
      assignedAt: at(-400),
    }),
    account('e5', 'cy', 'cy@example.com', { assignedAt: at(-90) }),
    account('e5', 'dee', 'dee@example.com', { assignedAt: at(-400) }),
    account('e5', 'scan', 'scanner@example.com', { assignedAt: at(-300) }),
  ],
};

function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

describe('exemptions and snoozes', () => {
  let db: TestDatabase;
  let store: Store;
  let clock: Date;
  const manager: Actor = {
    ...operatorActor(),
    id: 'ana@example.com',
    email: 'ana@example.com',
    roles: ['it-manager'],
  };
  const ctx = (actor: Actor = manager): HandlerContext => ({
    store,
    config: db.config,
    actor,
    now: () => clock,
  });

  async function recompute(when: Date) {
    clock = when;
    const client = await store.pool.connect();
    try {
      return await recomputeFindings(client, { idleDays: 30, graceDays: 30 }, when);
    } finally {
      client.release();
    }
  }

  async function findings(status = 'all') {
    const rows = value(await listFindings(ctx(), { status, limit: 100, offset: 0 })).rows;
    return rows
      .map((f) => ({
        id: f.id,
        kind: f.kind,
        email: f.email,
        status: f.status,
        statusReason: f.statusReason,
        statusBy: f.statusBy,
        statusUntil: f.statusUntil,
      }))
      .sort((a, b) => `${a.kind}${a.email}`.localeCompare(`${b.kind}${b.email}`));
  }
  const one = async (kind: string, email: string | null) => {
    const found = (await findings()).find((f) => f.kind === kind && f.email === email);
    if (!found) throw new Error(`no ${kind} finding for ${email}`);
    return found;
  };

  beforeEach(async () => {
    db = await createTestDatabase();
    store = await db.open();
    clock = NOW;
    await runImport(
      store,
      fixtureConnector('directory', {
        subscriptions: [],
        accounts: [],
        persons: [
          personEntry('ana@example.com'),
          personEntry('bo@example.com'),
          personEntry('cy@example.com', { aliases: ['cy.alias@example.com'] }),
          personEntry('dee@example.com', { departedAt: at(-20) }),
        ],
      }),
      { trigger: 'test', minEntitlementDays: 90, persons: true, now: () => NOW },
    );
    await runImport(store, fixtureConnector('m365', m365, { usage: true }), {
      trigger: 'test',
      minEntitlementDays: 90,
      now: () => NOW,
    });
    value(await setContract(ctx(), { sku: 'SPE_E5', unitPrice: '57', currency: 'EUR', billing: 'monthly' }));
    await recompute(NOW);
  });
  afterEach(async () => db?.drop());

  it('finds the idle seats, but not a seat active only through non-interactive sign-ins', async () => {
    expect((await findings('open')).map((f) => `${f.kind} ${f.email}`)).toEqual([
      'departed dee@example.com',
      'idle bo@example.com',
      'idle cy@example.com',
      'idle scanner@example.com',
      'unassigned null',
      'unmatched scanner@example.com',
    ]);
  });

  it('keeps an exempted seat out of idle until the exemption expires, then reopens it', async () => {
    const [kept] = value(
      await keep(ctx(), {
        email: 'BO@example.com',
        sku: 'spe_e5',
        reason: 'on parental leave',
        until: date(10),
      }),
    );
    expect(kept).toMatchObject({
      scope: 'seat',
      account: 'bo@example.com',
      sku: 'SPE_E5',
      person: 'bo@example.com',
      reason: 'on parental leave',
      until: at(10).toISOString().replace('08:00:00', '00:00:00'),
      createdBy: 'ana@example.com',
      active: true,
      covers: 1,
    });
    const exempted = {
      kind: 'idle',
      email: 'bo@example.com',
      status: 'exempted',
      statusReason: 'on parental leave',
      statusBy: 'ana@example.com',
    };
    expect(await one('idle', 'bo@example.com')).toMatchObject(exempted);
    expect((await findings('open')).map((f) => f.email)).not.toContain('bo@example.com');

    // Still idle five days later (a new import and recomputation), still exempted.
    await recompute(at(5));
    expect(await one('idle', 'bo@example.com')).toMatchObject(exempted);

    // Once the end has passed the seat reads as open at once, and the next recomputation settles it.
    clock = at(11);
    expect(await one('idle', 'bo@example.com')).toMatchObject({ status: 'open', statusReason: null });
    const result = await recompute(at(11));
    expect(result.reopened).toBe(1);
    const stored = await store.pool.query(
      `SELECT count(*)::int AS n FROM findings WHERE status = 'exempted'`,
    );
    expect(stored.rows[0].n).toBe(0);
    expect(value(await listExemptions(ctx(), { limit: 10, offset: 0 })).rows).toEqual([]);
    expect(value(await listExemptions(ctx(), { all: true, limit: 10, offset: 0 })).rows).toEqual([
      expect.objectContaining({ id: kept?.id, active: false, endedAt: null }),
    ]);
  });

  it('keeps a person on leave (found by an alias) until the exemption is ended by hand', async () => {
    const [kept] = value(await keep(ctx(), { person: 'cy.alias@example.com', reason: 'sabbatical' }));
    expect(kept).toMatchObject({ scope: 'person', person: 'cy@example.com', until: null, covers: 1 });
    expect(await one('idle', 'cy@example.com')).toMatchObject({ status: 'exempted', statusUntil: null });

    clock = at(1);
    const [ended] = value(await endExemption(ctx(), { id: kept?.id as number, reason: 'back early' }));
    expect(ended).toMatchObject({ active: false, endedBy: 'ana@example.com', endedAt: at(1).toISOString() });
    expect(await one('idle', 'cy@example.com')).toMatchObject({ status: 'open', statusBy: null });
    expect(await endExemption(ctx(), { id: kept?.id as number })).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT' },
    });

    const audit = await store.pool.query(
      `SELECT actor, surface, action, target, after->>'reason' AS reason FROM audit_log
       WHERE action LIKE 'exemption.%' ORDER BY id`,
    );
    expect(audit.rows).toEqual([
      expect.objectContaining({
        actor: 'ana@example.com',
        action: 'exemption.add',
        target: expect.stringMatching(/^person:\d+$/),
      }),
      {
        actor: 'ana@example.com',
        surface: 'cli',
        action: 'exemption.end',
        target: `exemption:${kept?.id}`,
        reason: 'back early',
      },
    ]);
  });

  it('exempts a birthright product from idle only: its departed holders and free seats remain findings', async () => {
    value(await keep(ctx(), { product: 'Microsoft 365 E5', reason: 'birthright' }));
    expect((await findings('open')).map((f) => `${f.kind} ${f.email}`)).toEqual([
      'departed dee@example.com',
      'unassigned null',
      'unmatched scanner@example.com',
    ]);
    expect((await findings('exempted')).map((f) => `${f.kind} ${f.email} ${f.statusReason}`)).toEqual([
      'idle bo@example.com birthright',
      'idle cy@example.com birthright',
      'idle scanner@example.com birthright',
    ]);
  });

  it('replaces an active exemption of the same seat instead of stacking them', async () => {
    const [first] = value(
      await keep(ctx(), { email: 'bo@example.com', sku: 'SPE_E5', reason: 'leave', until: date(10) }),
    );
    const [second] = value(
      await keep(ctx(), {
        email: 'bo@example.com',
        sku: 'SPE_E5',
        reason: 'leave, extended',
        until: date(40),
      }),
    );
    const all = value(await listExemptions(ctx(), { all: true, limit: 10, offset: 0 })).rows;
    expect(all.map((e) => [e.id, e.active, e.endedBy])).toEqual([
      [second?.id, true, null],
      [first?.id, false, 'ana@example.com'],
    ]);
    expect(await one('idle', 'bo@example.com')).toMatchObject({
      statusReason: 'leave, extended',
      statusUntil: `${date(40)}T00:00:00.000Z`,
    });
  });

  it('rejects a keep that names nothing, a seat that does not exist, or an end date in the past', async () => {
    expect(await keep(ctx(), { reason: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    expect(await keep(ctx(), { email: 'bo@example.com', reason: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('--sku') },
    });
    expect(await keep(ctx(), { email: 'zed@example.com', sku: 'SPE_E5', reason: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    expect(await keep(ctx(), { person: 'bo@example.com', reason: 'x', until: date(-1) })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('future') },
    });
    expect(await keep(ctx(), { person: 'bo@example.com', reason: '  ' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    expect((await store.pool.query('SELECT count(*)::int AS n FROM exemptions')).rows[0].n).toBe(0);
  });

  it('refuses a helpdesk actor, audits the denial and changes nothing', async () => {
    const helpdesk: Actor = {
      ...manager,
      id: 'hd@example.com',
      email: 'hd@example.com',
      roles: ['helpdesk'],
    };
    expect(
      await keep(ctx(helpdesk), { email: 'bo@example.com', sku: 'SPE_E5', reason: 'mine' }),
    ).toMatchObject({
      ok: false,
      error: { code: 'NOT_AUTHORIZED' },
    });
    const bo = await one('idle', 'bo@example.com');
    expect(await snoozeFinding(ctx(helpdesk), { id: bo.id, until: date(3) })).toMatchObject({
      ok: false,
      error: { code: 'NOT_AUTHORIZED' },
    });
    const denied = await store.pool.query(
      `SELECT actor, action, target, after->>'required' AS required FROM audit_log WHERE action = 'denied' ORDER BY id`,
    );
    expect(denied.rows).toEqual([
      { actor: 'hd@example.com', action: 'denied', target: 'keep', required: 'it-manager' },
      { actor: 'hd@example.com', action: 'denied', target: 'findings snooze', required: 'it-manager' },
    ]);
    expect((await store.pool.query('SELECT count(*)::int AS n FROM exemptions')).rows[0].n).toBe(0);
    expect(await one('idle', 'bo@example.com')).toMatchObject({ status: 'open' });
  });

  it('snoozes a finding until a date, after which it reopens by itself', async () => {
    const unassigned = await one('unassigned', null);
    const [snoozed] = value(
      await snoozeFinding(ctx(), {
        id: unassigned.id,
        until: date(7),
        reason: 'hiring two people in December',
      }),
    );
    expect(snoozed).toMatchObject({
      status: 'snoozed',
      statusUntil: `${date(7)}T00:00:00.000Z`,
      statusReason: 'hiring two people in December',
      statusBy: 'ana@example.com',
    });
    expect((await findings('open')).map((f) => f.kind)).not.toContain('unassigned');

    await recompute(at(3));
    expect(await one('unassigned', null)).toMatchObject({ status: 'snoozed' });
    const result = await recompute(at(8));
    expect(result.reopened).toBe(1);
    expect(await one('unassigned', null)).toMatchObject({
      status: 'open',
      statusReason: null,
      statusUntil: null,
    });
  });

  it('unsnoozes on demand, and will not snooze an exempted or resolved finding', async () => {
    const bo = await one('idle', 'bo@example.com');
    value(await snoozeFinding(ctx(), { id: bo.id, until: date(7) }));
    expect(value(await unsnoozeFinding(ctx(), { id: bo.id }))).toEqual([
      expect.objectContaining({ status: 'open' }),
    ]);
    expect(await unsnoozeFinding(ctx(), { id: bo.id })).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT' },
    });

    const cy = await one('idle', 'cy@example.com');
    value(await keep(ctx(), { person: 'cy@example.com', reason: 'leave' }));
    expect(await snoozeFinding(ctx(), { id: cy.id, until: date(7) })).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT', message: expect.stringContaining('exempted (leave, by ana@example.com)') },
    });
    expect(await snoozeFinding(ctx(), { id: 999_999, until: date(7) })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    const actions = await store.pool.query(
      `SELECT action FROM audit_log WHERE action LIKE 'finding.%' ORDER BY id`,
    );
    expect(actions.rows.map((r) => r.action)).toEqual(['finding.snooze', 'finding.unsnooze']);
  });

  it('marks a service account: it leaves clearing and is never idle; marking it a person again brings both back', async () => {
    const rows = value(
      await setAccountKind(ctx(), { email: 'SCANNER@example.com', kind: 'service', note: 'copier' }),
    );
    expect(rows).toEqual([
      expect.objectContaining({
        account: 'scanner@example.com',
        sku: 'SPE_E5',
        accountKind: 'service',
        previousKind: 'person',
        note: 'copier',
      }),
    ]);
    expect((await findings('open')).map((f) => f.email)).not.toContain('scanner@example.com');
    const resolved = await store.pool.query(
      `SELECT kind, resolved_how FROM findings WHERE status = 'resolved' ORDER BY kind`,
    );
    expect(resolved.rows).toEqual([
      { kind: 'idle', resolved_how: 'no longer holds' },
      { kind: 'unmatched', resolved_how: 'no longer holds' },
    ]);

    value(await setAccountKind(ctx(), { email: 'scanner@example.com', kind: 'person' }));
    expect(await one('unmatched', 'scanner@example.com')).toMatchObject({ status: 'open' });
    expect(await setAccountKind(ctx(), { email: 'scanner@example.com', kind: 'robot' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    const audit = await store.pool.query(
      `SELECT before FROM audit_log WHERE action = 'account.kind' ORDER BY id`,
    );
    expect(audit.rows.map((r) => r.before[0].accountKind)).toEqual(['person', 'service']);
  });
});
