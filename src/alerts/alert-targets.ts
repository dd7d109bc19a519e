/**
 * Where IT alerts go: the Slack alert channel and the Teams channels named `alerts` or `it`, as configured. Read from
 * the parsed configuration (not from a running surface), so an import run from the command line raises the same
 * alerts as the service's; the surfaces' delivery jobs post them.
 */
import type { Config } from '../config/config.ts';
import { slackSettingsFromConfig, slackSettingsProblem } from '../surfaces/slack/slack-settings.ts';
import {
  alertChannelIds,
  parseTeamsSettings,
  teamsSettingsFromConfig,
} from '../surfaces/teams/teams-settings.ts';

/** One IT channel on one platform. */
export interface AlertTarget {
  platform: 'slack' | 'teams';
  /** Slack: channel id or `#name`; Teams: channel id (`19:…`). */
  channel: string;
}

/** The IT alert channels of every configured chat surface (none when no surface has one). */
export function alertTargets(config: Config): AlertTarget[] {
  const targets: AlertTarget[] = [];
  const slack = slackSettingsFromConfig(config);
  if (slack.alertChannel && slackSettingsProblem(slack) === undefined) {
    targets.push({ platform: 'slack', channel: slack.alertChannel });
  }
  let teams: ReturnType<typeof parseTeamsSettings> | undefined;
  try {
    teams = parseTeamsSettings(teamsSettingsFromConfig(config), config.NODE_ENV);
  } catch {
    // Start-up reports invalid Teams settings; an import is no place to fail over them.
    teams = undefined;
  }
  if (teams?.enabled) {
    for (const channel of alertChannelIds(teams.settings)) targets.push({ platform: 'teams', channel });
  }
  return targets;
}

/** The outbox target of an alert for `to`: pinned to its platform, so only that surface delivers it. */
export function outboxTarget(to: AlertTarget): Record<string, string> {
  return to.platform === 'teams'
    ? { platform: 'teams', teamsChannel: to.channel }
    : { platform: 'slack', channel: to.channel };
}

/** The part of a dedupe key naming the target: one alert per event and channel. */
export const targetKey = (to: AlertTarget): string => `${to.platform}:${to.channel}`;
