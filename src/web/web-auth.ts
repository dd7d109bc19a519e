/**
 * Who may see the web pages (`/dashboard`, `/console`): nobody without signing in. Three ways in:
 *
 * 1. A one-time link the bot sends (`/license dashboard`): single use, short-lived, only its hash is stored.
 *    Opening it starts a session (HttpOnly cookie; the session row holds the cookie's hash and expires).
 * 2. The admin token from `SEATKEEPER_DASHBOARD_TOKEN`, as `Authorization: Bearer` or through the sign-in form.
 * 3. In the Teams tab, the tab's SSO token (a Microsoft Entra ID JWT), checked against the published signing keys,
 *    the app id as audience and the tenant's issuer; as `Authorization: Bearer` or exchanged for a session.
 *
 * Sessions keep who signed in, not their roles: roles are resolved on every request from the same role
 * configuration as the other surfaces, so taking a role away applies at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { type Actor, operatorActor } from '../../handlers/types.ts';
import { loadRoles, type RoleMap, resolveActor } from '../auth/actors.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { tokenMatches } from '../renewals/ics-route.ts';
import { appendAudit } from '../store/audit.ts';
import type { WebClaim } from '../store/schema.ts';
import type { Store } from '../store/store.ts';

export interface WebAuthDeps {
  store: Store;
  config: Config;
  log: Logger;
  now?: () => Date;
}

/** The session cookie's name. */
export const SESSION_COOKIE = 'seatkeeper_session';
/** How long a sign-in link can be used. */
export const SIGN_IN_LINK_MINUTES = 15;
/** How long a session lasts. */
export const SESSION_HOURS = 8;
/** Where a sign-in lands when it names no page. */
const DEFAULT_PAGE = '/dashboard';

/**
 * Content security policy of the web pages: scripts and styles from this service only, and framing only by this
 * service and the Teams clients (the dashboard is a Teams tab; nobody else may frame it to trick a click).
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  // The Teams client library (loaded only inside a Teams tab) reads its list of Teams hosts from Microsoft's CDN.
  "connect-src 'self' https://res.cdn.office.net",
  "frame-ancestors 'self' https://teams.microsoft.com https://*.teams.microsoft.com https://*.cloud.microsoft https://*.office.com",
  "form-action 'self'",
].join('; ');

const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
const newToken = () => randomBytes(32).toString('base64url');

/** The address people use to reach the service: `SEATKEEPER_PUBLIC_URL`, else `http://HOST:PORT`. */
export function publicBaseUrl(config: Pick<Config, 'SEATKEEPER_PUBLIC_URL' | 'HOST' | 'PORT'>): string {
  return config.SEATKEEPER_PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`;
}

/** The claim a sign-in link or session keeps for an actor (or a bare e-mail). */
export function claimOf(who: Actor | string): WebClaim {
  if (typeof who === 'string') return { email: who.trim().toLowerCase() };
  if (who.id === 'operator' && who.email === null)
    return { special: 'operator', displayName: who.displayName };
  if (who.email) return { email: who.email, displayName: who.displayName };
  if (who.id.startsWith('slack:')) return { slackUserId: who.id.slice(6), displayName: who.displayName };
  if (who.id.startsWith('teams:')) return { teamsAadObjectId: who.id.slice(6), displayName: who.displayName };
  return { email: null, displayName: who.displayName };
}

/**
 * Creates a one-time sign-in link for `who` and returns its absolute URL. The token is random; only its SHA-256 hash
 * is stored, and it expires after {@link SIGN_IN_LINK_MINUTES} minutes.
 * @param who the actor asking (from any surface), or an e-mail
 */
export async function issueSignInLink(
  store: Store,
  config: Config,
  who: Actor | string,
  now: Date = new Date(),
): Promise<string> {
  const token = newToken();
  const expires = new Date(now.getTime() + SIGN_IN_LINK_MINUTES * 60_000);
  await store.pool.query(
    `INSERT INTO web_sign_in_links (token_hash, claim, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
    [hashToken(token), JSON.stringify(claimOf(who)), now, expires],
  );
  // Spent and expired links are useless; removing them here keeps the table small without a job.
  await store.pool.query(`DELETE FROM web_sign_in_links WHERE expires_at < $1`, [
    new Date(now.getTime() - 24 * 3_600_000),
  ]);
  return `${publicBaseUrl(config)}/auth/link?token=${encodeURIComponent(token)}`;
}

