/**
 * Crashes: the service process killed (SIGKILL, no chance to clean up) in the middle of an import and in the middle of
 * a reclaim, then started again; the PostgreSQL server restarted under a running import. Nothing half-written is
 * visible, the import is redone from scratch, the reclaim reaches the vendor exactly once.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runActionTick } from '../../src/actions/jobs.ts';
import { loadConfig } from '../../src/config/config.ts';
import { policyOf, recomputeFindings } from '../../src/findings/recompute.ts';
import { importSource } from '../../src/inventory/import-service.ts';
import { GraphFake } from '../fakes/graph-fake.ts';
import { contosoOrg, generatedOrg, SKU, USER } from '../fakes/graph-fixtures.ts';
import {
  blockActionsPayload,
  interactionBody,
  SlackFake,
  slackSignature,
  slashCommandBody,
  USERS,
} from '../fakes/slack-fake.ts';
import { type RunningService, startServiceProcess } from '../support/processes.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import { record } from './figures.ts';
import { compareStates, decidedInventory, wholeInventory } from './inventory-state.ts';

const USERS_PATH = /^\/v1\.0\/users$/;
const ASSIGN = /\/assignLicense$/;
const SIGNING_SECRET = 'crash-test-signing-secret-0a1b2c';
const BOT_TOKEN = 'xoxb-crash-test-bot-token';

/** Polls until `check` holds; no fixed sleeps. */
async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const m365Env = (graph: GraphFake) => ({
  M365_TENANT_ID: graph.org.tenantId,
  M365_CLIENT_ID: graph.clientId,
  M365_CLIENT_SECRET: graph.clientSecret,
  GRAPH_BASE_URL: graph.url,
  MS_LOGIN_URL: graph.url,
});

