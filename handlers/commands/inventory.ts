/** Inventory questions: who holds what, seats per license, a person's seats, clearing. */

import { ALL_SURFACES, listing, PAGING, page } from '../command-kit.ts';
import { clearing, person, seats, whoHas } from '../inventory-queries.ts';
import type { CommandSpec } from '../registry.ts';
import { fail, ok } from '../types.ts';

export const INVENTORY_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'who-has',
    aliases: ['whohas', 'who'],
    summary: 'Who holds a seat of an app or SKU, or which seats an e-mail holds',
    args: [
      { name: 'query', kind: 'positional', required: true, description: 'app name, SKU or e-mail' },
      ...PAGING,
    ],
    examples: ['who-has figma', 'who-has SPE_E5', 'who-has ana@example.com'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      listing(
        'subscribers',
        `No license or person matches '${String(args.query)}'.`,
        await whoHas(ctx, { query: args.query as string, ...page(args) }),
      ),
  },
  {
    name: 'seats',
    aliases: ['licenses', 'licences'],
    summary: 'Purchased, consumed and available seats per license',
    args: [{ name: 'app', kind: 'positional', description: 'app name or SKU (all when omitted)' }, ...PAGING],
    examples: ['seats', 'seats adobe'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      listing(
        'seats',
        args.app ? `No license matches '${String(args.app)}'.` : 'No licenses yet: run an import first.',
        await seats(ctx, { app: args.app as string | undefined, ...page(args) }),
      ),
  },
  {
    name: 'person',
    aliases: ['user'],
    summary: 'A person, their addresses and every seat they hold',
    args: [
      {
        name: 'email',
        kind: 'positional',
        required: true,
        description: 'any of the person’s e-mail addresses',
      },
    ],
    examples: ['person ana@example.com'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) => {
      const result = await person(ctx, { email: args.email as string });
      if (!result.ok) return result;
      return ok({
        view: 'persons',
        rows: result.value,
        total: result.value.length,
        empty: `No license or person matches '${String(args.email)}'.`,
      });
    },
  },
  {
    name: 'clearing',
    aliases: ['unmatched'],
    summary: 'Accounts whose e-mail matches no person (clearing required)',
    args: [...PAGING],
    examples: ['clearing'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      listing(
        'clearing',
        'Clearing is empty: every account is matched to a person.',
        await clearing(ctx, page(args)),
      ),
  },
  {
    name: 'mine',
    aliases: ['me', 'my-seats'],
    summary: 'The seats you hold yourself',
    args: [...PAGING],
    examples: ['mine'],
    role: 'member',
    surfaces: ALL_SURFACES,
    // "What do I have?": the asking person's own seats, through every address of theirs; nobody else's.
    run: async (ctx, args) => {
      if (!ctx.actor.email) {
        return fail(
          'NOT_FOUND',
          'Seatkeeper does not know your e-mail address, so it cannot find your seats.',
        );
      }
      return listing(
        'subscribers',
        `You hold no seat Seatkeeper knows of (as ${ctx.actor.email}).`,
        await whoHas(ctx, { query: ctx.actor.email, ...page(args) }),
      );
    },
  },
];
