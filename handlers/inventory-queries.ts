/**
 * Read-only inventory verbs: who-has, seats, person, clearing. Each is one indexed query; lists are paged so a
 * question about a million accounts answers as fast as one about ten.
 */
import { fail, type HandlerContext, ok, type Result } from './types.ts';

export interface Page {
  limit: number;
  offset: number;
}

export interface Listing<T> {
  /** How many rows match in all. */
  total: number;
  rows: T[];
}

export interface SubscriberRow {
  email: string | null;
  login: string | null;
  sku: string;
  product: string;
  vendor: string;
  /** The matched person's primary e-mail, or null (the account is in clearing). */
  person: string | null;
  active: boolean;
  lastActivityAt: string | null;
  /** Where the last activity came from; `no usage signal` when the vendor reports none. */
  lastActivitySource: string | null;
  assignedAt: string | null;
  licenseId: number;
  subscriberId: number;
  vendorAccountId: string;
}

export interface SeatRow {
  licenseId: number;
  sku: string;
  product: string;
  vendor: string;
  type: string;
  status: string;
  /** Purchased usage rights (enabled + warning units); null when unlimited. */
  purchased: number | null;
  consumed: number;
  /** Free seats: purchased − consumed, never below 0; null when unlimited. */
  available: number | null;
  capabilityStatus: string;
  enabledUnits: number;
  warningUnits: number;
  suspendedUnits: number;
  lockedOutUnits: number;
  unlimited: boolean;
  lastImportAt: string;
}

export interface ClearingRow {
  subscriberId: number;
  email: string | null;
  login: string | null;
  vendor: string;
  sku: string;
  product: string;
  vendorAccountId: string;
  firstImportAt: string;
}

export interface PersonRow {
  personId: number;
  email: string;
  aliases: string[];
  displayName: string | null;
  department: string | null;
  costCenter: string | null;
  manager: string | null;
  employmentStatus: string;
  departedAt: string | null;
  directoryEnabled: boolean;
  source: string;
  seats: SubscriberRow[];
}

const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);

/** `%`, `_` and `\` match themselves in a LIKE pattern built from user input. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const SUBSCRIBER_COLUMNS = `
  s.id AS subscriber_id, s.email, s.login, l.sku, COALESCE(pr.name, l.name) AS product, l.vendor,
  p.primary_email AS person, s.is_active AS active, s.last_activity_at, s.last_activity_source, l.usage_signal,
  s.assigned_at, l.id AS license_id, s.vendor_account_id`;

interface SubscriberDbRow {
  subscriber_id: number;
  email: string | null;
  login: string | null;
  sku: string;
  product: string;
  vendor: string;
  person: string | null;
  active: boolean;
  last_activity_at: Date | null;
  last_activity_source: string | null;
  usage_signal: boolean;
  assigned_at: Date | null;
  license_id: number;
  vendor_account_id: string;
  total?: number;
}

function toSubscriberRow(r: SubscriberDbRow): SubscriberRow {
  return {
    email: r.email,
    login: r.login,
    sku: r.sku,
    product: r.product,
    vendor: r.vendor,
    person: r.person,
    active: r.active,
    lastActivityAt: iso(r.last_activity_at),
    lastActivitySource: r.usage_signal || r.last_activity_source ? r.last_activity_source : 'no usage signal',
    assignedAt: iso(r.assigned_at),
    licenseId: r.license_id,
    subscriberId: r.subscriber_id,
    vendorAccountId: r.vendor_account_id,
  };
}

function requireText(value: string | undefined, what: string): Result<string> {
  const text = value?.trim() ?? '';
  if (text === '') return fail('INVALID_ARGUMENT', `Say which ${what}.`);
  if (text.length > 320)
    return fail('INVALID_ARGUMENT', `That ${what} is too long (320 characters at most).`);
  return ok(text);
}

/**
 * Who holds a seat of an app (product name, plan name or SKU, case-insensitive) — or, given an e-mail, which seats
 * that address (or the person behind it, through every alias) holds.
 */
