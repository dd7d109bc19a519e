/**
 * The Slack surface end to end: signed requests POSTed to the running service's `/slack/events`, the bot's Web API
 * calls and response-URL answers captured by a local fake Slack, effects checked in the real database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOT_TOKEN,
  blockActionsPayload,
  blockSuggestionPayload,
  buttonsIn,
  type CapturedBlock,
  eventBody,
  expectWithinLimits,
  interactionBody,
  postSigned,
  SIGNING_SECRET,
  type SlackTestEnv,
  seedInventory,
  slashCommandBody,
  startSlackService,
  textOf,
  USERS,
  until,
  viewSubmissionPayload,
} from '../fakes/slack-fake.ts';

const FORM = 'application/x-www-form-urlencoded' as const;

describe('the Slack surface over HTTP', () => {
  let env: SlackTestEnv;

  beforeAll(async () => {
    env = await startSlackService({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_DIGEST_CHANNEL: 'C0DIGEST',
      SLACK_ALERT_CHANNEL: 'C0ALERTS',
    });
    await seedInventory(env.service.store);
  }, 120_000);
  afterAll(async () => env?.stop());

  const post = (body: string, contentType: typeof FORM | 'application/json' = FORM, options = {}) =>
    postSigned(env.eventsUrl, SIGNING_SECRET, body, contentType, options);

  /** Runs `/license <text>` as `userId`; resolves with the HTTP answer and the response URL's number. */
  async function slash(text: string, userId: string) {
    const responseUrl = env.fake.responseUrl();
    const started = Date.now();
    const response = await post(slashCommandBody({ text, userId, responseUrl }));
    return { response, elapsed: Date.now() - started, responseUrl, id: Number(responseUrl.split('/').pop()) };
  }

  /** What the bot posted to a response URL (the n-th post to it, from 1). */
  async function answer(respondId: number, nth = 1) {
    const posts = () => env.fake.callsOf('respond').filter((c) => c.respondId === respondId);
    const call = await env.fake.waitFor('respond', (c) => posts().indexOf(c) === nth - 1);
    return call.args as {
      response_type?: string;
      replace_original?: boolean;
      text: string;
      blocks: CapturedBlock[];
    };
  }

  function button(blocks: CapturedBlock[], label: string | RegExp) {
    const found = buttonsIn(blocks).find(({ button: b }) => {
      const text = (b.text as { text: string }).text;
      return typeof label === 'string' ? text === label : label.test(text);
    });
    if (!found)
      throw new Error(
        `no button '${label}' in ${buttonsIn(blocks)
          .map((b) => (b.button.text as { text: string }).text)
          .join(', ')}`,
      );
    return found;
  }

  const count = async (sql: string, params: unknown[] = []) =>
    (await env.service.store.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params))
      .rows[0]?.n ?? 0;

  it('refuses a bad signature, a timestamp more than five minutes off and unsigned requests with 401', async () => {
    const body = slashCommandBody({
      text: 'who-has figma',
      userId: USERS.admin.id,
      responseUrl: env.fake.responseUrl(),
    });
    const before = env.fake.calls.length;
    expect((await post(body, FORM, { signature: 'v0=0000' })).status).toBe(401);
    const sixMinutesAgo = Math.floor(Date.now() / 1000) - 6 * 60;
    expect((await post(body, FORM, { timestamp: sixMinutesAgo })).status).toBe(401);
    const sixMinutesAhead = Math.floor(Date.now() / 1000) + 6 * 60;
    expect((await post(body, FORM, { timestamp: sixMinutesAhead })).status).toBe(401);
    const unsigned = await fetch(env.eventsUrl, { method: 'POST', headers: { 'content-type': FORM }, body });
    expect(unsigned.status).toBe(401);
    // Signed with another secret: same answer.
    expect((await postSigned(env.eventsUrl, 'another-secret', body, FORM)).status).toBe(401);
    expect(env.fake.calls.slice(before).filter((c) => c.method !== 'auth.test')).toEqual([]);
    // A correctly signed request is accepted.
    expect((await post(body)).status).toBe(200);
  });

  it('answers the URL verification challenge', async () => {
    const response = await post(
      JSON.stringify({ type: 'url_verification', challenge: 'c-123', token: 'x' }),
      'application/json',
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ challenge: 'c-123' });
  });

  it('answers /license who-has figma privately through the response URL, acknowledging at once', async () => {
    const { response, elapsed, id } = await slash('who-has figma', USERS.helpdesk.id);
    expect(response.status).toBe(200);
    expect(elapsed).toBeLessThan(3000);
    const reply = await answer(id);
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Who has figma' } });
    const text = textOf(reply.blocks);
    expect(text).toContain('1–20 of 46');
    expect(text).toContain('*ana@example.com* — Figma Professional `FIGMA_PRO`');
    expect(text).toContain('user01@example.com');
    expect(text).not.toContain('user25@example.com');
    expect(button(reply.blocks, /^More/).button.text).toMatchObject({ text: 'More (26 left)' });
    expectWithinLimits(reply);
    // The bot asked Slack who the user is, with its bot token.
    const info = await env.fake.waitFor('users.info', (c) => c.args.user === USERS.helpdesk.id);
    expect(info.token).toBe(BOT_TOKEN);
  });

  it('answers a dashboard sign-in link privately even when asked to share it', async () => {
    const { id } = await slash('share dashboard', USERS.helpdesk.id);
    const reply = await answer(id);
    expect(reply.response_type).toBe('ephemeral');
    expect(textOf(reply.blocks)).toContain('/auth/link?token=');
  });

  it('pages a long list with More and Previous, replacing the private answer in place', async () => {
    const { id, responseUrl } = await slash('who-has figma', USERS.helpdesk.id);
    const first = await answer(id);
    const more = button(first.blocks, /^More/);
    const click = async (target: ReturnType<typeof button>) =>
      post(
        interactionBody(
          blockActionsPayload({
            userId: USERS.helpdesk.id,
            button: target.button,
            blockId: target.block_id,
            responseUrl,
            ephemeral: true,
          }),
        ),
      );
    expect((await click(more)).status).toBe(200);
    const second = await answer(id, 2);
    expect(second).toMatchObject({ response_type: 'ephemeral', replace_original: true });
    expect(textOf(second.blocks)).toContain('21–40 of 46');
    expect(textOf(second.blocks)).toContain('user20@example.com');
    expect(textOf(second.blocks)).not.toContain('user01@example.com');
    expectWithinLimits(second);
    await click(button(second.blocks, /^More/));
    const third = await answer(id, 3);
    expect(textOf(third.blocks)).toContain('41–46 of 46');
    expect(buttonsIn(third.blocks).map((b) => (b.button.text as { text: string }).text)).toEqual([
      'Previous',
    ]);
    await click(button(third.blocks, 'Previous'));
    expect(textOf((await answer(id, 4)).blocks)).toContain('21–40 of 46');
  });

  it('posts the answer in the channel when asked to share', async () => {
    const { id } = await slash('share seats figma', USERS.helpdesk.id);
    const reply = await answer(id);
    expect(reply.response_type).toBe('in_channel');
    expect(textOf(reply.blocks)).toContain('46 of 60 used, 14 free');
  });

  it('gives the help for nothing, help, and unknown input, in the acknowledgement itself', async () => {
    for (const text of ['', 'help', 'frobnicate the seats']) {
      const { response } = await slash(text, USERS.member.id);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { response_type: string; blocks: CapturedBlock[] };
      expect(body.response_type).toBe('ephemeral');
      const help = textOf(body.blocks);
      expect(help).toContain('who-has &lt;query&gt;');
      expect(help).toContain('`mine`');
      expect(help).toContain('`help`');
      if (text.startsWith('frob')) expect(help).toContain("I don't know the command 'frobnicate'");
      expectWithinLimits(body);
    }
    const cliOnly = await slash('contract set --sku X', USERS.admin.id);
    expect(textOf(await cliOnly.response.json())).toContain("'contract set' is not available in Slack");
  });

  it("answers mine with the member's own seats across aliases, and tells a stranger why not", async () => {
    const mine = await slash('mine', USERS.member.id);
    const reply = await answer(mine.id);
    expect(reply.blocks[0]).toMatchObject({ text: { text: 'Your seats' } });
    expect(textOf(reply.blocks)).toContain('FIGMA_PRO');
    expect(textOf(reply.blocks)).toContain('a.lopez@example.com'); // the E5 seat held through an alias
    // Matched by e-mail once, the Slack id is remembered on the person.
    const stored = await env.service.store.pool.query(
      `SELECT slack_user_id FROM persons WHERE primary_email = 'ana@example.com'`,
    );
    expect(stored.rows[0]?.slack_user_id).toBe(USERS.member.id);

    const stranger = await slash('mine', USERS.stranger.id);
    expect(textOf((await answer(stranger.id)).blocks)).toContain(":lock: 'mine' needs the member role");
  });

  it('resolves a mentioned Slack user to their e-mail for person', async () => {
    const { id } = await slash('person <@UMEMBER|ana>', USERS.helpdesk.id);
    const reply = await answer(id);
    expect(reply.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Ana Lopez (ana@example.com)' } });
    expect(textOf(reply.blocks)).toContain('a.lopez@example.com');
  });

  it('denies a query to a member without the role, explains why, and audits the denial', async () => {
    const before = await count(
      `audit_log WHERE action = 'denied' AND actor = 'ana@example.com' AND target = 'seats'`,
    );
    const { id } = await slash('seats', USERS.member.id);
    expect(textOf((await answer(id)).blocks)).toContain(
      ":lock: 'seats' needs the helpdesk role, which you do not have.",
    );
    expect(
      await count(`audit_log WHERE action = 'denied' AND actor = 'ana@example.com' AND target = 'seats'`),
    ).toBe(before + 1);
  });

  it('gives roles to a Slack id from the roles file when Slack shows no e-mail', async () => {
    const { id } = await slash('clearing', USERS.byId.id);
    const reply = await answer(id);
    expect(textOf(reply.blocks)).toContain('ghost@agency.example');
  });

  it('explains wrong arguments with the usage', async () => {
    const { id } = await slash('renewals lots', USERS.helpdesk.id);
    const reply = await answer(id);
    expect(textOf(reply.blocks)).toContain('must be a whole number');
    expect(textOf(reply.blocks)).toContain('Usage: `/license renewals [--days N]`');
  });

  it('runs a card action once when it is clicked twice, and updates the card in place for everyone', async () => {
    const { id, responseUrl } = await slash('share findings', USERS.admin.id);
    const card = await answer(id);
    expect(card.response_type).toBe('in_channel');
    const recompute = button(card.blocks, 'Recompute');
    // The shared answer is a message in the channel: Slack sends its ts and blocks with each click.
    const message = { ts: '1700000100.000100', text: card.text, blocks: card.blocks };
    const payload = blockActionsPayload({
      userId: USERS.admin.id,
      button: recompute.button,
      blockId: recompute.block_id,
      responseUrl,
      message,
    });
    const before = await count(`audit_log WHERE action = 'findings.recompute'`);
    const updatesBefore = env.fake.callsOf('chat.update').length;
    const clicks = await Promise.all([post(interactionBody(payload)), post(interactionBody(payload))]);
    expect(clicks.map((r) => r.status)).toEqual([200, 200]);

    const update = await env.fake.waitFor('chat.update', (c) => c.args.ts === message.ts);
    expect(update.args.channel).toBe('C0CHANNEL');
    const updated = update.args.blocks as CapturedBlock[];
    const acted = textOf(updated);
    expect(acted).toMatch(/Recompute\* by <@UADMIN> on <!date\^\d+\^/);
    expect(acted).toContain('open findings after recomputing');
    // The clicked button is gone; the rest of the card (rows, paging) is still there.
    expect(buttonsIn(updated).map((b) => (b.button.text as { text: string }).text)).not.toContain(
      'Recompute',
    );
    expect(acted).toContain('user01@example.com');
    expectWithinLimits({ blocks: updated });

    // The second click was told it is done (or still running, when both arrive together), and ran nothing.
    const told = await env.fake.waitFor(
      'respond',
      (c) => c.respondId === id && /Already done|still running/.test(textOf(c.args.blocks)),
    );
    expect(told.args).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(await count(`audit_log WHERE action = 'findings.recompute'`)).toBe(before + 1);
    expect(env.fake.callsOf('chat.update').length).toBe(updatesBefore + 1);
    const record = await env.service.store.pool.query(
      `SELECT address FROM chat_addresses WHERE platform = 'slack' AND key = $1`,
      [`action:findings:${JSON.parse(String(recompute.button.value)).id}`],
    );
    expect(record.rows[0]?.address).toMatchObject({
      state: 'done',
      user: 'UADMIN',
      channel: 'C0CHANNEL',
      ts: message.ts,
    });
  });

  it('keeps a seat through a modal built from the command’s arguments, once, updating the card in place', async () => {
    const { id, responseUrl } = await slash('share findings --kind idle --app figma', USERS.admin.id);
    const card = await answer(id);
    expectWithinLimits(card);
    // Every row offers the registry's seat actions; the list as a whole offers the batch reclaim.
    const labels = buttonsIn(card.blocks).map((b) => (b.button.text as { text: string }).text);
    expect(labels).toContain('Keep…');
    expect(labels).toContain('Snooze…');
    expect(labels).toContain('Reclaim');
    expect(labels).toContain('Ask holder');
    expect(labels).toContain('Reclaim all 10 idle');
    const keep = buttonsIn(card.blocks).find(
      (b) => b.block_id === 'row:1' && (b.button.text as { text: string }).text === 'Keep…',
    );
    if (!keep) throw new Error('no Keep… on the first row');
    const rowText = textOf(card.blocks.find((_block, i) => card.blocks[i + 1]?.block_id === 'row:1'));
    const account = /(user\d\d@example\.com)/.exec(rowText)?.[1] as string;
    const message = { ts: '1700000200.000200', text: card.text, blocks: card.blocks };

    const opensBefore = env.fake.callsOf('views.open').length;
    await post(
      interactionBody(
        blockActionsPayload({
          userId: USERS.admin.id,
          button: keep.button,
          blockId: keep.block_id,
          responseUrl,
          message,
        }),
      ),
    );
    const opened = await env.fake.waitFor(
      'views.open',
      () => env.fake.callsOf('views.open').length > opensBefore,
    );
    const view = opened.args.view as {
      callback_id: string;
      private_metadata: string;
      blocks: CapturedBlock[];
    };
    expect(view.callback_id).toBe('sk.form');
    const inputs = view.blocks.filter((b) => b.type === 'input');
    expect(inputs.map((b) => [b.block_id, (b.element as { type: string }).type])).toEqual([
      ['arg:reason', 'plain_text_input'],
      ['arg:until', 'datepicker'],
    ]);

    const submit = viewSubmissionPayload({
      userId: USERS.admin.id,
      view,
      values: {
        'arg:reason': { value: { type: 'plain_text_input', value: 'on parental leave' } },
        'arg:until': { value: { type: 'datepicker', selected_date: '2099-03-01' } },
      },
    });
    const [first, second] = await Promise.all([post(interactionBody(submit)), post(interactionBody(submit))]);
    expect([first.status, second.status]).toEqual([200, 200]);
    const update = await env.fake.waitFor('chat.update', (c) => c.args.ts === message.ts);
    const updated = update.args.blocks as CapturedBlock[];
    expect(textOf(updated)).toMatch(/Keep…\* by <@UADMIN> on <!date/);
    // The row acted on lost its buttons; the other rows kept theirs.
    expect(updated.some((b) => b.block_id === 'row:1')).toBe(false);
    expect(updated.some((b) => b.block_id === 'row:2')).toBe(true);
    await env.fake.waitFor(
      'respond',
      (c) => c.respondId === id && /Already done|still running/.test(textOf(c.args.blocks)),
    );
    const exemptions = await env.service.store.pool.query(
      `SELECT e.reason, e.created_by FROM exemptions e JOIN cloud_subscribers s ON s.id = e.subscriber_id WHERE s.email = $1`,
      [account],
    );
    expect(exemptions.rows).toEqual([{ reason: 'on parental leave', created_by: 'it@example.com' }]);
  });

  it('shows a wrong value inside the modal instead of running the command', async () => {
    const { id, responseUrl } = await slash('findings --kind idle', USERS.admin.id);
    const card = await answer(id);
    const snooze = button(card.blocks, 'Snooze…');
    await post(
      interactionBody(
        blockActionsPayload({
          userId: USERS.admin.id,
          button: snooze.button,
          blockId: snooze.block_id,
          responseUrl,
          ephemeral: true,
        }),
      ),
    );
    const opened = await env.fake.waitFor('views.open', (c) =>
      textOf(c.args.view).includes('findings snooze'),
    );
    const view = opened.args.view as Record<string, unknown>;
    const response = await post(
      interactionBody(
        viewSubmissionPayload({
          userId: USERS.admin.id,
          view,
          values: { 'arg:reason': { value: { type: 'plain_text_input', value: 'later' } } },
        }),
      ),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      response_action: 'errors',
      errors: { 'arg:until': expect.stringContaining('until') },
    });
  });

  it('tells a user without the role why a card action is refused, opening nothing', async () => {
    const { id, responseUrl } = await slash('findings --kind idle', USERS.helpdesk.id);
    const card = await answer(id);
    const keep = button(card.blocks, 'Keep…');
    const opens = env.fake.callsOf('views.open').length;
    await post(
      interactionBody(
        blockActionsPayload({
          userId: USERS.helpdesk.id,
          button: keep.button,
          blockId: keep.block_id,
          responseUrl,
          ephemeral: true,
        }),
      ),
    );
    const told = await env.fake.waitFor(
      'respond',
      (c) => c.respondId === id && textOf(c.args.blocks).includes(':lock:'),
    );
    expect(textOf(told.args.blocks)).toContain("'keep' needs the it-manager role");
    expect(told.args).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(env.fake.callsOf('views.open').length).toBe(opens);
  });

  it('suggests persons in the typeahead to helpdesk users, and to no one else', async () => {
    const suggest = (userId: string) =>
      post(
        interactionBody(
          blockSuggestionPayload({ userId, actionId: 'sk.person', blockId: 'arg:person', value: 'an' }),
        ),
      );
    const response = await suggest(USERS.helpdesk.id);
    expect(response.status).toBe(200);
    const { options } = (await response.json()) as { options: { text: { text: string }; value: string }[] };
    expect(options.map((o) => o.value)).toContain('ana@example.com');
    expect(options.find((o) => o.value === 'ana@example.com')?.text.text).toBe('Ana Lopez (ana@example.com)');
    expect(options.length).toBeLessThanOrEqual(100);
    expect(await (await suggest(USERS.member.id)).json()).toEqual({ options: [] });
  });

  it('publishes the App Home dashboard on app_home_opened', async () => {
    const response = await post(
      eventBody({ type: 'app_home_opened', user: USERS.admin.id, channel: 'D0ADMIN', tab: 'home' }),
      'application/json',
    );
    expect(response.status).toBe(200);
    const published = await env.fake.waitFor('views.publish', (c) => c.args.user_id === USERS.admin.id);
    const view = published.args.view as { type: string; blocks: CapturedBlock[] };
    expect(view.type).toBe('home');
    expectWithinLimits(view, 100);
    const text = textOf(view.blocks);
    expect(text).toMatch(/\*Open findings:\* \d+ · savings \*[\d,]+ EUR\* per year/);
    expect(text).toContain('Utilization per app');
    expect(text).toContain('*Figma Professional* `FIGMA_PRO` ▰▰▰▰▰▰▰▰▱▱ 77% · 46/60 used, 14 free');
    expect(text).toContain('Renewals due in 90 days');
    expect(text).toContain('Figma Professional');
    expect(text).toContain('*1* account match no person');
    expect(text).toContain('Last import per connector');
    expect(text).toMatch(/\*saas\* — :white_check_mark: succeeded/);
    // Remembered, so the tab is refreshed after the next import.
    await until(
      async () => (await count(`chat_addresses WHERE platform = 'slack' AND key = 'home:UADMIN'`)) === 1,
    );

    await post(
      eventBody({ type: 'app_home_opened', user: USERS.member.id, channel: 'D0MEMBER', tab: 'home' }),
      'application/json',
    );
    const member = await env.fake.waitFor('views.publish', (c) => c.args.user_id === USERS.member.id);
    const memberText = textOf((member.args.view as { blocks: unknown }).blocks);
    expect(memberText).toContain('Your seats');
    expect(memberText).not.toContain('Utilization per app');
  });

  it('answers "Who has…" from the Home tab with a modal and a direct message', async () => {
    await post(
      eventBody({ type: 'app_home_opened', user: USERS.helpdesk.id, channel: 'D0HELP', tab: 'home' }),
      'application/json',
    );
    const home = await env.fake.waitFor('views.publish', (c) => c.args.user_id === USERS.helpdesk.id);
    const blocks = (home.args.view as { blocks: CapturedBlock[] }).blocks;
    const whoHas = button(blocks, 'Who has…');
    await post(
      interactionBody(
        blockActionsPayload({
          userId: USERS.helpdesk.id,
          button: whoHas.button,
          blockId: whoHas.block_id,
          responseUrl: '',
          home: true,
        }),
      ),
    );
    const opened = await env.fake.waitFor('views.open', (c) => textOf(c.args.view).includes('arg:query'));
    const view = opened.args.view as Record<string, unknown>;
    await post(
      interactionBody(
        viewSubmissionPayload({
          userId: USERS.helpdesk.id,
          view,
          values: { 'arg:query': { value: { type: 'plain_text_input', value: 'visio' } } },
        }),
      ),
    );
    const dm = await env.fake.waitFor('chat.postMessage', (c) => c.args.channel === USERS.helpdesk.id);
    expect(textOf(dm.args.blocks)).toContain('ghost@agency.example');
    expectWithinLimits(dm.args);
  });

  it('never writes the bot token or the signing secret to the log', async () => {
    await slash('who-has figma', USERS.admin.id);
    await post('payload=%7B%7D', FORM, { signature: 'v0=bad' });
    const log = env.logLines.join('');
    expect(log).toContain('slack: enabled over HTTP at /slack/events');
    expect(log).not.toContain(BOT_TOKEN);
    expect(log).not.toContain(SIGNING_SECRET);
  });
});
