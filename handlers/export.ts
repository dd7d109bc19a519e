/**
 * Exports of the inventory, findings and audit log, streamed in id order a batch at a time so an export of a million
 * rows holds one batch in memory. Column names follow the seed's inventory views.
 */
import { renewalsExport } from './renewals.ts';
import { fail, type HandlerContext, hasRole, ok, type Result } from './types.ts';

/** Exports that are tables of the store, read in id order. */
const TABLE_EXPORTS = ['licenses', 'subscribers', 'findings', 'audit'] as const;
type TableExport = (typeof TABLE_EXPORTS)[number];

/** Every export. `renewals` is computed (handlers/renewals.ts) and also exports as iCalendar (`--format ics`). */
export const EXPORTS = [...TABLE_EXPORTS, 'renewals'] as const;
export type ExportName = (typeof EXPORTS)[number];

export type ExportRow = Record<string, string | number | boolean | null>;

interface ExportSpec {
  columns: readonly string[];
  /** Selects rows with id > $1, ordered by id, at most $2; each row has `id` plus the columns. */
  sql: string;
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : (v as string | null));

const SPECS: Record<TableExport, ExportSpec> = {
  licenses: {
    columns: [
      'objectId',
      'type',
      'softwareProduct',
      'licenseModel',
      'status',
      'purchasedUsageRights',
      'unlimitedUse',
      'sku',
      'capabilityStatus',
      'lastImportDate',
      'consumedUnits',
      'prepaidEnabledUnits',
      'prepaidSuspendedUnits',
      'prepaidWarningUnits',
      'prepaidLockedOutUnits',
      'vendor',
      'name',
      'source',
      'present',
      'unitPrice',
      'currency',
      'billingPeriod',
      'termStart',
      'termEnd',
      'renewalDate',
      'noticeDays',
      'autoRenew',
      'costCenter',
      'owner',
      'commitFloor',
    ],
    sql: `SELECT l.id, l.id AS "objectId", o.type, COALESCE(o.product, l.name) AS "softwareProduct",
        l.license_model AS "licenseModel", o.status, o.purchased AS "purchasedUsageRights", l.unlimited AS "unlimitedUse",
        l.sku, l.capability_status AS "capabilityStatus", l.last_import_at AS "lastImportDate",
        l.consumed_units AS "consumedUnits", l.enabled_units AS "prepaidEnabledUnits",
        l.suspended_units AS "prepaidSuspendedUnits", l.warning_units AS "prepaidWarningUnits",
        l.locked_out_units AS "prepaidLockedOutUnits", l.vendor, l.name, l.source, l.present,
        l.unit_price AS "unitPrice", l.currency, l.billing_period AS "billingPeriod", l.term_start AS "termStart",
        l.term_end AS "termEnd", l.renewal_date AS "renewalDate", l.notice_days AS "noticeDays",
        l.auto_renew AS "autoRenew", l.cost_center AS "costCenter", l.owner_email AS owner,
        l.commit_floor AS "commitFloor"
      FROM licenses l JOIN license_overview o ON o.id = l.id
      WHERE l.id > $1 ORDER BY l.id LIMIT $2`,
  },
  subscribers: {
    columns: [
      'id',
      'email',
      'login',
      'subscriber',
      'isActive',
      'lastImportDate',
      'licenseId',
      'softwareProduct',
      'licenseModel',
      'status',
      'sku',
      'vendor',
      'vendorAccountId',
      'assignedAt',
      'lastActivityAt',
      'lastActivitySource',
      'accountKind',
    ],
    sql: `SELECT s.id, s.email, s.login, p.primary_email AS subscriber, s.is_active AS "isActive",
        l.last_import_at AS "lastImportDate", l.id AS "licenseId", COALESCE(o.product, l.name) AS "softwareProduct",
        l.license_model AS "licenseModel", o.status, l.sku, l.vendor, s.vendor_account_id AS "vendorAccountId",
        s.assigned_at AS "assignedAt", s.last_activity_at AS "lastActivityAt",
        CASE WHEN l.usage_signal OR s.last_activity_source IS NOT NULL THEN s.last_activity_source
             ELSE 'no usage signal' END AS "lastActivitySource",
        s.account_kind AS "accountKind"
      FROM cloud_subscribers s
      JOIN licenses l ON l.id = s.license_id
      JOIN license_overview o ON o.id = l.id
      LEFT JOIN persons p ON p.id = s.person_id
      WHERE s.id > $1 ORDER BY s.id LIMIT $2`,
  },
  findings: {
    columns: [
      'id',
      'kind',
      'severity',
      'status',
      'statusUntil',
      'statusReason',
      'statusBy',
      'sku',
      'product',
      'email',
      'person',
      'seats',
      'savings',
      'currency',
      'evidence',
      'firstSeenAt',
      'lastSeenAt',
      'resolvedAt',
      'resolvedHow',
    ],
    sql: `SELECT f.id, f.kind, f.severity, f.status, f.status_until AS "statusUntil", f.status_reason AS "statusReason",
        f.status_by AS "statusBy", l.sku, COALESCE(pr.name, l.name, f.evidence->>'app') AS product,
        COALESCE(s.email, s.login) AS email, p.primary_email AS person, f.seats, f.savings::float8 AS savings,
        f.currency, f.evidence::text AS evidence, f.first_seen_at AS "firstSeenAt", f.last_seen_at AS "lastSeenAt",
        f.resolved_at AS "resolvedAt", f.resolved_how AS "resolvedHow"
      FROM findings f
      LEFT JOIN licenses l ON l.id = f.license_id
      LEFT JOIN products pr ON pr.id = l.product_id
      LEFT JOIN cloud_subscribers s ON s.id = f.subscriber_id
      LEFT JOIN persons p ON p.id = f.person_id
      WHERE f.id > $1 ORDER BY f.id LIMIT $2`,
  },
  audit: {
    columns: ['id', 'at', 'actor', 'surface', 'action', 'target', 'before', 'after'],
    sql: `SELECT a.id, a.at, a.actor, a.surface, a.action, a.target, a.before::text AS before, a.after::text AS after
      FROM audit_log a WHERE a.id > $1 ORDER BY a.id LIMIT $2`,
  },
};

