/**
 * An in-memory source of vendor data for pipeline tests: a real `Connector` whose pages come from arrays instead
 * of HTTP. Vendor-protocol behaviour is tested against the HTTP fakes; this one exercises the inventory rules.
 */
import type {
  Connector,
  ConnectorCapabilities,
  DirectoryPerson,
  UsageSignal,
  VendorAccount,
  VendorSubscription,
} from '../../connectors/types.ts';

export interface FixtureData {
  subscriptions: VendorSubscription[];
  accounts: VendorAccount[];
  usage?: UsageSignal[];
  persons?: DirectoryPerson[];
  /** Throw this error after yielding this many account pages. */
  failAfterAccountPages?: { pages: number; error: Error };
}

async function* pages<T>(items: readonly T[], size: number, failAfter?: { pages: number; error: Error }) {
  let yielded = 0;
  for (let i = 0; i < items.length; i += size) {
    if (failAfter && yielded === failAfter.pages) throw failAfter.error;
    yield items.slice(i, i + size);
    yielded++;
  }
  if (failAfter && yielded === failAfter.pages) throw failAfter.error;
}

export function fixtureConnector(
  source: string,
  data: FixtureData,
  capabilities: Partial<ConnectorCapabilities> = {},
  pageSize = 2,
): Connector {
  return {
    source,
    capabilities: {
      usage: data.usage !== undefined,
      directory: data.persons !== undefined,
      emails: true,
      removal: false,
      ...capabilities,
    },
    subscriptions: () => pages(data.subscriptions, pageSize),
    accounts: () => pages(data.accounts, pageSize, data.failAfterAccountPages),
    usage: data.usage ? () => pages(data.usage ?? [], pageSize) : undefined,
    persons: data.persons ? () => pages(data.persons ?? [], pageSize) : undefined,
  };
}

export function subscription(over: Partial<VendorSubscription> & { key: string }): VendorSubscription {
  return {
    vendor: 'Microsoft',
    sku: over.key.toUpperCase(),
    name: over.key,
    capabilityStatus: 'Enabled',
    consumedUnits: 0,
    enabledUnits: 10,
    ...over,
  };
}

export function account(
  subscriptionKey: string,
  accountId: string,
  email: string | null,
  over: Partial<VendorAccount> = {},
): VendorAccount {
  return { subscriptionKey, accountId, email, ...over };
}

export function personEntry(email: string, over: Partial<DirectoryPerson> = {}): DirectoryPerson {
  return { email, enabled: true, displayName: email.split('@')[0], ...over };
}
