/**
 * The connector registry: which connectors exist, and how to build the configured ones. The import service, the
 * scheduler and the CLI go through here; nothing else names a vendor.
 */
import {
  CONNECTOR_GROUPS,
  type Config,
  type ConnectorName,
  configuredConnectors,
} from '../src/config/config.ts';
import { createAdobeConnector } from './adobe-connector.ts';
import { type CsvProblem, createCsvConnector } from './csv-connector.ts';
import { createGithubConnector } from './github-connector.ts';
import { createGoogleConnector } from './google-connector.ts';
import { createM365Connector } from './m365-connector.ts';
import type { Connector, ConnectorDeps } from './types.ts';

export const CONNECTOR_NAMES = Object.keys(CONNECTOR_GROUPS) as ConnectorName[];

export interface BuildOptions extends ConnectorDeps {
  /** CSV: skip bad rows instead of rejecting the files. */
  skipInvalid?: boolean;
  onInvalidRow?: (problem: CsvProblem) => void;
}

/** Builds a configured connector. @throws Error naming the variables to set when it is not configured. */
export function createConnector(name: ConnectorName, config: Config, options: BuildOptions = {}): Connector {
  if (!configuredConnectors(config).includes(name)) {
    throw new Error(
      `The ${name} connector is not configured: set ${CONNECTOR_GROUPS[name].join(', ')}. See README, "Configuration".`,
    );
  }
  switch (name) {
    case 'm365':
      return createM365Connector(config, options);
    case 'adobe':
      return createAdobeConnector(config, options);
    case 'google':
      return createGoogleConnector(config, options);
    case 'github':
      return createGithubConnector(config, options);
    case 'csv':
      return createCsvConnector({
        dir: config.CSV_DIR as string,
        skipInvalid: options.skipInvalid,
        onInvalidRow: options.onInvalidRow,
      });
  }
}

/** The directory of persons: PERSON_SOURCE, else the first configured of m365, google, csv. */
export function personSource(config: Config): ConnectorName | undefined {
  if (config.PERSON_SOURCE) return config.PERSON_SOURCE;
  const configured = configuredConnectors(config);
  return (['m365', 'google', 'csv'] as const).find((name) => configured.includes(name));
}
