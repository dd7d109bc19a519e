/**
 * Typed commands: a message to the bot ("who-has figma", "@Seatkeeper renewals 30") becomes a registry command and
 * its arguments. Teams puts the @mention into the text as `<at>Name</at>` and may send HTML entities.
 */
import {
  type ArgValues,
  bindArgs,
  type CommandSpec,
  type RawArgs,
  splitTokens,
  usageLine,
} from '../../../handlers/registry.ts';
import { fail, ok, type Result } from '../../../handlers/types.ts';
import type { ArgMap } from './card-actions.ts';

/** Rows per card page: long enough to be useful, short enough for Teams' card size limit. */
export const PAGE_SIZE = 10;
/** The largest page a user may ask for with `--limit`. */
export const MAX_PAGE_SIZE = 25;

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  '#39': "'",
};

/**
 * The command text of a message: without the @mention of the bot (or any leading mention), HTML tags and entities
 * decoded, whitespace collapsed.
 */
export function commandText(
  text: string | undefined,
  mentions: readonly { text?: string; mentioned?: { id?: string } }[],
  botId: string | undefined,
): string {
  let result = text ?? '';
  for (const mention of mentions) {
    if (mention.text && (!botId || mention.mentioned?.id === botId))
      result = result.split(mention.text).join(' ');
  }
  result = result
    .replace(/<at>[^<]*<\/at>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(#39|[a-z]+);/gi, (whole, name: string) => ENTITIES[name.toLowerCase()] ?? whole);
  return result.replace(/[\u00a0\s]+/g, ' ').trim();
}

/** Splits words, keeping "quoted phrases" (straight or curly quotes) together. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|“([^”]*)”|'([^']*)'|(\S+)/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    words.push(match[1] ?? match[2] ?? match[3] ?? match[4] ?? '');
  }
  return words;
}

/** A typed command, resolved. */
export type ParsedCommand =
  | { kind: 'help' }
  | { kind: 'unknown'; word: string }
  | { kind: 'command'; spec: CommandSpec; args: ArgValues; given: ArgMap }
  | { kind: 'invalid'; spec: CommandSpec; message: string };

/** Whether a command is offered in Teams. */
export const onTeams = (spec: CommandSpec | undefined): spec is CommandSpec =>
  spec?.surfaces.includes('teams') === true;

/** A command offered in Teams by name or alias, case-insensitively. */
export function findTeamsCommand(commands: readonly CommandSpec[], name: string): CommandSpec | undefined {
  const key = name.toLowerCase();
  const spec = commands.find((c) => c.name === key || c.aliases.includes(key));
  return onTeams(spec) ? spec : undefined;
}

/**
 * Resolves a message's text to a registry command and checks its arguments. Two-word commands ("clearing assign")
 * win over one-word ones, as in the CLI. Lists get a card-sized page unless `--limit` asks for another size.
 */
export function parseCommand(text: string, commands: readonly CommandSpec[]): ParsedCommand {
  const words = splitWords(text);
  const [first, second] = words;
  if (!first || /^(help|\?|hi|hello)$/i.test(first)) return { kind: 'help' };
  const two = second ? findTeamsCommand(commands, `${first} ${second}`) : undefined;
  const spec = two ?? findTeamsCommand(commands, first);
  if (!spec) return { kind: 'unknown', word: first };
  const rest = words.slice(spec === two ? 2 : 1);
  const split = splitTokens(rest, spec.args);
  if (!split.ok) return { kind: 'invalid', spec, message: split.error.message };
  return bindTeamsArgs(spec, split.value);
}

/** Checks raw arguments against the command and applies the Teams page size. */
function bindTeamsArgs(spec: CommandSpec, raw: RawArgs): ParsedCommand {
  if (spec.args.some((a) => a.name === 'limit')) {
    const asked = raw.options.limit;
    if (asked === undefined) raw.options.limit = String(PAGE_SIZE);
    else if (typeof asked === 'string' && /^\d+$/.test(asked) && Number(asked) > MAX_PAGE_SIZE) {
      raw.options.limit = String(MAX_PAGE_SIZE);
    }
  }
  const bound = bindArgs(spec, raw);
  if (!bound.ok)
    return { kind: 'invalid', spec, message: `${bound.error.message} Usage: ${usageLine(spec)}` };
  return { kind: 'command', spec, args: bound.value, given: givenArgs(bound.value) };
}

/** The bound arguments as a map a button can carry (undefined values dropped). */
export function givenArgs(values: ArgValues): ArgMap {
  const map: ArgMap = {};
  for (const [name, value] of Object.entries(values)) if (value !== undefined) map[name] = value;
  return map;
}

/**
 * Arguments a card carries (by name) checked against the command, as if typed: positionals in order, options with
 * their values, flags when true.
 */
export function bindArgMap(spec: CommandSpec, args: ArgMap): Result<ArgMap> {
  const raw: RawArgs = { positionals: [], options: {} };
  const known = new Set(spec.args.map((a) => a.name));
  for (const name of Object.keys(args)) {
    if (!known.has(name)) return fail('INVALID_ARGUMENT', `'${spec.name}' takes no argument '${name}'.`);
  }
  let gap = false;
  for (const arg of spec.args) {
    const value = args[arg.name];
    if (arg.kind === 'positional') {
      if (value === undefined || value === '') gap = true;
      else if (gap || arg.alsoOption) raw.options[arg.name] = String(value);
      else raw.positionals.push(String(value));
    } else if (arg.kind === 'flag') {
      if (value === true || value === 'true') raw.options[arg.name] = true;
    } else if (value !== undefined && value !== '') {
      raw.options[arg.name] = String(value);
    }
  }
  const bound = bindArgs(spec, raw);
  if (!bound.ok) return bound;
  return ok(givenArgs(bound.value));
}

/** Arguments given as typed tokens (`--sku FIGMA --all-idle`), checked against the command; undefined if they do not fit. */
export function tokenArgs(spec: CommandSpec, tokens: readonly string[]): ArgMap | undefined {
  const split = splitTokens(tokens, spec.args);
  if (!split.ok) return undefined;
  const bound = bindArgs(spec, split.value);
  return bound.ok ? givenArgs(bound.value) : undefined;
}
