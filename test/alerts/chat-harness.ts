/**
 * Both chat surfaces against one real database: the Teams surface on real HTTP servers (one per replica, behind
 * `/api/messages`, posting through the Bot Connector fake) and Slack delivery through the Web API fake. Inventory
 * comes from CSV files imported by the real `importSource`, so the alert hook runs as it does in the service.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webApi } from '@slack/bolt';
import { setContract } from '../../handlers/contracts.ts';
import { operatorActor } from '../../handlers/types.ts';
import { loadRoles } from '../../src/auth/actors.ts';
import { type Config, loadConfig } from '../../src/config/config.ts';
import { createHttpApp, listen } from '../../src/http/http-server.ts';
import { Metrics } from '../../src/http/metrics.ts';
import { importSource } from '../../src/inventory/import-service.ts';
import { JobRunner } from '../../src/jobs/job-runner.ts';
import { createLogger } from '../../src/log.ts';
import type { Store } from '../../src/store/store.ts';
import { deliverPendingNotifications } from '../../src/surfaces/slack/delivery.ts';
import { SlackIdentity } from '../../src/surfaces/slack/identity.ts';
import { slackSettingsFromConfig } from '../../src/surfaces/slack/slack-settings.ts';
import { startTeamsSurface, type TeamsSurface } from '../../src/surfaces/teams/teams-surface.ts';
import { clockAt } from '../actions/support.ts';
import {
  BotConnectorFake,
  conversation,
  installActivity,
  messageActivity,
  type TeamsUser,
} from '../fakes/bot-connector-fake.ts';
import { BOT_TOKEN, SIGNING_SECRET, SlackFake } from '../fakes/slack-fake.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import { postActivity, stopReplicas } from '../surfaces/teams-harness.ts';

export const ADELE: TeamsUser = {
  id: '29:1adele-mri',
  aadObjectId: '6e7b768e-07e2-4810-8459-485f84f8f204',
  name: 'Adele Vance',
  email: 'adele@example.com',
};

/** The channels: Slack's alert channel, and Teams' IT, digest and procurement channels. */
export const CHANNELS = {
  slackAlerts: 'C0ALERTS',
  teamsIt: '19:it-alerts@thread.tacv2',
  teamsDigest: '19:weekly-digest@thread.tacv2',
  teamsDigestFinance: '19:finance-digest@thread.tacv2',
  teamsProcurement: '19:procurement@thread.tacv2',
} as const;

export interface Replica {
  url: string;
  teams: TeamsSurface;
  runner: JobRunner;
  server: Server;
  store: Store;
}

export interface ChatHarness {
  db: TestDatabase;
  store: Store;
  config: Config;
  csvDir: string;
  clock: ReturnType<typeof clockAt>;
  slack: SlackFake;
  connector: BotConnectorFake;
  replica: Replica;
  /** Another process on the same database: its own connections, HTTP server and (unstarted) job runner. */
  addReplica(): Promise<Replica>;
  post(activity: object, url?: string): Promise<{ status: number; body: unknown }>;
  /**
   * `user` says `help` to the bot in a personal chat and the bot answers: the turn has stored the chat's address
   * (a message is acknowledged before its turn runs, so the answer is what tells).
   */
  greet(user: TeamsUser, conversationId: string): Promise<void>;
  /** Writes the CSV files (header first) the `csv` connector imports; an empty list leaves that file as it is. */
  writeCsv(files: Record<'subscriptions' | 'accounts' | 'persons', string[]>): void;
  /** Imports the CSV files through `importSource` (the alert hook runs), at the harness clock. */
  importCsv(): Promise<void>;
  /** Sets the price of a SKU (per seat and month, EUR). */
  price(sku: string, monthly: number): Promise<void>;
  /** Delivers what the outbox holds for Slack, as one replica's delivery job does. */
  deliverSlack(store?: Store): Promise<{ sent: number; failed: number }>;
  stop(): Promise<void>;
}

