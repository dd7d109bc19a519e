/**
 * Contract terms and purchase information of a license. Setting a product, a cost center (its license pool) and a
 * unit price makes a license valid, after which the next import creates license requirements for its holders.
 */
import { appendAudit } from '../src/store/audit.ts';
import { fail, type HandlerContext, hasRole, ok, type Result } from './types.ts';

export interface ContractInput {
  sku?: string;
  license?: number;
  renewalDate?: string;
  termStart?: string;
  termEnd?: string;
  noticeDays?: number;
  unitPrice?: string;
  currency?: string;
  billing?: string;
  autoRenew?: boolean;
  noAutoRenew?: boolean;
  commitFloor?: number;
  costCenter?: string;
  owner?: string;
  product?: string;
  publisher?: string;
  minEntitlementDays?: number;
  idleDays?: number;
  /** Largest price increase accepted at renewal, in percent (e.g. `5` or `3.5`). */
  priceUpliftCap?: string;
  /** Who to tell at the vendor (a name, an e-mail, a phone number). */
  vendorContact?: string;
}

export interface ContractResult {
  licenseId: number;
  sku: string;
  changed: Record<string, unknown>;
  status: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function validDate(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (!DATE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw new InputError(`--${name} must be a date like 2027-03-31, not '${value}'.`);
  }
  return value;
}

class InputError extends Error {}

/**
 * Finds one license by SKU (case-insensitively), or by id when several licenses share the SKU.
 * @returns the license row (all columns), or a failure that says how to choose
 */
export async function resolveLicense(
  ctx: HandlerContext,
  which: { sku?: string; license?: number },
  // biome-ignore lint/suspicious/noExplicitAny: a licenses row, all columns
): Promise<Result<Record<string, any>>> {
  if (!which.sku && which.license === undefined)
    return fail('INVALID_ARGUMENT', 'Say which license: --sku or --license.');
  const found = await ctx.store.pool.query(
    `SELECT * FROM licenses WHERE ($1::bigint IS NOT NULL AND id = $1) OR ($1::bigint IS NULL AND lower(sku) = lower($2))
     ORDER BY id`,
    [which.license ?? null, which.sku ?? null],
  );
  if (found.rows.length === 0)
    return fail('NOT_FOUND', `No license matches '${which.sku ?? which.license}'.`);
  if (found.rows.length > 1) {
    const ids = found.rows.map((r) => `${r.id} (${r.source}: ${r.name})`).join(', ');
    return fail(
      'INVALID_ARGUMENT',
      `Several licenses have SKU ${which.sku}: ${ids}. Choose one with --license ID.`,
    );
  }
  return ok(found.rows[0]);
}

/** Sets contract terms on one license (found by SKU, or by id when a SKU is held by several licenses). */
export async function setContract(
  ctx: HandlerContext,
  input: ContractInput,
): Promise<Result<ContractResult>> {
  if (!hasRole(ctx.actor, 'it-manager')) {
    return fail('NOT_AUTHORIZED', 'Setting contract terms needs the it-manager role.');
  }
  let updates: Record<string, unknown>;
  try {
    updates = contractColumns(input);
  } catch (error) {
    if (error instanceof InputError) return fail('INVALID_ARGUMENT', error.message);
    throw error;
  }
  const found = await resolveLicense(ctx, input);
  if (!found.ok) return found;
  if (Object.keys(updates).length === 0 && !input.product && !input.costCenter) {
    return fail('INVALID_ARGUMENT', 'Nothing to set: give at least one term (see --help).');
  }
  const before = found.value;
  const client = await ctx.store.pool.connect();
  try {
    await client.query('BEGIN');
    if (input.product) {
      const product = await client.query<{ id: number }>(
        `INSERT INTO products (publisher, name) VALUES ($1, $2)
         ON CONFLICT (publisher, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
        [input.publisher ?? before.vendor, input.product],
      );
      updates.product_id = product.rows[0]?.id;
      updates.product_pinned = true;
    }
    if (input.costCenter) {
      // One license pool per cost center, made on first use.
      const pool = await client.query<{ id: number }>(
        `INSERT INTO license_pools (name, cost_center) VALUES ($1, $1)
         ON CONFLICT (name) DO UPDATE SET cost_center = EXCLUDED.cost_center RETURNING id`,
        [input.costCenter],
      );
      updates.pool_id = pool.rows[0]?.id;
    }
    const columns = Object.keys(updates);
    const assignments = columns.map((c, i) => `${c} = $${i + 2}`).join(', ');
    await client.query(`UPDATE licenses SET ${assignments}, updated_at = now() WHERE id = $1`, [
      before.id,
      ...columns.map((c) => updates[c]),
    ]);
    const after = await client.query(
      `SELECT l.*, o.status FROM licenses l JOIN license_overview o ON o.id = l.id WHERE l.id = $1`,
      [before.id],
    );
    const changed = Object.fromEntries(columns.map((c) => [c, after.rows[0][c]]));
    await appendAudit(client, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: 'contract.set',
      target: `license:${before.id}`,
      before: Object.fromEntries(columns.map((c) => [c, before[c]])),
      after: changed,
    });
    await client.query('COMMIT');
    return ok({ licenseId: before.id, sku: before.sku, changed, status: after.rows[0].status });
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

function contractColumns(input: ContractInput): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  const renewal = validDate(input.renewalDate, 'renewal-date');
  if (renewal) set.renewal_date = renewal;
  const start = validDate(input.termStart, 'term-start');
  if (start) set.term_start = start;
  const end = validDate(input.termEnd, 'term-end');
  if (end) set.term_end = end;
  if (input.noticeDays !== undefined) set.notice_days = input.noticeDays;
  if ((input.unitPrice === undefined) !== (input.currency === undefined)) {
    throw new InputError('--unit-price and --currency go together (e.g. --unit-price 12.50 --currency EUR).');
  }
  if (input.unitPrice !== undefined) {
    if (!/^\d{1,10}(\.\d{1,4})?$/.test(input.unitPrice)) {
      throw new InputError(`--unit-price must be an amount like 12.50, not '${input.unitPrice}'.`);
    }
    set.unit_price = input.unitPrice;
  }
  if (input.currency !== undefined) {
    if (!/^[A-Za-z]{3}$/.test(input.currency)) {
      throw new InputError(
        `--currency must be a three-letter ISO 4217 code like EUR, not '${input.currency}'.`,
      );
    }
    set.currency = input.currency.toUpperCase();
    // A price is per seat and billing period: without a period given, it is an annual price.
    if (input.billing === undefined) set.billing_period = 'annual';
  }
  if (input.billing !== undefined) {
    if (!['annual', 'monthly'].includes(input.billing)) {
      throw new InputError(`--billing must be annual or monthly, not '${input.billing}'.`);
    }
    set.billing_period = input.billing;
  }
  if (input.autoRenew && input.noAutoRenew)
    throw new InputError('Give --auto-renew or --no-auto-renew, not both.');
  if (input.autoRenew) set.auto_renew = true;
  if (input.noAutoRenew) set.auto_renew = false;
  if (input.commitFloor !== undefined) set.commit_floor = input.commitFloor;
  if (input.costCenter !== undefined) set.cost_center = input.costCenter;
  if (input.owner !== undefined) {
    if (!/^[^\s@]+@[^\s@]+$/.test(input.owner))
      throw new InputError(`--owner must be an e-mail address, not '${input.owner}'.`);
    set.owner_email = input.owner.toLowerCase();
  }
  if (input.minEntitlementDays !== undefined) set.min_entitlement_days = input.minEntitlementDays;
  if (input.idleDays !== undefined) set.idle_days = input.idleDays;
  if (input.priceUpliftCap !== undefined) {
    // numeric(6, 2): up to 9999.99 %.
    if (!/^\d{1,4}(\.\d{1,2})?$/.test(input.priceUpliftCap)) {
      throw new InputError(
        `--price-uplift-cap must be a percentage like 5 or 3.5, not '${input.priceUpliftCap}'.`,
      );
    }
    set.price_uplift_cap = input.priceUpliftCap;
  }
  if (input.vendorContact !== undefined) {
    const contact = input.vendorContact.trim();
    if (contact.length === 0 || contact.length > 300) {
      throw new InputError(
        '--vendor-contact must be 1 to 300 characters (a name, an e-mail, a phone number).',
      );
    }
    set.vendor_contact = contact;
  }
  return set;
}
