/**
 * The buttons on cards, as data. Every button is an `Action.Execute` whose `data` names a registry command and its
 * arguments, so one generic route runs them all: a button appears only when its command is registered (and takes
 * the arguments the button passes), which lets the action commands of the reclaim and renewal issues light up
 * without changes here. Roles are checked again by the handlers when a button is clicked.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ClearingRow, SubscriberRow } from '../../../handlers/inventory-queries.ts';
import type { CommandSpec } from '../../../handlers/registry.ts';
import type { FindingRow, RenewalRow } from '../../../handlers/reports.ts';
import type { CardJson } from './card-templates.ts';

/** `run` executes a command (through a form or confirmation step when it needs one); `view` and `refresh` only render. */
export type ActionVerb = 'run' | 'view' | 'refresh';

/** Argument values a button passes, by argument name. */
export type ArgMap = Record<string, string | number | boolean>;

/** Inputs a form collects before a command runs; each becomes the argument of the same name. */
export const INPUT_KINDS = ['person', 'reason', 'until', 'quantity'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/** The input's id on a card; prefixed so that input values never collide with the action's own data keys. */
export const inputId = (kind: InputKind) => `in-${kind}`;

/** What a card shows: a command's output, or a stored notification. */
export type Origin = { command: string; args: ArgMap } | { notification: number };

const scalar = z.union([z.string().max(500), z.number(), z.boolean()]);
const argMap = z.record(z.string().max(64), scalar);
const origin = z.union([
  z.object({ command: z.string().min(1).max(64), args: argMap }),
  z.object({ notification: z.number().int().positive() }),
]);

/** `action.data` of an invoke: ours, plus the values of the card's inputs that Teams merges in. */
export const actionDataSchema = z.looseObject({
  command: z.string().min(1).max(64).optional(),
  args: argMap.optional(),
  /** The idempotency key; without it, derived from the card id, the command and its arguments. */
  actionId: z.uuid().optional(),
  /** Absent on the first click; `submit` once the form's inputs are given; `confirmed` once confirmed. */
  stage: z.enum(['submit', 'confirmed']).optional(),
  inputs: z
    .array(z.object({ kind: z.enum(INPUT_KINDS), required: z.boolean() }))
    .max(INPUT_KINDS.length)
    .optional(),
  /** Defaults for the form's inputs (the recommended quantity of a resize). */
  defaults: z.object({ quantity: z.number().int().nonnegative().optional() }).optional(),
  origin: origin.optional(),
  cardId: z.string().min(1).max(64).optional(),
  banner: z.string().max(500).optional(),
});
export type ActionData = z.infer<typeof actionDataSchema>;

/** One button a row of a view may carry. */
export interface RowAction<Row> {
  label: string;
  command: string;
  /** The arguments for this row, or undefined when the button does not apply to it. */
  args(row: Row): ArgMap | undefined;
  /** Arguments passed only when the command declares them. */
  optionalArgs?: readonly string[];
  inputs?: readonly { kind: InputKind; required: boolean }[];
  /** A default for the quantity input. */
  quantity?(row: Row): number | undefined;
  style?: 'positive' | 'destructive';
}

const seatArgs = (row: { email: string | null; sku: string | null }): ArgMap | undefined =>
  row.email && row.sku ? { email: row.email, sku: row.sku } : undefined;

const KEEP_INPUTS = [
  { kind: 'reason', required: true },
  { kind: 'until', required: false },
] as const;

const SEAT_ACTIONS: readonly RowAction<SubscriberRow>[] = [
  {
    label: 'Reclaim',
    command: 'reclaim',
    args: (r) => (r.active ? seatArgs(r) : undefined),
    style: 'destructive',
  },
  {
    label: 'Ask holder',
    command: 'reclaim',
    args: (r) => {
      const seat = r.active && r.person ? seatArgs(r) : undefined;
      return seat ? { ...seat, 'ask-holder': true } : undefined;
    },
  },
  { label: 'Keep', command: 'keep', args: (r) => (r.active ? seatArgs(r) : undefined), inputs: KEEP_INPUTS },
];

const FINDING_SEAT_KINDS = new Set(['idle', 'departed', 'duplicate']);
const openSeatFinding = (r: FindingRow) =>
  r.status === 'open' && FINDING_SEAT_KINDS.has(r.kind) ? seatArgs(r) : undefined;

const FINDING_ACTIONS: readonly RowAction<FindingRow>[] = [
  { label: 'Reclaim', command: 'reclaim', args: openSeatFinding, style: 'destructive' },
  {
    label: 'Ask holder',
    command: 'reclaim',
    args: (r) => {
      const seat = r.person ? openSeatFinding(r) : undefined;
      return seat ? { ...seat, 'ask-holder': true } : undefined;
    },
  },
  { label: 'Keep', command: 'keep', args: openSeatFinding, inputs: KEEP_INPUTS },
  {
    label: 'Snooze',
    command: 'findings snooze',
    args: (r) => (r.status === 'open' ? { id: r.id } : undefined),
    inputs: [
      { kind: 'until', required: true },
      { kind: 'reason', required: false },
    ],
  },
];

const CLEARING_ACTIONS: readonly RowAction<ClearingRow>[] = [
  {
    label: 'Assign to person',
    command: 'clearing assign',
    args: (r) => (r.email ? { email: r.email } : undefined),
    inputs: [{ kind: 'person', required: true }],
    style: 'positive',
  },
];

/** Renewals still open for a decision (not declined, snoozed or waiting for finance). */
const undecided = (r: RenewalRow) =>
  r.status === 'upcoming' || r.status === 'cancel-by passed' || r.status === 'escalated';
const decide = (decision: string) => (r: RenewalRow) =>
  undecided(r) ? { sku: r.sku, decision, license: r.licenseId, 'renewal-date': r.renewalDate } : undefined;
const pendingFinance = (r: RenewalRow) =>
  r.status === 'pending-finance' && r.decision ? { id: r.decision.id } : undefined;
const RENEWAL_OPTIONAL = ['license', 'renewal-date'] as const;

const RENEWAL_ACTIONS: readonly RowAction<RenewalRow>[] = [
  {
    label: 'Approve',
    command: 'renewal decide',
    args: decide('approve'),
    optionalArgs: RENEWAL_OPTIONAL,
    style: 'positive',
  },
  {
    label: 'Resize',
    command: 'renewal decide',
    args: decide('resize'),
    optionalArgs: RENEWAL_OPTIONAL,
    inputs: [{ kind: 'quantity', required: true }],
    quantity: (r) => r.recommendedQuantity,
  },
  {
    label: 'Decline',
    command: 'renewal decide',
    args: decide('decline'),
    optionalArgs: RENEWAL_OPTIONAL,
    style: 'destructive',
  },
  { label: 'Escalate', command: 'renewal decide', args: decide('escalate'), optionalArgs: RENEWAL_OPTIONAL },
  { label: 'Confirm (finance)', command: 'renewal confirm', args: pendingFinance, style: 'positive' },
  { label: 'Reject (finance)', command: 'renewal reject', args: pendingFinance, style: 'destructive' },
];

/** A seat in a reclaim preview that nothing blocks: Reclaim it (its confirmation shows the preview again). */
const PREVIEW_ACTIONS: readonly RowAction<{ state: string; subscriberId: number }>[] = [
  {
    label: 'Reclaim',
    command: 'reclaim',
    args: (r) => (r.state === 'preview' ? { seat: r.subscriberId } : undefined),
    style: 'destructive',
  },
];

/** The buttons of each view's rows (`persons` rows carry seats, whose buttons are the `subscribers` ones). */
export const ROW_ACTIONS: Record<string, readonly RowAction<never>[]> = {
  subscribers: SEAT_ACTIONS,
  reclaim: PREVIEW_ACTIONS,
  findings: FINDING_ACTIONS,
  clearing: CLEARING_ACTIONS,
  renewals: RENEWAL_ACTIONS,
};

/**
 * The argument through which a command takes an idempotency key (`--id <uuid>` of reclaim and renewal decide), so a
 * repeated click or two replicas act once; undefined when it has none.
 */
export function idempotencyArg(spec: CommandSpec): string | undefined {
  return spec.args.find((a) => (a.name === 'action-id' || a.name === 'id') && a.kind === 'option')?.name;
}

/**
 * Whether running this command asks for confirmation first: commands with a dry run (the reclaim preview doubles as
 * the confirmation) and declining a renewal.
 */
export function needsConfirmation(spec: CommandSpec, args: ArgMap): boolean {
  if (spec.args.some((a) => a.name === 'dry-run' && a.kind === 'flag')) return true;
  return spec.name === 'renewal decide' && args.decision === 'decline';
}

/** A short name for what a command did, for banners and confirmations ("Reclaim", "Decline", "Clearing assign"). */
export function actionLabel(command: string, args: ArgMap): string {
  if (command === 'reclaim' && args['ask-holder'] === true) return 'Ask holder';
  if (command === 'reclaim' && args['all-idle'] === true) return 'Reclaim all idle';
  if (command === 'renewal decide' && typeof args.decision === 'string') {
    const decision = args.decision.replace(/-/g, ' ');
    return decision.charAt(0).toUpperCase() + decision.slice(1);
  }
  const words = command.replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A stable action id: the same button (card, command, arguments) always gets the same id. */
export function actionIdFor(cardId: string, command: string, args: ArgMap): string {
  const canonical = JSON.stringify(Object.entries(args).sort(([a], [b]) => a.localeCompare(b)));
  const hex = createHash('sha256').update(`${cardId}\n${command}\n${canonical}`).digest('hex');
  // Formatted as a version-4-shaped UUID so handlers may store it in a uuid column.
  const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** An `Action.Execute` button. */
export function executeAction(
  title: string,
  verb: ActionVerb,
  data: ActionData,
  options: { style?: 'positive' | 'destructive'; ignoreInputs?: boolean } = {},
): CardJson {
  return {
    type: 'Action.Execute',
    title,
    verb,
    data,
    ...(options.style ? { style: options.style } : {}),
    // A Cancel or Back button must not be blocked by required inputs on the same card.
    ...(options.ignoreInputs ? { associatedInputs: 'none' } : {}),
  };
}

/**
 * The arguments a button may pass to `spec`, or undefined when the command lacks one of them (the button is then
 * hidden: the command of the issue that adds it has not landed, or takes other arguments).
 */
export function fitArgs(
  spec: CommandSpec,
  args: ArgMap,
  optional: readonly string[] = [],
): ArgMap | undefined {
  const fitted: ArgMap = {};
  for (const [name, value] of Object.entries(args)) {
    if (spec.args.some((a) => a.name === name)) fitted[name] = value;
    else if (!optional.includes(name)) return undefined;
  }
  return fitted;
}
