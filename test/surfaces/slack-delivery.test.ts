/**
 * Alerts and digests through Slack: `notifications` rows delivered once (also with two replicas delivering at the
 * same time), to channels and as direct messages, with buttons that act in place; the weekly digest job.
 */
import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setContract } from '../../handlers/contracts.ts';
import { operatorActor } from '../../handlers/types.ts';
import { loadRoles } from '../../src/auth/actors.ts';
import { loadConfig } from '../../src/config/config.ts';
import { runImport } from '../../src/inventory/import-pipeline.ts';
import { createLogger } from '../../src/log.ts';
import type { Store } from '../../src/store/store.ts';
import { deliverPendingNotifications } from '../../src/surfaces/slack/delivery.ts';
import { mondayOf } from '../../src/surfaces/slack/digest.ts';
import { SlackIdentity } from '../../src/surfaces/slack/identity.ts';
import { slackSettingsFromConfig } from '../../src/surfaces/slack/slack-settings.ts';
import { DELIVERY_JOB, DIGEST_JOB } from '../../src/surfaces/slack/slack-surface.ts';
import {
  BOT_TOKEN,
  blockActionsPayload,
  buttonsIn,
  type CapturedBlock,
  expectWithinLimits,
  interactionBody,
  postSigned,
  SIGNING_SECRET,
  type SlackTestEnv,
  seedInventory,
  startSlackService,
  textOf,
  USERS,
  until,
} from '../fakes/slack-fake.ts';
import { fixtureConnector, subscription } from '../support/fixture-connector.ts';

