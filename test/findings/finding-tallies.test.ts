import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldTallies } from '../../src/findings/recompute.ts';
import type { Store } from '../../src/store/store.ts';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const KINDS = ['idle', 'departed', 'shadow'] as const;
const STATUSES = ['open', 'snoozed', 'exempted', 'resolved'] as const;

type Op =
  | { op: 'insert'; n: number; kind: number; license: number; savings: number | null; seats: number }
  | { op: 'status'; pick: number; status: number; until: number | null }
  | { op: 'savings'; pick: number; savings: number | null; currency: boolean }
  | { op: 'delete'; pick: number }
  | { op: 'drop-license'; license: number }
  | { op: 'fold' };

const ops = fc.oneof(
  fc.record({
    op: fc.constant('insert' as const),
    n: fc.integer({ min: 1, max: 4 }),
    kind: fc.nat(KINDS.length - 1),
    license: fc.nat(3),
    savings: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: null }),
    seats: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    op: fc.constant('status' as const),
    pick: fc.nat(),
    status: fc.nat(STATUSES.length - 1),
    // days from NOW: a snooze that has ended already (negative) or not yet
    until: fc.option(fc.integer({ min: -30, max: 30 }), { nil: null }),
  }),
  fc.record({
    op: fc.constant('savings' as const),
    pick: fc.nat(),
    savings: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: null }),
    currency: fc.boolean(),
  }),
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('drop-license' as const), license: fc.nat(3) }),
  fc.record({ op: fc.constant('fold' as const) }),
);

/** The totals counted from the findings themselves, as `finding_tally` should report them. */
const LIVE = `
  SELECT f.license_id, f.kind,
    CASE WHEN f.status IN ('snoozed', 'exempted') AND f.status_until <= $1 THEN 'open' ELSE f.status END AS status,
    f.currency, count(*)::text AS findings, sum(f.seats)::text AS seats, sum(f.savings)::numeric(16,2)::text AS savings,
    (count(*) FILTER (WHERE f.savings IS NULL))::text AS unpriced
  FROM findings f GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`;
const TALLY = `
  SELECT license_id, kind, status, currency, findings::text, seats::text, savings::numeric(16,2)::text, unpriced::text
  FROM finding_tally($1) ORDER BY 1, 2, 3, 4`;