const rolesCache = new WeakMap<Config, RoleMap>();
function rolesFor(config: Config): RoleMap {
  let roles = rolesCache.get(config);
  if (!roles) {
    roles = loadRoles(config);
    rolesCache.set(config, roles);
  }
  return roles;
}

const ADMIN_TOKEN_ACTOR: Actor = {
  id: 'dashboard-token',
  email: null,
  personId: null,
  displayName: 'dashboard admin token',
  roles: ['admin'],
  surface: 'web',
};

/** The actor a stored claim stands for now (roles as configured at this moment). */
async function actorFor(deps: WebAuthDeps, claim: WebClaim): Promise<Actor> {
  if (claim.special === 'token') return ADMIN_TOKEN_ACTOR;
  if (claim.special === 'operator') return { ...operatorActor(), surface: 'web' };
  return resolveActor(deps.store, rolesFor(deps.config), claim, 'web');
}

// ─── Teams SSO ────────────────────────────────────────────────────────────────────────────────────────────────

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const jwksCache = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** Why a Teams SSO token was refused, in words fit for the sign-in page. */
export class TeamsTokenError extends Error {}

/**
 * Checks a Teams tab SSO token (Microsoft Entra ID v2.0 access token): signature against the keys at
 * `TEAMS_SSO_JWKS_URL`, expiry, audience (the app id, or `api://…/<app id>`), issuer (`TEAMS_SSO_ISSUER` for the
 * token's tenant, which must be the configured tenant when that is a GUID).
 * @returns the identity the token proves
 * @throws TeamsTokenError when the token is not acceptable
 */
export async function verifyTeamsToken(config: Config, token: string, now: Date): Promise<WebClaim> {
  const appId = config.MICROSOFT_APP_ID;
  if (!appId) throw new TeamsTokenError('Teams sign-in is off: MICROSOFT_APP_ID is not set.');
  let jwks = jwksCache.get(config.TEAMS_SSO_JWKS_URL);
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(config.TEAMS_SSO_JWKS_URL));
    jwksCache.set(config.TEAMS_SSO_JWKS_URL, jwks);
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, jwks, {
      algorithms: ['RS256'],
      currentDate: now,
      clockTolerance: 60,
      requiredClaims: ['exp', 'iss', 'aud', 'tid'],
    }));
  } catch (error) {
    throw new TeamsTokenError(`The Teams token was refused: ${(error as Error).message}`);
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  const audienceOk = audiences.some(
    (aud) =>
      aud === appId || (typeof aud === 'string' && aud.startsWith('api://') && aud.endsWith(`/${appId}`)),
  );
  if (!audienceOk) throw new TeamsTokenError('The Teams token was issued for another application.');
  const tid = String(payload.tid);
  const tenant = config.MICROSOFT_APP_TENANT_ID;
  if (tenant && GUID.test(tenant) && tid.toLowerCase() !== tenant.toLowerCase()) {
    throw new TeamsTokenError('The Teams token comes from another tenant.');
  }
  if (payload.iss !== config.TEAMS_SSO_ISSUER.replace('{tenantid}', tid)) {
    throw new TeamsTokenError('The Teams token has an unexpected issuer.');
  }
  const oid = typeof payload.oid === 'string' ? payload.oid : null;
  const email = [payload.preferred_username, payload.upn, payload.email].find(
    (v): v is string => typeof v === 'string' && v.includes('@'),
  );
  if (!oid && !email) throw new TeamsTokenError('The Teams token names no user.');
  return {
    email: email?.toLowerCase() ?? null,
    teamsAadObjectId: oid,
    displayName: typeof payload.name === 'string' ? payload.name : null,
  };
}

// ─── sessions ─────────────────────────────────────────────────────────────────────────────────────────────────

