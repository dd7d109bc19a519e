/**
 * Plan overlaps: which plans include which (Microsoft 365 E5 includes Office 365 E3). A person holding both is a
 * `duplicate` finding. Seatkeeper ships the common ones; an IT manager adds their own or switches a shipped one off
 * (kept as `disabled`, so the next start does not bring it back). Findings are recomputed with each change.
 */
import { policyOf, recomputeWithin } from '../src/findings/recompute.ts';
import { appendAudit } from '../src/store/audit.ts';
import { inTransaction, requireRole } from './findings-kit.ts';
import { fail, type HandlerContext, ok, type Result } from './types.ts';

export interface OverlapRow {
  /** The larger plan's SKU (as the licenses spell it, else lower-cased). */
  coveringSku: string;
  coveringProduct: string | null;
  /** The SKU of the plan it includes. */
  coveredSku: string;
  coveredProduct: string | null;
  /** `shipped`, `custom` or `disabled` (a shipped overlap switched off). */
  origin: string;
  /** People holding both plans now (open or not). */
  duplicates: number;
}

/** A SKU as licenses spell it, and its product, for `o.<column>`. */
const SKU_NAME = (column: string) => `
  COALESCE((SELECT l.sku FROM licenses l WHERE lower(l.sku) = o.${column} ORDER BY l.id LIMIT 1), o.${column})`;
const PRODUCT_NAME = (column: string) => `
  (SELECT p.name FROM product_skus ps JOIN products p ON p.id = ps.product_id WHERE ps.sku = o.${column})`;

type Db = Pick<HandlerContext['store']['pool'], 'query'>;

async function overlapRows(db: Db, pair?: { covering: string; covered: string }): Promise<OverlapRow[]> {
  const result = await db.query(
    `SELECT ${SKU_NAME('covering_sku')} AS covering_sku, ${PRODUCT_NAME('covering_sku')} AS covering_product,
       ${SKU_NAME('covered_sku')} AS covered_sku, ${PRODUCT_NAME('covered_sku')} AS covered_product, o.origin,
       (SELECT count(*)::int FROM findings f JOIN licenses l ON l.id = f.license_id
        WHERE f.kind = 'duplicate' AND f.status <> 'resolved' AND lower(l.sku) = o.covered_sku
          AND lower(f.evidence->>'coveringSku') = o.covering_sku) AS duplicates
     FROM plan_overlaps o
     WHERE $1::text IS NULL OR (o.covering_sku = $1 AND o.covered_sku = $2)
     ORDER BY o.covering_sku, o.covered_sku`,
    [pair?.covering ?? null, pair?.covered ?? null],
  );
  return result.rows.map(
    (r): OverlapRow => ({
      coveringSku: r.covering_sku,
      coveringProduct: r.covering_product,
      coveredSku: r.covered_sku,
      coveredProduct: r.covered_product,
      origin: r.origin,
      duplicates: r.duplicates,
    }),
  );
}

/** Every overlap, shipped, custom and disabled. */
export async function listOverlaps(ctx: HandlerContext): Promise<Result<OverlapRow[]>> {
  return ok(await overlapRows(ctx.store.pool));
}

function checkPair(input: {
  covering?: string;
  covered?: string;
}): Result<{ covering: string; covered: string }> {
  const covering = input.covering?.trim().toLowerCase();
  const covered = input.covered?.trim().toLowerCase();
  if (!covering || !covered) {
    return fail(
      'INVALID_ARGUMENT',
      'Name both plans: --covering SKU (the larger plan) --covered SKU (the one it includes).',
    );
  }
  if (covering === covered) return fail('INVALID_ARGUMENT', 'A plan does not overlap itself.');
  if (covering.length > 100 || covered.length > 100)
    return fail('INVALID_ARGUMENT', 'A SKU is at most 100 characters.');
  return ok({ covering, covered });
}

/** Declares that `covering` includes `covered` (or switches a disabled shipped overlap back on). */
export async function addOverlap(
  ctx: HandlerContext,
  input: { covering?: string; covered?: string },
): Promise<Result<OverlapRow[]>> {
  const denied = await requireRole(ctx, 'it-manager', 'findings overlap');
  if (denied) return denied;
  const pair = checkPair(input);
  if (!pair.ok) return pair;
  const { covering, covered } = pair.value;
  const now = ctx.now();
  return inTransaction(ctx, async (client) => {
    const existing = await client.query<{ covering_sku: string; origin: string }>(
      `SELECT covering_sku, origin FROM plan_overlaps
       WHERE (covering_sku = $1 AND covered_sku = $2) OR (covering_sku = $2 AND covered_sku = $1) FOR UPDATE`,
      [covering, covered],
    );
    const same = existing.rows.find((r) => r.covering_sku === covering);
    const reverse = existing.rows.find((r) => r.covering_sku === covered && r.origin !== 'disabled');
    if (reverse) {
      // Both directions would flag each seat as the other's duplicate.
      return fail(
        'CONFLICT',
        `${input.covered} already includes ${input.covering}; remove that overlap first.`,
      );
    }
    if (same && same.origin !== 'disabled') {
      return fail('CONFLICT', `${input.covering} already includes ${input.covered} (${same.origin}).`);
    }
    // A disabled shipped overlap is switched back on as shipped; a new one is custom.
    await client.query(
      `INSERT INTO plan_overlaps (covering_sku, covered_sku, origin) VALUES ($1, $2, 'custom')
       ON CONFLICT (covering_sku, covered_sku) DO UPDATE SET origin = 'shipped'`,
      [covering, covered],
    );
    const findings = await recomputeWithin(client, policyOf(ctx.config), now);
    const rows = await overlapRows(client, { covering, covered });
    await appendAudit(client, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: 'overlap.add',
      target: `overlap:${covering}>${covered}`,
      before: same ? { origin: same.origin } : null,
      after: { ...rows[0], findingsOpened: findings.opened },
      at: now,
    });
    return ok(rows);
  });
}

/** Removes a custom overlap, or switches a shipped one off. Its duplicate findings resolve. */
export async function removeOverlap(
  ctx: HandlerContext,
  input: { covering?: string; covered?: string },
): Promise<Result<OverlapRow[]>> {
  const denied = await requireRole(ctx, 'it-manager', 'findings overlap');
  if (denied) return denied;
  const pair = checkPair(input);
  if (!pair.ok) return pair;
  const { covering, covered } = pair.value;
  const now = ctx.now();
  return inTransaction(ctx, async (client) => {
    const [before] = await overlapRows(client, { covering, covered });
    if (!before || before.origin === 'disabled') {
      return fail(
        'NOT_FOUND',
        `No overlap says ${input.covering} includes ${input.covered} (see 'findings overlap list').`,
      );
    }
    await client.query(
      `WITH gone AS (
         DELETE FROM plan_overlaps WHERE covering_sku = $1 AND covered_sku = $2 AND origin = 'custom' RETURNING 1
       )
       UPDATE plan_overlaps SET origin = 'disabled'
       WHERE covering_sku = $1 AND covered_sku = $2 AND origin = 'shipped'`,
      [covering, covered],
    );
    const findings = await recomputeWithin(client, policyOf(ctx.config), now);
    const after = await overlapRows(client, { covering, covered });
    await appendAudit(client, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: 'overlap.remove',
      target: `overlap:${covering}>${covered}`,
      before,
      after: { origin: after[0]?.origin ?? null, findingsResolved: findings.resolved },
      at: now,
    });
    return ok(after.length > 0 ? after : [{ ...before, origin: 'removed', duplicates: 0 }]);
  });
}