describe.each(BACKENDS)('finding tallies on %s', (backend) => {
  let db: TestDatabase;
  let store: Store;
  let serial = 0;
  beforeAll(async () => {
    db = await createTestDatabase(backend);
    store = await db.open();
  });
  afterAll(async () => db?.drop());

  async function reset(): Promise<number[]> {
    await store.pool.query('DELETE FROM findings');
    await store.pool.query('DELETE FROM licenses');
    await store.pool.query('DELETE FROM finding_tallies');
    const made = await store.pool.query<{ id: number }>(
      `INSERT INTO licenses (source, vendor_key, vendor, sku, name)
       SELECT 'csv', 'k' || i, 'Vendor', 'SKU' || i, 'Plan ' || i FROM generate_series(1, 4) i RETURNING id`,
    );
    return made.rows.map((r) => Number(r.id));
  }

  async function apply(op: Op, licenses: number[]): Promise<void> {
    const pool = store.pool;
    const pick = async (n: number) => {
      const ids = await pool.query<{ id: string }>('SELECT id FROM findings ORDER BY id');
      return ids.rows.length ? ids.rows[n % ids.rows.length]?.id : undefined;
    };
    switch (op.op) {
      case 'insert': {
        const kind = KINDS[op.kind] as string;
        await pool.query(
          `INSERT INTO findings (key, kind, severity, license_id, seats, evidence, savings, currency,
             first_seen_at, last_seen_at)
           SELECT $1 || i, $2, 'low', (SELECT id FROM licenses WHERE id = $3::bigint), $4, '{}', $5, CASE WHEN $5::numeric IS NULL THEN NULL ELSE 'EUR' END, $6, $6
           FROM generate_series(1, $7::int) i`,
          [
            `k${++serial}-`,
            kind,
            kind === 'shadow' ? null : licenses[op.license],
            op.seats,
            op.savings,
            NOW,
            op.n,
          ],
        );
        return;
      }
      case 'status': {
        const id = await pick(op.pick);
        const status = STATUSES[op.status] as string;
        const until =
          op.until === null || status === 'open' || status === 'resolved'
            ? null
            : new Date(NOW.getTime() + op.until * 86_400_000);
        await pool.query('UPDATE findings SET status = $2, status_until = $3 WHERE id = $1', [
          id,
          status,
          until,
        ]);
        return;
      }
      case 'savings': {
        const id = await pick(op.pick);
        await pool.query('UPDATE findings SET savings = $2, currency = $3 WHERE id = $1', [
          id,
          op.savings,
          op.currency ? 'USD' : 'EUR',
        ]);
        return;
      }
      case 'delete': {
        const id = await pick(op.pick);
        await pool.query('DELETE FROM findings WHERE id = $1', [id]);
        return;
      }
      case 'drop-license':
        // The license's findings go by the foreign key's cascade.
        await pool.query('DELETE FROM licenses WHERE id = $1', [licenses[op.license]]);
        return;
      case 'fold':
        await foldTallies(pool);
        return;
    }
  }

  it('add up to the findings after any sequence of inserts, status changes, deletes and folds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ops, { minLength: 1, maxLength: 12 }), async (sequence) => {
        const licenses = await reset();
        for (const op of sequence) await apply(op, licenses);
        const live = await store.pool.query(LIVE, [NOW]);
        const tally = await store.pool.query(TALLY, [NOW]);
        expect(tally.rows).toEqual(live.rows);
      }),
      { numRuns: backend === 'embedded' ? 25 : 60 },
    );
  });

  it('take nothing from a rolled-back change, and a fold leaves one row per group', async () => {
    const licenses = await reset();
    await apply({ op: 'insert', n: 3, kind: 0, license: 0, savings: 100, seats: 1 }, licenses);
    const client = await store.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`UPDATE findings SET status = 'resolved'`);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const open = await store.pool.query(
      `SELECT findings::int, savings::float FROM finding_tally($1) WHERE status = 'open'`,
      [NOW],
    );
    expect(open.rows).toEqual([{ findings: 3, savings: 300 }]);
    await foldTallies(store.pool);
    const rows = await store.pool.query('SELECT count(*)::int AS n FROM finding_tallies');
    expect(rows.rows[0].n).toBe(1);
  });

  it('count each license’s accounts through inserts, deletes, a license’s cascade and folds', async () => {
    const licenses = await reset();
    await store.pool.query('DELETE FROM subscriber_tallies');
    const accounts = async () => {
      const live = await store.pool.query(
        `SELECT license_id, count(*)::int AS n FROM cloud_subscribers GROUP BY 1 ORDER BY 1`,
      );
      const tally = await store.pool.query(
        `SELECT license_id, sum(accounts)::int AS n FROM subscriber_tallies GROUP BY 1 HAVING sum(accounts) <> 0
         ORDER BY 1`,
      );
      expect(tally.rows).toEqual(live.rows);
      return tally.rows.length;
    };
    await store.pool.query(
      `INSERT INTO cloud_subscribers (license_id, vendor_account_id, email)
       SELECT l, 'a' || l || '-' || i, 'u' || i || '@example.com'
       FROM unnest($1::bigint[]) l, generate_series(1, 5) i`,
      [licenses],
    );
    expect(await accounts()).toBe(4);
    // An update that touches every account moves none.
    await store.pool.query(`UPDATE cloud_subscribers SET is_active = false`);
    await store.pool.query(
      `DELETE FROM cloud_subscribers WHERE license_id = $1 AND vendor_account_id LIKE '%-1'`,
      [licenses[0]],
    );
    await store.pool.query('DELETE FROM licenses WHERE id = $1', [licenses[1]]);
    expect(await accounts()).toBe(3);
    await foldTallies(store.pool);
    expect(await accounts()).toBe(3);
    const rows = await store.pool.query('SELECT count(*)::int AS n FROM subscriber_tallies');
    expect(rows.rows[0].n).toBe(3);
    await expect(
      store.pool.query('UPDATE cloud_subscribers SET license_id = $2 WHERE license_id = $1', [
        licenses[0],
        licenses[2],
      ]),
    ).rejects.toThrow(/cannot move to another license/);
  });
});
