/**
 * Modals for buttons that need more input before their command runs (Keep: reason and until; Assign: a person;
 * Resize: a quantity). The form is built from the command's registry arguments — a person argument becomes a
 * typeahead over persons, a whole number a number input, a date a date picker — and carries what it needs to run
 * and to update the card afterwards in `private_metadata`.
 */
import type { types } from '@slack/bolt';
import type { ArgSpec, CommandSpec } from '../../../handlers/registry.ts';
import { context, escapeMrkdwn, LIMITS, plain } from './block-kit.ts';
import type { ButtonValue } from './command-buttons.ts';

/** The modal every "needs more input" button opens. */
export const FORM_CALLBACK = 'sk.form';
/** The typeahead over persons (external_select); its options come from the options load URL. */
export const PERSON_SELECT = 'sk.person';

/** Where the button that opened a form was, to answer and to update its card after submission. */
export interface FormOrigin {
  label: string;
  channel?: string;
  ts?: string;
  responseUrl?: string;
  ephemeral: boolean;
  home: boolean;
  blockId?: string;
  elementActionId?: string;
}

/** What a modal carries between opening and submission (in `private_metadata`, ≤ 3000 characters). */
export interface FormMeta {
  c: string;
  t: string[];
  ask: string[];
  id?: string;
  l: string;
  ch?: string;
  ts?: string;
  ru?: string;
  b?: string;
  a?: string;
  e?: 1;
  h?: 1;
}

function isDateArg(arg: ArgSpec): boolean {
  return /until|date/.test(arg.name) || /YYYY-MM-DD/.test(arg.description);
}

const isPersonArg = (arg: ArgSpec) => arg.name === 'person' || arg.name.endsWith('-person');

/** The input block asking for one argument, chosen from its registry definition. */
export function inputFor(arg: ArgSpec): types.InputBlock {
  const label = plain(
    arg.name.charAt(0).toUpperCase() + arg.name.slice(1).replace(/-/g, ' '),
    LIMITS.inputLabel,
  );
  let element: types.InputBlockElement;
  if (isPersonArg(arg)) {
    element = {
      type: 'external_select',
      action_id: PERSON_SELECT,
      min_query_length: 1,
      placeholder: plain('Type a name or e-mail', LIMITS.placeholder),
    };
  } else if (arg.kind === 'flag') {
    element = {
      type: 'checkboxes',
      action_id: 'value',
      options: [{ text: plain(arg.description, LIMITS.optionText), value: 'yes' }],
    };
  } else if (arg.type === 'int') {
    element = {
      type: 'number_input',
      action_id: 'value',
      is_decimal_allowed: false,
      ...(arg.min !== undefined ? { min_value: String(arg.min) } : {}),
      ...(arg.max !== undefined ? { max_value: String(arg.max) } : {}),
    };
  } else if (isDateArg(arg)) {
    element = { type: 'datepicker', action_id: 'value' };
  } else {
    element = {
      type: 'plain_text_input',
      action_id: 'value',
      multiline: arg.name === 'reason' || arg.name === 'note',
      max_length: 500,
    };
  }
  return {
    type: 'input',
    block_id: `arg:${arg.name}`,
    label,
    element,
    optional: !arg.required && !isPersonArg(arg) && arg.name !== 'reason',
    hint: plain(arg.description, LIMITS.inputHint),
  };
}

/** The modal asking for a button's missing arguments; submitting it runs the command. */
export function formView(
  spec: CommandSpec,
  value: ButtonValue,
  origin: FormOrigin,
): types.ModalView | undefined {
  const ask = (value.ask ?? [])
    .map((name) => spec.args.find((a) => a.name === name))
    .filter((a) => a !== undefined);
  const meta: FormMeta = {
    c: spec.name,
    t: value.t,
    ask: ask.map((a) => a.name),
    l: origin.label,
    ...(value.id ? { id: value.id } : {}),
    ...(origin.channel ? { ch: origin.channel } : {}),
    ...(origin.ts ? { ts: origin.ts } : {}),
    ...(origin.responseUrl ? { ru: origin.responseUrl } : {}),
    ...(origin.blockId ? { b: origin.blockId } : {}),
    ...(origin.elementActionId ? { a: origin.elementActionId } : {}),
    ...(origin.ephemeral ? { e: 1 as const } : {}),
    ...(origin.home ? { h: 1 as const } : {}),
  };
  const metadata = JSON.stringify(meta);
  if (metadata.length > LIMITS.privateMetadata) return undefined;
  const title = origin.label.replace(/…$/, '');
  return {
    type: 'modal',
    callback_id: FORM_CALLBACK,
    title: plain(title, LIMITS.modalTitle),
    submit: plain(title, LIMITS.submitText),
    close: plain('Cancel', LIMITS.submitText),
    private_metadata: metadata,
    blocks: [
      context(`\`/license ${escapeMrkdwn([spec.name, ...value.t].join(' '))}\``),
      ...ask.map(inputFor),
    ],
  };
}

/** The values typed into a form, by argument name. */
export function formValues(
  spec: CommandSpec,
  ask: readonly string[],
  values: Record<
    string,
    Record<
      string,
      {
        value?: string | null;
        selected_date?: string | null;
        selected_option?: { value: string } | null;
        selected_options?: unknown[];
      }
    >
  >,
): Record<string, string | boolean | undefined> {
  const out: Record<string, string | boolean | undefined> = {};
  for (const name of ask) {
    const arg = spec.args.find((a) => a.name === name);
    const state = values[`arg:${name}`];
    if (!arg || !state) continue;
    const input = Object.values(state)[0];
    if (!input) continue;
    if (arg.kind === 'flag') out[name] = (input.selected_options?.length ?? 0) > 0;
    else out[name] = input.selected_option?.value ?? input.selected_date ?? input.value?.trim() ?? undefined;
  }
  return out;
}

/** The form's carried context, or undefined when it is not one of ours. */
export function readFormMeta(text: string): FormMeta | undefined {
  try {
    const meta = JSON.parse(text) as Partial<FormMeta>;
    if (typeof meta.c !== 'string' || !Array.isArray(meta.t) || !Array.isArray(meta.ask)) return undefined;
    return meta as FormMeta;
  } catch {
    return undefined;
  }
}
