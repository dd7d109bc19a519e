/**
 * The chat endpoints under a fixed load: the service runs as its own process on the benchmark database, Slack and the
 * Bot Connector are the test fakes, and autocannon, in a process of its own (`load-client.ts`), sends correctly signed
 * slash commands to `/slack/events` and message activities to `/api/messages` (authentication off) at a fixed rate on
 * loopback. Every acknowledged request must end in one reply delivered to the fake; the run waits for them and counts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type autocannon from 'autocannon';
import { BotConnectorFake, conversation, messageActivity } from '../test/fakes/bot-connector-fake.ts';
import { SIGNING_SECRET, SlackFake, slashCommandBody } from '../test/fakes/slack-fake.ts';
import { childEnv } from './import-bench.ts';
import type { LoadPlan } from './load-client.ts';
import { userFacts, usersFor } from './org.ts';

export interface LoadMeasure {
  endpoint: string;
  rate: number;
  seconds: number;
  sent: number;
  ok: number;
  errors: number;
  ackP50: number;
  ackP99: number;
  delivered: number;
  /** The service's event-loop delay while the endpoint was loaded (ms): what an incoming request waited to be read. */
  loopDelay?: { p50: number; p99: number; max: number };
  /** The share of 2xx answers the service itself timed within 250 ms and 500 ms. */
  served?: { within250: number; within500: number };
}

const BIN = fileURLToPath(new URL('../bin/seatkeeper.js', import.meta.url));
const ADMIN = { id: 'UBENCHADMIN', email: 'it@bench.example', name: 'Bench Admin' };
const TEAMS_ADMIN = {
  id: '29:1bench-admin',
  aadObjectId: '0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f',
  name: 'Bench Admin',
  email: 'it@bench.example',
};
const BOT_TOKEN = 'xoxb-0000-bench-bot-token-5d2e1f';
/** The route label the service's request histogram gives the Teams endpoint. */
const TEAMS_ROUTE = '/api/messages';

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

async function waitReady(url: string, child: ChildProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
    const ready = await fetch(`${url}/readyz`).catch(() => undefined);
    if (ready?.ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the service did not become ready');
}

/**
 * What the service says about itself since the previous scrape, from its `/metrics`: its event-loop delay
 * (prom-client's monitor resets its histogram on each scrape, so one scrape before a load and one after cover exactly
 * that load) and its own request-duration histogram per route (cumulative; the caller subtracts).
 */
async function scrape(url: string): Promise<{
  loopDelay?: { p50: number; p99: number; max: number };
  answered: (route: string) => Map<string, number>;
}> {
  const text = await fetch(`${url}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const value = (name: string) => {
    const match = new RegExp(
      `^seatkeeper_nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? (\\S+)$`,
      'm',
    ).exec(text);
    return match ? Math.round(Number(match[1]) * 1000) : Number.NaN;
  };
  const delay = { p50: value('p50'), p99: value('p99'), max: value('max') };
  // Requests of a route answered 2xx within each bucket's bound, as the service timed them (request read to
  // response written): beside autocannon's figure, which also holds the load generator's own delays.
  const answered = (route: string) => {
    const buckets = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (!line.startsWith('seatkeeper_http_request_duration_seconds_bucket{')) continue;
      if (!line.includes(`route="${route}"`) || !/status="2\d\d"/.test(line)) continue;
      const le = /le="([^"]+)"/.exec(line)?.[1];
      const count = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (le) buckets.set(le, (buckets.get(le) ?? 0) + count);
    }
    return buckets;
  };
  return { loopDelay: Object.values(delay).every(Number.isFinite) ? delay : undefined, answered };
}

/** The share of a route's 2xx answers the service gave within 250 ms and 500 ms between two scrapes. */
function answeredWithin(
  before: Map<string, number>,
  after: Map<string, number>,
): { within250: number; within500: number } | undefined {
  const count = (le: string) => (after.get(le) ?? 0) - (before.get(le) ?? 0);
  const all = count('+Inf');
  if (all <= 0) return undefined;
  return { within250: count('0.25') / all, within500: count('0.5') / all };
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
}

/** The questions asked, in turn: cheap and indexed, as a helpdesk asks them all day. */
function question(n: number, users: number): string {
  const email = userFacts((n * 7919) % users).mail;
  return [`who-has ${email}`, `person ${email}`, 'seats'][n % 3] as string;
}

/**
 * Runs the service on `databaseUrl` (an imported organisation of `accounts` accounts) and loads each chat endpoint
 * at `rate` requests per second for `seconds`.
 */
export async function measureChatLoad(
  databaseUrl: string,
  accounts: number,
  caFile: string,
  options: { rate: number; seconds: number },
): Promise<LoadMeasure[]> {
  const users = usersFor(accounts);
  const slack = await new SlackFake().start();
  slack.addUser(ADMIN);
  const connector = await new BotConnectorFake().start();
  connector.members.set(TEAMS_ADMIN.id, TEAMS_ADMIN);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // BENCH_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, shows where the service spends its time.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const service = spawn(process.execPath, [...nodeArgs, BIN, 'start'], {
    env: childEnv(caFile, {
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      // Teams without authentication is for development only.
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      SEATKEEPER_ADMINS: ADMIN.email,
    }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let serviceErrors = '';
  service.stderr?.on('data', (c) => {
    serviceErrors = (serviceErrors + String(c)).slice(-4000);
  });
  try {
    await waitReady(url, service);
    const results: LoadMeasure[] = [];

    // One endpoint at a time: load it, then wait until the fake has every answer to the acknowledged requests.
    const measure = async (
      endpoint: string,
      route: string,
      request: (n: number) => { body: string; headers: Record<string, string> },
      delivered: () => number,
      signingSecret?: string,
    ) => {
      const before = delivered();
      const run = await load(`${url}${endpoint}`, options, caFile, () => scrape(url), request, signingSecret);
      const end = await scrape(url);
      await until(() => delivered() - before >= run.measure.ok, 60_000);
      results.push({
        endpoint,
        ...run.measure,
        delivered: delivered() - before,
        loopDelay: end.loopDelay,
        served: answeredWithin(run.start.answered(route), end.answered(route)),
      });
    };
    // Slack: each request is a fresh, correctly signed slash command with its own response URL.
    await measure(
      '/slack/events',
      '/slack/events',
      (n) => ({
        body: slashCommandBody({
          text: question(n, users),
          userId: ADMIN.id,
          responseUrl: slack.responseUrl(),
        }),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      () => slack.callsOf('respond').length,
      SIGNING_SECRET,
    );
    // Teams: message activities in a personal chat, answered through the Bot Connector.
    await measure(
      '/api/messages',
      TEAMS_ROUTE,
      (n) => ({
        body: JSON.stringify(
          messageActivity(
            connector,
            TEAMS_ADMIN,
            conversation('personal', `a:bench-${n % 50}`),
            question(n, users),
          ),
        ),
        headers: { 'content-type': 'application/json' },
      }),
      () => connector.calls.filter((c) => c.kind === 'reply' || c.kind === 'send').length,
    );
    for (const r of results) {
      const parts = [];
      if (r.loopDelay) {
        const { p50, p99, max } = r.loopDelay;
        parts.push(`event-loop delay p50 ${p50} ms, p99 ${p99} ms, max ${max} ms`);
      }
      if (r.served) {
        const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
        parts.push(
          `answered by the service within 250 ms ${percent(r.served.within250)}, within 500 ms ${percent(r.served.within500)}`,
        );
      }
      if (parts.length > 0) process.stderr.write(`  ${r.endpoint}: ${parts.join('; ')}\n`);
    }
    return results;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${serviceErrors}`);
  } finally {
    service.kill('SIGTERM');
    if (service.exitCode === null) await once(service, 'exit');
    await slack.stop();
    await connector.stop();
  }
}

