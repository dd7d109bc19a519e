/**
 * Annual budgets per cost center (optionally per product) with committed spend and what remains. A budget has one
 * currency; licenses priced in another currency are listed as not counted — never converted.
 */
import { RENEWAL_CTES, renewalParams } from '../src/renewals/renewal-sql.ts';
import { renewalSettings } from '../src/renewals/settings.ts';
import { appendAudit } from '../src/store/audit.ts';
import { deny } from './authorize.ts';
import type { Listing, Page } from './inventory-queries.ts';
import { fail, type HandlerContext, hasRole, ok, type Result } from './types.ts';

export interface BudgetInput {
  costCenter: string;
  /** The annual amount, e.g. `120000` or `120000.50`. */
  amount: string;
  /** ISO 4217 code. */
  currency: string;
  /** A catalog product's name: the budget covers that product in the cost center only. */
  product?: string;
  /** Fiscal (calendar) year; default: this year. */
  year?: number;
}

/** A license term the budget could not count. */
export interface NotCounted {
  licenseId: number;
  sku: string;
  product: string;
  currency: string | null;
  annualCost: number | null;
  /** `other currency` or `no price or quantity`. */
  reason: string;
}

export interface BudgetRow {
  id: number;
  costCenter: string;
  /** Null: the whole cost center. */
  product: string | null;
  year: number;
  amount: number;
  currency: string;
  /** Sum of the annual cost of the active terms counted, in `currency`. */
  committed: number;
  remaining: number;
  /** How many terms were counted. */
  counted: number;
  notCounted: NotCounted[];
}

const AMOUNT = /^\d{1,12}(\.\d{1,2})?$/;

// biome-ignore lint/suspicious/noExplicitAny: a row of the budget_status CTE
const toBudgetRow = (r: any): BudgetRow => ({
  id: r.id,
  costCenter: r.cost_center,
  product: r.product,
  year: r.fiscal_year,
  amount: Number(r.amount),
  currency: r.currency,
  committed: Number(r.committed),
  remaining: Number(r.remaining),
  counted: r.counted,
  notCounted: r.not_counted,
});

async function queryBudgets(
  ctx: HandlerContext,
  filter: { id?: number; year?: number; costCenter?: string } & Page,
): Promise<Listing<BudgetRow>> {
  const result = await ctx.store.pool.query(
    `WITH ${RENEWAL_CTES}
     SELECT bs.*, round(bs.amount - bs.committed, 2) AS remaining, p.name AS product, count(*) OVER ()::int AS total
     FROM budget_status bs LEFT JOIN products p ON p.id = bs.product_id
     WHERE ($5::bigint IS NULL OR bs.id = $5) AND ($6::int IS NULL OR bs.fiscal_year = $6)
       AND ($7::text IS NULL OR lower(bs.cost_center) = lower($7))
     ORDER BY bs.fiscal_year DESC, lower(bs.cost_center), p.name NULLS FIRST
     LIMIT $8 OFFSET $9`,
    [
      ...renewalParams(ctx.now(), renewalSettings(ctx.config)),
      filter.id ?? null,
      filter.year ?? null,
      filter.costCenter ?? null,
      filter.limit,
      filter.offset,
    ],
  );
  return { total: result.rows[0]?.total ?? 0, rows: result.rows.map(toBudgetRow) };
}

/** Budgets with committed spend and remaining, newest year first. */
export async function listBudgets(
  ctx: HandlerContext,
  args: { year?: number; costCenter?: string } & Page,
): Promise<Result<Listing<BudgetRow>>> {
  return ok(await queryBudgets(ctx, args));
}

/**
 * Sets (creates or replaces) the annual budget of a cost center, or of one product in it. Needs the it-manager or
 * the finance role; audited with the previous amount.
 */
