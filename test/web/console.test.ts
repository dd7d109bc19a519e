import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { type Demo, startDemo } from '../../src/demo/demo.ts';
import { createLogger } from '../../src/log.ts';
import { consoleText } from '../../src/web/console.ts';
import { issueSignInLink } from '../../src/web/web-auth.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const ACTION = /^\/v2\/usermanagement\/action\//;

describe('the console API', () => {
  let db: TestDatabase;
  let dir: string;
  let demo: Demo;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'sk-console-api-'));
    demo = await startDemo({
      config: loadConfig({ PORT: '0', LOG_LEVEL: 'silent', NODE_ENV: 'test', SEATKEEPER_DATA_DIR: dir }),
      log: createLogger('silent'),
      people: 60,
      dir: join(dir, 'demo'),
      databaseUrl: db.env.DATABASE_URL,
    });
  }, 120_000);
  afterAll(async () => {
    await demo?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A session cookie for `email`, through a one-time sign-in link. */
  async function signIn(email: string): Promise<string> {
    const link = await issueSignInLink(
      demo.service.store,
      { ...demo.config, PORT: demo.service.port },
      email,
    );
    const answer = await fetch(link, { redirect: 'manual' });
    expect(answer.status).toBe(303);
    return (answer.headers.get('set-cookie') ?? '').split(';')[0] as string;
  }

  async function post(cookie: string, path: string, body: unknown) {
    const answer = await fetch(`${demo.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify(body),
    });
    return { status: answer.status, json: (await answer.json()) as Record<string, unknown> };
  }

  it('reads a typed line with or without /license', () => {
    expect(consoleText('/license who-has figma')).toBe('who-has figma');
    expect(consoleText('  License   who-has\u00a0figma ')).toBe('who-has figma');
    expect(consoleText('who-has figma')).toBe('who-has figma');
    expect(consoleText('/license')).toBe('');
    expect(consoleText('licenses')).toBe('licenses');
  });

  it('answers an admin’s command with the Teams card and its buttons', async () => {
    const cookie = await signIn(demo.org.admin.email);
    const { status, json } = await post(cookie, '/console/api/command', { text: '/license who-has figma' });
    expect(status).toBe(200);
    const card = JSON.stringify(json.card);
    expect(card).toContain('"type":"AdaptiveCard"');
    expect(card).toContain('Figma Organization');
    // CSV seats cannot be removed at a vendor, but they can be kept.
    expect(card).toContain('"title":"Keep"');
  });

  it('refuses a person without a role, by the same role checks and audit as the other surfaces', async () => {
    const member = demo.org.people.find((p) => p !== demo.org.admin && !p.departed) as { email: string };
    const cookie = await signIn(member.email);
    const typed = await post(cookie, '/console/api/command', { text: 'who-has figma' });
    expect(JSON.stringify(typed.json.card)).toContain('helpdesk');

    // A button forged by hand is checked again when clicked: nothing reaches the vendor.
    const target = demo.vendors.adobe.data.users.find((u) => u.email.endsWith('@example.com'));
    const clicked = await post(cookie, '/console/api/action', {
      verb: 'run',
      data: {
        command: 'reclaim',
        args: { email: target?.email ?? '', sku: 'ADOBE_EXPRESS' },
        stage: 'confirmed',
        cardId: 'forged-card',
      },
    });
    expect(clicked.status).toBe(200);
    expect(JSON.stringify(clicked.json.value)).toContain("'reclaim' needs the it-manager role");
    expect(demo.vendors.adobe.calls(ACTION, 'POST')).toHaveLength(0);
    const denied = await demo.service.store.pool.query<{ target: string; surface: string }>(
      `SELECT target, surface FROM audit_log WHERE action = 'denied' AND actor = $1 ORDER BY id`,
      [member.email],
    );
    expect(denied.rows.map((r) => r.surface)).toEqual(['web', 'web']);
    expect(denied.rows.map((r) => r.target)).toEqual(['who-has', 'reclaim']);
  });

  it('reclaims a seat typed as a command once, even when the same request is sent twice', async () => {
    const cookie = await signIn(demo.org.admin.email);
    const seat = await demo.service.store.pool.query<{ email: string; sku: string }>(
      `SELECT s.email, l.sku FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
       WHERE l.sku = 'ADOBE_ACROBAT_PRO' AND s.email IS NOT NULL AND NOT s.group_inherited
       ORDER BY s.email LIMIT 1`,
    );
    const { email, sku } = seat.rows[0] as { email: string; sku: string };
    const before = demo.vendors.adobe.calls(ACTION, 'POST').length;
    // Without --yes the console shows the preview and changes nothing.
    const preview = await post(cookie, '/console/api/command', {
      text: `reclaim --email ${email} --sku ${sku}`,
    });
    expect(preview.status).toBe(200);
    expect(JSON.stringify(preview.json.card)).toContain(email);
    expect(demo.vendors.adobe.calls(ACTION, 'POST')).toHaveLength(before);

    const id = '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b';
    const line = `/license reclaim --email ${email} --sku ${sku} --yes --id ${id}`;
    const answers = await Promise.all([
      post(cookie, '/console/api/command', { text: line }),
      post(cookie, '/console/api/command', { text: line }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(demo.vendors.adobe.calls(ACTION, 'POST')).toHaveLength(before + 1);
    const audit = await demo.service.store.pool.query<{ surface: string }>(
      `SELECT surface FROM audit_log WHERE action = 'reclaim.requested' AND actor = $1`,
      [demo.org.admin.email],
    );
    expect(audit.rows.map((r) => r.surface)).toEqual(['web']);
  });

  it('answers bad requests with 400 and unsigned requests with 401', async () => {
    const cookie = await signIn(demo.org.admin.email);
    expect((await post(cookie, '/console/api/command', { words: 1 })).status).toBe(400);
    expect((await post(cookie, '/console/api/action', { data: {} })).status).toBe(400);
    const noData = await post(cookie, '/console/api/action', { verb: 'run', data: { stage: 'nonsense' } });
    expect(noData.status).toBe(400);
    expect((await post('', '/console/api/action', { verb: 'view', data: {} })).status).toBe(401);
  });
});
