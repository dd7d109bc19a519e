import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Config } from '../config/config.ts';
import { type EmbeddedServer, findRunningServer, startEmbeddedServer } from './embedded.ts';
import * as schema from './schema.ts';

// Ids are bigserial but stay far below 2^53; dates (not timestamps) stay 'YYYY-MM-DD' strings so no time zone
// shifts them.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);

export type Db = NodePgDatabase<typeof schema>;

export interface Store {
  pool: pg.Pool;
  db: Db;
  /** `server` (DATABASE_URL) or `embedded` (PGlite in SEATKEEPER_DATA_DIR). */
  kind: 'server' | 'embedded';
  /** Where the data is, without credentials: safe to log. */
  location: string;
  /** True when this process opened the embedded database (and serves it to CLI commands). */
  servesEmbedded: boolean;
  close(): Promise<void>;
}

/** The database cannot be reached or opened; the message names the setting to check. */
export class StoreUnavailableError extends Error {}

export type StoreConfig = Pick<Config, 'DATABASE_URL' | 'SEATKEEPER_DATA_DIR' | 'DATABASE_POOL_SIZE'>;

/** Describes a connection string without its password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'an unparsable URL';
  }
}

/**
 * Opens the store. With DATABASE_URL: a pool to that server. Without it: the embedded database — through the
 * running service when one holds the data directory (`preferRunning`, what CLI commands do), else opened here.
 */
export async function openStore(
  config: StoreConfig,
  options: { preferRunning?: boolean } = {},
): Promise<Store> {
  if (config.DATABASE_URL) {
    const location = describeDatabaseUrl(config.DATABASE_URL);
    const pool = new pg.Pool({
      connectionString: config.DATABASE_URL,
      max: config.DATABASE_POOL_SIZE,
      connectionTimeoutMillis: 10_000,
    });
    survivePoolErrors(pool);
    await probe(pool, `Cannot reach the database at DATABASE_URL (${location})`);
    return {
      pool,
      db: drizzle(pool, { schema }),
      kind: 'server',
      location,
      servesEmbedded: false,
      close: () => pool.end(),
    };
  }

  let embedded: EmbeddedServer | undefined;
  let address = options.preferRunning ? await findRunningServer(config.SEATKEEPER_DATA_DIR) : undefined;
  if (!address) {
    try {
      embedded = await startEmbeddedServer(config.SEATKEEPER_DATA_DIR);
    } catch (error) {
      throw new StoreUnavailableError(
        `Cannot open the embedded database in SEATKEEPER_DATA_DIR (${config.SEATKEEPER_DATA_DIR}): ${(error as Error).message}`,
      );
    }
    address = embedded.address;
  }
  // pglite-socket runs one statement at a time for all connections (and keeps a transaction to the connection
  // that opened it), so a few connections are plenty.
  const pool = new pg.Pool({
    host: address.host,
    port: address.port,
    user: 'postgres',
    database: 'postgres',
    max: 4,
    connectionTimeoutMillis: 30_000,
  });
  survivePoolErrors(pool);
  const location = `embedded database in ${embedded?.dataDir ?? config.SEATKEEPER_DATA_DIR}${embedded ? '' : ' (through the running service)'}`;
  try {
    await probe(pool, `Cannot reach the ${location} (SEATKEEPER_DATA_DIR)`);
  } catch (error) {
    await pool.end().catch(() => undefined);
    await embedded?.stop();
    throw error;
  }
  return {
    pool,
    db: drizzle(pool, { schema }),
    kind: 'embedded',
    location,
    servesEmbedded: embedded !== undefined,
    async close() {
      await pool.end();
      await embedded?.stop();
    },
  };
}

/**
 * A connection the server drops (a restart, an administrator, a failover) must fail the query that was using it, not
 * crash the process: pg emits such errors on the client object, where nobody listens while it is checked out.
 */
function survivePoolErrors(pool: pg.Pool): void {
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
}

async function probe(pool: pg.Pool, what: string): Promise<void> {
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new StoreUnavailableError(
      `${what}: ${(error as Error).message || (error as { code?: string }).code}`,
    );
  }
}
