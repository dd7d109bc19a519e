import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assignToPerson, markAccount, noteAccount } from '../../handlers/clearing-actions.ts';
import { clearing } from '../../handlers/inventory-queries.ts';
import type { HandlerContext } from '../../handlers/types.ts';
import { policyOf, recomputeFindings } from '../../src/findings/recompute.ts';
import { runImport } from '../../src/inventory/import-pipeline.ts';
import type { Store } from '../../src/store/store.ts';
import { runCliInProcess } from '../support/cli.ts';
import {
  account,
  type FixtureData,
  fixtureConnector,
  personEntry,
  subscription,
} from '../support/fixture-connector.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import { actor, clockAt, contextFor, value } from './support.ts';

const IT = actor('it.lead@example.com', ['it-manager'], 'cli');

const directory: FixtureData = {
  subscriptions: [],
  accounts: [],
  persons: [
    personEntry('ana@example.com', { aliases: ['ana.lopez@example.com'] }),
    personEntry('bo@example.com'),
  ],
};
/** Two apps the same contractor address holds a seat of; a scanner; a login without e-mail. */
const figma: FixtureData = {
  subscriptions: [
    subscription({ key: 'figma', vendor: 'Figma', sku: 'FIGMA_ORG', enabledUnits: 10, consumedUnits: 4 }),
  ],
  accounts: [
    account('figma', 'f1', 'Ana.Lopez@example.com'),
    account('figma', 'f2', 'Contractor@Agency.example'),
    account('figma', 'f3', 'scanner@example.com'),
    account('figma', 'f4', null, { login: 'zed' }),
  ],
};
const miro: FixtureData = {
  subscriptions: [
    subscription({ key: 'miro', vendor: 'Miro', sku: 'MIRO_BIZ', enabledUnits: 5, consumedUnits: 1 }),
  ],
  accounts: [account('miro', 'm1', 'contractor@agency.example')],
};

