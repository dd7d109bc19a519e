/**
 * The `seatkeeper` command line: operations (start, migrate, import, export) and every query command of the
 * registry. Exit codes: 0 success (also for a query that matches nothing), 1 failure, 2 usage error, 3 denied.
 */
import type { Writable } from 'node:stream';
import { CONNECTOR_NAMES, personSource } from '../../connectors/index.ts';
import { csvField, EXPORTS, exportRows } from '../../handlers/export.ts';
import {
  bindArgs,
  COMMANDS,
  type CommandSpec,
  executeCommand,
  findCommand,
  splitTokens,
  usageLine,
} from '../../handlers/registry.ts';
import { type Actor, type HandlerContext, operatorActor } from '../../handlers/types.ts';
import { loadRoles, resolveActor } from '../auth/actors.ts';
import {
  type Config,
  ConfigError,
  type ConnectorName,
  configuredConnectors,
  loadConfig,
  readDotenv,
} from '../config/config.ts';
import { demoWanted, loadDemo } from '../demo/demo-mode.ts';
import { ImportFailedError } from '../inventory/import-pipeline.ts';
import { importSource } from '../inventory/import-service.ts';
import { createLogger } from '../log.ts';
import { writeIcsExport } from '../renewals/ics-export.ts';
import { startService } from '../service.ts';
import { migrateStore } from '../store/migrate.ts';
import { openStore, type Store, StoreUnavailableError } from '../store/store.ts';
import { renderOutput } from './render.ts';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: Record<string, string | undefined>;
  /** Resolves when the process should stop (`start` waits on it); defaults to SIGTERM/SIGINT. */
  stopSignal?: Promise<unknown>;
}

export const EXIT = { ok: 0, failure: 1, usage: 2, denied: 3 } as const;

const OPERATIONS = [
  [
    'start',
    'Run the service: HTTP server, jobs and scheduled imports of every configured connector (the demo when nothing is configured; see SEATKEEPER_DEMO)',
  ],
  ['demo [--people N]', 'Run the service with a made-up company on local vendor fakes, in its own database'],
  ['migrate', 'Apply database migrations'],
  [
    `import <${[...CONNECTOR_NAMES, 'all'].join('|')}> [--skip-invalid]`,
    'Import from a configured connector now (--skip-invalid: CSV rows that fail are skipped, not fatal)',
  ],
  [
    `export <${EXPORTS.join('|')}> [--format csv|json|ics]`,
    'Write an export to standard output (CSV by default; ics: the renewals calendar)',
  ],
] as const;

export function usage(): string {
  const lines = [
    'Usage: seatkeeper <command> [arguments] [--json]',
    '',
    'Operations:',
    ...OPERATIONS.map(([name, summary]) => `  ${name}\n      ${summary}`),
    '',
    'Queries (add --json for machine-readable output):',
    ...COMMANDS.filter((c) => c.surfaces.includes('cli')).map((c) => `  ${usageLine(c)}\n      ${c.summary}`),
    '',
    'Configuration comes from the environment (and .env); see README, "Configuration".',
  ];
  return `${lines.join('\n')}\n`;
}

class UsageError extends Error {}

