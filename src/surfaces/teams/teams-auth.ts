/**
 * Maps the Teams settings onto the Agents SDK's authentication configuration: one connection, used for every
 * service URL, with a client secret (single-tenant registration) or a user-assigned managed identity.
 */
import {
  type AuthConfiguration,
  AuthType,
  CloudAdapter,
  getAuthConfigWithDefaults,
  OutboundHostValidator,
} from '@microsoft/agents-hosting';
import type { TeamsSettings } from './teams-settings.ts';

const CONNECTION = 'serviceConnection';

/**
 * The SDK configuration for these settings. With authentication off it has no client id, which the SDK's JWT
 * middleware treats as anonymous outside production; `parseTeamsSettings` never allows that in production.
 */
export function teamsAuthConfig(settings: TeamsSettings): AuthConfiguration {
  const connection: AuthConfiguration =
    settings.auth === 'off'
      ? {}
      : {
          clientId: settings.appId,
          tenantId: settings.tenantId,
          ...(settings.auth === 'single-tenant'
            ? { clientSecret: settings.appPassword, authType: AuthType.ClientSecret }
            : { authType: AuthType.UserManagedIdentity }),
        };
  return getAuthConfigWithDefaults({
    connections: new Map([[CONNECTION, connection]]),
    connectionsMap: [{ serviceUrl: '*', connection: CONNECTION }],
  });
}

/**
 * The adapter for these settings. With authentication on, outbound calls (replies, updates, proactive sends) may only
 * go to Microsoft's Bot Connector hosts, so a forged or stale `serviceUrl` cannot make the bot send its token
 * elsewhere.
 * @throws Error when the SDK resolved a different app id than configured (e.g. from stray SDK variables)
 */
export function createTeamsAdapter(settings: TeamsSettings, authConfig: AuthConfiguration): CloudAdapter {
  const adapter = new CloudAdapter(
    authConfig,
    undefined,
    undefined,
    { validateServiceUrl: settings.auth !== 'off' },
    new OutboundHostValidator({ enabled: settings.auth !== 'off' }),
  );
  // The SDK merges its own environment variables (clientId, Connections__…) into the configuration; refuse to run
  // with an identity other than the configured one.
  if ((adapter.getClientId() ?? undefined) !== settings.appId) {
    throw new Error(
      'The Agents SDK resolved a different bot app id than MICROSOFT_APP_ID: remove clientId / Connections__* variables from the environment.',
    );
  }
  return adapter;
}
