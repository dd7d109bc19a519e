/**
 * Demo mode: Seatkeeper with a made-up company, for people who want to see it work before they register a Slack or
 * Teams app. It starts the vendor fakes on loopback with the demo organisation, imports it through the real
 * connectors into an embedded database of its own (never the operator's data), enters contract terms and budgets
 * through the same handlers the CLI uses, and serves the service. `npm run demo` starts it; `npm start` does too when
 * nothing is configured (`SEATKEEPER_DEMO`: unset = that rule, `0` never, `1` always).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setBudget } from '../../handlers/budgets.ts';
import { setContract } from '../../handlers/contracts.ts';
import type { Actor, HandlerContext } from '../../handlers/types.ts';
import { TLS_DIR_ENV, writeTestCertificate } from '../../test/fakes/tls.ts';
import type { Config, ConnectorName } from '../config/config.ts';
import { policyOf, recomputeFindings } from '../findings/recompute.ts';
import { importSource } from '../inventory/import-service.ts';
import type { Logger } from '../log.ts';
import { type Service, startService } from '../service.ts';
import { migrateStore } from '../store/migrate.ts';
import { openStore, type Store } from '../store/store.ts';
import { issueSignInLink } from '../web/web-auth.ts';
import { type DemoOrg, demoOrg } from './demo-org.ts';
import { type DemoVendors, startDemoVendors } from './demo-vendors.ts';

/** The file that marks a directory as the demo's own, so that only such a directory is ever reset. */
const MARKER = '.seatkeeper-demo';
/** The person source first: the other sources' accounts are matched to the persons it brings. */
const IMPORT_ORDER: readonly ConnectorName[] = ['m365', 'adobe', 'google', 'github', 'csv'];

/** The demo's own directory: `demo` inside `SEATKEEPER_DATA_DIR`, apart from the real embedded database. */
export function demoDir(config: Pick<Config, 'SEATKEEPER_DATA_DIR'>): string {
  return resolve(config.SEATKEEPER_DATA_DIR, 'demo');
}

export interface DemoOptions {
  /** The operator's configuration: HTTP, logging and job settings are kept; data and vendors are the demo's. */
  config: Config;
  log: Logger;
  /** People in the demo company (default 2,000). */
  people?: number;
  /** The demo's "today" (default: now). */
  now?: Date;
  /** The demo's directory (default: {@link demoDir}). It is reset on every start. */
  dir?: string;
  /** A PostgreSQL database for the demo instead of its embedded one (tests). */
  databaseUrl?: string;
}

export interface Demo {
  org: DemoOrg;
  vendors: DemoVendors;
  service: Service;
  /** The configuration the service runs with (connectors pointed at the fakes). */
  config: Config;
  /** Base URL of the service. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts the demo in this process: resets the demo directory, starts the vendor fakes, imports the organisation
 * through the real connectors, enters its contract terms and budgets, starts the service and logs the banner.
 * The process must trust the fakes' certificate (see {@link runDemoProcess}).
 */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const { log } = options;
  const dir = options.dir ?? demoDir(options.config);
  resetDemoDir(dir);
  const now = options.now ?? new Date();
  const started = Date.now();
  const org = demoOrg({ people: options.people, now });
  const vendors = await startDemoVendors(org, join(dir, 'vendors'));
  try {
    const config: Config = {
      ...options.config,
      ...vendors.config,
      DATABASE_URL: options.databaseUrl,
      SEATKEEPER_DATA_DIR: join(dir, 'db'),
      SEATKEEPER_ADMINS: org.admin.email,
      SEATKEEPER_ROLES_FILE: undefined,
      // The fakes restart with the organisation on every start; a scheduled re-import would only repeat it.
      SEATKEEPER_IMPORT_INTERVAL: '1 day',
      SLACK_BOT_TOKEN: undefined,
      SLACK_SIGNING_SECRET: undefined,
      SLACK_APP_TOKEN: undefined,
      MICROSOFT_APP_ID: undefined,
      MICROSOFT_APP_PASSWORD: undefined,
      MICROSOFT_APP_TENANT_ID: undefined,
      SEATKEEPER_DEMO: '1',
    };
    await loadDemoData(config, org, log, () => now);
    const service = await startService(config, log);
    const url = `http://${config.HOST}:${service.port}`;
    const link = await issueSignInLink(
      service.store,
      { ...config, PORT: service.port },
      org.admin.email,
      now,
    );
    logBanner(log, { url, link, people: org.people.length, seconds: (Date.now() - started) / 1000 });
    return {
      org,
      vendors,
      service,
      config,
      url,
      async stop() {
        await service.stop();
        await vendors.stop();
      },
    };
  } catch (error) {
    await vendors.stop().catch(() => undefined);
    throw error;
  }
}

/**
 * Imports every source (the person source first), then sets contract terms and budgets as the demo's IT admin and
 * recomputes the findings so that savings carry the prices.
 */
