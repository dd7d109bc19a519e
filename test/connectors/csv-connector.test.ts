import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CSV_PAGE_SIZE,
  type CsvConnectorOptions,
  CsvImportError,
  type CsvProblem,
  createCsvConnector,
  parseIsoDate,
} from '../../connectors/csv-connector.ts';
import type { Connector } from '../../connectors/types.ts';
import { clearing, person, seats, whoHas } from '../../handlers/inventory-queries.ts';
import { type HandlerContext, operatorActor, type Result } from '../../handlers/types.ts';
import { ImportFailedError, runImport } from '../../src/inventory/import-pipeline.ts';
import type { Store } from '../../src/store/store.ts';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/csv/', import.meta.url));
const fixtureDir = (name: string) => join(FIXTURES, name);
const fixture = (path: string) => readFileSync(join(FIXTURES, path), 'utf8');

const ISO = 'an ISO 8601 date (2026-11-20) or date-time (2026-11-20T08:00:00Z)';
const NOW = new Date('2026-11-20T08:00:00Z');
const PAGE = { limit: 50, offset: 0 };

const temporary: string[] = [];
/** A fresh CSV_DIR holding `files` (name → content). */
function csvDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sk-csv-'));
  temporary.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

const GOOD = {
  'subscriptions.csv': fixture('good/subscriptions.csv'),
  'accounts.csv': fixture('good/accounts.csv'),
  'persons.csv': fixture('good/persons.csv'),
};

function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`handler failed: ${result.error.message}`);
  return result.value;
}

/** Everything an import can change, with row counts first so a difference reads at a glance. */
async function inventory(store: Store) {
  const q = async (sql: string) => (await store.pool.query(sql)).rows;
  return {
    counts: (
      await q(`SELECT (SELECT count(*) FROM licenses)::int AS licenses,
                      (SELECT count(*) FROM cloud_subscribers)::int AS subscribers,
                      (SELECT count(*) FROM persons)::int AS persons,
                      (SELECT count(*) FROM person_emails)::int AS emails,
                      (SELECT count(*) FROM license_snapshots)::int AS snapshots,
                      (SELECT count(*) FROM license_requirements)::int AS requirements`)
    )[0],
    licenses: await q('SELECT * FROM licenses ORDER BY id'),
    subscribers: await q('SELECT * FROM cloud_subscribers ORDER BY id'),
    persons: await q('SELECT * FROM persons ORDER BY id'),
    emails: await q('SELECT * FROM person_emails ORDER BY email'),
  };
}

