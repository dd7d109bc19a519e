import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importSource } from '../../src/inventory/import-service.ts';
import type { Store } from '../../src/store/store.ts';
import { GraphFake, odataError } from '../fakes/graph-fake.ts';
import { graphConfig } from '../support/graph-env.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const NOW = new Date('2026-11-20T08:00:00Z');
const THIRD_PARTY = '1b8e2c4d-0000-4a1b-9c2d-3e4f5a6b7c8d';

describe('an import of Microsoft 365, as the CLI and the schedule run it', () => {
  let fake: GraphFake;
  let db: TestDatabase;
  let store: Store;

  beforeEach(async () => {
    fake = await new GraphFake().start();
    // A third-party app that two people signed in to: shadow IT, since no license is for it.
    fake.servicePrincipals = [
      {
        id: 'sp-miro',
        appId: 'app-miro',
        displayName: 'Miro',
        appOwnerOrganizationId: THIRD_PARTY,
        servicePrincipalType: 'Application',
        accountEnabled: true,
        publisherName: 'Miro Inc.',
        tags: [],
      },
    ];
    fake.permissionGrants = ['user-1', 'user-2'].map((principalId, i) => ({
      id: `g${i}`,
      clientId: 'sp-miro',
      consentType: 'Principal' as const,
      principalId,
      resourceId: 'sp-graph',
      scope: 'User.Read',
    }));
    db = await createTestDatabase();
    store = await db.open();
  });
  afterEach(async () => {
    await store?.close();
    await db?.drop();
    await fake?.stop();
  });

  const run = () => importSource(store, graphConfig(db, fake), 'm365', { trigger: 'test', now: () => NOW });

  /** The audited steps that follow an import: each recomputation of findings is one of them. */
  async function steps() {
    const rows = await store.pool.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE action IN ('import', 'shadow.scan', 'findings.recompute') ORDER BY id`,
    );
    return rows.rows.map((r) => r.action);
  }

  async function openFindings() {
    const rows = await store.pool.query<{ kind: string; n: number }>(
      `SELECT kind, count(*)::int AS n FROM findings WHERE status = 'open' GROUP BY kind ORDER BY kind`,
    );
    return Object.fromEntries(rows.rows.map((r) => [r.kind, r.n]));
  }

  it('scans the shadow IT of the tenant and recomputes the findings once, with the shadow app among them', async () => {
    await run();
    // The scan recomputes the findings in its own transaction: no second recomputation after it.
    expect(await steps()).toEqual(['import', 'shadow.scan']);
    const findings = await openFindings();
    expect(findings.shadow).toBe(1);
    const scan = await store.pool.query(`SELECT after FROM audit_log WHERE action = 'shadow.scan'`);
    expect(scan.rows[0]?.after).toMatchObject({ source: 'm365', apps: 1, shadowFindings: 1 });
    expect(scan.rows[0]?.after.findings.open).toBe(
      Object.values(findings).reduce((a: number, b) => a + (b as number), 0),
    );
  });

  it('recomputes the findings all the same when the shadow scan fails, and the import stands', async () => {
    fake.server.inject({
      path: /servicePrincipals/,
      ...odataError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
    });
    const result = await run();
    expect(result.counts.accounts).toBeGreaterThan(0);
    expect(await steps()).toEqual(['import', 'findings.recompute']);
    const findings = await openFindings();
    expect(findings.shadow).toBeUndefined();
    expect(Object.keys(findings).length).toBeGreaterThan(0);
  });
});