describe('clearing: assign, mark, note', () => {
  let db: TestDatabase;
  let store: Store;
  let dir: string;
  const clock = clockAt('2026-11-20T08:00:00Z');
  const ctx = (who = IT): HandlerContext => contextFor(store, db.config, who, clock.now);
  const options = { trigger: 'test', minEntitlementDays: 90, now: clock.now };
  const importAll = async () => {
    await runImport(store, fixtureConnector('directory', directory), { ...options, persons: true });
    await runImport(store, fixtureConnector('csv:figma', figma), options);
    await runImport(store, fixtureConnector('csv:miro', miro), options);
    const client = await store.pool.connect();
    try {
      await recomputeFindings(client, policyOf(db.config), clock.now());
    } finally {
      client.release();
    }
  };
  const inClearing = async () =>
    value(await clearing(ctx(), { limit: 100, offset: 0 })).rows.map((r) => `${r.sku}:${r.email ?? r.login}`);
  const unmatched = async () =>
    (
      await store.pool.query(
        `SELECT s.email, s.login, f.status, f.resolved_how FROM findings f JOIN cloud_subscribers s ON s.id = f.subscriber_id
         WHERE f.kind = 'unmatched' ORDER BY s.id`,
      )
    ).rows;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sk-clearing-'));
    writeFileSync(
      join(dir, 'roles.json'),
      JSON.stringify({ 'it-manager': ['it.lead@example.com'], helpdesk: ['desk@example.com'] }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    db = await createTestDatabase();
    store = await db.open();
    await importAll();
  });
  afterEach(async () => {
    await db?.drop();
  });

  it('assigns an unmatched address to a person: an alias, matched on every vendor at once, and kept by the next import', async () => {
    expect(await inClearing()).toEqual([
      'FIGMA_ORG:Contractor@Agency.example',
      'FIGMA_ORG:scanner@example.com',
      'FIGMA_ORG:zed',
      'MIRO_BIZ:contractor@agency.example',
    ]);
    const rows = value(
      await assignToPerson(ctx(), { email: 'contractor@agency.example', person: 'BO@example.com' }),
    );
    expect(rows.map((r) => [r.sku, r.person, r.inClearing])).toEqual([
      ['FIGMA_ORG', 'bo@example.com', false],
      ['MIRO_BIZ', 'bo@example.com', false],
    ]);
    expect(await inClearing()).toEqual(['FIGMA_ORG:scanner@example.com', 'FIGMA_ORG:zed']);
    const alias = await store.pool.query(
      `SELECT email, source, is_primary FROM person_emails WHERE email LIKE 'contractor%'`,
    );
    expect(alias.rows).toEqual([{ email: 'contractor@agency.example', source: 'manual', is_primary: false }]);
    expect((await unmatched()).filter((f) => f.email?.toLowerCase() === 'contractor@agency.example')).toEqual(
      [
        {
          email: 'Contractor@Agency.example',
          login: null,
          status: 'resolved',
          resolved_how: 'assigned to a person',
        },
        {
          email: 'contractor@agency.example',
          login: null,
          status: 'resolved',
          resolved_how: 'assigned to a person',
        },
      ],
    );
    const audit = await store.pool.query(
      `SELECT actor, surface, target, after FROM audit_log WHERE action = 'clearing.assign'`,
    );
    expect(audit.rows).toEqual([
      {
        actor: IT.id,
        surface: 'cli',
        target: 'contractor@agency.example',
        after: {
          person: 'bo@example.com',
          aliasesAdded: ['contractor@agency.example'],
          subscribers: expect.any(Array),
        },
      },
    ]);

    // The directory and the apps import again: the manual alias and the match stay.
    clock.advance(3_600_000);
    await importAll();
    expect(await inClearing()).toEqual(['FIGMA_ORG:scanner@example.com', 'FIGMA_ORG:zed']);

    // The address now belongs to bo: it cannot go to ana as well.
    const taken = await assignToPerson(ctx(), {
      email: 'contractor@agency.example',
      person: 'ana@example.com',
    });
    expect(taken).toEqual({
      ok: false,
      error: {
        code: 'CONFLICT',
        message: 'contractor@agency.example is already an address of bo@example.com.',
      },
    });
  });

  it('refuses to assign an account without an e-mail, and says how to match it instead', async () => {
    const result = await assignToPerson(ctx(), { email: 'zed', person: 'bo@example.com' });
    expect(result.ok ? undefined : result.error.code).toBe('CONFLICT');
    expect(result.ok ? '' : result.error.message).toContain(
      'has no e-mail address, so no alias can keep the match',
    );
    expect(await inClearing()).toContain('FIGMA_ORG:zed');
  });

  it('marks a service account (it leaves clearing) and leaves a note on another (it stays)', async () => {
    const marked = value(
      await markAccount(ctx(), { email: 'scanner@example.com', kind: 'service', note: 'office scanner' }),
    );
    expect(marked).toMatchObject([
      { accountKind: 'service', note: 'office scanner', inClearing: false, person: null },
    ]);
    const noted = value(
      await noteAccount(ctx(), { email: 'zed', note: 'asked the design lead, 2026-11-20' }),
    );
    expect(noted).toMatchObject([
      { login: 'zed', note: 'asked the design lead, 2026-11-20', inClearing: true },
    ]);
    expect(await inClearing()).toEqual([
      'FIGMA_ORG:Contractor@Agency.example',
      'FIGMA_ORG:zed',
      'MIRO_BIZ:contractor@agency.example',
    ]);
    expect((await unmatched()).find((f) => f.email === 'scanner@example.com')).toMatchObject({
      status: 'resolved',
    });
    const audit = await store.pool.query(`SELECT action FROM audit_log WHERE actor = $1 ORDER BY id`, [
      IT.id,
    ]);
    expect(audit.rows.map((r) => r.action)).toEqual(['account.kind', 'clearing.note']);
  });

  it('works from the CLI as the issue writes it, and denies a helpdesk user with exit 3', async () => {
    const env = { ...db.env, SEATKEEPER_ROLES_FILE: join(dir, 'roles.json') };
    const denied = await runCliInProcess(
      [
        'clearing',
        'assign',
        '--email',
        'contractor@agency.example',
        '--person',
        'bo@example.com',
        '--as',
        'desk@example.com',
      ],
      env,
    );
    expect(denied.code).toBe(3);
    expect(denied.err).toContain("'clearing assign' needs the it-manager role");

    const assigned = await runCliInProcess(
      [
        'clearing',
        'assign',
        '--email',
        'contractor@agency.example',
        '--person',
        'bo@example.com',
        '--as',
        'it.lead@example.com',
        '--json',
      ],
      env,
    );
    expect(assigned.code).toBe(0);
    expect(JSON.parse(assigned.out).map((r: { sku: string; person: string }) => [r.sku, r.person])).toEqual([
      ['FIGMA_ORG', 'bo@example.com'],
      ['MIRO_BIZ', 'bo@example.com'],
    ]);
    const marked = await runCliInProcess(
      [
        'clearing',
        'mark',
        '--email',
        'scanner@example.com',
        '--kind',
        'shared',
        '--as',
        'it.lead@example.com',
      ],
      env,
    );
    expect(marked.code).toBe(0);
    expect(marked.out).toMatch(/scanner@example\.com\s+FIGMA_ORG\s+—\s+shared\s+no/);
    const noted = await runCliInProcess(
      ['clearing', 'note', '--email', 'zed', '--note', 'ask HR', '--as', 'it.lead@example.com'],
      env,
    );
    expect(noted.code).toBe(0);
    const listed = await runCliInProcess(['clearing', '--json'], env);
    expect(JSON.parse(listed.out).map((r: { login: string }) => r.login)).toEqual(['zed']);
  });
});
