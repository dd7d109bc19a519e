/**
 * Actions on Slack cards end to end: signed `block_actions`, `block_suggestion` and `view_submission` payloads
 * POSTed to the running service's `/slack/events`; seats removed and given back through the Microsoft Graph fake;
 * the bot's `chat.update` and response-URL answers captured by the Slack fake; effects checked in the database.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setContract } from '../../handlers/contracts.ts';
import { operatorActor } from '../../handlers/types.ts';
import { policyOf, recomputeFindings } from '../../src/findings/recompute.ts';
import { importSource } from '../../src/inventory/import-service.ts';
import { DELIVERY_JOB } from '../../src/surfaces/slack/slack-surface.ts';
import { GraphFake } from '../fakes/graph-fake.ts';
import { SKU, USER } from '../fakes/graph-fixtures.ts';
import {
  BOT_TOKEN,
  blockActionsPayload,
  blockSuggestionPayload,
  buttonsIn,
  type CapturedBlock,
  expectWithinLimits,
  interactionBody,
  postSigned,
  SIGNING_SECRET,
  type SlackCall,
  type SlackTestEnv,
  slashCommandBody,
  startSlackService,
  textOf,
  USERS,
  until,
  viewSubmissionPayload,
} from '../fakes/slack-fake.ts';
import { graphEnv } from '../support/graph-env.ts';
import { idleOrg, LAST_SIGN_IN } from '../support/idle-org.ts';

const FORM = 'application/x-www-form-urlencoded' as const;
const ASSIGN = /\/assignLicense$/;

describe('actions on Slack cards, through the vendor', () => {
  let env: SlackTestEnv;
  let graph: GraphFake;
  let messageSeq = 0;

  beforeAll(async () => {
    graph = await new GraphFake({
      org: idleOrg([LAST_SIGN_IN.lee, LAST_SIGN_IN.isaiah, LAST_SIGN_IN.johanna]),
    }).start();
    env = await startSlackService({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      ...graphEnv(graph),
      SEATKEEPER_IDLE_GRACE_DAYS: '0',
      // Notifications go out when a test enqueues their delivery, not on the clock.
      SLACK_DELIVERY_INTERVAL: '1 day',
    });
    env.fake.addUser({ id: 'ULEE', email: 'lee.gu@example.com', name: 'Lee Gu' });
    const { store } = env.service;
    await importSource(store, env.config, 'm365', { trigger: 'test' });
    await store.pool.query(
      `UPDATE licenses SET unit_price = 10, currency = 'EUR', billing_period = 'monthly' WHERE sku = 'POWER_BI_PRO'`,
    );
    await recompute();
    const ctx = { store, config: env.config, actor: operatorActor(), now: () => new Date() };
    const contract = await setContract(ctx, {
      sku: 'ENTERPRISEPACK',
      unitPrice: '20',
      currency: 'EUR',
      billing: 'monthly',
      renewalDate: new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10),
      noticeDays: 10,
    });
    if (!contract.ok) throw new Error(contract.error.message);
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
    await graph?.stop();
  });

  /** The nightly recompute of findings, an hour on (so that seats have existed longer than the zero grace period). */
  async function recompute() {
    const client = await env.service.store.pool.connect();
    try {
      await recomputeFindings(client, policyOf(env.config), new Date(Date.now() + 3_600_000));
    } finally {
      client.release();
    }
  }

  const post = (body: string) => postSigned(env.eventsUrl, SIGNING_SECRET, body, FORM);

  /** Runs `/license share <text>` as `userId`: the card is a message in the channel, as Slack would post it. */
  async function sharedCard(text: string, userId: string = USERS.admin.id) {
    const responseUrl = env.fake.responseUrl();
    const id = Number(responseUrl.split('/').pop());
    expect((await post(slashCommandBody({ text: `share ${text}`, userId, responseUrl }))).status).toBe(200);
    const call = await env.fake.waitFor('respond', (c) => c.respondId === id);
    const reply = call.args as { response_type: string; text: string; blocks: CapturedBlock[] };
    expect(reply.response_type).toBe('in_channel');
    expectWithinLimits(reply);
    const message = { ts: `1700001000.${String(++messageSeq).padStart(6, '0')}`, ...reply };
    return { id, responseUrl, message };
  }

  /** The button `label` of the row that mentions every one of `rowText` (or anywhere on the card). */
  function buttonOf(blocks: CapturedBlock[], label: string, ...rowText: string[]) {
    const found = buttonsIn(blocks).find(({ block_id, button }) => {
      if ((button.text as { text: string }).text !== label) return false;
      const index = blocks.findIndex((b) => b.block_id === block_id);
      const row = textOf(blocks[index - 1]);
      return rowText.every((t) => row.includes(t));
    });
    if (!found)
      throw new Error(`no '${label}' button on a row with ${rowText.join(', ')}: ${textOf(blocks)}`);
    return found;
  }

  function clickBody(
    userId: string,
    target: { block_id: string; button: Record<string, unknown> },
    card: { responseUrl: string; message?: { ts: string; text: string; blocks: CapturedBlock[] } },
  ) {
    return interactionBody(
      blockActionsPayload({
        userId,
        button: target.button,
        blockId: target.block_id,
        responseUrl: card.responseUrl,
        ...(card.message ? { message: card.message } : { ephemeral: true }),
      }),
    );
  }

  const updatesOf = (ts: string) => env.fake.callsOf('chat.update').filter((c) => c.args.ts === ts);
  const count = async (sql: string, params: unknown[] = []) =>
    (await env.service.store.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params))
      .rows[0]?.n ?? 0;
  const licensesOf = (id: string) => graph.user(id)?.assignedLicenses.map((l) => l.skuId) ?? [];
  const privateAnswer = (respondId: number, pattern: RegExp): Promise<SlackCall> =>
    env.fake.waitFor('respond', (c) => c.respondId === respondId && pattern.test(textOf(c.args.blocks)));

  it('reclaims an idle seat once when Reclaim is clicked twice at once and again later, showing who did it', async () => {
    const card = await sharedCard('findings --kind idle');
    const reclaim = buttonOf(card.message.blocks, 'Reclaim', 'lee.gu@example.com', 'Power BI Pro');
    // The confirmation dialog shows the evidence and what reclaiming saves.
    const confirm = reclaim.button.confirm as { title: { text: string }; text: { text: string } };
    expect(confirm.title.text).toBe('Reclaim Power BI Pro?');
    expect(confirm.text.text).toContain('lee.gu@example.com');
    expect(confirm.text.text).toContain('2026-08-01');
    expect(confirm.text.text).toMatch(/saves .*120.*\/year/);

    const removalsBefore = graph.server.calls(ASSIGN).length;
    const body = clickBody(USERS.admin.id, reclaim, card);
    const clicks = await Promise.all([post(body), post(body)]);
    expect(clicks.map((r) => r.status)).toEqual([200, 200]);

    const update = await env.fake.waitFor('chat.update', (c) => c.args.ts === card.message.ts);
    expect(update.args.channel).toBe('C0CHANNEL');
    const updated = update.args.blocks as CapturedBlock[];
    const acted = textOf(updated);
    expect(acted).toMatch(/Reclaim\* by <@UADMIN> on <!date\^\d+\^/);
    expect(acted).toContain('lee.gu@example.com');
    expect(acted).toMatch(/Power BI Pro of lee\.gu@example\.com: done \(.+\)/);
    // The row acted on lost its buttons; Undo is offered in their place.
    expect(buttonsIn(updated).map((b) => (b.button.text as { text: string }).text)).toContain('Undo');
    expectWithinLimits({ blocks: updated });
    // The other click was told, privately, that it ran nothing.
    await privateAnswer(card.id, /Already done|still running/);

    // Clicked again once it is done: still nothing runs twice.
    await post(body);
    await until(
      async () =>
        env.fake
          .callsOf('respond')
          .filter((c) => c.respondId === card.id && /Already done/.test(textOf(c.args.blocks))).length >= 1,
    );
    expect(graph.server.calls(ASSIGN).length).toBe(removalsBefore + 1);
    expect(licensesOf(USER.lee)).not.toContain(SKU.POWER_BI_PRO);
    expect(updatesOf(card.message.ts)).toHaveLength(1);
    expect(
      await count(`audit_log WHERE action = 'reclaim.requested' AND target LIKE '%lee.gu@example.com%'`),
    ).toBe(1);
    expect(
      await count(`actions WHERE kind = 'reclaim' AND state = 'done' AND requested_by = 'it@example.com'`),
    ).toBe(1);

    // Undo on the updated card gives the seat back through Graph, and updates the card again.
    const undo = buttonOf(updated, 'Undo');
    expect((undo.button.confirm as { title: { text: string } }).title.text).toBe('Undo the reclaim?');
    await post(clickBody(USERS.admin.id, undo, { ...card, message: { ...card.message, blocks: updated } }));
    await until(async () => updatesOf(card.message.ts).length === 2);
    const undone = textOf(updatesOf(card.message.ts)[1]?.args.blocks);
    expect(undone).toMatch(/Undo\* by <@UADMIN> on <!date/);
    expect(graph.server.calls(ASSIGN).length).toBe(removalsBefore + 2);
    expect(licensesOf(USER.lee)).toContain(SKU.POWER_BI_PRO);
    expect(await count(`actions WHERE kind = 'undo' AND state = 'done'`)).toBe(1);
  });

  it('refuses a helpdesk user’s Reclaim privately, audits it, and calls no vendor', async () => {
    const card = await sharedCard('findings --kind idle');
    const reclaim = buttonOf(card.message.blocks, 'Reclaim', 'lee.gu@example.com', 'ENTERPRISEPACK');
    const removals = graph.server.calls(ASSIGN).length;
    const actions = await count('actions');
    const denied = await count(`audit_log WHERE action = 'denied' AND target = 'reclaim'`);
    await post(clickBody(USERS.helpdesk.id, reclaim, card));
    const told = await privateAnswer(card.id, /:lock:/);
    expect(told.args).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(textOf(told.args.blocks)).toContain("'reclaim' needs the it-manager role, which you do not have.");
    expect(await count(`audit_log WHERE action = 'denied' AND target = 'reclaim'`)).toBe(denied + 1);
    expect(graph.server.calls(ASSIGN).length).toBe(removals);
    expect(updatesOf(card.message.ts)).toHaveLength(0);
    expect(await count('actions')).toBe(actions);

    // The same button still works for someone with the role: the refusal did not use it up.
    await post(clickBody(USERS.admin.id, reclaim, card));
    await until(async () => updatesOf(card.message.ts).length === 1);
    expect(licensesOf(USER.lee)).not.toContain(SKU.ENTERPRISEPACK);
  });

  it('re-binds and re-authorizes forged button values on every click', async () => {
    const card = await sharedCard('findings --kind idle');
    const reclaim = buttonOf(card.message.blocks, 'Ask holder');
    const removals = graph.server.calls(ASSIGN).length;
    const forge = (value: Record<string, unknown>) => ({
      ...reclaim,
      button: { ...reclaim.button, value: JSON.stringify(value) },
    });
    // A helpdesk user rewrites the value to reclaim every idle E5 seat at once: refused by role.
    await post(
      clickBody(
        USERS.helpdesk.id,
        forge({ c: 'reclaim', t: ['--sku', 'SPE_E5', '--all-idle', '--yes'], id: randomUUID() }),
        card,
      ),
    );
    await privateAnswer(card.id, /'reclaim' needs the it-manager role/);
    // A command Slack does not offer, and arguments the command does not take, run nothing.
    await post(
      clickBody(
        USERS.admin.id,
        forge({ c: 'contract set', t: ['--sku', 'SPE_E5', '--unit-price', '0'], id: randomUUID() }),
        card,
      ),
    );
    await privateAnswer(card.id, /This button no longer works/);
    await post(
      clickBody(
        USERS.admin.id,
        forge({ c: 'reclaim', t: ['--sku', 'SPE_E5', '--everything', '--yes'], id: randomUUID() }),
        card,
      ),
    );
    await privateAnswer(card.id, /Unknown option --everything/);
    // A reclaim without the click's idempotency key would escape the once-per-click claim: refused.
    const told = env.fake
      .callsOf('respond')
      .filter((c) => /no longer works/.test(textOf(c.args.blocks))).length;
    await post(
      clickBody(USERS.admin.id, forge({ c: 'reclaim', t: ['--sku', 'SPE_E5', '--all-idle', '--yes'] }), card),
    );
    await until(
      async () =>
        env.fake.callsOf('respond').filter((c) => /no longer works/.test(textOf(c.args.blocks))).length >
        told,
    );
    // Nor does a member get to undo anything by naming an action.
    await post(clickBody(USERS.member.id, forge({ c: 'undo', t: [randomUUID()], id: randomUUID() }), card));
    await privateAnswer(card.id, /'undo' needs the it-manager role/);
    expect(graph.server.calls(ASSIGN).length).toBe(removals);
    expect(await count(`actions WHERE license_id IN (SELECT id FROM licenses WHERE sku = 'SPE_E5')`)).toBe(0);
    expect(await count(`licenses WHERE sku = 'SPE_E5' AND unit_price IS NOT NULL AND unit_price = 0`)).toBe(
      0,
    );
    expect(updatesOf(card.message.ts)).toHaveLength(0);
  });

  it('answers a typed reclaim without --yes with the preview as a card whose buttons confirm it', async () => {
    const removals = graph.server.calls(ASSIGN).length;
    const card = await sharedCard('reclaim --sku SPE_E5 --all-idle');
    const text = textOf(card.message.blocks);
    expect(card.message.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Reclaim preview' } });
    expect(text).toContain(
      '*isaiah.langer@example.com* — Microsoft 365 E5 `SPE_E5` · last active 2026-07-01',
    );
    expect(text).toContain('johanna.lorenz@example.com');
    const labels = buttonsIn(card.message.blocks).map((b) => (b.button.text as { text: string }).text);
    expect(labels.filter((l) => l === 'Reclaim')).toHaveLength(2);
    expect(labels).toContain('Reclaim all 2');
    const one = buttonOf(card.message.blocks, 'Reclaim', 'isaiah.langer@example.com');
    expect(JSON.parse(String(one.button.value)).t).toEqual(expect.arrayContaining(['--seat', '--yes']));
    expect((one.button.confirm as { text: { text: string } }).text.text).toContain(
      'isaiah.langer@example.com',
    );
    // Only a preview: nothing was asked of the vendor, no action exists.
    expect(graph.server.calls(ASSIGN).length).toBe(removals);
    expect(await count(`actions WHERE license_id IN (SELECT id FROM licenses WHERE sku = 'SPE_E5')`)).toBe(0);
  });

  it('reclaims all idle seats of a SKU with one confirmed click', async () => {
    const card = await sharedCard('findings --kind idle --app SPE_E5');
    const all = buttonOf(card.message.blocks, 'Reclaim all 2 idle');
    const confirm = all.button.confirm as { title: { text: string }; text: { text: string } };
    expect(confirm.title.text).toBe('Reclaim 2 idle seats?');
    expect(confirm.text.text).toContain('Microsoft 365 E5');
    const removals = graph.server.calls(ASSIGN).length;
    const body = clickBody(USERS.admin.id, all, card);
    await Promise.all([post(body), post(body)]);
    await until(async () => updatesOf(card.message.ts).length === 1);
    const acted = textOf(updatesOf(card.message.ts)[0]?.args.blocks);
    expect(acted).toMatch(/Reclaim all 2 idle\* by <@UADMIN> on <!date/);
    expect(acted).toContain('2 seats of Microsoft 365 E5: 2 done');
    expect(graph.server.calls(ASSIGN).length).toBe(removals + 2);
    expect(licensesOf(USER.isaiah)).not.toContain(SKU.SPE_E5);
    expect(licensesOf(USER.johanna)).toContain(SKU.SPE_E5); // still held through her group
    expect(
      await count(
        `actions WHERE kind = 'reclaim' AND batch_id IS NOT NULL AND state = 'done' AND requested_by = 'it@example.com'`,
      ),
    ).toBe(2);
  });

  it('snoozes a finding with the date and reason given in the modal', async () => {
    const card = await sharedCard('findings --kind departed');
    const snooze = buttonOf(card.message.blocks, 'Snooze…', 'grady.archie@example.com');
    const findingId = Number(JSON.parse(String(snooze.button.value)).t[0]);
    const opens = env.fake.callsOf('views.open').length;
    await post(clickBody(USERS.admin.id, snooze, card));
    const opened = await env.fake.waitFor('views.open', () => env.fake.callsOf('views.open').length > opens);
    const view = opened.args.view as { blocks: CapturedBlock[] };
    expect(view.blocks.filter((b) => b.type === 'input').map((b) => b.block_id)).toEqual([
      'arg:until',
      'arg:reason',
    ]);
    await post(
      interactionBody(
        viewSubmissionPayload({
          userId: USERS.admin.id,
          view,
          values: {
            'arg:until': { value: { type: 'datepicker', selected_date: '2099-01-31' } },
            'arg:reason': { value: { type: 'plain_text_input', value: 'waiting for HR' } },
          },
        }),
      ),
    );
    await until(async () => updatesOf(card.message.ts).length === 1);
    expect(textOf(updatesOf(card.message.ts)[0]?.args.blocks)).toMatch(/Snooze…\* by <@UADMIN> on <!date/);
    const finding = await env.service.store.pool.query(
      `SELECT status, status_until FROM findings WHERE id = $1`,
      [findingId],
    );
    expect(finding.rows[0]).toEqual({ status: 'snoozed', status_until: new Date('2099-01-31T00:00:00Z') });
    // Typed, the way back: the finding is open again for the next test.
    const unsnooze = await sharedCard(`findings unsnooze ${findingId}`);
    expect(textOf(unsnooze.message.blocks)).toContain(String(findingId));
    const reopened = await env.service.store.pool.query(`SELECT status FROM findings WHERE id = $1`, [
      findingId,
    ]);
    expect(reopened.rows[0]?.status).toBe('open');
  });

  it('shows a vendor’s refusal on the card for everyone, with Retry, and removes the seat on Retry', async () => {
    const card = await sharedCard('findings --kind departed');
    const reclaim = buttonOf(card.message.blocks, 'Reclaim', 'grady.archie@example.com');
    graph.server.inject({
      path: ASSIGN,
      status: 503,
      body: { error: { code: 'ServiceUnavailable', message: 'Licensing is busy, try later.' } },
    });
    const removals = graph.server.calls(ASSIGN).length;
    const body = clickBody(USERS.admin.id, reclaim, card);
    await post(body);
    await until(async () => updatesOf(card.message.ts).length === 1);
    const failed = updatesOf(card.message.ts)[0]?.args.blocks as CapturedBlock[];
    expect(textOf(failed)).toMatch(
      /:x: \*Reclaim\* by <@UADMIN> on <!date\^\d+\^[^>]*> — The vendor did not remove the seat/,
    );
    expect(licensesOf(USER.grady)).toContain(SKU.ENTERPRISEPACK);
    // Clicking Reclaim again does not hide the failure or try again behind the card's back.
    await post(body);
    await privateAnswer(card.id, /Already tried: \*Reclaim\*/);
    expect(graph.server.calls(ASSIGN).length).toBe(removals + 1);

    const retry = buttonOf(failed, 'Retry');
    await post(clickBody(USERS.admin.id, retry, { ...card, message: { ...card.message, blocks: failed } }));
    await until(async () => updatesOf(card.message.ts).length === 2);
    expect(textOf(updatesOf(card.message.ts)[1]?.args.blocks)).toMatch(
      /:white_check_mark: \*Retry\* by <@UADMIN> on <!date/,
    );
    expect(graph.server.calls(ASSIGN).length).toBe(removals + 2);
    expect(licensesOf(USER.grady)).not.toContain(SKU.ENTERPRISEPACK);
  });

  it('assigns an unmatched account to a person picked in the typeahead of the modal', async () => {
    await env.service.store.pool.query(
      `INSERT INTO cloud_subscribers (license_id, vendor_account_id, email)
       SELECT id, 'ext-1', 'j.lorenz@agency.example' FROM licenses WHERE sku = 'SPE_E5'`,
    );
    const card = await sharedCard('clearing');
    const assign = buttonOf(card.message.blocks, 'Assign to person…', 'j.lorenz@agency.example');
    const opens = env.fake.callsOf('views.open').length;
    await post(clickBody(USERS.admin.id, assign, card));
    const opened = await env.fake.waitFor('views.open', () => env.fake.callsOf('views.open').length > opens);
    const view = opened.args.view as { private_metadata: string; blocks: CapturedBlock[] };
    const input = view.blocks.find((b) => b.block_id === 'arg:person');
    expect(input?.element).toMatchObject({ type: 'external_select', action_id: 'sk.person' });

    const suggested = await postSigned(
      env.eventsUrl,
      SIGNING_SECRET,
      interactionBody(
        blockSuggestionPayload({
          userId: USERS.admin.id,
          actionId: 'sk.person',
          blockId: 'arg:person',
          value: 'johanna',
        }),
      ),
      FORM,
    );
    const { options } = (await suggested.json()) as { options: { text: { text: string }; value: string }[] };
    expect(options).toEqual([
      {
        text: { type: 'plain_text', text: 'Johanna Lorenz (johanna.lorenz@example.com)', emoji: true },
        value: 'johanna.lorenz@example.com',
      },
    ]);

    const submit = viewSubmissionPayload({
      userId: USERS.admin.id,
      view,
      values: {
        'arg:person': {
          'sk.person': {
            type: 'external_select',
            selected_option: { text: options[0]?.text, value: options[0]?.value },
          },
        },
      },
    });
    const [first, second] = await Promise.all([post(interactionBody(submit)), post(interactionBody(submit))]);
    expect([first.status, second.status]).toEqual([200, 200]);
    await until(async () => updatesOf(card.message.ts).length === 1);
    const acted = textOf(updatesOf(card.message.ts)[0]?.args.blocks);
    expect(acted).toMatch(/Assign to person…\* by <@UADMIN> on <!date/);
    const alias = await env.service.store.pool.query(
      `SELECT p.primary_email FROM person_emails e JOIN persons p ON p.id = e.person_id
       WHERE e.email = 'j.lorenz@agency.example'`,
    );
    expect(alias.rows).toEqual([{ primary_email: 'johanna.lorenz@example.com' }]);
    expect(await count(`audit_log WHERE action LIKE 'clearing.assign%'`)).toBe(1);
  });

  it('approves a renewal from the renewals card once, resizes another through a modal, escalates and declines a third', async () => {
    const card = await sharedCard('renewals');
    const row = card.message.blocks.findIndex((b) => textOf(b).includes('`ENTERPRISEPACK` renews'));
    const approve = buttonsIn(card.message.blocks).find(
      (b) =>
        b.block_id === card.message.blocks[row + 1]?.block_id &&
        /^Approve \d+$/.test((b.button.text as { text: string }).text),
    );
    if (!approve) throw new Error(`no Approve button for Office 365 E3: ${textOf(card.message.blocks)}`);
    expect((approve.button.confirm as { text: { text: string } }).text.text).toContain('Office 365 E3');
    const body = clickBody(USERS.admin.id, approve, card);
    await Promise.all([post(body), post(body)]);
    await until(async () => updatesOf(card.message.ts).length === 1);
    const acted = textOf(updatesOf(card.message.ts)[0]?.args.blocks);
    expect(acted).toMatch(/Approve \d+\* by <@UADMIN> on <!date/);
    const decisions = await env.service.store.pool.query(
      `SELECT d.decision, d.state FROM renewal_decisions d JOIN licenses l ON l.id = d.license_id
       WHERE l.sku = 'ENTERPRISEPACK'`,
    );
    expect(decisions.rows).toEqual([{ decision: 'approve', state: 'decided' }]);

    // The acted row lost its buttons, and the approved renewal moved on a term; on a fresh card, Resize of another
    // renewal asks for the quantity in a modal.
    const updated = updatesOf(card.message.ts)[0]?.args.blocks as CapturedBlock[];
    expect(updated.some((b) => b.block_id === approve.block_id)).toBe(false);
    expect(textOf(updated)).toContain('Renewed Office 365 E3 (ENTERPRISEPACK) at 4 seats');
    const fresh = await sharedCard('renewals');
    expect(textOf(fresh.message.blocks)).not.toContain('`ENTERPRISEPACK` renews');
    const resize = buttonOf(fresh.message.blocks, 'Resize…', '`POWER_BI_PRO` renews');
    const opens = env.fake.callsOf('views.open').length;
    await post(clickBody(USERS.admin.id, resize, fresh));
    const opened = await env.fake.waitFor('views.open', () => env.fake.callsOf('views.open').length > opens);
    const view = opened.args.view as { blocks: CapturedBlock[] };
    expect(view.blocks.find((b) => b.block_id === 'arg:quantity')?.element).toMatchObject({
      type: 'number_input',
    });
    await post(
      interactionBody(
        viewSubmissionPayload({
          userId: USERS.admin.id,
          view,
          values: { 'arg:quantity': { value: { type: 'number_input', value: '4' } } },
        }),
      ),
    );
    await until(async () => updatesOf(fresh.message.ts).length === 1);
    expect(textOf(updatesOf(fresh.message.ts)[0]?.args.blocks)).toMatch(/Resize…\* by <@UADMIN> on <!date/);
    const live = await env.service.store.pool.query(
      `SELECT d.decision, d.quantity FROM renewal_decisions d JOIN licenses l ON l.id = d.license_id
       WHERE l.sku = 'POWER_BI_PRO' AND d.state = 'decided'`,
    );
    expect(live.rows).toEqual([{ decision: 'resize', quantity: 4 }]);

    // Escalate needs no confirmation; Decline asks first, and then replaces the escalation.
    const e5 = await sharedCard('renewals');
    await post(clickBody(USERS.admin.id, buttonOf(e5.message.blocks, 'Escalate', '`SPE_E5` renews'), e5));
    await until(async () => updatesOf(e5.message.ts).length === 1);
    expect(textOf(updatesOf(e5.message.ts)[0]?.args.blocks)).toMatch(/Escalate\* by <@UADMIN> on <!date/);
    const again = await sharedCard('renewals');
    const decline = buttonOf(again.message.blocks, 'Decline', '`SPE_E5` renews');
    expect((decline.button.confirm as { title: { text: string } }).title.text).toBe(
      'Decline Microsoft 365 E5?',
    );
    await post(clickBody(USERS.admin.id, decline, again));
    await until(async () => updatesOf(again.message.ts).length === 1);
    expect(textOf(updatesOf(again.message.ts)[0]?.args.blocks)).toMatch(/Decline\* by <@UADMIN> on <!date/);
    const e5Decisions = await env.service.store.pool.query(
      `SELECT d.decision, d.state FROM renewal_decisions d JOIN licenses l ON l.id = d.license_id
       WHERE l.sku = 'SPE_E5' ORDER BY d.decided_at`,
    );
    expect(e5Decisions.rows).toEqual([
      { decision: 'escalate', state: 'superseded' },
      { decision: 'decline', state: 'decided' },
    ]);
  });

  it('asks the holder in a direct message and removes the seat when they click Release, once', async () => {
    // Lee got his Power BI seat back with Undo; the nightly recompute finds it idle again.
    await recompute();
    const card = await sharedCard('findings --kind idle');
    const ask = buttonOf(card.message.blocks, 'Ask holder', 'lee.gu@example.com', 'Power BI Pro');
    expect((ask.button.confirm as { text: { text: string } }).text.text).toContain('Keep / Release');
    await post(clickBody(USERS.admin.id, ask, card));
    await until(async () => updatesOf(card.message.ts).length === 1);
    const asked = textOf(updatesOf(card.message.ts)[0]?.args.blocks);
    expect(asked).toMatch(/Ask holder\* by <@UADMIN> on <!date/);
    expect(asked).toContain('Power BI Pro of lee.gu@example.com: asking the holder');
    expect(await count(`holder_asks WHERE answer IS NULL`)).toBe(1);

    await env.service.jobs.enqueue(DELIVERY_JOB);
    const dm = await env.fake.waitFor(
      'chat.postMessage',
      (c) =>
        /^(ULEE|DLEE)$/.test(String(c.args.channel)) &&
        textOf(c.args.blocks).includes('Still need Power BI Pro?'),
    );
    const posted = dm.answer as { channel: string; ts: string };
    const question = { ts: posted.ts, text: String(dm.args.text), blocks: dm.args.blocks as CapturedBlock[] };
    const release = buttonOf(question.blocks, 'Release');
    const removals = graph.server.calls(ASSIGN).length;
    const click = interactionBody(
      blockActionsPayload({
        userId: 'ULEE',
        button: release.button,
        blockId: release.block_id,
        responseUrl: env.fake.responseUrl(),
        message: question,
        channelId: posted.channel,
      }),
    );
    await Promise.all([post(click), post(click)]);
    const answered = await env.fake.waitFor('chat.update', (c) => c.args.ts === posted.ts);
    expect(answered.args.channel).toBe(posted.channel);
    expect(textOf(answered.args.blocks)).toMatch(/Release\* by <@ULEE> on <!date/);
    expect(graph.server.calls(ASSIGN).length).toBe(removals + 1);
    expect(licensesOf(USER.lee)).not.toContain(SKU.POWER_BI_PRO);
    expect(
      (await env.service.store.pool.query(`SELECT answer FROM holder_asks`)).rows.map((r) => r.answer),
    ).toEqual(['release']);
    // The card in the IT channel that asked shows the answer and its outcome too, with Undo for the IT manager.
    await until(async () => updatesOf(card.message.ts).length === 2);
    const itCard = updatesOf(card.message.ts)[1]?.args.blocks as CapturedBlock[];
    expect(textOf(itCard)).toMatch(/Ask holder\* by <@UADMIN> on <!date/);
    expect(textOf(itCard)).toMatch(
      /Release\* by <@ULEE> on <!date[^—]*— Power BI Pro of lee\.gu@example\.com: done/,
    );
    expect(buttonsIn(itCard).map((b) => (b.button.text as { text: string }).text)).toContain('Undo');
    expectWithinLimits({ blocks: itCard });
    // Keep, clicked afterwards on the same question, changes nothing.
    const keep = buttonOf(question.blocks, 'Keep');
    await post(
      interactionBody(
        blockActionsPayload({
          userId: 'ULEE',
          button: keep.button,
          blockId: keep.block_id,
          responseUrl: env.fake.responseUrl(),
          message: question,
          channelId: posted.channel,
        }),
      ),
    );
    await env.fake.waitFor(
      'respond',
      (c) => /Already done/.test(textOf(c.args.blocks)) && textOf(c.args.blocks).includes('ULEE'),
    );
    expect(await count(`exemptions WHERE reason = 'holder asked to keep'`)).toBe(0);
  });
});
