/**
 * A running service with an inventory imported through the real pipeline (three imports over three weeks, so the
 * trend has points), contract terms set through the contract handler, findings computed, one failing connector —
 * and a local JWKS endpoint standing in for Microsoft Entra ID's published signing keys.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { setContract } from '../../handlers/contracts.ts';
import { operatorActor } from '../../handlers/types.ts';
import { type Config, loadConfig } from '../../src/config/config.ts';
import { policyOf, recomputeFindings } from '../../src/findings/recompute.ts';
import { runImport } from '../../src/inventory/import-pipeline.ts';
import { createLogger } from '../../src/log.ts';
import { type Service, startService } from '../../src/service.ts';
import type { Store } from '../../src/store/store.ts';
import { account, fixtureConnector, personEntry, subscription } from '../support/fixture-connector.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

export const APP_ID = '11111111-2222-3333-4444-555555555555';
export const TENANT_ID = '99999999-8888-7777-6666-555555555555';
export const ADMIN_TOKEN = 'dashboard-admin-token-0123456789';
export const ADMIN = 'it@example.com';
export const HELPDESK = 'help@example.com';
/** A person with no role beyond member. */
export const MEMBER = 'p01@example.com';

const DAY = 86_400_000;

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** Signs Entra-ID-shaped access tokens with a key only this test knows, and serves its public half as a JWKS. */
export class LocalJwks {
  private server?: Server;
  url = '';
  private key?: SigningKey;
  private kid = 'test-key-1';

