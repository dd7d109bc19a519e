import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../src/inventory/import-pipeline.ts';
import { runCliInProcess } from '../support/cli.ts';
import { account, fixtureConnector, personEntry, subscription } from '../support/fixture-connector.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

/** Runs the CLI in-process against the test database. */
const cli = (db: TestDatabase | undefined, args: string[], env: Record<string, string> = {}) =>
  runCliInProcess(args, { ...db?.env, ...env });

describe('seatkeeper CLI', () => {
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
        persons: [
          personEntry('ana@example.com', { aliases: ['ana.lopez@example.com'], department: 'Design' }),
          personEntry('bo@example.com'),
        ],
      }),
      { ...options, persons: true },
    );
    await runImport(
      store,
      fixtureConnector(
        'csv:figma',
        {
          subscriptions: [
            subscription({
              key: 'figma-org',
              vendor: 'Figma',
              sku: 'FIGMA_ORG',
              name: 'Figma Organization',
              enabledUnits: 10,
              consumedUnits: 3,
            }),
            subscription({
              key: 'sso',
              vendor: 'Figma',
              sku: 'FIGMA_FREE',
              name: 'Figma Viewer',
              unlimited: true,
              consumedUnits: 1,
              enabledUnits: 0,
            }),
          ],
          accounts: [
            account('figma-org', 'f1', 'Ana.Lopez@example.com', {
              lastActivityAt: new Date('2026-11-02T10:00:00Z'),
              lastActivitySource: 'figma:audit',
            }),
            account('figma-org', 'f2', 'bo@example.com'),
            account('figma-org', 'f3', 'contractor@agency.example'),
            account('sso', 'f4', 'bo@example.com'),
          ],
          usage: [],
        },
        { usage: true },
      ),
      options,
    );
    await store.close();
  });
  afterAll(async () => db?.drop());

  it('answers who-has with the documented JSON fields', async () => {
    const { code, out } = await cli(db, ['who-has', 'figma org', '--json']);
    expect(code).toBe(0);
    const rows = JSON.parse(out);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({
      email: 'Ana.Lopez@example.com',
      sku: 'FIGMA_ORG',
      product: 'Figma Organization',
      person: 'ana@example.com',
      active: true,
      lastActivityAt: '2026-11-02T10:00:00.000Z',
      lastActivitySource: 'figma:audit',
    });
    expect(rows.map((r: { person: string | null }) => r.person)).toEqual([
      'ana@example.com',
      'bo@example.com',
      null,
    ]);
  });

  it('finds the seats of a person through any alias, and by SKU case-insensitively', async () => {
    const byAlias = JSON.parse((await cli(db, ['who-has', 'ANA.LOPEZ@example.com', '--json'])).out);
    expect(byAlias.map((r: { sku: string }) => r.sku)).toEqual(['FIGMA_ORG']);
    const bySku = JSON.parse((await cli(db, ['who-has', 'figma_free', '--json'])).out);
    expect(bySku).toEqual([expect.objectContaining({ email: 'bo@example.com', sku: 'FIGMA_FREE' })]);
  });

  it('lists seats with purchased, consumed and available, null purchased when unlimited', async () => {
    const { code, out } = await cli(db, ['seats', '--json']);
    expect(code).toBe(0);
    const rows = JSON.parse(out);
    expect(rows).toEqual([
      expect.objectContaining({
        sku: 'FIGMA_ORG',
        product: 'Figma Organization',
        purchased: 10,
        consumed: 3,
        available: 7,
        capabilityStatus: 'Enabled',
      }),
      expect.objectContaining({
        sku: 'FIGMA_FREE',
        product: 'Figma Viewer',
        purchased: null,
        consumed: 1,
        available: null,
        capabilityStatus: 'Enabled',
      }),
    ]);
    const text = await cli(db, ['seats']);
    expect(text.out).toMatch(/^PRODUCT\s+SKU\s+PURCHASED\s+CONSUMED\s+AVAILABLE/);
    expect(text.out).toMatch(/Figma Viewer\s+FIGMA_FREE\s+unlimited/);
  });

  it('lists clearing with e-mail, vendor and SKU', async () => {
    const rows = JSON.parse((await cli(db, ['clearing', '--json'])).out);
    expect(rows).toEqual([
      expect.objectContaining({ email: 'contractor@agency.example', vendor: 'Figma', sku: 'FIGMA_ORG' }),
    ]);
  });

  it('shows a person with aliases and seats', async () => {
    const rows = JSON.parse((await cli(db, ['person', 'ana.lopez@example.com', '--json'])).out);
    expect(rows).toEqual([
      expect.objectContaining({
        email: 'ana@example.com',
        aliases: ['ana.lopez@example.com'],
        department: 'Design',
        employmentStatus: 'active',
      }),
    ]);
    expect(rows[0].seats.map((s: { sku: string }) => s.sku)).toEqual(['FIGMA_ORG']);
  });

  it('says clearly when nothing matches, and prints [] under --json with exit 0', async () => {
    const text = await cli(db, ['who-has', 'photoshop']);
    expect(text).toMatchObject({ code: 0, out: "No license or person matches 'photoshop'.\n" });
    const json = await cli(db, ['person', 'nobody@example.com', '--json']);
    expect(json).toMatchObject({ code: 0, out: '[]\n' });
  });

  it('pages long lists and says how to see more', async () => {
    const { code, out, err } = await cli(db, ['who-has', 'figma', '--json', '--limit', '2']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toHaveLength(2);
    expect(err).toBe('Showing 1–2 of 4; use --limit and --offset for more.\n');
  });

  it('exits 2 with usage for an unknown verb, an unknown flag or a missing argument', async () => {
    const verb = await cli(db, ['frobnicate']);
    expect(verb.code).toBe(2);
    expect(verb.err).toMatch(/^Unknown command 'frobnicate'\.\n\nUsage: seatkeeper <command>/);
    const flag = await cli(db, ['seats', '--colour']);
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/^Unknown option --colour\. Usage: seatkeeper seats \[app\]/);
    const missing = await cli(db, ['who-has']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^Missing query: app name, SKU or e-mail\./);
    const bad = await cli(db, ['seats', '--limit', 'lots']);
    expect(bad.err).toMatch(/^--limit must be a whole number, not 'lots'\./);
  });

  it('prints help with every query command and exits 0', async () => {
    const { code, out } = await cli(undefined, ['--help']);
    expect(code).toBe(0);
    for (const name of ['start', 'migrate', 'who-has <query>', 'seats [app]', 'person <email>', 'clearing']) {
      expect(out).toContain(name);
    }
  });

  it('names DATABASE_URL and the error in one line and exits 1 when the database cannot be reached', async () => {
    const { code, err } = await cli(undefined, ['seats'], {
      DATABASE_URL: 'postgres://seatkeeper:hunter2@127.0.0.1:1/inventory',
    });
    expect(code).toBe(1);
    expect(err).toBe(
      'Cannot reach the database at DATABASE_URL (127.0.0.1:1/inventory): connect ECONNREFUSED 127.0.0.1:1\n',
    );
    expect(err).not.toContain('hunter2');
  });

  it('stops on a bad configuration value with one line naming the variable', async () => {
    const { code, err } = await cli(undefined, ['seats'], { PORT: 'eighty' });
    expect(code).toBe(1);
    expect(err).toBe(
      `Configuration error: PORT is invalid: expected number (got 'eighty'). See README, "Configuration".\n`,
    );
  });
});