export async function whoHas(
  ctx: HandlerContext,
  args: { query?: string } & Page,
): Promise<Result<Listing<SubscriberRow>>> {
  const checked = requireText(args.query, 'app, SKU or e-mail');
  if (!checked.ok) return checked;
  const query = checked.value;
  if (query.includes('@')) {
    // One address (or the person behind it, through every alias): a handful of rows, found by index.
    const result = await ctx.store.pool.query<SubscriberDbRow>(
      `WITH chosen AS (
         SELECT s.id, s.is_active, lower(COALESCE(s.email, s.login)) AS sort_key, l.sku
         FROM cloud_subscribers s
         JOIN licenses l ON l.id = s.license_id
         WHERE lower(s.email) = lower($1)
           OR s.person_id = (SELECT person_id FROM person_emails WHERE email = lower($1))
       ), page AS (
         SELECT id FROM chosen ORDER BY is_active DESC, sort_key, sku, id LIMIT $2 OFFSET $3
       )
       SELECT ${SUBSCRIBER_COLUMNS}, (SELECT count(*) FROM chosen)::int AS total
       FROM page
       JOIN cloud_subscribers s ON s.id = page.id
       JOIN licenses l ON l.id = s.license_id
       LEFT JOIN products pr ON pr.id = l.product_id
       LEFT JOIN persons p ON p.id = s.person_id
       ORDER BY s.is_active DESC, lower(COALESCE(s.email, s.login)), l.sku, s.id`,
      [query, args.limit, args.offset],
    );
    return ok({ total: result.rows[0]?.total ?? 0, rows: result.rows.map(toSubscriberRow) });
  }
  // An app: every license whose SKU, plan, product or vendor matches. A popular app has hundreds of thousands of
  // holders, so each license gives only its first offset + limit holders, in the order of its index
  // (subscribers_license_order_idx), and the page is taken from those; the total is the licenses' account tallies,
  // asked for alongside (so a page past the end still says how many there are).
  const licenses = `SELECT l.id, l.sku FROM licenses l LEFT JOIN products pr ON pr.id = l.product_id
    WHERE lower(l.sku) = lower($1) OR l.name ILIKE $2 OR pr.name ILIKE $2 OR l.vendor ILIKE $2`;
  const [result, counted] = await Promise.all([
    ctx.store.pool.query<SubscriberDbRow>(
      `WITH sel AS (${licenses}),
       page AS (
         SELECT c.id, c.is_active, c.sort_key, sel.sku
         FROM sel
         CROSS JOIN LATERAL (
           SELECT s.id, s.is_active, lower(COALESCE(s.email, s.login)) COLLATE "C" AS sort_key
           FROM cloud_subscribers s
           WHERE s.license_id = sel.id
           ORDER BY s.is_active DESC NULLS LAST, lower(COALESCE(s.email, s.login)) COLLATE "C", s.id
           LIMIT $3::int + $4::int
         ) c
         ORDER BY c.is_active DESC, c.sort_key, sel.sku, c.id LIMIT $3 OFFSET $4
       )
       SELECT ${SUBSCRIBER_COLUMNS}
       FROM page
       JOIN cloud_subscribers s ON s.id = page.id
       JOIN licenses l ON l.id = s.license_id
       LEFT JOIN products pr ON pr.id = l.product_id
       LEFT JOIN persons p ON p.id = s.person_id
       ORDER BY page.is_active DESC, page.sort_key, page.sku, page.id`,
      [query, likePattern(query), args.limit, args.offset],
    ),
    ctx.store.pool.query<{ n: string }>(
      `SELECT COALESCE(sum(t.accounts), 0) AS n FROM subscriber_tallies t
       WHERE t.license_id IN (SELECT id FROM (${licenses}) sel)`,
      [query, likePattern(query)],
    ),
  ]);
  return ok({ total: Number(counted.rows[0]?.n ?? 0), rows: result.rows.map(toSubscriberRow) });
}

