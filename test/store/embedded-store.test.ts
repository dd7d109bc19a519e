import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

describe('the embedded database under concurrent connections', () => {
  let db: TestDatabase;
  afterEach(async () => db?.drop());

  it('answers many concurrent parameterized queries from many connections correctly', async () => {
    db = await createTestDatabase('embedded');
    const store = await db.open();
    // A second process's view: its own pool through the same socket (what a CLI command does).
    const other = await db.open();
    // Different statement shapes: an interleaved Parse from another connection would bind the wrong statement.
    const queries = Array.from({ length: 400 }, (_, i) => {
      const pool = (i % 2 ? store : other).pool;
      return i % 3 === 0
        ? pool.query('SELECT $1::int * 2 AS n, $2::text AS t', [i, `row-${i}`]).then((r) => r.rows[0])
        : i % 3 === 1
          ? pool.query('SELECT $1::text AS t', [`row-${i}`]).then((r) => r.rows[0])
          : pool
              .query('SELECT $1::int AS a, $2::int AS b, $3::int AS c', [i, i + 1, i + 2])
              .then((r) => r.rows[0]);
    });
    const rows = await Promise.all(queries);
    rows.forEach((row, i) => {
      const expected =
        i % 3 === 0
          ? { n: i * 2, t: `row-${i}` }
          : i % 3 === 1
            ? { t: `row-${i}` }
            : { a: i, b: i + 1, c: i + 2 };
      expect(row).toEqual(expected);
    });
  });

  it('keeps transactions of different connections apart', async () => {
    db = await createTestDatabase('embedded');
    const store = await db.open();
    await store.pool.query('CREATE TABLE tx_probe (who text, n int)');
    const run = async (who: string) => {
      const client = await store.pool.connect();
      try {
        await client.query('BEGIN');
        for (let n = 0; n < 20; n++) await client.query('INSERT INTO tx_probe VALUES ($1, $2)', [who, n]);
        const seen = await client.query<{ c: number }>(
          'SELECT count(*)::int AS c FROM tx_probe WHERE who = $1',
          [who],
        );
        if (who === 'b') {
          await client.query('ROLLBACK');
        } else {
          await client.query('COMMIT');
        }
        return seen.rows[0]?.c;
      } finally {
        client.release();
      }
    };
    const [a, b, c] = await Promise.all([run('a'), run('b'), run('c')]);
    expect([a, b, c]).toEqual([20, 20, 20]);
    const kept = await store.pool.query(
      'SELECT who, count(*)::int AS c FROM tx_probe GROUP BY who ORDER BY who',
    );
    expect(kept.rows).toEqual([
      { who: 'a', c: 20 },
      { who: 'c', c: 20 },
    ]);
  });

  it('rolls back what a connection that dies mid-transaction left open', async () => {
    db = await createTestDatabase('embedded');
    const store = await db.open();
    await store.pool.query('CREATE TABLE orphan_probe (n int)');
    const conn = store.pool.options;
    const client = new pg.Client({
      host: conn.host,
      port: conn.port,
      user: 'postgres',
      database: 'postgres',
    });
    await client.connect();
    client.on('error', () => undefined);
    await client.query('BEGIN');
    await client.query('INSERT INTO orphan_probe VALUES (1)');
    // The connection drops without COMMIT: the others must not wait forever nor see its row.
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    const count = await store.pool.query<{ c: number }>('SELECT count(*)::int AS c FROM orphan_probe');
    expect(count.rows[0]?.c).toBe(0);
  });
});