describe('CSV_DIR', () => {
  it('must be a directory holding at least one of the files, named in lower case', () => {
    const missing = join(tmpdir(), 'sk-csv-does-not-exist');
    expect(() => createCsvConnector({ dir: missing })).toThrow(
      `CSV_DIR '${missing}' is not a readable directory (ENOENT). See README, "CSV files".`,
    );
    const empty = csvDir({ 'notes.txt': 'exports go here' });
    expect(() => createCsvConnector({ dir: empty })).toThrow(
      `CSV_DIR '${empty}' holds none of subscriptions.csv, accounts.csv, persons.csv; nothing to import.`,
    );
    const upper = csvDir({
      'subscriptions.csv': GOOD['subscriptions.csv'],
      'Accounts.CSV': GOOD['accounts.csv'],
    });
    expect(() => createCsvConnector({ dir: upper })).toThrow(
      `CSV_DIR '${upper}' holds Accounts.CSV: the file names must be lower-case`,
    );
    const orphans = csvDir({ 'accounts.csv': GOOD['accounts.csv'] });
    expect(() => createCsvConnector({ dir: orphans })).toThrow(
      `CSV_DIR '${orphans}' holds accounts.csv but no subscriptions.csv`,
    );
    expect(() => createCsvConnector({ dir: missing })).toThrow(CsvImportError);
  });

  it('decides capabilities from the files present and the accounts header', () => {
    expect(createCsvConnector({ dir: fixtureDir('good') }).capabilities).toEqual({
      usage: true,
      directory: true,
      emails: true,
      removal: false,
    });
    // No last_activity_at column: no usage signal, and no persons.csv: no directory.
    const quoted = createCsvConnector({ dir: fixtureDir('quoted') });
    expect(quoted.capabilities).toMatchObject({ usage: false, directory: false });
    expect(quoted.persons).toBeUndefined();
    const hrOnly = createCsvConnector({ dir: csvDir({ 'persons.csv': GOOD['persons.csv'] }) });
    expect(hrOnly.capabilities).toMatchObject({ usage: false, directory: true });
    expect(hrOnly.persons).toBeTypeOf('function');
  });

  it('reads ISO 8601 dates and date-times, and nothing else', () => {
    expect(parseIsoDate('2026-10-31')?.toISOString()).toBe('2026-10-31T00:00:00.000Z');
    expect(parseIsoDate('2026-11-19T16:40:00+01:00')?.toISOString()).toBe('2026-11-19T15:40:00.000Z');
    expect(parseIsoDate('2026-11-19 16:40')?.toISOString()).toBe('2026-11-19T16:40:00.000Z');
    expect(parseIsoDate('2026-11-19T16:40:05.25-0230')?.toISOString()).toBe('2026-11-19T19:10:05.250Z');
    for (const bad of [
      '2026-02-29',
      '2026-13-01',
      '2026-11-19T24:00',
      '19/11/2026',
      '2026-11-19T10:00+25:00',
    ]) {
      expect(parseIsoDate(bad), bad).toBeUndefined();
    }
  });

  it('notices a file that changes between the check and the import', async () => {
    const dir = csvDir(GOOD);
    const connector = createCsvConnector({ dir });
    for await (const _page of connector.subscriptions());
    writeFileSync(join(dir, 'accounts.csv'), `${GOOD['accounts.csv']}figma-org,,new@example.com,,,,,\n`);
    const drain = async () => {
      for await (const _page of connector.accounts());
    };
    await expect(drain()).rejects.toThrow(
      'accounts.csv changed while it was being imported; run the import again.',
    );
  });
});

