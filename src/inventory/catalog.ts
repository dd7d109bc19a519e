import type pg from 'pg';

/** One catalog entry: a publisher part number (SKU) and the software product it posts to. */
export interface CatalogEntry {
  publisher: string;
  product: string;
  sku: string;
  licenseModel?: 'named_user' | 'device' | 'concurrent' | 'unlimited';
}

const microsoft = (
  sku: string,
  product: string,
  licenseModel?: CatalogEntry['licenseModel'],
): CatalogEntry => ({
  publisher: 'Microsoft',
  product,
  sku,
  licenseModel,
});
const adobe = (sku: string, product: string): CatalogEntry => ({ publisher: 'Adobe', product, sku });
const google = (sku: string, product: string): CatalogEntry => ({ publisher: 'Google', product, sku });

/**
 * The catalog shipped with Seatkeeper: common Microsoft 365 part numbers (as `subscribedSkus.skuPartNumber` reports
 * them), Adobe product profiles, Google Workspace SKU ids and GitHub Copilot plans. Operators extend it by CSV.
 */
export const SHIPPED_CATALOG: readonly CatalogEntry[] = [
  microsoft('SPE_E5', 'Microsoft 365 E5'),
  microsoft('SPE_E3', 'Microsoft 365 E3'),
  microsoft('SPE_F1', 'Microsoft 365 F3'),
  microsoft('ENTERPRISEPREMIUM', 'Office 365 E5'),
  microsoft('ENTERPRISEPACK', 'Office 365 E3'),
  microsoft('STANDARDPACK', 'Office 365 E1'),
  microsoft('DESKLESSPACK', 'Office 365 F3'),
  microsoft('O365_BUSINESS_ESSENTIALS', 'Microsoft 365 Business Basic'),
  microsoft('O365_BUSINESS_PREMIUM', 'Microsoft 365 Business Standard'),
  microsoft('SPB', 'Microsoft 365 Business Premium'),
  microsoft('O365_BUSINESS', 'Microsoft 365 Apps for business'),
  microsoft('OFFICESUBSCRIPTION', 'Microsoft 365 Apps for enterprise'),
  microsoft('EXCHANGESTANDARD', 'Exchange Online (Plan 1)'),
  microsoft('EXCHANGEENTERPRISE', 'Exchange Online (Plan 2)'),
  microsoft('POWER_BI_PRO', 'Power BI Pro'),
  microsoft('PBI_PREMIUM_PER_USER', 'Power BI Premium Per User'),
  microsoft('POWER_BI_STANDARD', 'Power BI (free)', 'unlimited'),
  microsoft('FLOW_FREE', 'Power Automate Free', 'unlimited'),
  microsoft('VISIOCLIENT', 'Visio Plan 2'),
  microsoft('PROJECTPROFESSIONAL', 'Project Plan 3'),
  microsoft('EMS', 'Enterprise Mobility + Security E3'),
  microsoft('EMSPREMIUM', 'Enterprise Mobility + Security E5'),
  microsoft('AAD_PREMIUM', 'Microsoft Entra ID P1'),
  microsoft('AAD_PREMIUM_P2', 'Microsoft Entra ID P2'),
  microsoft('Microsoft_Teams_Premium', 'Microsoft Teams Premium'),
  microsoft('MCOEV', 'Microsoft Teams Phone Standard'),
  microsoft('Microsoft_Teams_Rooms_Pro', 'Microsoft Teams Rooms Pro', 'device'),
  microsoft('Microsoft_365_Copilot', 'Microsoft 365 Copilot'),
  adobe('ADOBE_CC_ALL_APPS', 'Creative Cloud All Apps'),
  adobe('ADOBE_ACROBAT_PRO', 'Acrobat Pro'),
  adobe('ADOBE_ACROBAT_STANDARD', 'Acrobat Standard'),
  adobe('ADOBE_PHOTOSHOP', 'Photoshop'),
  adobe('ADOBE_ILLUSTRATOR', 'Illustrator'),
  adobe('ADOBE_INDESIGN', 'InDesign'),
  adobe('ADOBE_PREMIERE_PRO', 'Premiere Pro'),
  adobe('ADOBE_EXPRESS', 'Adobe Express'),
  google('1010020027', 'Google Workspace Business Starter'),
  google('1010020028', 'Google Workspace Business Standard'),
  google('1010020025', 'Google Workspace Business Plus'),
  google('1010020026', 'Google Workspace Enterprise Standard'),
  google('1010020020', 'Google Workspace Enterprise Plus'),
  google('1010060003', 'Google Workspace Enterprise Essentials'),
  { publisher: 'GitHub', product: 'GitHub Copilot Business', sku: 'copilot_business' },
  { publisher: 'GitHub', product: 'GitHub Copilot Enterprise', sku: 'copilot_enterprise' },
];

type Queryable = Pick<pg.ClientBase, 'query'>;

/**
 * Adds catalog entries (set-based: one statement for products, one for SKUs) and posts unassigned licenses with a
 * matching SKU to their product. Existing entries keep their product unless the entry names another one.
 */
