import type pg from 'pg';

/**
 * Runs `work` in one transaction on one connection: committed when it returns (and `keep` approves the value),
 * rolled back when it throws or `keep` says no (a handler's expected failure undoes what it wrote).
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  keep: (value: T) => boolean = () => true,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const value = await work(client);
    await client.query(keep(value) ? 'COMMIT' : 'ROLLBACK');
    return value;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
