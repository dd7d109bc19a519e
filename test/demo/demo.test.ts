import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { type Demo, startDemo } from '../../src/demo/demo.ts';
import { demoWanted } from '../../src/demo/demo-mode.ts';
import { demoOrg } from '../../src/demo/demo-org.ts';
import { createLogger } from '../../src/log.ts';
import { runCliInProcess } from '../support/cli.ts';
import { startServiceProcess } from '../support/processes.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

/** Environment of a `seatkeeper start` with nothing configured: no connector, no chat platform, no database server. */
function bareEnv(dataDir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (
      /^(M365_|ADOBE_|GOOGLE_|GITHUB_|CSV_|SLACK_|MICROSOFT_|DATABASE_URL|SEATKEEPER_|PERSON_SOURCE)/.test(
        name,
      )
    )
      continue;
    env[name] = value;
  }
  // Keep the test certificate's directory: the demo must make and trust its own anyway.
  for (const name of ['SEATKEEPER_TEST_TLS_DIR', 'SEATKEEPER_TEST_PGLITE_TEMPLATE']) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  return { ...env, SEATKEEPER_DATA_DIR: dataDir, NODE_ENV: 'development' };
}

describe('the demo organisation', () => {
  it('is the same company for the same size, seed and date', () => {
    const now = new Date('2026-11-20T08:00:00Z');
    const a = demoOrg({ people: 200, now });
    const b = demoOrg({ people: 200, now });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.people).toHaveLength(200);
    expect(new Set(a.people.map((p) => p.email)).size).toBe(200);
    const other = demoOrg({ people: 200, now, seed: 7 });
    expect(other.people.map((p) => p.email)).not.toEqual(a.people.map((p) => p.email));
  });

  it('runs on start only when nothing is configured, unless SEATKEEPER_DEMO says otherwise', () => {
    const config = (env: Record<string, string>) => loadConfig({ LOG_LEVEL: 'silent', ...env });
    expect(demoWanted(config({}))).toBe(true);
    expect(demoWanted(config({ SEATKEEPER_DEMO: '0' }))).toBe(false);
    expect(demoWanted(config({ CSV_DIR: '/srv/csv' }))).toBe(false);
    expect(demoWanted(config({ SLACK_BOT_TOKEN: 'xoxb-1' }))).toBe(false);
    expect(demoWanted(config({ MICROSOFT_APP_ID: 'app', MICROSOFT_APP_TENANT_ID: 'tenant' }))).toBe(false);
    expect(demoWanted(config({ CSV_DIR: '/srv/csv', SEATKEEPER_DEMO: '1' }))).toBe(true);
    expect(() => config({ SEATKEEPER_DEMO: 'yes' })).toThrow(
      /SEATKEEPER_DEMO is invalid: expected one of 0, 1/,
    );
  });
});

describe('seatkeeper demo', () => {
  it('refuses arguments other than --people N', async () => {
    for (const args of [['--people'], ['--people', 'many'], ['--people', '10'], ['--size', '100']]) {
      const run = await runCliInProcess(['demo', ...args]);
      expect(run.code).toBe(2);
      expect(run.err).toContain("'demo' takes only --people N");
    }
  });
});