describe.each(BACKENDS)('CSV connector imports on %s', (backend) => {
  let db: TestDatabase;
  let store: Store;
  let ctx: HandlerContext;
  let progress: { stream: string; pages: number; records: number }[];

  beforeEach(async () => {
    db = await createTestDatabase(backend);
    store = await db.open();
    ctx = { store, config: db.config, actor: operatorActor(), now: () => NOW };
    progress = [];
  });
  afterEach(async () => db?.drop());

  const importConnector = (connector: Connector) =>
    runImport(store, connector, {
      trigger: 'test',
      persons: true,
      minEntitlementDays: 90,
      now: () => NOW,
      onProgress: (p) => progress.push(p),
    });
  const importCsv = (dir: string, options: Omit<CsvConnectorOptions, 'dir'> = {}) =>
    importConnector(createCsvConnector({ dir, ...options }));
  const failure = async (promise: Promise<unknown>): Promise<ImportFailedError> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ImportFailedError);
    return error as ImportFailedError;
  };

  it('imports subscriptions, accounts with their usage, and the HR list', async () => {
    const result = await importCsv(fixtureDir('good'));
    expect(result.counts).toMatchObject({
      subscriptions: 4,
      accounts: 10,
      persons: 4,
      added: 10,
      matched: 9,
      clearing: 1,
    });

    // Consumed = the rows of accounts.csv; purchased = enabled + warning units; unlimited has neither limit.
    const shown = value(await seats(ctx, PAGE)).rows.map((r) => ({
      product: r.product,
      vendor: r.vendor,
      purchased: r.purchased,
      consumed: r.consumed,
      available: r.available,
      status: r.capabilityStatus,
      unlimited: r.unlimited,
    }));
    expect(shown).toEqual([
      {
        product: 'Figma Organization',
        vendor: 'Figma',
        purchased: 5,
        consumed: 3,
        available: 2,
        status: 'Enabled',
        unlimited: false,
      },
      {
        product: 'Miro Business',
        vendor: 'Miro',
        purchased: 10,
        consumed: 0,
        available: 10,
        status: 'Enabled',
        unlimited: false,
      },
      {
        product: 'Slack Enterprise Grid',
        vendor: 'Slack',
        purchased: null,
        consumed: 4,
        available: null,
        status: 'Enabled',
        unlimited: true,
      },
      {
        product: 'Zoom Workplace Business',
        vendor: 'Zoom',
        purchased: 4,
        consumed: 3,
        available: 1,
        status: 'Warning',
        unlimited: false,
      },
    ]);
    const licenses = await store.pool.query(
      `SELECT vendor_key, license_model, is_trial, next_lifecycle_at, usage_signal, source FROM licenses
       ORDER BY vendor_key`,
    );
    expect(licenses.rows).toEqual([
      {
        vendor_key: 'figma-org',
        license_model: 'named_user',
        is_trial: false,
        next_lifecycle_at: new Date('2027-03-31T00:00:00Z'),
        usage_signal: true,
        source: 'csv',
      },
      {
        vendor_key: 'miro-trial',
        license_model: 'concurrent',
        is_trial: true,
        next_lifecycle_at: new Date('2026-12-01T00:00:00Z'),
        usage_signal: true,
        source: 'csv',
      },
      {
        vendor_key: 'slack-grid',
        license_model: 'named_user',
        is_trial: false,
        next_lifecycle_at: new Date('2027-06-30T00:00:00Z'),
        usage_signal: true,
        source: 'csv',
      },
      {
        vendor_key: 'zoom-business',
        license_model: 'named_user',
        is_trial: false,
        next_lifecycle_at: new Date('2026-12-15T00:00:00Z'),
        usage_signal: true,
        source: 'csv',
      },
    ]);

    // Accounts: id defaults to the lower-cased e-mail; persons matched through aliases and case-insensitively;
    // last activity with its source (`csv` unless the file names one).
    const subscribers = await store.pool.query(
      `SELECT l.vendor_key AS sub, s.vendor_account_id AS id, s.email, p.primary_email AS person,
         s.last_activity_at AS at, s.last_activity_source AS src, s.account_enabled AS enabled
       FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id LEFT JOIN persons p ON p.id = s.person_id
       ORDER BY 1, 2`,
    );
    const day = (iso: string) => new Date(iso);
    expect(subscribers.rows).toEqual([
      {
        sub: 'figma-org',
        id: 'ana@example.com',
        email: 'ana@example.com',
        person: 'ana.lopez@example.com',
        at: day('2026-11-18T09:12:00Z'),
        src: 'figma:activity-log',
        enabled: true,
      },
      {
        sub: 'figma-org',
        id: 'bo@example.com',
        email: 'Bo@Example.com',
        person: 'bo@example.com',
        at: day('2026-06-02T00:00:00Z'),
        src: 'csv',
        enabled: true,
      },
      {
        sub: 'figma-org',
        id: 'fig-7781',
        email: 'cy@example.com',
        person: 'cy.ng@example.com',
        at: null,
        src: null,
        enabled: true,
      },
      {
        sub: 'slack-grid',
        id: 'U01ANA',
        email: 'ana@example.com',
        person: 'ana.lopez@example.com',
        at: day('2026-11-19T00:00:00Z'),
        src: 'slack:access-logs',
        enabled: true,
      },
      {
        sub: 'slack-grid',
        id: 'U02BO',
        email: 'bo@example.com',
        person: 'bo@example.com',
        at: day('2026-11-17T00:00:00Z'),
        src: 'slack:access-logs',
        enabled: true,
      },
      {
        sub: 'slack-grid',
        id: 'U03CY',
        email: 'cy@example.com',
        person: 'cy.ng@example.com',
        at: null,
        src: null,
        enabled: true,
      },
      {
        sub: 'slack-grid',
        id: 'U04DEE',
        email: 'dee@example.com',
        person: 'dee@example.com',
        at: day('2026-10-31T00:00:00Z'),
        src: 'slack:access-logs',
        enabled: false,
      },
      {
        sub: 'zoom-business',
        id: 'zoom-u-1',
        email: 'ana.lopez@example.com',
        person: 'ana.lopez@example.com',
        at: day('2026-11-19T15:40:00Z'),
        src: 'csv',
        enabled: true,
      },
      {
        sub: 'zoom-business',
        id: 'zoom-u-2',
        email: 'dee@example.com',
        person: 'dee@example.com',
        at: day('2026-10-30T00:00:00Z'),
        src: 'csv',
        enabled: false,
      },
      {
        sub: 'zoom-business',
        id: 'zoom-u-3',
        email: 'contractor@agency.example',
        person: null,
        at: day('2026-11-02T00:00:00Z'),
        src: 'csv',
        enabled: true,
      },
    ]);

    // The HR list: aliases, manager and department; the departed person is marked, with the list's date.
    const [ana] = value(await person(ctx, { email: 'A.Lopez@example.com' }));
    expect(ana).toMatchObject({
      email: 'ana.lopez@example.com',
      aliases: ['a.lopez@example.com', 'ana@example.com'],
      displayName: 'Ana López',
      department: 'Design',
      costCenter: 'CC-100',
      employmentStatus: 'active',
      source: 'csv',
    });
    expect(ana?.seats.map((s) => s.vendorAccountId).sort()).toEqual([
      'U01ANA',
      'ana@example.com',
      'zoom-u-1',
    ]);
    const [dee] = value(await person(ctx, { email: 'dee@example.com' }));
    expect(dee).toMatchObject({
      employmentStatus: 'departed',
      departedAt: '2026-10-31T00:00:00.000Z',
      directoryEnabled: false,
      manager: 'cy.ng@example.com',
    });
    expect(value(await clearing(ctx, PAGE)).rows.map((r) => r.email)).toEqual(['contractor@agency.example']);

    // The same files again change nothing (the departure date does not move).
    const before = await inventory(store);
    const again = await importCsv(fixtureDir('good'));
    expect(again.counts).toMatchObject({ added: 0, updated: 0, deactivated: 0, deleted: 0 });
    expect(await inventory(store)).toEqual(before);
  });

  it('rejects the files whole on any bad row, naming every row and reason, and keeps the inventory', async () => {
    await importCsv(fixtureDir('good'));
    const before = await inventory(store);
    progress = [];

    const error = await failure(importCsv(fixtureDir('bad')));
    expect(error.message).toBe(
      [
        "csv: 7 bad rows, so nothing was imported (fix them, or import with --skip-invalid to skip bad rows): subscriptions.csv row 3: purchased: expected a whole number ≥ 0 (got '-3')",
        "subscriptions.csv row 5: status: expected Enabled, Warning, Suspended, Deleted, LockedOut (got 'Active')",
        "trial: expected yes or no (got 'maybe')",
        `next_lifecycle_date: expected ${ISO} (got '2026-13-01')`,
        "accounts.csv row 3: email: expected an e-mail address (got 'bo.example.com')",
        "accounts.csv row 5: subscription_id: 'zoom-business' is on a rejected row of subscriptions.csv",
        "accounts.csv row 6: subscription_id: 'canva-pro' is not in subscriptions.csv",
        `accounts.csv row 7: last_activity_at: expected ${ISO} (got 'yesterday')`,
        'accounts.csv row 8: email: required when account_id is empty',
      ].join('; '),
    );
    // Checked before the first page: nothing was even staged.
    expect(progress).toEqual([]);
    expect(await inventory(store)).toEqual(before);
    const run = await store.pool.query(`SELECT outcome, error FROM import_runs WHERE id = $1`, [error.runId]);
    expect(run.rows).toEqual([{ outcome: 'failed', error: error.message }]);
  });

  it('rejects a bad HR list whole too, after licenses were staged, leaving nothing of it', async () => {
    await importCsv(fixtureDir('good'));
    const before = await inventory(store);
    progress = [];
    const dir = csvDir({ ...GOOD, 'persons.csv': fixture('bad/persons.csv') });
    const error = await failure(importCsv(dir));
    expect(error.message).toBe(
      [
        "csv: 3 bad rows, so nothing was imported (fix them, or import with --skip-invalid to skip bad rows): persons.csv row 2: aliases: 'not-an-address' is not an e-mail address (got 'ana@example.com;not-an-address')",
        'persons.csv row 4: departed_at: required when status is departed',
        "persons.csv row 5: status: expected active, departed (got 'retired')",
      ].join('; '),
    );
    expect(progress.map((p) => p.stream)).toContain('accounts');
    expect(progress.map((p) => p.stream)).not.toContain('persons');
    expect(await inventory(store)).toEqual(before);
    const staged = await store.pool.query(
      `SELECT (SELECT count(*) FROM staging_subscriptions)::int + (SELECT count(*) FROM staging_accounts)::int AS n`,
    );
    expect(staged.rows[0].n).toBe(0);
  });

  it('with skipInvalid imports the good rows and reports each bad one', async () => {
    const problems: CsvProblem[] = [];
    const result = await importCsv(fixtureDir('bad'), {
      skipInvalid: true,
      onInvalidRow: (p) => problems.push(p),
    });
    expect(problems.map((p) => [p.file, p.row])).toEqual([
      ['subscriptions.csv', 3],
      ['subscriptions.csv', 5],
      ['accounts.csv', 3],
      ['accounts.csv', 5],
      ['accounts.csv', 6],
      ['accounts.csv', 7],
      ['accounts.csv', 8],
      ['persons.csv', 2],
      ['persons.csv', 4],
      ['persons.csv', 5],
    ]);
    expect(problems[2]).toEqual({
      file: 'accounts.csv',
      row: 3,
      reason: "email: expected an e-mail address (got 'bo.example.com')",
    });
    expect(result.counts).toMatchObject({ subscriptions: 2, accounts: 3, persons: 1 });
    // Consumed counts only the accounts that were imported.
    const shown = value(await seats(ctx, PAGE)).rows.map((r) => [
      r.sku,
      r.purchased,
      r.consumed,
      r.available,
    ]);
    expect(shown).toEqual([
      ['FIGMA_ORG', 5, 2, 3],
      ['SLACK_ENTERPRISE_GRID', null, 1, null],
    ]);
    const people = await store.pool.query(`SELECT primary_email FROM persons`);
    expect(people.rows).toEqual([{ primary_email: 'bo@example.com' }]);
  });

  it('reads a BOM, CRLF, loose header names, quoted commas, quotes and line breaks, numbering rows as a spreadsheet', async () => {
    // Guard: the fixture really has what this test is about.
    const raw = readFileSync(join(fixtureDir('quoted'), 'subscriptions.csv'));
    expect([...raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(raw.toString('utf8')).toContain('"Zoom Workplace\r\nBusiness"');

    const problems: CsvProblem[] = [];
    const result = await importCsv(fixtureDir('quoted'), {
      skipInvalid: true,
      onInvalidRow: (p) => problems.push(p),
    });
    // Row 5 though it is on line 6: the quoted line break stays inside row 3, and the blank row 4 counts.
    expect(problems).toEqual([
      { file: 'subscriptions.csv', row: 5, reason: "purchased: expected a whole number ≥ 0 (got 'ten')" },
    ]);
    expect(result.counts).toMatchObject({ subscriptions: 2, accounts: 2 });
    const names = await store.pool.query(`SELECT vendor_key, name FROM licenses ORDER BY vendor_key`);
    expect(names.rows).toEqual([
      { vendor_key: 'figma-org', name: 'Figma, Inc. "Organization" plan' },
      { vendor_key: 'zoom-business', name: 'Zoom Workplace\r\nBusiness' },
    ]);
    const accounts = value(await whoHas(ctx, { query: 'FIGMA_ORG', ...PAGE })).rows;
    expect(accounts).toMatchObject([
      { email: 'ana@example.com', login: 'Lopez, Ana', lastActivitySource: 'no usage signal' },
    ]);
    const bo = value(await whoHas(ctx, { query: 'bo@example.com', ...PAGE })).rows;
    expect(bo).toMatchObject([
      { email: 'bo@example.com', vendorAccountId: 'bo@example.com', sku: 'ZOOM_BUSINESS' },
    ]);
    const signal = await store.pool.query(`SELECT DISTINCT usage_signal FROM licenses`);
    expect(signal.rows).toEqual([{ usage_signal: false }]);
  });

  it.each([
    {
      what: 'a missing required column',
      files: { 'accounts.csv': fixture('headers/accounts.missing-column.csv') },
      message:
        'accounts.csv header row: missing required column subscription_id. Its columns are: subscription_id, account_id, email, login, assigned_at, last_activity_at, last_activity_source, enabled (see README, "CSV files").',
    },
    {
      what: 'an unknown (misspelt) column',
      files: { 'subscriptions.csv': fixture('headers/subscriptions.unknown-column.csv') },
      message:
        'subscriptions.csv header row: unknown column purchsed. Its columns are: vendor, subscription_id,',
    },
    {
      what: 'blank and repeated column names',
      files: { 'accounts.csv': 'subscription_id,email,Email ,\nfigma-org,a@example.com,a@example.com,\n' },
      message: 'accounts.csv header row: column 4 has no name; column email appears twice.',
    },
    {
      what: 'a semicolon-separated file',
      files: { 'persons.csv': fixture('headers/persons.semicolons.csv') },
      message:
        "persons.csv header row: the columns are separated by ';'; save the file with ',' as the separator.",
    },
    {
      what: 'an empty file',
      files: { 'accounts.csv': '' },
      message: 'accounts.csv is empty: it needs a header row naming its columns.',
    },
    {
      what: 'an unclosed quote',
      files: {
        'accounts.csv': 'subscription_id,email\nfigma-org,"ana@example.com\nzoom-business,bo@example.com\n',
      },
      message: 'accounts.csv is not valid CSV after row 1: Quote Not Closed',
    },
  ])('rejects $what even with skipInvalid', async ({ files, message }) => {
    const dir = csvDir({ ...GOOD, ...files });
    const problems: CsvProblem[] = [];
    const error = await failure(importCsv(dir, { skipInvalid: true, onInvalidRow: (p) => problems.push(p) }));
    expect(error.message).toContain(`csv: ${message}`);
    expect(problems).toEqual([]);
    expect((await inventory(store)).counts).toEqual({
      licenses: 0,
      subscribers: 0,
      persons: 0,
      emails: 0,
      snapshots: 0,
      requirements: 0,
    });
  });

  it('imports an HR list alone', async () => {
    const result = await importCsv(csvDir({ 'persons.csv': GOOD['persons.csv'] }));
    expect(result.counts).toMatchObject({ subscriptions: 0, accounts: 0, persons: 4 });
    expect((await inventory(store)).counts).toMatchObject({ licenses: 0, persons: 4, emails: 7 });
  });

  it('checks a whole file before its first page, and caps the listed bad rows', async () => {
    // 2,500 accounts, the last 60 of them bad: without the check first, two pages would be staged before failing.
    const rows = Array.from({ length: 2_500 }, (_, i) =>
      i < 2_440 ? `big-plan,user${i}@example.com\n` : `big-plan,broken-${i}\n`,
    );
    const dir = csvDir({
      'subscriptions.csv': 'vendor,subscription_id,sku,name,unlimited\nAcme,big-plan,ACME_PRO,Acme Pro,yes\n',
      'accounts.csv': `subscription_id,email\n${rows.join('')}`,
    });
    const error = await failure(importCsv(dir));
    expect(error.message).toMatch(/^csv: 60 bad rows, so nothing was imported/);
    // The first bad rows, in order, as many as fit the 4,000 characters import_runs keeps; then how many more.
    const listed = [...error.message.matchAll(/accounts\.csv row (\d+):/g)].map((m) => Number(m[1]));
    expect(listed.length).toBeGreaterThan(30);
    expect(listed).toEqual(Array.from({ length: listed.length }, (_, i) => 2_442 + i));
    expect(error.message).toContain(
      "accounts.csv row 2442: email: expected an e-mail address (got 'broken-2440')",
    );
    expect(error.message.endsWith(`; … and ${60 - listed.length} more`)).toBe(true);
    const run = await store.pool.query(`SELECT error FROM import_runs WHERE id = $1`, [error.runId]);
    expect(run.rows[0].error).toBe(error.message);
    expect(progress).toEqual([]);

    const connectorError = await (async () => {
      for await (const _page of createCsvConnector({ dir }).subscriptions());
    })().catch((e: unknown) => e);
    expect(connectorError).toBeInstanceOf(CsvImportError);
    expect(connectorError).toMatchObject({ badRows: 60 });
    expect((connectorError as CsvImportError).problems).toHaveLength(50);

    const skipped: CsvProblem[] = [];
    const result = await importCsv(dir, { skipInvalid: true, onInvalidRow: (p) => skipped.push(p) });
    expect(skipped).toHaveLength(60);
    expect(result.counts).toMatchObject({ accounts: 2_440 });
    expect(progress.filter((p) => p.stream === 'accounts').map((p) => p.records)).toEqual([
      1_000, 2_000, 2_440,
    ]);
  });
});

