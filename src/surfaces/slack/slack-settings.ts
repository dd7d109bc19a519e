import type { Config } from '../../config/config.ts';
/**
 * What the Slack surface needs to know. The service builds it once at start-up and hands it to
 * `startSlackSurface`; nothing in the surface reads the environment itself.
 */

/** How Slack reaches the service: HTTP requests to `/slack/events`, or a Socket Mode WebSocket. */
export type SlackTransport = 'http' | 'socket';

export interface SlackSettings {
  /** Bot token (`xoxb-…`): every Web API call. Secret. */
  botToken?: string;
  /** Signing secret: verifies HTTP requests to `/slack/events`. Secret. */
  signingSecret?: string;
  /** App-level token (`xapp-…`) with `connections:write`: Socket Mode instead of HTTP. Secret. */
  appToken?: string;
  /** Web API base URL, ending in `/`. Tests point it at a local fake. */
  apiUrl: string;
  /** Channel (id, or `#name` the bot may post to) for the weekly digest; unset: no digest. */
  digestChannel?: string;
  /** Channel for alerts (findings, renewals, overages, import failures) whose target names no channel. */
  alertChannel?: string;
  /** Named channels notifications may target (`{ channel: 'procurement' }`) → Slack channel id or `#name`. */
  channels: Readonly<Record<string, string>>;
  /** When the weekly digest runs: a cron expression in the process time zone (`TZ`). */
  digestCron: string;
  /** How often pending notifications are delivered (an Agenda interval such as `1 minute`). */
  deliveryInterval: string;
  /** IANA time zone of the process (`TZ`), used for the digest's week and dates shown in messages. */
  timeZone: string;
}

export const DEFAULT_SLACK_API_URL = 'https://slack.com/api/';

/** Why the surface cannot start with these settings, or undefined when it can; never quotes a secret. */
export function slackSettingsProblem(settings: SlackSettings): string | undefined {
  if (!settings.botToken && !settings.signingSecret && !settings.appToken) return 'not configured';
  if (!settings.botToken) return 'SLACK_BOT_TOKEN is not set';
  if (!settings.appToken && !settings.signingSecret) {
    return 'set SLACK_SIGNING_SECRET (HTTP at /slack/events) or SLACK_APP_TOKEN (Socket Mode)';
  }
  if (!/^https?:\/\/\S+\/$/.test(settings.apiUrl)) return 'SLACK_API_URL must be an http(s) URL ending in /';
  return undefined;
}

/** Which transport the settings select: Socket Mode whenever an app-level token is present. */
export function slackTransport(settings: SlackSettings): SlackTransport {
  return settings.appToken ? 'socket' : 'http';
}

/** `procurement=C0123,it=#it-licenses` → `{ procurement: 'C0123', it: '#it-licenses' }`. */
export function parseChannelMap(text: string | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const [name, channel] = pair.split('=').map((s) => s.trim());
    if (name && channel) map[name.toLowerCase()] = channel;
  }
  return map;
}

/** The Slack settings of the parsed configuration. */
export function slackSettingsFromConfig(config: Config): SlackSettings {
  const apiUrl = config.SLACK_API_URL;
  return {
    botToken: config.SLACK_BOT_TOKEN,
    signingSecret: config.SLACK_SIGNING_SECRET,
    appToken: config.SLACK_APP_TOKEN,
    apiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`,
    digestChannel: config.SLACK_DIGEST_CHANNEL,
    alertChannel: config.SLACK_ALERT_CHANNEL,
    channels: parseChannelMap(config.SLACK_CHANNELS),
    digestCron: config.SLACK_DIGEST_CRON,
    deliveryInterval: config.SLACK_DELIVERY_INTERVAL,
    timeZone: config.TZ ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC',
  };
}
