/**
 * The Teams surface end to end: activities and invokes POSTed to `/api/messages` (authentication off) on a real
 * HTTP server and database, replies, message edits and proactive sends captured by the Bot Connector fake (the
 * activities' service URL), vendor removals by the Graph fake.
 */

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEAMS_NOTIFICATIONS_JOB } from '../../src/surfaces/teams/teams-surface.ts';
import {
  actionInvoke,
  BOT,
  buttonsOf,
  cardOf,
  cardProblems,
  cardText,
  conversation,
  installActivity,
  messageActivity,
  searchInvoke,
  type TeamsUser,
} from '../fakes/bot-connector-fake.ts';
import { SKU, USER } from '../fakes/graph-fixtures.ts';
import { idleOrg, LAST_SIGN_IN } from '../support/idle-org.ts';
import {
  ADELE,
  ALEX,
  answerIn,
  type ContosoTeams,
  LEE,
  NESTOR,
  postActivity,
  startContosoTeams,
  startTeamsReplica,
  stopReplicas,
  type TeamsReplica,
  until,
} from './teams-harness.ts';

/** The Teams channels notifications go to, by the names notification targets use. */
const CHANNELS = { it: '19:it-alerts@thread.tacv2', digest: '19:weekly-digest@thread.tacv2' };

interface TeamsHarness extends ContosoTeams {
  replica: TeamsReplica;
  /** Another replica on the same database (its job runner is not started). */
  addReplica(): Promise<TeamsReplica>;
  /** POSTs an activity to `/api/messages`; resolves with the HTTP status and the parsed body. */
  post(activity: object, url?: string): Promise<{ status: number; body: unknown }>;
  stop(): Promise<void>;
}

/** Contoso with Lee's seats idle, Adele an IT manager and Alex on the help desk, and one replica running jobs. */
async function startTeamsHarness(): Promise<TeamsHarness> {
  const contoso = await startContosoTeams({
    org: idleOrg([LAST_SIGN_IN.lee]),
    members: [ADELE, ALEX, LEE, NESTOR],
    roles: { 'it-manager': [ADELE.email], helpdesk: [ALEX.email] },
  });
  const replicas: TeamsReplica[] = [];
  const startReplica = async (runJobs: boolean): Promise<TeamsReplica> => {
    const replica = await startTeamsReplica(contoso, `it=${CHANNELS.it},digest=${CHANNELS.digest}`, runJobs);
    replicas.push(replica);
    return replica;
  };
  const replica = await startReplica(true);

  return {
    ...contoso,
    replica,
    addReplica: () => startReplica(false),
    post: (activity, url = replica.url) => postActivity(url, activity),
    async stop() {
      await stopReplicas(replicas);
      await contoso.connector.stop();
      await contoso.graph.stop();
      await contoso.db.drop();
    },
  };
}

// ─── the tests ─────────────────────────────────────────────────────────────────────────────────────────────────

const CARD = 'application/vnd.microsoft.card.adaptive';
const ASSIGN = /\/assignLicense$/;

