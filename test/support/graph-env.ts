import { type Config, loadConfig } from '../../src/config/config.ts';
import type { GraphFake } from '../fakes/graph-fake.ts';
import type { TestDatabase } from './test-store.ts';

/** The variables that point the Microsoft 365 connector at the Graph fake (token endpoint included). */
export function graphEnv(graph: GraphFake): Record<string, string> {
  return {
    M365_TENANT_ID: graph.org.tenantId,
    M365_CLIENT_ID: graph.clientId,
    M365_CLIENT_SECRET: graph.clientSecret,
    GRAPH_BASE_URL: graph.url,
    MS_LOGIN_URL: graph.url,
  };
}

/** A quiet test configuration on `db` importing Microsoft 365 from the Graph fake; `over` adds or replaces variables. */
export function graphConfig(db: TestDatabase, graph: GraphFake, over: Record<string, string> = {}): Config {
  return loadConfig({ ...db.env, LOG_LEVEL: 'silent', NODE_ENV: 'test', ...graphEnv(graph), ...over });
}