export async function startChatHarness(start = '2026-11-20T08:00:00Z'): Promise<ChatHarness> {
  const clock = clockAt(start);
  const db = await createTestDatabase();
  const store = await db.open();
  const slack = await new SlackFake().start();
  const connector = await new BotConnectorFake().start();
  connector.members.set(ADELE.id, ADELE);
  const dir = mkdtempSync(join(tmpdir(), 'sk-alerts-'));
  const csvDir = join(dir, 'csv');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(csvDir);
  const rolesFile = join(dir, 'roles.json');
  writeFileSync(rolesFile, JSON.stringify({ 'it-manager': [ADELE.email] }));
  const config = loadConfig({
    ...db.env,
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
    CSV_DIR: csvDir,
    PERSON_SOURCE: 'csv',
    SEATKEEPER_IDLE_GRACE_DAYS: '0',
    SEATKEEPER_ROLES_FILE: rolesFile,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_ALERT_CHANNEL: CHANNELS.slackAlerts,
    TEAMS_CHANNELS: `it=${CHANNELS.teamsIt},digest=${CHANNELS.teamsDigest},digest-finance=${CHANNELS.teamsDigestFinance},procurement=${CHANNELS.teamsProcurement}`,
    TZ: 'Europe/Berlin',
  });
  const log = createLogger('silent');
  const replicas: Replica[] = [];
  const stores: Store[] = [];

  const startReplica = async (runJobs: boolean, replicaStore: Store): Promise<Replica> => {
    const runner = new JobRunner({ store: replicaStore, log, pollSeconds: 1 });
    const app = createHttpApp({
      store: replicaStore,
      metrics: new Metrics(),
      log,
      jobsRunning: () => runner.isRunning,
    });
    const teams = startTeamsSurface({ config, store: replicaStore, log, app, jobs: runner, now: clock.now });
    if (runJobs) await runner.start();
    const server = await listen(app, 0, '127.0.0.1');
    const replica = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      teams,
      runner,
      server,
      store: replicaStore,
    };
    replicas.push(replica);
    return replica;
  };
  const replica = await startReplica(true, store);

  const post = (activity: object, url = replica.url) => postActivity(url, activity);
  // The app is installed in the team: its reference gives the service URL, bot and tenant for channel posts.
  const installed = await post(
    installActivity(connector, ADELE, conversation('channel', '19:team-general@thread.tacv2')),
  );
  if (installed.status !== 200) throw new Error(`install answered ${installed.status}`);

  const slackSettings = slackSettingsFromConfig(config);
  return {
    db,
    store,
    config,
    csvDir,
    clock,
    slack,
    connector,
    replica,
    async addReplica() {
      const other = await db.open();
      stores.push(other);
      return startReplica(false, other);
    },
    post,
    async greet(user, conversationId) {
      const chat = conversation('personal', conversationId);
      const answered = await post(messageActivity(connector, user, chat, 'help'));
      if (answered.status !== 200) throw new Error(`the bot answered ${answered.status}`);
      await connector.waitFor(
        (c) => (c.kind === 'reply' || c.kind === 'send') && c.conversationId === chat.id,
      );
    },
    writeCsv(files) {
      for (const [name, lines] of Object.entries(files)) {
        // An empty list keeps the file as it was.
        if (lines.length === 0) continue;
        writeFileSync(join(csvDir, `${name}.csv`), `${lines.join('\n')}\n`);
      }
    },
    async importCsv() {
      await importSource(store, config, 'csv', { trigger: 'test', now: clock.now, log });
    },
    async price(sku, monthly) {
      const ctx = { store, config, actor: operatorActor(), now: clock.now };
      const set = await setContract(ctx, {
        sku,
        unitPrice: String(monthly),
        currency: 'EUR',
        billing: 'monthly',
      });
      if (!set.ok) throw new Error(set.error.message);
    },
    async deliverSlack(from = store) {
      const client = new webApi.WebClient(BOT_TOKEN, { slackApiUrl: slackSettings.apiUrl });
      const identity = new SlackIdentity(from, loadRoles(config), client, log);
      return deliverPendingNotifications({ store: from, client, settings: slackSettings, identity, log });
    },
    async stop() {
      await stopReplicas(replicas);
      for (const s of stores) await s.close();
      await connector.stop();
      await slack.stop();
      await db.drop();
    },
  };
}