describe('Teams surface over /api/messages', () => {
  let h: TeamsHarness;
  beforeAll(async () => {
    h = await startTeamsHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });
  afterEach(() => {
    // Every card the bot sent was one Teams would render.
    expect(h.connector.rejected.splice(0)).toEqual([]);
  });

  /** The card the bot last posted in a conversation (a reply or a new message), with the message's id. */
  function lastCard(conversationId: string): { id: string; card: Record<string, unknown> } {
    const posted = h.connector.calls.filter(
      (c) => (c.kind === 'reply' || c.kind === 'send') && c.conversationId === conversationId,
    );
    const last = posted.at(-1);
    if (!last) throw new Error(`nothing posted to ${conversationId}: ${h.connector.describe()}`);
    return { id: last.activityId as string, card: cardOf(last.body) };
  }

  /** Sends a message and returns the card the bot replied with, once it has arrived. */
  async function ask(user: TeamsUser, conv: ReturnType<typeof conversation>, text: string) {
    const before = h.connector.calls.length;
    const { status } = await h.post(messageActivity(h.connector, user, conv, text));
    expect(status).toBe(200);
    const answer = await answerIn(h.connector, conv.id, before);
    return { id: answer.activityId as string, card: cardOf(answer.body) };
  }

  /** Clicks a button; returns the invoke response's card. */
  async function click(
    user: TeamsUser,
    conv: ReturnType<typeof conversation>,
    messageId: string,
    button: { verb: string; data: Record<string, unknown> },
    extra: Record<string, unknown> = {},
    trigger: 'manual' | 'automatic' = 'manual',
  ) {
    const action = { verb: button.verb, data: { ...button.data, ...extra } };
    const { status, body } = await h.post(actionInvoke(h.connector, user, conv, messageId, action, trigger));
    expect(status).toBe(200);
    const response = body as { statusCode: number; type: string; value: Record<string, unknown> };
    expect(response).toMatchObject({ statusCode: 200, type: CARD });
    expect(cardProblems(response.value)).toEqual([]);
    return response.value;
  }

  const button = (card: unknown, title: string, args: Record<string, unknown> = {}) => {
    const found = buttonsOf(card).find(
      (b) =>
        b.title === title &&
        Object.entries(args).every(
          ([k, v]) => (b.data.args as Record<string, unknown> | undefined)?.[k] === v,
        ),
    );
    if (!found)
      throw new Error(
        `no '${title}' button with ${JSON.stringify(args)}: ${buttonsOf(card).map((b) => b.title)}`,
      );
    return found;
  };

  it('answers who-has typed in a personal chat with the subscribers card, and learns who is asking', async () => {
    const chat = conversation('personal', 'a:adele-personal-1');
    const { card } = await ask(ADELE, chat, 'who-has power bi');
    const text = cardText(card);
    expect(text).toContain('Who has power bi');
    expect(text).toContain('lee.gu@example.com');
    expect(text).toContain('Power BI Pro');
    // The member lookup gave Adele's e-mail: her person now carries her AAD object id, and the chat is stored.
    const person = await h.store.pool.query(
      `SELECT teams_aad_object_id FROM persons WHERE primary_email = $1`,
      [ADELE.email],
    );
    expect(person.rows[0]?.teams_aad_object_id).toBe(ADELE.aadObjectId);
    const addresses = await h.store.pool.query(
      `SELECT key FROM chat_addresses WHERE platform = 'teams' AND address->'conversation'->>'id' = $1 ORDER BY key`,
      [chat.id],
    );
    expect(addresses.rows.map((r) => r.key.replace(/^person:\d+$/, 'person:N'))).toEqual([
      `conversation:${chat.id}`,
      'person:N',
      `user:${ADELE.aadObjectId}`,
    ]);
    // An IT manager in a personal chat gets the buttons directly.
    expect(buttonsOf(card).map((b) => b.title)).toContain('Reclaim');
  });

  it('strips the @mention in a channel and shares a read-only card that refreshes for those allowed to act', async () => {
    const channel = conversation('channel', `${CHANNELS.it};messageid=1700000000001`);
    const { id, card } = await ask(ADELE, channel, 'findings --kind idle');
    expect(cardText(card)).toContain('Idle seat — Power BI Pro');
    expect(buttonsOf(card).map((b) => b.title)).not.toContain('Reclaim');
    const refresh = card.refresh as {
      action: { verb: string; data: Record<string, unknown> };
      userIds: string[];
    };
    expect(refresh.action.verb).toBe('refresh');
    expect(refresh.userIds).toEqual([ADELE.id]);

    // Teams asks for Adele's own version: the buttons, and no edit of the message (that would loop).
    const before = h.connector.of('update').length;
    const mine = await click(ADELE, channel, id, refresh.action, {}, 'automatic');
    expect(button(mine, 'Reclaim', { email: 'lee.gu@example.com', sku: 'POWER_BI_PRO' })).toBeDefined();
    // A helpdesk user who refreshes by hand sees the list without buttons that act.
    const alexView = await click(ALEX, channel, id, refresh.action);
    expect(buttonsOf(alexView).map((b) => b.title)).not.toContain('Reclaim');
    expect(h.connector.of('update')).toHaveLength(before);
  });

  it('gives a dashboard sign-in link only in a personal chat, never to a channel', async () => {
    const channel = conversation('channel', `${CHANNELS.it};messageid=1700000000009`);
    const shared = cardText((await ask(ALEX, channel, 'dashboard')).card);
    expect(shared).toContain('only in a personal chat');
    expect(shared).not.toContain('/auth/link');
    const personal = cardText(
      (await ask(ALEX, conversation('personal', 'a:alex-personal-1'), 'dashboard')).card,
    );
    expect(personal).toContain('/auth/link?token=');
  });

  it('answers unknown text with the help card', async () => {
    const { card } = await ask(ALEX, conversation('personal', 'a:alex-personal-1'), 'frobnicate the seats');
    const text = cardText(card);
    expect(text).toContain('I don’t know “frobnicate”');
    expect(text).toContain('who-has <query>');
    expect(text).toContain('renewals');
  });

  it('pages a long list with More, for the person who clicked only', async () => {
    const chat = conversation('personal', 'a:alex-personal-2');
    const { id, card } = await ask(ALEX, chat, 'who-has ENTERPRISEPACK --limit 2');
    expect(cardText(card)).toContain('1–2 of 3 seats');
    const updates = h.connector.of('update').length;
    const next = await click(ALEX, chat, id, button(card, 'More'));
    expect(cardText(next)).toContain('3 of 3 seats');
    expect(buttonsOf(next).map((b) => b.title)).not.toContain('More');
    expect(h.connector.of('update')).toHaveLength(updates);
  });

  it('reclaims an idle seat once when Confirm is clicked twice and on two replicas, and shows everyone who did it', async () => {
    const channel = conversation('channel', `${CHANNELS.it};messageid=1700000000002`);
    const { id, card } = await ask(ADELE, channel, 'findings --kind idle');
    const refresh = (card.refresh as { action: { verb: string; data: Record<string, unknown> } }).action;
    const mine = await click(ADELE, channel, id, refresh, {}, 'automatic');

    // First click: the dry-run preview as the confirmation, nothing changes.
    const preview = await click(ADELE, channel, id, button(mine, 'Reclaim', { email: 'lee.gu@example.com' }));
    expect(cardText(preview)).toContain('Reclaim?');
    expect(cardText(preview)).toContain('€120/yr');
    expect(h.graph.server.calls(ASSIGN)).toHaveLength(0);
    const confirm = button(preview, 'Yes, reclaim');

    // Confirm, twice on this replica and once on another, all at once.
    const other = await h.addReplica();
    const updatesBefore = h.connector.of('update', channel.id).length;
    const answers = await Promise.all([
      click(ADELE, channel, id, confirm),
      click(ADELE, channel, id, confirm),
      (async () => {
        const action = { verb: confirm.verb, data: confirm.data };
        const { body } = await h.post(actionInvoke(h.connector, ADELE, channel, id, action), other.url);
        return (body as { value: Record<string, unknown> }).value;
      })(),
    ]);
    for (const answer of answers)
      expect(cardText(answer)).toMatch(/Reclaim lee\.gu@example\.com · POWER_BI_PRO — by Adele Vance/);

    // One action, carried out by the action job: exactly one removal at the vendor.
    await until(async () => {
      const done = await h.store.pool.query(`SELECT state FROM actions WHERE kind = 'reclaim'`);
      return done.rows.length === 1 && done.rows[0]?.state === 'done';
    });
    expect(h.graph.server.calls(ASSIGN)).toHaveLength(1);
    expect(h.graph.user(USER.lee)?.assignedLicenses.map((l) => l.skuId)).not.toContain(SKU.POWER_BI_PRO);
    const requested = await h.store.pool.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'reclaim.requested'`,
    );
    expect(requested.rows[0]?.n).toBe(1);

    // The shared message shows who did it, read-only, still refreshing for the people who may act; once the job
    // has carried the removal out, it is edited again to show how it ended.
    await h.connector.waitFor(
      (c) => c.kind === 'update' && c.activityId === id && cardText(cardOf(c.body)).includes('(done)'),
    );
    const updates = h.connector.of('update', channel.id).slice(updatesBefore);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    // The answer and the outcome, per replica that answered; never per click.
    expect(updates.length).toBeLessThanOrEqual(4);
    for (const update of updates) {
      expect(update.activityId).toBe(id);
      const shared = cardOf(update.body);
      expect(cardText(shared)).toContain('— by Adele Vance');
      expect(buttonsOf(shared).map((b) => b.title)).not.toContain('Reclaim');
      expect((shared.refresh as { userIds: string[] }).userIds).toEqual([ADELE.id]);
    }
  });

  it('refuses a helpdesk user’s Reclaim, says why on their card, and audits the denial', async () => {
    const chat = conversation('personal', 'a:adele-personal-3');
    const { card } = await ask(ADELE, chat, 'who-has lee.gu@example.com');
    const reclaim = button(card, 'Reclaim', { email: 'lee.gu@example.com', sku: 'ENTERPRISEPACK' });
    const alexChat = conversation('personal', 'a:alex-personal-3');
    const before = await h.store.pool.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'denied'`,
    );
    const answer = await click(ALEX, alexChat, 'f:unknown', reclaim);
    expect(cardText(answer)).toContain('did not happen');
    expect(cardText(answer)).toContain('it-manager');
    const after = await h.store.pool.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'denied'`,
    );
    expect(after.rows[0]?.n).toBe((before.rows[0]?.n as number) + 1);
    expect(h.connector.of('update', alexChat.id)).toHaveLength(0);
  });

  it('keeps a seat with the reason and date given in the form', async () => {
    const chat = conversation('personal', 'a:adele-personal-4');
    const { id, card } = await ask(ADELE, chat, 'who-has isaiah.langer@example.com');
    const keep = button(card, 'Keep', { email: 'isaiah.langer@example.com' });
    const form = await click(ADELE, chat, id, keep);
    expect(JSON.stringify(form)).toContain('"id":"in-reason"');
    const save = button(form, 'Save');
    // Without the required reason the form comes back with the handler's message.
    const again = await click(ADELE, chat, id, save, {});
    expect(cardText(again)).toContain('reason');
    const kept = await click(ADELE, chat, id, save, {
      'in-reason': 'on parental leave',
      'in-until': '2027-03-01',
    });
    expect(cardText(kept)).toContain('Keep isaiah.langer@example.com');
    const exemption = await h.store.pool.query(
      `SELECT reason, until FROM exemptions WHERE reason = 'on parental leave'`,
    );
    expect(exemption.rows).toHaveLength(1);
    expect(exemption.rows[0]?.until.toISOString()).toBe('2027-03-01T00:00:00.000Z');
    // In a personal chat the message is edited to the same card.
    expect(h.connector.of('update', chat.id).at(-1)?.activityId).toBe(id);
  });

  it('suggests persons as the user types, to helpdesk and above only', async () => {
    const chat = conversation('personal', 'a:adele-personal-5');
    const { body } = await h.post(searchInvoke(h.connector, ADELE, chat, 'johanna'));
    expect(body).toEqual({
      statusCode: 200,
      type: 'application/vnd.microsoft.search.searchResponse',
      value: {
        results: [
          { title: 'Johanna Lorenz (johanna.lorenz@example.com)', value: 'johanna.lorenz@example.com' },
        ],
      },
    });
    const member = await h.post(
      searchInvoke(h.connector, NESTOR, conversation('personal', 'a:nestor-personal-5'), 'johanna'),
    );
    expect((member.body as { value: { results: unknown[] } }).value.results).toEqual([]);
  });

  it('assigns an unmatched account to a person chosen in the typeahead', async () => {
    await h.store.pool.query(
      `INSERT INTO cloud_subscribers (license_id, vendor_account_id, email)
       SELECT id, 'ext-1', 'j.lorenz@agency.example' FROM licenses WHERE sku = 'SPE_E5'`,
    );
    const chat = conversation('personal', 'a:adele-personal-6');
    const { id, card } = await ask(ADELE, chat, 'clearing');
    const assign = button(card, 'Assign to person', { email: 'j.lorenz@agency.example' });
    const form = await click(ADELE, chat, id, assign);
    const choice = JSON.stringify(form);
    expect(choice).toContain('"choices.data":{"type":"Data.Query","dataset":"persons"');
    // The static suggestion comes from the account's name: j → Johanna first among the matches.
    expect(choice).toContain('johanna.lorenz@example.com');
    const done = await click(ADELE, chat, id, button(form, 'Save'), {
      'in-person': 'johanna.lorenz@example.com',
    });
    expect(cardText(done)).toContain('Clearing assign j.lorenz@agency.example — by Adele Vance');
    const alias =
      await h.store.pool.query(`SELECT p.primary_email FROM person_emails e JOIN persons p ON p.id = e.person_id
      WHERE e.email = 'j.lorenz@agency.example'`);
    expect(alias.rows[0]?.primary_email).toBe('johanna.lorenz@example.com');
  });

  it('delivers notifications once to the configured channel and asks the holder in a personal chat it creates', async () => {
    // The app is installed in the team: its reference gives the service URL for channel posts.
    const general = conversation('channel', '19:team-general@thread.tacv2');
    expect((await h.post(installActivity(h.connector, ADELE, general))).status).toBe(200);
    // Lee's AAD object id is known (learned or imported), but he never talked to the bot.
    await h.store.pool.query(`UPDATE persons SET teams_aad_object_id = $1 WHERE primary_email = $2`, [
      LEE.aadObjectId,
      LEE.email,
    ]);

    // Adele asks Lee whether he still needs Power BI (reclaim with ask-the-holder).
    const chat = conversation('personal', 'a:adele-personal-7');
    const { id, card } = await ask(ADELE, chat, 'who-has lee.gu@example.com');
    const askButton = button(card, 'Ask holder', { sku: 'ENTERPRISEPACK' });
    const preview = await click(ADELE, chat, id, askButton);
    await click(ADELE, chat, id, button(preview, 'Yes, ask holder'));

    await h.store.pool.query(
      `INSERT INTO notifications (dedupe_key, kind, target, payload) VALUES
       ('t:alert', 'finding-alert', '{"channel":"it"}', $1),
       ('t:slack', 'finding-alert', '{"channel":"it","platform":"slack"}', '{"title":"for Slack"}'),
       ('t:procurement', 'renewal-alert', '{"channel":"procurement"}', '{"sku":"SPE_E5"}')`,
      [
        JSON.stringify({
          title: '2 new idle seats',
          text: 'Power BI Pro and Office 365 E3 seats have not been used for 30 days.',
          facts: [{ label: 'Savings', value: '€240/yr' }],
          actions: [
            { label: 'Idle findings', command: 'findings', tokens: ['--kind', 'idle'], mutating: false },
          ],
        }),
      ],
    );
    await h.replica.runner.enqueue(TEAMS_NOTIFICATIONS_JOB);
    const alert = await h.connector.waitFor((c) => c.kind === 'send' && c.conversationId === CHANNELS.it);
    expect(cardText(cardOf(alert.body))).toContain('2 new idle seats');
    const created = await h.connector.waitFor((c) => c.kind === 'create');
    expect(created.body).toMatchObject({
      bot: { id: BOT.id },
      members: [{ id: LEE.aadObjectId }],
      isGroup: false,
    });
    const question = await h.connector.waitFor(
      (c) => c.kind === 'send' && c.conversationId === created.conversationId,
    );
    const questionCard = cardOf(question.body);
    expect(cardText(questionCard)).toContain('Do you still need Office 365 E3?');
    await until(async () => {
      const left = await h.store.pool.query(
        `SELECT dedupe_key FROM notifications WHERE sent_at IS NULL ORDER BY dedupe_key`,
      );
      return left.rows.map((r) => r.dedupe_key).join() === 't:procurement,t:slack';
    });
    // Another run (or replica) sends nothing again.
    expect(await h.replica.surface.deliverNotifications()).toMatchObject({ sent: 0, failed: 0 });
    expect(h.connector.of('send', CHANNELS.it)).toHaveLength(1);

    // Lee answers Keep on the card in his chat: the seat stays, exempted.
    const personal = { ...conversation('personal', created.conversationId) };
    const kept = await click(LEE, personal, question.activityId as string, button(questionCard, 'Keep'));
    expect(cardText(kept)).toContain('— by Lee Gu');
    const answered = await h.store.pool.query(`SELECT answer FROM holder_asks`);
    expect(answered.rows.map((r) => r.answer)).toEqual(['keep']);
    // Adele's card that asked now shows the answer too.
    const shown = await h.connector.waitFor(
      (c) =>
        c.kind === 'update' &&
        c.conversationId === chat.id &&
        c.activityId === id &&
        cardText(cardOf(c.body)).includes('Lee Gu answered Keep'),
    );
    expect(cardText(cardOf(shown.body))).toMatch(
      /Ask holder lee\.gu@example\.com · ENTERPRISEPACK — by Adele Vance at \d\d:\d\d UTC\. Lee Gu answered Keep at \d\d:\d\d UTC \(kept\)\./,
    );
    // Release clicked afterwards on the same question is the same action: Keep's card, nothing changes.
    const removals = h.graph.server.calls(ASSIGN).length;
    const release = await click(
      LEE,
      personal,
      question.activityId as string,
      button(questionCard, 'Release'),
    );
    expect(cardText(release)).toContain('— by Lee Gu');
    expect((await h.store.pool.query(`SELECT answer FROM holder_asks`)).rows.map((r) => r.answer)).toEqual([
      'keep',
    ]);
    expect(h.graph.server.calls(ASSIGN)).toHaveLength(removals);
  });

  it('acknowledges a message before its answer is posted, and posts the answer afterwards', async () => {
    const chat = conversation('personal', 'a:adele-personal-ack');
    const activities = /^\/v3\/conversations\/a:adele-personal-ack\/activities/;
    const held: { release?: () => void } = {};
    const gate = new Promise<void>((resolve) => {
      held.release = resolve;
    });
    // Teams' side holds the bot's answer until released: the HTTP request must not wait for it.
    h.connector.server.inject({ path: activities, gate });
    const before = h.connector.calls.length;
    const { status, body } = await h.post(messageActivity(h.connector, ADELE, chat, 'seats'));
    expect(status).toBe(200);
    expect(body).toBeUndefined();
    await until(() =>
      h.connector.server.requests.some((r) => r.method === 'POST' && activities.test(r.path)),
    );
    expect(h.connector.calls.slice(before).filter((c) => c.kind === 'reply' || c.kind === 'send')).toEqual(
      [],
    );
    held.release?.();
    const answer = await answerIn(h.connector, chat.id, before);
    expect(cardText(cardOf(answer.body))).toContain('Seats per license');
  });

  it('answers with the error card when a message’s turn fails after the acknowledgement', async () => {
    const chat = conversation('personal', 'a:adele-personal-fail');
    // The first answer is refused by the Bot Connector: the turn fails after the HTTP request was answered.
    h.connector.server.inject({
      path: /^\/v3\/conversations\/a:adele-personal-fail\/activities/,
      status: 500,
    });
    const before = h.connector.calls.length;
    expect((await h.post(messageActivity(h.connector, ADELE, chat, 'seats'))).status).toBe(200);
    const answer = await answerIn(h.connector, chat.id, before);
    expect(cardText(cardOf(answer.body))).toContain(
      'Something went wrong on Seatkeeper’s side; it is logged.',
    );
  });

  it('stores the reference when installed in a personal scope and greets with the help card', async () => {
    const chat = conversation('personal', 'a:alex-personal-install');
    expect((await h.post(installActivity(h.connector, ALEX, chat))).status).toBe(200);
    expect(cardText(lastCard(chat.id).card)).toContain('Seatkeeper: SaaS licenses and seats');
    const stored = await h.store.pool.query(
      `SELECT address FROM chat_addresses WHERE platform = 'teams' AND key = $1`,
      [`user:${ALEX.aadObjectId}`],
    );
    expect(stored.rows[0]?.address).toMatchObject({
      conversation: { id: chat.id },
      serviceUrl: h.connector.serviceUrl,
      user: { id: ALEX.id },
    });
  });

  it('answers a malformed action with a 400 error response and acts on nothing', async () => {
    const chat = conversation('personal', 'a:adele-personal-8');
    const { status, body } = await h.post(
      actionInvoke(h.connector, ADELE, chat, 'f:x', {
        verb: 'run',
        data: { command: 'drop tables', args: {} },
      }),
    );
    expect(status).toBe(400);
    expect(body).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error' });
  });
});
