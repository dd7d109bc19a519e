/**
 * The Teams surface's settings: the bot's Microsoft Entra identity (single-tenant app registration or user-assigned
 * managed identity; multi-tenant registration is deprecated) and the Teams channels that receive digests and
 * alerts, taken from the parsed configuration and checked here for what the schema alone cannot say.
 */
import { type Config, ConfigError } from '../../config/config.ts';

/** The variables as given (strings, unparsed). */
export interface RawTeamsSettings {
  MICROSOFT_APP_ID?: string;
  MICROSOFT_APP_PASSWORD?: string;
  MICROSOFT_APP_TENANT_ID?: string;
  TEAMS_CHANNELS?: string;
  /** When the weekly digest goes out (cron expression, in the process time zone); default Monday 09:00. */
  TEAMS_DIGEST_CRON?: string;
}

/** How inbound requests are authenticated and outbound calls get their token. */
export type TeamsAuthMode = 'single-tenant' | 'managed-identity' | 'off';

export interface TeamsSettings {
  /** The bot's Microsoft Entra application (client) id; absent only in development with authentication off. */
  appId?: string;
  /** Client secret of a single-tenant app registration; absent with a managed identity. Never logged. */
  appPassword?: string;
  /** The Entra tenant (GUID or verified domain) of the registration. */
  tenantId?: string;
  auth: TeamsAuthMode;
  /** Logical channel name (`it`, `procurement`, as notification targets name them) → Teams channel id (`19:…`). */
  channels: ReadonlyMap<string, string>;
  /** When the weekly digest goes out to the digest channels (cron expression, in the process time zone). */
  digestCron: string;
}

/** Monday 09:00, in the process time zone (`TZ`). */
export const DEFAULT_TEAMS_DIGEST_CRON = '0 9 * * 1';

const unique = (ids: Iterable<string>) => [...new Set(ids)];

/**
 * The Teams channels that receive the weekly digest: those named `digest` (or `digest-<anything>`, for a second
 * audience such as `digest-finance`) in TEAMS_CHANNELS, each once.
 */
export function digestChannelIds(settings: Pick<TeamsSettings, 'channels'>): string[] {
  return unique(
    [...settings.channels]
      .filter(([name]) => name === 'digest' || name.startsWith('digest-'))
      .map(([, id]) => id),
  );
}

/** The IT channels that receive alerts (new findings, overages, import failures): named `alerts` or `it`. */
export function alertChannelIds(settings: Pick<TeamsSettings, 'channels'>): string[] {
  return unique(['alerts', 'it'].flatMap((name) => settings.channels.get(name) ?? []));
}

/** What start-up decides: run the surface with these settings, or leave it off with a reason for the log. */
export type TeamsSetup = { enabled: true; settings: TeamsSettings } | { enabled: false; reason: string };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TENANT = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9-]+(\.[a-z0-9-]+)+)$/i;
const CHANNEL_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const CHANNEL_ID = /^19:\S+$/;

const problem = (variable: string, expected: string, got?: string, secret = false): ConfigError =>
  new ConfigError(
    variable,
    `Configuration error: ${variable} is invalid: ${expected} (${
      got === undefined ? 'it is not set' : secret ? 'got a value' : `got '${got}'`
    }). See README, "Microsoft Teams".`,
  );

/** Parses `it=19:abc@thread.tacv2,procurement=19:def@thread.tacv2`. */
function parseChannels(text: string | undefined): Map<string, string> {
  const channels = new Map<string, string>();
  if (!text) return channels;
  for (const entry of text.split(',')) {
    const [name, id] = entry.split('=', 2).map((s) => s.trim()) as [string, string | undefined];
    if (!CHANNEL_NAME.test(name) || !id || !CHANNEL_ID.test(id) || channels.has(name)) {
      throw problem(
        'TEAMS_CHANNELS',
        'expected comma-separated name=channel-id pairs such as it=19:abc@thread.tacv2, each name once',
        text,
      );
    }
    channels.set(name, id);
  }
  return channels;
}

/**
 * Checks the Teams settings and decides whether the surface runs. Authentication is off only when no app id is set
 * and the service is not in production; in production with no app id the surface stays off, and start-up is refused
 * when other Teams settings show it was meant to run.
 * @throws ConfigError naming the variable and what was expected
 */
export function parseTeamsSettings(raw: RawTeamsSettings, nodeEnv: Config['NODE_ENV']): TeamsSetup {
  const value = (v: string | undefined) => (v?.trim() ? v.trim() : undefined);
  const appId = value(raw.MICROSOFT_APP_ID);
  const appPassword = value(raw.MICROSOFT_APP_PASSWORD);
  const tenantId = value(raw.MICROSOFT_APP_TENANT_ID);
  const channels = parseChannels(value(raw.TEAMS_CHANNELS));
  const digestCron = value(raw.TEAMS_DIGEST_CRON) ?? DEFAULT_TEAMS_DIGEST_CRON;
  if (!/^\S+( \S+){4,5}$/.test(digestCron)) {
    throw problem('TEAMS_DIGEST_CRON', 'expected a cron expression such as `0 9 * * 1`', digestCron);
  }

  if (appId !== undefined && !GUID.test(appId)) {
    throw problem('MICROSOFT_APP_ID', 'expected the bot’s application (client) id, a GUID', appId);
  }
  if (tenantId !== undefined && !TENANT.test(tenantId)) {
    throw problem('MICROSOFT_APP_TENANT_ID', 'expected a tenant id (GUID) or verified domain', tenantId);
  }
  if (appId) {
    if (!tenantId) {
      throw problem(
        'MICROSOFT_APP_TENANT_ID',
        'expected a value, because MICROSOFT_APP_ID is set (multi-tenant bot registration is deprecated: register a single-tenant bot or a user-assigned managed identity)',
      );
    }
    return {
      enabled: true,
      settings: {
        appId,
        appPassword,
        tenantId,
        auth: appPassword ? 'single-tenant' : 'managed-identity',
        channels,
        digestCron,
      },
    };
  }
  const orphan = appPassword
    ? 'MICROSOFT_APP_PASSWORD'
    : tenantId
      ? 'MICROSOFT_APP_TENANT_ID'
      : channels.size > 0
        ? 'TEAMS_CHANNELS'
        : undefined;
  if (nodeEnv === 'production') {
    if (orphan) {
      throw problem(
        'MICROSOFT_APP_ID',
        `expected a value, because ${orphan} is set and production never runs /api/messages without authentication`,
      );
    }
    return { enabled: false, reason: 'not configured (set MICROSOFT_APP_ID and MICROSOFT_APP_TENANT_ID)' };
  }
  if (appPassword) {
    throw problem('MICROSOFT_APP_ID', 'expected a value, because MICROSOFT_APP_PASSWORD is set');
  }
  return { enabled: true, settings: { tenantId, auth: 'off', channels, digestCron } };
}

/** The Teams settings of the parsed configuration. */
export function teamsSettingsFromConfig(config: Config): RawTeamsSettings {
  return {
    MICROSOFT_APP_ID: config.MICROSOFT_APP_ID,
    MICROSOFT_APP_PASSWORD: config.MICROSOFT_APP_PASSWORD,
    MICROSOFT_APP_TENANT_ID: config.MICROSOFT_APP_TENANT_ID,
    TEAMS_CHANNELS: config.TEAMS_CHANNELS,
    TEAMS_DIGEST_CRON: config.TEAMS_DIGEST_CRON,
  };
}
