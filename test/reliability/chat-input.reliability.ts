/**
 * Bad and forged input through the running service, the way Slack and Teams deliver it: signed `/license` commands
 * with generated text, button clicks whose `value` is anything at all or a rewritten command, and Teams card invokes
 * whose `action.data` is anything at all. Every request is answered, no turn fails unexpectedly, the service keeps
 * serving, and nobody acts beyond their role: the Microsoft Graph fake sees no removal, no action is created.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../handlers/registry.ts';
import { importSource } from '../../src/inventory/import-service.ts';
import { actionInvoke, BotConnectorFake, conversation, type TeamsUser } from '../fakes/bot-connector-fake.ts';
import { GraphFake } from '../fakes/graph-fake.ts';
import { USER } from '../fakes/graph-fixtures.ts';
import {
  BOT_TOKEN,
  blockActionsPayload,
  interactionBody,
  postSigned,
  SIGNING_SECRET,
  type SlackTestEnv,
  slashCommandBody,
  startSlackService,
  USERS,
  until,
} from '../fakes/slack-fake.ts';
import { graphEnv } from '../support/graph-env.ts';
import { record } from './figures.ts';
import { SEED, token } from './fuzz-kit.ts';

const FORM = 'application/x-www-form-urlencoded' as const;
const ASSIGN = /\/assignLicense$/;
const ADELE: TeamsUser = {
  id: '29:1adele-mri',
  aadObjectId: USER.adele,
  name: 'Adele Vance',
  email: 'adele.vance@example.com',
};
/** Slack users without the it-manager role: whatever they send, no seat may move. */
const UNPRIVILEGED = [USERS.helpdesk, USERS.member, USERS.stranger];