/** Purchased, consumed and available seats per license, optionally for one app. */
export async function seats(
  ctx: HandlerContext,
  args: { app?: string } & Page,
): Promise<Result<Listing<SeatRow>>> {
  const app = args.app?.trim() || null;
  if (app && app.length > 320)
    return fail('INVALID_ARGUMENT', 'That app name is too long (320 characters at most).');
  const result = await ctx.store.pool.query(
    `SELECT o.*, count(*) OVER ()::int AS total FROM license_overview o
     WHERE o.present AND ($1::text IS NULL OR lower(o.sku) = lower($1) OR o.name ILIKE $4 OR o.product ILIKE $4 OR o.vendor ILIKE $4)
     ORDER BY COALESCE(o.product, o.name), o.sku, o.id
     LIMIT $2 OFFSET $3`,
    [app, args.limit, args.offset, app ? likePattern(app) : null],
  );
  return ok({
    total: (result.rows[0]?.total as number | undefined) ?? 0,
    rows: result.rows.map(
      (r): SeatRow => ({
        licenseId: r.id,
        sku: r.sku,
        product: r.product ?? r.name,
        vendor: r.vendor,
        type: r.type,
        status: r.status,
        purchased: r.purchased,
        consumed: r.consumed_units,
        available: r.available,
        capabilityStatus: r.capability_status,
        enabledUnits: r.enabled_units,
        warningUnits: r.warning_units,
        suspendedUnits: r.suspended_units,
        lockedOutUnits: r.locked_out_units,
        unlimited: r.unlimited,
        lastImportAt: r.last_import_at.toISOString(),
      }),
    ),
  });
}

/** A person (found by any of their addresses) with every seat they hold. */
export async function person(ctx: HandlerContext, args: { email?: string }): Promise<Result<PersonRow[]>> {
  const checked = requireText(args.email, 'e-mail');
  if (!checked.ok) return checked;
  const found = await ctx.store.pool.query(
    `SELECT p.*, ARRAY(SELECT email FROM person_emails e WHERE e.person_id = p.id AND NOT e.is_primary
                       ORDER BY email) AS aliases
     FROM persons p
     WHERE p.id = (SELECT person_id FROM person_emails WHERE email = lower($1))
        OR lower(p.primary_email) = lower($1)`,
    [checked.value],
  );
  const rows: PersonRow[] = [];
  for (const p of found.rows) {
    const held = await ctx.store.pool.query<SubscriberDbRow>(
      `SELECT ${SUBSCRIBER_COLUMNS}
       FROM cloud_subscribers s
       JOIN licenses l ON l.id = s.license_id
       LEFT JOIN products pr ON pr.id = l.product_id
       LEFT JOIN persons p ON p.id = s.person_id
       WHERE s.person_id = $1
       ORDER BY s.is_active DESC, l.sku, s.id`,
      [p.id],
    );
    rows.push({
      personId: p.id,
      email: p.primary_email,
      aliases: p.aliases,
      displayName: p.display_name,
      department: p.department,
      costCenter: p.cost_center,
      manager: p.manager_email,
      employmentStatus: p.employment_status,
      departedAt: iso(p.departed_at),
      directoryEnabled: p.directory_enabled,
      source: p.source,
      seats: held.rows.map(toSubscriberRow),
    });
  }
  return ok(rows);
}

/** Active accounts whose e-mail matches no person (the seed's "Clearing Required"). */
export async function clearing(ctx: HandlerContext, args: Page): Promise<Result<Listing<ClearingRow>>> {
  const result = await ctx.store.pool.query(
    `SELECT s.id, s.email, s.login, l.vendor, l.sku, COALESCE(pr.name, l.name) AS product, s.vendor_account_id,
       s.first_import_at, count(*) OVER ()::int AS total
     FROM cloud_subscribers s
     JOIN licenses l ON l.id = s.license_id
     LEFT JOIN products pr ON pr.id = l.product_id
     WHERE s.person_id IS NULL AND s.is_active AND s.account_kind = 'person'
     ORDER BY l.vendor, lower(COALESCE(s.email, s.login)), s.id
     LIMIT $1 OFFSET $2`,
    [args.limit, args.offset],
  );
  return ok({
    total: result.rows[0]?.total ?? 0,
    rows: result.rows.map((r) => ({
      subscriberId: r.id,
      email: r.email,
      login: r.login,
      vendor: r.vendor,
      sku: r.sku,
      product: r.product,
      vendorAccountId: r.vendor_account_id,
      firstImportAt: r.first_import_at.toISOString(),
    })),
  });
}
