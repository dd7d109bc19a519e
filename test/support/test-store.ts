/**
 * Real databases for tests: a fresh PostgreSQL database on the server named by TEST_DATABASE_URL, or a fresh
 * embedded PGlite database in a temporary directory. Each call gets its own database, so tests never share state.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Config, loadConfig } from '../../src/config/config.ts';
import { migrateStore } from '../../src/store/migrate.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { TEMPLATE_ENV } from './global-setup.ts';

export type Backend = 'server' | 'embedded';

/** The backends this run can test: embedded always, the server when TEST_DATABASE_URL is set. */
export const BACKENDS: Backend[] = process.env.TEST_DATABASE_URL ? ['server', 'embedded'] : ['embedded'];

/** The backend most tests use: the server when there is one (faster to create), else embedded. */
export const DEFAULT_BACKEND: Backend = BACKENDS[0] as Backend;

export interface TestDatabase {
  backend: Backend;
  /** Environment that points Seatkeeper at this database (for configs and child processes). */
  env: Record<string, string>;
  config: Config;
  /** Opens a store on it, migrated. Close it yourself, or let `drop()` do it. */
  open(): Promise<Store>;
  drop(): Promise<void>;
}

export async function createTestDatabase(backend: Backend = DEFAULT_BACKEND): Promise<TestDatabase> {
  const opened: Store[] = [];
  const closeAll = async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => undefined);
  };
  let env: Record<string, string>;
  let dropData: () => Promise<void>;
  if (backend === 'server') {
    const adminUrl = process.env.TEST_DATABASE_URL as string;
    const name = `seatkeeper_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    env = { DATABASE_URL: url.toString() };
    dropData = async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'sk-'));
    const template = process.env[TEMPLATE_ENV];
    // A migrated template saves each test file PGlite's initdb (seconds).
    if (template && existsSync(template)) cpSync(template, join(dir, 'pgdata'), { recursive: true });
    env = { SEATKEEPER_DATA_DIR: dir };
    dropData = async () => rmSync(dir, { recursive: true, force: true });
  }
  const config = loadConfig({ ...env, LOG_LEVEL: 'silent', NODE_ENV: 'test' });
  return {
    backend,
    env,
    config,
    async open() {
      // A second store on the same embedded database connects through the first, as a CLI command would.
      const store = await openStore(config, { preferRunning: true });
      opened.push(store);
      await migrateStore(store);
      return store;
    },
    async drop() {
      await closeAll();
      await dropData();
    },
  };
}