export interface ExportStream {
  columns: readonly string[];
  batches: AsyncIterable<ExportRow[]>;
}

/** Starts an export. The audit log needs the it-manager role; the inventory is readable by helpdesk. */
export function exportRows(ctx: HandlerContext, what: string, batchSize = 5000): Result<ExportStream> {
  if (what === 'renewals') return renewalsExport(ctx, batchSize);
  if (!(TABLE_EXPORTS as readonly string[]).includes(what)) {
    // Renewals are named apart: they have a format of their own.
    return fail(
      'INVALID_ARGUMENT',
      `Unknown export '${what}'; choose one of ${TABLE_EXPORTS.join(', ')}. Or renewals, also as iCalendar (--format ics).`,
    );
  }
  const name = what as TableExport;
  const role = name === 'audit' ? 'it-manager' : 'helpdesk';
  if (!hasRole(ctx.actor, role)) return fail('NOT_AUTHORIZED', `Exporting ${name} needs the ${role} role.`);
  const spec = SPECS[name];
  async function* batches(): AsyncIterable<ExportRow[]> {
    let after = 0;
    for (;;) {
      const result = await ctx.store.pool.query(spec.sql, [after, batchSize]);
      if (result.rows.length === 0) return;
      after = result.rows[result.rows.length - 1].id;
      yield result.rows.map((r) => {
        const row: ExportRow = {};
        for (const c of spec.columns) row[c] = iso(r[c]) as ExportRow[string];
        return row;
      });
      if (result.rows.length < batchSize) return;
    }
  }
  return ok({ columns: spec.columns, batches: batches() });
}

/** One CSV field: quoted when needed; a leading =, +, - or @ is defused so spreadsheets do not run it. */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
