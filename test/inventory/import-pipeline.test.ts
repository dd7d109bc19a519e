import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImportFailedError, type ImportOptions, runImport } from '../../src/inventory/import-pipeline.ts';
import type { Store } from '../../src/store/store.ts';
import {
  account,
  type FixtureData,
  fixtureConnector,
  personEntry,
  subscription,
} from '../support/fixture-connector.ts';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const DAY = 86_400_000;

function clockAt(iso: string) {
  let t = new Date(iso).getTime();
  return {
    now: () => new Date(t),
    advanceDays(days: number) {
      t += days * DAY;
    },
  };
}

const directory: FixtureData = {
  subscriptions: [],
  accounts: [],
  persons: [
    personEntry('Ana.Lopez@example.com', { aliases: ['ana@example.com'], department: 'Design' }),
    personEntry('bo@example.com', { department: 'Sales' }),
    personEntry('cy@example.com'),
  ],
};

const m365: FixtureData = {
  subscriptions: [
    subscription({
      key: 'sku-e5',
      sku: 'SPE_E5',
      name: 'Microsoft 365 E5',
      enabledUnits: 5,
      consumedUnits: 3,
    }),
    subscription({
      key: 'sku-odd',
      sku: 'CONTOSO_ADDON',
      name: 'Contoso add-on',
      enabledUnits: 2,
      consumedUnits: 1,
    }),
  ],
  accounts: [
    account('sku-e5', 'u-ana', 'ANA@example.com', {
      lastActivityAt: new Date('2026-11-01T00:00:00Z'),
      lastActivitySource: 'graph:signInActivity',
    }),
    account('sku-e5', 'u-bo', 'Bo@Example.com'),
    account('sku-e5', 'u-zed', 'zed@partner.example'),
    account('sku-odd', 'u-cy', 'cy@example.com'),
  ],
};

async function tableSnapshot(store: Store) {
  const q = async (sql: string) => (await store.pool.query(sql)).rows;
  return {
    persons: await q('SELECT * FROM persons ORDER BY id'),
    emails: await q('SELECT * FROM person_emails ORDER BY email'),
    licenses: await q('SELECT * FROM licenses ORDER BY id').then((rows) =>
      rows.map(({ last_import_at: _ignored, ...rest }) => rest),
    ),
    subscribers: await q('SELECT * FROM cloud_subscribers ORDER BY id'),
    requirements: await q('SELECT * FROM license_requirements ORDER BY person_id, license_id'),
  };
}

