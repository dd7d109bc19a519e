import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../src/inventory/import-pipeline.ts';
import { runCliInProcess } from '../support/cli.ts';
import { account, fixtureConnector, personEntry, subscription } from '../support/fixture-connector.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const cli = (db: TestDatabase, args: string[]) => runCliInProcess(args, db.env);

/** Today plus `days`, as YYYY-MM-DD. */
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

describe('contracts, renewals and exports from the CLI', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    const store = await db.open();
    const options = { trigger: 'test', minEntitlementDays: 90 };
    await runImport(
      store,
      fixtureConnector('directory', {
        subscriptions: [],
        accounts: [],
        persons: [personEntry('ana@example.com')],
      }),
      { ...options, persons: true },
    );
    await runImport(
      store,
      fixtureConnector('csv', {
        subscriptions: [
          subscription({
            key: 'figma',
            vendor: 'Figma',
            sku: 'FIGMA_ORG',
            name: 'Figma Organization',
            enabledUnits: 20,
            consumedUnits: 2,
          }),
          subscription({
            key: 'zoom',
            vendor: 'Zoom',
            sku: 'ZOOM_PRO',
            name: 'Zoom Pro',
            enabledUnits: 5,
            consumedUnits: 1,
          }),
        ],
        accounts: [
          account('figma', 'f1', 'ana@example.com'),
          account('figma', 'f2', '=HYPERLINK("http://evil.example")@x.example'),
          account('zoom', 'z1', 'ana@example.com'),
        ],
      }),
      options,
    );
    await store.close();
  });
  afterAll(async () => db?.drop());

  it('sets contract terms, which make a license valid and give it a cancel-by date and a right-sized renewal', async () => {
    const set = await cli(db, [
      'contract',
      'set',
      '--sku',
      'figma_org',
      '--unit-price',
      '45',
      '--currency',
      'usd',
      '--billing',
      'annual',
      '--renewal-date',
      inDays(40),
      '--notice-days',
      '30',
      '--cost-center',
      'Design',
      '--product',
      'Figma Organization',
      '--commit-floor',
      '3',
    ]);
    expect(set.code).toBe(0);
    expect(set.out).toMatch(/^License \d+ \(FIGMA_ORG\): set .*currency = USD.*Status now: unused\.\n$/);

    const renewals = await cli(db, ['renewals', '--days', '60', '--json']);
    expect(renewals.code).toBe(0);
    expect(JSON.parse(renewals.out)).toEqual([
      expect.objectContaining({
        product: 'Figma Organization',
        sku: 'FIGMA_ORG',
        renewalDate: inDays(40),
        cancelBy: inDays(10),
        quantity: 20,
        // peak consumed 2 (+5 % rounds up to 3), never below the commit floor of 3
        recommendedQuantity: 3,
        annualCost: 900,
        currency: 'USD',
        budgetRemaining: null,
        status: 'upcoming',
      }),
    ]);
    // Positional days, as chat surfaces send them: 30 days does not reach the renewal.
    expect(JSON.parse((await cli(db, ['renewals', '30', '--json'])).out)).toEqual([]);

    const audit = await cli(db, ['export', 'audit', '--format', 'json']);
    const entries = JSON.parse(audit.out);
    expect(entries.filter((e: { action: string }) => e.action === 'contract.set')).toEqual([
      expect.objectContaining({
        actor: 'operator',
        surface: 'cli',
        target: expect.stringMatching(/^license:\d+$/),
      }),
    ]);
  });

  it('refuses bad contract input with a specific message and changes nothing', async () => {
    const price = await cli(db, [
      'contract',
      'set',
      '--sku',
      'ZOOM_PRO',
      '--unit-price',
      'cheap',
      '--currency',
      'EUR',
    ]);
    expect(price).toMatchObject({
      code: 2,
      err: "--unit-price must be an amount like 12.50, not 'cheap'.\n",
    });
    const alone = await cli(db, ['contract', 'set', '--sku', 'ZOOM_PRO', '--unit-price', '10']);
    expect(alone.err).toBe(
      '--unit-price and --currency go together (e.g. --unit-price 12.50 --currency EUR).\n',
    );
    const date = await cli(db, ['contract', 'set', '--sku', 'ZOOM_PRO', '--renewal-date', '31/12/2027']);
    expect(date.err).toBe("--renewal-date must be a date like 2027-03-31, not '31/12/2027'.\n");
    const none = await cli(db, ['contract', 'set', '--sku', 'NOPE', '--notice-days', '3']);
    expect(none).toMatchObject({ code: 1, err: "No license matches 'NOPE'.\n" });
    const zoom = JSON.parse((await cli(db, ['export', 'licenses', '--format', 'json'])).out).find(
      (l: { sku: string }) => l.sku === 'ZOOM_PRO',
    );
    expect(zoom).toMatchObject({ unitPrice: null, renewalDate: null, status: 'invalid' });
  });

  it('exports the inventory as CSV with the seed’s columns, defusing spreadsheet formulas', async () => {
    const { code, out } = await cli(db, ['export', 'subscribers', '--format', 'csv']);
    expect(code).toBe(0);
    const [header, ...lines] = out.trimEnd().split('\r\n');
    expect(header).toBe(
      'id,email,login,subscriber,isActive,lastImportDate,licenseId,softwareProduct,licenseModel,status,sku,vendor,vendorAccountId,assignedAt,lastActivityAt,lastActivitySource,accountKind',
    );
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.includes('HYPERLINK'))).toMatch(
      /^\d+,"'=HYPERLINK\(""http:\/\/evil\.example""\)@x\.example",/,
    );
    const licenses = (await cli(db, ['export', 'licenses'])).out.split('\r\n')[0];
    expect(licenses).toMatch(
      /^objectId,type,softwareProduct,licenseModel,status,purchasedUsageRights,unlimitedUse,sku,capabilityStatus,lastImportDate,consumedUnits,prepaidEnabledUnits,prepaidSuspendedUnits,prepaidWarningUnits,/,
    );
  });

  it('rejects an unknown export or format with usage and exit 2', async () => {
    expect(await cli(db, ['export', 'people'])).toMatchObject({ code: 2 });
    expect((await cli(db, ['export', 'people'])).err).toMatch(
      /^Unknown export 'people'; choose one of licenses, subscribers, findings, audit\./,
    );
    expect((await cli(db, ['export', 'audit', '--format', 'xml'])).err).toMatch(
      /^--format must be csv or json, not 'xml'\./,
    );
  });
});