export async function setBudget(ctx: HandlerContext, input: BudgetInput): Promise<Result<BudgetRow>> {
  if (!hasRole(ctx.actor, 'it-manager') && !hasRole(ctx.actor, 'finance')) {
    return deny(ctx, 'budget set', 'Setting a budget needs the it-manager or the finance role.', {
      required: 'it-manager or finance',
    });
  }
  const costCenter = input.costCenter.trim();
  if (!costCenter) return fail('INVALID_ARGUMENT', '--cost-center must not be empty.');
  if (!AMOUNT.test(input.amount)) {
    return fail(
      'INVALID_ARGUMENT',
      `--amount must be an amount like 120000 or 120000.50, not '${input.amount}'.`,
    );
  }
  if (!/^[A-Za-z]{3}$/.test(input.currency)) {
    return fail(
      'INVALID_ARGUMENT',
      `--currency must be a three-letter ISO 4217 code like EUR, not '${input.currency}'.`,
    );
  }
  const year = input.year ?? ctx.now().getUTCFullYear();
  if (!Number.isInteger(year) || year < 2000 || year > 2100) {
    return fail(
      'INVALID_ARGUMENT',
      `--year must be a year like ${ctx.now().getUTCFullYear()}, not '${year}'.`,
    );
  }
  let productId: number | null = null;
  if (input.product) {
    const products = await ctx.store.pool.query<{ id: number; publisher: string }>(
      `SELECT id, publisher FROM products WHERE lower(name) = lower($1) ORDER BY id`,
      [input.product.trim()],
    );
    if (products.rows.length === 0) return fail('NOT_FOUND', `No product is called '${input.product}'.`);
    if (products.rows.length > 1) {
      const publishers = products.rows.map((p) => p.publisher).join(', ');
      return fail(
        'INVALID_ARGUMENT',
        `Several publishers have a product '${input.product}' (${publishers}).`,
      );
    }
    productId = products.rows[0]?.id ?? null;
  }
  const client = await ctx.store.pool.connect();
  let id: number;
  try {
    await client.query('BEGIN');
    // One spelling per cost center: the one its licenses (or an earlier budget) use, so "design" finds "Design".
    const spelled = await client.query<{ cost_center: string }>(
      `SELECT cost_center FROM (
         SELECT cost_center, 1 AS pref FROM licenses WHERE lower(cost_center) = lower($1)
         UNION ALL SELECT cost_center, 2 FROM budgets WHERE lower(cost_center) = lower($1)
       ) s ORDER BY pref LIMIT 1`,
      [costCenter],
    );
    const canonical = spelled.rows[0]?.cost_center ?? costCenter;
    const before = await client.query(
      `SELECT id, amount::float8 AS amount, currency FROM budgets
       WHERE lower(cost_center) = lower($1) AND COALESCE(product_id, 0) = COALESCE($2::bigint, 0) AND fiscal_year = $3
       FOR UPDATE`,
      [canonical, productId, year],
    );
    const currency = input.currency.toUpperCase();
    const existing = before.rows[0]?.id as number | undefined;
    const saved = existing
      ? await client.query<{ id: number }>(
          'UPDATE budgets SET amount = $2, currency = $3, updated_at = $4 WHERE id = $1 RETURNING id',
          [existing, input.amount, currency, ctx.now()],
        )
      : await client.query<{ id: number }>(
          `INSERT INTO budgets (cost_center, product_id, fiscal_year, amount, currency, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (cost_center, (COALESCE(product_id, 0)), fiscal_year)
           DO UPDATE SET amount = EXCLUDED.amount, currency = EXCLUDED.currency, updated_at = EXCLUDED.updated_at
           RETURNING id`,
          [canonical, productId, year, input.amount, currency, ctx.now()],
        );
    id = saved.rows[0]?.id as number;
    await appendAudit(client, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: 'budget.set',
      target: `budget:${id}`,
      before: before.rows[0] ?? null,
      after: {
        costCenter: canonical,
        product: input.product ?? null,
        year,
        amount: Number(input.amount),
        currency,
      },
      at: ctx.now(),
    });
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  const row = (await queryBudgets(ctx, { id, limit: 1, offset: 0 })).rows[0];
  return row ? ok(row) : fail('CONFLICT', 'The budget was removed while it was being set.');
}
