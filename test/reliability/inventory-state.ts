/**
 * The inventory as rows, to prove a fault changed nothing (every column, ordered) or that an import that survived a
 * fault arrived where a fault-free one does (the columns an import decides, without ids and timestamps).
 */
import type { Store } from '../../src/store/store.ts';

/** Every row of the tables an import writes, whole, in a stable order. */
const WHOLE = {
  licenses: 'SELECT * FROM licenses ORDER BY id',
  cloud_subscribers: 'SELECT * FROM cloud_subscribers ORDER BY id',
  persons: 'SELECT * FROM persons ORDER BY id',
  person_emails: 'SELECT * FROM person_emails ORDER BY email',
  findings: 'SELECT * FROM findings ORDER BY id',
} as const;

/** What an import decides, keyed by vendor ids and e-mails (comparable across databases and runs). */
const DECIDED = {
  licenses: `SELECT source, vendor_key, sku, name, capability_status, consumed_units, enabled_units, warning_units,
                    present FROM licenses ORDER BY source, vendor_key`,
  cloud_subscribers: `SELECT l.vendor_key, s.vendor_account_id, s.email, s.is_active, s.account_enabled,
                             s.group_inherited, s.last_activity_at, s.last_activity_source, p.primary_email AS person
                      FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
                      LEFT JOIN persons p ON p.id = s.person_id
                      ORDER BY l.vendor_key, s.vendor_account_id`,
  persons: `SELECT primary_email, display_name, directory_enabled, employment_status, external_id
            FROM persons ORDER BY primary_email`,
  person_emails: `SELECT e.email, e.is_primary, p.primary_email FROM person_emails e JOIN persons p ON p.id = e.person_id
                  ORDER BY e.email`,
} as const;

export interface InventoryState {
  /** Rows per table, as JSON text. */
  rows: Record<string, string[]>;
  /** Per table: row count and md5 of the ordered rows (as the server computes it). */
  checksums: Record<string, { count: number; md5: string | null }>;
}

async function capture(store: Store, queries: Record<string, string>): Promise<InventoryState> {
  const rows: Record<string, string[]> = {};
  const checksums: Record<string, { count: number; md5: string | null }> = {};
  for (const [table, sql] of Object.entries(queries)) {
    const found = await store.pool.query<{ row: string }>(
      `SELECT row_to_json(t)::text AS row FROM (${sql}) t`,
    );
    rows[table] = found.rows.map((r) => r.row);
    const sum = await store.pool.query<{ count: number; md5: string | null }>(
      `SELECT count(*)::int AS count, md5(string_agg(r, '|' ORDER BY r)) AS md5
       FROM (SELECT row_to_json(q)::text AS r FROM (${sql}) q) t`,
    );
    checksums[table] = sum.rows[0] as { count: number; md5: string | null };
  }
  return { rows, checksums };
}

/** Every row of the inventory, whole. */
export const wholeInventory = (store: Store) => capture(store, WHOLE);

/** What imports decided, without ids and timestamps of our own. */
export const decidedInventory = (store: Store) => capture(store, DECIDED);

/**
 * Rows of `before` missing from `after` (lost) and rows of `after` not in `before` (extra, e.g. a page imported
 * twice), over all tables.
 */
export function compareStates(
  before: InventoryState,
  after: InventoryState,
): { lost: number; extra: number } {
  let lost = 0;
  let extra = 0;
  for (const table of Object.keys(before.rows)) {
    const a = [...(before.rows[table] ?? [])];
    const b = [...(after.rows[table] ?? [])];
    const remaining = new Map<string, number>();
    for (const row of b) remaining.set(row, (remaining.get(row) ?? 0) + 1);
    for (const row of a) {
      const n = remaining.get(row) ?? 0;
      if (n > 0) remaining.set(row, n - 1);
      else lost++;
    }
    for (const n of remaining.values()) extra += n;
  }
  return { lost, extra };
}

/** The newest import run of a source. */
export async function lastRun(store: Store, source: string) {
  const found = await store.pool.query<{ id: number; outcome: string; error: string | null; counts: object }>(
    'SELECT id, outcome, error, counts FROM import_runs WHERE source = $1 ORDER BY id DESC LIMIT 1',
    [source],
  );
  return found.rows[0];
}

/** Every row of the inventory that does not belong to `source` (what an import of `source` must never touch). */
export const inventoryOutside = (store: Store, source: string) =>
  capture(store, {
    licenses: `SELECT * FROM licenses WHERE source <> '${source.replace(/'/g, "''")}' ORDER BY id`,
    cloud_subscribers: `SELECT s.* FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
                        WHERE l.source <> '${source.replace(/'/g, "''")}' ORDER BY s.id`,
    persons: WHOLE.persons,
    person_emails: WHOLE.person_emails,
  });