const LOAD_CLIENT = fileURLToPath(new URL('./load-client.ts', import.meta.url));

/**
 * Loads `url` at the fixed rate from the load generator's own process (`load-client.ts`), sending `request(n)` in
 * turn (Slack requests signed as they are sent when `slackSigningSecret` is given). `before` runs once the generator
 * is ready and just before it starts; its answer is returned beside the measure.
 */
/** autocannon's result, with the load generator's own event-loop delay during the run (ms). */
type GeneratorResult = autocannon.Result & { loopDelay: { p50: number; p99: number; max: number } };

async function load<T>(
  url: string,
  options: { rate: number; seconds: number },
  caFile: string,
  before: () => Promise<T>,
  request: (n: number) => LoadPlan['requests'][number],
  slackSigningSecret?: string,
): Promise<{ start: T; measure: Omit<LoadMeasure, 'endpoint' | 'delivered'> }> {
  // As many requests as the run can send, with room to spare; the generator starts over if it needs more.
  const count = Math.ceil(options.rate * (options.seconds + 5));
  const plan: LoadPlan = {
    url,
    rate: options.rate,
    seconds: options.seconds,
    requests: Array.from({ length: count }, (_, n) => request(n)),
    ...(slackSigningSecret ? { slackSigningSecret } : {}),
  };
  const client = spawn(process.execPath, ['--import', 'tsx', LOAD_CLIENT], {
    env: childEnv(caFile, {}),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  client.stderr.on('data', (c) => {
    err = (err + String(c)).slice(-4000);
  });
  const exited = once(client, 'exit') as Promise<[number | null]>;
  const lines = createInterface({ input: client.stdout })[Symbol.asyncIterator]();
  let start: T;
  let result: GeneratorResult;
  try {
    client.stdin.write(`${JSON.stringify(plan)}\n`);
    const ready = await lines.next();
    if (ready.done || ready.value !== 'ready') throw new Error('the load generator did not start');
    start = await before();
    client.stdin.write('go\n');
    const out = await lines.next();
    if (out.done) throw new Error('the load generator printed no result');
    result = JSON.parse(out.value) as GeneratorResult;
  } catch (error) {
    client.kill('SIGTERM');
    const [code] = await exited;
    throw new Error(`${(error as Error).message} (exit ${code}): ${err.trim()}`);
  }
  client.stdin.end();
  const [code] = await exited;
  if (code !== 0) throw new Error(`the load generator exited with ${code}: ${err.trim()}`);
  const ok = result['2xx'];
  const failures = [
    ...Object.entries(result.statusCodeStats ?? {})
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, { count }]) => `${count} × HTTP ${code}`),
    ...(result.timeouts ? [`${result.timeouts} timeouts`] : []),
    ...(result.errors - result.timeouts > 0 ? [`${result.errors - result.timeouts} connection errors`] : []),
  ];
  if (failures.length > 0) process.stderr.write(`  ${url}: ${failures.join(', ')}\n`);
  const generator = result.loopDelay;
  process.stderr.write(
    `  ${new URL(url).pathname}: load generator's event-loop delay p50 ${generator.p50} ms, p99 ${generator.p99} ms, max ${generator.max} ms\n`,
  );
  return {
    start,
    measure: {
      rate: options.rate,
      seconds: options.seconds,
      sent: result.requests.sent,
      ok,
      // autocannon counts a timeout among its errors too.
      errors: result.errors + result.non2xx,
      ackP50: result.latency.p50,
      ackP99: result.latency.p99,
    },
  };
}