describe.each(BACKENDS)('import pipeline on %s', (backend) => {
  let db: TestDatabase;
  let store: Store;
  let clock: ReturnType<typeof clockAt>;
  const options = (): ImportOptions => ({ trigger: 'test', minEntitlementDays: 90, now: clock.now });
  const importM365 = (data: FixtureData = m365) =>
    runImport(store, fixtureConnector('m365', data), options());

  // Each test starts from its own database holding the directory.
  beforeEach(async () => {
    clock = clockAt('2026-11-20T08:00:00Z');
    db = await createTestDatabase(backend);
    store = await db.open();
    await runImport(store, fixtureConnector('directory', directory), { ...options(), persons: true });
  });
  afterEach(async () => db?.drop());

  /** Gives SPE_E5 purchase information and a pool: it becomes valid, so its holders get requirements. */
  async function validateE5() {
    const pool = await store.pool.query(`INSERT INTO license_pools (name) VALUES ('Corporate') RETURNING id`);
    await store.pool.query(
      `UPDATE licenses SET unit_price = 57, currency = 'EUR', pool_id = $1 WHERE sku = 'SPE_E5'`,
      [pool.rows[0].id],
    );
  }

  it('matches accounts to persons by e-mail case-insensitively and through aliases', async () => {
    const result = await importM365();
    expect(result.counts).toMatchObject({ subscriptions: 2, accounts: 4, added: 4, matched: 3, clearing: 1 });
    const rows = (
      await store.pool.query(
        `SELECT s.vendor_account_id AS id, p.primary_email FROM cloud_subscribers s
         LEFT JOIN persons p ON p.id = s.person_id ORDER BY s.vendor_account_id`,
      )
    ).rows;
    expect(rows).toEqual([
      { id: 'u-ana', primary_email: 'ana.lopez@example.com' },
      { id: 'u-bo', primary_email: 'bo@example.com' },
      { id: 'u-cy', primary_email: 'cy@example.com' },
      { id: 'u-zed', primary_email: null },
    ]);
  });

  it('derives type from the catalog and status from purchase information, product and pool', async () => {
    await importM365();
    const overview = async () =>
      (
        await store.pool.query(
          `SELECT sku, type, status, product, purchased FROM license_overview ORDER BY sku`,
        )
      ).rows;
    expect(await overview()).toEqual([
      { sku: 'CONTOSO_ADDON', type: 'SaaS', status: 'invalid', product: null, purchased: 2 },
      { sku: 'SPE_E5', type: 'Subscription', status: 'invalid', product: 'Microsoft 365 E5', purchased: 5 },
    ]);
    // Purchase information and a pool make SPE_E5 valid; its matched, active subscribers get requirements.
    await validateE5();
    expect((await overview())[1]).toMatchObject({ sku: 'SPE_E5', status: 'unused' });
    await importM365();
    expect((await overview())[1]).toMatchObject({ sku: 'SPE_E5', status: 'used' });
    const reqs = await store.pool.query(
      `SELECT p.primary_email, r.min_entitlement_until FROM license_requirements r JOIN persons p ON p.id = r.person_id
       ORDER BY 1`,
    );
    expect(reqs.rows.map((r) => r.primary_email)).toEqual(['ana.lopez@example.com', 'bo@example.com']);
    expect(reqs.rows[0].min_entitlement_until.toISOString()).toBe('2027-02-18T08:00:00.000Z');
  });

  it('changes nothing when the same data is imported again', async () => {
    await importM365();
    await validateE5();
    await importM365();
    const before = await tableSnapshot(store);
    clock.advanceDays(1);
    const result = await importM365();
    expect(result.counts).toMatchObject({ added: 0, updated: 0, deactivated: 0, deleted: 0 });
    expect(await tableSnapshot(store)).toEqual(before);
  });

  it('keeps a vanished account inactive during its minimum entitlement period, then deletes it', async () => {
    await importM365();
    await validateE5();
    await importM365();
    const withoutBoAndZed = {
      ...m365,
      accounts: m365.accounts.filter((a) => !['u-bo', 'u-zed'].includes(a.accountId)),
    };
    const result = await importM365(withoutBoAndZed);
    // Bo has a requirement on the valid E5 license: kept, inactive. Zed (clearing, no requirement) goes at once.
    expect(result.counts).toMatchObject({ deactivated: 1, deleted: 1 });
    const bo = await store.pool.query(
      `SELECT is_active, inactive_since FROM cloud_subscribers WHERE vendor_account_id = 'u-bo'`,
    );
    expect(bo.rows).toEqual([{ is_active: false, inactive_since: clock.now() }]);
    expect(
      (await store.pool.query(`SELECT 1 FROM cloud_subscribers WHERE vendor_account_id = 'u-zed'`)).rowCount,
    ).toBe(0);

    clock.advanceDays(91);
    const later = await importM365(withoutBoAndZed);
    expect(later.counts).toMatchObject({ deactivated: 0, deleted: 1 });
    expect(
      (await store.pool.query(`SELECT 1 FROM cloud_subscribers WHERE vendor_account_id = 'u-bo'`)).rowCount,
    ).toBe(0);
    const reqs = await store.pool.query(
      `SELECT p.primary_email FROM license_requirements r JOIN persons p ON p.id = r.person_id ORDER BY 1`,
    );
    expect(reqs.rows.map((r) => r.primary_email)).toEqual(['ana.lopez@example.com']);
  });

  it('takes an account out of clearing on the next import once its address is a known alias', async () => {
    await importM365();
    const clearing = () =>
      store.pool
        .query(`SELECT email FROM cloud_subscribers WHERE person_id IS NULL AND is_active`)
        .then((r) => r.rows);
    expect(await clearing()).toEqual([{ email: 'zed@partner.example' }]);
    const withAlias = {
      ...directory,
      persons: [
        ...(directory.persons ?? []),
        personEntry('zed@example.com', { aliases: ['Zed@Partner.example'] }),
      ],
    };
    await runImport(store, fixtureConnector('directory', withAlias), { ...options(), persons: true });
    expect(await clearing()).toEqual([]);
  });

  it('keeps a person renamed in the directory as the same person, matched by the directory id', async () => {
    const withIds = (email: string) => ({
      ...directory,
      persons: [
        personEntry(email, { externalId: 'aad-ana', aliases: ['ana@example.com'] }),
        personEntry('bo@example.com', { externalId: 'aad-bo' }),
      ],
    });
    await runImport(store, fixtureConnector('aad', withIds('ana.lopez@example.com')), {
      ...options(),
      persons: true,
    });
    const before = await store.pool.query(`SELECT id FROM persons WHERE external_id = 'aad-ana'`);
    await runImport(store, fixtureConnector('aad', withIds('ana.garcia@example.com')), {
      ...options(),
      persons: true,
    });
    const after = await store.pool.query(
      `SELECT id, primary_email, employment_status FROM persons WHERE source = 'aad' ORDER BY external_id`,
    );
    expect(after.rows).toEqual([
      { id: before.rows[0].id, primary_email: 'ana.garcia@example.com', employment_status: 'active' },
      { id: expect.any(Number), primary_email: 'bo@example.com', employment_status: 'active' },
    ]);
  });

  it('leaves the inventory untouched and records the reason when an import fails midway', async () => {
    await importM365();
    const before = await tableSnapshot(store);
    const failing = {
      ...m365,
      accounts: [...m365.accounts, account('sku-e5', 'u-new', 'new@example.com')],
      failAfterAccountPages: { pages: 2, error: new Error('HTTP 503 from the vendor') },
    };
    const error = await importM365(failing).catch((e) => e);
    expect(error).toBeInstanceOf(ImportFailedError);
    expect(error.message).toBe('m365: HTTP 503 from the vendor');
    const after = await tableSnapshot(store);
    expect(after).toEqual(before);
    const run = await store.pool.query(`SELECT outcome, error FROM import_runs WHERE id = $1`, [error.runId]);
    expect(run.rows).toEqual([{ outcome: 'failed', error: 'm365: HTTP 503 from the vendor' }]);
    const staged = await store.pool.query(`SELECT count(*)::int AS n FROM staging_accounts`);
    expect(staged.rows[0].n).toBe(0);
  });

  it('reads usage and persons side by side, and stops reading persons when usage fails', async () => {
    await importM365();
    const before = await tableSnapshot(store);
    let personPagesRead = 0;
    let personsClosed = false;
    const connector = {
      ...fixtureConnector('m365', { ...m365, usage: [] }),
      async *usage() {
        yield [{ accountId: 'u-bo', lastActivityAt: new Date('2026-11-10T00:00:00Z'), source: 'report' }];
        // The report breaks off while the directory is still being read.
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new Error('the usage report broke off');
      },
      async *persons() {
        try {
          for (let page = 0; page < 1000; page++) {
            personPagesRead++;
            yield [personEntry(`p${page}@example.com`)];
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        } finally {
          personsClosed = true;
        }
      },
    };
    const error = await runImport(store, connector, { ...options(), persons: true }).catch((e) => e);
    expect(error).toBeInstanceOf(ImportFailedError);
    expect(error.message).toBe('m365: the usage report broke off');
    // Persons were read meanwhile, and no further once usage failed.
    expect(personPagesRead).toBeGreaterThan(0);
    expect(personPagesRead).toBeLessThan(1000);
    expect(personsClosed).toBe(true);
    expect(await tableSnapshot(store)).toEqual(before);
    for (const table of ['staging_accounts', 'staging_persons']) {
      const staged = await store.pool.query(`SELECT count(*)::int AS n FROM ${table}`);
      expect(staged.rows[0].n).toBe(0);
    }
  });

  it('rejects a record that breaks the contract, naming the stream, record and field', async () => {
    const bad = {
      ...m365,
      subscriptions: [m365.subscriptions[0], { ...m365.subscriptions[1], consumedUnits: -1 }],
    } as FixtureData;
    const error = await importM365(bad).catch((e) => e);
    expect(error).toBeInstanceOf(ImportFailedError);
    expect((await store.pool.query('SELECT count(*)::int AS n FROM licenses')).rows[0].n).toBe(0);
    expect(error.message).toBe(
      'm365: m365 subscriptions #2: consumedUnits: Too small: expected number to be >=0',
    );
  });

  it('refuses a second import of the same source while one holds the lease, and takes over an expired one', async () => {
    await store.pool.query(`INSERT INTO import_runs (id, source, trigger) VALUES (999999, 'm365', 'test')`);
    await store.pool.query(
      `INSERT INTO import_leases (source, run_id, expires_at) VALUES ('m365', 999999, $1)`,
      [new Date(clock.now().getTime() + 60_000)],
    );
    const refused = await importM365().catch((e) => e);
    expect(refused.message).toBe('an import of m365 is already running; this one was not started');

    clock.advanceDays(1); // the holder never renewed: it died
    const result = await importM365();
    expect(result.counts.accounts).toBe(4);
    const dead = await store.pool.query(`SELECT outcome, error FROM import_runs WHERE id = 999999`);
    expect(dead.rows[0]).toEqual({
      outcome: 'failed',
      error: 'interrupted: the importing process stopped before it finished',
    });
  });

  it('records every import in the audit log, which refuses to be rewritten', async () => {
    await importM365();
    const imports = await store.pool.query(
      `SELECT target, after->>'added' AS added FROM audit_log WHERE action = 'import' ORDER BY id`,
    );
    expect(imports.rows).toEqual([
      { target: 'directory', added: '0' },
      { target: 'm365', added: '4' },
    ]);
    await expect(store.pool.query(`UPDATE audit_log SET actor = 'mallory'`)).rejects.toThrow(/append-only/);
    await expect(store.pool.query(`DELETE FROM audit_log`)).rejects.toThrow(/append-only/);
  });
});