/** Runs one CLI invocation; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined) {
    io.stderr.write(usage());
    return EXIT.usage;
  }
  if (verb === '--help' || verb === '-h' || verb === 'help') {
    io.stdout.write(usage());
    return EXIT.ok;
  }
  let config: Config;
  try {
    config = loadConfig(io.env);
    loadRoles(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`${error.message}\n`);
      return EXIT.failure;
    }
    throw error;
  }
  try {
    if (verb === 'start') return await runStart(config, rest, io);
    if (verb === 'demo') return await runDemo(config, rest, io);
    if (verb === 'migrate') return await runMigrate(config, rest, io);
    if (verb === 'import') return await runImportVerb(config, rest, io);
    if (verb === 'export') return await runExport(config, rest, io);
    // Two-word commands ("contract set") are one registry entry.
    const twoWords = rest[0] ? findCommand(`${verb} ${rest[0]}`) : undefined;
    if (twoWords?.surfaces.includes('cli')) return await runQuery(config, twoWords, rest.slice(1), io);
    const command = findCommand(verb);
    if (!command?.surfaces.includes('cli')) {
      io.stderr.write(`Unknown command '${verb}'.\n\n${usage()}`);
      return EXIT.usage;
    }
    return await runQuery(config, command, rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${error.message}\n\n${usage()}`);
      return EXIT.usage;
    }
    if (error instanceof StoreUnavailableError || error instanceof ConfigError) {
      io.stderr.write(`${error.message}\n`);
      return EXIT.failure;
    }
    throw error;
  }
}

function noArguments(verb: string, rest: readonly string[]): void {
  if (rest.length > 0) throw new UsageError(`'${verb}' takes no arguments (got '${rest[0]}').`);
}

async function runStart(config: Config, rest: readonly string[], io: CliIo): Promise<number> {
  noArguments('start', rest);
  const log = createLogger(config.LOG_LEVEL, io.stdout);
  // Listening for the signal before starting: one sent right after the service says it listens is not lost.
  const stop = io.stopSignal ?? waitForSignal();
  if (demoWanted(config)) {
    // Loaded only for the demo: it brings the vendor fakes and the certificate generator.
    const { runDemoProcess } = await loadDemo();
    return runDemoProcess(config, io.env, io, log, stop);
  }
  const service = await startService(config, log);
  await stop;
  log.info('stopping');
  await service.stop();
  return EXIT.ok;
}

async function runDemo(config: Config, rest: readonly string[], io: CliIo): Promise<number> {
  let people: number | undefined;
  if (rest.length > 0) {
    const [flag, value] = rest;
    if (flag !== '--people' || rest.length !== 2 || !/^\d+$/.test(value ?? '') || Number(value) < 60) {
      throw new UsageError(`'demo' takes only --people N (a whole number, at least 60).`);
    }
    people = Number(value);
  }
  const log = createLogger(config.LOG_LEVEL, io.stdout);
  const { runDemoProcess } = await loadDemo();
  return runDemoProcess(config, io.env, io, log, io.stopSignal ?? waitForSignal(), people);
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

async function runMigrate(config: Config, rest: readonly string[], io: CliIo): Promise<number> {
  noArguments('migrate', rest);
  const store = await openStore(config, { preferRunning: true });
  try {
    await migrateStore(store);
    io.stdout.write(`Migrations applied (${store.location}).\n`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

/** Opens the store for a CLI command; a fresh embedded database is migrated first, a bare server is refused. */
export async function openCliStore(config: Config): Promise<Store> {
  const store = await openStore(config, { preferRunning: true });
  try {
    if (store.servesEmbedded) {
      await migrateStore(store);
    } else {
      const found = await store.pool.query<{ t: string | null }>(`SELECT to_regclass('licenses')::text AS t`);
      if (!found.rows[0]?.t) {
        throw new StoreUnavailableError(
          `The database (${store.location}) has no Seatkeeper tables yet: run 'seatkeeper migrate' or start the service.`,
        );
      }
    }
    return store;
  } catch (error) {
    await store.close();
    throw error;
  }
}

function cliContext(store: Store, config: Config, actor: Actor = operatorActor()): HandlerContext {
  return { store, config, actor, now: () => new Date() };
}

/** The CLI's surface options, understood by every command. */
const CLI_OPTIONS = [
  { name: 'json', kind: 'flag' as const, description: 'print JSON' },
  { name: 'as', kind: 'option' as const, description: 'act as this person (e-mail); their roles apply' },
];

/** The local operator, or with `--as` the person named, with the roles configuration gives them. */
async function cliActor(store: Store, config: Config, as: string | true | undefined): Promise<Actor> {
  if (typeof as !== 'string') return operatorActor();
  return resolveActor(store, loadRoles(config), { email: as }, 'cli');
}

