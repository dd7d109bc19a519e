/**
 * What the Teams surface tests share: Contoso's people as Teams users, a database with Contoso imported from the
 * Microsoft Graph fake and findings computed, replicas of the HTTP server with the Teams surface, and posting
 * activities to `/api/messages`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS } from '../../handlers/registry.ts';
import { defineActionJobs } from '../../src/actions/jobs.ts';
import type { Config } from '../../src/config/config.ts';
import { policyOf, recomputeFindings } from '../../src/findings/recompute.ts';
import { createHttpApp, listen } from '../../src/http/http-server.ts';
import { Metrics } from '../../src/http/metrics.ts';
import { importSource } from '../../src/inventory/import-service.ts';
import { JobRunner } from '../../src/jobs/job-runner.ts';
import { createLogger } from '../../src/log.ts';
import type { Store } from '../../src/store/store.ts';
import { startTeamsSurface, type TeamsSurface } from '../../src/surfaces/teams/teams-surface.ts';
import { clockAt, HOUR } from '../actions/support.ts';
import { BotConnectorFake, type ConnectorCall, type TeamsUser } from '../fakes/bot-connector-fake.ts';
import { GraphFake } from '../fakes/graph-fake.ts';
import { type GraphOrg, USER } from '../fakes/graph-fixtures.ts';
import { graphConfig } from '../support/graph-env.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

/** A Contoso person as a Teams user (the AAD object id is the Graph id). */
function contosoUser(key: keyof typeof USER, name: string): TeamsUser {
  return {
    id: `29:1${key}-mri`,
    aadObjectId: USER[key],
    name,
    email: `${name.toLowerCase().replace(' ', '.')}@example.com`,
  };
}

/** Contoso's people as Teams users. */
export const ADELE = contosoUser('adele', 'Adele Vance');
export const ALEX = contosoUser('alex', 'Alex Wilber');
export const LEE = contosoUser('lee', 'Lee Gu');
export const NESTOR = contosoUser('nestor', 'Nestor Wilke');

/** Contoso imported from the Graph fake into a fresh database, with findings computed an hour later. */
export interface ContosoTeams {
  db: TestDatabase;
  store: Store;
  config: Config;
  graph: GraphFake;
  connector: BotConnectorFake;
  clock: ReturnType<typeof clockAt>;
}

/**
 * Starts the Graph and Bot Connector fakes, imports `org` at 07:00 on 20 November 2026 with the given roles, prices
 * Power BI at EUR 10 a month and recomputes findings an hour on (so that seats have existed longer than the zero
 * grace period).
 */
export async function startContosoTeams(options: {
  org: GraphOrg;
  members: readonly TeamsUser[];
  roles: Record<string, string[]>;
}): Promise<ContosoTeams> {
  const clock = clockAt('2026-11-20T07:00:00Z');
  const db = await createTestDatabase();
  const store = await db.open();
  const graph = await new GraphFake({ org: options.org }).start();
  const connector = await new BotConnectorFake().start();
  for (const user of options.members) connector.members.set(user.id, user);
  const rolesFile = join(mkdtempSync(join(tmpdir(), 'sk-teams-')), 'roles.json');
  writeFileSync(rolesFile, JSON.stringify(options.roles));
  const config = graphConfig(db, graph, {
    SEATKEEPER_IDLE_GRACE_DAYS: '0',
    SEATKEEPER_ROLES_FILE: rolesFile,
  });
  await importSource(store, config, 'm365', { trigger: 'test', now: clock.now });
  clock.advance(HOUR);
  await store.pool.query(
    `UPDATE licenses SET unit_price = 10, currency = 'EUR', billing_period = 'monthly' WHERE sku = 'POWER_BI_PRO'`,
  );
  const client = await store.pool.connect();
  try {
    await recomputeFindings(client, policyOf(config), clock.now());
  } finally {
    client.release();
  }
  return { db, store, config, graph, connector, clock };
}

/** One replica: an HTTP server with the Teams surface and the action jobs on the shared database. */
export interface TeamsReplica {
  url: string;
  surface: TeamsSurface;
  runner: JobRunner;
  server: Server;
}

/** Starts a replica with the given `TEAMS_CHANNELS`; only a replica started with `runJobs` runs jobs. */
export async function startTeamsReplica(
  { store, config, clock }: Pick<ContosoTeams, 'store' | 'config' | 'clock'>,
  teamsChannels: string,
  runJobs: boolean,
): Promise<TeamsReplica> {
  const log = createLogger('silent');
  const runner = new JobRunner({ store, log, pollSeconds: 1 });
  defineActionJobs(runner, { store, config, log, now: clock.now });
  const app = createHttpApp({ store, metrics: new Metrics(), log, jobsRunning: () => runner.isRunning });
  const surface = startTeamsSurface({
    config,
    store,
    log,
    app,
    jobs: runner,
    settings: { TEAMS_CHANNELS: teamsChannels },
    commands: COMMANDS,
    now: clock.now,
  });
  if (runJobs) await runner.start();
  const server = await listen(app, 0, '127.0.0.1');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, surface, runner, server };
}

/**
 * Closes the replicas' HTTP servers (dropping kept-alive connections), waits for the turns they acknowledged, and
 * stops their job runners.
 */
export async function stopReplicas(
  replicas: readonly { server: Server; runner: JobRunner; surface?: TeamsSurface }[],
): Promise<void> {
  for (const replica of replicas) {
    await new Promise<void>((resolve) => {
      replica.server.close(() => resolve());
      replica.server.closeAllConnections();
    });
    await replica.surface?.stop();
    await replica.runner.stop();
  }
}

/** POSTs an activity to `<url>/api/messages`; resolves with the HTTP status and the parsed body. */
export async function postActivity(
  url: string,
  activity: object,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${url}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(activity),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * The bot's answer in a conversation among the Bot Connector calls from index `from` on: a message is acknowledged
 * before its turn runs, so its answer arrives after the HTTP response. Waits for it.
 */
export async function answerIn(
  connector: BotConnectorFake,
  conversationId: string,
  from: number,
): Promise<ConnectorCall> {
  const answer = () =>
    connector.calls
      .slice(from)
      .find((c) => (c.kind === 'reply' || c.kind === 'send') && c.conversationId === conversationId);
  await until(() => answer() !== undefined);
  return answer() as ConnectorCall;
}

/** Polls until `check` holds (no fixed sleeps). */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
