/**
 * Commands as data: one entry per command drives argument parsing, help text, role checks and the surfaces
 * (CLI now; Slack's `/license` and Teams' command list use the same entries). Adding a command is one entry here
 * plus its handler.
 */

import { recomputeFindings } from '../src/findings/recompute.ts';
import { appendAudit } from '../src/store/audit.ts';
import { setContract } from './contracts.ts';
import { clearing, type Listing, person, seats, whoHas } from './inventory-queries.ts';
import { listFindings, listRenewals } from './reports.ts';
import { fail, type HandlerContext, hasRole, ok, type Result, type Role, type Surface } from './types.ts';

export interface ArgSpec {
  name: string;
  /** A positional argument, an option taking a value (`--days 30`), or a flag (`--dry-run`). */
  kind: 'positional' | 'option' | 'flag';
  type?: 'string' | 'int';
  required?: boolean;
  description: string;
  default?: string | number;
  min?: number;
  max?: number;
  /** A positional argument that may also be given as `--name value`. */
  alsoOption?: boolean;
}

export type ArgValues = Record<string, string | number | boolean | undefined>;

/** The neutral output of a command: rows of one kind, with the total when the list is paged. */
export interface CommandOutput {
  /** Which view renders the rows: `subscribers`, `seats`, `persons`, `clearing`, ... */
  view: string;
  rows: unknown[];
  total: number;
  /** What to say when `rows` is empty. */
  empty: string;
}

export interface CommandSpec {
  name: string;
  aliases: readonly string[];
  summary: string;
  args: readonly ArgSpec[];
  examples: readonly string[];
  role: Role;
  surfaces: readonly Surface[];
  run(ctx: HandlerContext, args: ArgValues): Promise<Result<CommandOutput>>;
}

const ALL_SURFACES: readonly Surface[] = ['cli', 'slack', 'teams', 'web'];

const PAGING: readonly ArgSpec[] = [
  {
    name: 'limit',
    kind: 'option',
    type: 'int',
    default: 100,
    min: 1,
    max: 10_000,
    description: 'rows per page',
  },
  { name: 'offset', kind: 'option', type: 'int', default: 0, min: 0, description: 'rows to skip' },
];

const page = (args: ArgValues) => ({ limit: args.limit as number, offset: args.offset as number });

function listing(view: string, empty: string, result: Result<Listing<unknown>>): Result<CommandOutput> {
  if (!result.ok) return result;
  return ok({ view, rows: result.value.rows, total: result.value.total, empty });
}

