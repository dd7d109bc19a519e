import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configuredConnectors, isSecret, loadConfig, VARIABLES } from '../../src/config/config.ts';

const names = Object.keys(VARIABLES);

describe('configuration', () => {
  it('starts with nothing configured: embedded database, port 3978, no connector', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 3978, SEATKEEPER_DATA_DIR: './data', NODE_ENV: 'development' });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(configuredConnectors(config)).toEqual([]);
  });

  it('names the variable and what was expected in one line, hiding secret values', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(
      "Configuration error: LOG_LEVEL is invalid: expected one of fatal, error, warn, info, debug, trace, silent (got 'loud').",
    );
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:pw@db/x' })).toThrow(
      'Configuration error: DATABASE_URL is invalid: expected a postgres:// or postgresql:// connection string (got a value).',
    );
    expect(() => loadConfig({ GRAPH_BASE_URL: 'http://graph.example' })).toThrow(
      "GRAPH_BASE_URL is invalid: expected an https:// URL (got 'http://graph.example')",
    );
    expect(() => loadConfig({ SEATKEEPER_IMPORT_INTERVAL: 'often' })).toThrow(
      /SEATKEEPER_IMPORT_INTERVAL is invalid/,
    );
  });

  it('refuses a half-configured connector, naming the missing variable', () => {
    expect(() => loadConfig({ M365_TENANT_ID: 't', M365_CLIENT_ID: 'c' })).toThrow(
      'Configuration error: M365_CLIENT_SECRET is invalid: expected a value, because M365_TENANT_ID, M365_CLIENT_ID are set for the m365 connector (it is not set).',
    );
    expect(() => loadConfig({ PERSON_SOURCE: 'google' })).toThrow(
      /PERSON_SOURCE is invalid: expected a configured connector/,
    );
    const config = loadConfig({ GITHUB_TOKEN: 'ghp_x', GITHUB_ORG: 'acme', CSV_DIR: '/tmp' });
    expect(configuredConnectors(config)).toEqual(['github', 'csv']);
  });

  it('treats credentials as secrets and endpoints as not', () => {
    expect(
      ['M365_CLIENT_SECRET', 'GITHUB_TOKEN', 'DATABASE_URL', 'GOOGLE_SERVICE_ACCOUNT_FILE'].every(isSecret),
    ).toBe(true);
    expect(['GOOGLE_TOKEN_URL', 'GRAPH_BASE_URL', 'PORT', 'GITHUB_ORG'].some(isSecret)).toBe(false);
  });

  it('documents every variable in README and .env.example, and nothing that does not exist', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'));
    const documented = [...table.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...names].sort());
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const inExample = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect([...new Set(inExample)].sort()).toEqual([...names].sort());
    // The example file must itself be a valid configuration.
    const values = Object.fromEntries(
      [...example.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2]?.trim() ?? '']),
    );
    expect(() => loadConfig(values)).not.toThrow();
  });
});
