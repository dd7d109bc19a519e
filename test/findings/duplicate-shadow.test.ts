import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MICROSOFT_TENANTS } from '../../connectors/m365-shadow.ts';
import { setContract } from '../../handlers/contracts.ts';
import { addOverlap, listOverlaps, removeOverlap } from '../../handlers/findings-overlaps.ts';
import {
  dismissShadowApp,
  listShadowApps,
  restoreShadowApp,
  scanShadow,
} from '../../handlers/findings-shadow.ts';
import { listFindings } from '../../handlers/reports.ts';
import { savingsReport } from '../../handlers/savings.ts';
import { type Actor, type HandlerContext, operatorActor, type Result } from '../../handlers/types.ts';
import { loadConfig } from '../../src/config/config.ts';
import { recomputeFindings } from '../../src/findings/recompute.ts';
import { runImport } from '../../src/inventory/import-pipeline.ts';
import { migrateStore } from '../../src/store/migrate.ts';
import type { Store } from '../../src/store/store.ts';
import { GraphFake, type GraphServicePrincipal, odataError, throttled } from '../fakes/graph-fake.ts';
import { TENANT_ID } from '../fakes/graph-fixtures.ts';
import { account, fixtureConnector, personEntry, subscription } from '../support/fixture-connector.ts';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const NOW = new Date('2026-11-20T08:00:00Z');
const DAY = 86_400_000;
const at = (days: number) => new Date(NOW.getTime() + days * DAY);

function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

const manager: Actor = {
  ...operatorActor(),
  id: 'it@example.com',
  email: 'it@example.com',
  roles: ['it-manager'],
};

async function importOrg(store: Store) {
  const options = { trigger: 'test', minEntitlementDays: 90, now: () => NOW };
  await runImport(
    store,
    fixtureConnector('directory', {
      subscriptions: [],
      accounts: [],
      persons: [
        personEntry('ana@example.com'),
        personEntry('bo@example.com'),
        personEntry('cy@example.com'),
        personEntry('dee@example.com', { departedAt: at(-10) }),
      ],
    }),
    { ...options, persons: true },
  );
  const active = {
    lastActivityAt: at(-1),
    lastActivitySource: 'graph:lastSignInDateTime',
    assignedAt: at(-400),
  };
  await runImport(
    store,
    fixtureConnector(
      'm365',
      {
        subscriptions: [
          subscription({ key: 'e5', sku: 'SPE_E5', enabledUnits: 3, consumedUnits: 3 }),
          subscription({ key: 'o365e3', sku: 'ENTERPRISEPACK', enabledUnits: 3, consumedUnits: 3 }),
          subscription({ key: 'ems', sku: 'EMS', enabledUnits: 1, consumedUnits: 1 }),
          subscription({ key: 'pbi', sku: 'POWER_BI_PRO', enabledUnits: 1, consumedUnits: 1 }),
        ],
        accounts: [
          account('e5', 'ana', 'ana@example.com', active),
          account('o365e3', 'ana', 'ana@example.com', active),
          account('pbi', 'ana', 'ana@example.com', active),
          account('o365e3', 'bo', 'bo@example.com', active),
          account('e5', 'cy', 'cy@example.com', active),
          account('ems', 'cy', 'cy@example.com', active),
          // Departed: the departed findings say it; no duplicate on top.
          account('e5', 'dee', 'dee@example.com', active),
          account('o365e3', 'dee', 'dee@example.com', active),
        ],
      },
      { usage: true },
    ),
    options,
  );
  await runImport(
    store,
    fixtureConnector('adobe', {
      subscriptions: [
        subscription({
          key: 'cc',
          vendor: 'Adobe',
          sku: 'ADOBE_CC_ALL_APPS',
          enabledUnits: 2,
          consumedUnits: 1,
        }),
        subscription({
          key: 'acro',
          vendor: 'Adobe',
          sku: 'ADOBE_ACROBAT_PRO',
          enabledUnits: 1,
          consumedUnits: 1,
        }),
      ],
      accounts: [account('cc', 'bo-cc', 'bo@example.com'), account('acro', 'bo-acro', 'bo@example.com')],
    }),
    options,
  );
  // Licensed apps: their names make sightings of them not shadow IT.
  await runImport(
    store,
    fixtureConnector('csv', {
      subscriptions: [
        subscription({
          key: 'figma',
          vendor: 'Figma',
          sku: 'FIGMA_ORG',
          name: 'Figma Organization',
          consumedUnits: 0,
        }),
        subscription({ key: 'zoom', vendor: 'Zoom', sku: 'ZOOM_PRO', name: 'Zoom Pro', consumedUnits: 0 }),
      ],
      accounts: [],
    }),
    options,
  );
}

