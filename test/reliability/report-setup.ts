/**
 * The reliability suite's own global setup: the shared test setup (template database, vendor TLS certificate) and
 * the file the tests append their figures to, which `report.ts` turns into RELIABILITY.md at the end of the run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharedSetup from '../support/global-setup.ts';
import { FIGURES_ENV } from './figures.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const teardown = await sharedSetup();
  const dir = mkdtempSync(join(tmpdir(), 'sk-reliability-'));
  const file = join(dir, 'figures.jsonl');
  writeFileSync(file, '');
  process.env[FIGURES_ENV] = file;
  return async () => {
    teardown();
    rmSync(dir, { recursive: true, force: true });
  };
}
