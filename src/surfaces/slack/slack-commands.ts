/** The commands `/license` and the buttons offer: the registry's Slack commands plus `mine`, and page sizes. */
import { listing, PAGING, page } from '../../../handlers/command-kit.ts';
import { whoHas } from '../../../handlers/inventory-queries.ts';
import { COMMANDS, type CommandSpec, findCommand } from '../../../handlers/registry.ts';
import { fail } from '../../../handlers/types.ts';

/** Rows shown per page: plain lists, and lists whose rows carry buttons (two blocks per row). */
export const PAGE_SIZE = 20;
export const ACTION_PAGE_SIZE = 10;

/**
 * "What do I have?": the asking person's own seats, found through every address of theirs. A member may ask it;
 * no one can ask it about somebody else. (It belongs in the registry once another surface offers it.)
 */
export const MINE: CommandSpec = {
  name: 'mine',
  aliases: ['me', 'my-seats'],
  summary: 'The seats you hold yourself',
  args: [...PAGING],
  examples: ['mine'],
  role: 'member',
  surfaces: ['slack'],
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

/** The commands offered on Slack: the registry's Slack commands, then `mine`. */
export function slackCommands(): CommandSpec[] {
  return [...COMMANDS.filter((c) => c.surfaces.includes('slack')), MINE];
}

/** A command by name or alias, when Slack offers it. */
export function findSlackCommand(name: string): CommandSpec | undefined {
  const key = name.toLowerCase();
  const spec = findCommand(key) ?? (MINE.name === key || MINE.aliases.includes(key) ? MINE : undefined);
  return spec?.surfaces.includes('slack') ? spec : undefined;
}
