/**
 * Where IT alerts go: the Slack alert channel and the Teams channels named `alerts` or `it`, as configured. Read from
 * the parsed configuration (not from a running surface), so an import run from the command line raises the same
 * alerts as the service's; the surfaces' delivery jobs post them.
 */
import type { Config } from '../config/config.ts';
import {
  type SlackSettings,
  slackSettingsFromConfig,
  slackSettingsProblem,
} from '../surfaces/slack/slack-settings.ts';
import {
  alertChannelIds,
  parseTeamsSettings,
  type TeamsSettings,
  teamsSettingsFromConfig,
} from '../surfaces/teams/teams-settings.ts';

/** One IT channel on one platform. */
export interface AlertTarget {
  platform: 'slack' | 'teams';
  /** Slack: channel id or `#name`; Teams: channel id (`19:…`). */
  channel: string;
}

/** The chat surfaces the configuration runs: Slack when its settings are complete, Teams when it is enabled. */
function configuredSurfaces(config: Config): { slack?: SlackSettings; teams?: TeamsSettings } {
  const slackSettings = slackSettingsFromConfig(config);
  const slack = slackSettingsProblem(slackSettings) === undefined ? slackSettings : undefined;
  let teams: TeamsSettings | undefined;
  try {
    const setup = parseTeamsSettings(teamsSettingsFromConfig(config), config.NODE_ENV);
    teams = setup.enabled ? setup.settings : undefined;
  } catch {
    // Start-up reports invalid Teams settings; an import or a scan is no place to fail over them.
    teams = undefined;
  }
  return { slack, teams };
}

/** The IT alert channels of every configured chat surface (none when no surface has one). */
export function alertTargets(config: Config): AlertTarget[] {
  const { slack, teams } = configuredSurfaces(config);
  const targets: AlertTarget[] = [];
  if (slack?.alertChannel) targets.push({ platform: 'slack', channel: slack.alertChannel });
  for (const channel of teams ? alertChannelIds(teams) : []) targets.push({ platform: 'teams', channel });
  return targets;
}

/**
 * The platforms that reach the channel named `name`: Slack whenever it runs (it posts to a name through
 * SLACK_CHANNELS, else to `#name`), Teams when TEAMS_CHANNELS names the channel (or `name` is a channel id).
 */
export function platformsReaching(config: Config, name: string): ('slack' | 'teams')[] {
  const { slack, teams } = configuredSurfaces(config);
  const platforms: ('slack' | 'teams')[] = [];
  if (slack) platforms.push('slack');
  if (teams && (teams.channels.has(name.toLowerCase()) || name.startsWith('19:'))) platforms.push('teams');
  return platforms;
}

/** The outbox target of an alert for `to`: pinned to its platform, so only that surface delivers it. */
export function outboxTarget(to: AlertTarget): Record<string, string> {
  return to.platform === 'teams'
    ? { platform: 'teams', teamsChannel: to.channel }
    : { platform: 'slack', channel: to.channel };
}

/** The part of a dedupe key naming the target: one alert per event and channel. */
export const targetKey = (to: AlertTarget): string => `${to.platform}:${to.channel}`;
