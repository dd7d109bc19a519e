import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.ts';
import { GraphFake } from '../fakes/graph-fake.ts';
import { contosoOrg, type GraphOrg, SKU, USER } from '../fakes/graph-fixtures.ts';
import { runCliInProcess } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import { count } from './support.ts';

const ASSIGN = /\/assignLicense$/;
const AS_IT = ['--as', 'it.lead@example.com'];

/** Contoso with Lee's last sign-in 100 days ago and Isaiah's 120: their seats are idle whatever today is. */
function idleOrg(): GraphOrg {
  const org = contosoOrg();
  for (const [id, days] of [
    [USER.lee, 100],
    [USER.isaiah, 120],
  ] as const) {
    const at = new Date(Date.now() - days * 86_400_000).toISOString();
    const user = org.users.find((u) => u.id === id);
    if (user) {
      user.signInActivity = {
        lastSignInDateTime: at,
        lastSignInRequestId: null,
        lastNonInteractiveSignInDateTime: null,
        lastNonInteractiveSignInRequestId: null,
        lastSuccessfulSignInDateTime: at,
        lastSuccessfulSignInRequestId: null,
      };
    }
    delete org.activity[id];
  }
  return org;
}

describe('seatkeeper reclaim, undo, asks, answer and audit on the command line', () => {
  let dir: string;
  let db: TestDatabase;
  let store: Store;
  let fake: GraphFake;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCliInProcess(args, env);
  const licensesOf = (id: string) => fake.user(id)?.assignedLicenses.map((l) => l.skuId) ?? [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sk-actions-cli-'));
    writeFileSync(
      join(dir, 'roles.json'),
      JSON.stringify({ 'it-manager': ['it.lead@example.com'], helpdesk: ['desk@example.com'] }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    db = await createTestDatabase();
    store = await db.open();
    fake = await new GraphFake({ org: idleOrg() }).start();
    env = {
      ...db.env,
      M365_TENANT_ID: fake.org.tenantId,
      M365_CLIENT_ID: fake.clientId,
      M365_CLIENT_SECRET: fake.clientSecret,
      GRAPH_BASE_URL: fake.url,
      MS_LOGIN_URL: fake.url,
      SEATKEEPER_ADMINS: 'cio@example.com',
      SEATKEEPER_ROLES_FILE: join(dir, 'roles.json'),
      SEATKEEPER_IDLE_GRACE_DAYS: '0',
    };
    expect((await cli('import', 'm365')).code).toBe(0);
    expect((await cli('findings', '--recompute', '--json')).code).toBe(0);
  });
  afterEach(async () => {
    await fake?.stop();
    await db?.drop();
  });

  it('previews with --dry-run, refuses without --yes (exit 2), and with --yes waits for Graph and prints the outcome', async () => {
    const seat = ['reclaim', '--email', 'lee.gu@example.com', '--sku', 'POWER_BI_PRO', ...AS_IT];
    const dry = await cli(...seat, '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.out)).toEqual([
      expect.objectContaining({
        actionId: null,
        state: 'preview',
        email: 'lee.gu@example.com',
        sku: 'POWER_BI_PRO',
        daysSinceActivity: 100,
        finding: expect.objectContaining({ kind: 'idle' }),
        blockers: [],
      }),
    ]);
    const text = await cli(...seat, '--dry-run');
    expect(text.out).toContain('Dry run: nothing was changed. 1 of 1 seats can be reclaimed');

    const unconfirmed = await cli(...seat);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.err).toContain('Nothing was reclaimed. Preview:');
    expect(unconfirmed.err).toContain('Run again with --yes to reclaim');
    expect(fake.server.calls(ASSIGN)).toHaveLength(0);

    const done = await cli(...seat, '--yes', '--json');
    expect(done.code).toBe(0);
    const [row] = JSON.parse(done.out);
    expect(row).toMatchObject({
      state: 'done',
      detail: 'removed POWER_BI_PRO from lee.gu@example.com',
      undoUntil: expect.any(String),
    });
    expect(licensesOf(USER.lee)).toEqual([SKU.ENTERPRISEPACK]);

    const shown = await cli('action', row.actionId, '--as', 'desk@example.com', '--json');
    expect(JSON.parse(shown.out)).toEqual([
      expect.objectContaining({ actionId: row.actionId, state: 'done' }),
    ]);

    const undone = await cli('undo', row.actionId, ...AS_IT);
    expect(undone.code).toBe(0);
    expect(undone.out).toMatch(/undo\s+done/);
    expect(licensesOf(USER.lee)).toContain(SKU.POWER_BI_PRO);
  });

  it('exits 3 for a user whose role does not allow it, and audits the denial', async () => {
    const denied = await cli(
      'reclaim',
      '--email',
      'lee.gu@example.com',
      '--sku',
      'POWER_BI_PRO',
      '--yes',
      '--as',
      'desk@example.com',
    );
    expect(denied.code).toBe(3);
    expect(denied.err).toContain("'reclaim' needs the it-manager role");
    const undo = await cli('undo', '0b7d5c1e-3f5a-4c1d-9a51-7f0e2d3c4b5a', '--as', 'lee.gu@example.com');
    expect(undo.code).toBe(3);
    expect(await count(store, `SELECT 1 FROM audit_log WHERE action = 'denied'`)).toBe(2);
    expect(fake.server.calls(ASSIGN)).toHaveLength(0);
  });

  it('exits 1 with the vendor’s reason when Graph refuses, and retry exits 1 again while it still refuses', async () => {
    const lee = fake.user(USER.lee);
    for (const state of lee?.licenseAssignmentStates ?? [])
      if (state.skuId === SKU.POWER_BI_PRO) state.assignedByGroup = '8b1d6e2a-4c3f-4a91-b7d2-5e0c9f1a3d22';
    const refused = await cli(
      'reclaim',
      '--email',
      'lee.gu@example.com',
      '--sku',
      'POWER_BI_PRO',
      '--yes',
      ...AS_IT,
    );
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('The vendor did not remove the seat.');
    expect(refused.err).toContain('User license is inherited from a group membership');
    const failed = await cli('actions', '--state', 'failed', '--json', ...AS_IT);
    const [action] = JSON.parse(failed.out);
    expect(action).toMatchObject({ state: 'failed', retryable: false, attempts: 1 });
    const again = await cli('retry', action.actionId, ...AS_IT);
    expect(again.code).toBe(1);
    expect(fake.server.calls(ASSIGN)).toHaveLength(2);
  });

  it('reclaims every idle seat of a SKU with --all-idle, and --no-wait only queues', async () => {
    const dry = await cli('reclaim', '--sku', 'SPE_E5', '--all-idle', '--dry-run', '--json', ...AS_IT);
    // Isaiah (July) and Johanna (October, in the fixture) have not used their E5 for over 30 days.
    const idle = ['isaiah.langer@example.com', 'johanna.lorenz@example.com'];
    expect(JSON.parse(dry.out).map((r: { email: string }) => r.email)).toEqual(idle);
    const queued = await cli(
      'reclaim',
      '--sku',
      'SPE_E5',
      '--all-idle',
      '--yes',
      '--no-wait',
      '--json',
      ...AS_IT,
    );
    expect(queued.code).toBe(0);
    const rows = JSON.parse(queued.out);
    expect(rows.map((r: { state: string }) => r.state)).toEqual(['queued', 'queued']);
    expect(new Set(rows.map((r: { batchId: string }) => r.batchId)).size).toBe(1);
    expect(fake.server.calls(ASSIGN)).toHaveLength(0);
    // By seat id: a queued seat is not reclaimed a second time.
    const bySeat = await cli(
      'reclaim',
      '--seat',
      String(rows[0].subscriberId),
      '--dry-run',
      '--json',
      ...AS_IT,
    );
    expect(JSON.parse(bySeat.out)[0]).toMatchObject({
      state: 'blocked',
      blockers: [
        {
          code: 'in-progress',
          message: `a reclaim of this seat is already queued (action ${rows[0].actionId})`,
        },
      ],
    });

    const batch = await cli('reclaim', '--sku', 'POWER_BI_PRO', '--all-idle', '--yes', ...AS_IT);
    expect(batch.code).toBe(0);
    expect(batch.out).toMatch(/lee\.gu@example\.com.*done/);
    expect(licensesOf(USER.lee)).toEqual([SKU.ENTERPRISEPACK]);
    const listed = await cli('actions', '--json', ...AS_IT);
    expect(JSON.parse(listed.out).map((r: { sku: string; state: string }) => [r.sku, r.state])).toEqual([
      ['POWER_BI_PRO', 'done'],
      ['SPE_E5', 'queued'],
      ['SPE_E5', 'queued'],
    ]);
  });

  it('asks the holder, who sees the question and releases the seat from the command line', async () => {
    const asked = await cli(
      'reclaim',
      '--email',
      'lee.gu@example.com',
      '--sku',
      'ENTERPRISEPACK',
      '--ask-holder',
      '--ask-days',
      '2',
      '--yes',
      '--json',
      ...AS_IT,
    );
    expect(asked.code).toBe(0);
    const [row] = JSON.parse(asked.out);
    expect(row).toMatchObject({ state: 'asking', ask: { holder: 'lee.gu@example.com', answer: null } });

    const questions = await cli('asks', '--as', 'lee.gu@example.com');
    expect(questions.code).toBe(0);
    expect(questions.out).toContain('Do you still need Office 365 E3 (lee.gu@example.com)?');
    expect(questions.out).toContain(`seatkeeper answer ${row.actionId} keep`);
    // Reading them is their delivery.
    expect(await count(store, `SELECT 1 FROM notifications WHERE sent_at IS NULL`)).toBe(0);
    expect((await cli('asks', '--as', 'adele.vance@example.com')).out).toContain('No open questions.');

    const released = await cli('answer', row.actionId, 'release', '--as', 'lee.gu@example.com', '--json');
    expect(released.code).toBe(0);
    expect(JSON.parse(released.out)).toEqual([
      expect.objectContaining({ state: 'done', ask: expect.objectContaining({ answer: 'release' }) }),
    ]);
    expect(licensesOf(USER.lee)).toEqual([SKU.POWER_BI_PRO]);
  });

  it('prints the audit log as JSON since a date and as CSV through export audit', async () => {
    await cli('reclaim', '--email', 'lee.gu@example.com', '--sku', 'POWER_BI_PRO', '--yes', ...AS_IT);
    const today = new Date().toISOString().slice(0, 10);
    const json = await cli('audit', '--since', today, '--actor', 'it.lead@example.com', '--json', ...AS_IT);
    expect(json.code).toBe(0);
    expect(
      JSON.parse(json.out).map((r: { action: string; surface: string; target: string }) => [
        r.action,
        r.surface,
        r.target,
      ]),
    ).toEqual([
      ['reclaim.requested', 'cli', 'POWER_BI_PRO/lee.gu@example.com'],
      ['reclaim', 'cli', 'POWER_BI_PRO/lee.gu@example.com'],
    ]);
    expect((await cli('audit', '--since', '2999-01-01', '--json', ...AS_IT)).out.trim()).toBe('[]');
    expect((await cli('audit', '--since', 'yesterday', ...AS_IT)).code).toBe(2);
    expect((await cli('audit', '--as', 'desk@example.com')).code).toBe(3);

    const csv = await cli('export', 'audit', '--format', 'csv', ...AS_IT);
    expect(csv.code).toBe(0);
    expect(csv.out.split('\r\n')[0]).toBe('id,at,actor,surface,action,target,before,after');
    expect(csv.out).toContain(',it.lead@example.com,cli,reclaim,POWER_BI_PRO/lee.gu@example.com,');
  });
});
