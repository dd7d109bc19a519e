/**
 * Query latency on an imported organisation: each question asked through the product (the registry's command, with
 * an Actor, as a chat surface asks it; the App Home and dashboard aggregates as they are composed) beside a
 * hand-written indexed SQL answer to the same question, the two alternating so that both see the same machine.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ArgValues, executeCommand, findCommand } from '../handlers/registry.ts';
import type { Actor, HandlerContext } from '../handlers/types.ts';
import { loadConfig } from '../src/config/config.ts';
import { policyOf, recomputeFindings } from '../src/findings/recompute.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { composeHome } from '../src/surfaces/slack/home.ts';
import { BENCH_SKUS, userFacts, usersFor } from './org.ts';

export interface LatencySummary {
  p50: number;
  p99: number;
  samples: number;
}

export interface QueryMeasure {
  name: string;
  handler: LatencySummary;
  raw: LatencySummary;
}

const ACTOR: Actor = {
  id: 'slack:UBENCH',
  email: 'it@bench.example',
  personId: null,
  displayName: 'Bench Admin',
  roles: ['admin'],
  surface: 'slack',
};

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

function summary(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), samples: sorted.length };
}

/** A small deterministic generator for the questions' parameters. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Case {
  name: string;
  handler: (r: number) => Promise<unknown>;
  raw: (r: number) => Promise<unknown>;
}

async function command(ctx: HandlerContext, name: string, args: ArgValues): Promise<unknown> {
  const spec = findCommand(name);
  if (!spec) throw new Error(`no command ${name}`);
  const result = await executeCommand(ctx, spec, args);
  if (!result.ok) throw new Error(`${name}: ${result.error.message}`);
  return result.value;
}

const SUBSCRIBER_SQL = `s.id, s.email, s.login, l.sku, l.name, l.vendor, p.primary_email, s.is_active,
  s.last_activity_at, s.last_activity_source, s.assigned_at, l.id AS license_id, s.vendor_account_id`;

function cases(store: Store, ctx: HandlerContext, accounts: number): Case[] {
  const pool = store.pool;
  const users = usersFor(accounts);
  const email = (r: number) => userFacts(Math.floor(r * users)).mail;
  const sku = (r: number) =>
    (BENCH_SKUS[Math.floor(r * BENCH_SKUS.length)] as { partNumber: string }).partNumber;
  const page = { limit: 20, offset: 0 };
  const list: Case[] = [
    {
      name: 'who-has <app>',
      handler: (r) => command(ctx, 'who-has', { query: sku(r), ...page }),
      raw: async (r) => {
        const license = `(SELECT id FROM licenses WHERE sku = $1 AND source = 'm365')`;
        await pool.query(
          `SELECT ${SUBSCRIBER_SQL} FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
           LEFT JOIN persons p ON p.id = s.person_id
           WHERE s.license_id = ${license}
           ORDER BY s.is_active DESC NULLS LAST, lower(COALESCE(s.email, s.login)) COLLATE "C", s.id LIMIT 20`,
          [sku(r)],
        );
        await pool.query(`SELECT count(*) FROM cloud_subscribers WHERE license_id = ${license}`, [sku(r)]);
      },
    },
    {
      name: 'who-has <e-mail>',
      handler: (r) => command(ctx, 'who-has', { query: email(r), ...page }),
      raw: (r) =>
        pool.query(
          `SELECT ${SUBSCRIBER_SQL} FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
           LEFT JOIN persons p ON p.id = s.person_id
           WHERE s.person_id = (SELECT person_id FROM person_emails WHERE email = lower($1))
           UNION
           SELECT ${SUBSCRIBER_SQL} FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
           LEFT JOIN persons p ON p.id = s.person_id
           WHERE lower(s.email) = lower($1)`,
          [email(r)],
        ),
    },
    {
      name: 'person <e-mail>',
      handler: (r) => command(ctx, 'person', { email: email(r) }),
      raw: async (r) => {
        const found = await pool.query<{ id: string }>(
          `SELECT p.*, ARRAY(SELECT e2.email FROM person_emails e2 WHERE e2.person_id = p.id) AS aliases
           FROM person_emails e JOIN persons p ON p.id = e.person_id WHERE e.email = lower($1)`,
          [email(r)],
        );
        await pool.query(
          `SELECT ${SUBSCRIBER_SQL} FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
           LEFT JOIN persons p ON p.id = s.person_id WHERE s.person_id = $1`,
          [found.rows[0]?.id],
        );
      },
    },
    {
      name: 'seats',
      handler: () => command(ctx, 'seats', page),
      raw: () =>
        pool.query(
          `SELECT l.*, count(*) OVER () FROM licenses l WHERE l.present ORDER BY l.name, l.sku, l.id LIMIT 20`,
        ),
    },
    {
      name: 'findings',
      handler: () => command(ctx, 'findings', { status: 'open', ...page }),
      raw: async () => {
        await pool.query(
          `SELECT f.*, l.sku, l.name, l.vendor, s.email, p.primary_email
           FROM (SELECT * FROM findings WHERE status = 'open'
                 ORDER BY savings DESC NULLS LAST, kind, id LIMIT 20) f
           LEFT JOIN licenses l ON l.id = f.license_id
           LEFT JOIN cloud_subscribers s ON s.id = f.subscriber_id
           LEFT JOIN persons p ON p.id = f.person_id
           ORDER BY f.savings DESC NULLS LAST, f.kind, f.id`,
        );
        await pool.query(`SELECT count(*) FROM findings WHERE status = 'open'`);
      },
    },
    {
      name: 'App Home (Slack)',
      handler: () => composeHome(ctx),
      raw: () => homeRaw(store),
    },
  ];
  return list;
}

/** The App Home's questions, hand-written: savings, utilization, top findings, renewals, clearing, imports. */
async function homeRaw(store: Store): Promise<void> {
  const pool = store.pool;
  await Promise.all([
    pool.query(
      `SELECT currency, sum(savings), count(*), sum(seats) FROM findings WHERE status = 'open' GROUP BY currency`,
    ),
    pool.query(
      `SELECT l.*, count(*) OVER () FROM licenses l WHERE l.present ORDER BY l.name, l.sku, l.id LIMIT 15`,
    ),
    pool.query(
      `SELECT f.*, l.sku, l.name, s.email
       FROM (SELECT * FROM findings WHERE status = 'open'
             ORDER BY savings DESC NULLS LAST, kind, id LIMIT 5) f
       LEFT JOIN licenses l ON l.id = f.license_id
       LEFT JOIN cloud_subscribers s ON s.id = f.subscriber_id`,
    ),
    pool.query(
      `SELECT * FROM licenses WHERE present AND next_lifecycle_at < now() + interval '90 days'
       ORDER BY next_lifecycle_at LIMIT 5`,
    ),
    pool.query(
      `SELECT count(*) FROM cloud_subscribers WHERE person_id IS NULL AND is_active AND account_kind = 'person'`,
    ),
    pool.query(
      `SELECT DISTINCT ON (source) source, outcome, started_at, finished_at FROM import_runs
       ORDER BY source, started_at DESC, id DESC`,
    ),
  ]);
}

