/** The commands Teams offers: the registry's Teams commands (`mine` included). */
import type { CommandSpec } from '../../../handlers/registry.ts';

/** The commands the Teams surface works with: the registry's (or a test's copy of it). */
export function withTeamsCommands(commands: readonly CommandSpec[]): CommandSpec[] {
  return [...commands];
}
