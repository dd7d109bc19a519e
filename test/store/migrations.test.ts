import { afterEach, describe, expect, it } from 'vitest';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/test-store.ts';

describe.each(BACKENDS)('migrations on %s', (backend) => {
  let db: TestDatabase;
  afterEach(async () => db?.drop());

  it('create the covering index renewals count a license’s findings by kind with', async () => {
    db = await createTestDatabase(backend);
    const store = await db.open();
    try {
      const found = await store.pool.query<{ indexdef: string }>(
        `SELECT indexdef FROM pg_indexes WHERE tablename = 'findings' AND indexname = 'findings_license_kind_idx'`,
      );
      expect(found.rows.map((r) => r.indexdef)).toEqual([
        'CREATE INDEX findings_license_kind_idx ON public.findings USING btree (license_id, kind) INCLUDE (status, status_until)',
      ]);
    } finally {
      await store.close();
    }
  });
});
