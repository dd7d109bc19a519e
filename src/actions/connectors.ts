/**
 * Which connector acts on a license's seats. A license belongs to an import source (`m365`, `adobe`, `csv`, ...);
 * only the vendor connectors with a removal API can reclaim, and only some of them can undo.
 */
import { CONNECTOR_NAMES, createConnector } from '../../connectors/index.ts';
import type { Connector, ConnectorDeps } from '../../connectors/types.ts';
import type { Config, ConnectorName } from '../config/config.ts';

/** A connector for a source, or the reason there is none (in words for the person acting). */
export type ConnectorResolver = (source: string) => Connector | string;

/**
 * Resolves sources to the configured connectors, building each once: a batch then shares one token and one
 * product-profile listing instead of fetching them per seat. `deps.now` is the clock of the request (token lifetimes,
 * signed assertions).
 */
export function configuredConnectors(config: Config, deps: ConnectorDeps = {}): ConnectorResolver {
  const built = new Map<string, Connector | string>();
  return (source) => {
    const known = built.get(source);
    if (known !== undefined) return known;
    let made: Connector | string;
    if (!(CONNECTOR_NAMES as readonly string[]).includes(source) || source === 'csv') {
      made = `seats imported from ${source} cannot be removed through an API: remove the seat in the vendor's console`;
    } else {
      try {
        made = createConnector(source as ConnectorName, config, deps);
      } catch (error) {
        made = (error as Error).message;
      }
    }
    built.set(source, made);
    return made;
  };
}

/** For each source: null when its connector can remove seats, else why not. */
export function removalSupport(
  resolve: ConnectorResolver,
  sources: readonly string[],
): Map<string, string | null> {
  const support = new Map<string, string | null>();
  for (const source of sources) {
    const connector = resolve(source);
    if (typeof connector === 'string') support.set(source, connector);
    else if (!connector.removeSeat || !connector.capabilities.removal)
      support.set(
        source,
        `the ${source} connector cannot remove seats: remove the seat in the vendor's console`,
      );
    else support.set(source, null);
  }
  return support;
}
