/**
 * One measured import: a fresh database, the Graph fake serving a generated tenant, the importer in a child process
 * (peak RSS its own), then the COPY floor of the same rows in the same database.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { GraphFake } from '../test/fakes/graph-fake.ts';
import type { ScratchDatabase, ScratchDatabases } from './db.ts';
import { copyFloorSeconds } from './floor.ts';
import { benchOrg } from './org.ts';

export interface ImportMeasure {
  accounts: number;
  seconds: number;
  stagedSeconds: number;
  copySeconds: number;
  peakRssMb: number;
  counts: Record<string, number>;
}

const CHILD = fileURLToPath(new URL('./import-child.ts', import.meta.url));

/** Environment every child process of the bench gets: the test CA trusted, nothing else inherited by accident. */
export function childEnv(caFile: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_EXTRA_CA_CERTS: caFile,
    LOG_LEVEL: 'silent',
    ...(process.env.BENCH_TRACE_MS ? { BENCH_TRACE_MS: process.env.BENCH_TRACE_MS } : {}),
    NODE_ENV: 'production',
    ...extra,
  };
}

/** Runs `node --import tsx <script>` and returns its last stdout line parsed as JSON. */
export async function runChild<T>(script: string, env: NodeJS.ProcessEnv): Promise<T> {
  // BENCH_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, shows where a measured process spends its time.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => {
    out += String(c);
  });
  child.stderr.on('data', (c) => {
    err += String(c);
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${script} exited with ${code}: ${err.trim().slice(-2000)}`);
  if (err.trim()) process.stderr.write(err);
  const last = out.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

/**
 * Imports an organisation of `accounts` accounts into a fresh database and measures the floor beside it. The
 * database is kept (for the query benchmark) when `keep` is set, else dropped.
 */
export async function measureImport(
  scratch: ScratchDatabases,
  accounts: number,
  reference: number,
  caFile: string,
  keep = false,
): Promise<{ measure: ImportMeasure; db?: ScratchDatabase }> {
  const db = await scratch.create(`i${accounts}`);
  const org = benchOrg(accounts, reference);
  const graph = await new GraphFake({ org }).start();
  try {
    const result = await runChild<Omit<ImportMeasure, 'accounts' | 'copySeconds'>>(
      CHILD,
      childEnv(caFile, {
        DATABASE_URL: db.url,
        M365_TENANT_ID: org.tenantId,
        M365_CLIENT_ID: graph.clientId,
        M365_CLIENT_SECRET: graph.clientSecret,
        GRAPH_BASE_URL: graph.url,
        MS_LOGIN_URL: graph.url,
      }),
    );
    if (result.counts.accounts !== org.accountCount) {
      throw new Error(`imported ${result.counts.accounts} accounts, the tenant has ${org.accountCount}`);
    }
    const copySeconds = await copyFloorSeconds(db.url, accounts, reference);
    const measure = { ...result, accounts: org.accountCount, copySeconds };
    if (!keep) {
      await db.drop();
      return { measure };
    }
    return { measure, db };
  } catch (error) {
    await db.drop().catch(() => undefined);
    throw error;
  } finally {
    await graph.stop();
  }
}
