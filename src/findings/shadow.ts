/**
 * Shadow IT: apps seen in use (Entra ID OAuth grants, SSO and expense exports) recorded in `shadow_apps`, from which
 * the findings engine makes `shadow` findings for those no license is for. A scan streams a source's sightings into
 * a scratch table, then counts users and dates in SQL and merges in one transaction: the apps a source no longer
 * reports lose that source (and their finding resolves once no source is left), first-seen dates and dismissals
 * stay.
 */
import { randomBytes } from 'node:crypto';
import { createCsvShadowSource } from '../../connectors/csv-shadow.ts';
import { createM365ShadowSource } from '../../connectors/m365-shadow.ts';
import type { ConnectorDeps } from '../../connectors/types.ts';
import { type Config, configuredConnectors } from '../config/config.ts';
import { appendAudit } from '../store/audit.ts';
import type { Store } from '../store/store.ts';
import {
  type FindingsPolicy,
  NAME_KEY,
  type Queryable,
  type RecomputeResult,
  recomputeWithin,
} from './recompute.ts';
import type { ShadowObservation, ShadowSource } from './shadow-observation.ts';

/** Where shadow IT can come from. */
export const SHADOW_SOURCES = ['m365', 'csv'] as const;
export type ShadowSourceName = (typeof SHADOW_SOURCES)[number];

export interface ShadowScanResult {
  /** `m365` or `csv`. */
  source: string;
  /** Sightings read. */
  observations: number;
  /** Distinct apps this source reports now. */
  apps: number;
  /** Apps never seen before by any source. */
  newApps: number;
  /** Apps this source reported before and no longer does. */
  gone: number;
  /** Open `shadow` findings after this scan. */
  shadowFindings: number;
  findings: RecomputeResult;
}

/** The shadow sources the configuration enables (Microsoft 365 when configured; CSV_DIR when it has shadow.csv). */
export function configuredShadowSources(config: Config, deps: ConnectorDeps = {}): ShadowSource[] {
  const sources: ShadowSource[] = [];
  if (configuredConnectors(config).includes('m365')) sources.push(createM365ShadowSource(config, deps));
  const csv = config.CSV_DIR ? createCsvShadowSource(config.CSV_DIR) : undefined;
  if (csv) sources.push(csv);
  return sources;
}

// Two scans merging at once (a schedule and a command) would strip each other's sources: one at a time.
const SHADOW_LOCK = 7_310_214_005;

/**
 * Reads every sighting of `source` and merges them into `shadow_apps`, then recomputes findings — all of it in one
 * transaction after the source has been read completely, so a source that fails halfway changes nothing.
 */
export async function recordShadowScan(
  store: Store,
  source: ShadowSource,
  options: {
    policy: FindingsPolicy;
    now: Date;
    actor: string;
    surface: 'cli' | 'slack' | 'teams' | 'web' | 'system';
  },
): Promise<ShadowScanResult> {
  const client = await store.pool.connect();
  // A fresh name per scan: embedded PGlite shares one session (and its temporary tables) among connections.
  const table = `shadow_seen_${randomBytes(6).toString('hex')}`;
  try {
    await client.query(
      `CREATE TEMP TABLE ${table} (key text NOT NULL, app text NOT NULL, source text NOT NULL, user_id text,
         users int, all_users boolean NOT NULL, seen_at timestamptz, amount numeric, currency text, app_id text,
         publisher text, scopes text)`,
    );
    let observations = 0;
    for await (const page of source.observations()) {
      const foreign = page.find((o) => !source.sources.includes(o.source));
      if (foreign)
        throw new Error(`${source.name}: a sighting from '${foreign.source}', which it does not own`);
      await stage(client, table, page);
      observations += page.length;
    }
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [SHADOW_LOCK]);
      const merged = await merge(client, table, source.sources, options.now);
      const findings = await recomputeWithin(client, options.policy, options.now);
      const open = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM findings WHERE kind = 'shadow' AND status = 'open'`,
      );
      const shadowFindings = open.rows[0]?.n ?? 0;
      const result: ShadowScanResult = {
        source: source.name,
        observations,
        ...merged,
        shadowFindings,
        findings,
      };
      await appendAudit(client, {
        actor: options.actor,
        surface: options.surface,
        action: 'shadow.scan',
        target: `shadow:${source.name}`,
        after: result,
        at: options.now,
      });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    client.release();
  }
}

/** One multi-row insert per page. */
async function stage(client: Queryable, table: string, page: readonly ShadowObservation[]): Promise<void> {
  const col = <T>(pick: (o: ShadowObservation) => T) => page.map(pick);
  await client.query(
    `INSERT INTO ${table} (key, app, source, user_id, users, all_users, seen_at, amount, currency, app_id, publisher,
       scopes)
     SELECT ${NAME_KEY('t.app')}, btrim(t.app), t.source, lower(t.user_id), t.users, t.all_users, t.seen_at,
       t.amount, t.currency, t.app_id, t.publisher, t.scopes
     FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::boolean[], $6::timestamptz[], $7::numeric[],
       $8::text[], $9::text[], $10::text[], $11::text[])
       AS t(app, source, user_id, users, all_users, seen_at, amount, currency, app_id, publisher, scopes)`,
    [
      col((o) => o.app),
      col((o) => o.source),
      col((o) => o.user ?? null),
      col((o) => o.users ?? null),
      col((o) => o.allUsers === true),
      col((o) => o.seenAt ?? null),
      col((o) => o.amount ?? null),
      col((o) => o.currency ?? null),
      col((o) => o.appId ?? null),
      col((o) => o.publisher ?? null),
      col((o) => o.scopes ?? null),
    ],
  );
}

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Per (app, source): users, dates, spend, app ids, publisher, scopes — the evidence of one source. */
const PER_SOURCE = (table: string) => `
  base AS (
    SELECT key, source, min(app) AS app,
      GREATEST(count(DISTINCT user_id), COALESCE(max(users), 0))::int AS users,
      bool_or(all_users) AS all_users, min(seen_at) AS first_seen, max(seen_at) AS last_seen,
      array_agg(DISTINCT app_id) FILTER (WHERE app_id IS NOT NULL) AS app_ids, min(publisher) AS publisher
    FROM ${table} WHERE key <> '' GROUP BY key, source
  ),
  scopes AS (
    SELECT d.key, d.source, jsonb_agg(DISTINCT w ORDER BY w) AS scopes
    FROM (SELECT DISTINCT key, source, scopes FROM ${table} WHERE scopes IS NOT NULL) d
    CROSS JOIN LATERAL unnest(string_to_array(d.scopes, ' ')) AS w
    WHERE w <> ''
    GROUP BY d.key, d.source
  ),
  spend AS (
    SELECT key, source, jsonb_object_agg(currency, total) AS spend
    FROM (SELECT key, source, currency, sum(amount) AS total FROM ${table}
          WHERE amount IS NOT NULL GROUP BY key, source, currency) c
    GROUP BY key, source
  ),
  per_source AS (
    SELECT b.key, b.source, b.app, b.first_seen, b.last_seen,
      jsonb_strip_nulls(jsonb_build_object(
        'users', b.users,
        'allUsers', CASE WHEN b.all_users THEN true END,
        'firstSeenAt', ${ISO('b.first_seen')},
        'lastSeenAt', ${ISO('b.last_seen')},
        'appIds', to_jsonb(b.app_ids),
        'publisher', b.publisher,
        'scopes', sc.scopes,
        'spend', sp.spend)) AS evidence
    FROM base b
    LEFT JOIN scopes sc ON sc.key = b.key AND sc.source = b.source
    LEFT JOIN spend sp ON sp.key = b.key AND sp.source = b.source
  )