async function loadDemoData(config: Config, org: DemoOrg, log: Logger, now: () => Date): Promise<void> {
  const store = await openStore(config);
  try {
    await migrateStore(store);
    for (const name of IMPORT_ORDER) {
      const result = await importSource(store, config, name, { trigger: 'demo', log, now });
      log.info({ connector: name, counts: result.counts }, `demo: imported ${name}`);
    }
    const ctx = await adminContext(store, config, org, now);
    for (const terms of org.contracts) check(await setContract(ctx, terms), `contract ${terms.sku}`);
    for (const budget of org.budgets) check(await setBudget(ctx, budget), `budget ${budget.costCenter}`);
    const client = await store.pool.connect();
    try {
      await recomputeFindings(client, policyOf(config), now());
    } finally {
      client.release();
    }
  } finally {
    await store.close();
  }
}

async function adminContext(
  store: Store,
  config: Config,
  org: DemoOrg,
  now: () => Date,
): Promise<HandlerContext> {
  const found = await store.pool.query<{ id: number }>('SELECT id FROM persons WHERE primary_email = $1', [
    org.admin.email,
  ]);
  const actor: Actor = {
    id: org.admin.email,
    email: org.admin.email,
    personId: found.rows[0]?.id ?? null,
    displayName: `${org.admin.displayName} (demo setup)`,
    roles: ['admin'],
    surface: 'system',
  };
  return { store, config, actor, now };
}

function check(result: { ok: boolean; error?: { message: string } }, what: string): void {
  if (!result.ok) throw new Error(`demo: ${what} was refused: ${result.error?.message ?? 'unknown reason'}`);
}

/** Empties the demo directory (only one that is the demo's, by its marker file) and marks it. */
function resetDemoDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!existsSync(join(dir, MARKER))) {
      throw new Error(
        `${dir} exists and is not a Seatkeeper demo directory; move it away or set SEATKEEPER_DATA_DIR.`,
      );
    }
    // The certificate is kept: a browser or system that was told to trust it keeps working.
    for (const entry of readdirSync(dir))
      if (entry !== MARKER && entry !== 'tls') rmSync(join(dir, entry), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, MARKER),
    'This directory holds the Seatkeeper demo. It is reset on every demo start.\n',
  );
}

function logBanner(log: Logger, info: { url: string; link: string; people: number; seconds: number }): void {
  const lines = [
    '=====================================================================',
    ` DEMO MODE: a made-up company (${info.people} people) on local vendor fakes.`,
    ' Nothing here is real and nothing leaves this machine. Demo data lives in',
    ' its own database, apart from real data, and is reset on every start.',
    ` Sign in (link works once, 15 minutes): ${info.link}`,
    ` Then open ${info.url}/dashboard and ${info.url}/console`,
    ' Turn the demo off: set SEATKEEPER_DEMO=0 (and configure a connector).',
    '=====================================================================',
  ];
  for (const line of lines) log.warn({ demo: true }, line);
  log.info({ demo: true, url: info.url, seconds: Math.round(info.seconds * 10) / 10 }, 'demo: ready');
}

/**
 * Runs the demo as a CLI command until `stop` resolves. The vendor fakes serve HTTPS with a certificate made for
 * the demo (kept in `<demo dir>/tls`), which the connectors must trust. Node reads extra CA certificates only at
 * start-up (`NODE_EXTRA_CA_CERTS`), so unless this process was started trusting it, the demo runs in a child process
 * that is, and this one only relays its output and signals.
 * @returns the exit code
 */
export async function runDemoProcess(
  config: Config,
  env: Record<string, string | undefined>,
  out: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  log: Logger,
  stop: Promise<unknown>,
  people?: number,
): Promise<number> {
  const dir = demoDir(config);
  const tlsDir = join(dir, 'tls');
  const certFile = join(tlsDir, 'cert.pem');
  if (env.NODE_EXTRA_CA_CERTS === certFile && env[TLS_DIR_ENV] === tlsDir) {
    const demo = await startDemo({ config, log, people, dir });
    await stop;
    log.info('stopping');
    await demo.stop();
    return 0;
  }
  if (!existsSync(certFile) || !existsSync(join(tlsDir, 'key.pem'))) {
    resetDemoDir(dir);
    await writeTestCertificate(tlsDir);
  }
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: { ...env, NODE_EXTRA_CA_CERTS: certFile, [TLS_DIR_ENV]: tlsDir },
    stdio: ['inherit', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C reaches it once, through this process, not twice.
    detached: true,
  });
  if ((out.stdout as NodeJS.WriteStream).isTTY && child.stdout) {
    // On a terminal the banner is shown as text, not as JSON log lines; everything else passes unchanged.
    createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
      out.stdout.write(`${bannerText(line) ?? line}\n`);
    });
  } else {
    child.stdout?.pipe(out.stdout);
  }
  child.stderr?.pipe(out.stderr);
  const exited = new Promise<number>((done) =>
    child.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0))),
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void stop.then(() => forward(child, 'SIGTERM'));
  const code = await exited;
  process.removeListener('exit', killOnExit);
  return code;
}

/** The text of a banner log line (`demo: true`, a warning), or undefined for any other line. */
function bannerText(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as { demo?: unknown; level?: unknown; msg?: unknown };
    return entry.demo === true && entry.level === 40 && typeof entry.msg === 'string' ? entry.msg : undefined;
  } catch {
    return undefined;
  }
}

function forward(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}
