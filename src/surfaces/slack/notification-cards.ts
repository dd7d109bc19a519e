/**
 * Notifications as Slack messages. The outbox holds neutral data; this turns each kind into a card with the
 * buttons that answer it:
 * - `digest` → the weekly digest;
 * - `holder-ask`, `holder-ask-reminder` → "Still need Figma?" with Keep / Release (`answer <action> keep|release`),
 *   both sharing the ask's action id, so the holder answers once;
 * - `finding-alert` → the new finding(s), each with the buttons of its row in the findings list (Reclaim, Ask
 *   holder, Keep, Snooze);
 * - `renewal-*` → the renewal with its numbers and the decisions (`renewal decide`), or for finance Confirm /
 *   Reject (`renewal confirm|reject --id <decision>`);
 * - anything else → `{ title?, text?, facts?, output?, actions? }` (see `NotificationPayload`), or its fields.
 * Buttons appear only for commands the registry runs on Slack.
 */
import type { CommandOutput } from '../../../handlers/registry.ts';
import type { FindingRow, RenewalRow } from '../../../handlers/reports.ts';
import {
  actions,
  type Block,
  context,
  cut,
  escapeMrkdwn as e,
  fieldsSection,
  header,
  LIMITS,
  money,
  section,
} from './block-kit.ts';
import { type CommandButton, toButtons } from './command-buttons.ts';
import { type DigestPayload, renderDigest } from './digest.ts';
import { evidenceText, findingButtons, type Rendered, renderOutput, renewalButtons } from './renderers.ts';

/** A button on a notification: a registry command, as in `/license`. */
export interface NotificationAction {
  label: string;
  command: string;
  tokens?: string[];
  ask?: string[];
  /** Defaults to true: a notification's buttons act (reclaim, keep, approve), and run once. */
  mutating?: boolean;
  /** Reuse this id as the click's idempotency key (e.g. the action a holder question belongs to). */
  actionId?: string;
  style?: 'primary' | 'danger';
  confirm?: { title: string; text: string; confirm: string };
}

