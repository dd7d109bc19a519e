/**
 * The measured import, in a process of its own so that its peak resident memory is the importer's alone: one
 * `importSource` of the Microsoft 365 connector (Graph pages over HTTPS → validate → stage → switch → match →
 * findings) against the database and Graph endpoint given in the environment. Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { loadConfig } from '../src/config/config.ts';
import { importSource } from '../src/inventory/import-service.ts';
import { openStore } from '../src/store/store.ts';

/** Peak resident set size of this process so far, in MiB (VmHWM). */
function peakRssMb(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

if (process.env.BENCH_TRACE_MS) traceSlowStatements(Number(process.env.BENCH_TRACE_MS));

/** Prints statements slower than `ms` to stderr: where an import spends its time. */
function traceSlowStatements(ms: number): void {
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function traced(this: pg.Client, ...args: unknown[]) {
    const started = performance.now();
    const result = query.apply(this, args);
    const text = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string })?.text);
    if (result instanceof Promise) {
      result.then(
        () => {
          const took = performance.now() - started;
          if (took >= ms)
            process.stderr.write(`${took.toFixed(0)} ms  ${text.replace(/\s+/g, ' ').slice(0, 160)}\n`);
        },
        () => undefined,
      );
    }
    return result;
  } as typeof pg.Client.prototype.query;
}

const config = loadConfig(process.env);
const store = await openStore(config);
try {
  const marks: Record<string, number> = {};
  const started = performance.now();
  const result = await importSource(store, config, 'm365', {
    trigger: 'bench',
    onProgress: ({ stream }) => {
      marks[stream] = performance.now() - started;
    },
  });
  const seconds = (performance.now() - started) / 1000;
  // The last staged page is where reading the vendor ends and the set-based switch and findings begin.
  const stagedAt = Math.max(...Object.values(marks)) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      seconds,
      stagedSeconds: stagedAt,
      streams: Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, v / 1000])),
      counts: result.counts,
      peakRssMb: peakRssMb(),
    })}\n`,
  );
} finally {
  await store.close();
}
