/**
 * Block Kit building blocks that stay inside Slack's limits by construction: every text is escaped and cut to its
 * limit here, so the renderers can pass any inventory data (a 300-character e-mail, a product name with `<`) and
 * never produce a message Slack refuses.
 */
import type { types } from '@slack/bolt';

export type Block = types.KnownBlock;
export type ButtonElement = types.Button;
export type ConfirmDialog = types.ConfirmationDialog;

/** Slack's documented limits (see ../shared/chat-platforms.md A.5). */
export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  contextText: 3000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  optionText: 75,
  optionValue: 150,
  options: 100,
  privateMetadata: 3000,
  modalTitle: 24,
  submitText: 24,
  inputLabel: 2000,
  inputHint: 2000,
  placeholder: 150,
  /** Slack truncates a message's `text` above 40,000 characters; our fallback texts stay far below. */
  messageText: 3000,
} as const;

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Cuts text to `max` characters, ending in `…` when cut. Never cuts inside an entity (`&amp;`) or a Slack token
 * (`<@U123>`, `<!date^…>`), which would make the rest of the text unreadable.
 */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const amp = text.lastIndexOf('&', end);
  if (amp >= 0 && amp > end - 6 && text.indexOf(';', amp) >= end) end = amp;
  const open = text.lastIndexOf('<', end);
  if (open >= 0 && text.lastIndexOf('>', end) < open && text.indexOf('>', open) >= end) end = open;
  return `${text.slice(0, end)}…`;
}

export const plain = (text: string, max: number): types.PlainTextElement => ({
  type: 'plain_text',
  text: cut(text.trim() === '' ? ' ' : text, max),
  emoji: true,
});

export const mrkdwn = (text: string, max: number = LIMITS.sectionText): types.MrkdwnElement => ({
  type: 'mrkdwn',
  text: cut(text.trim() === '' ? ' ' : text, max),
});

export function header(text: string): types.HeaderBlock {
  return { type: 'header', text: plain(text, LIMITS.headerText) };
}

export function section(text: string, extra: Partial<types.SectionBlock> = {}): types.SectionBlock {
  return { type: 'section', text: mrkdwn(text), ...extra };
}

/** A section of label/value pairs (at most ten are shown). */
export function fieldsSection(pairs: readonly (readonly [string, string])[]): types.SectionBlock {
  return {
    type: 'section',
    fields: pairs
      .slice(0, LIMITS.fields)
      .map(([label, value]) => mrkdwn(`*${escapeMrkdwn(label)}*\n${value}`, LIMITS.fieldText)),
  };
}

export function context(...texts: string[]): types.ContextBlock {
  return {
    type: 'context',
    elements: texts.slice(0, LIMITS.contextElements).map((t) => mrkdwn(t, LIMITS.contextText)),
  };
}

export const divider = (): types.DividerBlock => ({ type: 'divider' });

export function actions(elements: types.ActionsBlockElement[], blockId?: string): types.ActionsBlock {
  return {
    type: 'actions',
    elements: elements.slice(0, LIMITS.actionsElements),
    ...(blockId ? { block_id: blockId.slice(0, LIMITS.blockId) } : {}),
  };
}

export function confirmDialog(
  title: string,
  text: string,
  confirm: string,
  style?: 'primary' | 'danger',
): ConfirmDialog {
  return {
    title: plain(title, LIMITS.confirmTitle),
    text: mrkdwn(text, LIMITS.confirmText),
    confirm: plain(confirm, LIMITS.confirmButton),
    deny: plain('Cancel', LIMITS.confirmButton),
    ...(style ? { style } : {}),
  };
}

/**
 * Packs lines into as few sections as possible (each ≤ 3000 characters), in at most `maxBlocks` sections. Lines
 * must already be escaped; a line longer than a section is cut. `count` says how many lines fitted.
 */
export function packLines(
  lines: readonly string[],
  maxBlocks: number,
): { blocks: types.SectionBlock[]; count: number } {
  const blocks: types.SectionBlock[] = [];
  let current = '';
  let count = 0;
  let pending = 0;
  for (const raw of lines) {
    const line = cut(raw, LIMITS.sectionText);
    if (current && current.length + 1 + line.length > LIMITS.sectionText) {
      if (blocks.length === maxBlocks) break;
      blocks.push(section(current));
      count += pending;
      current = '';
      pending = 0;
    }
    if (blocks.length === maxBlocks) break;
    current = current ? `${current}\n${line}` : line;
    pending++;
  }
  if (current && blocks.length < maxBlocks) {
    blocks.push(section(current));
    count += pending;
  }
  return { blocks, count };
}

/** Slack's date token: shown in each reader's own time zone, with a plain fallback. */
export function slackDate(at: Date, format = '{date_short_pretty} at {time}'): string {
  const fallback = `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(at.getTime() / 1000)}^${format}|${fallback}>`;
}

/** A money amount as people read it: `1,234.5 EUR`; `price unknown` when null. */
export function money(amount: number | null, currency: string | null): string {
  if (amount === null) return 'price unknown';
  return `${amount.toLocaleString('en-US', { maximumFractionDigits: 2 })} ${currency ?? ''}`.trim();
}

export const day = (iso: string | null | undefined): string => (iso ? iso.slice(0, 10) : '—');

/** A small bar for utilization: `▰▰▰▰▱▱▱▱▱▱ 40%`. */
export function bar(used: number, total: number | null): string {
  if (total === null || total <= 0) return total === null ? 'unlimited' : 'none purchased';
  const ratio = Math.max(0, used / total);
  const filled = Math.min(10, Math.round(ratio * 10));
  return `${'▰'.repeat(filled)}${'▱'.repeat(10 - filled)} ${Math.round(ratio * 100)}%`;
}
