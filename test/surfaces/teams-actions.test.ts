/**
 * Actions on Teams cards end to end: `adaptiveCard/action` invokes POSTed to `/api/messages` (authentication off),
 * vendor calls answered by the Microsoft Graph fake and carried out by the action job, message edits (PUT) captured
 * by the Bot Connector fake, effects checked in the database.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setContract } from '../../handlers/contracts.ts';
import { operatorActor } from '../../handlers/types.ts';
import type { Store } from '../../src/store/store.ts';
import {
  actionInvoke,
  type BotConnectorFake,
  buttonsOf,
  cardOf,
  cardProblems,
  cardText,
  conversation,
  messageActivity,
  type TeamsUser,
} from '../fakes/bot-connector-fake.ts';
import type { GraphFake } from '../fakes/graph-fake.ts';
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

/** AAD object ids of 70 IT managers Seatkeeper knows only by their Teams id. */
const BULK = Array.from(
  { length: 70 },
  (_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
);
const PERMITTED = new Set([ADELE.id, NESTOR.id, ...BULK.map((aad) => `29:bulk-${aad}`)]);

const IT_CHANNEL = '19:it-alerts@thread.tacv2';
const CARD = 'application/vnd.microsoft.card.adaptive';
const ASSIGN = /\/assignLicense$/;

describe('actions on Teams cards, through the vendor', () => {
  let contoso: ContosoTeams | undefined;
  let store: Store;
  let graph: GraphFake;
  let connector: BotConnectorFake;
  let url: string;
  /** A second replica on the same database; only the first runs jobs. */
  let otherUrl: string;
  const replicas: TeamsReplica[] = [];

  beforeAll(async () => {
    // Lee (E3, Power BI), Isaiah and Johanna (E5) unused for months: their seats are idle.
    contoso = await startContosoTeams({
      org: idleOrg([LAST_SIGN_IN.lee, LAST_SIGN_IN.isaiah, LAST_SIGN_IN.johanna]),
      members: [ADELE, NESTOR, ALEX, LEE],
      roles: {
        'it-manager': [ADELE.email, NESTOR.email, ...BULK.map((aad) => `teams:${aad}`)],
        helpdesk: [ALEX.email],
      },
    });
    ({ store, graph, connector } = contoso);
    const contract = await setContract(
      { store, config: contoso.config, actor: operatorActor(), now: contoso.clock.now },
      {
        sku: 'ENTERPRISEPACK',
        unitPrice: '20',
        currency: 'EUR',
        billing: 'monthly',
        renewalDate: '2027-01-01',
        noticeDays: 10,
      },
    );
    if (!contract.ok) throw new Error(contract.error.message);

    // More IT managers who once talked to the bot (yesterday) than a refresh may name.
    await store.pool.query(
      `INSERT INTO chat_addresses (platform, key, address, updated_at)
       SELECT 'teams', 'user:' || aad, jsonb_build_object('user', jsonb_build_object('id', '29:bulk-' || aad, 'name', 'IT ' || n)),
         now() - interval '1 day'
       FROM unnest($1::text[]) WITH ORDINALITY AS t(aad, n)`,
      [BULK],
    );

    for (const runJobs of [true, false])
      replicas.push(await startTeamsReplica(contoso, `it=${IT_CHANNEL}`, runJobs));
    url = replicas[0]?.url ?? '';
    otherUrl = replicas[1]?.url ?? '';
  }, 120_000);
  afterAll(async () => {
    await stopReplicas(replicas);
    await contoso?.connector.stop();
    await contoso?.graph.stop();
    await contoso?.db.drop();
  });
  afterEach(() => {
    expect(connector.rejected.splice(0)).toEqual([]);
  });

  const post = (activity: object, to = url) => postActivity(to, activity);

  type Conversation = ReturnType<typeof conversation>;
  type Button = { verb: string; data: Record<string, unknown> };

  /** Sends a message; returns the card the bot answered with and its message id. */
  async function ask(user: TeamsUser, conv: Conversation, text: string) {
    const before = connector.calls.length;
    expect((await post(messageActivity(connector, user, conv, text))).status).toBe(200);
    const answer = await answerIn(connector, conv.id, before);
    return { id: answer.activityId as string, card: cardOf(answer.body) };
  }

  /** Sends an invoke; resolves with the raw invoke response. */
  async function invoke(
    user: TeamsUser,
    conv: Conversation,
    messageId: string,
    button: Button,
    extra = {},
    to = url,
  ) {
    const action = { verb: button.verb, data: { ...button.data, ...extra } };
    return post(actionInvoke(connector, user, conv, messageId, action), to);
  }

  /** Clicks a button; returns the card of the invoke response (checked to be one Teams renders). */
  async function click(...args: Parameters<typeof invoke>) {
    const { status, body } = await invoke(...args);
    expect(status).toBe(200);
    const response = body as { statusCode: number; type: string; value: Record<string, unknown> };
    expect(response).toMatchObject({ statusCode: 200, type: CARD });
    expect(cardProblems(response.value)).toEqual([]);
    return response.value;
  }

  function button(card: unknown, title: string | RegExp, args: Record<string, unknown> = {}): Button {
    const found = buttonsOf(card).find(
      (b) =>
        (typeof title === 'string' ? b.title === title : title.test(b.title)) &&
        Object.entries(args).every(
          ([k, v]) => (b.data.args as Record<string, unknown> | undefined)?.[k] === v,
        ),
    );
    if (!found)
      throw new Error(
        `no '${title}' button with ${JSON.stringify(args)}: ${buttonsOf(card).map((b) => b.title)}`,
      );
    return found;
  }

  const updates = (conversationId: string, messageId: string) =>
    connector.of('update', conversationId).filter((c) => c.activityId === messageId);
  const licensesOf = (id: string) => graph.user(id)?.assignedLicenses.map((l) => l.skuId) ?? [];
  const count = async (sql: string, params: unknown[] = []) =>
    (await store.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]?.n ?? 0;

  it('shows the buttons of a shared card only to the Teams users whose roles allow them', async () => {
    // Everyone has talked to the bot once, so Seatkeeper knows them.
    for (const user of [ADELE, NESTOR, ALEX, LEE]) {
      await ask(user, conversation('personal', `a:${user.aadObjectId}`), 'mine');
    }
    const channel = conversation('channel', `${IT_CHANNEL};messageid=1700000000101`);
    const { id, card } = await ask(ALEX, channel, 'findings --kind idle');
    expect(buttonsOf(card).map((b) => b.title)).not.toContain('Reclaim');
    const refresh = card.refresh as { action: Button; userIds: string[] };
    // At most 60, every one allowed to act, the most recently seen first; the helpdesk requester is not one.
    expect(refresh.userIds).toHaveLength(60);
    expect(new Set(refresh.userIds).size).toBe(60);
    expect(refresh.userIds.filter((u) => !PERMITTED.has(u))).toEqual([]);
    expect(refresh.userIds.slice(0, 2).sort()).toEqual([ADELE.id, NESTOR.id].sort());
    expect(refresh.userIds).not.toContain(ALEX.id);
    // A person outside those ids who refreshes by hand still gets no button that acts.
    const lee = await click(LEE, channel, id, refresh.action);
    expect(buttonsOf(lee).map((b) => b.title)).not.toContain('Reclaim');
    expect(updates(channel.id, id)).toHaveLength(0);
  });

  it('reclaims once for a double invoke, answers with the updated card, PUTs the shared message, and ends showing the outcome', async () => {
    const channel = conversation('channel', `${IT_CHANNEL};messageid=1700000000102`);
    const { id, card } = await ask(ADELE, channel, 'findings --kind idle');
    const mine = await click(ADELE, channel, id, (card.refresh as { action: Button }).action);
    const reclaim = button(mine, 'Reclaim', { email: 'lee.gu@example.com', sku: 'POWER_BI_PRO' });

    // The confirmation step: the preview with its evidence and savings; nothing happens yet.
    const preview = await click(ADELE, channel, id, reclaim);
    const previewText = cardText(preview);
    expect(previewText).toContain('Reclaim?');
    expect(previewText).toContain('lee.gu@example.com');
    expect(previewText).toContain('€120/yr');
    expect(graph.server.calls(ASSIGN)).toHaveLength(0);
    const confirm = button(preview, 'Yes, reclaim');

    const answers = await Promise.all([
      click(ADELE, channel, id, confirm),
      click(ADELE, channel, id, confirm),
    ]);
    for (const answer of answers) {
      expect(cardText(answer)).toMatch(
        /Reclaim lee\.gu@example\.com · POWER_BI_PRO — by Adele Vance at \d\d:\d\d UTC/,
      );
    }
    // The job carries the removal out once; the message is then edited to say how it ended.
    const final = await connector.waitFor(
      (c) => c.kind === 'update' && c.activityId === id && cardText(cardOf(c.body)).includes('(done)'),
    );
    expect(graph.server.calls(ASSIGN)).toHaveLength(1);
    expect(licensesOf(USER.lee)).not.toContain(SKU.POWER_BI_PRO);
    expect(await count(`audit_log WHERE action = 'reclaim.requested'`)).toBe(1);
    const shared = cardOf(final.body);
    expect(cardText(shared)).toContain('Reclaim lee.gu@example.com · POWER_BI_PRO — by Adele Vance');
    expect(buttonsOf(shared).map((b) => b.title)).toEqual([]);
    const userIds = (shared.refresh as { userIds: string[] }).userIds;
    expect(userIds[0]).toBe(ADELE.id); // the requester first
    expect(userIds).toHaveLength(60);
    expect(userIds.filter((u) => !PERMITTED.has(u))).toEqual([]);
    // Every edit of the message was the answer or the outcome: one each.
    const edits = updates(channel.id, id);
    expect(edits.map((e) => (cardText(cardOf(e.body)).includes('(done)') ? 'outcome' : 'answer'))).toEqual([
      'answer',
      'outcome',
    ]);

    // Repeated later, the invoke answers with the final card and acts no second time.
    const again = await click(ADELE, channel, id, confirm);
    expect(cardText(again)).toContain('(done)');
    expect(graph.server.calls(ASSIGN)).toHaveLength(1);

    // Adele's own view of the outcome offers Undo: clicked twice, the seat comes back once, through Graph.
    const undo = button(again, 'Undo');
    await Promise.all([click(ADELE, channel, id, undo), click(ADELE, channel, id, undo)]);
    await until(() => licensesOf(USER.lee).includes(SKU.POWER_BI_PRO));
    await connector.waitFor(
      (c) =>
        c.kind === 'update' &&
        c.activityId === id &&
        /Undo .* — by Adele Vance .*\(done\)/.test(cardText(cardOf(c.body))),
    );
    expect(graph.server.calls(ASSIGN)).toHaveLength(2);
    expect(await count(`actions WHERE kind = 'undo' AND state = 'done'`)).toBe(1);
  });

  it('snoozes a finding with the date and reason given in the card’s inputs', async () => {
    const chat = conversation('personal', 'a:adele-chat-9');
    const { id, card } = await ask(ADELE, chat, 'findings --kind departed');
    const snooze = buttonsOf(card).find((b) => b.title === 'Snooze');
    if (!snooze) throw new Error('no Snooze button');
    const findingId = (snooze.data.args as { id: number }).id;
    const form = await click(ADELE, chat, id, snooze);
    expect(JSON.stringify(form)).toContain('"id":"in-until"');
    const snoozed = await click(ADELE, chat, id, button(form, 'Save'), {
      'in-until': '2099-01-31',
      'in-reason': 'waiting for HR',
    });
    expect(cardText(snoozed)).toContain(`Findings snooze ${findingId} — by Adele Vance`);
    const finding = await store.pool.query(`SELECT status, status_until FROM findings WHERE id = $1`, [
      findingId,
    ]);
    expect(finding.rows[0]).toEqual({ status: 'snoozed', status_until: new Date('2099-01-31T00:00:00Z') });
    // Typed, the way back: the finding is open again for the next test.
    await ask(ADELE, chat, `findings unsnooze ${findingId}`);
    const reopened = await store.pool.query(`SELECT status FROM findings WHERE id = $1`, [findingId]);
    expect(reopened.rows[0]?.status).toBe('open');
  });

  it('ends showing a vendor’s refusal with Retry, and the removal once Retry is clicked', async () => {
    const chat = conversation('personal', 'a:adele-chat-8');
    const { id, card } = await ask(ADELE, chat, 'findings --kind departed');
    const preview = await click(
      ADELE,
      chat,
      id,
      button(card, 'Reclaim', { email: 'grady.archie@example.com' }),
    );
    graph.server.inject({
      path: ASSIGN,
      status: 503,
      body: { error: { code: 'ServiceUnavailable', message: 'Licensing is busy, try later.' } },
    });
    const removals = graph.server.calls(ASSIGN).length;
    const queued = await click(ADELE, chat, id, button(preview, 'Yes, reclaim'));
    expect(cardText(queued)).toContain('(queued)');
    const failed = await connector.waitFor(
      (c) => c.kind === 'update' && c.activityId === id && cardText(cardOf(c.body)).includes('(failed)'),
    );
    const failedCard = cardOf(failed.body);
    expect(cardText(failedCard)).toMatch(
      /Reclaim grady\.archie@example\.com · ENTERPRISEPACK — by Adele Vance .*\(failed\): /,
    );
    expect(licensesOf(USER.grady)).toContain(SKU.ENTERPRISEPACK);
    const retried = await click(ADELE, chat, id, button(failedCard, 'Retry'));
    expect(cardText(retried)).toContain('Retry');
    await connector.waitFor(
      (c) =>
        c.kind === 'update' &&
        c.activityId === id &&
        /Retry .* — by Adele Vance .*\(done\)/.test(cardText(cardOf(c.body))),
    );
    expect(graph.server.calls(ASSIGN)).toHaveLength(removals + 2);
    expect(licensesOf(USER.grady)).not.toContain(SKU.ENTERPRISEPACK);
  });

  it('shows the holder’s Release on the card that asked, and then the removal the job carried out', async () => {
    const channel = conversation('channel', `${IT_CHANNEL};messageid=1700000000103`);
    const { id, card } = await ask(ADELE, channel, 'who-has lee.gu@example.com');
    const mine = await click(ADELE, channel, id, (card.refresh as { action: Button }).action);
    const preview = await click(ADELE, channel, id, button(mine, 'Ask holder', { sku: 'ENTERPRISEPACK' }));
    const asked = await click(ADELE, channel, id, button(preview, 'Yes, ask holder'));
    expect(cardText(asked)).toContain('(asking)');
    const action = await store.pool.query<{ id: string }>(`SELECT id FROM actions WHERE state = 'asking'`);
    const actionId = action.rows[0]?.id as string;
    expect(actionId).toBeDefined();

    // Lee clicks Release on the question in his own chat (the button carries the action and the answer).
    const removals = graph.server.calls(ASSIGN).length;
    const leeChat = conversation('personal', 'a:lee-question');
    const released = await click(LEE, leeChat, 'f:question', {
      verb: 'run',
      data: { command: 'answer', args: { action: actionId, answer: 'release' }, cardId: 'question-card' },
    });
    expect(cardText(released)).toContain('— by Lee Gu');
    const final = await connector.waitFor(
      (c) =>
        c.kind === 'update' &&
        c.conversationId === channel.id &&
        c.activityId === id &&
        /Lee Gu answered Release at \d\d:\d\d UTC \(done\)/.test(cardText(cardOf(c.body))),
    );
    expect(cardText(cardOf(final.body))).toContain(
      'Ask holder lee.gu@example.com · ENTERPRISEPACK — by Adele Vance',
    );
    expect(graph.server.calls(ASSIGN)).toHaveLength(removals + 1);
    expect(licensesOf(USER.lee)).not.toContain(SKU.ENTERPRISEPACK);
  });

  it('refuses a helpdesk user’s Reclaim with an error on their card only, and acts on nothing', async () => {
    const chat = conversation('personal', 'a:adele-chat-3');
    const { card } = await ask(ADELE, chat, 'who-has lee.gu@example.com');
    const reclaim = button(card, 'Reclaim', { sku: 'POWER_BI_PRO' });
    const alexChat = conversation('personal', 'a:alex-chat-3');
    const denied = await count(`audit_log WHERE action = 'denied' AND target = 'reclaim'`);
    const removals = graph.server.calls(ASSIGN).length;
    const answer = await click(ALEX, alexChat, 'f:alex-card', reclaim);
    expect(cardText(answer)).toContain('did not happen');
    expect(cardText(answer)).toContain("'reclaim' needs the it-manager role");
    // Confirmed in the forged data: still refused, before any preview or vendor call.
    const forged = await click(ALEX, alexChat, 'f:alex-card', reclaim, {
      stage: 'confirmed',
      args: { sku: 'SPE_E5', 'all-idle': true },
    });
    expect(cardText(forged)).toContain("'reclaim' needs the it-manager role");
    expect(await count(`audit_log WHERE action = 'denied' AND target = 'reclaim'`)).toBe(denied + 2);
    expect(connector.of('update', alexChat.id)).toHaveLength(0);
    expect(graph.server.calls(ASSIGN)).toHaveLength(removals);
  });

  it('re-binds and re-authorizes forged action data on every invoke', async () => {
    const chat = conversation('personal', 'a:lee-chat-4');
    const removals = graph.server.calls(ASSIGN).length;
    // A command Teams does not offer: a 400 error, nothing done.
    const contract = await invoke(LEE, chat, 'f:x', {
      verb: 'run',
      data: { command: 'contract set', args: { sku: 'SPE_E5', 'unit-price': '0' }, cardId: 'c1' },
    });
    expect(contract.status).toBe(400);
    expect(contract.body).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error' });
    // Rendering a list the viewer may not read (the audit log) through a forged origin: an error card.
    const audit = await click(LEE, chat, 'f:x', {
      verb: 'view',
      data: { origin: { command: 'audit', args: {} } },
    });
    expect(cardText(audit)).toContain("'audit' needs the it-manager role");
    // Another person's notification, named by its id: refused to a member.
    const inserted = await store.pool.query<{ id: number }>(
      `INSERT INTO notifications (dedupe_key, kind, target, payload) VALUES
       ('t:forged', 'finding-alert', '{"channel":"it"}', '{"title":"Idle seats of the board"}') RETURNING id`,
    );
    const notice = await click(LEE, chat, 'f:x', {
      verb: 'refresh',
      data: { origin: { notification: inserted.rows[0]?.id } },
    });
    expect(cardText(notice)).not.toContain('Idle seats of the board');
    expect(cardText(notice)).toContain('This card is for someone else.');
    // Arguments the command does not take: refused with the registry's message.
    const odd = await click(ADELE, conversation('personal', 'a:adele-chat-4'), 'f:y', {
      verb: 'run',
      data: { command: 'undo', args: { action: 'not-an-id', everything: true }, cardId: 'c2' },
    });
    expect(cardText(odd)).toContain('everything');
    expect(graph.server.calls(ASSIGN)).toHaveLength(removals);
  });

  it('answers a typed reclaim without --yes with the preview card, whose Reclaim leads to the confirmation', async () => {
    const chat = conversation('personal', 'a:adele-chat-10');
    const removals = graph.server.calls(ASSIGN).length;
    const { id, card } = await ask(ADELE, chat, 'reclaim --sku SPE_E5 --all-idle');
    const text = cardText(card);
    expect(text).toContain('Reclaim preview');
    expect(text).toContain('Microsoft 365 E5 · isaiah.langer@example.com');
    expect(text).toContain('Microsoft 365 E5 · johanna.lorenz@example.com');
    const reclaims = buttonsOf(card).filter((b) => b.title === 'Reclaim');
    expect(reclaims).toHaveLength(2);
    expect(buttonsOf(card).map((b) => b.title)).toContain('Reclaim all 2 idle');
    // The row's button asks for confirmation before anything happens.
    const confirm = await click(ADELE, chat, id, reclaims[0] as Button);
    expect(cardText(confirm)).toContain('Reclaim?');
    expect(buttonsOf(confirm).map((b) => b.title)).toEqual(['Yes, reclaim', 'Cancel']);
    const back = await click(ADELE, chat, id, button(confirm, 'Cancel'));
    expect(cardText(back)).toContain('Reclaim preview');
    expect(graph.server.calls(ASSIGN)).toHaveLength(removals);
    expect(await count(`actions WHERE license_id IN (SELECT id FROM licenses WHERE sku = 'SPE_E5')`)).toBe(0);
  });

  it('reclaims all idle seats of a SKU after a confirmation that lists them', async () => {
    const chat = conversation('personal', 'a:adele-chat-5');
    const { id, card } = await ask(ADELE, chat, 'findings --kind idle --app SPE_E5');
    const all = button(card, 'Reclaim all 2 idle', { sku: 'SPE_E5', 'all-idle': true });
    const preview = await click(ADELE, chat, id, all);
    expect(cardText(preview)).toContain('isaiah.langer@example.com');
    expect(cardText(preview)).toContain('johanna.lorenz@example.com');
    const removals = graph.server.calls(ASSIGN).length;
    const confirm = button(preview, 'Yes, reclaim all idle');
    await Promise.all([click(ADELE, chat, id, confirm), click(ADELE, chat, id, confirm)]);
    const final = await connector.waitFor(
      (c) => c.kind === 'update' && c.activityId === id && cardText(cardOf(c.body)).includes('(2 done)'),
    );
    expect(cardText(cardOf(final.body))).toContain('Reclaim all idle SPE_E5 — by Adele Vance');
    expect(graph.server.calls(ASSIGN)).toHaveLength(removals + 2);
    expect(licensesOf(USER.isaiah)).not.toContain(SKU.SPE_E5);
    expect(await count(`actions WHERE batch_id IS NOT NULL AND state = 'done'`)).toBe(2);
  });

  it('approves, resizes, escalates and declines renewals from the renewals card', async () => {
    const chat = conversation('personal', 'a:adele-chat-6');
    const { id, card } = await ask(ADELE, chat, 'renewals');
    const decisions = async (sku: string) =>
      (
        await store.pool.query(
          `SELECT d.decision, d.state, d.quantity FROM renewal_decisions d JOIN licenses l ON l.id = d.license_id
           WHERE l.sku = $1 ORDER BY d.decided_at`,
          [sku],
        )
      ).rows;

    const approve = button(card, 'Approve', { sku: 'ENTERPRISEPACK', decision: 'approve' });
    const approved = await Promise.all([click(ADELE, chat, id, approve), click(ADELE, chat, id, approve)]);
    expect(cardText(approved[0])).toContain('Approve ENTERPRISEPACK — by Adele Vance');
    expect(await decisions('ENTERPRISEPACK')).toEqual([
      expect.objectContaining({ decision: 'approve', state: 'decided' }),
    ]);

    const resize = button(approved[0], 'Resize', { sku: 'POWER_BI_PRO' });
    const form = await click(ADELE, chat, id, resize);
    expect(JSON.stringify(form)).toContain('"id":"in-quantity"');
    const resized = await click(ADELE, chat, id, button(form, 'Save'), { 'in-quantity': '3' });
    expect(cardText(resized)).toContain('Resize POWER_BI_PRO — by Adele Vance');
    expect(await decisions('POWER_BI_PRO')).toEqual([
      expect.objectContaining({ decision: 'resize', state: 'decided', quantity: 3 }),
    ]);

    const escalated = await click(ADELE, chat, id, button(resized, 'Escalate', { sku: 'SPE_E5' }));
    expect(cardText(escalated)).toContain('Escalate SPE_E5 — by Adele Vance');
    const decline = await click(ADELE, chat, id, button(escalated, 'Decline', { sku: 'SPE_E5' }));
    expect(cardText(decline)).toContain('Decline?');
    const declined = await click(ADELE, chat, id, button(decline, 'Yes, decline'));
    expect(cardText(declined)).toContain('Decline SPE_E5 — by Adele Vance');
    expect((await decisions('SPE_E5')).map((d) => [d.decision, d.state])).toEqual([
      ['escalate', 'superseded'],
      ['decline', 'decided'],
    ]);
    // In a personal chat the message itself shows the last decision too.
    expect(cardText(cardOf(updates(chat.id, id).at(-1)?.body ?? {}))).toContain(
      'Decline SPE_E5 — by Adele Vance',
    );
  });

  it('keeps a seat once when the form is submitted on two replicas at once, and answers a later repeat with the same card', async () => {
    const chat = conversation('personal', 'a:adele-chat-7');
    const { id, card } = await ask(ADELE, chat, 'who-has alex.wilber@example.com');
    const keep = button(card, 'Keep', { email: 'alex.wilber@example.com' });
    const seat = `alex.wilber@example.com · ${String((keep.data.args as { sku: string }).sku)}`;
    const form = await click(ADELE, chat, id, keep);
    const save = button(form, 'Save');
    const inputs = { 'in-reason': 'project lead until March', 'in-until': '2027-03-31' };
    const answers = await Promise.all([
      click(ADELE, chat, id, save, inputs),
      click(ADELE, chat, id, save, inputs, otherUrl),
      click(ADELE, chat, id, save, inputs, otherUrl),
    ]);
    for (const answer of answers) {
      expect(cardText(answer)).toContain(`Keep ${seat}`);
      expect(cardText(answer)).toContain('— by Adele Vance');
    }
    expect(await count(`exemptions WHERE reason = 'project lead until March'`)).toBe(1);
    expect(await count(`audit_log WHERE after::text LIKE '%project lead until March%'`)).toBe(1);
    // One edit of the message, by whichever replica acted.
    expect(updates(chat.id, id)).toHaveLength(1);
    const again = await click(ADELE, chat, id, save, inputs, otherUrl);
    expect(cardText(again)).toContain(`Keep ${seat} — by Adele Vance`);
    expect(await count(`exemptions WHERE reason = 'project lead until March'`)).toBe(1);
  });
});
