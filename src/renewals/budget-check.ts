/** Whether a renewal's cost fits the remaining budget, without ever converting between currencies. */

/** Rounds to cents: costs are sums of products of prices with four decimals. */
export function money(amount: number): number {
  return Math.round(amount * 100) / 100;
}

export interface BudgetCheck {
  /**
   * `fits`, `exceeds`, `no budget` (none for the cost center and year), `other currency` (the budget is in another
   * currency, so the renewal cannot be compared — it is never converted) or `unknown price`.
   */
  check: 'fits' | 'exceeds' | 'no budget' | 'other currency' | 'unknown price';
  /** By how much the renewal exceeds the remaining budget, in the budget's currency; null unless `exceeds`. */
  exceedsBy: number | null;
}

export interface BudgetCheckInput {
  /** The budget's amount minus its committed spend; null without a budget. */
  remaining: number | null;
  budgetCurrency: string | null;
  /** The license's currency. */
  currency: string | null;
  /** The part of the committed spend that is this license's current term (0 when not counted). */
  counted: number;
  /** Annual cost of the renewal being considered; null when the price is unknown. */
  newCost: number | null;
}

/**
 * Renewing replaces the current term: the budget must absorb the difference between the new annual cost and what
 * the current term already commits. An overspent budget therefore makes any renewal `exceeds`.
 */
export function budgetCheck(input: BudgetCheckInput): BudgetCheck {
  if (input.remaining === null || input.budgetCurrency === null)
    return { check: 'no budget', exceedsBy: null };
  if (input.newCost === null || input.currency === null) return { check: 'unknown price', exceedsBy: null };
  if (input.currency !== input.budgetCurrency) return { check: 'other currency', exceedsBy: null };
  const over = money(input.newCost - input.counted - input.remaining);
  return over > 0 ? { check: 'exceeds', exceedsBy: over } : { check: 'fits', exceedsBy: null };
}
