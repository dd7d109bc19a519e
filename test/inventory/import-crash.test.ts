import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../support/processes.ts';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/test-store.ts';

/** A CSV export big enough that an import takes a while: `n` accounts over two subscriptions. */
function writeBigCsv(dir: string, n: number): void {
  writeFileSync(
    join(dir, 'subscriptions.csv'),
    'vendor,subscription_id,sku,name,purchased\nFigma,figma,FIGMA_ORG,Figma Organization,999999\nZoom,zoom,ZOOM_PRO,Zoom Pro,999999\n',
  );
  const rows = ['subscription_id,account_id,email'];
  for (let i = 0; i < n; i++) rows.push(`${i % 2 ? 'zoom' : 'figma'},acc-${i},user${i}@example.com`);
  writeFileSync(join(dir, 'accounts.csv'), `${rows.join('\n')}\n`);
}

describe.each(BACKENDS)('an import killed midway on %s', (backend) => {
  let db: TestDatabase;
  let dir: string;
  afterEach(async () => {
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('leaves the previous inventory intact, and the next import takes over at once', async () => {
    db = await createTestDatabase(backend);
    await (await db.open()).close(); // migrated, as the service leaves it
    dir = mkdtempSync(join(tmpdir(), 'sk-crash-'));
    const small = mkdtempSync(join(tmpdir(), 'sk-crash-small-'));
    writeBigCsv(small, 10);
    const first = await runCli(['import', 'csv'], { ...db.env, CSV_DIR: small });
    expect(first.code).toBe(0);
    rmSync(small, { recursive: true, force: true });

    writeBigCsv(dir, 120_000);
    const child = spawn(process.execPath, [BIN, 'import', 'csv'], {
      env: { ...process.env, ...db.env, CSV_DIR: dir, LOG_LEVEL: 'silent' },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Kill it once it has staged part of the accounts (an embedded database is reached through the importer).
    const store = await db.open();
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const staged = await store.pool
          .query('SELECT count(*)::int AS n FROM staging_accounts')
          .catch(() => undefined);
        if ((staged?.rows[0]?.n ?? 0) > 0) break;
        if (Date.now() > deadline) throw new Error('the import never staged anything');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
      await store.close().catch(() => undefined);
    }

    // Nothing of the killed run reached the inventory.
    const check = await runCli(['seats', '--json'], db.env);
    expect(JSON.parse(check.out).map((s: { consumed: number }) => s.consumed)).toEqual([5, 5]);

    const again = await runCli(['import', 'csv'], { ...db.env, CSV_DIR: dir });
    expect(again.err).toBe('');
    expect(again.out).toMatch(/^csv: imported 2 subscriptions, 120000 accounts/);
    const runs = await runCli(['export', 'audit', '--format', 'json'], db.env);
    expect(JSON.parse(runs.out).filter((a: { action: string }) => a.action === 'import')).toHaveLength(2);
    const seats = JSON.parse((await runCli(['seats', '--json'], db.env)).out);
    expect(seats.map((s: { consumed: number }) => s.consumed)).toEqual([60_000, 60_000]);
    // Two imports of 120,000 accounts through the CLI: more than the default minute on a loaded 2-core machine.
  }, 180_000);
});
