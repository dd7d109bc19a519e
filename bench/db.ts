/** Scratch databases on the benchmark server: made from one migrated template, dropped when done. */
import pg from 'pg';
import { loadConfig } from '../src/config/config.ts';
import { migrateStore } from '../src/store/migrate.ts';
import { openStore } from '../src/store/store.ts';

export const DEFAULT_BENCH_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** The URL of database `name` on the server of `adminUrl`. */
export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Databases of this run share a prefix, so that an interrupted run's leftovers are easy to find and drop. */
export class ScratchDatabases {
  private readonly prefix = `seatkeeper_bench_${process.pid}`;
  private readonly made: string[] = [];
  private template?: string;
  private counter = 0;

  constructor(readonly adminUrl: string) {}

  /** A fresh, migrated database. */
  async create(label: string): Promise<ScratchDatabase> {
    const template = await this.migratedTemplate();
    const name = `${this.prefix}_${label}_${++this.counter}`;
    await admin(this.adminUrl, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
    this.made.push(name);
    return {
      name,
      url: databaseUrl(this.adminUrl, name),
      drop: () => this.dropOne(name),
    };
  }

  /** Runs `work` on the migrated template, so that every database made after it starts with its effect. */
  async prepare(work: (url: string) => Promise<void>): Promise<void> {
    const template = await this.migratedTemplate();
    await work(databaseUrl(this.adminUrl, template));
  }

  /** Leaves database `name` out of `dropAll`. */
  spare(name: string): void {
    const i = this.made.indexOf(name);
    if (i >= 0) this.made.splice(i, 1);
  }

  async dropAll(): Promise<void> {
    for (const name of [...this.made]) await this.dropOne(name);
  }

  private async dropOne(name: string): Promise<void> {
    await admin(this.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    const i = this.made.indexOf(name);
    if (i >= 0) this.made.splice(i, 1);
  }

  private async migratedTemplate(): Promise<string> {
    if (this.template) return this.template;
    const name = `${this.prefix}_template`;
    await admin(this.adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
    this.made.push(name);
    const config = loadConfig({ DATABASE_URL: databaseUrl(this.adminUrl, name), LOG_LEVEL: 'silent' });
    const store = await openStore(config);
    try {
      await migrateStore(store);
    } finally {
      await store.close();
    }
    this.template = name;
    return name;
  }
}

/** PostgreSQL's version string, for the machine description. */
export function serverVersion(adminUrl: string): Promise<string> {
  return admin(adminUrl, async (c) => {
    const r = await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    return r.rows[0]?.v ?? 'unknown';
  });
}
