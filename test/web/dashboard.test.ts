import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardSummary, inventoryPage } from '../../handlers/dashboard.ts';
import { operatorActor } from '../../handlers/types.ts';
import { dashboardPage } from '../../src/web/dashboard-page.ts';
import { issueSignInLink } from '../../src/web/web-auth.ts';
import { createTestDatabase } from '../support/test-store.ts';
import {
  ADMIN_TOKEN,
  type DashboardEnv,
  HELPDESK,
  sessionCookie,
  startDashboardService,
} from './dashboard-fixture.ts';

/** The seed's "Purchased Licenses / SaaS" columns, in its order (plus the vendor). */
const SEED_LICENSE_COLUMNS = [
  'Object ID',
  'Type',
  'Software Product',
  'License Model',
  'Status',
  'Purchased Usage Rights',
  'Unlimited Use',
  'Publisher Part Number (SKU)',
  'Capability Status',
  'Last Import Date',
  'Consumed Units',
  'Prepaid Enabled Units',
  'Prepaid Suspended Units',
  'Prepaid Warning Units',
  'Vendor',
];
/** The seed's "Subscribers" columns, in its order. */
const SEED_SUBSCRIBER_COLUMNS = [
  'E-mail',
  'Subscriber',
  'Is Active',
  'Last Import Date',
  'License ID',
  'Software Product',
  'License Model',
  'Status',
  'Publisher Part Number (SKU)',
];

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field by the assertions
type Json = any;