describe('crashes', () => {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await Promise.resolve(step()).catch(() => undefined);
  });

  async function database(): Promise<TestDatabase> {
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    return db;
  }
  async function fake(graph: GraphFake): Promise<GraphFake> {
    await graph.start();
    cleanup.push(() => graph.stop());
    return graph;
  }
  async function service(env: Record<string, string>): Promise<RunningService> {
    const running = await startServiceProcess({ SEATKEEPER_JOB_POLL_SECONDS: '1', NODE_ENV: 'test', ...env });
    cleanup.push(() => (running.child.exitCode === null ? running.stop('SIGKILL') : undefined));
    return running;
  }
  const kill = async (running: RunningService) => {
    running.child.kill('SIGKILL');
    await until(() => running.child.exitCode !== null || running.child.signalCode !== null, 10_000, 'exit');
  };

  it('an import killed mid-way leaves the previous inventory intact; after a restart the import is redone in full', async () => {
    const db = await database();
    const graph = await fake(new GraphFake({ org: generatedOrg(2500) }));
    const store = await db.open();
    const config = loadConfig({ ...db.env, ...m365Env(graph), LOG_LEVEL: 'silent', NODE_ENV: 'test' });
    await importSource(store, config, 'm365', { trigger: 'test' });
    // The seed import looks old, so the service imports at start.
    await store.pool.query(`UPDATE import_runs SET finished_at = now() - interval '2 days'`);
    const before = await wholeInventory(store);

    // The tenant changes: a successful import must show it. One /users page then hangs (the vendor stalls).
    const changed = graph.org.users.slice(0, 50);
    for (const user of changed) user.assignedLicenses = [];
    let stalled = false;
    graph.onUsersPage = (page) => {
      if (page === 1 && !stalled) {
        stalled = true;
        graph.server.inject({ path: USERS_PATH, hang: true });
      }
    };
    const first = await service({ ...db.env, ...m365Env(graph) });
    await until(
      async () => {
        const staged = await store.pool.query('SELECT count(*)::int AS n FROM staging_accounts');
        return stalled && staged.rows[0].n > 0;
      },
      90_000,
      'the import staging its first pages',
    );
    await kill(first);

    // Nothing of the killed run is visible.
    const afterKill = await wholeInventory(store);
    const killDiff = compareStates(before, afterKill);
    expect(killDiff).toEqual({ lost: 0, extra: 0 });
    expect(afterKill.checksums).toEqual(before.checksums);

    const second = await service({ ...db.env, ...m365Env(graph) });
    await until(
      async () => {
        const runs = await store.pool.query(
          `SELECT count(*)::int AS n FROM import_runs WHERE source = 'm365' AND outcome = 'succeeded'`,
        );
        return runs.rows[0].n === 2;
      },
      120_000,
      'the import redone after the restart',
    );
    // The inventory is exactly what a clean import of the changed tenant gives.
    const reference = await database();
    const refStore = await reference.open();
    await importSource(
      refStore,
      loadConfig({ ...reference.env, ...m365Env(graph), LOG_LEVEL: 'silent' }),
      'm365',
      {
        trigger: 'test',
      },
    );
    const expected = await decidedInventory(refStore);
    const actual = await decidedInventory(store);
    const diff = compareStates(expected, actual);
    expect(diff).toEqual({ lost: 0, extra: 0 });
    expect(actual.checksums).toEqual(expected.checksums);
    const runs = await store.pool.query<{ outcome: string; error: string | null }>(
      `SELECT outcome, error FROM import_runs WHERE source = 'm365' ORDER BY id`,
    );
    await second.stop();
    record({
      kind: 'fault',
      area: 'crash',
      name: 'service SIGKILLed mid-import (Microsoft Graph, 2,500 users), restarted',
      outcome: `rolled back, redone in full after restart; runs: ${runs.rows.map((r) => r.outcome).join(', ')}`,
      lost: killDiff.lost + diff.lost,
      duplicated: killDiff.extra + diff.extra,
    });
  }, 300_000);

  it('a reclaim killed mid-call reaches the vendor exactly once: recorded as interrupted, retried, done once', async () => {
    const db = await database();
    const org = contosoOrg();
    const isaiah = org.users.find((u) => u.id === USER.isaiah);
    expect(isaiah?.assignedLicenses.map((l) => l.skuId)).toEqual([SKU.SPE_E5]);
    const graph = await fake(new GraphFake({ org }));
    const slack = new SlackFake();
    await slack.start();
    cleanup.push(() => slack.stop());
    for (const user of Object.values(USERS)) slack.addUser(user);
    const dir = mkdtempSync(join(tmpdir(), 'sk-crash-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const rolesFile = join(dir, 'roles.json');
    writeFileSync(rolesFile, JSON.stringify({ 'it-manager': ['slack:UROLE'] }));
    const env = {
      ...db.env,
      ...m365Env(graph),
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      SEATKEEPER_ROLES_FILE: rolesFile,
      SEATKEEPER_IDLE_GRACE_DAYS: '0',
    };
    const store = await db.open();
    const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
    await importSource(store, config, 'm365', { trigger: 'test' });
    const client = await store.pool.connect();
    try {
      await recomputeFindings(client, policyOf(config), new Date(Date.now() + 3_600_000));
    } finally {
      client.release();
    }

    const post = (running: RunningService, body: string) => {
      const ts = Math.floor(Date.now() / 1000);
      return fetch(`${running.url}/slack/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(ts),
          'x-slack-signature': slackSignature(SIGNING_SECRET, ts, body),
        },
        body,
      });
    };
    const actionId = randomUUID();
    const click = interactionBody(
      blockActionsPayload({
        userId: USERS.byId.id,
        button: {
          type: 'button',
          action_id: 'sk.reclaim1',
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
    const state = async () =>
      (await store.pool.query<{ state: string }>('SELECT state FROM actions WHERE id = $1', [actionId]))
        .rows[0]?.state;

    // The removal call reaches Graph and gets no answer; the service dies while waiting for it.
    graph.server.inject({ path: ASSIGN, hang: true });
    const first = await service(env);
    expect((await post(first, click)).status).toBe(200);
    await until(() => graph.server.calls(ASSIGN, 'POST').length === 1, 60_000, 'the removal call');
    expect(await state()).toBe('running');
    await kill(first);
    // Graph never applied it (the call hung); the seat is still there.
    expect(graph.user(USER.isaiah)?.assignedLicenses.map((l) => l.skuId)).toEqual([SKU.SPE_E5]);

    const second = await service(env);
    // A restarted service does not re-send a call that may have reached the vendor: the run stays "running" until it
    // is old enough to count as interrupted (the tick, run here half an hour on), then a person retries it.
    const later = new Date(Date.now() + 31 * 60_000);
    const tick = await runActionTick({ store, config, now: () => later });
    expect(tick.interrupted).toBe(1);
    expect(await state()).toBe('failed');
    const retry = slashCommandBody({
      text: `retry ${actionId}`,
      userId: USERS.byId.id,
      responseUrl: slack.responseUrl(),
    });
    expect((await post(second, retry)).status).toBe(200);
    await until(async () => (await state()) === 'done', 60_000, 'the retried reclaim');
    // The click and the retry replayed: nothing more reaches Graph.
    expect((await post(second, click)).status).toBe(200);
    const again = slashCommandBody({
      text: `retry ${actionId}`,
      userId: USERS.byId.id,
      responseUrl: slack.responseUrl(),
    });
    const answeredBefore = slack.callsOf('respond').length;
    expect((await post(second, again)).status).toBe(200);
    await until(
      () => slack.callsOf('respond').length > answeredBefore,
      30_000,
      'the replayed retry answered',
    );

    const calls = graph.server.calls(ASSIGN, 'POST');
    const applied = graph.user(USER.isaiah)?.assignedLicenses.length === 0 ? 1 : 0;
    expect(calls).toHaveLength(2);
    expect(applied).toBe(1);
    const audit = await store.pool.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE after->>'actionId' = $1 ORDER BY id`,
      [actionId],
    );
    const actions = audit.rows.map((r) => r.action);
    expect(actions.filter((a) => a === 'reclaim')).toHaveLength(1);
    expect(actions.filter((a) => a === 'reclaim.failed')).toHaveLength(1);
    await second.stop();
    record({
      kind: 'fault',
      area: 'crash',
      name: 'service SIGKILLed while the Graph removal call was in flight, restarted',
      outcome: `interrupted → failed (retryable) → retried → done; audit: ${actions.join(', ')}; Graph calls ${calls.length}, applied ${applied}`,
      lost: 1 - applied,
      duplicated: actions.filter((a) => a === 'reclaim').length - 1,
    });
  }, 300_000);
});

const PG_VERSION =
  spawnSync('ls', ['/etc/postgresql'], { encoding: 'utf8' }).stdout.trim().split('\n').pop() ?? '';
const pgReady = () => spawnSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432']).status === 0;

// Only where the suite runs against the PostgreSQL server (CI): the embedded database has no server to restart.
if (process.env.TEST_DATABASE_URL && PG_VERSION) {
  describe('the PostgreSQL server restarted during an import', () => {
    const cleanup: (() => Promise<unknown> | unknown)[] = [];
    afterEach(async () => {
      // The server is shared: whatever happened, it is up again before this test ends.
      if (!pgReady()) spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', PG_VERSION, 'main', 'start']);
      await until(pgReady, 60_000, 'PostgreSQL up');
      for (const step of cleanup.splice(0).reverse()) await Promise.resolve(step()).catch(() => undefined);
    });

    it('the service survives the restart and reconnects; the import completes, or fails, is recorded and the next run succeeds', async () => {
      const db = await createTestDatabase('server');
      cleanup.push(() => db.drop());
      const graph = new GraphFake({ org: generatedOrg(2500) });
      await graph.start();
      cleanup.push(() => graph.stop());
      let slowed = false;
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      cleanup.push(() => release());
      graph.onUsersPage = (page) => {
        if (page === 1 && !slowed) {
          slowed = true;
          // The next page is held until the server is back: the restart happens while the import waits for Graph,
          // with its connections idle in the pool.
          graph.server.inject({ path: USERS_PATH, gate });
        }
      };
      const running = await startServiceProcess({
        ...db.env,
        ...m365Env(graph),
        NODE_ENV: 'test',
        SEATKEEPER_JOB_POLL_SECONDS: '1',
        SEATKEEPER_IMPORT_INTERVAL: '1 minute',
      });
      cleanup.push(() => (running.child.exitCode === null ? running.stop('SIGKILL') : undefined));
      const store = await db.open();
      await until(
        async () => {
          const staged = await store.pool.query('SELECT count(*)::int AS n FROM staging_accounts');
          return slowed && staged.rows[0].n > 0;
        },
        90_000,
        'the import staging its first pages',
      );

      const restart = spawnSync(
        'pg_ctlcluster',
        ['--skip-systemctl-redirect', PG_VERSION, 'main', 'restart'],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      expect(restart.status, restart.stderr).toBe(0);
      await until(pgReady, 60_000, 'PostgreSQL up');
      release();

      await until(
        async () => {
          const done = await store.pool
            .query(
              `SELECT count(*)::int AS n FROM import_runs WHERE source = 'm365' AND outcome = 'succeeded'`,
            )
            .catch(() => undefined);
          return (done?.rows[0]?.n ?? 0) >= 1;
        },
        150_000,
        'an import succeeding after the restart',
      ).catch(async (error: Error) => {
        const runs = await store.pool
          .query('SELECT * FROM import_runs')
          .catch((e: Error) => ({ rows: [e.message] }));
        throw new Error(
          `${error.message}\nruns: ${JSON.stringify(runs.rows)}\nservice:\n${running.lines.slice(-40).join('\n')}`,
        );
      });
      expect(running.child.exitCode).toBeNull();
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${running.url}/readyz`);
      expect(ready.status).toBe(200);
      const runs = await store.pool.query<{ outcome: string; error: string | null }>(
        `SELECT outcome, error FROM import_runs WHERE source = 'm365' ORDER BY id`,
      );
      const accounts = await store.pool.query('SELECT count(*)::int AS n FROM cloud_subscribers');
      expect(accounts.rows[0].n).toBeGreaterThan(2500);
      record({
        kind: 'fault',
        area: 'crash',
        name: 'PostgreSQL server restarted while an import waited for a vendor page',
        outcome: `service kept running and reconnected; runs: ${runs.rows
          .map((r) => `${r.outcome}${r.error ? ` (${r.error.slice(0, 80)})` : ''}`)
          .join(', ')}`,
        lost: 0,
        duplicated: 0,
      });
      await store.close();
    }, 300_000);
  });
}
