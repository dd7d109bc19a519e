/**
 * `npm run bench`: imports of 10k, 100k and 1M accounts against the COPY floor, query latency and chat endpoints
 * under load on the largest organisation, written to BENCHMARKS.md and docs/bench-scaling.svg.
 *
 *   npm run bench                      the full run (about 15 minutes on 2 cores)
 *   npm run bench -- --quick           small sizes, short load: a sanity run, written to a temporary directory
 *   --sizes 10000,100000   --runs N   --query-runs N   --chat-runs N   --chat-seconds S   --chat-rate R
 *   --no-queries   --no-chat   --out FILE   --chart FILE   --with-indexes (apply the proposed indexes first)
 *   --keep (leave the largest organisation's database in place and print its URL, to look into it afterwards)
 *
 * BENCH_DATABASE_URL names the PostgreSQL server (default the local one); the run makes and drops its own
 * databases there (`seatkeeper_bench_*`).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { TLS_DIR_ENV, writeTestCertificate } from '../test/fakes/tls.ts';
import { type LoadMeasure, measureChatLoad } from './chat-load.ts';
import { DEFAULT_BENCH_DATABASE_URL, type ScratchDatabase, ScratchDatabases, serverVersion } from './db.ts';
import { type ImportMeasure, measureImport } from './import-bench.ts';
import { PROPOSED_INDEXES, shortfallNotes } from './notes.ts';
import { ageOrganisation, measureQueries, type QueryMeasure } from './queries.ts';
import { type BenchRun, benchmarksMarkdown, scalingSvg } from './report.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Options {
  quick: boolean;
  sizes: number[];
  runs: (size: number) => number;
  queryRuns: number;
  chatRuns: number;
  chatSeconds: number;
  chatRate: number;
  queries: boolean;
  chat: boolean;
  out: string;
  chart: string;
  withIndexes: boolean;
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
    return v;
  };
  const number = (name: string, fallback: number) => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1 (got '${v}')`);
    return n;
  };
  const known = new Set([
    'quick',
    'sizes',
    'runs',
    'query-runs',
    'chat-runs',
    'chat-seconds',
    'chat-rate',
    'no-queries',
    'no-chat',
    'out',
    'chart',
    'with-indexes',
    'keep',
  ]);
  for (const arg of argv)
    if (arg.startsWith('--') && !known.has(arg.slice(2))) throw new Error(`unknown option ${arg}`);
  const quick = argv.includes('--quick');
  const sizes = (value('sizes') ?? (quick ? '2000,10000' : '10000,100000,1000000')).split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 100) throw new Error(`--sizes: '${s}' is not a size of at least 100`);
    return n;
  });
  const runsOverride = value('runs') === undefined ? undefined : number('runs', 1);
  const scratchDir =
    quick && value('out') === undefined ? mkdtempSync(join(tmpdir(), 'seatkeeper-bench-')) : ROOT;
  return {
    quick,
    sizes,
    runs: (size) => runsOverride ?? (quick ? 2 : size >= 1_000_000 ? 3 : size >= 100_000 ? 3 : 5),
    queryRuns: number('query-runs', quick ? 1 : 2),
    chatRuns: number('chat-runs', quick ? 1 : 2),
    chatSeconds: number('chat-seconds', quick ? 5 : 60),
    chatRate: number('chat-rate', 200),
    queries: !argv.includes('--no-queries'),
    chat: !argv.includes('--no-chat'),
    out: resolve(value('out') ?? join(scratchDir, 'BENCHMARKS.md')),
    chart: resolve(
      value('chart') ?? join(scratchDir, quick ? 'bench-scaling.svg' : 'docs/bench-scaling.svg'),
    ),
    withIndexes: argv.includes('--with-indexes'),
    keep: argv.includes('--keep'),
  };
}

const say = (text: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const adminUrl = process.env.BENCH_DATABASE_URL || DEFAULT_BENCH_DATABASE_URL;
  const startedAt = new Date();
  const reference = Date.UTC(startedAt.getUTCFullYear(), startedAt.getUTCMonth(), startedAt.getUTCDate());

  // The vendor fakes serve HTTPS with a certificate made for this run; the child processes trust it.
  const tlsDir = mkdtempSync(join(tmpdir(), 'seatkeeper-bench-tls-'));
  const { certFile } = await writeTestCertificate(tlsDir);
  process.env[TLS_DIR_ENV] = tlsDir;

  const scratch = new ScratchDatabases(adminUrl);
  const machine = {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGb: totalmem() / 1024 ** 3,
    node: process.version,
    postgres: await serverVersion(adminUrl),
    os: `${type()} ${release()}`,
    loadAverage: loadavg(),
  };
  say(
    `machine: ${machine.cpu}, ${machine.cores} cores, PostgreSQL ${machine.postgres}, Node ${machine.node}`,
  );
  const imports = new Map<number, ImportMeasure[]>();
  let kept: ScratchDatabase | undefined;
  let queries: BenchRun['queries'];
  let chat: BenchRun['chat'];
  try {
    if (options.withIndexes) await scratch.prepare((url) => applyIndexes(url));
    const largest = Math.max(...options.sizes);
    for (const size of [...options.sizes].sort((a, b) => a - b)) {
      const runs = options.runs(size);
      for (let i = 0; i < runs; i++) {
        const keep = size === largest && i === runs - 1 && (options.queries || options.chat);
        // A run that fails for a reason of the machine's (a dropped connection) is tried once more and said so.
        const { measure, db } = await measureImport(scratch, size, reference, certFile, keep).catch(
          (error: Error) => {
            say(
              `import of ${size} accounts, run ${i + 1}, failed (${error.message.split('\n')[0]}); trying again`,
            );
            return measureImport(scratch, size, reference, certFile, keep);
          },
        );
        if (db) kept = db;
        imports.set(size, [...(imports.get(size) ?? []), measure]);
        say(
          `import ${measure.accounts} accounts, run ${i + 1}/${runs}: ${measure.seconds.toFixed(1)} s ` +
            `(${Math.round(measure.accounts / measure.seconds)}/s), COPY ${measure.copySeconds.toFixed(2)} s, ` +
            `×${(measure.seconds / measure.copySeconds).toFixed(1)}, peak RSS ${measure.peakRssMb.toFixed(0)} MB`,
        );
      }
    }
    const accounts = imports.get(largest)?.[0]?.accounts ?? largest;
    if (kept && (options.queries || options.chat)) {
      say('ageing the largest organisation by six months (idle seats become findings)');
      await ageOrganisation(kept.url);
    }
    if (kept && options.queries) {
      const runs: QueryMeasure[][] = [];
      for (let i = 0; i < options.queryRuns; i++) {
        const set = await measureQueries(kept.url, largest, {
          iterations: options.quick ? 20 : 200,
          budgetSeconds: options.quick ? 3 : 10,
        });
        runs.push(set);
        for (const q of set)
          say(
            `query ${q.name}: p50 ${q.handler.p50.toFixed(1)} ms, p99 ${q.handler.p99.toFixed(1)} ms ` +
              `(SQL ${q.raw.p50.toFixed(1)} / ${q.raw.p99.toFixed(1)} ms, ${q.handler.samples} samples)`,
          );
      }
      queries = { accounts, runs };
    }
    if (kept && options.chat) {
      const runs: LoadMeasure[][] = [];
      for (let i = 0; i < options.chatRuns; i++) {
        const set = await measureChatLoad(kept.url, largest, certFile, {
          rate: options.chatRate,
          seconds: options.chatSeconds,
        });
        runs.push(set);
        for (const r of set)
          say(
            `load ${r.endpoint}: ${r.ok}/${r.sent} acknowledged, ${r.errors} errors, ack p50 ${r.ackP50} ms ` +
              `p99 ${r.ackP99} ms, ${r.delivered} replies delivered`,
          );
      }
      chat = { accounts, runs };
    }
  } finally {
    if (kept && options.keep) {
      scratch.spare(kept.name);
      say(`kept: ${kept.url}`);
    }
    await scratch
      .dropAll()
      .catch((error: Error) => say(`could not drop the scratch databases: ${error.message}`));
    rmSync(tlsDir, { recursive: true, force: true });
  }

  const run: BenchRun = {
    startedAt,
    finishedAt: new Date(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine,
    imports,
    queries,
    chat,
    chartPath: relative(dirname(options.out), options.chart),
  };
  mkdirSync(dirname(options.chart), { recursive: true });
  writeFileSync(options.chart, scalingSvg(imports));
  writeFileSync(options.out, benchmarksMarkdown(run, shortfallNotes(run, options.withIndexes)));
  // The report is checked with the rest of the tree: it is written in the formatter's layout.
  spawnSync(join(ROOT, 'node_modules/.bin/biome'), ['format', '--write', options.out], { stdio: 'ignore' });
  say(`written: ${options.out} and ${options.chart}`);
}

async function applyIndexes(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of PROPOSED_INDEXES) await client.query(statement);
  } finally {
    await client.end();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