describe('the dashboard API', () => {
  let env: DashboardEnv;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  beforeAll(async () => {
    env = await startDashboardService();
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
  });

  const api = async (path: string, headers: Record<string, string> = auth) => {
    const res = await fetch(`${env.url}${path}`, { headers });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const sql = async (text: string, params: unknown[] = []) => (await env.store.pool.query(text, params)).rows;
  const one = async (text: string, params: unknown[] = []) => (await sql(text, params))[0];

  it('shows totals, utilization per app and findings per kind equal to what the store holds', async () => {
    const { status, body } = await api('/dashboard/api/summary');
    expect(status).toBe(200);
    const expected = await one(`SELECT
        (SELECT count(*)::int FROM licenses WHERE present) AS licenses,
        (SELECT sum(enabled_units + warning_units)::int FROM licenses WHERE present AND NOT unlimited) AS purchased,
        (SELECT sum(consumed_units)::int FROM licenses WHERE present) AS consumed,
        (SELECT sum(consumed_units)::int FROM licenses WHERE present AND NOT unlimited) AS "consumedLimited",
        (SELECT count(*)::int FROM licenses WHERE present AND unlimited) AS "unlimitedLicenses",
        (SELECT count(*)::int FROM cloud_subscribers) AS subscribers,
        (SELECT count(*)::int FROM cloud_subscribers WHERE person_id IS NULL AND is_active AND account_kind = 'person')
          AS clearing,
        (SELECT count(*)::int FROM findings WHERE status = 'open') AS "openFindings"`);
    expect(body.totals).toMatchObject(expected);
    // The organisation as imported: Figma 40/33, Miro 10/12, Zoom unlimited; three unknown addresses.
    expect(body.totals).toMatchObject({
      licenses: 3,
      purchased: 50,
      consumed: 50,
      consumedLimited: 45,
      clearing: 3,
    });

    const figma = body.apps.find((a: { app: string }) => a.app === 'Figma');
    const activeFigma = await one(
      `SELECT sn.active FROM license_snapshots sn JOIN licenses l ON l.id = sn.license_id
       WHERE l.sku = 'FIGMA_ORG' ORDER BY sn.taken_at DESC LIMIT 1`,
    );
    expect(figma).toMatchObject({
      vendor: 'Figma',
      purchased: 40,
      consumed: 33,
      active: activeFigma.active,
      utilization: 0.825,
      unused: 7,
      overage: 0,
    });
    expect(activeFigma.active).toBeGreaterThan(0);
    expect(body.apps.find((a: { app: string }) => a.app === 'Miro Business')).toMatchObject({
      purchased: 10,
      consumed: 12,
      overage: 2,
      unused: 0,
    });
    expect(body.apps.find((a: { app: string }) => a.app === 'Zoom Enterprise')).toMatchObject({
      purchased: null,
      utilization: null,
    });

    const kinds = await sql(
      `SELECT kind, count(*)::int AS open, sum(seats)::int AS seats FROM findings WHERE status = 'open'
       GROUP BY kind ORDER BY kind`,
    );
    expect(kinds.map((k) => k.kind)).toEqual(
      expect.arrayContaining(['idle', 'unassigned', 'overage', 'unmatched']),
    );
    expect(
      body.findings.map(({ kind, open, seats }: Record<string, unknown>) => ({ kind, open, seats })),
    ).toEqual(kinds);
    const idle = body.findings.find((k: { kind: string }) => k.kind === 'idle');
    const idleSavings = await one(
      `SELECT sum(savings)::float8 AS s FROM findings WHERE status = 'open' AND kind = 'idle'`,
    );
    expect(idle.savings).toEqual([{ currency: 'USD', amount: idleSavings.s }]);
    expect(idleSavings.s).toBe(8 * 540);
  });

  it('shows savings, renewals with cancel-by dates and the health of each connector', async () => {
    const { body } = await api('/dashboard/api/summary');
    const potential = await one(
      `SELECT sum(savings)::float8 AS s FROM findings
       WHERE status = 'open' AND kind IN ('unassigned', 'idle', 'departed', 'duplicate') AND currency = 'USD'`,
    );
    const total = body.savings.find(
      (s: { by: string; currency: string | null }) => s.by === 'total' && s.currency === 'USD',
    );
    expect(total.potential).toBe(potential.s);
    expect(total.realized).toBe(0);

    const renewals = await sql(
      `SELECT id, to_char(renewal_date, 'YYYY-MM-DD') AS renews, to_char(renewal_date - notice_days, 'YYYY-MM-DD') AS cancel_by
       FROM licenses WHERE renewal_date IS NOT NULL ORDER BY renewal_date - notice_days`,
    );
    expect(
      body.renewals.map((r: { licenseId: number; renewalDate: string; cancelBy: string }) => ({
        id: r.licenseId,
        renews: r.renewalDate,
        cancel_by: r.cancelBy,
      })),
    ).toEqual(renewals.map((r) => ({ ...r, id: Number(r.id) })));
    expect(renewals).toHaveLength(2);

    const imports = Object.fromEntries(body.imports.map((i: { source: string }) => [i.source, i]));
    expect(imports['csv:figma']).toMatchObject({
      lastOutcome: 'succeeded',
      failuresSinceSuccess: 0,
      licenses: 1,
    });
    expect(imports['csv:broken']).toMatchObject({
      lastOutcome: 'failed',
      lastSuccessAt: null,
      failuresSinceSuccess: 1,
    });
    expect(imports['csv:broken'].lastError).toContain('vendor answered 503');
  });

  it('draws the trend from the snapshot of each import', async () => {
    const { body } = await api('/dashboard/api/trend?days=90');
    const perDay = await sql(
      `SELECT to_char((taken_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS date, sum(purchased)::int AS purchased,
         sum(consumed)::int AS consumed
       FROM license_snapshots GROUP BY 1 ORDER BY 1`,
    );
    expect(perDay).toHaveLength(3);
    expect(
      body.points.map(({ date, purchased, consumed }: Record<string, unknown>) => ({
        date,
        purchased,
        consumed,
      })),
    ).toEqual(perDay);
    const figma = await api('/dashboard/api/trend?days=90&app=FIGMA_ORG');
    expect(figma.body.points.map((p: { consumed: number }) => p.consumed)).toEqual([24, 28, 33]);
    expect((await api('/dashboard/api/trend?days=0')).status).toBe(400);
  });

  it('lists open findings by savings, filtered by kind and app', async () => {
    const all = await api('/dashboard/api/findings?limit=200');
    expect(all.body.total).toBe(
      (await one(`SELECT count(*)::int AS n FROM findings WHERE status = 'open'`)).n,
    );
    const idle = await api('/dashboard/api/findings?kind=idle&app=Figma&limit=5');
    expect(idle.body.total).toBe(8);
    expect(idle.body.rows).toHaveLength(5);
    expect(
      idle.body.rows.every((r: { kind: string; app: string }) => r.kind === 'idle' && r.app === 'Figma'),
    ).toBe(true);
    const next = await api('/dashboard/api/findings?kind=idle&app=Figma&limit=5&offset=5');
    expect(next.body.rows).toHaveLength(3);
    const ids = [...idle.body.rows, ...next.body.rows].map((r: { id: number }) => r.id);
    expect(new Set(ids).size).toBe(8);
  });

  it('lists Purchased Licenses with every column of the seed, sorted and filtered on the server', async () => {
    const page = await api('/dashboard/api/inventory/licenses?sort=consumedUnits&dir=desc');
    expect(page.status).toBe(200);
    expect(page.body.columns.map((c: { label: string }) => c.label)).toEqual(SEED_LICENSE_COLUMNS);
    expect(page.body.total).toBe((await one(`SELECT count(*)::int AS n FROM license_overview`)).n);
    expect(page.body.rows.map((r: { sku: string }) => r.sku)).toEqual(
      ['FIGMA_ORG', 'MIRO_BIZ', 'ZOOM_ENT', 'B'].slice(0, page.body.total),
    );
    const figma = page.body.rows[0];
    const stored = await one(`SELECT * FROM license_overview WHERE sku = 'FIGMA_ORG'`);
    expect(figma).toMatchObject({
      objectId: Number(stored.id),
      type: stored.type,
      softwareProduct: 'Figma',
      licenseModel: stored.license_model,
      status: stored.status,
      purchasedUsageRights: 40,
      unlimitedUse: false,
      capabilityStatus: 'Enabled',
      lastImportDate: stored.last_import_at.toISOString(),
      consumedUnits: 33,
      prepaidEnabledUnits: 40,
      prepaidSuspendedUnits: 0,
      prepaidWarningUnits: 0,
    });

    const ascending = await api('/dashboard/api/inventory/licenses?sort=sku&dir=asc');
    const skus = ascending.body.rows.map((r: { sku: string }) => r.sku);
    expect(skus).toEqual([...skus].sort());
    const zoom = await api('/dashboard/api/inventory/licenses?q=zoom');
    expect(zoom.body.rows.map((r: { sku: string }) => r.sku)).toEqual(['ZOOM_ENT']);
    const unused = await api(`/dashboard/api/inventory/licenses?status=${encodeURIComponent(stored.status)}`);
    expect(unused.body.rows.map((r: { status: string }) => r.status)).toContain(stored.status);
    expect(unused.body.rows.every((r: { status: string }) => r.status === stored.status)).toBe(true);
  });

  it('pages Subscribers without overlap in a stable order, and filters them', async () => {
    const total = (await one(`SELECT count(*)::int AS n FROM cloud_subscribers`)).n;
    const first = await api('/dashboard/api/inventory/subscribers?sort=email&limit=10');
    expect(first.body.columns.map((c: { label: string }) => c.label)).toEqual(SEED_SUBSCRIBER_COLUMNS);
    expect(first.body.total).toBe(total);
    const seen: string[] = [];
    for (let offset = 0; offset < total; offset += 10) {
      const page = await api(`/dashboard/api/inventory/subscribers?sort=email&limit=10&offset=${offset}`);
      seen.push(
        ...page.body.rows.map((r: { email: string; licenseId: number }) => `${r.email}|${r.licenseId}`),
      );
    }
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    const emails = seen.map((s) => s.split('|')[0] as string);
    expect(emails).toEqual([...emails].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

    const unmatched = await api('/dashboard/api/inventory/subscribers?matched=no');
    expect(unmatched.body.total).toBe(
      (await one(`SELECT count(*)::int AS n FROM cloud_subscribers WHERE person_id IS NULL`)).n,
    );
    const miro = await api('/dashboard/api/inventory/subscribers?app=MIRO_BIZ&active=yes&limit=200');
    const miroCount = await one(
      `SELECT count(*)::int AS n FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
       WHERE l.sku = 'MIRO_BIZ' AND s.is_active`,
    );
    expect(miro.body.total).toBe(miroCount.n);
    expect(
      miro.body.rows.every((r: { sku: string; isActive: boolean }) => r.sku === 'MIRO_BIZ' && r.isActive),
    ).toBe(true);
    const p05 = await api('/dashboard/api/inventory/subscribers?q=p05%40');
    expect(p05.body.rows.map((r: { subscriber: string }) => r.subscriber)).toEqual(
      Array(p05.body.total).fill('p05@example.com'),
    );
    const held = await one(
      `SELECT count(*)::int AS n FROM cloud_subscribers WHERE lower(email) = 'p05@example.com'`,
    );
    expect(p05.body.total).toBe(held.n);
    expect(held.n).toBe(2);
    // A whole address, in any case, finds exactly its accounts.
    const exact = await api('/dashboard/api/inventory/subscribers?q=P05%40Example.com');
    expect(exact.body.total).toBe(held.n);
    const partial = await api('/dashboard/api/inventory/subscribers?q=agency');
    expect(partial.body.rows.map((r: { email: string }) => r.email).sort()).toEqual([
      'contractor@agency.example',
      'zz-temp@agency.example',
    ]);
  });

  it('lists Clearing Required: the accounts no person matches', async () => {
    const page = await api('/dashboard/api/inventory/clearing?sort=email');
    expect(page.body.rows.map((r: { email: string }) => r.email)).toEqual([
      'contractor@agency.example',
      'old.name@example.com',
      'zz-temp@agency.example',
    ]);
  });

  it('exports a table as filtered on screen to CSV, headed by the seed’s column names', async () => {
    const res = await fetch(`${env.url}/dashboard/api/inventory/subscribers.csv?app=MIRO_BIZ`, {
      headers: auth,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="seatkeeper-subscribers.csv"');
    const lines = (await res.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe(SEED_SUBSCRIBER_COLUMNS.join(','));
    const stored = await sql(
      `SELECT s.email FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id WHERE l.sku = 'MIRO_BIZ' ORDER BY s.id`,
    );
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(stored.map((r) => r.email));
    expect(lines[1]).toMatch(
      /,p\d\d@example\.com,true,\d{4}-\d\d-\d\dT[\d:.]+Z,\d+,Miro Business,named_user,\w+,MIRO_BIZ$/,
    );

    const licenses = await (
      await fetch(`${env.url}/dashboard/api/inventory/licenses.csv`, { headers: auth })
    ).text();
    const rows = licenses.trimEnd().split('\r\n');
    expect(rows[0]).toBe(SEED_LICENSE_COLUMNS.map((c) => (c.includes(',') ? `"${c}"` : c)).join(','));
    expect(rows).toHaveLength(1 + (await one(`SELECT count(*)::int AS n FROM licenses`)).n);
    expect(rows.find((r) => r.includes('FIGMA_ORG'))).toMatch(
      /,Figma,named_user,\w+,40,false,FIGMA_ORG,Enabled,.*,33,40,0,0,Figma$/,
    );
  });

  it('refuses bad sort, page and filter values with a clear message', async () => {
    expect(await api('/dashboard/api/inventory/subscribers?sort=subscriber')).toEqual({
      status: 400,
      body: {
        error: {
          code: 'INVALID_ARGUMENT',
          message: "Cannot sort by 'subscriber'; sortable columns: email, licenseId.",
        },
      },
    });
    expect((await api('/dashboard/api/inventory/subscribers?limit=1000')).body.error.message).toBe(
      'limit must be a whole number from 1 to 200.',
    );
    expect((await api('/dashboard/api/inventory/subscribers?offset=-1')).status).toBe(400);
    expect((await api('/dashboard/api/inventory/subscribers?active=maybe')).body.error.message).toBe(
      "active must be yes or no, not 'maybe'.",
    );
    expect((await api('/dashboard/api/inventory/seats')).body.error.message).toBe(
      "Unknown table 'seats'; choose one of licenses, subscribers, clearing.",
    );
    expect((await api('/dashboard/api/inventory/licenses?dir=sideways')).status).toBe(400);
  });

  it('serves the page with the same numbers to a helpdesk agent signed in by link', async () => {
    const link = await issueSignInLink(env.store, env.config, HELPDESK);
    const signIn = await fetch(link.replace(/^http:\/\/[^/]+/, env.url), { redirect: 'manual' });
    const cookie = sessionCookie(signIn);
    const page = await fetch(`${env.url}/dashboard`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    const consumed = (await one(`SELECT sum(consumed_units)::int AS n FROM licenses WHERE present`)).n;
    expect(html).toMatch(
      new RegExp(`data-metric="consumed"><dt>Consumed seats</dt><dd><span class="value">${consumed}<`),
    );
    for (const heading of [
      'Purchased Licenses / SaaS',
      'Subscribers',
      'Clearing Required',
      'Renewals calendar',
      'Import health',
    ]) {
      expect(html).toContain(`>${heading}</h`);
    }
    expect(html).toContain('<caption>');
    const chart = await fetch(`${env.url}/dashboard/assets/chart.umd.min.js`);
    expect(chart.status).toBe(200);
    expect(await chart.text()).toContain('Chart');
  });
});

describe('the dashboard before the first import', () => {
  it('shows zeros and says what to do, without failing on the empty inventory', async () => {
    const db = await createTestDatabase();
    const store = await db.open();
    try {
      const ctx = { store, config: db.config, actor: operatorActor(), now: () => new Date() };
      const summary = await dashboardSummary(ctx);
      if (!summary.ok) throw new Error(summary.error.message);
      expect(summary.value.totals).toEqual({
        licenses: 0,
        purchased: 0,
        consumed: 0,
        consumedLimited: 0,
        active: 0,
        unlimitedLicenses: 0,
        subscribers: 0,
        clearing: 0,
        openFindings: 0,
      });
      expect(summary.value.apps).toEqual([]);
      const html = dashboardPage(ctx.actor, summary.value, {});
      expect(html).toContain('No licenses yet: configure a connector and run an import.');
      expect(html).toContain('No connector has imported yet.');
      const page = await inventoryPage(ctx, 'subscribers', {});
      expect(page).toMatchObject({ ok: true, value: { rows: [], total: 0, totalCapped: false } });
      expect(await dashboardSummary(ctx, { renewalDays: 0 })).toEqual({
        ok: false,
        error: { code: 'INVALID_ARGUMENT', message: 'days must be a whole number from 1 to 730.' },
      });
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
