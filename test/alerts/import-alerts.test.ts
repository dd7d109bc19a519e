/**
 * IT alerts after imports, end to end: CSV imports through `importSource` on a real database raise alerts into the
 * outbox; Slack delivery posts them to the Web API fake and the Teams surface to the Bot Connector fake, each once,
 * with buttons that name registry commands.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { raiseImportAlerts } from '../../src/alerts/import-alerts.ts';
import { TEAMS_NOTIFICATIONS_JOB } from '../../src/surfaces/teams/teams-surface.ts';
import {
  actionInvoke,
  buttonsOf,
  cardOf,
  cardProblems,
  cardText,
  conversation,
} from '../fakes/bot-connector-fake.ts';
import { buttonsIn, type CapturedBlock, expectWithinLimits, textOf } from '../fakes/slack-fake.ts';
import { ADELE, CHANNELS, type ChatHarness, startChatHarness } from './chat-harness.ts';

const PERSONS = ['email,display_name', 'adele@example.com,Adele Vance', 'bo@example.com,Bo Berg'];
const ACCOUNTS = [
  'subscription_id,email,assigned_at,last_activity_at',
  'figma-org,adele@example.com,2026-01-05,2026-11-19',
  'figma-org,bo@example.com,2026-01-05,2026-11-18',
];
const subscriptions = (purchased: number) => [
  'vendor,subscription_id,sku,name,purchased',
  `Figma,figma-org,FIGMA_ORG,Figma Organization,${purchased}`,
];
const IDLE_CY = 'figma-org,cy@example.com,2026-02-01,2026-05-04';
const DEE = 'figma-org,dee@example.com,2026-02-01,2026-04-01';

/** The one element of a list (failing when there are none or several). */
function only<T>(list: readonly T[]): T {
  expect(list).toHaveLength(1);
  return list[0] as T;
}

