/**
 * The commands Teams offers: the registry's Teams commands, plus `mine` while the registry has none (the Slack
 * surface carries the same stop-gap; it belongs in `handlers/commands/inventory.ts`).
 */
import { listing, PAGING, page } from '../../../handlers/command-kit.ts';
import { whoHas } from '../../../handlers/inventory-queries.ts';
import type { CommandSpec } from '../../../handlers/registry.ts';
import { fail } from '../../../handlers/types.ts';

/** "What do I have?": the asking person's own seats, through every address of theirs. */
export const MINE: CommandSpec = {
  name: 'mine',
  aliases: ['me', 'my-seats'],
  summary: 'The seats you hold yourself',
  args: [...PAGING],
  examples: ['mine'],
  role: 'member',
  surfaces: ['teams'],
  run: async (ctx, args) => {
    if (!ctx.actor.email) {
      return fail('NOT_FOUND', 'Seatkeeper does not know your e-mail address, so it cannot find your seats.');
    }
    return listing(
      'subscribers',
      `You hold no seat Seatkeeper knows of (as ${ctx.actor.email}).`,
      await whoHas(ctx, { query: ctx.actor.email, ...page(args) }),
    );
  },
};

/** The registry (or a test's) plus the Teams stop-gaps it does not have yet. */
export function withTeamsCommands(commands: readonly CommandSpec[]): CommandSpec[] {
  const mine = commands.find((c) => c.name === 'mine');
  return mine ? [...commands] : [...commands, MINE];
}