describe('Slack notifications and digests', () => {
  let env: SlackTestEnv;

  beforeAll(async () => {
    env = await startSlackService({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_DIGEST_CHANNEL: 'C0DIGEST',
      SLACK_ALERT_CHANNEL: 'C0ALERTS',
      SLACK_CHANNELS: 'procurement=C0PROCURE',
      // Deliveries run when a test enqueues them, not on the clock, so they never race a test's own replica.
      SLACK_DELIVERY_INTERVAL: '1 day',
    });
    await seedInventory(env.service.store);
  }, 120_000);
  afterAll(async () => env?.stop());

  const pool = () => env.service.store.pool;

  /** Waits until every delivery run the service was asked for has finished. */
  async function deliveriesDone(): Promise<void> {
    await until(async () => {
      const running = await pool().query(
        `SELECT count(*)::int AS n FROM agenda_jobs
         WHERE name = $1 AND type = 'normal' AND (last_finished_at IS NULL OR locked_at IS NOT NULL)`,
        [DELIVERY_JOB],
      );
      return running.rows[0].n === 0;
    });
  }

  async function notify(
    dedupeKey: string,
    target: unknown,
    payload: unknown,
    kind = 'finding-alert',
  ): Promise<number> {
    const row = await pool().query<{ id: number }>(
      'INSERT INTO notifications (dedupe_key, kind, target, payload) VALUES ($1, $2, $3, $4) RETURNING id',
      [dedupeKey, kind, JSON.stringify(target), JSON.stringify(payload)],
    );
    return row.rows[0]?.id as number;
  }

  /** A second process delivering from the same database: its own connections and its own Web API client. */
  async function replica(): Promise<() => Promise<unknown>> {
    const store: Store = await env.db.open();
    const settings = slackSettingsFromConfig(env.config);
    const client = new webApi.WebClient(BOT_TOKEN, { slackApiUrl: settings.apiUrl });
    const log = createLogger('silent');
    const identity = new SlackIdentity(
      store,
      loadRoles({ SEATKEEPER_ADMINS: undefined, SEATKEEPER_ROLES_FILE: undefined }),
      client,
      log,
    );
    return () => deliverPendingNotifications({ store, client, settings, identity, log });
  }

  it('posts every notification once while two replicas and the service job deliver at the same time', async () => {
    const ids: number[] = [];
    for (let n = 1; n <= 8; n++) {
      ids.push(
        await notify(
          `alert-once-${n}`,
          { channel: 'procurement' },
          { title: `Alert once ${n}`, text: 'Renewal lead time' },
        ),
      );
    }
    const toAlerts = await notify(
      'alert-once-default',
      {},
      { title: 'Alert once default' },
      'import-failure',
    );
    const toAna = await notify(
      'alert-once-dm',
      { personId: await personId('ana@example.com') },
      { title: 'Alert once DM' },
    );
    const toTeams = await notify(
      'alert-once-teams',
      { platform: 'teams', channel: 'procurement' },
      { title: 'Alert once teams' },
    );
    const [a, b] = [await replica(), await replica()];

    await Promise.all([a(), b(), a(), b(), env.service.jobs.enqueue(DELIVERY_JOB)]);
    // Both replicas keep delivering (as their jobs would) until everything is out; a row given back after a
    // failure goes out in a later round, still once.
    await until(async () => {
      await Promise.all([a(), b()]);
      const sent = await pool().query(
        'SELECT count(*)::int AS n FROM notifications WHERE id = ANY($1) AND sent_at IS NOT NULL',
        [[...ids, toAlerts, toAna]],
      );
      // A claimed row counts as sent before its post returns: wait for the posts themselves too.
      const posts = env.fake
        .callsOf('chat.postMessage')
        .filter((c) => String(c.args.text).startsWith('Alert once')).length;
      return sent.rows[0].n === 10 && posts >= 10;
    });

    const posted = (title: string) =>
      env.fake.callsOf('chat.postMessage').filter((c) => String(c.args.text).startsWith(title));
    for (let n = 1; n <= 8; n++) {
      expect(posted(`Alert once ${n}`)).toHaveLength(1);
      expect(posted(`Alert once ${n}`)[0]?.args.channel).toBe('C0PROCURE');
    }
    expect(posted('Alert once default').map((c) => c.args.channel)).toEqual(['C0ALERTS']);
    // The person's Slack account is found by e-mail, remembered, and written to directly.
    const dm = posted('Alert once DM');
    expect(dm).toHaveLength(1);
    expect(env.fake.callsOf('conversations.open').some((c) => c.args.users === USERS.member.id)).toBe(true);
    expect(dm[0]?.args.channel).toBe('DMEMBER');
    expect(dm[0]?.token).toBe(BOT_TOKEN);
    // A notification for another platform is left alone.
    expect(posted('Alert once teams')).toEqual([]);
    const teams = await pool().query('SELECT sent_at, attempts FROM notifications WHERE id = $1', [toTeams]);
    expect(teams.rows[0]).toEqual({ sent_at: null, attempts: 0 });
    // Where each went is kept, to edit the message later.
    const address = await pool().query(
      `SELECT address FROM chat_addresses WHERE platform = 'slack' AND key = $1`,
      [`notification:${ids[0]}`],
    );
    expect(address.rows[0]?.address).toEqual({
      channel: 'C0PROCURE',
      ts: expect.stringMatching(/^\d+\.\d+$/),
    });
  });

  it('keeps a notification Slack refused, with the reason, and posts it on the next run', async () => {
    await deliveriesDone();
    const id = await notify('alert-retry', { channel: 'C0OTHER' }, { title: 'Alert retry' });
    const deliver = await replica();
    env.fake.failNext('chat.postMessage', 'channel_not_found');
    expect(await deliver()).toMatchObject({ failed: 1 });
    const failed = await pool().query('SELECT sent_at, attempts, error FROM notifications WHERE id = $1', [
      id,
    ]);
    expect(failed.rows[0]).toEqual({ sent_at: null, attempts: 1, error: 'channel_not_found' });
    expect(await deliver()).toMatchObject({ sent: 1 });
    const sent = await pool().query('SELECT sent_at, attempts, error FROM notifications WHERE id = $1', [id]);
    expect(sent.rows[0]).toMatchObject({ attempts: 2, error: null, sent_at: expect.any(Date) });
    // A person Slack does not know stays undelivered, with why.
    const nobody = await notify('alert-nobody', { email: 'bo@example.com' }, { title: 'Alert nobody' });
    await deliver();
    const kept = await pool().query('SELECT sent_at, error FROM notifications WHERE id = $1', [nobody]);
    expect(kept.rows[0]).toEqual({
      sent_at: null,
      error: 'the person has no Slack account Seatkeeper can find by e-mail',
    });
  });

  it("acts on an alert's button once and updates the alert in the channel with chat.update", async () => {
    await notify(
      'alert-actions',
      { channel: 'procurement' },
      {
        title: 'Alert with actions',
        text: '10 idle Figma seats',
        facts: [{ label: 'Savings', value: '1,800 EUR/year' }],
        actions: [
          { label: 'Recompute', command: 'findings', tokens: ['--recompute'] },
          { label: 'Idle findings', command: 'findings', tokens: ['--kind', 'idle'], mutating: false },
          { label: 'Not on Slack', command: 'contract set', tokens: ['--sku', 'X'] },
        ],
      },
    );
    await env.service.jobs.enqueue(DELIVERY_JOB);
    const post = await env.fake.waitFor('chat.postMessage', (c) =>
      String(c.args.text).startsWith('Alert with actions'),
    );
    const blocks = post.args.blocks as CapturedBlock[];
    expectWithinLimits(post.args);
    // Buttons come from the registry: a command Slack cannot run gets none.
    expect(buttonsIn(blocks).map((b) => (b.button.text as { text: string }).text)).toEqual([
      'Recompute',
      'Idle findings',
    ]);
    const message = { ts: String(post.answer?.ts), text: String(post.args.text), blocks };
    const recompute = buttonsIn(blocks)[0] as { block_id: string; button: Record<string, unknown> };
    const click = blockActionsPayload({
      userId: USERS.admin.id,
      button: recompute.button,
      blockId: recompute.block_id,
      responseUrl: env.fake.responseUrl(),
      channelId: 'C0PROCURE',
      message,
    });
    await postSigned(
      env.eventsUrl,
      SIGNING_SECRET,
      interactionBody(click),
      'application/x-www-form-urlencoded',
    );
    await postSigned(
      env.eventsUrl,
      SIGNING_SECRET,
      interactionBody(click),
      'application/x-www-form-urlencoded',
    );
    const update = await env.fake.waitFor(
      'chat.update',
      (c) => c.args.channel === 'C0PROCURE' && c.args.ts === message.ts,
    );
    expect(textOf(update.args.blocks)).toMatch(/Recompute\* by <@UADMIN>/);
    expect(buttonsIn(update.args.blocks as CapturedBlock[])).toEqual([]);
    await until(async () =>
      env.fake.callsOf('respond').some((c) => /Already done|still running/.test(textOf(c.args.blocks))),
    );
    expect(env.fake.callsOf('chat.update').filter((c) => c.args.ts === message.ts)).toHaveLength(1);
  });

  it('shows holder questions and renewal alerts as cards with the answers the registry offers', async () => {
    const anaId = await personId('ana@example.com');
    const license = await pool().query<{ id: number }>(`SELECT id FROM licenses WHERE sku = 'FIGMA_PRO'`);
    const licenseId = license.rows[0]?.id as number;
    // As the reclaim and renewal handlers write them.
    await notify(
      'card-ask',
      { personId: anaId, email: 'ana@example.com', slackUserId: null, teamsAadObjectId: null },
      {
        actionId: '0b7d5c1e-3f5a-4c1d-9a51-7f0e2d3c4b5a',
        question:
          'Do you still need Figma Professional (ana@example.com)? Answer Keep or Release by 2026-12-01 09:00 UTC.',
        product: 'Figma Professional',
        sku: 'FIGMA_PRO',
        deadline: '2026-12-01T09:00:00.000Z',
        answers: ['keep', 'release'],
        reminder: false,
      },
      'holder-ask',
    );
    await notify(
      'card-renewal',
      { channel: 'procurement' },
      {
        licenseId,
        product: 'Figma Professional',
        sku: 'FIGMA_PRO',
        renewalDate: '2027-01-01',
        cancelBy: '2026-12-22',
        daysLeft: 30,
        thresholdDays: 30,
        missed: false,
        quantity: 60,
        recommendedQuantity: 49,
        annualCost: 10800,
        recommendedCost: 8820,
        currency: 'EUR',
        idleSeats: 10,
      },
      'renewal-alert',
    );
    await notify(
      'card-finance',
      { slackUserId: 'UROLE' },
      {
        licenseId,
        product: 'Figma Professional',
        sku: 'FIGMA_PRO',
        decisionId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
        decision: 'approve',
        state: 'pending-finance',
        financeReasons: ['exceeds the remaining budget by 800 EUR'],
      },
      'renewal-finance-approval',
    );
    await env.service.jobs.enqueue(DELIVERY_JOB);

    const ask = await env.fake.waitFor('chat.postMessage', (c) =>
      String(c.args.text).startsWith('Still need Figma'),
    );
    expect(ask.args.channel).toBe('DMEMBER');
    expect(textOf(ask.args.blocks)).toContain('Answer Keep or Release by 2026-12-01');
    expectWithinLimits(ask.args);

    const renewal = await env.fake.waitFor('chat.postMessage', (c) =>
      String(c.args.text).startsWith('Figma Professional renews'),
    );
    expect(renewal.args.channel).toBe('C0PROCURE');
    expect(textOf(renewal.args.blocks)).toContain('60 → recommended 49');
    expect(textOf(renewal.args.blocks)).toContain('10,800 EUR → 8,820 EUR');
    const labels = buttonsIn(renewal.args.blocks as CapturedBlock[]).map(
      (b) => (b.button.text as { text: string }).text,
    );
    expect(labels).toEqual(['Approve 49', 'Resize…', 'Decline', 'Snooze…', 'Escalate', 'Renewals']);
    expectWithinLimits(renewal.args);

    const finance = await env.fake.waitFor('chat.postMessage', (c) =>
      String(c.args.text).startsWith('Finance approval needed'),
    );
    expect(finance.args.channel).toBe('DROLE');
    const financeButtons = buttonsIn(finance.args.blocks as CapturedBlock[]);
    expect(financeButtons.map((b) => (b.button.text as { text: string }).text)).toEqual([
      'Confirm',
      'Reject…',
      'Renewals',
    ]);
    expect(JSON.parse(String(financeButtons[0]?.button.value)).t).toEqual([
      '--id',
      '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
    ]);
  });

  it("decides a renewal from its card once, reusing the button's action id as the decision id", async () => {
    const license = await pool().query<{ id: number }>(`SELECT id FROM licenses WHERE sku = 'SPE_E5'`);
    const terms = await setContract(
      { store: env.service.store, config: loadConfig({}), actor: operatorActor(), now: () => new Date() },
      {
        sku: 'SPE_E5',
        renewalDate: '2027-02-01',
        noticeDays: 31,
        unitPrice: '57',
        currency: 'EUR',
        billing: 'annual',
      },
    );
    expect(terms.ok).toBe(true);
    await notify(
      'card-decide',
      { channel: 'procurement' },
      {
        licenseId: license.rows[0]?.id,
        product: 'Microsoft 365 E5',
        sku: 'SPE_E5',
        renewalDate: '2027-02-01',
        cancelBy: '2027-01-01',
        quantity: 10,
        recommendedQuantity: 2,
      },
      'renewal-alert',
    );
    await env.service.jobs.enqueue(DELIVERY_JOB);
    const post = await env.fake.waitFor('chat.postMessage', (c) =>
      String(c.args.text).startsWith('Microsoft 365 E5 renews'),
    );
    const blocks = post.args.blocks as CapturedBlock[];
    const escalate = buttonsIn(blocks).find((b) => (b.button.text as { text: string }).text === 'Escalate');
    if (!escalate) throw new Error('no Escalate button');
    const actionId = JSON.parse(String(escalate.button.value)).id as string;
    const click = interactionBody(
      blockActionsPayload({
        userId: USERS.admin.id,
        button: escalate.button,
        blockId: escalate.block_id,
        responseUrl: env.fake.responseUrl(),
        channelId: 'C0PROCURE',
        message: { ts: String(post.answer?.ts), text: String(post.args.text), blocks },
      }),
    );
    const form = 'application/x-www-form-urlencoded' as const;
    await Promise.all([
      postSigned(env.eventsUrl, SIGNING_SECRET, click, form),
      postSigned(env.eventsUrl, SIGNING_SECRET, click, form),
    ]);
    const update = await env.fake.waitFor('chat.update', (c) => c.args.ts === post.answer?.ts);
    expect(textOf(update.args.blocks)).toMatch(/Escalate\* by <@UADMIN>/);
    const decisions = await pool().query(
      'SELECT id, decision, requested_by FROM renewal_decisions WHERE license_id = $1',
      [license.rows[0]?.id],
    );
    expect(decisions.rows).toEqual([{ id: actionId, decision: 'escalate', requested_by: 'it@example.com' }]);
  });

  it('refreshes the Home tab of everyone who opened it after an import', async () => {
    await pool().query(
      `INSERT INTO chat_addresses (platform, key, address) VALUES ('slack', 'home:UHELP', '{}') ON CONFLICT DO NOTHING`,
    );
    await deliveriesDone();
    const before = env.fake.callsOf('views.publish').length;
    await runImport(
      env.service.store,
      fixtureConnector('refresh', {
        subscriptions: [subscription({ key: 'zoom', sku: 'ZOOM_PRO', name: 'Zoom Pro' })],
        accounts: [],
      }),
      { trigger: 'test', minEntitlementDays: 90 },
    );
    await env.service.jobs.enqueue(DELIVERY_JOB);
    const published = await env.fake.waitFor(
      'views.publish',
      (c) => c.args.user_id === USERS.helpdesk.id && env.fake.callsOf('views.publish').indexOf(c) >= before,
    );
    expect(textOf((published.args.view as { blocks: unknown }).blocks)).toContain('Zoom Pro');
    // Once per import: the next run publishes nothing new.
    await deliveriesDone();
    const after = env.fake.callsOf('views.publish').length;
    await env.service.jobs.enqueue(DELIVERY_JOB);
    await deliveriesDone();
    expect(env.fake.callsOf('views.publish').length).toBe(after);
  });

  it('schedules the weekly digest for Monday 09:00 and posts it once per week to the digest channel', async () => {
    const job = await pool().query<{ repeat_interval: string; next_run_at: Date }>(
      `SELECT repeat_interval, next_run_at FROM agenda_jobs WHERE name = $1 AND type = 'single'`,
      [DIGEST_JOB],
    );
    expect(job.rows).toHaveLength(1);
    expect(job.rows[0]?.repeat_interval).toBe('0 9 * * 1');
    const next = job.rows[0]?.next_run_at as Date;
    // The process runs in TZ; the digest is due on a Monday at 09:00 local time.
    expect([next.getDay(), next.getHours(), next.getMinutes()]).toEqual([1, 9, 0]);

    await env.service.jobs.enqueue(DIGEST_JOB);
    await env.service.jobs.enqueue(DIGEST_JOB);
    await until(async () => {
      const runs = await pool().query(
        `SELECT count(*)::int AS n FROM agenda_jobs WHERE name = $1 AND type = 'normal' AND last_finished_at IS NOT NULL`,
        [DIGEST_JOB],
      );
      return runs.rows[0].n === 2;
    });
    const digests = env.fake.callsOf('chat.postMessage').filter((c) => c.args.channel === 'C0DIGEST');
    expect(digests).toHaveLength(1);
    const digest = digests[0]?.args as { text: string; blocks: CapturedBlock[] };
    expectWithinLimits(digest);
    const week = mondayOf(new Date(), slackSettingsFromConfig(env.config).timeZone);
    expect(digest.blocks[0]).toMatchObject({
      type: 'header',
      text: { text: `Weekly license digest · week of ${week}` },
    });
    const text = textOf(digest.blocks);
    expect(text).toMatch(/\*Savings found:\* \*[\d,]+ EUR\* per year in \d+ open findings/);
    expect(text).toContain('*Top idle apps*');
    expect(text).toContain('*Figma Professional* `FIGMA_PRO` — 10 idle seats · 1,800 EUR/year');
    expect(text).toMatch(/\*Renewals in the next 90 days:\* \d+/);
    expect(text).toContain('• *Figma Professional* `FIGMA_PRO` renews');
    expect(text).toContain('*New unmatched accounts this week:* 1');
    expect(text).toContain('ghost@agency.example');
    expect(buttonsIn(digest.blocks).map((b) => (b.button.text as { text: string }).text)).toEqual(
      expect.arrayContaining(['Idle findings', 'Review renewals', 'Open clearing']),
    );
    const rows = await pool().query(`SELECT dedupe_key FROM notifications WHERE kind = 'digest'`);
    expect(rows.rows).toEqual([{ dedupe_key: `digest:slack:C0DIGEST:${week}` }]);
  });

  async function personId(email: string): Promise<number> {
    const found = await pool().query<{ id: number }>('SELECT id FROM persons WHERE primary_email = $1', [
      email,
    ]);
    return found.rows[0]?.id as number;
  }
});
