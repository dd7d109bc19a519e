import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../support/cli.ts';
import { startServiceProcess } from '../support/processes.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/csv/', import.meta.url));

const cli = (env: Record<string, string>, args: string[]) => runCliInProcess(args, env);

describe('seatkeeper import', () => {
  let db: TestDatabase;
  let work: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    // Migrated, as a running service leaves it (the CLI does not migrate a server database by itself).
    await (await db.open()).close();
    work = mkdtempSync(join(tmpdir(), 'sk-csv-'));
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('imports a configured connector, prints one summary line, and the result shows through the query commands', async () => {
    const env = { ...db.env, CSV_DIR: join(FIXTURES, 'good') };
    const { code, out, err } = await cli(env, ['import', 'csv']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(
      /^csv: imported \d+ subscriptions, \d+ accounts, \d+ persons \(\d+ added, 0 updated, 0 deactivated, 0 deleted\); \d+ matched, \d+ in clearing\.\n$/,
    );
    const seats = JSON.parse((await cli(env, ['seats', 'figma', '--json'])).out);
    expect(seats).toEqual([expect.objectContaining({ sku: 'FIGMA_ORG', purchased: 5 })]);
    const findings = JSON.parse((await cli(env, ['findings', '--json', '--status', 'all'])).out);
    expect(findings.length).toBeGreaterThan(0);
    // Importing the same files again changes nothing.
    expect((await cli(env, ['import', 'all'])).out).toMatch(
      /\(0 added, 0 updated, 0 deactivated, 0 deleted\)/,
    );
  });

  it('fails with exit 1 and the reason when a file has a bad row, leaving the inventory as it was', async () => {
    const before = (await cli({ ...db.env }, ['export', 'subscribers', '--format', 'json'])).out;
    const { code, err } = await cli({ ...db.env, CSV_DIR: join(FIXTURES, 'bad') }, ['import', 'csv']);
    expect(code).toBe(1);
    expect(err).toMatch(/^Import failed: csv: .*row \d+.*The previous inventory is unchanged\.\n$/s);
    expect((await cli({ ...db.env }, ['export', 'subscribers', '--format', 'json'])).out).toBe(before);
  });

  it('names the variables to set when the connector is not configured, and rejects an unknown one with usage', async () => {
    expect(await cli({ ...db.env }, ['import', 'm365'])).toMatchObject({
      code: 1,
      err: 'Import failed: m365: The m365 connector is not configured: set M365_TENANT_ID, M365_CLIENT_ID, M365_CLIENT_SECRET. See README, "Configuration".. The previous inventory is unchanged.\n',
    });
    const unknown = await cli({ ...db.env }, ['import', 'salesforce']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(
      /^Unknown connector 'salesforce'; connectors: m365, adobe, google, github, csv, or all\./,
    );
    expect(await cli({ ...db.env }, ['import', 'all'])).toMatchObject({
      code: 1,
      err: 'No connector is configured: set the variables of at least one (README, "Configuration").\n',
    });
  });

  it('imports a configured connector on schedule when the service starts', async () => {
    const fresh = await createTestDatabase();
    try {
      const dir = join(work, 'scheduled');
      cpSync(join(FIXTURES, 'good'), dir, { recursive: true });
      const service = await startServiceProcess({
        ...fresh.env,
        CSV_DIR: dir,
        SEATKEEPER_JOB_POLL_SECONDS: '1',
      });
      try {
        const deadline = Date.now() + 30_000;
        while (!service.lines.some((l) => l.includes('import csv: succeeded')) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(
          service.lines.some((l) =>
            l.includes('connector csv: enabled, imports every 6 hours, person source'),
          ),
        ).toBe(true);
        expect(service.lines.some((l) => l.includes('import csv: succeeded'))).toBe(true);
        const metrics = await (await fetch(`${service.url}/metrics`)).text();
        expect(metrics).toMatch(/^seatkeeper_import_runs_total\{source="csv",outcome="succeeded"\} 1$/m);
        expect(metrics).toMatch(/^seatkeeper_job_runs_total\{job="import:csv",outcome="succeeded"\} 1$/m);
      } finally {
        expect(await service.stop()).toBe(0);
      }
    } finally {
      await fresh.drop();
    }
  });
});