`;

async function merge(
  client: Queryable,
  table: string,
  scope: readonly string[],
  now: Date,
): Promise<Pick<ShadowScanResult, 'apps' | 'newApps' | 'gone'>> {
  await client.query(`ANALYZE ${table}`);
  const gone = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM shadow_apps a
     WHERE COALESCE(a.evidence->'sources', '{}'::jsonb) ?| $1::text[]
       AND NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.key = a.key)`,
    [scope],
  );
  // What this source said before is replaced by what it says now.
  await client.query(
    `UPDATE shadow_apps a
     SET evidence = jsonb_set(COALESCE(a.evidence, '{}'::jsonb), '{sources}',
       COALESCE(a.evidence->'sources', '{}'::jsonb) - $1::text[])
     WHERE COALESCE(a.evidence->'sources', '{}'::jsonb) ?| $1::text[]`,
    [scope],
  );
  const upserted = await client.query<{ apps: number; new_apps: number }>(
    `WITH ${PER_SOURCE(table)},
     per_app AS (
       SELECT key, min(app) AS name, jsonb_object_agg(source, evidence) AS sources,
         min(first_seen) AS first_seen, max(last_seen) AS last_seen
       FROM per_source GROUP BY key
     ),
     up AS (
       INSERT INTO shadow_apps AS a (key, name, source, users, evidence, first_seen_at, last_seen_at)
       SELECT key, name, '', 0, jsonb_build_object('sources', sources),
         LEAST(COALESCE(first_seen, $1), $1), COALESCE(last_seen, $1)
       FROM per_app
       ON CONFLICT (key) DO UPDATE SET
         evidence = jsonb_set(COALESCE(a.evidence, '{}'::jsonb), '{sources}',
           COALESCE(a.evidence->'sources', '{}'::jsonb) || (EXCLUDED.evidence->'sources')),
         first_seen_at = LEAST(a.first_seen_at, EXCLUDED.first_seen_at),
         last_seen_at = GREATEST(a.last_seen_at, EXCLUDED.last_seen_at)
       RETURNING (xmax = 0) AS inserted
     )
     SELECT count(*)::int AS apps, count(*) FILTER (WHERE inserted)::int AS new_apps FROM up`,
    [now],
  );
  // Users: the largest count any source gives (the same people sign in and pay); source: every source seen.
  await client.query(
    `UPDATE shadow_apps a SET users = x.users, source = x.source
     FROM (
       SELECT b.id,
         COALESCE((SELECT max((v->>'users')::int) FROM jsonb_each(b.evidence->'sources') AS e(k, v)), 0) AS users,
         -- an app no source reports any more keeps the last one that did
         COALESCE((SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(b.evidence->'sources') AS k),
           b.source) AS source
       FROM shadow_apps b
     ) x
     WHERE a.id = x.id AND ROW(a.users, a.source) IS DISTINCT FROM ROW(x.users, x.source)`,
  );
  return {
    apps: upserted.rows[0]?.apps ?? 0,
    newApps: upserted.rows[0]?.new_apps ?? 0,
    gone: gone.rows[0]?.n ?? 0,
  };
}

/** Scans the configured shadow sources (or one of them), each in its own transaction. */
export async function scanShadowApps(
  store: Store,
  config: Config,
  options: {
    only?: ShadowSourceName;
    policy: FindingsPolicy;
    now: Date;
    actor: string;
    surface: 'cli' | 'slack' | 'teams' | 'web' | 'system';
    deps?: ConnectorDeps;
  },
): Promise<ShadowScanResult[]> {
  const sources = configuredShadowSources(config, options.deps).filter(
    (s) => !options.only || s.name === options.only,
  );
  const results: ShadowScanResult[] = [];
  for (const source of sources) results.push(await recordShadowScan(store, source, options));
  return results;
}
