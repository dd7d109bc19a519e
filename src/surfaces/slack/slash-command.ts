/**
 * `/license <command> [arguments]`: the text Slack sends, turned into a registry command and its arguments.
 * Commands come from the registry (those offered on the Slack surface) plus `mine`; `help`, nothing, or anything
 * unknown gives the help. `share` (first word) or `--share` posts the answer in the channel instead of only to
 * the person who asked.
 */
import {
  type ArgValues,
  bindArgs,
  type CommandSpec,
  findCommand,
  splitTokens,
} from '../../../handlers/registry.ts';
import type { Result } from '../../../handlers/types.ts';
import { ACTION_PAGE_SIZE, findSlackCommand, PAGE_SIZE } from './slack-commands.ts';

/** Splits the typed text into words; double, single and typographic quotes group words. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const pattern = /"([^"]*)"|“([^”]*)”|'([^']*)'|‘([^’]*)’|(\S+)/g;
  for (const match of text.matchAll(pattern)) {
    tokens.push(match[1] ?? match[2] ?? match[3] ?? match[4] ?? match[5] ?? '');
  }
  return tokens;
}

/** A Slack-escaped token: `<mailto:a@b|a@b>` → `a@b`; `<#C1|general>` → `#general`; a user stays a user. */
export function unescapeToken(token: string): string | { userId: string } {
  const user = /^<@([UW][A-Z0-9]+)(\|[^>]*)?>$/.exec(token);
  if (user?.[1]) return { userId: user[1] };
  const mail = /^<mailto:([^|>]+)(\|[^>]*)?>$/.exec(token);
  if (mail?.[1]) return mail[1];
  const channel = /^<#[CG][A-Z0-9]+\|([^>]*)>$/.exec(token);
  if (channel?.[1]) return `#${channel[1]}`;
  const link = /^<(https?:[^|>]+)(\|[^>]*)?>$/.exec(token);
  if (link?.[1]) return link[1];
  return token.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export type ParsedSlash =
  | { kind: 'help'; intro?: string }
  | { kind: 'command'; spec: CommandSpec; tokens: (string | { userId: string })[]; share: boolean };

/** Which command the text asks for, with its raw words (mentions still to be resolved). */
export function parseSlash(text: string): ParsedSlash {
  let words = tokenize(text.trim());
  let share = false;
  if (words[0]?.toLowerCase() === 'share') {
    share = true;
    words = words.slice(1);
  }
  if (words.includes('--share')) {
    share = true;
    words = words.filter((w) => w !== '--share');
  }
  const [first, second] = words;
  if (!first || ['help', '--help', '-h', '?'].includes(first.toLowerCase())) return { kind: 'help' };
  const two = second ? findSlackCommand(`${first} ${second}`) : undefined;
  const spec = two ?? findSlackCommand(first);
  if (!spec) {
    const known = (second ? findCommand(`${first} ${second}`) : undefined) ?? findCommand(first);
    return {
      kind: 'help',
      intro: known
        ? `'${known.name}' is not available in Slack; use the CLI for it.`
        : `I don't know the command '${first}'.`,
    };
  }
  return { kind: 'command', spec, tokens: words.slice(two ? 2 : 1).map(unescapeToken), share };
}

/** Paging the surface controls: the page a command shows, and the arguments without the paging options. */
export interface BoundRequest {
  args: ArgValues;
  /** The typed arguments without `--limit`/`--offset`, for "More" to repeat. */
  tokens: string[];
  offset: number;
  limit: number;
}

/** Rows per page for a command: fewer where rows carry buttons, so a page fits in one message. */
export function pageSizeFor(spec: CommandSpec): number {
  return ['findings', 'clearing', 'renewals'].includes(spec.name) ? ACTION_PAGE_SIZE : PAGE_SIZE;
}

/**
 * Checks the words against the command's arguments. Pages are Slack-sized: a larger `--limit` is lowered to the
 * page size (the rest is one "More" away).
 */
export function bindSlashArgs(spec: CommandSpec, words: readonly string[]): Result<BoundRequest> {
  const split = splitTokens(words, spec.args);
  if (!split.ok) return split;
  const paged = spec.args.some((a) => a.name === 'limit') && spec.args.some((a) => a.name === 'offset');
  const size = pageSizeFor(spec);
  const tokens: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (paged && /^--(limit|offset)(=|$)/.test(word)) {
      if (!word.includes('=')) i++;
      continue;
    }
    tokens.push(word);
  }
  if (paged) {
    const requested = split.value.options.limit;
    const limit =
      typeof requested === 'string' && /^\d+$/.test(requested) ? Math.min(Number(requested), size) : size;
    split.value.options.limit = String(Math.max(limit, 1));
  }
  const bound = bindArgs(spec, split.value);
  if (!bound.ok) return bound;
  return {
    ok: true,
    value: {
      args: bound.value,
      tokens,
      offset: typeof bound.value.offset === 'number' ? bound.value.offset : 0,
      limit: typeof bound.value.limit === 'number' ? bound.value.limit : size,
    },
  };
}
