/** Renewals as an iCalendar procurement can subscribe to: a cancel-by event and a renewal event per license. */
import { type CalendarEvent, writeCalendar } from './icalendar.ts';
import type { RenewalRow } from './renewal-sql.ts';

const amount = (value: number | null, currency: string | null) =>
  value === null ? 'unknown' : `${value.toFixed(2)} ${currency ?? ''}`.trim();

function description(r: RenewalRow): string {
  const lines = [
    `${r.product} (${r.sku}) from ${r.vendor}`,
    `Renewal date: ${r.renewalDate}${r.autoRenew ? ' (renews automatically)' : ''}`,
    `Cancel by: ${r.cancelBy} (${r.noticeDays} days notice)`,
    `Quantity: ${r.quantity ?? 'unlimited'}; consumed ${r.consumed}; recommended ${r.recommendedQuantity}`,
    `Cost per year: ${amount(r.annualCost, r.currency)}; as recommended ${amount(r.recommendedCost, r.currency)}`,
  ];
  if (r.idleSeats > 0) lines.push(`Idle seats to reclaim first: ${r.idleSeats}`);
  if (r.budgetRemaining !== null) {
    lines.push(
      `Budget remaining (${r.costCenter}): ${amount(r.budgetRemaining, r.budgetCurrency)} — ${r.budgetCheck}`,
    );
  }
  lines.push(`Status: ${r.status}`);
  if (r.owner) lines.push(`Owner: ${r.owner}`);
  if (r.vendorContact) lines.push(`Vendor contact: ${r.vendorContact}`);
  return lines.join('\n');
}

/** The events of one renewal. UIDs depend on the license and renewal date only, so edits update, not duplicate. */
export function renewalEvents(r: RenewalRow): CalendarEvent[] {
  const uid = `seatkeeper-renewal-${r.licenseId}-${r.renewalDate}`;
  const text = description(r);
  const declined = r.status === 'declined';
  return [
    {
      uid: `${uid}-cancel-by@seatkeeper`,
      date: r.cancelBy,
      summary: declined
        ? `Cancel-by: tell ${r.vendor} that ${r.product} (${r.sku}) does not renew`
        : `Cancel-by: decide the renewal of ${r.product} (${r.sku})`,
      description: text,
      categories: ['Seatkeeper', 'Cancel-by'],
      alarmDaysBefore: 7,
    },
    {
      uid: `${uid}-renews@seatkeeper`,
      date: r.renewalDate,
      summary: declined
        ? `Ends: ${r.product} (${r.sku})`
        : `Renews: ${r.product} (${r.sku}), ${r.quantity ?? 'unlimited'} seats, ${amount(r.annualCost, r.currency)}/year`,
      description: text,
      categories: ['Seatkeeper', 'Renewal'],
    },
  ];
}

/** The whole calendar of `rows`, stamped `generatedAt`. */
export function renewalsCalendar(rows: readonly RenewalRow[], generatedAt: Date): string {
  return writeCalendar({
    prodId: '-//Seatkeeper//Renewals//EN',
    name: 'Seatkeeper renewals',
    generatedAt,
    events: rows.flatMap(renewalEvents),
  });
}