describe('the demo, in-process with a small organisation', () => {
  let db: TestDatabase;
  let dir: string;
  let demo: Demo;
  let logs = '';

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'sk-demo-'));
    const out = new PassThrough();
    out.on('data', (chunk) => {
      logs += chunk;
    });
    const config = loadConfig({ LOG_LEVEL: 'info', PORT: '0', NODE_ENV: 'test', SEATKEEPER_DATA_DIR: dir });
    demo = await startDemo({
      config,
      log: createLogger('info', out),
      people: 150,
      now: new Date(),
      dir: join(dir, 'demo'),
      databaseUrl: db.env.DATABASE_URL,
    });
  });
  afterAll(async () => {
    await demo?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports all fifteen apps through the real connectors, with contracts and budgets', async () => {
    const pool = demo.service.store.pool;
    const runs = await pool.query<{ source: string; outcome: string }>(
      'SELECT source, outcome FROM import_runs ORDER BY id',
    );
    expect(runs.rows).toEqual(
      ['m365', 'adobe', 'google', 'github', 'csv'].map((source) => ({ source, outcome: 'succeeded' })),
    );
    const licenses = await pool.query<{ sku: string; unit_price: string | null }>(
      'SELECT sku, unit_price FROM licenses ORDER BY sku',
    );
    expect(licenses.rows).toHaveLength(15);
    expect(licenses.rows.filter((l) => l.unit_price === null)).toEqual([]);
    const persons = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM persons');
    expect(persons.rows[0]?.n).toBe(150);
    const budgets = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM budgets');
    expect(budgets.rows[0]?.n).toBe(demo.org.budgets.length);
    // The vendors saw the calls a real import makes: a token, then the directory.
    expect(demo.vendors.graph.server.calls(/^\/v1\.0\/users$/, 'GET').length).toBeGreaterThan(0);
    expect(demo.vendors.adobe.calls(/^\/v2\/usermanagement\/users\//, 'GET').length).toBeGreaterThan(0);
  });

  it('has open findings of every kind the demo is meant to show', async () => {
    const found = await demo.service.store.pool.query<{ kind: string; n: number }>(
      `SELECT kind, count(*)::int AS n FROM findings WHERE status = 'open' GROUP BY kind`,
    );
    const counts = Object.fromEntries(found.rows.map((r) => [r.kind, r.n]));
    for (const kind of ['idle', 'departed', 'duplicate', 'overage', 'unmatched', 'shadow', 'unassigned']) {
      expect(counts[kind], kind).toBeGreaterThan(0);
    }
  });

  it('serves the service and logs a banner with a sign-in link and how to turn the demo off', async () => {
    const health = await fetch(`${demo.url}/healthz`);
    expect(health.status).toBe(200);
    expect(logs).toContain('DEMO MODE');
    expect(logs).toContain('SEATKEEPER_DEMO=0');
    const link = /(http:\/\/127\.0\.0\.1:\d+\/auth\/link\?token=[\w-]+)/.exec(logs)?.[1];
    expect(link).toBeDefined();
    const signIn = await fetch(link as string, { redirect: 'manual' });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get('set-cookie')).toMatch(/seatkeeper_session=/);
    const cookie = (signIn.headers.get('set-cookie') as string).split(';')[0] as string;
    // Every page of the demo says it is one, and how to turn it off.
    for (const path of ['/dashboard', '/console']) {
      const page = await fetch(`${demo.url}${path}`, { headers: { cookie } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('class="demo-notice"');
      expect(html).toContain('SEATKEEPER_DEMO=0');
    }
  });
});

describe('seatkeeper start', () => {
  it('runs the demo in its own data directory when nothing is configured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-demo-start-'));
    try {
      const service = await startServiceProcess(bareEnv(dir), 150_000);
      try {
        const banner = () => service.lines.some((l) => l.includes('demo: ready'));
        await expect.poll(banner, { timeout: 150_000 }).toBe(true);
        expect(service.lines.join('\n')).toContain(`embedded database in ${join(dir, 'demo', 'db')}`);
        // The operator's own embedded database is never created by the demo.
        expect(existsSync(join(dir, 'pgdata'))).toBe(false);
        const health = await fetch(`${service.url}/healthz`);
        expect(health.status).toBe(200);
      } finally {
        expect(await service.stop()).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The full 2,000-person organisation, imported by a second process: minutes on a busy CI machine, not seconds.
  }, 300_000);

  it('does not run the demo with SEATKEEPER_DEMO=0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-demo-off-'));
    // A migrated template saves PGlite's initdb, as for every other test database.
    const template = process.env.SEATKEEPER_TEST_PGLITE_TEMPLATE;
    if (template && existsSync(template)) cpSync(template, join(dir, 'pgdata'), { recursive: true });
    try {
      const service = await startServiceProcess({ ...bareEnv(dir), SEATKEEPER_DEMO: '0' });
      try {
        const text = service.lines.join('\n');
        expect(text).not.toContain('DEMO MODE');
        expect(text).toContain('No connector is configured');
        expect(text).toContain(`embedded database in ${dir}`);
      } finally {
        expect(await service.stop()).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