/** The web dashboard's first screen, when this version has one. */
async function dashboardCase(ctx: HandlerContext, store: Store): Promise<Case | undefined> {
  const path = fileURLToPath(new URL('../handlers/dashboard.ts', import.meta.url));
  if (!existsSync(path)) return undefined;
  const module = (await import(path)) as {
    dashboardSummary?: (ctx: HandlerContext) => Promise<{ ok: boolean; error?: { message: string } }>;
  };
  const summarize = module.dashboardSummary;
  if (!summarize) return undefined;
  return {
    name: 'dashboard summary',
    handler: async () => {
      const result = await summarize(ctx);
      if (!result.ok) throw new Error(`dashboard: ${result.error?.message}`);
    },
    raw: () => homeRaw(store),
  };
}

/**
 * Turns a freshly imported organisation into one as it stands months later: the accounts were first seen half a
 * year ago (so seats without recent activity are idle, not in their grace period), and the findings are recomputed.
 */
export async function ageOrganisation(databaseUrl: string): Promise<void> {
  const config = loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' });
  const store = await openStore(config);
  const client = await store.pool.connect();
  try {
    await client.query(
      `UPDATE cloud_subscribers SET first_import_at = first_import_at - interval '180 days',
         updated_at = updated_at - interval '180 days'`,
    );
    await client.query('VACUUM ANALYZE cloud_subscribers, persons, person_emails, licenses');
    await recomputeFindings(client, policyOf(config), new Date());
    await client.query('VACUUM ANALYZE cloud_subscribers');
    await client.query('VACUUM ANALYZE findings');
  } finally {
    client.release();
    await store.close();
  }
}

/**
 * Asks every question `iterations` times (fewer if a question's time budget runs out) on the database at
 * `databaseUrl`, which holds an imported organisation of `accounts` accounts.
 */
export async function measureQueries(
  databaseUrl: string,
  accounts: number,
  options: { iterations: number; budgetSeconds: number },
): Promise<QueryMeasure[]> {
  const config = loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', DATABASE_POOL_SIZE: '10' });
  const store = await openStore(config);
  try {
    const ctx: HandlerContext = { store, config, actor: ACTOR, now: () => new Date() };
    const all = cases(store, ctx, accounts);
    const dashboard = await dashboardCase(ctx, store);
    if (dashboard) all.push(dashboard);
    const results: QueryMeasure[] = [];
    for (const [i, c] of all.entries()) {
      const random = rng(1000 + i);
      // One of each first, unmeasured: plans cached, pages in memory.
      await c.handler(random());
      await c.raw(random());
      const handler: number[] = [];
      const raw: number[] = [];
      const deadline = performance.now() + options.budgetSeconds * 1000;
      for (let n = 0; n < options.iterations && (n < 10 || performance.now() < deadline); n++) {
        const r = random();
        let t = performance.now();
        await c.handler(r);
        handler.push(performance.now() - t);
        t = performance.now();
        await c.raw(r);
        raw.push(performance.now() - t);
      }
      results.push({ name: c.name, handler: summary(handler), raw: summary(raw) });
    }
    return results;
  } finally {
    await store.close();
  }
}