async function runQuery(
  config: Config,
  command: CommandSpec,
  rest: readonly string[],
  io: CliIo,
): Promise<number> {
  const split = splitTokens(rest, [...command.args, ...CLI_OPTIONS]);
  if (!split.ok) throw new UsageError(`${split.error.message} Usage: seatkeeper ${usageLine(command)}`);
  const json = split.value.options.json === true;
  const as = split.value.options.as;
  delete split.value.options.json;
  delete split.value.options.as;
  const bound = bindArgs(command, split.value);
  if (!bound.ok) throw new UsageError(`${bound.error.message} Usage: seatkeeper ${usageLine(command)}`);

  const store = await openCliStore(config);
  try {
    const actor = await cliActor(store, config, as);
    const result = await executeCommand(cliContext(store, config, actor), command, bound.value);
    if (!result.ok) {
      io.stderr.write(`${result.error.message}\n`);
      if (result.error.code === 'NOT_AUTHORIZED') return EXIT.denied;
      if (result.error.code === 'INVALID_ARGUMENT') return EXIT.usage;
      return EXIT.failure;
    }
    const output = result.value;
    if (json) {
      io.stdout.write(`${JSON.stringify(output.rows, null, 2)}\n`);
    } else {
      io.stdout.write(renderOutput(output));
    }
    if (output.rows.length > 0 && output.total > output.rows.length) {
      const offset = Number(bound.value.offset ?? 0);
      io.stderr.write(
        `Showing ${offset + 1}–${offset + output.rows.length} of ${output.total}; use --limit and --offset for more.\n`,
      );
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

async function runImportVerb(config: Config, rest: readonly string[], io: CliIo): Promise<number> {
  const skipInvalid = rest.includes('--skip-invalid');
  const words = rest.filter((w) => w !== '--skip-invalid');
  const unknownFlag = words.find((w) => w.startsWith('--'));
  if (unknownFlag) throw new UsageError(`Unknown option ${unknownFlag}.`);
  if (words.length !== 1)
    throw new UsageError(`Say which connector to import: ${[...CONNECTOR_NAMES, 'all'].join(', ')}.`);
  const target = words[0] as string;
  const configured = configuredConnectors(config);
  let names: ConnectorName[];
  if (target === 'all') {
    if (configured.length === 0) {
      io.stderr.write(
        'No connector is configured: set the variables of at least one (README, "Configuration").\n',
      );
      return EXIT.failure;
    }
    // The person source first, so this run's accounts match this run's persons.
    const persons = personSource(config);
    names = [...configured].sort((a, b) => Number(b === persons) - Number(a === persons));
  } else if ((CONNECTOR_NAMES as string[]).includes(target)) {
    names = [target as ConnectorName];
  } else {
    throw new UsageError(`Unknown connector '${target}'; connectors: ${CONNECTOR_NAMES.join(', ')}, or all.`);
  }

  const store = await openCliStore(config);
  const tty = (io.stderr as NodeJS.WriteStream).isTTY === true;
  let failed = 0;
  try {
    for (const name of names) {
      try {
        const result = await importSource(store, config, name, {
          trigger: 'cli',
          skipInvalid,
          onInvalidRow: (p) => io.stderr.write(`skipped ${p.file} row ${p.row}: ${p.reason}\n`),
          onProgress: tty
            ? (p) =>
                io.stderr.write(`\r${name}: ${p.stream} — ${p.pages} pages, ${p.records} records\u001b[K`)
            : undefined,
        });
        if (tty) io.stderr.write('\r\u001b[K');
        const c = result.counts;
        io.stdout.write(
          `${name}: imported ${c.subscriptions} subscriptions, ${c.accounts} accounts${c.persons ? `, ${c.persons} persons` : ''} ` +
            `(${c.added} added, ${c.updated} updated, ${c.deactivated} deactivated, ${c.deleted} deleted); ` +
            `${c.matched} matched, ${c.clearing} in clearing.\n`,
        );
      } catch (error) {
        if (tty) io.stderr.write('\r\u001b[K');
        if (!(error instanceof ImportFailedError)) throw error;
        failed++;
        io.stderr.write(`Import failed: ${error.message}. The previous inventory is unchanged.\n`);
      }
    }
  } finally {
    await store.close();
  }
  return failed > 0 ? EXIT.failure : EXIT.ok;
}

async function runExport(config: Config, rest: readonly string[], io: CliIo): Promise<number> {
  const split = splitTokens(rest, [
    { name: 'format', kind: 'option', description: 'csv or json' },
    ...CLI_OPTIONS.slice(1),
  ]);
  if (!split.ok) throw new UsageError(split.error.message);
  const [what, extra] = split.value.positionals;
  if (!what || extra) throw new UsageError(`Say what to export: ${EXPORTS.join(', ')}.`);
  const format = (split.value.options.format as string | undefined) ?? 'csv';
  if (format !== 'csv' && format !== 'json' && !(format === 'ics' && what === 'renewals'))
    throw new UsageError(
      `--format must be csv or json${what === 'renewals' ? ' or ics' : ''}, not '${format}'.`,
    );
  const store = await openCliStore(config);
  try {
    const actor = await cliActor(store, config, split.value.options.as);
    if (format === 'ics') return await writeIcsExport(cliContext(store, config, actor), io);
    const started = exportRows(cliContext(store, config, actor), what);
    if (!started.ok) {
      if (started.error.code === 'INVALID_ARGUMENT') throw new UsageError(started.error.message);
      io.stderr.write(`${started.error.message}\n`);
      return started.error.code === 'NOT_AUTHORIZED' ? EXIT.denied : EXIT.failure;
    }
    const { columns, batches } = started.value;
    if (format === 'csv') io.stdout.write(`${columns.join(',')}\r\n`);
    else io.stdout.write('[');
    let written = 0;
    for await (const batch of batches) {
      const text =
        format === 'csv'
          ? batch.map((row) => `${columns.map((c) => csvField(row[c] ?? null)).join(',')}\r\n`).join('')
          : batch.map((row, i) => `${written + i === 0 ? '\n' : ',\n'}${JSON.stringify(row)}`).join('');
      written += batch.length;
      if (!io.stdout.write(text)) await new Promise((resolve) => io.stdout.once('drain', resolve));
    }
    if (format === 'json') io.stdout.write(written === 0 ? ']\n' : '\n]\n');
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

// Loaded from bin/seatkeeper.js: run with the real process.
export async function run(): Promise<void> {
  const code = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: { ...readDotenv(), ...process.env },
  });
  // Exit explicitly: a vendor client's keep-alive socket or a library timer must not keep a finished command (or a
  // stopped service) alive.
  process.exit(code);
}
