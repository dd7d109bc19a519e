/** Terminal renderers for the actions commands' views (view name → rows → text). */
import type { AuditRow } from '../../../handlers/audit-query.ts';
import type { ClearingActionRow } from '../../../handlers/clearing-actions.ts';
import type { ActionRow, AskRow, ReclaimRow } from '../../../handlers/reclaim.ts';
import { table } from '../render.ts';

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : null);
const minute = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : null);

const money = (amount: number | null, currency: string | null) =>
  amount === null
    ? 'unknown'
    : `${amount.toLocaleString('en-US', { maximumFractionDigits: 2 })} ${currency ?? ''}`.trim();

function activity(r: Pick<ReclaimRow, 'lastActivityAt' | 'daysSinceActivity'>): string {
  if (!r.lastActivityAt) return 'never';
  return `${day(r.lastActivityAt)} (${r.daysSinceActivity} days ago)`;
}

/** What reclaiming these rows saves a year, per currency; seats without a price are counted, not guessed. */
function savingsText(rows: readonly ReclaimRow[]): string {
  const sums = new Map<string, number>();
  let unpriced = 0;
  for (const r of rows) {
    if (r.savings === null) unpriced++;
    else sums.set(r.currency ?? '', (sums.get(r.currency ?? '') ?? 0) + r.savings);
  }
  const parts = [...sums].map(([currency, sum]) => money(sum, currency));
  const known = parts.length > 0 ? `saving ${parts.join(' + ')} a year` : '';
  const unknown =
    unpriced > 0
      ? `${unpriced} seat${unpriced === 1 ? ' has' : 's have'} no price (set one with 'contract set --unit-price')`
      : '';
  return [known, unknown].filter(Boolean).join('; ');
}

function reclaim(rows: ReclaimRow[]): string {
  const head = table(
    ['ACCOUNT', 'PERSON', 'PRODUCT', 'SKU', 'LAST ACTIVITY', 'SAVINGS/YEAR', 'STATE'],
    rows.map((r) => [
      r.email ?? r.login,
      r.person ?? '(clearing)',
      r.product,
      r.sku,
      activity(r),
      money(r.savings, r.currency),
      r.state,
    ]),
  );
  const notes: string[] = [];
  for (const r of rows) {
    const who = r.email ?? r.login;
    for (const b of r.blockers) notes.push(`  ${who}: blocked: ${b.message}`);
    for (const w of r.warnings) notes.push(`  ${who}: note: ${w.message}`);
    if (r.ask) notes.push(`  ${who}: asked ${r.ask.holder} — Keep or Release by ${minute(r.ask.deadline)}`);
    if (r.detail) notes.push(`  ${who}: ${r.detail}`);
    if (r.error) notes.push(`  ${who}: ${r.state}: ${r.error}`);
    if (r.state === 'done' && r.actionId)
      notes.push(`  ${who}: undo until ${day(r.undoUntil)} with: seatkeeper undo ${r.actionId}`);
    if (r.state === 'failed' && r.retryable)
      notes.push(`  ${who}: retry with: seatkeeper retry ${r.actionId}`);
  }
  const preview = rows.every((r) => r.state === 'preview' || r.state === 'blocked');
  const acting = rows.filter((r) => r.state !== 'blocked');
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const summary = [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
  const footer = preview
    ? acting.length === 0
      ? `Dry run: nothing was changed. None of these seats can be reclaimed now.`
      : `Dry run: nothing was changed. ${acting.length} of ${rows.length} seats can be reclaimed, ${savingsText(acting)}.`
    : `${rows.length} seat${rows.length === 1 ? '' : 's'}: ${summary}.${rows[0]?.batchId ? ` Batch ${rows[0].batchId}.` : ''}`;
  return `${head}${notes.length > 0 ? `\n${notes.join('\n')}\n` : ''}\n${footer}\n`;
}

function actions(rows: ActionRow[]): string {
  const head = table(
    ['ACTION', 'KIND', 'STATE', 'ACCOUNT', 'SKU', 'BY', 'CREATED', 'UNDO UNTIL'],
    rows.map((r) => [
      r.actionId,
      r.kind,
      r.state,
      r.email ?? r.login,
      r.sku,
      r.requestedBy,
      minute(r.createdAt),
      r.state === 'done' && r.kind === 'reclaim' ? day(r.undoUntil) : null,
    ]),
  );
  const notes = rows.flatMap((r) =>
    [
      r.detail ? `  ${r.actionId}: ${r.detail}` : null,
      r.error ? `  ${r.actionId}: ${r.error}${r.retryable ? ' (retryable: seatkeeper retry)' : ''}` : null,
      r.ask
        ? `  ${r.actionId}: asked ${r.ask.holder}, answer ${r.ask.answer ?? `due ${minute(r.ask.deadline)}`}`
        : null,
    ].filter((l): l is string => l !== null),
  );
  return notes.length > 0 ? `${head}\n${notes.join('\n')}\n` : head;
}

function asks(rows: AskRow[]): string {
  return rows
    .map(
      (r) =>
        `${r.question}\n  holder: ${r.holder}   asked by: ${r.requestedBy}   deadline: ${minute(r.deadline)}\n` +
        `  answer with: seatkeeper answer ${r.actionId} keep   (or release)\n`,
    )
    .join('\n');
}

function clearingActions(rows: ClearingActionRow[]): string {
  return table(
    ['VENDOR', 'ACCOUNT', 'SKU', 'PERSON', 'KIND', 'IN CLEARING', 'NOTE'],
    rows.map((r) => [
      r.vendor,
      r.email ?? r.login,
      r.sku,
      r.person,
      r.accountKind,
      r.inClearing ? 'yes' : 'no',
      r.note,
    ]),
  );
}

function audit(rows: AuditRow[]): string {
  const short = (value: unknown) => {
    if (value === null || value === undefined) return null;
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  };
  return table(
    ['AT', 'ACTOR', 'SURFACE', 'ACTION', 'TARGET', 'AFTER'],
    rows.map((r) => [
      r.at.slice(0, 19).replace('T', ' '),
      r.actor,
      r.surface,
      r.action,
      r.target,
      short(r.after),
    ]),
  );
}

export const ACTIONS_VIEWS: Record<string, (rows: never[]) => string> = {
  reclaim,
  actions,
  asks,
  'clearing-actions': clearingActions,
  audit,
};
