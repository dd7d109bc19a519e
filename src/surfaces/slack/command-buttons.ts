/**
 * Buttons that run registry commands. A button's value carries the command, its arguments as the user would type
 * them after `/license`, and — for commands that change something — an action id: the idempotency key of that
 * one click, reused by every retry and every replica. The value is only a request: when clicked, the command is
 * looked up again, its arguments checked again and the clicking user's roles checked server-side.
 *
 * A renderer proposes buttons for commands that may not exist yet (reclaim, keep, renewal decide, …); a button is
 * shown only when the registry has the command on the Slack surface and it accepts exactly those arguments.
 */
import { randomUUID } from 'node:crypto';
import { type ArgSpec, bindArgs, type CommandSpec, splitTokens } from '../../../handlers/registry.ts';
import { type ButtonElement, confirmDialog, LIMITS, plain } from './block-kit.ts';
import { findSlackCommand } from './slack-commands.ts';

/** A proposed button: what to run, and how the click behaves. */
export interface CommandButton {
  label: string;
  /** Registry command name (`who-has`, `reclaim`, `renewal decide`, …). */
  command: string;
  /** Arguments as typed after the command name. */
  tokens: readonly string[];
  /** Arguments asked in a modal before the command runs (e.g. `reason`, `until`, `person`). */
  ask?: readonly string[];
  /**
   * The command changes something: the click runs once (idempotency key), and the card updates in place for
   * everyone. Query buttons instead answer the person who clicked.
   */
  mutating?: boolean;
  /** A known action id to reuse (e.g. one a notification was created with); a new one otherwise. */
  actionId?: string;
  style?: 'primary' | 'danger';
  /** A confirmation dialog before the command runs. */
  confirm?: { title: string; text: string; confirm: string };
  /** A page of the same list: replaces an ephemeral answer instead of adding one. */
  page?: boolean;
}

/** What a button's value holds (compact: it must stay under 2000 characters). */
export interface ButtonValue {
  c: string;
  t: string[];
  id?: string;
  ask?: string[];
  pg?: 1;
}

/** Every Seatkeeper action id starts with this; one listener takes them all. */
export const ACTION_PREFIX = 'sk.';

/**
 * The argument through which a command takes the click's idempotency key, when it declares one: an optional
 * `--id` (or `--action-id`) option documented as a UUID, as `reclaim` and `renewal decide` do. A required `--id`
 * names something else (e.g. the decision `renewal confirm` confirms) and is never filled in here.
 */
export function idempotencyArg(spec: CommandSpec): ArgSpec | undefined {
  return spec.args.find(
    (a) =>
      (a.name === 'id' || a.name === 'action-id') &&
      a.kind === 'option' &&
      !a.required &&
      /\buuid\b/i.test(a.description),
  );
}

/** The tokens with the click's action id added, when the command takes one and it is not given already. */
export function withActionId(
  spec: CommandSpec,
  tokens: readonly string[],
  actionId: string | undefined,
): string[] {
  const arg = idempotencyArg(spec);
  if (!actionId || !arg) return [...tokens];
  if (tokens.some((t) => t === `--${arg.name}` || t.startsWith(`--${arg.name}=`))) return [...tokens];
  return [...tokens, `--${arg.name}`, actionId];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Decodes a button value; undefined when it is not one of ours or is malformed. */
export function decodeValue(value: string | undefined): ButtonValue | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<ButtonValue>;
    if (typeof parsed.c !== 'string' || !Array.isArray(parsed.t)) return undefined;
    if (!parsed.t.every((t) => typeof t === 'string')) return undefined;
    if (parsed.id !== undefined && (typeof parsed.id !== 'string' || !UUID.test(parsed.id))) return undefined;
    if (
      parsed.ask !== undefined &&
      !(Array.isArray(parsed.ask) && parsed.ask.every((a) => typeof a === 'string'))
    )
      return undefined;
    return {
      c: parsed.c,
      t: parsed.t,
      ...(parsed.id ? { id: parsed.id } : {}),
      ...(parsed.ask?.length ? { ask: parsed.ask } : {}),
      ...(parsed.pg ? { pg: 1 as const } : {}),
    };
  } catch {
    return undefined;
  }
}

/** A plausible value for an argument a modal will ask for, so the registry check can run before it is known. */
function sampleValue(arg: ArgSpec): string {
  if (arg.type === 'int') {
    const low = Math.max(arg.min ?? 1, 1);
    return String(arg.max !== undefined ? Math.min(low, arg.max) : low);
  }
  return /until|date/.test(arg.name) ? '2099-12-31' : 'x';
}

/** Appends the asked arguments' values to the tokens, the way they would be typed. */
export function withAsked(
  spec: CommandSpec,
  tokens: readonly string[],
  asked: Readonly<Record<string, string | boolean | undefined>>,
): string[] {
  const out = [...tokens];
  for (const [name, value] of Object.entries(asked)) {
    const arg = spec.args.find((a) => a.name === name);
    if (!arg || value === undefined || value === false || value === '') continue;
    if (arg.kind === 'flag') out.push(`--${name}`);
    else if (arg.kind === 'positional' && !arg.alsoOption) out.push(String(value));
    else out.push(`--${name}`, String(value));
  }
  return out;
}

/**
 * The registry command a button would run, when it exists on Slack and accepts these arguments (asked ones
 * included); undefined otherwise.
 */
export function commandForButton(
  command: string,
  tokens: readonly string[],
  ask: readonly string[] = [],
): CommandSpec | undefined {
  const spec = findSlackCommand(command);
  if (!spec) return undefined;
  const asked: Record<string, string | boolean> = {};
  for (const name of ask) {
    const arg = spec.args.find((a) => a.name === name);
    if (!arg) return undefined;
    asked[name] = arg.kind === 'flag' ? true : sampleValue(arg);
  }
  const split = splitTokens(withAsked(spec, tokens, asked), spec.args);
  if (!split.ok) return undefined;
  return bindArgs(spec, split.value).ok ? spec : undefined;
}

/** Builds the Block Kit button, or undefined when the registry cannot run it (or its value would not fit). */
export function toButton(button: CommandButton): ButtonElement | undefined {
  const spec = commandForButton(button.command, button.tokens, button.ask);
  if (!spec) return undefined;
  const value: ButtonValue = {
    c: spec.name,
    t: [...button.tokens],
    ...(button.mutating ? { id: button.actionId ?? randomUUID() } : {}),
    ...(button.ask?.length ? { ask: [...button.ask] } : {}),
    ...(button.page ? { pg: 1 as const } : {}),
  };
  const encoded = JSON.stringify(value);
  if (encoded.length > LIMITS.buttonValue) return undefined;
  const confirm =
    button.confirm ??
    (button.style === 'danger' && !button.ask?.length
      ? {
          title: `${button.label}?`,
          text: `Run \`${spec.name} ${button.tokens.join(' ')}\`?`,
          confirm: button.label,
        }
      : undefined);
  return {
    type: 'button',
    action_id: `${ACTION_PREFIX}${randomUUID().slice(0, 8)}`,
    text: plain(button.label, LIMITS.buttonText),
    value: encoded,
    ...(button.style ? { style: button.style } : {}),
    ...(confirm
      ? { confirm: confirmDialog(confirm.title, confirm.text, confirm.confirm, button.style) }
      : {}),
  };
}

/** Buttons that the registry can run, in order, without the ones it cannot. */
export function toButtons(buttons: readonly CommandButton[]): ButtonElement[] {
  return buttons.map(toButton).filter((b): b is ButtonElement => b !== undefined);
}