// The embedded backend only: on a PostgreSQL server the pipeline's switch over 50,000 freshly staged rows takes
// over a minute (its staging tables have no statistics yet, so the planner picks nested loops). Paging, which is
// what this test is about, is the connector's and the same on both.
describe('CSV connector with a large file', () => {
  it('imports 50,000 accounts in pages', async () => {
    const db = await createTestDatabase('embedded');
    try {
      const store = await db.open();
      const ctx: HandlerContext = { store, config: db.config, actor: operatorActor(), now: () => NOW };
      const accounts = Array.from(
        { length: 50_000 },
        (_, i) => `big-plan,acct-${i},user${i}@example.com,,2026-01-01,${i % 2 ? '2026-11-01' : ''},,\n`,
      );
      const dir = csvDir({
        'subscriptions.csv':
          'vendor,subscription_id,sku,name,purchased\nAcme,big-plan,ACME_PRO,Acme Pro,60000\n',
        'accounts.csv': `subscription_id,account_id,email,login,assigned_at,last_activity_at,last_activity_source,enabled\n${accounts.join('')}`,
      });
      const progress: { stream: string; pages: number; records: number }[] = [];
      const result = await runImport(store, createCsvConnector({ dir }), {
        trigger: 'test',
        minEntitlementDays: 90,
        now: () => NOW,
        onProgress: (p) => progress.push(p),
      });
      expect(result.counts).toMatchObject({ subscriptions: 1, accounts: 50_000, clearing: 50_000 });
      const accountPages = progress.filter((p) => p.stream === 'accounts');
      expect(accountPages.map((p) => [p.pages, p.records])).toEqual(
        Array.from({ length: 50_000 / CSV_PAGE_SIZE }, (_, i) => [i + 1, (i + 1) * CSV_PAGE_SIZE]),
      );
      expect(value(await seats(ctx, PAGE)).rows).toMatchObject([
        { purchased: 60_000, consumed: 50_000, available: 10_000 },
      ]);
      const active = await store.pool.query(
        `SELECT count(*)::int AS n FROM cloud_subscribers WHERE last_activity_source = 'csv'`,
      );
      expect(active.rows[0].n).toBe(25_000);
    } finally {
      await db.drop();
    }
  });
});
