/** Acting on seats: reclaim (with preview, ask-the-holder, undo, retry), clearing, and the audit log. */
import { HOLDER_ASK, HOLDER_ASK_REMINDER } from '../../src/actions/holder-asks.ts';
import { deliverNotifications, ReaderNotifier } from '../../src/actions/notifier.ts';
import { queryAudit } from '../audit-query.ts';
import { assignToPerson, markAccount, noteAccount } from '../clearing-actions.ts';
import { ALL_SURFACES, listing, PAGING, page } from '../command-kit.ts';
import { ACCOUNT_KINDS } from '../exemptions.ts';
import {
  answerHolder,
  listActions,
  openAsks,
  previewReclaim,
  reclaim,
  retryAction,
  showAction,
  summarizePreview,
  undoReclaim,
} from '../reclaim.ts';
import type { ArgSpec, ArgValues, CommandOutput, CommandSpec } from '../registry.ts';
import { fail, ok, type Result, type Surface } from '../types.ts';

const NO_WAIT: ArgSpec = {
  name: 'no-wait',
  kind: 'flag',
  description: 'only queue the vendor call (the service carries it out); do not wait for the vendor’s answer',
};

/**
 * Acting on seats is offered where the actor is known and the card can show the outcome: the CLI, both chat
 * surfaces and the signed-in web console (buttons on their cards run these same entries, with the role checked
 * again on every click).
 */
const CHAT_SURFACES: readonly Surface[] = ['cli', 'slack', 'teams', 'web'];

const one = <T>(view: string, result: Result<T>): Result<CommandOutput> =>
  result.ok ? ok({ view, rows: [result.value], total: 1, empty: '' }) : result;

const many = <T>(view: string, empty: string, result: Result<T[]>): Result<CommandOutput> =>
  result.ok ? ok({ view, rows: result.value, total: result.value.length, empty }) : result;

const text = (args: ArgValues, name: string) => args[name] as string | undefined;

