import { createHash } from 'node:crypto';
import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandSpec } from '../../handlers/registry.ts';
import { executeCommand, findCommand } from '../../handlers/registry.ts';
import { resolveActor } from '../../src/auth/actors.ts';
import { issueSignInLink, SIGN_IN_LINK_MINUTES } from '../../src/web/web-auth.ts';
import { runCliInProcess } from '../support/cli.ts';
import {
  ADMIN,
  ADMIN_TOKEN,
  APP_ID,
  type DashboardEnv,
  HELPDESK,
  MEMBER,
  sessionCookie,
  startDashboardService,
} from './dashboard-fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field by the assertions
type Json = any;

describe('web sign-in', () => {
  let env: DashboardEnv;
  beforeAll(async () => {
    env = await startDashboardService();
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${env.url}${path}`, { headers, redirect: 'manual' });
  const me = async (headers: Record<string, string>) => {
    const res = await get('/dashboard/api/me', headers);
    return { status: res.status, body: (await res.json()) as Json };
  };

  it('answers 401 without a sign-in: the sign-in page for pages, JSON for the API', async () => {
    const page = await get('/dashboard', { accept: 'text/html' });
    expect(page.status).toBe(401);
    const html = await page.text();
    expect(html).toContain('<h1>Sign in to Seatkeeper</h1>');
    expect(html).toContain('/license dashboard');
    expect(html).toContain('name="token"');
    const api = await get('/dashboard/api/summary');
    expect(api.status).toBe(401);
    expect(await api.json()).toEqual({
      error: { code: 'NOT_AUTHENTICATED', message: 'Sign in to see this page.' },
    });
    expect((await get('/dashboard/api/inventory/licenses')).status).toBe(401);
    expect((await get('/dashboard/api/inventory/subscribers.csv')).status).toBe(401);
  });

  it('signs in once with a link from the bot, and refuses the same link a second time', async () => {
    const spec = findCommand('dashboard') as CommandSpec;
    const actor = await resolveActor(
      env.store,
      new Map([[HELPDESK, ['helpdesk']]]),
      { email: HELPDESK },
      'slack',
    );
    const result = await executeCommand(
      { store: env.store, config: env.config, actor, now: () => new Date() },
      spec,
      {},
    );
    if (!result.ok) throw new Error(result.error.message);
    const link = (result.value.rows[0] as { link: string }).link;
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/auth\/link\?token=[\w-]{43}$/);
    const token = new URL(link).searchParams.get('token') as string;

    // Only the token's hash is stored.
    const stored = await env.store.pool.query(
      `SELECT token_hash, claim::text AS claim FROM web_sign_in_links`,
    );
    expect(stored.rows.some((r) => r.token_hash === createHash('sha256').update(token).digest('hex'))).toBe(
      true,
    );
    expect(JSON.stringify(stored.rows)).not.toContain(token);

    const first = await get(`/auth/link?token=${token}`);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/dashboard');
    const setCookie = first.headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(
      /seatkeeper_session=[\w-]+; Max-Age=28800; Path=\/; Expires=.*; HttpOnly; SameSite=Lax/,
    );
    const cookie = sessionCookie(first);
    expect(await me({ cookie })).toEqual({
      status: 200,
      body: { id: HELPDESK, displayName: 'help', email: HELPDESK, roles: ['helpdesk', 'member'] },
    });
    const sessions = await env.store.pool.query(`SELECT token_hash FROM web_sessions`);
    const cookieToken = cookie.split('=')[1] as string;
    expect(sessions.rows.map((r) => r.token_hash)).toContain(
      createHash('sha256').update(cookieToken).digest('hex'),
    );

    const again = await get(`/auth/link?token=${token}`);
    expect(again.status).toBe(401);
    expect(await again.text()).toContain('This sign-in link has already been used.');
    expect(again.headers.getSetCookie()).toEqual([]);

    const audit = await env.store.pool.query(
      `SELECT actor, surface, target FROM audit_log WHERE action = 'sign-in' ORDER BY id`,
    );
    expect(audit.rows).toContainEqual({ actor: HELPDESK, surface: 'web', target: 'link' });
  });

  it('prints a sign-in link on the CLI; the local operator signs in as admin', async () => {
    const run = await runCliInProcess(['dashboard', '--json'], {
      ...env.db.env,
      SEATKEEPER_PUBLIC_URL: 'https://licenses.example.com/',
    });
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const [row] = JSON.parse(run.out);
    expect(row.link).toMatch(/^https:\/\/licenses\.example\.com\/auth\/link\?token=[\w-]{43}$/);
    const opened = await get(row.link.replace('https://licenses.example.com', ''));
    expect(opened.status).toBe(303);
    // The service itself is reached over http here, so its cookie cannot be Secure.
    expect(opened.headers.getSetCookie()[0]).toMatch(/; HttpOnly; SameSite=Lax$/);
    expect(await me({ cookie: sessionCookie(opened) })).toMatchObject({
      status: 200,
      body: { id: 'operator', roles: ['admin'] },
    });
  });

  it('lands where the link says, on this service only, and lets only Teams frame the pages', async () => {
    const toConsole = await issueSignInLink(env.store, env.config, ADMIN);
    const landed = await get(`${toConsole.replace(/^http:\/\/[^/]+/, '')}&next=/console`);
    expect(landed.headers.get('location')).toBe('/console');
    const offsite = await issueSignInLink(env.store, env.config, ADMIN);
    const kept = await get(`${offsite.replace(/^http:\/\/[^/]+/, '')}&next=//evil.example/x`);
    expect(kept.headers.get('location')).toBe('/dashboard');

    const page = await get('/dashboard', { cookie: sessionCookie(kept) });
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'self' https://teams.microsoft.com");
    expect(await page.text()).not.toMatch(/<script>/);
  });

  it('lets only one of two simultaneous openings of a link sign in', async () => {
    const link = await issueSignInLink(env.store, env.config, ADMIN);
    const path = link.replace(/^http:\/\/[^/]+/, '');
    const answers = await Promise.all([get(path), get(path), get(path)]);
    expect(answers.map((a) => a.status).sort()).toEqual([303, 401, 401]);
  });

  it('refuses an expired link and an unknown one', async () => {
    const issuedAt = new Date(Date.now() - (SIGN_IN_LINK_MINUTES + 1) * 60_000);
    const link = await issueSignInLink(env.store, env.config, ADMIN, issuedAt);
    const expired = await get(link.replace(/^http:\/\/[^/]+/, ''));
    expect(expired.status).toBe(401);
    expect(await expired.text()).toContain(
      `This sign-in link has expired (links last ${SIGN_IN_LINK_MINUTES} minutes).`,
    );
    const unknown = await get('/auth/link?token=not-a-token-we-made');
    expect(unknown.status).toBe(401);
    expect(await unknown.text()).toContain('This sign-in link is not valid.');
  });

  it('does not give a link to someone without the helpdesk role, and audits the refusal', async () => {
    const spec = findCommand('dashboard') as CommandSpec;
    const actor = await resolveActor(env.store, new Map(), { email: MEMBER }, 'teams');
    const result = await executeCommand(
      { store: env.store, config: env.config, actor, now: () => new Date() },
      spec,
      {},
    );
    expect(result).toEqual({
      ok: false,
      error: {
        code: 'NOT_AUTHORIZED',
        message: "'dashboard' needs the helpdesk role, which you do not have.",
      },
    });
    const denied = await env.store.pool.query(
      `SELECT actor, surface FROM audit_log WHERE action = 'denied' AND target = 'dashboard' AND actor = $1`,
      [MEMBER],
    );
    expect(denied.rows).toEqual([{ actor: MEMBER, surface: 'teams' }]);
  });

  it('accepts the admin token as a bearer token and through the sign-in form, and nothing else', async () => {
    expect(await me({ authorization: `Bearer ${ADMIN_TOKEN}` })).toMatchObject({
      status: 200,
      body: { id: 'dashboard-token', roles: ['admin'] },
    });
    expect((await me({ authorization: `Bearer ${ADMIN_TOKEN}x` })).status).toBe(401);

    const wrong = await fetch(`${env.url}/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({ token: 'not-the-token-at-all-xxxxx' }),
      redirect: 'manual',
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That token is not the dashboard token.');

    const form = await fetch(`${env.url}/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({ token: ADMIN_TOKEN, next: '/dashboard' }),
      redirect: 'manual',
    });
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toBe('/dashboard');
    expect(await me({ cookie: sessionCookie(form) })).toMatchObject({
      status: 200,
      body: { roles: ['admin'] },
    });

    // The landing page after sign-in is a path on this service, never another site.
    const offsite = await fetch(`${env.url}/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({ token: ADMIN_TOKEN, next: '//evil.example/x' }),
      redirect: 'manual',
    });
    expect(offsite.headers.get('location')).toBe('/dashboard');
  });

  it('accepts a Teams SSO token signed by the published keys, with roles from the role configuration', async () => {
    const token = await env.jwks.token({
      preferred_username: ADMIN,
      oid: 'aaaaaaaa-0000-0000-0000-000000000001',
      name: 'IT',
    });
    expect(await me({ authorization: `Bearer ${token}` })).toMatchObject({
      status: 200,
      body: { id: ADMIN, roles: ['admin', 'member'] },
    });
    // The bare app id is an accepted audience too.
    const plain = await env.jwks.token({ preferred_username: HELPDESK }, { audience: APP_ID });
    expect(await me({ authorization: `Bearer ${plain}` })).toMatchObject({
      status: 200,
      body: { id: HELPDESK, roles: ['helpdesk', 'member'] },
    });

    const exchanged = await fetch(`${env.url}/auth/teams-sso`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(exchanged.status).toBe(200);
    expect(await exchanged.json()).toMatchObject({
      ok: true,
      actor: { id: ADMIN, roles: ['admin', 'member'] },
    });
    expect(await me({ cookie: sessionCookie(exchanged) })).toMatchObject({
      status: 200,
      body: { id: ADMIN },
    });
  });

  it('serves the Teams JavaScript client the tab signs in with', async () => {
    const answer = await fetch(`${env.url}/auth/teams.js`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/javascript/);
    const script = await answer.text();
    expect(script).toContain('getAuthToken');
    expect(script.length).toBeGreaterThan(50_000);
  });

  it('refuses Teams tokens for another audience, expired, from another tenant or signed by another key', async () => {
    const refused = async (token: string, why: RegExp) => {
      const answer = await fetch(`${env.url}/auth/teams-sso`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      });
      expect(answer.status).toBe(401);
      const body = (await answer.json()) as Json;
      expect(body.error.message).toMatch(why);
      expect(answer.headers.getSetCookie()).toEqual([]);
      expect((await me({ authorization: `Bearer ${token}` })).status).toBe(401);
    };
    const who = { preferred_username: ADMIN };
    await refused(
      await env.jwks.token(who, {
        audience: 'api://seatkeeper.example.com/00000000-0000-0000-0000-000000000000',
      }),
      /another application/,
    );
    await refused(
      await env.jwks.token(who, { expiresInSeconds: -600 }),
      /"exp" claim timestamp check failed/,
    );
    await refused(
      await env.jwks.token(who, { tenant: '12345678-1234-1234-1234-123456789012' }),
      /another tenant/,
    );
    const forger = await generateKeyPair('RS256');
    await refused(await env.jwks.token(who, { key: forger.privateKey }), /signature verification failed/);
  });

  it('refuses a change requested from another site with the session cookie', async () => {
    const link = await issueSignInLink(env.store, env.config, ADMIN);
    const cookie = sessionCookie(await get(link.replace(/^http:\/\/[^/]+/, '')));
    const post = (origin: string) =>
      fetch(`${env.url}/console/api/command`, {
        method: 'POST',
        headers: { cookie, origin, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'help' }),
      });
    const foreign = await post('https://evil.example');
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toEqual({
      error: { code: 'NOT_AUTHORIZED', message: 'Refused: the request comes from another site.' },
    });
    const own = await post(env.url);
    expect(own.status).not.toBe(403);
    expect(own.status).not.toBe(401);
  });

  it('ends the session at sign-out, and when it expires', async () => {
    const open = async () => {
      const link = await issueSignInLink(env.store, env.config, ADMIN);
      return sessionCookie(await get(link.replace(/^http:\/\/[^/]+/, '')));
    };
    const cookie = await open();
    expect((await me({ cookie })).status).toBe(200);
    const out = await fetch(`${env.url}/auth/sign-out`, {
      method: 'POST',
      headers: { cookie, accept: 'application/json' },
    });
    expect(out.status).toBe(200);
    expect(await me({ cookie })).toEqual({
      status: 401,
      body: { error: { code: 'NOT_AUTHENTICATED', message: 'Your session has ended. Sign in again.' } },
    });

    const second = await open();
    const hash = createHash('sha256')
      .update(second.split('=')[1] as string)
      .digest('hex');
    await env.store.pool.query(
      `UPDATE web_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`,
      [hash],
    );
    expect((await me({ cookie: second })).status).toBe(401);
  });

  it('shows a member without a reading role that the dashboard needs one, and audits it', async () => {
    const link = await issueSignInLink(env.store, env.config, MEMBER);
    const cookie = sessionCookie(await get(link.replace(/^http:\/\/[^/]+/, '')));
    const page = await get('/dashboard', { cookie });
    expect(page.status).toBe(403);
    expect(await page.text()).toContain(
      '&#39;dashboard&#39; needs the helpdesk role, which you do not have.',
    );
    const api = await get('/dashboard/api/summary', { cookie });
    expect(api.status).toBe(403);
    expect(((await api.json()) as Json).error.code).toBe('NOT_AUTHORIZED');
    const denied = await env.store.pool.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'denied' AND surface = 'web' AND actor = $1`,
      [MEMBER],
    );
    expect(denied.rows[0].n).toBe(2);
  });
});