describe('IT alerts after imports', () => {
  let h: ChatHarness;
  beforeAll(async () => {
    h = await startChatHarness();
    // A Figma seat costs 50 EUR a month (600 a year): above the default threshold of 500.
    h.writeCsv({
      subscriptions: subscriptions(3),
      accounts: ACCOUNTS,
      persons: [...PERSONS, 'cy@example.com,Cy Young'],
    });
    await h.importCsv();
    await h.price('FIGMA_ORG', 50);
    // Adele (it-manager) talks to the bot once: Teams then shows her the buttons of channel cards.
    await h.greet(ADELE, 'a:adele-personal');
  }, 120_000);
  afterAll(async () => h?.stop());
  afterEach(() => {
    expect(h.connector.rejected.splice(0)).toEqual([]);
  });

  const slackAlerts = (title: string) =>
    h.slack
      .callsOf('chat.postMessage')
      .filter((c) => c.args.channel === CHANNELS.slackAlerts && String(c.args.text).includes(title));
  const teamsAlerts = (title: string) =>
    h.connector.of('send', CHANNELS.teamsIt).filter((c) => cardText(cardOf(c.body)).includes(title));
  const deliverBoth = async () => {
    await h.deliverSlack();
    await h.replica.teams.deliverNotifications();
  };

  /** Imports the Figma plan with `purchased` seats and these accounts an hour on, and delivers what that raised. */
  const importAndDeliver = async (purchased: number, accounts: string[]) => {
    h.writeCsv({ subscriptions: subscriptions(purchased), accounts, persons: [] });
    h.clock.advance(3_600_000);
    await h.importCsv();
    await deliverBoth();
  };

  it('alerts a new idle finding above the threshold once in Slack and once in Teams, with its buttons', async () => {
    await importAndDeliver(3, [...ACCOUNTS, IDLE_CY]);

    const title = 'New idle finding: Figma Organization — saves 600 EUR/year';
    const slack = only(slackAlerts(title));
    const message = slack.args as { text: string; blocks: CapturedBlock[] };
    expectWithinLimits(message);
    const text = textOf(message.blocks);
    expect(text).toContain('cy@example.com has not used Figma Organization since 2026-05-04');
    expect(buttonsIn(message.blocks).map((b) => (b.button.text as { text: string }).text)).toEqual([
      'Reclaim',
      'Ask holder',
      'Keep…',
      'Snooze…',
      'Idle findings',
    ]);

    const teams = only(teamsAlerts(title));
    const card = cardOf(teams.body as Record<string, unknown>);
    expect(cardProblems(card)).toEqual([]);
    expect(cardText(card)).toContain('cy@example.com');
    // Everyone in the channel sees the list button; those allowed to act get their own version with the actions.
    expect(buttonsOf(card).map((b) => b.title)).toContain('Idle findings');
    const refresh = card.refresh as {
      action: { verb: string; data: Record<string, unknown> };
      userIds: string[];
    };
    expect(refresh.userIds).toEqual([ADELE.id]);
    const channel = conversation('channel', CHANNELS.teamsIt);
    const own = await h.post(
      actionInvoke(h.connector, ADELE, channel, teams.activityId as string, refresh.action, 'automatic'),
    );
    expect(own.status).toBe(200);
    const adeles = (own.body as { value: Record<string, unknown> }).value;
    expect(cardProblems(adeles)).toEqual([]);
    const reclaim = buttonsOf(adeles).find((b) => b.title === 'Reclaim');
    expect(reclaim?.data).toMatchObject({
      command: 'reclaim',
      args: { email: 'cy@example.com', sku: 'FIGMA_ORG' },
    });
    expect(buttonsOf(adeles).map((b) => b.title)).toEqual(expect.arrayContaining(['Keep', 'Snooze']));

    // The same findings on the next import: nothing new.
    const posts = h.slack.callsOf('chat.postMessage').length;
    const sends = h.connector.of('send').length;
    h.clock.advance(3_600_000);
    await h.importCsv();
    await deliverBoth();
    expect(h.slack.callsOf('chat.postMessage')).toHaveLength(posts);
    expect(h.connector.of('send')).toHaveLength(sends);
    const rows = await h.store.pool.query(
      `SELECT dedupe_key FROM notifications WHERE kind = 'finding-alert' ORDER BY dedupe_key`,
    );
    expect(rows.rows.map((r) => r.dedupe_key.replace(/:\d+:/, ':<id>:'))).toEqual([
      `finding-alert:<id>:slack:${CHANNELS.slackAlerts}`,
      `finding-alert:<id>:teams:${CHANNELS.teamsIt}`,
    ]);
  });

  it('does not alert a finding below the threshold', async () => {
    await h.price('FIGMA_ORG', 30);
    await importAndDeliver(4, [...ACCOUNTS, IDLE_CY, DEE]);
    const idle = await h.store.pool.query(
      `SELECT count(*)::int AS n FROM findings f JOIN cloud_subscribers s ON s.id = f.subscriber_id
       WHERE f.kind = 'idle' AND f.status = 'open' AND s.email = 'dee@example.com'`,
    );
    expect(idle.rows[0]?.n).toBe(1);
    expect(slackAlerts('dee@example.com')).toEqual([]);
    expect(teamsAlerts('dee@example.com')).toEqual([]);
    await h.price('FIGMA_ORG', 50);
  });

  it('alerts a new overage with a button that reclaims the idle seats', async () => {
    await importAndDeliver(2, [...ACCOUNTS, IDLE_CY, DEE]);
    const title = 'Overage: Figma Organization uses 2 seats more than bought';
    const slack = only(slackAlerts(title));
    const blocks = (slack.args as { blocks: CapturedBlock[] }).blocks;
    expect(textOf(blocks)).toContain(
      '4 seats are in use and 2 bought: a true-up of about 1,200 EUR per year',
    );
    const reclaim = buttonsIn(blocks).find(
      (b) => (b.button.text as { text: string }).text === 'Reclaim 2 idle',
    );
    expect(reclaim).toBeDefined();
    expect(String(reclaim?.button.value)).toContain('--all-idle');

    const teams = only(teamsAlerts(title));
    const card = cardOf(teams.body as Record<string, unknown>);
    expect(cardText(card)).toContain('True-up per year');
    expect(buttonsOf(card).map((b) => b.title)).toEqual(expect.arrayContaining(['Seats', 'Idle findings']));
  });

  it('alerts a failed import with the reason it recorded, once per failure streak', async () => {
    h.writeCsv({
      subscriptions: subscriptions(4),
      accounts: [...ACCOUNTS, 'figma-org,not-an-address,2026-02-01,2026-04-01'],
      persons: [],
    });
    h.clock.advance(3_600_000);
    await expect(h.importCsv()).rejects.toThrow(/accounts\.csv row 4/);
    const run = await h.store.pool.query<{ error: string }>(
      `SELECT error FROM import_runs WHERE outcome = 'failed' ORDER BY id DESC LIMIT 1`,
    );
    const reason = run.rows[0]?.error as string;
    expect(reason).toContain('accounts.csv row 4');
    await deliverBoth();

    const slack = only(slackAlerts('Import of csv failed'));
    const blocks = (slack.args as { blocks: CapturedBlock[] }).blocks;
    expect(textOf(blocks)).toContain('row 4');
    expect(buttonsIn(blocks).map((b) => (b.button.text as { text: string }).text)).toEqual([
      'Seats',
      'Findings',
    ]);
    const teams = only(teamsAlerts('Import of csv failed'));
    expect(cardText(cardOf(teams.body as Record<string, unknown>))).toContain('row 4');

    // Failing again for the same reason is the same news.
    h.clock.advance(3_600_000);
    await expect(h.importCsv()).rejects.toThrow(/accounts\.csv row 4/);
    await deliverBoth();
    expect(slackAlerts('Import of csv failed')).toHaveLength(1);
    expect(teamsAlerts('Import of csv failed')).toHaveLength(1);

    // An import refused because another replica is importing the same connector is no failure of the connector.
    h.writeCsv({ subscriptions: subscriptions(4), accounts: [...ACCOUNTS, IDLE_CY, DEE], persons: [] });
    h.clock.advance(3_600_000);
    const busy = await h.store.pool.query<{ id: number }>(
      `INSERT INTO import_runs (source, trigger, started_at) VALUES ('csv', 'schedule', $1) RETURNING id`,
      [new Date(h.clock.now().getTime() - 60_000)],
    );
    await h.store.pool.query(
      `INSERT INTO import_leases (source, run_id, expires_at, holder) VALUES ('csv', $1, $2, 'other-host:4242')`,
      [busy.rows[0]?.id, new Date(h.clock.now().getTime() + 3_600_000)],
    );
    await expect(h.importCsv()).rejects.toThrow(/already running/);
    await deliverBoth();
    expect(slackAlerts('Import of csv failed')).toHaveLength(1);
    expect(teamsAlerts('Import of csv failed')).toHaveLength(1);
    await h.store.pool.query(`DELETE FROM import_leases WHERE source = 'csv'`);
    await h.store.pool.query(`UPDATE import_runs SET outcome = 'succeeded', finished_at = $2 WHERE id = $1`, [
      busy.rows[0]?.id,
      h.clock.now(),
    ]);
  });

  it('raises each alert once while two producers race, and tells a flood of findings in one summary', async () => {
    // Twelve more idle seats arrive at once; two replicas raise alerts for them at the same time.
    const idle = Array.from(
      { length: 12 },
      (_, i) => `figma-org,idle${i + 10}@example.com,2026-02-01,2026-04-01`,
    );
    h.writeCsv({
      subscriptions: subscriptions(16),
      accounts: [...ACCOUNTS, IDLE_CY, DEE, ...idle],
      persons: [],
    });
    h.clock.advance(3_600_000);
    const other = await h.addReplica();
    // The import itself raises alerts too: three producers in all, two of them concurrent.
    await Promise.all([
      h.importCsv(),
      raiseImportAlerts(other.store, h.config, { now: h.clock.now() }),
      raiseImportAlerts(h.store, h.config, { now: h.clock.now() }),
    ]);
    await Promise.all([
      raiseImportAlerts(other.store, h.config, { now: h.clock.now() }),
      raiseImportAlerts(h.store, h.config, { now: h.clock.now() }),
    ]);
    const perFinding = await h.store.pool.query<{ finding: string; n: number }>(
      `SELECT split_part(dedupe_key, ':', 2) AS finding, count(*)::int AS n FROM notifications
       WHERE dedupe_key LIKE 'finding-alert:%' GROUP BY 1`,
    );
    // Cy's earlier alert plus one row per new idle seat and channel (those of the summary marked told).
    const idleSeats = await h.store.pool.query(
      `SELECT count(*)::int AS n FROM findings WHERE kind = 'idle' AND status = 'open' AND savings >= 500`,
    );
    expect(perFinding.rows).toHaveLength(idleSeats.rows[0]?.n);
    expect(perFinding.rows.every((r) => r.n === 2)).toBe(true);

    // Delivered by both replicas at once: ten single alerts and one summary of the other two, per channel.
    const slackBefore = h.slack.callsOf('chat.postMessage').length;
    const teamsBefore = h.connector.of('send', CHANNELS.teamsIt).length;
    await Promise.all([
      h.deliverSlack(),
      h.deliverSlack(other.store),
      h.replica.teams.deliverNotifications(),
      other.teams.deliverNotifications(),
      h.replica.runner.enqueue(TEAMS_NOTIFICATIONS_JOB),
    ]);
    await h.deliverSlack();
    await h.replica.teams.deliverNotifications();
    const slackNew = h.slack.callsOf('chat.postMessage').slice(slackBefore);
    await h.connector.waitFor(() => h.connector.of('send', CHANNELS.teamsIt).length - teamsBefore >= 11);
    const teamsNew = h.connector.of('send', CHANNELS.teamsIt).slice(teamsBefore);
    expect(slackNew.map((c) => c.args.channel)).toEqual(Array(11).fill(CHANNELS.slackAlerts));
    expect(teamsNew).toHaveLength(11);
    const summary = only(slackNew.filter((c) => String(c.args.text).startsWith('2 more new findings')));
    const summaryBlocks = (summary.args as { blocks: CapturedBlock[] }).blocks;
    expectWithinLimits({ blocks: summaryBlocks });
    expect(
      buttonsIn(summaryBlocks).filter((b) => (b.button.text as { text: string }).text === 'Reclaim'),
    ).toHaveLength(2);
    expect(teamsNew.filter((c) => cardText(cardOf(c.body)).includes('2 more new findings'))).toHaveLength(1);
    const unsent =
      await h.store.pool.query(`SELECT count(*)::int AS n FROM notifications WHERE sent_at IS NULL
      AND target->>'platform' IS NOT NULL AND kind <> 'digest'`);
    expect(unsent.rows[0]?.n).toBe(0);
  });
});