describe('bad and forged chat input against the running service', () => {
  let env: SlackTestEnv;
  let graph: GraphFake;
  let teams: BotConnectorFake;

  beforeAll(async () => {
    graph = await new GraphFake().start();
    teams = await new BotConnectorFake().start();
    teams.members.set(ADELE.id, ADELE);
    env = await startSlackService({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      ...graphEnv(graph),
      SEATKEEPER_IDLE_GRACE_DAYS: '0',
    });
    await importSource(env.service.store, env.config, 'm365', { trigger: 'test' });
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
    await graph?.stop();
    await teams?.stop();
  });

  const post = (body: string) => postSigned(env.eventsUrl, SIGNING_SECRET, body, FORM);
  const count = async (sql: string) =>
    Number((await env.service.store.pool.query(`SELECT count(*)::int AS n FROM ${sql}`)).rows[0].n);

  /** What an unprivileged actor must never change. */
  async function protectedState() {
    return {
      removals: graph.server.calls(ASSIGN, 'POST').length,
      actions: await count('actions'),
      exemptions: await count('exemptions'),
      decisions: await count('renewal_decisions'),
      accountKinds: await count(
        "cloud_subscribers WHERE account_kind IS NOT NULL AND account_kind <> 'person'",
      ),
      findingsChanged: await count("findings WHERE status <> 'open'"),
    };
  }

  /** Turns that failed unexpectedly (an error a person would see as "something went wrong"). */
  const unexpectedFailures = () =>
    env.logLines.filter(
      (l) => /"level":50/.test(l) && /request failed|turn failed|failed unexpectedly/.test(l),
    );

  /** Records a fuzz run's figures: unclear answers and any change to the protected state since `before`. */
  async function settle(
    target: string,
    runs: number,
    before: Awaited<ReturnType<typeof protectedState>>,
    failuresBefore: number,
    unclearAnswers = 0,
  ) {
    const after = await protectedState();
    const unexpected = unexpectedFailures().slice(failuresBefore);
    const escalations = Object.values(after).reduce(
      (n, v, i) => n + Math.abs(v - (Object.values(before)[i] ?? 0)),
      0,
    );
    record({ kind: 'fuzz', target, runs, unclear: unexpected.length + unclearAnswers, escalations });
    return { after, unexpected };
  }

  /** Nothing failed unexpectedly, nothing protected changed, and the service still serves. */
  async function expectHeld(
    settled: Awaited<ReturnType<typeof settle>>,
    before: Awaited<ReturnType<typeof protectedState>>,
  ) {
    expect(settled.unexpected).toEqual([]);
    expect(settled.after).toEqual(before);
    expect((await fetch(`${env.baseUrl}/healthz`)).status).toBe(200);
  }

  it('answers generated /license text from every unprivileged user, and the service keeps serving', async () => {
    const before = await protectedState();
    const failuresBefore = unexpectedFailures().length;
    const sent: { id: number; text: string }[] = [];
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...UNPRIVILEGED),
        fc.constantFrom('', ...COMMANDS.map((c) => c.name)),
        fc.array(token, { maxLength: 6 }),
        async (user, command, words) => {
          runs++;
          const responseUrl = env.fake.responseUrl();
          const text = [command, ...words].join(' ').slice(0, 80_000);
          const response = await post(slashCommandBody({ text, userId: user.id, responseUrl }));
          expect(response.status).toBe(200);
          // Help for an unknown command comes in the acknowledgement itself; everything else through the URL.
          const ack = await response.text();
          if (ack.includes('"text"')) return;
          sent.push({ id: Number(responseUrl.split('/').pop()), text: `${user.id}: ${text.slice(0, 80)}` });
        },
      ),
      { numRuns: 80, seed: SEED },
    );
    // Every command got its answer through its response URL.
    const unanswered = () => {
      const answered = new Set(env.fake.callsOf('respond').map((c) => c.respondId));
      return sent.filter((s) => !answered.has(s.id));
    };
    await until(async () => unanswered().length === 0, 60_000).catch(() => undefined);
    expect(unanswered()).toEqual([]);
    const settled = await settle(
      'Slack /license text (signed requests to /slack/events)',
      runs,
      before,
      failuresBefore,
    );
    await expectHeld(settled, before);
  });

  it('answers generated and rewritten button values without acting beyond the clicking user’s role', async () => {
    const before = await protectedState();
    const failuresBefore = unexpectedFailures().length;
    const mutating = COMMANDS.filter((c) => c.role !== 'helpdesk' && c.role !== 'member').map((c) => c.name);
    const value = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .record({
          c: fc.constantFrom(...mutating, 'who-has', 'nope'),
          t: fc.array(
            fc.oneof(
              token,
              fc.constantFrom(
                '--sku',
                'SPE_E5',
                '--email',
                'isaiah.langer@example.com',
                '--yes',
                '--all-idle',
              ),
            ),
            { maxLength: 6 },
          ),
          id: fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })),
        })
        .map((v) => JSON.stringify(v)),
      fc.constant('x'.repeat(3000)),
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...UNPRIVILEGED), value, async (user, forged) => {
        runs++;
        const payload = blockActionsPayload({
          userId: user.id,
          button: {
            type: 'button',
            action_id: `sk.${randomUUID().slice(0, 8)}`,
            text: { type: 'plain_text', text: 'Reclaim' },
            value: forged,
          },
          blockId: 'b1',
          responseUrl: env.fake.responseUrl(),
          ephemeral: true,
        });
        const response = await post(interactionBody(payload));
        expect(response.status).toBe(200);
      }),
      { numRuns: 80, seed: SEED },
    );
    // The clicks are acknowledged at once and carried out after; wait until they have all been answered.
    await until(async () => env.fake.callsOf('respond').length >= runs, 60_000).catch(() => undefined);
    const settled = await settle(
      'Slack button values (block_actions payloads)',
      runs,
      before,
      failuresBefore,
    );
    await expectHeld(settled, before);
  });

  it('answers generated Teams action.data from a member without acting beyond the member role', async () => {
    const before = await protectedState();
    const failuresBefore = unexpectedFailures().length;
    const chat = conversation('personal', 'a:adele-personal');
    const data = fc.oneof(
      fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
      fc.record(
        {
          command: fc.constantFrom(...COMMANDS.map((c) => c.name), 'nope', ''),
          args: fc.dictionary(
            fc.constantFrom('sku', 'email', 'yes', 'all-idle', 'id', 'limit', 'until', 'reason', 'decision'),
            fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.boolean(), fc.constant('SPE_E5')),
            { maxKeys: 4 },
          ),
          stage: fc.constantFrom('submit', 'confirmed', 'bogus'),
          actionId: fc.oneof(fc.uuid(), fc.string({ maxLength: 10 })),
          origin: fc.jsonValue({ maxDepth: 2 }),
        },
        { requiredKeys: ['command'] },
      ),
    );
    let runs = 0;
    let answered = 0;
    const statuses: string[] = [];
    await fc.assert(
      fc.asyncProperty(data, fc.constantFrom('run', 'view', 'refresh', 'bogus'), async (actionData, verb) => {
        runs++;
        const response = await fetch(`${env.baseUrl}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(
            actionInvoke(teams, ADELE, chat, 'f:card', { verb, data: actionData as Record<string, unknown> }),
          ),
        });
        const body = (await response.json().catch(() => ({}))) as {
          statusCode?: number;
          type?: string;
          value?: { message?: string };
        };
        // A card, or Teams' error answer with a message the person sees.
        const clear =
          (response.status === 200 && body.statusCode === 200) ||
          (response.status === 400 &&
            body.type === 'application/vnd.microsoft.error' &&
            (body.value?.message ?? '').length > 0);
        if (clear) answered++;
        else statuses.push(`${response.status} ${JSON.stringify(body).slice(0, 200)}`);
      }),
      { numRuns: 60, seed: SEED },
    );
    const settled = await settle(
      'Teams Action.Execute data (adaptiveCard/action invokes)',
      runs,
      before,
      failuresBefore,
      statuses.length,
    );
    expect(statuses.slice(0, 5)).toEqual([]);
    expect(answered).toBe(runs);
    await expectHeld(settled, before);
  });

  it('refuses oversized bodies on /slack/events and /api/messages with 413, and keeps serving', async () => {
    const huge = `text=${'x'.repeat(6 * 1024 * 1024)}`;
    const slack = await post(huge);
    const teamsAnswer = await fetch(`${env.baseUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', text: 'x'.repeat(6 * 1024 * 1024) }),
    });
    const statuses = [slack.status, teamsAnswer.status];
    record({
      kind: 'fuzz',
      target: 'oversized request bodies (6 MB to /slack/events and /api/messages)',
      runs: 2,
      unclear: statuses.filter((s) => s !== 413).length,
      escalations: 0,
    });
    expect(statuses).toEqual([413, 413]);
    // The refused uploads' connections are closed by the server; a new one is served at once.
    await until(
      async () => (await fetch(`${env.baseUrl}/healthz`).catch(() => undefined))?.status === 200,
      10_000,
    );
  });

  it('a forged reclaim is denied to helpdesk on Slack and to a member on Teams; an IT manager’s click applies once, replays do not', async () => {
    const value = JSON.stringify({
      c: 'reclaim',
      t: ['--email', 'isaiah.langer@example.com', '--sku', 'SPE_E5', '--yes'],
      id: randomUUID(),
    });
    let lastRespondId = 0;
    const click = (userId: string) => {
      const responseUrl = env.fake.responseUrl();
      lastRespondId = Number(responseUrl.split('/').pop());
      return interactionBody(
        blockActionsPayload({
          userId,
          button: {
            type: 'button',
            action_id: 'sk.forged01',
            text: { type: 'plain_text', text: 'Reclaim' },
            value,
          },
          blockId: 'b1',
          responseUrl,
          ephemeral: true,
        }),
      );
    };
    const denied = await count(`audit_log WHERE action = 'denied' AND target = 'reclaim'`);
    expect((await post(click(USERS.helpdesk.id))).status).toBe(200);
    await until(
      async () => (await count(`audit_log WHERE action = 'denied' AND target = 'reclaim'`)) >= denied + 1,
    );

    const invoke = actionInvoke(teams, ADELE, conversation('personal', 'a:adele-personal'), 'f:card', {
      verb: 'run',
      data: {
        command: 'reclaim',
        args: { email: 'isaiah.langer@example.com', sku: 'SPE_E5', yes: true },
        stage: 'confirmed',
        actionId: randomUUID(),
      },
    });
    const teamsAnswer = await fetch(`${env.baseUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(invoke),
    });
    const teamsBody = await teamsAnswer.text();
    expect(teamsAnswer.status).toBe(200);
    expect(teamsBody).toContain('Not allowed');
    expect(teamsBody).toContain('needs the it-manager role');
    await until(
      async () => (await count(`audit_log WHERE action = 'denied' AND target = 'reclaim'`)) >= denied + 2,
    );
    expect(graph.server.calls(ASSIGN, 'POST')).toHaveLength(0);
    expect(await count('actions')).toBe(0);

    // The same value from an IT manager works — so the denials above were the role check, not a broken value.
    expect((await post(click(USERS.byId.id))).status).toBe(200);
    await until(async () => (await count(`actions WHERE state = 'done'`)) === 1, 30_000);
    // Replayed clicks (same action id) by the IT manager and by helpdesk apply nothing more.
    const replays: number[] = [];
    for (const user of [USERS.byId.id, USERS.byId.id, USERS.helpdesk.id]) {
      expect((await post(click(user))).status).toBe(200);
      replays.push(lastRespondId);
    }
    // Each replay is answered (with the first click's outcome, or a denial), then nothing more happens.
    await until(async () => {
      const answered = new Set(env.fake.callsOf('respond').map((c) => c.respondId));
      return replays.every((id) => answered.has(id));
    }, 30_000);
    const removals = graph.server.calls(ASSIGN, 'POST').length;
    expect(removals).toBe(1);
    expect(await count('actions')).toBe(1);
    // One request and one removal in the audit log.
    expect(await count(`audit_log WHERE action = 'reclaim.requested'`)).toBe(1);
    expect(await count(`audit_log WHERE action = 'reclaim'`)).toBe(1);
    record({
      kind: 'fault',
      area: 'security',
      name: 'forged reclaim value (Slack helpdesk, Teams member), then the IT manager’s click replayed 3 times',
      outcome: 'denied and audited for both forgers; applied once for the IT manager',
      lost: 0,
      duplicated: removals - 1,
    });
  });
});
