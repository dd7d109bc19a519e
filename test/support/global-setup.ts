import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateStore } from '../../src/store/migrate.ts';
import { openStore } from '../../src/store/store.ts';

export const TEMPLATE_ENV = 'SEATKEEPER_TEST_PGLITE_TEMPLATE';

/** Builds one migrated embedded database that test files copy instead of initialising their own. */
export default async function setup(): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'sk-template-'));
  const store = await openStore({ SEATKEEPER_DATA_DIR: dir, DATABASE_POOL_SIZE: 4, DATABASE_URL: undefined });
  await migrateStore(store);
  await store.close();
  const pgdata = join(dir, 'pgdata');
  if (existsSync(pgdata)) process.env[TEMPLATE_ENV] = pgdata;
  return () => rmSync(dir, { recursive: true, force: true });
}
