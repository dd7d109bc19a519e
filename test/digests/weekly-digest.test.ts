/**
 * The weekly digest in Teams: composed once per channel and week into the outbox, posted by the Teams surface to each
 * configured digest channel as the `digest` Adaptive Card (captured by the Bot Connector fake), once, also when the
 * job runs twice and two replicas send at the same time.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setContract } from '../../handlers/contracts.ts';
import { operatorActor } from '../../handlers/types.ts';
import { digestKey, mondayOf } from '../../src/digests/weekly-digest.ts';
import { TEAMS_DIGEST_JOB } from '../../src/surfaces/teams/teams-surface.ts';
import { ADELE, CHANNELS, type ChatHarness, startChatHarness } from '../alerts/chat-harness.ts';
import {
  actionInvoke,
  buttonsOf,
  cardOf,
  cardProblems,
  cardText,
  conversation,
} from '../fakes/bot-connector-fake.ts';
import { until } from '../surfaces/teams-harness.ts';

const eur = (amount: number) =>
  amount.toLocaleString('en', { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 });

describe('the weekly digest in Teams', () => {
  let h: ChatHarness;
  beforeAll(async () => {
    // Monday 2026-11-23, 09:00 in Berlin.
    h = await startChatHarness('2026-11-23T08:00:00Z');
    h.writeCsv({
      subscriptions: [
        'vendor,subscription_id,sku,name,purchased',
        'Figma,figma-org,FIGMA_ORG,Figma Organization,4',
      ],
      accounts: [
        'subscription_id,email,assigned_at,last_activity_at',
        'figma-org,adele@example.com,2026-01-05,2026-11-20',
        'figma-org,cy@example.com,2026-02-01,2026-05-04',
        'figma-org,dee@example.com,2026-02-01,2026-04-01',
        'figma-org,ghost@agency.example,2026-11-20,2026-11-21',
      ],
      persons: [
        'email,display_name',
        'adele@example.com,Adele Vance',
        'cy@example.com,Cy Young',
        'dee@example.com,Dee Dee',
      ],
    });
    await h.importCsv();
    const ctx = { store: h.store, config: h.config, actor: operatorActor(), now: h.clock.now };
    const contract = await setContract(ctx, {
      sku: 'FIGMA_ORG',
      unitPrice: '50',
      currency: 'EUR',
      billing: 'monthly',
      renewalDate: '2027-01-31',
      noticeDays: 30,
    });
    if (!contract.ok) throw new Error(contract.error.message);
    h.clock.advance(60_000);
    await h.importCsv();
    // Adele (it-manager) has a personal chat with the bot: Teams shows her the digest's actions.
    await h.greet(ADELE, 'a:adele-digest');
  }, 120_000);
  afterAll(async () => h?.stop());
  afterEach(() => {
    expect(h.connector.rejected.splice(0)).toEqual([]);
  });

  it('is scheduled for Monday 09:00 in the process time zone', async () => {
    const job = await h.store.pool.query<{ repeat_interval: string; next_run_at: Date }>(
      `SELECT repeat_interval, next_run_at FROM agenda_jobs WHERE name = $1 AND type = 'single'`,
      [TEAMS_DIGEST_JOB],
    );
    expect(job.rows).toHaveLength(1);
    expect(job.rows[0]?.repeat_interval).toBe('0 9 * * 1');
    const next = job.rows[0]?.next_run_at as Date;
    expect([next.getDay(), next.getHours(), next.getMinutes()]).toEqual([1, 9, 0]);
  });

  it('posts the digest once to each digest channel while the job runs twice and two replicas send', async () => {
    const other = await h.addReplica();
    await Promise.all([
      h.replica.teams.sendWeeklyDigest(),
      other.teams.sendWeeklyDigest(),
      h.replica.runner.enqueue(TEAMS_DIGEST_JOB),
      h.replica.runner.enqueue(TEAMS_DIGEST_JOB),
    ]);
    await until(async () => {
      const runs = await h.store.pool.query(
        `SELECT count(*)::int AS n FROM agenda_jobs WHERE name = $1 AND type = 'normal' AND last_finished_at IS NOT NULL`,
        [TEAMS_DIGEST_JOB],
      );
      return runs.rows[0].n === 2;
    });
    const week = mondayOf(h.clock.now(), 'Europe/Berlin');
    expect(week).toBe('2026-11-23');
    for (const channel of [CHANNELS.teamsDigest, CHANNELS.teamsDigestFinance]) {
      expect(h.connector.of('send', channel), channel).toHaveLength(1);
    }
    // The IT channel gets the imports' alerts, not the digest.
    const digests = (channel: string) =>
      h.connector
        .of('send', channel)
        .filter((c) => cardText(cardOf(c.body)).includes('Weekly license digest'));
    expect(digests(CHANNELS.teamsIt)).toEqual([]);
    expect(digests(CHANNELS.teamsProcurement)).toEqual([]);
    const rows = await h.store.pool.query(
      `SELECT dedupe_key FROM notifications WHERE kind = 'digest' AND sent_at IS NOT NULL ORDER BY dedupe_key`,
    );
    expect(rows.rows.map((r) => r.dedupe_key)).toEqual(
      [CHANNELS.teamsDigestFinance, CHANNELS.teamsDigest]
        .map((channel) => digestKey({ platform: 'teams', channel }, week))
        .sort(),
    );

    const [sent] = h.connector.of('send', CHANNELS.teamsDigest);
    const card = cardOf(sent?.body as Record<string, unknown>);
    expect(cardProblems(card)).toEqual([]);
    const text = cardText(card);
    expect(text).toContain(`Weekly license digest · week of ${week}`);
    // What the store says: open findings and their savings, idle seats, renewals and new unmatched accounts.
    const open = await h.store.pool.query<{ n: number; savings: string }>(
      `SELECT count(*)::int AS n, sum(savings) AS savings FROM findings WHERE status = 'open'`,
    );
    const findings = open.rows[0]?.n as number;
    expect(text).toContain(`${eur(Number(open.rows[0]?.savings))} per year in ${findings} open findings`);
    const idle = await h.store.pool.query<{ n: number; savings: string }>(
      `SELECT count(*)::int AS n, sum(savings) AS savings FROM findings WHERE status = 'open' AND kind = 'idle'`,
    );
    expect(idle.rows[0]?.n).toBe(2);
    expect(text).toContain('Figma Organization');
    expect(text).toContain('FIGMA_ORG · 2 idle seats');
    expect(text).toContain(`${eur(Number(idle.rows[0]?.savings))}/yr`);
    expect(text).toContain('Renewals in the next 90 days: 1');
    expect(text).toContain('renews 2027-01-31 · cancel by 2027-01-01');
    expect(text).toContain('New unmatched accounts: 1');
    expect(text).toContain('ghost@agency.example');
    expect(buttonsOf(card).map((b) => b.title)).toEqual(['Idle findings', 'Renewals', 'Clearing']);

    // Those allowed to act see their own version of the card, with Reclaim on the idle app.
    const refresh = card.refresh as {
      action: { verb: string; data: Record<string, unknown> };
      userIds: string[];
    };
    expect(refresh.userIds).toEqual([ADELE.id]);
    const own = await h.post(
      actionInvoke(
        h.connector,
        ADELE,
        conversation('channel', CHANNELS.teamsDigest),
        sent?.activityId as string,
        refresh.action,
        'automatic',
      ),
    );
    expect(own.status).toBe(200);
    const adeles = (own.body as { value: Record<string, unknown> }).value;
    expect(cardProblems(adeles)).toEqual([]);
    const reclaim = buttonsOf(adeles).find((b) => b.title === 'Reclaim 2 idle');
    expect(reclaim?.data).toMatchObject({ command: 'reclaim', args: { sku: 'FIGMA_ORG', 'all-idle': true } });

    // A week later: the next digest.
    h.clock.advance(7 * 86_400_000);
    await Promise.all([h.replica.teams.sendWeeklyDigest(), other.teams.sendWeeklyDigest()]);
    expect(h.connector.of('send', CHANNELS.teamsDigest)).toHaveLength(2);
    const next = cardText(cardOf(h.connector.of('send', CHANNELS.teamsDigest)[1]?.body ?? {}));
    expect(next).toContain('week of 2026-11-30');
  });
});
