/** The commands `/license` and the buttons offer (the registry's Slack commands), and page sizes. */
import { COMMANDS, type CommandSpec, findCommand } from '../../../handlers/registry.ts';

/** Rows shown per page: plain lists, and lists whose rows carry buttons (two blocks per row). */
export const PAGE_SIZE = 20;
export const ACTION_PAGE_SIZE = 10;

/** The registry's "what do I have?" command, which the App Home shows too. */
export const MINE = findCommand('mine') as CommandSpec;

/** The commands offered on Slack: the registry's Slack commands. */
export function slackCommands(): CommandSpec[] {
  return COMMANDS.filter((c) => c.surfaces.includes('slack'));
}

/** A command by name or alias, when Slack offers it. */
export function findSlackCommand(name: string): CommandSpec | undefined {
  const key = name.toLowerCase();
  const spec = findCommand(key);
  return spec?.surfaces.includes('slack') ? spec : undefined;
}