/** The generic payload: what any producer may put in the outbox to be shown as is. */
export interface NotificationPayload {
  title?: string;
  text?: string;
  facts?: { label: string; value: string }[];
  output?: CommandOutput;
  actions?: NotificationAction[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function card(title: string, blocks: Block[], buttons: CommandButton[], text?: string): Rendered {
  const all: Block[] = [header(title), ...blocks];
  const elements = toButtons(buttons);
  if (elements.length) all.push(actions(elements, 'notification'));
  return {
    text: cut([title, text].filter(Boolean).join(': '), LIMITS.messageText),
    blocks: all.slice(0, LIMITS.messageBlocks),
  };
}

function holderAsk(kind: string, p: Record<string, unknown>): Rendered {
  const product = str(p.product) ?? str(p.sku) ?? 'this app';
  const actionId = str(p.actionId);
  const question = str(p.question) ?? `Do you still need ${product}?`;
  const deadline = str(p.deadline);
  const answer = (value: 'keep' | 'release'): CommandButton => ({
    label: value === 'keep' ? 'Keep' : 'Release',
    command: 'answer',
    tokens: actionId ? [actionId, value] : [],
    mutating: true,
    ...(actionId ? { actionId } : {}),
    style: value === 'keep' ? 'primary' : 'danger',
    ...(value === 'release'
      ? {
          confirm: {
            title: `Release ${product}?`,
            text: `Your ${product} seat will be removed.`,
            confirm: 'Release',
          },
        }
      : {}),
  });
  const reminder = kind.endsWith('reminder') || p.reminder === true;
  return card(
    `${reminder ? 'Reminder: s' : 'S'}till need ${product}?`,
    [
      section(e(question)),
      ...(deadline ? [context(`Answer by ${e(deadline.slice(0, 16).replace('T', ' '))} UTC`)] : []),
    ],
    actionId ? [answer('keep'), answer('release')] : [],
    question,
  );
}

const RENEWAL_TITLES: Record<string, (product: string, p: Record<string, unknown>) => string> = {
  'renewal-alert': (product, p) =>
    p.missed === true
      ? `Cancel-by date missed: ${product}`
      : `${product} renews ${String(p.renewalDate ?? '')}`,
  'renewal-cancel-reminder': (product, p) => `Cancel ${product} by ${String(p.cancelBy ?? '')}`,
  'renewal-escalation': (product) => `Renewal escalated: ${product}`,
  'renewal-finance-approval': (product) => `Finance approval needed: ${product}`,
  'renewal-finance-rejected': (product) => `Finance rejected the renewal of ${product}`,
};

function renewalNotice(kind: string, p: Record<string, unknown>): Rendered {
  const product = str(p.product) ?? str(p.sku) ?? 'a license';
  const title = (RENEWAL_TITLES[kind] ?? ((x: string) => `Renewal: ${x}`))(product, p);
  const currency = str(p.currency) ?? null;
  const quantity = num(p.quantity) ?? num(p.currentQuantity);
  const facts: [string, string][] = [
    ['Renews', e(String(p.renewalDate ?? '—'))],
    [
      'Cancel by',
      `*${e(String(p.cancelBy ?? '—'))}*${num(p.daysLeft) !== null ? ` (${num(p.daysLeft)} days)` : ''}`,
    ],
    ['Seats', `${quantity ?? '—'} → recommended ${num(p.recommendedQuantity) ?? '—'}`],
    [
      'Cost per year',
      `${money(num(p.annualCost), currency)}${num(p.recommendedCost) !== null ? ` → ${money(num(p.recommendedCost), currency)}` : ''}`,
    ],
  ];
  if (num(p.budgetRemaining) !== null) {
    facts.push(['Budget left', money(num(p.budgetRemaining), str(p.budgetCurrency) ?? currency)]);
  }
  if (num(p.idleSeats)) facts.push(['Idle seats', String(num(p.idleSeats))]);
  if (str(p.decision))
    facts.push(['Decision', `${e(String(p.decision))}${str(p.state) ? ` (${e(String(p.state))})` : ''}`]);
  if (str(p.owner)) facts.push(['Owner', e(String(p.owner))]);
  const blocks: Block[] = [fieldsSection(facts)];
  if (str(p.note)) blocks.push(context(`Note: ${e(String(p.note))}`));
  if (Array.isArray(p.financeReasons) && p.financeReasons.length) {
    blocks.push(context(e(p.financeReasons.map(String).join('; '))));
  }

  const decisionId = str(p.decisionId);
  let buttons: CommandButton[] = [];
  if (kind === 'renewal-finance-approval' && decisionId) {
    buttons = [
      {
        label: 'Confirm',
        command: 'renewal confirm',
        tokens: ['--id', decisionId],
        mutating: true,
        style: 'primary',
        confirm: {
          title: `Confirm ${product}?`,
          text: `Approve the decision on ${product} as requested.`,
          confirm: 'Confirm',
        },
      },
      {
        label: 'Reject…',
        command: 'renewal reject',
        tokens: ['--id', decisionId],
        ask: ['note'],
        mutating: true,
      },
    ];
  } else if ((kind === 'renewal-alert' || kind === 'renewal-escalation') && num(p.licenseId) !== null) {
    buttons = renewalButtons({
      licenseId: num(p.licenseId) as number,
      product,
      sku: str(p.sku) ?? '',
      renewalDate: String(p.renewalDate ?? ''),
      cancelBy: String(p.cancelBy ?? ''),
      quantity,
      recommendedQuantity: num(p.recommendedQuantity) ?? 0,
      annualCost: num(p.annualCost),
      currency,
    } as RenewalRow);
  }
  buttons.push({ label: 'Renewals', command: 'renewals', tokens: ['90'], mutating: false });
  return card(title, blocks, buttons);
}

const toCommandButton = (a: NotificationAction): CommandButton => ({
  label: a.label,
  command: a.command,
  tokens: a.tokens ?? [],
  ask: a.ask,
  mutating: a.mutating ?? true,
  actionId: a.actionId,
  style: a.style,
  confirm: a.confirm,
});

/**
 * A finding alert: what was found, its facts and, under each finding, the buttons the findings list gives it. One
 * finding: its buttons at the bottom with the alert's own; several: each under its line, as far as the limits go.
 */
function findingAlert(payload: Record<string, unknown>): Rendered {
  const p = payload as NotificationPayload;
  const rows = (p.output?.rows ?? []) as FindingRow[];
  const title = str(p.title) ?? 'New finding';
  const blocks: Block[] = [];
  if (str(p.text)) blocks.push(section(e(String(p.text))));
  if (Array.isArray(p.facts) && p.facts.length) {
    blocks.push(fieldsSection(p.facts.map((f) => [String(f.label), e(String(f.value))] as const)));
  }
  const own = (Array.isArray(p.actions) ? p.actions : []).map(toCommandButton);
  if (rows.length === 1) {
    const f = rows[0] as FindingRow;
    const evidence = evidenceText(f.evidence ?? {});
    if (evidence) blocks.push(context(e(evidence)));
    return card(title, blocks, [...findingButtons(f), ...own], str(p.text));
  }
  // Header, the blocks above, the "more" line and the alert's own buttons stay within the message's limit.
  const room = LIMITS.messageBlocks - blocks.length - 3;
  let used = 0;
  let shown = 0;
  for (const f of rows) {
    const buttons = toButtons(findingButtons(f));
    const need = buttons.length ? 2 : 1;
    if (used + need > room) break;
    blocks.push(
      section(
        `*${e(f.kind)}* · ${e(f.product ?? f.sku ?? 'unknown app')}${f.email ? ` · ${e(f.email)}` : ''} — ${
          f.savings === null ? 'savings unknown' : `saves *${money(f.savings, f.currency)}*/year`
        }`,
      ),
    );
    if (buttons.length) blocks.push(actions(buttons, `finding:${f.id}`));
    used += need;
    shown++;
  }
  const total = typeof p.output?.total === 'number' ? p.output.total : rows.length;
  if (total > shown) blocks.push(context(`…and ${total - shown} more: \`/license findings\`.`));
  return card(title, blocks, own, str(p.text));
}

function generic(kind: string, payload: Record<string, unknown>): Rendered {
  const p = payload as NotificationPayload;
  const title = str(p.title) ?? kind.replace(/-/g, ' ');
  const blocks: Block[] = [];
  if (str(p.text)) blocks.push(section(e(String(p.text))));
  if (Array.isArray(p.facts) && p.facts.length) {
    blocks.push(fieldsSection(p.facts.map((f) => [String(f.label), e(String(f.value))] as const)));
  }
  if (p.output && Array.isArray(p.output.rows)) {
    const room = LIMITS.messageBlocks - blocks.length - 3;
    blocks.push(...renderOutput(p.output, undefined, room).blocks.slice(1));
  }
  if (blocks.length === 0) {
    // A kind this surface has no card for: its fields, rather than nothing.
    const scalars = Object.entries(payload).filter(([, v]) => v !== null && typeof v !== 'object');
    blocks.push(
      scalars.length ? fieldsSection(scalars.map(([k, v]) => [k, e(String(v))] as const)) : context(e(kind)),
    );
  }
  const buttons = (Array.isArray(p.actions) ? p.actions : []).map(toCommandButton);
  return card(title, blocks, buttons, str(p.text));
}

/** Renders a notification's payload as a Slack message (≤ 50 blocks). */
export function renderNotification(kind: string, payload: Record<string, unknown>): Rendered {
  if (payload.view === 'digest') return renderDigest(payload as unknown as DigestPayload);
  if (kind === 'holder-ask' || kind === 'holder-ask-reminder') return holderAsk(kind, payload);
  const output = payload.output as { view?: unknown; rows?: unknown } | undefined;
  if (kind === 'finding-alert' && output?.view === 'findings' && Array.isArray(output.rows)) {
    return findingAlert(payload);
  }
  if (kind.startsWith('renewal-') && (payload.licenseId !== undefined || payload.decisionId !== undefined)) {
    return renewalNotice(kind, payload);
  }
  return generic(kind, payload);
}
