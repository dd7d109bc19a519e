import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../handlers/audit-query.ts';
import { assignToPerson, markAccount, noteAccount } from '../../handlers/clearing-actions.ts';
import {
  answerHolder,
  listActions,
  openAsks,
  previewReclaim,
  requestReclaim,
  retryAction,
  showAction,
  undoReclaim,
} from '../../handlers/reclaim.ts';
import type { Actor, HandlerContext, Result, Role } from '../../handlers/types.ts';
import type { Config } from '../../src/config/config.ts';
import { importSource } from '../../src/inventory/import-service.ts';
import type { Store } from '../../src/store/store.ts';
import { GraphFake } from '../fakes/graph-fake.ts';
import { graphConfig } from '../support/graph-env.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import { actor, clockAt, contextFor, count, personActor, value } from './support.ts';

type Verb = (ctx: HandlerContext) => Promise<Result<unknown>>;

/**
 * Every seat verb, called as a button would call it (no command registry in between), with the role it needs.
 * Arguments name things that do not exist where that is enough: an allowed actor then gets NOT_FOUND, not a denial.
 */
function verbs(askedAction: string): [string, Role, Verb][] {
  const missing = randomUUID();
  return [
    [
      'reclaim preview',
      'it-manager',
      (c) => previewReclaim(c, { sku: 'POWER_BI_PRO', email: 'lee.gu@example.com' }),
    ],
    ['reclaim', 'it-manager', (c) => requestReclaim(c, { sku: 'NO_SUCH_SKU', email: 'lee.gu@example.com' })],
    ['undo', 'it-manager', (c) => undoReclaim(c, { actionId: missing })],
    ['retry', 'it-manager', (c) => retryAction(c, { actionId: missing })],
    [
      'answer for someone else',
      'it-manager',
      (c) => answerHolder(c, { actionId: askedAction, answer: 'keep' }),
    ],
    ['asks --all', 'it-manager', (c) => openAsks(c, { all: true })],
    [
      'clearing assign',
      'it-manager',
      (c) => assignToPerson(c, { email: 'nobody@example.com', person: 'lee.gu@example.com' }),
    ],
    ['clearing mark', 'it-manager', (c) => markAccount(c, { email: 'nobody@example.com', kind: 'service' })],
    ['clearing note', 'it-manager', (c) => noteAccount(c, { email: 'nobody@example.com', note: 'n' })],
    ['audit', 'it-manager', (c) => queryAudit(c, { limit: 10, offset: 0 })],
    ['actions', 'helpdesk', (c) => listActions(c, { limit: 10, offset: 0 })],
    ['action', 'helpdesk', (c) => showAction(c, { actionId: missing })],
  ];
}

/** Which roles may do what a verb needs (admin everything; finance includes helpdesk's reads). */
const GRANTS: Record<Role | 'none', readonly Role[]> = {
  admin: ['admin', 'it-manager', 'finance', 'helpdesk', 'member'],
  'it-manager': ['it-manager', 'helpdesk', 'member'],
  finance: ['finance', 'helpdesk', 'member'],
  helpdesk: ['helpdesk', 'member'],
  member: ['member'],
  none: [],
};

describe('authorization of the seat verbs, role by role', () => {
  let db: TestDatabase;
  let store: Store;
  let fake: GraphFake;
  let config: Config;
  let askedAction: string;
  const clock = clockAt('2026-11-20T08:00:00Z');

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await db.open();
    fake = await new GraphFake().start();
    config = graphConfig(db, fake);
    await importSource(store, config, 'm365', { trigger: 'test', now: clock.now });
    const it = contextFor(store, config, actor('it.lead@example.com', ['it-manager']), clock.now);
    const [asked] = value(
      await requestReclaim(it, { sku: 'POWER_BI_PRO', email: 'lee.gu@example.com', askHolder: true }),
    );
    askedAction = asked?.actionId as string;
  });
  afterAll(async () => {
    await fake?.stop();
    await db?.drop();
  });

  const cases: [string, () => Promise<Actor>][] = [
    ['admin', async () => actor('admin@example.com', ['admin'])],
    ['it-manager', async () => actor('manager@example.com', ['it-manager'])],
    ['finance', async () => actor('finance@example.com', ['finance'])],
    ['helpdesk', async () => actor('desk@example.com', ['helpdesk'])],
    // A person Seatkeeper knows, who is not the holder asked: `member` only.
    ['member', () => personActor(store, 'adele.vance@example.com')],
    ['none', async () => actor('stranger@example.com', [])],
  ];

  it.each(cases)('%s: allowed exactly what the role grants; every denial is audited', async (role, make) => {
    const who = await make();
    const granted = GRANTS[role as Role | 'none'];
    const ctx = contextFor(store, config, who, clock.now);
    const outcome: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const [name, needs, verb] of verbs(askedAction)) {
      const before = await count(store, `SELECT 1 FROM audit_log WHERE action = 'denied' AND actor = $1`, [
        who.id,
      ]);
      const result = await verb(ctx);
      const denied = !result.ok && result.error.code === 'NOT_AUTHORIZED';
      const audited = await count(store, `SELECT 1 FROM audit_log WHERE action = 'denied' AND actor = $1`, [
        who.id,
      ]);
      outcome[name] = denied ? `denied, audited ${audited - before}` : 'allowed';
      expected[name] = granted.includes(needs) ? 'allowed' : 'denied, audited 1';
    }
    expect(outcome).toEqual(expected);
    // Nothing reached the vendor, whoever asked.
    expect(fake.server.calls(/assignLicense$/)).toHaveLength(0);
  });

  it('lets the holder answer their own question with no role but member', async () => {
    const lee = await personActor(store, 'lee.gu@example.com');
    expect(lee.roles).toEqual(['member']);
    const answered = value(
      await answerHolder(contextFor(store, config, lee, clock.now), {
        actionId: askedAction,
        answer: 'keep',
      }),
    );
    expect(answered).toMatchObject({ state: 'cancelled', ask: { answer: 'keep' } });
  });
});