describe('duplicate findings', () => {
  let db: TestDatabase;
  let store: Store;
  const ctx = (): HandlerContext => ({ store, config: db.config, actor: manager, now: () => NOW });

  async function recompute() {
    const client = await store.pool.connect();
    await recomputeFindings(client, { idleDays: 30, graceDays: 30 }, NOW).finally(() => client.release());
  }
  async function duplicates() {
    const rows = value(await listFindings(ctx(), { kind: 'duplicate', limit: 100, offset: 0 })).rows;
    return rows
      .map((f) => ({
        sku: f.sku,
        email: f.email,
        person: f.person,
        savings: f.savings,
        evidence: f.evidence,
      }))
      .sort((a, b) => `${a.email}${a.sku}`.localeCompare(`${b.email}${b.sku}`));
  }

  beforeEach(async () => {
    db = await createTestDatabase();
    store = await db.open();
    await importOrg(store);
    value(
      await setContract(ctx(), {
        sku: 'ENTERPRISEPACK',
        unitPrice: '20',
        currency: 'EUR',
        billing: 'monthly',
      }),
    );
    value(await setContract(ctx(), { sku: 'ADOBE_ACROBAT_PRO', unitPrice: '239.88', currency: 'EUR' }));
    await recompute();
  });
  afterEach(async () => db?.drop());

  it('finds people holding a plan inside another (shipped overlaps), naming both plans, saving the covered price', async () => {
    expect(await duplicates()).toEqual([
      {
        sku: 'ENTERPRISEPACK',
        email: 'ana@example.com',
        person: 'ana@example.com',
        savings: 240,
        evidence: {
          coveredSku: 'ENTERPRISEPACK',
          coveredPlan: 'Office 365 E3',
          coveringSku: 'SPE_E5',
          coveringPlan: 'Microsoft 365 E5',
          coveringAccount: 'ana@example.com',
          overlap: 'shipped',
        },
      },
      {
        sku: 'ADOBE_ACROBAT_PRO',
        email: 'bo@example.com',
        person: 'bo@example.com',
        savings: 239.88,
        evidence: expect.objectContaining({
          coveredPlan: 'Acrobat Pro',
          coveringPlan: 'Creative Cloud All Apps',
        }),
      },
      {
        sku: 'EMS',
        email: 'cy@example.com',
        person: 'cy@example.com',
        // No price for EMS: unknown, never 0.
        savings: null,
        evidence: expect.objectContaining({ coveredPlan: 'Enterprise Mobility + Security E3' }),
      },
    ]);
  });

  it('reports a covered seat that is also idle once, as a duplicate, and counts its saving once', async () => {
    // Ana stops using her E3 seat (the one her E5 covers) and her E5 one alike.
    await store.pool.query(
      `UPDATE cloud_subscribers SET last_activity_at = $1 WHERE lower(email) = 'ana@example.com'`,
      [at(-200)],
    );
    await recompute();
    const anas = value(await listFindings(ctx(), { limit: 100, offset: 0 }))
      .rows.filter((f) => f.email === 'ana@example.com')
      .map((f) => `${f.kind} ${f.sku}`)
      .sort();
    expect(anas).toEqual(['duplicate ENTERPRISEPACK', 'idle POWER_BI_PRO', 'idle SPE_E5']);
    const e3 = value(await savingsReport(ctx(), { app: 'ENTERPRISEPACK' }));
    expect(e3.find((r) => r.by === 'total')).toMatchObject({ potential: 480, openFindings: 2 });
  });

  it('adds and removes custom overlaps; a shipped one switched off stays off across restarts', async () => {
    const [added] = value(await addOverlap(ctx(), { covering: 'SPE_E5', covered: 'power_bi_pro' }));
    expect(added).toEqual({
      coveringSku: 'SPE_E5',
      coveringProduct: 'Microsoft 365 E5',
      coveredSku: 'POWER_BI_PRO',
      coveredProduct: 'Power BI Pro',
      origin: 'custom',
      duplicates: 1,
    });
    expect((await duplicates()).map((d) => d.sku)).toContain('POWER_BI_PRO');
    expect(await addOverlap(ctx(), { covering: 'POWER_BI_PRO', covered: 'SPE_E5' })).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT' },
    });
    value(await removeOverlap(ctx(), { covering: 'spe_e5', covered: 'POWER_BI_PRO' }));
    expect((await duplicates()).map((d) => d.sku)).not.toContain('POWER_BI_PRO');
    expect(value(await listOverlaps(ctx())).map((o) => o.coveredSku)).not.toContain('POWER_BI_PRO');

    // A shipped overlap is switched off, not deleted, so migrating again (a restart) does not bring it back.
    const [off] = value(await removeOverlap(ctx(), { covering: 'SPE_E5', covered: 'EMS' }));
    expect(off).toMatchObject({ origin: 'disabled', duplicates: 0 });
    await migrateStore(store);
    await recompute();
    expect((await duplicates()).map((d) => d.sku)).toEqual(['ENTERPRISEPACK', 'ADOBE_ACROBAT_PRO']);
    const resolved = await store.pool.query(
      `SELECT resolved_how FROM findings WHERE kind = 'duplicate' AND status = 'resolved' ORDER BY id`,
    );
    expect(resolved.rows).toEqual([{ resolved_how: 'no longer holds' }, { resolved_how: 'no longer holds' }]);

    // Switched back on, it is shipped again and the same finding reopens.
    expect(value(await addOverlap(ctx(), { covering: 'SPE_E5', covered: 'EMS' }))[0]).toMatchObject({
      origin: 'shipped',
      duplicates: 1,
    });
    const audit = await store.pool.query(
      `SELECT action, target FROM audit_log WHERE action LIKE 'overlap.%' ORDER BY id`,
    );
    expect(audit.rows.map((r) => `${r.action} ${r.target}`)).toEqual([
      'overlap.add overlap:spe_e5>power_bi_pro',
      'overlap.remove overlap:spe_e5>power_bi_pro',
      'overlap.remove overlap:spe_e5>ems',
      'overlap.add overlap:spe_e5>ems',
    ]);
  });

  it('refuses overlap changes to a helpdesk actor and an overlap that is not there', async () => {
    const helpdesk = { ...manager, id: 'hd@example.com', roles: ['helpdesk'] as const };
    expect(
      await addOverlap({ ...ctx(), actor: helpdesk }, { covering: 'SPE_E5', covered: 'POWER_BI_PRO' }),
    ).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORIZED' } });
    expect(await removeOverlap(ctx(), { covering: 'SPE_E5', covered: 'VISIOCLIENT' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    expect(await addOverlap(ctx(), { covering: 'SPE_E5', covered: 'spe_e5' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
  });
});

describe.each(BACKENDS)('shadow IT (%s)', (backend) => {
  let db: TestDatabase;
  let store: Store;
  let fake: GraphFake;
  let csvDir: string;
  let clock: Date;

  const ctx = (): HandlerContext => ({
    store,
    config: loadConfig({
      ...db.env,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
      M365_TENANT_ID: TENANT_ID,
      M365_CLIENT_ID: fake.clientId,
      M365_CLIENT_SECRET: fake.clientSecret,
      GRAPH_BASE_URL: fake.url,
      MS_LOGIN_URL: fake.url,
      CSV_DIR: csvDir,
    }),
    actor: manager,
    now: () => clock,
  });
  const sp = (
    id: string,
    displayName: string,
    owner: string | null,
    type: GraphServicePrincipal['servicePrincipalType'] = 'Application',
  ) => ({
    id,
    appId: `app-${id}`,
    displayName,
    appOwnerOrganizationId: owner,
    servicePrincipalType: type,
    accountEnabled: true,
    publisherName: `${displayName} Inc.`,
    tags: ['WindowsAzureActiveDirectoryIntegratedApp'],
  });
  const grant = (
    id: string,
    clientId: string,
    principalId: string | null,
    scope = 'User.Read offline_access',
  ) => ({
    id,
    clientId,
    consentType: principalId ? ('Principal' as const) : ('AllPrincipals' as const),
    principalId,
    resourceId: 'sp-graph',
    scope,
  });
  const THIRD_PARTY = '1b8e2c4d-0000-4a1b-9c2d-3e4f5a6b7c8d';

  async function shadowFindings(status = 'open') {
    const rows = value(await listFindings(ctx(), { kind: 'shadow', status, limit: 100, offset: 0 })).rows;
    return rows.map((f) => ({ product: f.product, seats: f.seats, status: f.status, evidence: f.evidence }));
  }
  const csv = (text: string) => writeFileSync(join(csvDir, 'shadow.csv'), text);

  beforeAll(async () => {
    fake = await new GraphFake().start();
  });
  afterAll(async () => fake?.stop());

  beforeEach(async () => {
    db = await createTestDatabase(backend);
    store = await db.open();
    csvDir = mkdtempSync(join(tmpdir(), 'sk-shadow-'));
    clock = NOW;
    await importOrg(store);
    fake.grantsPageSize = 2;
    fake.servicePrincipals = [
      sp('sp-graph', 'Microsoft Graph', MICROSOFT_TENANTS[0] as string),
      sp('sp-miro', 'Miro', THIRD_PARTY),
      sp('sp-zoom', 'Zoom', THIRD_PARTY),
      sp('sp-inhouse', 'Contoso Expenses', TENANT_ID),
      sp('sp-mi', 'backup-job', null, 'ManagedIdentity'),
    ];
    fake.permissionGrants = [
      grant('g1', 'sp-miro', 'user-1'),
      grant('g2', 'sp-miro', 'user-2', 'User.Read Files.Read'),
      grant('g3', 'sp-zoom', null),
      grant('g4', 'sp-inhouse', null),
      grant('g5', 'sp-graph', 'user-1'),
    ];
    csv(
      [
        'app,source,email,date,amount,currency',
        'Miro,sso,carol@example.com,2026-09-01,,',
        'Notion,expense,bo@example.com,2026-08-15,96.00,EUR',
        'Notion,expense,cy@example.com,2026-10-15,96.00,EUR',
        'Figma,sso,bo@example.com,2026-10-01,,',
        'Zoom Video Communications,sso,ana@example.com,2026-10-02,,',
      ].join('\n'),
    );
  });
  afterEach(async () => {
    await db?.drop();
    rmSync(csvDir, { recursive: true, force: true });
  });

  it('finds third-party apps in use with no license, from Entra ID grants and from exports, with users and first seen', async () => {
    // One throttled page on the way: the scan waits as told and goes on.
    fake.server.inject(throttled(0, /oauth2PermissionGrants/));
    const scans = value(await scanShadow(ctx(), {}));
    expect(scans).toEqual([
      { source: 'm365', observations: 3, apps: 2, newApps: 2, gone: 0, shadowFindings: 1 },
      { source: 'csv', observations: 5, apps: 4, newApps: 3, gone: 0, shadowFindings: 2 },
    ]);
    // Graph was asked for pages it did not get all at once.
    expect(fake.server.calls(/oauth2PermissionGrants/).length).toBeGreaterThan(3);

    expect(await shadowFindings()).toEqual([
      {
        product: 'Miro',
        seats: 2,
        status: 'open',
        evidence: {
          app: 'Miro',
          users: 2,
          firstSeenAt: '2026-09-01T00:00:00.000Z',
          lastSeenAt: NOW.toISOString(),
          sources: {
            'graph:oauth2PermissionGrants': {
              users: 2,
              appIds: ['app-sp-miro'],
              publisher: 'Miro Inc.',
              scopes: ['Files.Read', 'User.Read', 'offline_access'],
            },
            'csv:sso': {
              users: 1,
              firstSeenAt: '2026-09-01T00:00:00.000Z',
              lastSeenAt: '2026-09-01T00:00:00.000Z',
            },
          },
        },
      },
      {
        product: 'Notion',
        seats: 2,
        status: 'open',
        evidence: expect.objectContaining({
          firstSeenAt: '2026-08-15T00:00:00.000Z',
          lastSeenAt: '2026-10-15T00:00:00.000Z',
          sources: { 'csv:expense': expect.objectContaining({ users: 2, spend: { EUR: 192 } }) },
        }),
      },
    ]);
    // Zoom (consented for all users, and seen through SSO) and Figma are licensed; Microsoft's and in-house apps,
    // and managed identities, are not shadow IT at all.
    const seen = value(await listShadowApps(ctx(), { limit: 10, offset: 0 })).rows;
    expect(seen.map((a) => [a.app, a.users, a.source, a.findingStatus])).toEqual([
      ['Miro', 2, 'csv:sso,graph:oauth2PermissionGrants', 'open'],
      ['Notion', 2, 'csv:expense', 'open'],
      ['Figma', 1, 'csv:sso', null],
      ['Zoom Video Communications', 1, 'csv:sso', null],
      ['Zoom', 0, 'graph:oauth2PermissionGrants', null],
    ]);
    expect(seen.find((a) => a.app === 'Zoom')?.evidence).toMatchObject({
      sources: { 'graph:oauth2PermissionGrants': { allUsers: true, users: 0 } },
    });
  });

  it('resolves an app no source reports any more, keeps first seen, and resolves one that gets a license', async () => {
    value(await scanShadow(ctx(), {}));
    clock = at(7);
    fake.permissionGrants = fake.permissionGrants.filter((g) => g.clientId !== 'sp-miro');
    csv('app,source,email,date\nNotion,expense,bo@example.com,2026-11-25\n');
    const scans = value(await scanShadow(ctx(), {}));
    expect(scans.map((s) => [s.source, s.gone])).toEqual([
      ['m365', 1],
      ['csv', 3],
    ]);
    expect((await shadowFindings()).map((f) => [f.product, f.seats])).toEqual([['Notion', 1]]);
    const miro = await store.pool.query(
      `SELECT f.status, f.resolved_how, a.first_seen_at, a.source FROM findings f
       JOIN shadow_apps a ON f.key = 'shadow:' || a.key WHERE a.name = 'Miro'`,
    );
    expect(miro.rows).toEqual([
      {
        status: 'resolved',
        resolved_how: 'no longer holds',
        first_seen_at: new Date('2026-09-01T00:00:00Z'),
        // No source reports it any more: the last one that did.
        source: 'csv:sso',
      },
    ]);

    // IT buys Notion: the sighting is licensed now.
    await runImport(
      store,
      fixtureConnector('notion', {
        subscriptions: [
          subscription({ key: 'n', vendor: 'Notion Labs', sku: 'NOTION_PLUS', consumedUnits: 0 }),
        ],
        accounts: [],
      }),
      { trigger: 'test', minEntitlementDays: 90, now: () => clock },
    );
    const client = await store.pool.connect();
    await recomputeFindings(client, { idleDays: 30, graceDays: 30 }, clock).finally(() => client.release());
    expect(await shadowFindings()).toEqual([]);
  });

  it('dismisses an app with a reason (resolved as dismissed, across scans) and restores it', async () => {
    value(await scanShadow(ctx(), {}));
    const [dismissed] = value(
      await dismissShadowApp(ctx(), { app: '  notion ', reason: 'approved by security' }),
    );
    expect(dismissed).toMatchObject({
      app: 'Notion',
      dismissedBy: 'it@example.com',
      findingStatus: 'resolved',
    });
    value(await scanShadow(ctx(), { source: 'csv' }));
    expect((await shadowFindings('resolved')).map((f) => f.product)).toEqual(['Notion']);
    const stored = await store.pool.query(
      `SELECT resolved_how, status_reason, status_by FROM findings WHERE key = 'shadow:notion'`,
    );
    expect(stored.rows).toEqual([
      { resolved_how: 'dismissed', status_reason: 'approved by security', status_by: 'it@example.com' },
    ]);
    expect(await dismissShadowApp(ctx(), { app: 'Notion', reason: 'again' })).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT' },
    });

    value(await restoreShadowApp(ctx(), { app: 'Notion' }));
    expect((await shadowFindings()).map((f) => f.product)).toEqual(['Miro', 'Notion']);
    const audit = await store.pool.query(
      `SELECT action FROM audit_log WHERE action LIKE 'shadow.%' ORDER BY id`,
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'shadow.scan',
      'shadow.scan',
      'shadow.dismiss',
      'shadow.scan',
      'shadow.restore',
    ]);
  });

  it('changes nothing when a source fails: a bad export row, or Graph refusing for want of permission', async () => {
    value(await scanShadow(ctx(), {}));
    const before = await store.pool.query(
      'SELECT key, users, source, evidence FROM shadow_apps ORDER BY key',
    );

    csv('app,source,email,users\nMiro,sso,carol@example.com,\nSlack,chat,bo@example.com,x\n');
    const bad = await scanShadow(ctx(), { source: 'csv' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(!bad.ok && bad.error.message).toMatch(
      /shadow\.csv row 3: source: expected sso or expense \(got 'chat'\); users: expected a whole number/,
    );

    fake.server.inject({
      path: /servicePrincipals/,
      ...odataError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
    });
    const denied = await scanShadow(ctx(), { source: 'm365' });
    expect(!denied.ok && denied.error.message).toMatch(/Directory\.Read\.All/);
    expect(
      (await store.pool.query('SELECT key, users, source, evidence FROM shadow_apps ORDER BY key')).rows,
    ).toEqual(before.rows);
  });
});