async function startSession(
  deps: WebAuthDeps,
  res: Response,
  claim: WebClaim,
  method: 'link' | 'token' | 'teams-sso',
): Promise<void> {
  const now = deps.now?.() ?? new Date();
  const token = newToken();
  const expires = new Date(now.getTime() + SESSION_HOURS * 3_600_000);
  await deps.store.pool.query(
    `INSERT INTO web_sessions (token_hash, claim, method, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
    [hashToken(token), JSON.stringify(claim), method, now, expires],
  );
  await deps.store.pool.query(`DELETE FROM web_sessions WHERE expires_at < $1`, [now]);
  const secure = publicBaseUrl(deps.config).startsWith('https://');
  res.cookie(SESSION_COOKIE, token, {
    httpOnly: true,
    // Inside the Teams client the page is a cross-site frame, where a Lax cookie is never sent.
    sameSite: method === 'teams-sso' && secure ? 'none' : 'lax',
    secure,
    path: '/',
    maxAge: SESSION_HOURS * 3_600_000,
  });
}

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

const bearerOf = (req: Request) => req.get('authorization')?.match(/^Bearer\s+(\S+)$/i)?.[1];
const looksLikeJwt = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);

/** The actor behind a request, or why there is none. */
async function authenticate(deps: WebAuthDeps, req: Request): Promise<Actor | { refused: string }> {
  const now = deps.now?.() ?? new Date();
  const bearer = bearerOf(req);
  if (bearer) {
    const adminToken = deps.config.SEATKEEPER_DASHBOARD_TOKEN;
    if (adminToken && tokenMatches(bearer, adminToken)) return ADMIN_TOKEN_ACTOR;
    if (looksLikeJwt(bearer) && deps.config.MICROSOFT_APP_ID) {
      try {
        return await actorFor(deps, await verifyTeamsToken(deps.config, bearer, now));
      } catch (error) {
        if (error instanceof TeamsTokenError) return { refused: error.message };
        throw error;
      }
    }
    return { refused: 'The bearer token is not valid.' };
  }
  const cookie = cookieValue(req, SESSION_COOKIE);
  if (cookie) {
    const found = await deps.store.pool.query<{ claim: WebClaim }>(
      `SELECT claim FROM web_sessions WHERE token_hash = $1 AND expires_at > $2`,
      [hashToken(cookie), now],
    );
    const claim = found.rows[0]?.claim;
    if (claim) return actorFor(deps, claim);
    return { refused: 'Your session has ended. Sign in again.' };
  }
  return { refused: 'Sign in to see this page.' };
}

/**
 * A change requested by a page of another site, riding on the session cookie (which is sent cross-site inside Teams,
 * where it must be SameSite=None). Browsers name the requesting page in `Origin` on every such request; requests
 * with a bearer token carry no ambient credential and are not at risk.
 */
function crossSiteWrite(req: Request, publicHost: string): boolean {
  if (['GET', 'HEAD', 'OPTIONS'].includes(req.method) || bearerOf(req)) return false;
  const origin = req.get('origin');
  if (!origin) return false;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return true;
  }
  return host !== req.get('host') && host !== publicHost;
}

function wantsJson(req: Request): boolean {
  return (
    req.originalUrl.includes('/api/') ||
    req.method !== 'GET' ||
    (req.accepts(['html', 'json']) === 'json' && !req.accepts('html'))
  );
}

/** A safe place to land after signing in: a path on this service, never another site. */
function landing(value: unknown): string {
  return typeof value === 'string' && /^\/(?!\/)[\w\-/.?=&%]*$/.test(value) ? value : DEFAULT_PAGE;
}

/**
 * Express middleware for every protected route: sets `res.locals.actor` (an `Actor` with surface `web`), or answers
 * 401 — JSON `{ error: { code, message } }` for API paths and non-GET requests, the sign-in page for pages. A
 * request that changes something and comes from a page of another site is refused with 403.
 */
export function requireWebActor(deps: WebAuthDeps): RequestHandler {
  const publicHost = new URL(publicBaseUrl(deps.config)).host;
  return async (req, res, next) => {
    try {
      if (crossSiteWrite(req, publicHost)) {
        res.status(403).json({
          error: { code: 'NOT_AUTHORIZED', message: 'Refused: the request comes from another site.' },
        });
        return;
      }
      const result = await authenticate(deps, req);
      if ('refused' in result) {
        res.setHeader('Cache-Control', 'no-store');
        if (wantsJson(req)) {
          res.status(401).json({ error: { code: 'NOT_AUTHENTICATED', message: result.refused } });
        } else {
          res.setHeader('Content-Security-Policy', PAGE_CSP);
          res
            .status(401)
            .type('html')
            .send(signInPage(deps.config, result.refused, req.originalUrl));
        }
        return;
      }
      res.locals.actor = result;
      next();
    } catch (error) {
      next(error);
    }
  };
}

/**
 * Mounts the sign-in routes:
 * - `GET /auth/link?token=…[&next=/console]`: spends a one-time link, starts a session and redirects to `next`
 *   (a path on this service; the dashboard by default).
 * - `POST /auth/token`: the admin token (form field or JSON `token`) starts a session.
 * - `POST /auth/teams-sso`: a Teams SSO token (JSON `token` or `Authorization: Bearer`) starts a session.
 * - `POST /auth/sign-out`: ends the session.
 * - `GET /auth/sign-in`: the sign-in page.
 * - `GET /auth/teams.js`: the Teams JavaScript client, when installed, for the tab's sign-in;
 *   `GET /auth/sign-in.js`: the sign-in page's script.
 */
export function mountWebAuth(app: Express, deps: WebAuthDeps): void {
  const form = express.urlencoded({ extended: false, limit: '8kb' });
  const json = express.json({ limit: '16kb' });

  app.get('/auth/sign-in', (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    res.type('html').send(signInPage(deps.config, null, landing(req.query.next)));
  });

  app.get('/auth/link', async (req, res, next) => {
    try {
      res.setHeader('Cache-Control', 'no-store');
      // A link must not leak through the Referer of anything the next page loads.
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.setHeader('Content-Security-Policy', PAGE_CSP);
      const token = typeof req.query.token === 'string' ? req.query.token : '';
      const now = deps.now?.() ?? new Date();
      const spent = await deps.store.pool.query<{ claim: WebClaim; expired: boolean; used: boolean }>(
        `WITH link AS (SELECT token_hash, claim, expires_at <= $2 AS expired, used_at IS NOT NULL AS used
                         FROM web_sign_in_links WHERE token_hash = $1),
              spend AS (UPDATE web_sign_in_links SET used_at = $2
                         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING token_hash)
         SELECT link.claim, link.expired, link.used OR NOT EXISTS (SELECT 1 FROM spend) AND NOT link.expired AS used
           FROM link`,
        [hashToken(token), now],
      );
      const row = spent.rows[0];
      if (!row || row.expired || row.used) {
        const why = !row
          ? 'This sign-in link is not valid.'
          : row.expired
            ? `This sign-in link has expired (links last ${SIGN_IN_LINK_MINUTES} minutes).`
            : 'This sign-in link has already been used.';
        res
          .status(401)
          .type('html')
          .send(
            signInPage(deps.config, `${why} Ask the bot for a new one: /license dashboard.`, DEFAULT_PAGE),
          );
        return;
      }
      await startSession(deps, res, row.claim, 'link');
      const actor = await actorFor(deps, row.claim);
      await appendAudit(deps.store.pool, {
        actor: actor.id,
        surface: 'web',
        action: 'sign-in',
        target: 'link',
      });
      res.redirect(303, landing(req.query.next));
    } catch (error) {
      next(error);
    }
  });

  app.post('/auth/token', form, json, async (req, res, next) => {
    try {
      res.setHeader('Cache-Control', 'no-store');
      const given = typeof req.body?.token === 'string' ? req.body.token.trim() : undefined;
      const expected = deps.config.SEATKEEPER_DASHBOARD_TOKEN;
      const html = !req.is('application/json');
      if (!expected || !tokenMatches(given, expected)) {
        const message = expected
          ? 'That token is not the dashboard token.'
          : 'Token sign-in is off: SEATKEEPER_DASHBOARD_TOKEN is not set.';
        if (html)
          res
            .status(401)
            .type('html')
            .send(signInPage(deps.config, message, landing(req.body?.next)));
        else res.status(401).json({ error: { code: 'NOT_AUTHENTICATED', message } });
        return;
      }
      await startSession(deps, res, { special: 'token' }, 'token');
      await appendAudit(deps.store.pool, {
        actor: ADMIN_TOKEN_ACTOR.id,
        surface: 'web',
        action: 'sign-in',
        target: 'token',
      });
      if (html) res.redirect(303, landing(req.body?.next));
      else res.json({ ok: true });
    } catch (error) {
      next(error);
    }
  });

  app.post('/auth/teams-sso', json, async (req, res, next) => {
    try {
      res.setHeader('Cache-Control', 'no-store');
      const token = (typeof req.body?.token === 'string' ? req.body.token : undefined) ?? bearerOf(req);
      if (!token) {
        res
          .status(400)
          .json({ error: { code: 'INVALID_ARGUMENT', message: 'Send the Teams SSO token as token.' } });
        return;
      }
      let claim: WebClaim;
      try {
        claim = await verifyTeamsToken(deps.config, token, deps.now?.() ?? new Date());
      } catch (error) {
        if (!(error instanceof TeamsTokenError)) throw error;
        res.status(401).json({ error: { code: 'NOT_AUTHENTICATED', message: error.message } });
        return;
      }
      await startSession(deps, res, claim, 'teams-sso');
      const actor = await actorFor(deps, claim);
      await appendAudit(deps.store.pool, {
        actor: actor.id,
        surface: 'web',
        action: 'sign-in',
        target: 'teams-sso',
      });
      res.json({ ok: true, actor: { id: actor.id, displayName: actor.displayName, roles: actor.roles } });
    } catch (error) {
      next(error);
    }
  });

  app.post('/auth/sign-out', async (req, res, next) => {
    try {
      const cookie = cookieValue(req, SESSION_COOKIE);
      if (cookie)
        await deps.store.pool.query(`DELETE FROM web_sessions WHERE token_hash = $1`, [hashToken(cookie)]);
      res.clearCookie(SESSION_COOKIE, { path: '/' });
      if (req.accepts(['html', 'json']) === 'html') res.redirect(303, '/auth/sign-in');
      else res.json({ ok: true });
    } catch (error) {
      next(error);
    }
  });

  app.get('/auth/sign-in.js', (_req, res) => {
    res.type('application/javascript');
    res.sendFile(SIGN_IN_JS, { maxAge: '1h' });
  });

  app.get('/auth/teams.js', (_req, res) => {
    res.type('application/javascript');
    res.sendFile(TEAMS_JS, { maxAge: '1d' }, (error) => {
      // Without the Teams client library the tab falls back to the link and token sign-in.
      if (error && !res.headersSent) res.status(404).send('// Teams JavaScript client not installed\n');
    });
  });
}

const SIGN_IN_JS = fileURLToPath(new URL('./public/sign-in.js', import.meta.url));
const TEAMS_JS = fileURLToPath(
  new URL('../../node_modules/@microsoft/teams-js/dist/umd/MicrosoftTeams.min.js', import.meta.url),
);

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** The sign-in page: what to do, the admin-token form, and the Teams tab's automatic sign-in. */
export function signInPage(config: Config, message: string | null, next: string): string {
  const tokenForm = config.SEATKEEPER_DASHBOARD_TOKEN
    ? `<form method="post" action="/auth/token">
        <input type="hidden" name="next" value="${escapeHtml(landing(next))}">
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required>
        <button type="submit">Sign in</button>
      </form>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Sign in · Seatkeeper</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 34rem; margin: 4rem auto; padding: 0 1rem; color: #1c2b27; }
  h1 { color: #2e6b5e; }
  .message { background: #fff4e5; border-left: 4px solid #c77700; padding: .5rem 1rem; }
  label { display: block; margin-top: 1rem; font-weight: 600; }
  input[type=password] { width: 100%; padding: .5rem; font: inherit; }
  button { margin-top: .75rem; padding: .5rem 1.25rem; font: inherit; background: #2e6b5e; color: #fff; border: 0; border-radius: 4px; }
</style>
</head>
<body data-next="${escapeHtml(landing(next))}">
<main>
<h1>Sign in to Seatkeeper</h1>
${message ? `<p class="message" role="alert">${escapeHtml(message)}</p>` : ''}
<p>Ask the Seatkeeper bot for a sign-in link: type <code>/license dashboard</code> in Slack or
<code>dashboard</code> in Teams. The link works once, for ${SIGN_IN_LINK_MINUTES} minutes.</p>
${tokenForm}
</main>
<script src="/auth/sign-in.js"></script>
</body>
</html>
`;
}
