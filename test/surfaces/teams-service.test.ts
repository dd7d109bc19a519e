import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BotConnectorFake,
  cardOf,
  cardText,
  conversation,
  messageActivity,
} from '../fakes/bot-connector-fake.ts';
import { ANA, APP_ID, forgedToken, TENANT } from '../support/bot-framework.ts';
import { type RunningService, startServiceProcess } from '../support/processes.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

/** These tests are about the configured service, never the demo `start` runs when nothing is configured. */
const NO_DEMO = { SEATKEEPER_DEMO: '0' };

describe('the Teams endpoint in the service process', () => {
  let db: TestDatabase;
  let connector: BotConnectorFake;
  let service: RunningService | undefined;

  beforeEach(async () => {
    db = await createTestDatabase();
    connector = await new BotConnectorFake().start();
    connector.members.set(ANA.id, ANA);
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
    await connector.stop();
    await db.drop();
  });

  const post = (body: object, headers: Record<string, string> = {}) =>
    fetch(`${service?.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('answers without authentication when no app id is set outside production', async () => {
    service = await startServiceProcess({
      ...NO_DEMO,
      ...db.env,
      NODE_ENV: 'development',
      SEATKEEPER_ADMINS: ANA.email,
    });
    expect(service.lines.join('\n')).toContain('/api/messages enabled WITHOUT authentication');
    const chat = conversation('personal', 'a:ana-personal');
    const response = await post(messageActivity(connector, ANA, chat, 'seats'));
    expect(response.status).toBe(200);
    const reply = await connector.waitFor((c) => c.kind === 'reply' && c.conversationId === chat.id);
    const card = cardText(cardOf(reply.body));
    expect(card).toContain('Seats per license');
    expect(card).toContain('No licenses yet: run an import first.');
    expect(reply.authorization).toBeUndefined();
  });

  it('schedules the weekly digest for the digest channels at TEAMS_DIGEST_CRON', async () => {
    service = await startServiceProcess({
      ...NO_DEMO,
      ...db.env,
      NODE_ENV: 'development',
      TEAMS_CHANNELS: 'it=19:it-alerts@thread.tacv2,digest=19:weekly-digest@thread.tacv2',
      TEAMS_DIGEST_CRON: '30 8 * * 1',
    });
    expect(service.lines.join('\n')).toContain("digest at '30 8 * * 1'");
    const store = await db.open();
    try {
      const job = await store.pool.query(
        `SELECT repeat_interval FROM agenda_jobs WHERE name = 'teams:weekly-digest' AND type = 'single'`,
      );
      expect(job.rows).toEqual([{ repeat_interval: '30 8 * * 1' }]);
    } finally {
      await store.close();
    }
  });

  it('sends no digest when no channel is named digest', async () => {
    service = await startServiceProcess({
      ...NO_DEMO,
      ...db.env,
      NODE_ENV: 'development',
      TEAMS_CHANNELS: 'it=19:it-alerts@thread.tacv2',
    });
    expect(service.lines.join('\n')).toContain('no digest (name a channel digest in TEAMS_CHANNELS)');
  });

  it('refuses requests without a valid token when an app id is set, and sends nothing', async () => {
    service = await startServiceProcess({
      ...NO_DEMO,
      ...db.env,
      NODE_ENV: 'production',
      MICROSOFT_APP_ID: APP_ID,
      MICROSOFT_APP_PASSWORD: 'not-a-real-secret',
      MICROSOFT_APP_TENANT_ID: TENANT,
    });
    const log = service.lines.join('\n');
    expect(log).toContain('/api/messages enabled (single-tenant)');
    expect(log).not.toContain('not-a-real-secret');
    const activity = messageActivity(connector, ANA, conversation('personal', 'a:ana-personal'), 'seats');
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer not.a.jwt' },
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
      // Signed by a key of our own: for another bot, and for this one (no Microsoft key matches its signature;
      // offline the key lookup fails, online it finds no such key: 401 either way).
      { authorization: `Bearer ${forgedToken('00000000-0000-0000-0000-000000000000')}` },
      { authorization: `Bearer ${forgedToken(APP_ID)}` },
    ];
    for (const headers of attempts) {
      const response = await post(activity, headers);
      expect(response.status, JSON.stringify(headers)).toBe(401);
    }
    expect(connector.calls).toEqual([]);
  });

  it('refuses to start in production with Teams settings but no app id', async () => {
    const started = startServiceProcess({
      ...NO_DEMO,
      ...db.env,
      NODE_ENV: 'production',
      TEAMS_CHANNELS: 'it=19:it-alerts@thread.tacv2',
    });
    await expect(started).rejects.toThrow(
      /MICROSOFT_APP_ID is invalid: expected a value, because TEAMS_CHANNELS is set and production never runs \/api\/messages without authentication/,
    );
  });

  it('leaves Teams off in production when nothing of it is configured', async () => {
    service = await startServiceProcess({ ...NO_DEMO, ...db.env, NODE_ENV: 'production' });
    expect(service.lines.join('\n')).toContain('teams: not configured');
    const response = await post(messageActivity(connector, ANA, conversation('personal', 'a:x'), 'seats'));
    expect(response.status).toBe(404);
    expect(connector.calls).toEqual([]);
  });
});