export const COMMANDS: readonly CommandSpec[] = [
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
    name: 'findings',
    aliases: ['finding'],
    summary:
      'Idle, unassigned, departed and unmatched seats, overages and lapsing subscriptions, with savings',
    args: [
      {
        name: 'kind',
        kind: 'option',
        description: 'only this kind (idle, unassigned, overage, grace, departed, unmatched, ...)',
      },
      { name: 'app', kind: 'option', description: 'only this app (name or SKU)' },
      {
        name: 'status',
        kind: 'option',
        default: 'open',
        description: 'open (default), snoozed, exempted, resolved or all',
      },
      { name: 'recompute', kind: 'flag', description: 'recompute the findings from the inventory first' },
      ...PAGING,
    ],
    examples: ['findings', 'findings --kind idle --app figma'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) => {
      if (args.recompute) {
        const client = await ctx.store.pool.connect();
        try {
          await recomputeFindings(
            client,
            { idleDays: ctx.config.SEATKEEPER_IDLE_DAYS, graceDays: ctx.config.SEATKEEPER_IDLE_GRACE_DAYS },
            ctx.now(),
          );
        } finally {
          client.release();
        }
      }
      return listing(
        'findings',
        'No findings: every seat is assigned, used and accounted for.',
        await listFindings(ctx, {
          kind: args.kind as string | undefined,
          app: args.app as string | undefined,
          status: args.status as string,
          ...page(args),
        }),
      );
    },
  },
  {
    name: 'renewals',
    aliases: ['renewal'],
    summary: 'Licenses renewing soon, with cancel-by dates and right-sized quantities',
    args: [
      {
        name: 'days',
        kind: 'positional',
        alsoOption: true,
        type: 'int',
        default: 90,
        min: 1,
        max: 3650,
        description: 'how many days ahead (default 90)',
      },
      ...PAGING,
    ],
    examples: ['renewals', 'renewals 30'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      listing(
        'renewals',
        `No license renews in the next ${String(args.days)} days (or none has a renewal date yet).`,
        await listRenewals(ctx, { days: args.days as number, ...page(args) }),
      ),
  },
  {
    name: 'contract set',
    aliases: [],
    summary: 'Set contract terms and purchase information of a license',
    args: [
      { name: 'sku', kind: 'option', description: 'the license\u2019s SKU' },
      {
        name: 'license',
        kind: 'option',
        type: 'int',
        min: 0,
        description: 'the license id, when several licenses share the SKU',
      },
      { name: 'renewal-date', kind: 'option', description: 'renewal date, YYYY-MM-DD' },
      { name: 'term-start', kind: 'option', description: 'term start, YYYY-MM-DD' },
      { name: 'term-end', kind: 'option', description: 'term end, YYYY-MM-DD' },
      {
        name: 'notice-days',
        kind: 'option',
        type: 'int',
        min: 0,
        description: 'notice period in days (cancel-by = renewal date \u2212 notice)',
      },
      { name: 'unit-price', kind: 'option', description: 'price per seat and billing period, e.g. 12.50' },
      { name: 'currency', kind: 'option', description: 'ISO 4217 code, e.g. EUR' },
      { name: 'billing', kind: 'option', description: 'annual or monthly' },
      { name: 'auto-renew', kind: 'flag', description: 'the contract renews by itself' },
      { name: 'no-auto-renew', kind: 'flag', description: 'the contract does not renew by itself' },
      {
        name: 'commit-floor',
        kind: 'option',
        type: 'int',
        min: 0,
        description: 'minimum quantity for the term',
      },
      { name: 'cost-center', kind: 'option', description: 'cost center (its license pool)' },
      { name: 'owner', kind: 'option', description: 'e-mail of the license owner' },
      {
        name: 'product',
        kind: 'option',
        description: 'software product name (for SKUs the catalog does not know)',
      },
      { name: 'publisher', kind: 'option', description: 'publisher of --product (default: the vendor)' },
      {
        name: 'min-entitlement-days',
        kind: 'option',
        type: 'int',
        min: 0,
        description: 'minimum entitlement period of this license\u2019s requirements',
      },
      {
        name: 'idle-days',
        kind: 'option',
        type: 'int',
        min: 0,
        description: 'days without activity after which a seat of this license is idle',
      },
    ],
    examples: [
      'contract set --sku SPE_E5 --unit-price 57 --currency EUR --cost-center IT --renewal-date 2027-06-30 --notice-days 30',
    ],
    role: 'it-manager',
    surfaces: ['cli'],
    run: async (ctx, args) => {
      const result = await setContract(ctx, {
        sku: args.sku as string | undefined,
        license: args.license as number | undefined,
        renewalDate: args['renewal-date'] as string | undefined,
        termStart: args['term-start'] as string | undefined,
        termEnd: args['term-end'] as string | undefined,
        noticeDays: args['notice-days'] as number | undefined,
        unitPrice: args['unit-price'] as string | undefined,
        currency: args.currency as string | undefined,
        billing: args.billing as string | undefined,
        autoRenew: args['auto-renew'] === true,
        noAutoRenew: args['no-auto-renew'] === true,
        commitFloor: args['commit-floor'] as number | undefined,
        costCenter: args['cost-center'] as string | undefined,
        owner: args.owner as string | undefined,
        product: args.product as string | undefined,
        publisher: args.publisher as string | undefined,
        minEntitlementDays: args['min-entitlement-days'] as number | undefined,
        idleDays: args['idle-days'] as number | undefined,
      });
      if (!result.ok) return result;
      return ok({ view: 'contract', rows: [result.value], total: 1, empty: '' });
    },
  },
];

/** Finds a command by name or alias, case-insensitively. */
export function findCommand(name: string): CommandSpec | undefined {
  const key = name.toLowerCase();
  return COMMANDS.find((c) => c.name === key || c.aliases.includes(key));
}

/** Raw input before it is checked against a command's arguments. */
export interface RawArgs {
  positionals: string[];
  options: Record<string, string | true>;
}

