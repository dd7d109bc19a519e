import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config.ts';
import { teamsAuthConfig } from '../../src/surfaces/teams/teams-auth.ts';
import { parseTeamsSettings } from '../../src/surfaces/teams/teams-settings.ts';

const APP_ID = '2f9b6e3a-1c4d-4e5f-8a7b-9c0d1e2f3a4b';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('Teams settings', () => {
  it('maps an app id with a password to a single-tenant client-secret connection', () => {
    const setup = parseTeamsSettings(
      { MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_PASSWORD: 's3cret', MICROSOFT_APP_TENANT_ID: TENANT },
      'production',
    );
    if (!setup.enabled) throw new Error('expected the surface to run');
    expect(setup.settings.auth).toBe('single-tenant');
    const auth = teamsAuthConfig(setup.settings);
    expect(auth).toMatchObject({
      clientId: APP_ID,
      clientSecret: 's3cret',
      tenantId: TENANT,
      authType: 'ClientSecret',
    });
    expect(auth.issuers).toContain(`https://login.microsoftonline.com/${TENANT}/v2.0`);
  });

  it('maps an app id without a password to a user-assigned managed identity', () => {
    const setup = parseTeamsSettings(
      { MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_TENANT_ID: TENANT },
      'production',
    );
    if (!setup.enabled) throw new Error('expected the surface to run');
    expect(setup.settings.auth).toBe('managed-identity');
    expect(teamsAuthConfig(setup.settings)).toMatchObject({
      clientId: APP_ID,
      authType: 'UserManagedIdentity',
    });
  });

  it('turns authentication off only without an app id outside production', () => {
    const dev = parseTeamsSettings({ TEAMS_CHANNELS: 'it=19:abc@thread.tacv2' }, 'development');
    expect(dev.enabled && dev.settings.auth).toBe('off');
    expect(dev.enabled && [...dev.settings.channels]).toEqual([['it', '19:abc@thread.tacv2']]);
    expect(parseTeamsSettings({}, 'production')).toEqual({
      enabled: false,
      reason: 'not configured (set MICROSOFT_APP_ID and MICROSOFT_APP_TENANT_ID)',
    });
    expect(refusal(() => parseTeamsSettings({ MICROSOFT_APP_TENANT_ID: TENANT }, 'production'))).toContain(
      'MICROSOFT_APP_ID is invalid: expected a value, because MICROSOFT_APP_TENANT_ID is set and production never runs /api/messages without authentication',
    );
  });

  it('names the variable and never shows a secret when a value is wrong', () => {
    expect(
      refusal(() => parseTeamsSettings({ MICROSOFT_APP_ID: 'seatkeeper-bot' }, 'development')),
    ).toContain(
      "MICROSOFT_APP_ID is invalid: expected the bot’s application (client) id, a GUID (got 'seatkeeper-bot')",
    );
    expect(refusal(() => parseTeamsSettings({ MICROSOFT_APP_ID: APP_ID }, 'development'))).toContain(
      'MICROSOFT_APP_TENANT_ID is invalid: expected a value, because MICROSOFT_APP_ID is set',
    );
    const orphan = refusal(() => parseTeamsSettings({ MICROSOFT_APP_PASSWORD: 'hunter2' }, 'development'));
    expect(orphan).toContain('MICROSOFT_APP_ID is invalid');
    expect(orphan).not.toContain('hunter2');
    expect(refusal(() => parseTeamsSettings({ TEAMS_CHANNELS: 'it=general' }, 'development'))).toContain(
      'TEAMS_CHANNELS is invalid',
    );
  });
});
