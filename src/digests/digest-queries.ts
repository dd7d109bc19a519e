/**
 * The read-only aggregates the weekly digest (and Slack's App Home) show: savings open and realized per currency,
 * the apps with the most idle seats, and the accounts that entered clearing. Each is one statement.
 */
import type pg from 'pg';
import { FINDING_TALLY } from '../findings/recompute.ts';

type Db = Pick<pg.Pool, 'query'>;

export interface SavingsTotal {
  currency: string | null;
  amount: number;
  findings: number;
  seats: number;
}

/**
 * Open findings (as of `now`) with their yearly savings, per currency (never summed across currencies), from the
 * findings' running tallies.
 */
export async function openSavings(db: Db, now: Date = new Date()): Promise<SavingsTotal[]> {
  const found = await db.query<SavingsDbRow>(
    `SELECT currency, sum(savings) AS amount, sum(findings)::int AS findings, sum(seats)::int AS seats
     FROM ${FINDING_TALLY('$1')} WHERE status = 'open'
     GROUP BY currency ORDER BY 2 DESC NULLS LAST`,
    [now],
  );
  return found.rows.map(toSavingsTotal);
}

/** Savings realized since `since`: findings resolved by a reclaim, per currency. */
export async function realizedSavings(db: Db, since: Date): Promise<SavingsTotal[]> {
  const found = await db.query<SavingsDbRow>(
    `SELECT currency, sum(savings) AS amount, count(*)::int AS findings, sum(seats)::int AS seats
     FROM findings WHERE status = 'resolved' AND resolved_how = 'reclaimed' AND resolved_at >= $1
     GROUP BY currency ORDER BY sum(savings) DESC NULLS LAST`,
    [since],
  );
  return found.rows.map(toSavingsTotal);
}

interface SavingsDbRow {
  currency: string | null;
  amount: string | null;
  findings: number;
  seats: number;
}

const toSavingsTotal = (r: SavingsDbRow): SavingsTotal => ({
  currency: r.currency,
  amount: Number(r.amount ?? 0),
  findings: r.findings,
  seats: r.seats,
});

export interface IdleApp {
  product: string;
  sku: string;
  seats: number;
  savings: number | null;
  currency: string | null;
}

/** Apps with the most idle seats (open `idle` findings). */
export async function topIdleApps(db: Db, limit: number, now: Date = new Date()): Promise<IdleApp[]> {
  const found = await db.query<{
    product: string;
    sku: string;
    seats: number;
    savings: string | null;
    currency: string | null;
  }>(
    `SELECT COALESCE(pr.name, l.name) AS product, l.sku, sum(t.seats)::int AS seats,
       sum(t.savings) AS savings, max(t.currency) AS currency
     FROM ${FINDING_TALLY('$2')} t JOIN licenses l ON l.id = t.license_id
     LEFT JOIN products pr ON pr.id = l.product_id
     WHERE t.status = 'open' AND t.kind = 'idle'
     GROUP BY COALESCE(pr.name, l.name), l.sku
     ORDER BY 3 DESC, 4 DESC NULLS LAST, l.sku
     LIMIT $1`,
    [limit, now],
  );
  return found.rows.map((r) => ({
    product: r.product,
    sku: r.sku,
    seats: r.seats,
    savings: r.savings === null ? null : Number(r.savings),
    currency: r.currency,
  }));
}

/** Accounts that entered clearing since `since`: how many, and the first few. */
export async function newUnmatched(
  db: Db,
  since: Date,
  sample: number,
): Promise<{ count: number; accounts: { account: string; product: string; sku: string; vendor: string }[] }> {
  const found = await db.query<{
    account: string;
    product: string;
    sku: string;
    vendor: string;
    total: number;
  }>(
    `SELECT COALESCE(s.email, s.login, s.vendor_account_id) AS account, COALESCE(pr.name, l.name) AS product,
       l.sku, l.vendor, count(*) OVER ()::int AS total
     FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id LEFT JOIN products pr ON pr.id = l.product_id
     WHERE s.person_id IS NULL AND s.is_active AND s.account_kind = 'person' AND s.first_import_at >= $1
     ORDER BY s.first_import_at DESC, s.id
     LIMIT $2`,
    [since, sample],
  );
  return {
    count: found.rows[0]?.total ?? 0,
    accounts: found.rows.map((r) => ({
      account: r.account,
      product: r.product,
      sku: r.sku,
      vendor: r.vendor,
    })),
  };
}