  async start(): Promise<this> {
    const pair = await generateKeyPair('RS256', { extractable: true });
    this.key = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: this.kid, alg: 'RS256', use: 'sig' };
    this.server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/discovery/v2.0/keys`;
    return this;
  }

  /** A Teams tab SSO token; `over` replaces claims, `key` signs with another key (a forgery). */
  async token(
    claims: JWTPayload & { preferred_username?: string; oid?: string; tid?: string },
    options: { expiresInSeconds?: number; audience?: string; key?: SigningKey; tenant?: string } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const tenant = options.tenant ?? TENANT_ID;
    return new SignJWT({ tid: tenant, ver: '2.0', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid, typ: 'JWT' })
      .setIssuer(`https://login.microsoftonline.com/${tenant}/v2.0`)
      .setAudience(options.audience ?? `api://seatkeeper.example.com/${APP_ID}`)
      .setIssuedAt(now - 60)
      .setNotBefore(now - 60)
      .setExpirationTime(now + (options.expiresInSeconds ?? 3600))
      .sign(options.key ?? (this.key as SigningKey));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

export interface DashboardEnv {
  db: TestDatabase;
  store: Store;
  config: Config;
  service: Service;
  url: string;
  jwks: LocalJwks;
  stop(): Promise<void>;
}

/** Persons p01…p40; Figma (40 seats) held by 30 of them plus 3 unknown addresses; Miro; Zoom unlimited. */
export async function seedInventory(store: Store, config: Config, now: Date): Promise<void> {
  const persons = Array.from({ length: 40 }, (_, i) => `p${String(i + 1).padStart(2, '0')}@example.com`);
  const directory = {
    subscriptions: [],
    accounts: [],
    persons: [...persons, ADMIN, HELPDESK].map((email) => personEntry(email)),
  };
  // Three imports, ten days apart: Figma grows from 24 to 33 consumed seats.
  for (const [step, consumed] of [
    [2, 24],
    [1, 28],
    [0, 33],
  ] as const) {
    const at = new Date(now.getTime() - step * 10 * DAY);
    const options = { trigger: 'test', minEntitlementDays: 90, now: () => at };
    await runImport(store, fixtureConnector('directory', directory), { ...options, persons: true });
    const holders = persons.slice(0, consumed - 3);
    const figma = {
      subscriptions: [
        subscription({
          key: 'figma',
          vendor: 'Figma',
          sku: 'FIGMA_ORG',
          name: 'Figma Organization',
          enabledUnits: 40,
          consumedUnits: consumed,
        }),
      ],
      accounts: [
        ...holders.map((email, i) =>
          account('figma', `f${i}`, email, {
            // The first eight never come back: idle seats.
            lastActivityAt: i < 8 ? new Date(at.getTime() - 120 * DAY) : new Date(at.getTime() - DAY),
            lastActivitySource: 'figma:activity',
            assignedAt: new Date(now.getTime() - 400 * DAY),
          }),
        ),
        account('figma', 'fx1', 'contractor@agency.example'),
        account('figma', 'fx2', 'old.name@example.com'),
        account('figma', 'fx3', 'zz-temp@agency.example'),
      ],
    };
    await runImport(store, fixtureConnector('csv:figma', figma, { usage: true }), options);
    const miro = {
      subscriptions: [
        subscription({
          key: 'miro',
          vendor: 'Miro',
          sku: 'MIRO_BIZ',
          name: 'Miro Business',
          enabledUnits: 10,
          consumedUnits: 12,
        }),
      ],
      accounts: persons.slice(20, 32).map((email, i) => account('miro', `m${i}`, email)),
    };
    await runImport(store, fixtureConnector('csv:miro', miro), options);
  }
  const zoom = {
    subscriptions: [
      subscription({
        key: 'zoom',
        vendor: 'Zoom',
        sku: 'ZOOM_ENT',
        name: 'Zoom Enterprise',
        unlimited: true,
        enabledUnits: 0,
        consumedUnits: 5,
      }),
    ],
    accounts: persons.slice(0, 5).map((email, i) => account('zoom', `z${i}`, email)),
  };
  await runImport(store, fixtureConnector('csv:zoom', zoom), {
    trigger: 'test',
    minEntitlementDays: 90,
    now: () => now,
  });
  // A connector whose vendor fails mid-import: the run is recorded as failed, the inventory keeps the last good one.
  await runImport(
    store,
    fixtureConnector('csv:broken', {
      subscriptions: [subscription({ key: 'b' })],
      accounts: [account('b', 'b1', 'p01@example.com'), account('b', 'b2', 'p02@example.com')],
      failAfterAccountPages: { pages: 0, error: new Error('vendor answered 503') },
    }),
    { trigger: 'test', minEntitlementDays: 90, now: () => now },
  ).catch(() => undefined);

  const ctx = { store, config, actor: operatorActor(), now: () => now };
  const renewsOn = (days: number) => new Date(now.getTime() + days * DAY).toISOString().slice(0, 10);
  for (const terms of [
    {
      sku: 'FIGMA_ORG',
      unitPrice: '540',
      currency: 'USD',
      billing: 'annual',
      renewalDate: renewsOn(75),
      noticeDays: 30,
      costCenter: 'design',
      product: 'Figma',
    },
    {
      sku: 'MIRO_BIZ',
      unitPrice: '16',
      currency: 'USD',
      billing: 'monthly',
      renewalDate: renewsOn(200),
      noticeDays: 60,
      costCenter: 'it',
    },
  ]) {
    const set = await setContract(ctx, terms);
    if (!set.ok) throw new Error(`contract for ${terms.sku}: ${set.error.message}`);
  }
  const client = await store.pool.connect();
  try {
    await recomputeFindings(client, policyOf(config), now);
  } finally {
    client.release();
  }
}

/** Starts the service (port 0) on a fresh database holding {@link seedInventory}'s organisation. */
export async function startDashboardService(env: Record<string, string> = {}): Promise<DashboardEnv> {
  const jwks = await new LocalJwks().start();
  const db = await createTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'sk-web-'));
  const rolesFile = join(dir, 'roles.json');
  writeFileSync(rolesFile, JSON.stringify({ helpdesk: [HELPDESK] }));
  const config = loadConfig({
    ...db.env,
    PORT: '0',
    HOST: '127.0.0.1',
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SEATKEEPER_ADMINS: ADMIN,
    SEATKEEPER_ROLES_FILE: rolesFile,
    SEATKEEPER_DASHBOARD_TOKEN: ADMIN_TOKEN,
    SEATKEEPER_IDLE_DAYS: '30',
    MICROSOFT_APP_ID: APP_ID,
    MICROSOFT_APP_TENANT_ID: TENANT_ID,
    TEAMS_SSO_JWKS_URL: jwks.url,
    ...env,
  });
  const store = await db.open();
  await seedInventory(store, config, new Date());
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const service = await startService(config, createLogger('warn', sink));
  return {
    db,
    store,
    config,
    service,
    url: `http://127.0.0.1:${service.port}`,
    jwks,
    async stop() {
      await service.stop();
      await store.close();
      await db.drop();
      await jwks.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The session cookie a response set, as a `Cookie` header value. */
export function sessionCookie(res: Response): string {
  const set = res.headers.getSetCookie().find((c) => c.startsWith('seatkeeper_session='));
  if (!set) throw new Error(`no session cookie set (status ${res.status})`);
  return set.split(';')[0] as string;
}
