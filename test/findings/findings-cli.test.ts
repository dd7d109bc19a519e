import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
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

// The CLI runs on the real clock: the organisation is dated relative to now.
const T0 = Date.now();
const DAY = 86_400_000;
const ago = (days: number) => new Date(T0 - days * DAY);
const inDays = (days: number) => new Date(T0 + days * DAY).toISOString().slice(0, 10);

/**
 * The fixture organisation: every finding kind, and the traps — Ana is active only through non-interactive
 * sign-ins (not idle), the E3 subscription is in Warning with 0 enabled, 5 warning and 4 consumed units (1 free
 * seat), Bo's Creative Cloud seat has no usage signal (never idle), and a new hire within the grace period.
 */
function m365(consumedE5: number): FixtureData {
  return {
    subscriptions: [
      subscription({ key: 'e5', sku: 'SPE_E5', enabledUnits: 10, consumedUnits: consumedE5 }),
      subscription({
        key: 'e3',
        sku: 'SPE_E3',
        capabilityStatus: 'Warning',
        enabledUnits: 0,
        warningUnits: 5,
        consumedUnits: 4,
        nextLifecycleAt: new Date(T0 + 25 * DAY),
      }),
      subscription({ key: 'o365e3', sku: 'ENTERPRISEPACK', enabledUnits: 1, consumedUnits: 1 }),
      subscription({ key: 'visio', sku: 'VISIOCLIENT', enabledUnits: 1, consumedUnits: 2 }),
    ],
    accounts: [
      account('e5', 'ana', 'ana@example.com', {
        lastActivityAt: ago(2),
        lastActivitySource: 'graph:lastNonInteractiveSignInDateTime',
        assignedAt: ago(400),
      }),
      account('o365e3', 'ana', 'ana@example.com', {
        lastActivityAt: ago(2),
        lastActivitySource: 'graph:lastNonInteractiveSignInDateTime',
        assignedAt: ago(400),
      }),
      account('e5', 'bo', 'bo@example.com', {
        lastActivityAt: ago(45),
        lastActivitySource: 'graph:lastSignInDateTime',
        assignedAt: ago(400),
      }),
      account('e5', 'cy', 'cy@example.com', { assignedAt: ago(90) }),
      account('e5', 'dee', 'dee@example.com', {
        lastActivityAt: ago(25),
        lastActivitySource: 'graph:lastSignInDateTime',
        assignedAt: ago(400),
      }),
      account('e5', 'eve', 'eve@example.com', { assignedAt: ago(400) }),
      account('e5', 'new', 'new@example.com', { assignedAt: ago(5) }),
      account('visio', 'ghost', 'ghost@elsewhere.example', {
        lastActivityAt: ago(1),
        lastActivitySource: 'graph:lastSignInDateTime',
        assignedAt: ago(100),
      }),
    ],
  };
}

