import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRoles, resolveActor } from '../../src/auth/actors.ts';
import { runImport } from '../../src/inventory/import-pipeline.ts';
import type { Store } from '../../src/store/store.ts';
import { runCliInProcess } from '../support/cli.ts';
import { account, fixtureConnector, personEntry, subscription } from '../support/fixture-connector.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

describe('actors and roles', () => {
  let db: TestDatabase;
  let store: Store;
  let dir: string;
  let rolesFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sk-roles-'));
    rolesFile = join(dir, 'roles.json');
    writeFileSync(
      rolesFile,
      JSON.stringify({
        'it-manager': ['ana@example.com'],
        helpdesk: ['slack:U0HELP', 'bo@example.com'],
        finance: ['teams:00000000-aaaa-bbbb-cccc-000000000001'],
      }),
    );
    db = await createTestDatabase();
    store = await db.open();
    await runImport(
      store,
      fixtureConnector('directory', {
        subscriptions: [],
        accounts: [],
        persons: [
          personEntry('ana@example.com', { aliases: ['ana.lopez@example.com'] }),
          personEntry('bo@example.com'),
        ],
      }),
      { trigger: 'test', minEntitlementDays: 90, persons: true },
    );
    await runImport(
      store,
      fixtureConnector('csv', {
        subscriptions: [
          subscription({ key: 'z', vendor: 'Zoom', sku: 'ZOOM_PRO', enabledUnits: 2, consumedUnits: 1 }),
        ],
        accounts: [account('z', 'z1', 'bo@example.com')],
      }),
      { trigger: 'test', minEntitlementDays: 90 },
    );
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives roles from SEATKEEPER_ADMINS and the roles file, through any of the person’s addresses', async () => {
    const roles = loadRoles({ SEATKEEPER_ADMINS: 'cio@example.com', SEATKEEPER_ROLES_FILE: rolesFile });
    const ana = await resolveActor(store, roles, { email: 'Ana.Lopez@example.com' }, 'cli');
    expect(ana).toMatchObject({ id: 'ana@example.com', roles: ['it-manager', 'member'], surface: 'cli' });
    expect(ana.personId).toEqual(expect.any(Number));
    const slack = await resolveActor(store, roles, { slackUserId: 'U0HELP' }, 'slack');
    expect(slack).toMatchObject({ id: 'slack:U0HELP', roles: ['helpdesk'], personId: null });
    const cio = await resolveActor(store, roles, { email: 'cio@example.com' }, 'cli');
    expect(cio.roles).toEqual(['admin']);
    const stranger = await resolveActor(store, roles, { email: 'who@elsewhere.example' }, 'cli');
    expect(stranger.roles).toEqual([]);
  });

  it('refuses a roles file with an unknown role or a malformed identity, naming the file and the entry', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ superuser: ['x@example.com'] }));
    expect(() => loadRoles({ SEATKEEPER_ROLES_FILE: bad })).toThrow(
      `Configuration error: SEATKEEPER_ROLES_FILE (${bad}) is invalid at superuser: expected roles admin, it-manager, finance, helpdesk.`,
    );
    writeFileSync(bad, JSON.stringify({ helpdesk: ['not an address'] }));
    expect(() => loadRoles({ SEATKEEPER_ROLES_FILE: bad })).toThrow(
      /is invalid at helpdesk\.0: expected an e-mail, slack:<user id> or teams:<AAD object id>/,
    );
    writeFileSync(bad, '{ nope');
    expect(() => loadRoles({ SEATKEEPER_ROLES_FILE: bad })).toThrow(/cannot be read as JSON/);
  });

  it('applies the roles of the person named by --as on the CLI: denied with exit 3 and audited', async () => {
    const run = (args: string[]) => runCliInProcess(args, { ...db.env, SEATKEEPER_ROLES_FILE: rolesFile });
    const denied = await run([
      'contract',
      'set',
      '--sku',
      'ZOOM_PRO',
      '--notice-days',
      '30',
      '--as',
      'bo@example.com',
    ]);
    expect(denied).toMatchObject({
      code: 3,
      err: "'contract set' needs the it-manager role, which you do not have.\n",
    });
    const allowed = await run([
      'contract',
      'set',
      '--sku',
      'ZOOM_PRO',
      '--notice-days',
      '30',
      '--as',
      'ana.lopez@example.com',
    ]);
    expect(allowed.code).toBe(0);
    const helpdesk = await run(['who-has', 'zoom', '--json', '--as', 'bo@example.com']);
    expect(JSON.parse(helpdesk.out)).toHaveLength(1);
    const audit = await store.pool.query(
      `SELECT actor, action, target FROM audit_log WHERE action IN ('denied', 'contract.set') ORDER BY id`,
    );
    expect(audit.rows).toEqual([
      { actor: 'bo@example.com', action: 'denied', target: 'contract set' },
      { actor: 'ana@example.com', action: 'contract.set', target: expect.stringMatching(/^license:\d+$/) },
    ]);
    // Any known person may ask for their own seats, and only their own.
    const mine = await run(['mine', '--json', '--as', 'bo@example.com']);
    expect(JSON.parse(mine.out).map((r: { email: string; sku: string }) => [r.email, r.sku])).toEqual([
      ['bo@example.com', 'ZOOM_PRO'],
    ]);
    expect(await run(['mine', '--as', 'who@elsewhere.example'])).toMatchObject({ code: 3 });
  });
});
