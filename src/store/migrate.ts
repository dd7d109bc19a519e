import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { seedCatalog, seedOverlaps } from '../inventory/catalog.ts';
import type { Store } from './store.ts';

const MIGRATIONS = fileURLToPath(new URL('../../drizzle', import.meta.url));
// Any constant shared by all replicas: the first to start migrates, the others wait for it.
const MIGRATION_LOCK = 7_310_214_001;

/**
 * Applies the checked-in migrations (forward-only) and refreshes the shipped product catalog. Safe to run from
 * several processes at once: they serialize on an advisory lock.
 */
export async function migrateStore(store: Store): Promise<void> {
  const client = await store.pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await migrate(drizzle(client), { migrationsFolder: MIGRATIONS });
      await seedCatalog(client);
      await seedOverlaps(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
