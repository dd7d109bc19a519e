/**
 * Socket Mode: with an app-level token the service connects out to Slack over a WebSocket (no public URL), and the
 * same listeners answer. The fake Slack opens the connection through `apps.connections.open` and sends envelopes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APP_TOKEN,
  BOT_TOKEN,
  type CapturedBlock,
  eventBody,
  type SlackTestEnv,
  seedInventory,
  startSlackService,
  textOf,
  USERS,
} from '../fakes/slack-fake.ts';

describe('the Slack surface over Socket Mode', () => {
  let env: SlackTestEnv;

  beforeAll(async () => {
    env = await startSlackService({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN });
    await seedInventory(env.service.store);
    await env.fake.waitFor('socket.connect');
  }, 120_000);
  afterAll(async () => env?.stop());

  it('connects with the app-level token and serves no HTTP endpoint', async () => {
    const open = await env.fake.waitFor('apps.connections.open');
    expect(open.token).toBe(APP_TOKEN);
    expect(env.logLines.join('')).toContain('slack: enabled over Socket Mode');
    const response = await fetch(`${env.baseUrl}/slack/events`, { method: 'POST', body: 'x' });
    expect(response.status).toBe(404);
  });

  it('answers /license who-has through the response URL', async () => {
    const responseUrl = env.fake.responseUrl();
    const acked = await env.fake.sendEnvelope('slash_commands', {
      token: 'legacy',
      team_id: 'T0001',
      team_domain: 'fake',
      channel_id: 'C0CHANNEL',
      channel_name: 'licenses',
      user_id: USERS.helpdesk.id,
      user_name: 'hal',
      command: '/license',
      text: 'who-has visio',
      api_app_id: 'A0001',
      response_url: responseUrl,
      trigger_id: 'trigger.1',
    });
    expect(acked).toEqual({}); // acknowledged at once, with nothing to show yet
    const reply = await env.fake.waitFor(
      'respond',
      (c) => c.respondId === Number(responseUrl.split('/').pop()),
    );
    expect(reply.args.response_type).toBe('ephemeral');
    expect(textOf(reply.args.blocks)).toContain('ghost@agency.example');
  });

  it('gives the help in the acknowledgement and publishes the Home tab on app_home_opened', async () => {
    const help = (await env.fake.sendEnvelope('slash_commands', {
      command: '/license',
      text: 'help',
      user_id: USERS.member.id,
      channel_id: 'C0CHANNEL',
      response_url: env.fake.responseUrl(),
      trigger_id: 'trigger.2',
      team_id: 'T0001',
    })) as { blocks: CapturedBlock[] };
    expect(textOf(help.blocks)).toContain('Seatkeeper: /license commands');
    await env.fake.sendEnvelope(
      'events_api',
      JSON.parse(eventBody({ type: 'app_home_opened', user: USERS.admin.id, tab: 'home' })),
    );
    const published = await env.fake.waitFor('views.publish', (c) => c.args.user_id === USERS.admin.id);
    expect(textOf((published.args.view as { blocks: unknown }).blocks)).toContain('Utilization per app');
  });
});