/**
 * Splits tokens into positionals and `--options`. `--name value`, `--name=value` and bare flags are understood;
 * which is which comes from the command's argument list.
 */
export function splitTokens(tokens: readonly string[], spec: readonly ArgSpec[]): Result<RawArgs> {
  const raw: RawArgs = { positionals: [], options: {} };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (!token.startsWith('--') || token === '--') {
      raw.positionals.push(token);
      continue;
    }
    const [name, inline] = token.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const arg = spec.find((a) => a.name === name && (a.kind !== 'positional' || a.alsoOption));
    if (!arg) return fail('INVALID_ARGUMENT', `Unknown option --${name}.`);
    if (arg.kind === 'flag') {
      if (inline !== undefined) return fail('INVALID_ARGUMENT', `--${name} takes no value.`);
      raw.options[name] = true;
      continue;
    }
    const value = inline ?? tokens[i + 1];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      return fail('INVALID_ARGUMENT', `--${name} needs a value (${arg.description}).`);
    }
    if (inline === undefined) i++;
    raw.options[name] = value;
  }
  return ok(raw);
}

/** Checks raw input against a command's arguments: required ones, types, ranges, defaults. */
export function bindArgs(spec: CommandSpec, raw: RawArgs): Result<ArgValues> {
  const values: ArgValues = {};
  const positionals = spec.args.filter((a) => a.kind === 'positional');
  const words = [...raw.positionals];
  for (const [index, arg] of positionals.entries()) {
    // The last positional takes the rest of the words ("who-has adobe acrobat").
    const word = index === positionals.length - 1 ? words.splice(0).join(' ') : words.shift();
    if (word) values[arg.name] = word;
  }
  for (const arg of positionals) {
    if (arg.alsoOption && raw.options[arg.name] !== undefined) {
      if (values[arg.name] !== undefined)
        return fail('INVALID_ARGUMENT', `Give ${arg.name} once, not twice.`);
      values[arg.name] = raw.options[arg.name];
    }
  }
  if (words.length > 0) return fail('INVALID_ARGUMENT', `Unexpected argument '${words[0]}'.`);
  for (const arg of spec.args) {
    let value: string | number | boolean | undefined =
      values[arg.name] ?? (arg.kind === 'positional' ? undefined : raw.options[arg.name]);
    if (value === undefined) value = arg.default;
    if (value === undefined) {
      if (arg.required) return fail('INVALID_ARGUMENT', `Missing ${arg.name}: ${arg.description}.`);
      continue;
    }
    if (arg.type === 'int' && typeof value !== 'number') {
      const text = String(value);
      if (!/^-?\d+$/.test(text))
        return fail('INVALID_ARGUMENT', `--${arg.name} must be a whole number, not '${text}'.`);
      value = Number(text);
    }
    if (typeof value === 'number') {
      if (arg.min !== undefined && value < arg.min) {
        return fail('INVALID_ARGUMENT', `--${arg.name} must be at least ${arg.min}.`);
      }
      if (arg.max !== undefined && value > arg.max) {
        return fail('INVALID_ARGUMENT', `--${arg.name} must be at most ${arg.max}.`);
      }
    }
    values[arg.name] = value;
  }
  return ok(values);
}

/** Runs a command for an actor: checks the role server-side (a denial is audited), then calls the handler. */
export async function executeCommand(
  ctx: HandlerContext,
  spec: CommandSpec,
  args: ArgValues,
): Promise<Result<CommandOutput>> {
  if (!hasRole(ctx.actor, spec.role)) {
    await appendAudit(ctx.store.pool, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: 'denied',
      target: spec.name,
      after: { required: spec.role, held: ctx.actor.roles },
    });
    return fail('NOT_AUTHORIZED', `'${spec.name}' needs the ${spec.role} role, which you do not have.`);
  }
  return spec.run(ctx, args);
}

/** One line per command, for help texts. */
export function usageLine(spec: CommandSpec): string {
  const parts = spec.args.map((a) => {
    if (a.kind === 'positional')
      return a.required ? `<${a.name}>` : a.alsoOption ? `[--${a.name} N]` : `[${a.name}]`;
    if (a.kind === 'flag') return `[--${a.name}]`;
    return `[--${a.name} N]`;
  });
  return [spec.name, ...parts].join(' ');
}