describe('findings from the command line, on the fixture organisation', () => {
  let db: TestDatabase;
  let store: Store;
  let work: string;
  let env: Record<string, string>;

  async function cli(...args: string[]) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c) => {
      out += c;
    });
    stderr.on('data', (c) => {
      err += c;
    });
    const code = await main(args, { stdout, stderr, env });
    return { code, out, err };
  }
  async function json(...args: string[]) {
    const result = await cli(...args, '--json');
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.err}`);
    return JSON.parse(result.out);
  }
  const brief = (rows: Record<string, unknown>[]) =>
    rows
      .map((f) => ({
        kind: f.kind,
        sku: f.sku,
        product: f.product,
        email: f.email,
        person: f.person,
        seats: f.seats,
        savings: f.savings,
        status: f.status,
      }))
      .sort((a, b) => `${a.kind}${a.sku}${a.email}`.localeCompare(`${b.kind}${b.sku}${b.email}`));

  beforeEach(async () => {
    db = await createTestDatabase();
    store = await db.open();
    work = mkdtempSync(join(tmpdir(), 'sk-findings-cli-'));
    const roles = join(work, 'roles.json');
    writeFileSync(roles, JSON.stringify({ 'it-manager': ['ana@example.com'], helpdesk: ['hd@example.com'] }));
    writeFileSync(
      join(work, 'shadow.csv'),
      'app,source,email,date,amount,currency\n' +
        `Notion,expense,bo@example.com,${inDays(-40)},96.00,EUR\n` +
        `Notion,expense,cy@example.com,${inDays(-10)},96.00,EUR\n`,
    );
    env = { ...db.env, LOG_LEVEL: 'silent', SEATKEEPER_ROLES_FILE: roles, CSV_DIR: work };

    const options = { trigger: 'test', minEntitlementDays: 90 };
    await runImport(
      store,
      fixtureConnector('directory', {
        subscriptions: [],
        accounts: [],
        persons: [
          personEntry('ana@example.com'),
          personEntry('bo@example.com'),
          personEntry('cy@example.com'),
          personEntry('dee@example.com', { departedAt: ago(20) }),
          personEntry('eve@example.com', { enabled: false }),
          personEntry('new@example.com'),
        ],
      }),
      { ...options, persons: true, now: () => ago(0) },
    );
    // Three imports ten days apart: the trend.
    for (const [days, consumed] of [
      [20, 4],
      [10, 5],
      [0, 6],
    ] as const) {
      await runImport(store, fixtureConnector('m365', m365(consumed), { usage: true }), {
        ...options,
        now: () => ago(days),
      });
    }
    await runImport(
      store,
      fixtureConnector('adobe', {
        subscriptions: [
          subscription({
            key: 'cc',
            vendor: 'Adobe',
            sku: 'ADOBE_CC_ALL_APPS',
            enabledUnits: 1,
            consumedUnits: 1,
          }),
        ],
        accounts: [account('cc', 'bo-cc', 'bo@example.com', { assignedAt: ago(300) })],
      }),
      { ...options, now: () => ago(0) },
    );
    for (const [sku, price] of [
      ['SPE_E5', '57'],
      ['ENTERPRISEPACK', '20'],
    ] as const) {
      expect(
        (
          await cli(
            'contract',
            'set',
            '--sku',
            sku,
            '--unit-price',
            price,
            '--currency',
            'EUR',
            '--billing',
            'monthly',
          )
        ).code,
      ).toBe(0);
    }
    expect((await cli('shadow', 'scan', '--source', 'csv')).out).toBe(
      'csv: 2 sightings of 1 apps (1 new, 0 no longer seen); 1 open shadow IT findings.\n',
    );
    expect((await cli('findings', '--recompute', '--json')).code).toBe(0);
  });
  afterEach(async () => {
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('lists exactly the expected findings with their annualized savings (unknown prices stay unknown)', async () => {
    const rows = await json('findings');
    const e5 = { sku: 'SPE_E5', product: 'Microsoft 365 E5', seats: 1, savings: 684, status: 'open' };
    expect(brief(rows)).toEqual([
      { kind: 'departed', ...e5, email: 'dee@example.com', person: 'dee@example.com' },
      { kind: 'departed', ...e5, email: 'eve@example.com', person: 'eve@example.com' },
      {
        kind: 'duplicate',
        sku: 'ENTERPRISEPACK',
        product: 'Office 365 E3',
        email: 'ana@example.com',
        person: 'ana@example.com',
        seats: 1,
        savings: 240,
        status: 'open',
      },
      {
        kind: 'grace',
        sku: 'SPE_E3',
        product: 'Microsoft 365 E3',
        email: null,
        person: null,
        seats: 4,
        savings: null,
        status: 'open',
      },
      { kind: 'idle', ...e5, email: 'bo@example.com', person: 'bo@example.com' },
      { kind: 'idle', ...e5, email: 'cy@example.com', person: 'cy@example.com' },
      {
        kind: 'overage',
        sku: 'VISIOCLIENT',
        product: 'Visio Plan 2',
        email: null,
        person: null,
        seats: 1,
        savings: null,
        status: 'open',
      },
      {
        kind: 'shadow',
        sku: null,
        product: 'Notion',
        email: null,
        person: null,
        seats: 2,
        savings: null,
        status: 'open',
      },
      // Warning, 0 enabled + 5 warning − 4 consumed: one free seat.
      {
        kind: 'unassigned',
        sku: 'SPE_E3',
        product: 'Microsoft 365 E3',
        email: null,
        person: null,
        seats: 1,
        savings: null,
        status: 'open',
      },
      {
        kind: 'unassigned',
        sku: 'SPE_E5',
        product: 'Microsoft 365 E5',
        email: null,
        person: null,
        seats: 4,
        savings: 2736,
        status: 'open',
      },
      {
        kind: 'unmatched',
        sku: 'VISIOCLIENT',
        product: 'Visio Plan 2',
        email: 'ghost@elsewhere.example',
        person: null,
        seats: 1,
        savings: null,
        status: 'open',
      },
    ]);
    // Evidence a manager can defend: the duplicate names both plans, the shadow app its users and first sighting.
    expect(rows.find((r: { kind: string }) => r.kind === 'duplicate').evidence).toMatchObject({
      coveredPlan: 'Office 365 E3',
      coveringPlan: 'Microsoft 365 E5',
    });
    expect(rows.find((r: { kind: string }) => r.kind === 'shadow').evidence).toMatchObject({
      users: 2,
      firstSeenAt: `${inDays(-40)}T00:00:00.000Z`,
    });
    expect(rows[0]).toMatchObject({
      statusUntil: null,
      statusReason: null,
      statusBy: null,
      resolvedHow: null,
    });
    expect(await json('findings', '--kind', 'idle', '--app', 'adobe')).toEqual([]);
  });

  it('keeps a seat with the issue-5 form: denied to helpdesk (exit 3, audited), done for an IT manager', async () => {
    const keepBo = ['keep', '--email', 'bo@example.com', '--sku', 'SPE_E5', '--reason', 'on parental leave'];
    const denied = await cli(...keepBo, '--until', inDays(30), '--as', 'hd@example.com');
    expect(denied).toMatchObject({ code: 3, out: '' });
    expect(denied.err).toMatch(/needs the it-manager role/);
    const audit = await store.pool.query(
      `SELECT actor, surface, target FROM audit_log WHERE action = 'denied' ORDER BY id`,
    );
    expect(audit.rows).toEqual([{ actor: 'hd@example.com', surface: 'cli', target: 'keep' }]);

    expect(
      (await cli('keep', '--email', 'bo@example.com', '--sku', 'SPE_E5', '--as', 'ana@example.com')).code,
    ).toBe(2);

    const kept = await json(...keepBo, '--until', inDays(30), '--as', 'ana@example.com');
    expect(kept).toEqual([
      expect.objectContaining({
        scope: 'seat',
        account: 'bo@example.com',
        sku: 'SPE_E5',
        reason: 'on parental leave',
        until: `${inDays(30)}T00:00:00.000Z`,
        createdBy: 'ana@example.com',
        active: true,
        covers: 1,
      }),
    ]);
    expect((await json('findings', '--kind', 'idle')).map((f: { email: string }) => f.email)).toEqual([
      'cy@example.com',
    ]);
    expect(await json('findings', '--status', 'exempted')).toEqual([
      expect.objectContaining({
        kind: 'idle',
        email: 'bo@example.com',
        status: 'exempted',
        statusReason: 'on parental leave',
        statusBy: 'ana@example.com',
        statusUntil: `${inDays(30)}T00:00:00.000Z`,
      }),
    ]);
    const listed = await cli('exemptions');
    expect(listed.out).toMatch(/^ID\s+SCOPE\s+WHAT\s+REASON\s+UNTIL\s+BY\s+COVERS\s+STATE\n/);
    expect(listed.out).toContain('bo@example.com (SPE_E5)');

    const ended = await cli(
      'exemption',
      'end',
      String(kept[0].id),
      '--reason',
      'back',
      '--as',
      'ana@example.com',
    );
    expect(ended.code).toBe(0);
    expect((await json('findings', '--kind', 'idle')).map((f: { email: string }) => f.email).sort()).toEqual([
      'bo@example.com',
      'cy@example.com',
    ]);
    expect((await cli('exemption', 'end', String(kept[0].id))).code).toBe(1);
  });

  it('snoozes and unsnoozes a finding, marks a service account and refuses overlap changes to helpdesk', async () => {
    const [unassigned] = await json('findings', '--kind', 'unassigned', '--app', 'SPE_E5');
    const snoozed = await cli(
      'findings',
      'snooze',
      String(unassigned.id),
      '--until',
      inDays(14),
      '--reason',
      'hiring',
    );
    expect(snoozed).toMatchObject({ code: 0, err: '' });
    expect(snoozed.out).toBe(
      `Finding ${unassigned.id} (unassigned, Microsoft 365 E5) is snoozed until ${inDays(14)}: hiring.\n`,
    );
    expect(await json('findings', '--status', 'snoozed')).toEqual([
      expect.objectContaining({ id: unassigned.id, status: 'snoozed' }),
    ]);
    expect((await cli('findings', 'snooze', String(unassigned.id), '--until', 'soon')).code).toBe(2);
    expect((await cli('findings', 'unsnooze', String(unassigned.id))).out).toBe(
      `Finding ${unassigned.id} (unassigned, Microsoft 365 E5) is open.\n`,
    );

    expect(await json('account', 'kind', '--email', 'ghost@elsewhere.example', '--kind', 'external')).toEqual(
      [
        expect.objectContaining({
          account: 'ghost@elsewhere.example',
          accountKind: 'external',
          previousKind: 'person',
        }),
      ],
    );
    expect((await json('findings', '--kind', 'unmatched')).length).toBe(0);

    const overlap = ['findings', 'overlap', 'add', '--covering', 'SPE_E5', '--covered', 'VISIOCLIENT'];
    expect((await cli(...overlap, '--as', 'hd@example.com')).code).toBe(3);
    expect((await cli('findings', 'overlap', 'frobnicate')).code).toBe(2);
    const list = await json('findings', 'overlap');
    expect(list).toContainEqual(
      expect.objectContaining({
        coveringSku: 'SPE_E5',
        coveredSku: 'ENTERPRISEPACK',
        origin: 'shipped',
        duplicates: 1,
      }),
    );
    expect(list).toContainEqual(
      // Spelt as the licenses spell them; a SKU nobody holds stays lower-cased.
      expect.objectContaining({
        coveringSku: 'ADOBE_CC_ALL_APPS',
        coveredSku: 'adobe_acrobat_pro',
        origin: 'shipped',
      }),
    );
  });

  it('reports potential and realized savings by app and by kind, and utilization over time', async () => {
    // As the reclaim flow leaves it: Cy's idle seat was reclaimed.
    await store.pool.query(
      `UPDATE findings SET status = 'resolved', resolved_at = now(), resolved_how = 'reclaimed'
       WHERE kind = 'idle' AND subscriber_id = (SELECT id FROM cloud_subscribers WHERE email = 'cy@example.com')`,
    );
    const row = (
      by: string,
      name: string | null,
      currency: string | null,
      potential: number | null,
      open: number,
      realized: number | null,
      reclaimed: number,
    ) => ({
      by,
      app: by === 'app' ? name : null,
      kind: by === 'kind' ? name : null,
      currency,
      potential,
      openFindings: open,
      unpricedFindings: currency === null ? open : 0,
      realized,
      reclaimedFindings: reclaimed,
    });
    expect(await json('savings')).toEqual([
      // 4 unassigned E5 seats, 2 departed and Bo idle (684 each), Ana's duplicate E3 (240); Cy's seat reclaimed.
      row('total', null, 'EUR', 5028, 5, 684, 1),
      row('total', null, null, null, 1, 0, 0),
      row('app', 'Microsoft 365 E5', 'EUR', 4788, 4, 684, 1),
      row('app', 'Office 365 E3', 'EUR', 240, 1, 0, 0),
      row('app', 'Microsoft 365 E3', null, null, 1, 0, 0),
      row('kind', 'unassigned', 'EUR', 2736, 1, 0, 0),
      row('kind', 'departed', 'EUR', 1368, 2, 0, 0),
      row('kind', 'idle', 'EUR', 684, 1, 684, 1),
      row('kind', 'duplicate', 'EUR', 240, 1, 0, 0),
      row('kind', 'unassigned', null, null, 1, 0, 0),
    ]);
    expect(await json('savings', '--app', 'office 365')).toEqual([
      row('total', null, 'EUR', 240, 1, 0, 0),
      row('app', 'Office 365 E3', 'EUR', 240, 1, 0, 0),
      row('kind', 'duplicate', 'EUR', 240, 1, 0, 0),
    ]);
    expect((await cli('savings', '--since', 'last week')).code).toBe(2);

    const day = (days: number) => ago(days).toISOString().slice(0, 10);
    expect(
      (await json('trends', 'SPE_E5')).map((t: Record<string, unknown>) => [
        t.date,
        t.purchased,
        t.consumed,
        t.active,
        t.utilization,
        t.activeRate,
      ]),
    ).toEqual([
      // Active in the 30 days before each import: Ana, Bo (until 40 days ago), Dee.
      [day(20), 10, 4, 3, 0.4, 0.75],
      [day(10), 10, 5, 2, 0.5, 0.4],
      [day(0), 10, 6, 2, 0.6, 0.3333],
    ]);
    expect((await json('trends', '--app', 'adobe', '--days', '5'))[0]).toMatchObject({
      sku: 'ADOBE_CC_ALL_APPS',
      consumed: 1,
      active: null,
      activeRate: null,
    });
    const text = await cli('trends', 'nothing-like-this');
    expect(text).toMatchObject({
      code: 0,
      out: "No license matches 'nothing-like-this', or it was not imported in the last 90 days.\n",
    });
  });
});
