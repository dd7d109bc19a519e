/**
 * Two replicas: two service processes on one database, started together, both with every job scheduled every minute
 * (renewal scan, Slack digest), notifications delivered every few seconds, and the same clicks sent to both. Each
 * scheduled occurrence runs on one replica, each action reaches the vendor once, each alert and digest is posted once.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setContract } from '../../handlers/contracts.ts';
import { operatorActor } from '../../handlers/types.ts';
import { loadConfig } from '../../src/config/config.ts';
import { GraphFake } from '../fakes/graph-fake.ts';
import { contosoOrg, USER } from '../fakes/graph-fixtures.ts';
import {
  blockActionsPayload,
  interactionBody,
  SlackFake,
  slackSignature,
  USERS,
} from '../fakes/slack-fake.ts';
import { type RunningService, startServiceProcess } from '../support/processes.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import { record } from './figures.ts';

const SIGNING_SECRET = 'replica-test-signing-secret-5e6f';
const ASSIGN = /\/assignLicense$/;
const SKUS = /^\/v1\.0\/subscribedSkus$/;

async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Duplicates in a list: entries beyond the first of each. */
const duplicates = (keys: string[]) => keys.length - new Set(keys).size;

describe('two replicas on one database', () => {
  let db: TestDatabase;
  let graph: GraphFake;
  let slack: SlackFake;
  let dir: string;
  const replicas: RunningService[] = [];

  afterAll(async () => {
    for (const r of replicas) await r.stop().catch(() => undefined);
    await graph?.stop();
    await slack?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs every scheduled job once, applies every action once, posts every alert and digest once', async () => {
    db = await createTestDatabase();
    graph = await new GraphFake({ org: contosoOrg() }).start();
    slack = new SlackFake();
    await slack.start();
    for (const user of Object.values(USERS)) slack.addUser(user);
    dir = mkdtempSync(join(tmpdir(), 'sk-replicas-'));
    const rolesFile = join(dir, 'roles.json');
    writeFileSync(rolesFile, JSON.stringify({ 'it-manager': ['slack:UROLE'] }));
    const env = {
      ...db.env,
      NODE_ENV: 'test',
      SEATKEEPER_JOB_POLL_SECONDS: '1',
      M365_TENANT_ID: graph.org.tenantId,
      M365_CLIENT_ID: graph.clientId,
      M365_CLIENT_SECRET: graph.clientSecret,
      GRAPH_BASE_URL: graph.url,
      MS_LOGIN_URL: graph.url,
      SLACK_BOT_TOKEN: 'xoxb-replica-test-token',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLACK_DIGEST_CHANNEL: 'C0DIGEST',
      SLACK_ALERT_CHANNEL: 'C0ALERTS',
      SLACK_DIGEST_CRON: '* * * * *',
      SLACK_DELIVERY_INTERVAL: '3 seconds',
      SEATKEEPER_RENEWAL_SCAN_CRON: '* * * * *',
      SEATKEEPER_ALERT_MIN_SAVINGS: '0',
      SEATKEEPER_IDLE_GRACE_DAYS: '0',
      SEATKEEPER_ROLES_FILE: rolesFile,
    };
    // A contract renewing soon, so the renewal scan has lead-time alerts to raise.
    const store = await db.open();
    const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
    const started = await Promise.all([startServiceProcess(env), startServiceProcess(env)]);
    replicas.push(...started);
    await until(
      async () =>
        (
          await store.pool.query(
            `SELECT count(*)::int AS n FROM import_runs WHERE source = 'm365' AND outcome = 'succeeded'`,
          )
        ).rows[0].n >= 1,
      90_000,
      'the first import',
    );
    const contract = await setContract(
      { store, config, actor: operatorActor(), now: () => new Date() },
      {
        sku: 'ENTERPRISEPACK',
        unitPrice: '20',
        currency: 'EUR',
        billing: 'annual',
        renewalDate: new Date(Date.now() + 20 * 86_400_000).toISOString().slice(0, 10),
        noticeDays: 10,
      },
    );
    if (!contract.ok) throw new Error(contract.error.message);

    // The same click, twice to each replica at once (Slack retries; a load balancer spreads them).
    const actionId = randomUUID();
    const click = () =>
      interactionBody(
        blockActionsPayload({
          userId: USERS.byId.id,
          button: {
            type: 'button',
            action_id: 'sk.replica1',
            text: { type: 'plain_text', text: 'Reclaim' },
            value: JSON.stringify({
              c: 'reclaim',
              t: ['--email', 'isaiah.langer@example.com', '--sku', 'SPE_E5', '--yes'],
              id: actionId,
            }),
          },
          blockId: 'b1',
          responseUrl: slack.responseUrl(),
          ephemeral: true,
        }),
      );
    const post = (replica: RunningService) => {
      const body = click();
      const ts = Math.floor(Date.now() / 1000);
      return fetch(`${replica.url}/slack/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(ts),
          'x-slack-signature': slackSignature(SIGNING_SECRET, ts, body),
        },
        body,
      });
    };
    const [a, b] = started as [RunningService, RunningService];
    const statuses = await Promise.all(
      [post(a), post(b), post(a), post(b)].map(async (r) => (await r).status),
    );
    expect(statuses).toEqual([200, 200, 200, 200]);
    const actionState = async () =>
      (await store.pool.query<{ state: string }>('SELECT state FROM actions WHERE id = $1', [actionId]))
        .rows[0]?.state;
    await until(async () => (await actionState()) === 'done', 60_000, 'the reclaim');

    // A minute boundary passes: both replicas have had the chance to run each per-minute job.
    const scans = () =>
      [...a.lines.map((l) => ['a', l] as const), ...b.lines.map((l) => ['b', l] as const)].filter(([, l]) =>
        l.includes('renewal scan:'),
      );
    await until(() => scans().length >= 1, 150_000, 'a renewal scan').catch(async (error: Error) => {
      const jobs = await store.pool
        .query('SELECT * FROM agenda_jobs')
        .catch((e: Error) => ({ rows: [e.message] }));
      throw new Error(
        `${error.message}\njobs: ${JSON.stringify(jobs.rows).slice(0, 3000)}\n${a.lines.slice(-15).join('\n')}`,
      );
    });
    await until(
      () => slack.callsOf('chat.postMessage').some((c) => c.args.channel === 'C0DIGEST'),
      90_000,
      'the digest',
    );
    // Let the delivery jobs of both replicas run a few more rounds over what is pending.
    await until(
      async () =>
        (
          await store.pool.query(
            `SELECT count(*)::int AS n FROM notifications WHERE sent_at IS NULL AND attempts < 3`,
          )
        ).rows[0].n === 0,
      60_000,
      'every notification delivered',
    ).catch(() => undefined);

    // Scheduled jobs: each per-minute occurrence of the renewal scan ran on one replica only.
    const byMinute = new Map<string, number>();
    for (const [, line] of scans()) {
      const time = Number(/"time":(\d+)/.exec(line)?.[1] ?? 0);
      const minute = new Date(time).toISOString().slice(0, 16);
      byMinute.set(minute, (byMinute.get(minute) ?? 0) + 1);
    }
    const scanDuplicates = [...byMinute.values()].reduce((n, c) => n + c - 1, 0);
    // Imports: both replicas found no import at start; the lease lets one run reach the vendor at a time.
    const runs = await store.pool.query<{ outcome: string; error: string | null }>(
      `SELECT outcome, error FROM import_runs WHERE source = 'm365' ORDER BY id`,
    );
    const succeeded = runs.rows.filter((r) => r.outcome === 'succeeded').length;
    // Each import reads the SKUs once: this counts the imports that reached Graph.
    const importsAtVendor = graph.server.calls(SKUS, 'GET').length;

    // Actions: one removal at the vendor, one audit entry of it.
    const removals = graph.server.calls(ASSIGN, 'POST').length;
    const removedAudit = (
      await store.pool.query(
        `SELECT count(*)::int AS n FROM audit_log WHERE action = 'reclaim' AND after->>'actionId' = $1`,
        [actionId],
      )
    ).rows[0].n as number;
    expect(graph.user(USER.isaiah)?.assignedLicenses).toEqual([]);

    // Posts: every alert and digest once (same channel and same text is a duplicate).
    const posts = slack
      .callsOf('chat.postMessage')
      .map((c) => `${c.args.channel}|${JSON.stringify(c.args.blocks ?? c.args.text)}`);
    // Alerts go to the alert channel, procurement, owners: every post that is not the digest.
    const alertPosts = posts.filter((p) => !p.startsWith('C0DIGEST|'));
    const digestPosts = posts.filter((p) => p.startsWith('C0DIGEST|'));
    const undelivered = await store.pool.query(
      `SELECT count(*)::int AS n FROM notifications WHERE sent_at IS NULL`,
    );
    const notificationRows = await store.pool.query(`SELECT count(*)::int AS n FROM notifications`);

    const figures = {
      scanDuplicates,
      importsRun: succeeded,
      importsAtVendor,
      removals,
      removedAudit,
      alertDuplicates: duplicates(alertPosts),
      digestPosts: digestPosts.length,
    };
    record({
      kind: 'fault',
      area: 'replicas',
      name: 'two service processes on one database (renewal scan and digest every minute, same click to both)',
      outcome: `renewal scans ${scans().length} over ${byMinute.size} minutes; imports ${runs.rows
        .map((r) => r.outcome)
        .join(
          ', ',
        )} (${importsAtVendor} reached Graph); reclaim: ${removals} removal, ${removedAudit} audit entry; ${alertPosts.length} alerts, ${digestPosts.length} digest, ${notificationRows.rows[0].n} notifications (${undelivered.rows[0].n} undelivered)`,
      lost: 1 - Math.min(removals, 1) + (digestPosts.length === 0 ? 1 : 0),
      duplicated:
        scanDuplicates +
        Math.max(0, importsAtVendor - 1) +
        Math.max(0, removals - 1) +
        Math.max(0, removedAudit - 1) +
        figures.alertDuplicates +
        Math.max(0, digestPosts.length - 1),
    });
    expect(figures).toEqual({
      scanDuplicates: 0,
      importsRun: 1,
      importsAtVendor: 1,
      removals: 1,
      removedAudit: 1,
      alertDuplicates: 0,
      digestPosts: 1,
    });
    expect(alertPosts.length).toBeGreaterThan(0);
  }, 400_000);
});
