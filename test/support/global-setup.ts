import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateStore } from '../../src/store/migrate.ts';
import { openStore } from '../../src/store/store.ts';
import { TLS_DIR_ENV, writeTestCertificate } from '../fakes/tls.ts';

export const TEMPLATE_ENV = 'SEATKEEPER_TEST_PGLITE_TEMPLATE';

/**
 * Runs once before the test files: builds one migrated embedded database that test files copy instead of
 * initialising their own, and the TLS certificate the vendor fakes serve (trusted by the worker processes, which
 * inherit this environment).
 */
export default async function setup(): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'sk-setup-'));
  const store = await openStore({ SEATKEEPER_DATA_DIR: dir, DATABASE_POOL_SIZE: 4, DATABASE_URL: undefined });
  await migrateStore(store);
  await store.close();
  const pgdata = join(dir, 'pgdata');
  if (existsSync(pgdata)) process.env[TEMPLATE_ENV] = pgdata;

  const tlsDir = join(dir, 'tls');
  const { certFile } = await writeTestCertificate(tlsDir);
  process.env[TLS_DIR_ENV] = tlsDir;
  process.env.NODE_EXTRA_CA_CERTS = certFile;
  return () => rmSync(dir, { recursive: true, force: true });
}