export async function upsertCatalog(db: Queryable, entries: readonly CatalogEntry[]): Promise<number> {
  if (entries.length === 0) return 0;
  const publishers = entries.map((e) => e.publisher);
  const names = entries.map((e) => e.product);
  await db.query(
    `INSERT INTO products (publisher, name)
     SELECT DISTINCT p, n FROM unnest($1::text[], $2::text[]) AS t(p, n)
     ON CONFLICT (publisher, name) DO NOTHING`,
    [publishers, names],
  );
  const result = await db.query(
    `INSERT INTO product_skus (sku, product_id, license_model)
     SELECT DISTINCT ON (lower(t.sku)) lower(t.sku), p.id, t.model
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(p, n, sku, model)
     JOIN products p ON p.publisher = t.p AND p.name = t.n
     ON CONFLICT (sku) DO UPDATE SET product_id = EXCLUDED.product_id, license_model = EXCLUDED.license_model
     WHERE product_skus.product_id IS DISTINCT FROM EXCLUDED.product_id
        OR product_skus.license_model IS DISTINCT FROM EXCLUDED.license_model`,
    [publishers, names, entries.map((e) => e.sku), entries.map((e) => e.licenseModel ?? 'named_user')],
  );
  await postLicensesToCatalog(db);
  return result.rowCount ?? 0;
}

/** Licenses whose SKU is in the catalog get its product, unless someone chose the product by hand. */
export async function postLicensesToCatalog(db: Queryable): Promise<void> {
  await db.query(
    `UPDATE licenses l SET product_id = ps.product_id, updated_at = now()
     FROM product_skus ps
     WHERE ps.sku = lower(l.sku) AND NOT l.product_pinned AND l.product_id IS DISTINCT FROM ps.product_id`,
  );
}

export function seedCatalog(db: Queryable): Promise<number> {
  return upsertCatalog(db, SHIPPED_CATALOG);
}

/** A plan that includes another: a person holding both pays twice for what the covered plan gives. */
export interface PlanOverlap {
  /** Part number of the larger plan (e.g. `SPE_E5`). */
  covering: string;
  /** Part number of the plan it includes (e.g. `ENTERPRISEPACK`). */
  covered: string;
}

const includes = (covering: string, covered: readonly string[]): PlanOverlap[] =>
  covered.map((c) => ({ covering, covered: c }));

/**
 * Overlaps shipped with Seatkeeper, from the publishers' plan contents: Microsoft 365 E3/E5 include Office 365
 * E3 (and E5 includes Office 365 E5 and Microsoft 365 E3), every Office suite includes E1, the Microsoft 365 suites
 * include EMS; Creative Cloud All Apps includes the single-app plans. Operators add their own (`origin` custom).
 */
export const SHIPPED_OVERLAPS: readonly PlanOverlap[] = [
  ...includes('SPE_E5', [
    'SPE_E3',
    'ENTERPRISEPREMIUM',
    'ENTERPRISEPACK',
    'STANDARDPACK',
    'EMS',
    'EMSPREMIUM',
  ]),
  ...includes('SPE_E3', ['ENTERPRISEPACK', 'STANDARDPACK', 'EMS']),
  ...includes('ENTERPRISEPREMIUM', ['ENTERPRISEPACK', 'STANDARDPACK']),
  ...includes('ENTERPRISEPACK', ['STANDARDPACK']),
  ...includes('EMSPREMIUM', ['EMS']),
  ...includes('ADOBE_CC_ALL_APPS', [
    'ADOBE_ACROBAT_PRO',
    'ADOBE_ACROBAT_STANDARD',
    'ADOBE_PHOTOSHOP',
    'ADOBE_ILLUSTRATOR',
    'ADOBE_INDESIGN',
    'ADOBE_PREMIERE_PRO',
  ]),
];

/**
 * Refreshes the shipped overlaps (one statement each way). An overlap an operator switched off (`origin`
 * `disabled`) or added (`custom`) is left as it is; a shipped one no longer shipped goes.
 */
export async function seedOverlaps(db: Queryable): Promise<void> {
  const covering = SHIPPED_OVERLAPS.map((o) => o.covering.toLowerCase());
  const covered = SHIPPED_OVERLAPS.map((o) => o.covered.toLowerCase());
  await db.query(
    `INSERT INTO plan_overlaps (covering_sku, covered_sku, origin)
     SELECT a, b, 'shipped' FROM unnest($1::text[], $2::text[]) AS t(a, b)
     ON CONFLICT (covering_sku, covered_sku) DO NOTHING`,
    [covering, covered],
  );
  await db.query(
    `DELETE FROM plan_overlaps o
     WHERE o.origin = 'shipped'
       AND NOT EXISTS (SELECT 1 FROM unnest($1::text[], $2::text[]) AS t(a, b)
                       WHERE t.a = o.covering_sku AND t.b = o.covered_sku)`,
    [covering, covered],
  );
}