export const ACTION_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'reclaim',
    aliases: [],
    summary:
      'Reclaim a seat (or every idle seat of a SKU) through the vendor: preview first, --yes to act, --dry-run to only preview',
    args: [
      { name: 'email', kind: 'option', description: 'the account’s e-mail (or login) holding the seat' },
      { name: 'sku', kind: 'option', description: 'the SKU (publisher part number) of the seat' },
      {
        name: 'seat',
        kind: 'option',
        type: 'int',
        min: 1,
        description: 'the seat’s inventory id, instead of --email and --sku (when an address holds several)',
      },
      { name: 'all-idle', kind: 'flag', description: 'every seat of the SKU with an open idle finding' },
      {
        name: 'dry-run',
        kind: 'flag',
        description: 'show the preview (evidence, savings, blockers); change nothing',
      },
      {
        name: 'yes',
        kind: 'flag',
        description: 'reclaim without asking again (the preview is the confirmation)',
      },
      NO_WAIT,
      {
        name: 'ask-holder',
        kind: 'flag',
        description: 'ask the seat holder Keep/Release first (removal proceeds on Release or no answer)',
      },
      {
        name: 'ask-days',
        kind: 'option',
        type: 'int',
        min: 1,
        max: 60,
        description: 'days the holder has to answer (default 3)',
      },
      {
        name: 'id',
        kind: 'option',
        description: 'a UUID naming this request: sending it again never reclaims twice',
      },
    ],
    examples: [
      'reclaim --email ana@example.com --sku FIGMA_PRO --dry-run',
      'reclaim --email ana@example.com --sku FIGMA_PRO --yes',
      'reclaim --sku FIGMA_PRO --all-idle --dry-run',
    ],
    role: 'it-manager',
    surfaces: CHAT_SURFACES,
    run: async (ctx, args) => {
      const input = {
        sku: text(args, 'sku'),
        email: text(args, 'email'),
        subscriberId: args.seat as number | undefined,
        allIdle: args['all-idle'] === true,
        requestId: text(args, 'id'),
        askHolder: args['ask-holder'] === true,
        askDays: args['ask-days'] as number | undefined,
      };
      const empty = input.allIdle
        ? `No idle seat of ${input.sku}: nothing to reclaim.`
        : input.subscriberId !== undefined
          ? `No seat ${input.subscriberId} in the inventory.`
          : `No seat of ${input.sku} is held by ${input.email}.`;
      if (args['dry-run'] === true) return many('reclaim', empty, await previewReclaim(ctx, input));
      if (args.yes !== true) {
        // Reclaiming is destructive: without --yes the preview is shown and nothing happens.
        const preview = await previewReclaim(ctx, input);
        if (!preview.ok) return preview;
        if (preview.value.length === 0) return many('reclaim', empty, preview);
        return fail(
          'INVALID_ARGUMENT',
          `Nothing was reclaimed. Preview:\n${summarizePreview(preview.value)}\nRun again with --yes to reclaim (or --dry-run to see the whole preview).`,
        );
      }
      return many('reclaim', empty, await reclaim(ctx, { ...input, wait: args['no-wait'] !== true }));
    },
  },
  {
    name: 'undo',
    aliases: [],
    summary: 'Undo a reclaim within its window (default 7 days), where the vendor allows it',
    args: [
      { name: 'action', kind: 'positional', required: true, description: 'the reclaim’s action id' },
      NO_WAIT,
    ],
    examples: ['undo 0b7d5c1e-3f5a-4c1d-9a51-7f0e2d3c4b5a'],
    role: 'it-manager',
    surfaces: CHAT_SURFACES,
    run: async (ctx, args) =>
      one(
        'actions',
        await undoReclaim(ctx, { actionId: args.action as string, wait: args['no-wait'] !== true }),
      ),
  },
  {
    name: 'retry',
    aliases: [],
    summary: 'Try a failed reclaim or undo again',
    args: [
      { name: 'action', kind: 'positional', required: true, description: 'the failed action’s id' },
      NO_WAIT,
    ],
    examples: ['retry 0b7d5c1e-3f5a-4c1d-9a51-7f0e2d3c4b5a'],
    role: 'it-manager',
    surfaces: CHAT_SURFACES,
    run: async (ctx, args) =>
      one(
        'actions',
        await retryAction(ctx, { actionId: args.action as string, wait: args['no-wait'] !== true }),
      ),
  },
  {
    name: 'actions',
    aliases: [],
    summary: 'Reclaims and undos with their state and the vendor’s answer, newest first',
    args: [
      {
        name: 'state',
        kind: 'option',
        description: 'only this state (asking, queued, running, done, failed, cancelled, undone)',
      },
      { name: 'batch', kind: 'option', description: 'only the actions of this batch id' },
      ...PAGING,
    ],
    examples: ['actions', 'actions --state failed'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      listing(
        'actions',
        'No actions.',
        await listActions(ctx, { state: text(args, 'state'), batchId: text(args, 'batch'), ...page(args) }),
      ),
  },
  {
    name: 'action',
    aliases: [],
    summary: 'One action: its state, the vendor’s answer, the holder’s answer',
    args: [{ name: 'id', kind: 'positional', required: true, description: 'the action id' }],
    examples: ['action 0b7d5c1e-3f5a-4c1d-9a51-7f0e2d3c4b5a'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) => one('actions', await showAction(ctx, { actionId: args.id as string })),
  },
  {
    name: 'asks',
    aliases: ['questions'],
    summary: 'The "still need it? Keep / Release" questions put to you (--all: to everyone)',
    args: [{ name: 'all', kind: 'flag', description: 'every open question (it-manager)' }],
    examples: ['asks', 'asks --all'],
    role: 'member',
    surfaces: ['cli'],
    run: async (ctx, args) => {
      const asks = await openAsks(ctx, { all: args.all === true });
      // Reading them here is their delivery: the chat surfaces need not send them again.
      if (asks.ok && ctx.actor.personId !== null) {
        await deliverNotifications(ctx.store, [new ReaderNotifier(ctx.actor.surface, ctx.actor.personId)], {
          kinds: [HOLDER_ASK, HOLDER_ASK_REMINDER],
          now: ctx.now(),
        });
      }
      return many('asks', 'No open questions.', asks);
    },
  },
  {
    name: 'answer',
    aliases: [],
    summary:
      'Answer a "still need it?" question: keep (the seat stays, exempted) or release (it is reclaimed)',
    args: [
      {
        name: 'action',
        kind: 'positional',
        required: true,
        description: 'the action id the question is about',
      },
      { name: 'answer', kind: 'positional', required: true, description: 'keep or release' },
      NO_WAIT,
    ],
    examples: ['answer 0b7d5c1e-3f5a-4c1d-9a51-7f0e2d3c4b5a keep'],
    role: 'member',
    surfaces: CHAT_SURFACES,
    run: async (ctx, args) =>
      one(
        'actions',
        await answerHolder(ctx, {
          actionId: args.action as string,
          answer: String(args.answer).toLowerCase(),
          wait: args['no-wait'] !== true,
        }),
      ),
  },
  {
    name: 'clearing assign',
    aliases: [],
    summary:
      'Assign an unmatched account to a person: its e-mail becomes their alias, and it leaves clearing',
    args: [
      { name: 'email', kind: 'option', required: true, description: 'the account’s e-mail' },
      { name: 'person', kind: 'option', required: true, description: 'any e-mail of the person' },
    ],
    examples: ['clearing assign --email a.lopez@agency.example --person ana@example.com'],
    role: 'it-manager',
    surfaces: CHAT_SURFACES,
    run: async (ctx, args) =>
      many(
        'clearing-actions',
        '',
        await assignToPerson(ctx, { email: text(args, 'email'), person: text(args, 'person') }),
      ),
  },
  {
    name: 'clearing mark',
    aliases: [],
    summary: `Mark an account as ${ACCOUNT_KINDS.filter((k) => k !== 'person').join(', ')} (it leaves clearing), or back to person`,
    args: [
      { name: 'email', kind: 'option', required: true, description: 'the account’s e-mail or login' },
      { name: 'kind', kind: 'option', required: true, description: ACCOUNT_KINDS.join(', ') },
      { name: 'note', kind: 'option', description: 'why (kept on the account)' },
    ],
    examples: ['clearing mark --email scanner@example.com --kind service --note "office scanner"'],
    role: 'it-manager',
    surfaces: CHAT_SURFACES,
    run: async (ctx, args) =>
      many(
        'clearing-actions',
        '',
        await markAccount(ctx, {
          email: text(args, 'email'),
          kind: text(args, 'kind'),
          note: text(args, 'note'),
        }),
      ),
  },
  {
    name: 'clearing note',
    aliases: [],
    summary: 'Leave a note on an account (e.g. who was asked about it)',
    args: [
      { name: 'email', kind: 'option', required: true, description: 'the account’s e-mail or login' },
      { name: 'note', kind: 'option', required: true, description: 'the note' },
    ],
    examples: ['clearing note --email x@agency.example --note "asked HR, 2026-11-20"'],
    role: 'it-manager',
    surfaces: CHAT_SURFACES,
    run: async (ctx, args) =>
      many(
        'clearing-actions',
        '',
        await noteAccount(ctx, { email: text(args, 'email'), note: text(args, 'note') }),
      ),
  },
  {
    name: 'audit',
    aliases: [],
    summary: 'The audit log: who did what, where and when, with before and after (CSV: export audit)',
    args: [
      { name: 'since', kind: 'option', description: 'from this date (YYYY-MM-DD) or time, inclusive' },
      { name: 'until', kind: 'option', description: 'before this date or time' },
      { name: 'actor', kind: 'option', description: 'only this actor (e-mail, operator, seatkeeper)' },
      {
        name: 'action',
        kind: 'option',
        description: 'only this action (reclaim also matches reclaim.failed)',
      },
      ...PAGING,
    ],
    examples: ['audit --since 2026-11-01 --json', 'audit --actor ana@example.com'],
    role: 'it-manager',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      listing(
        'audit',
        'No audit entries match.',
        await queryAudit(ctx, {
          since: text(args, 'since'),
          until: text(args, 'until'),
          actor: text(args, 'actor'),
          action: text(args, 'action'),
          ...page(args),
        }),
      ),
  },
];
