/**
 * Commands as data: one entry per command drives argument parsing, help text, role checks and the surfaces
 * (CLI now; Slack's `/license` and Teams' command list use the same entries). Adding a command is one entry in
 * `handlers/commands/` plus its handler.
 */

import { authorize } from './authorize.ts';
import { ACTION_COMMANDS } from './commands/actions.ts';
import { FINDINGS_COMMANDS } from './commands/findings.ts';
import { INVENTORY_COMMANDS } from './commands/inventory.ts';
import { RENEWAL_COMMANDS } from './commands/renewals.ts';
import { WEB_COMMANDS } from './commands/web.ts';
import { fail, type HandlerContext, ok, type Result, type Role, type Surface } from './types.ts';

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
  /**
   * The answer carries something for the asker alone (a sign-in link): chat surfaces answer it only where no one
   * else can read it (never shared in a Slack channel, only in a Teams personal chat).
   */
  private?: boolean;
  run(ctx: HandlerContext, args: ArgValues): Promise<Result<CommandOutput>>;
}

export const COMMANDS: readonly CommandSpec[] = [
  ...INVENTORY_COMMANDS,
  ...FINDINGS_COMMANDS,
  ...ACTION_COMMANDS,
  ...RENEWAL_COMMANDS,
  ...WEB_COMMANDS,
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
  // No argument of any command is this long; refusing here also keeps every error that quotes an argument short.
  const long = tokens.find((t) => t.length > MAX_ARGUMENT_LENGTH);
  if (long !== undefined) {
    return fail(
      'INVALID_ARGUMENT',
      `An argument is too long (${long.length} characters, at most ${MAX_ARGUMENT_LENGTH}): ${quoted(long)}.`,
    );
  }
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (!token.startsWith('--') || token === '--') {
      raw.positionals.push(token);
      continue;
    }
    const [name, inline] = token.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const arg = spec.find((a) => a.name === name && (a.kind !== 'positional' || a.alsoOption));
    if (!arg) return fail('INVALID_ARGUMENT', `Unknown option --${shortened(name)}.`);
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
  if (words.length > 0) return fail('INVALID_ARGUMENT', `Unexpected argument ${quoted(words[0] ?? '')}.`);
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
        return fail('INVALID_ARGUMENT', `--${arg.name} must be a whole number, not ${quoted(text)}.`);
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

/** Longest argument a command accepts, in characters. */
export const MAX_ARGUMENT_LENGTH = 1000;

/** User input in an error, cut to a readable length. */
function shortened(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** User input quoted in an error. */
function quoted(text: string): string {
  return `'${shortened(text)}'`;
}

/** Runs a command for an actor: checks the role server-side (a denial is audited), then calls the handler. */
export async function executeCommand(
  ctx: HandlerContext,
  spec: CommandSpec,
  args: ArgValues,
): Promise<Result<CommandOutput>> {
  const allowed = await authorize(ctx, spec.role, spec.name);
  if (!allowed.ok) return allowed;
  return spec.run(ctx, args);
}

/** One line per command, for help texts. */
export function usageLine(spec: CommandSpec): string {
  // What an option takes: N for a number, else its own name in capitals (`--sku SKU`, `--until UNTIL`).
  const value = (a: ArgSpec) => (a.type === 'int' ? 'N' : a.name.toUpperCase());
  const parts = spec.args.map((a) => {
    if (a.kind === 'positional')
      return a.required ? `<${a.name}>` : a.alsoOption ? `[--${a.name} ${value(a)}]` : `[${a.name}]`;
    if (a.kind === 'flag') return `[--${a.name}]`;
    return `[--${a.name} ${value(a)}]`;
  });
  return [spec.name, ...parts].join(' ');
}
