/**
 * "Keep this seat": exemptions per seat, per person (on leave) or per product (birthright apps), with a reason and
 * an optional end; snoozes of single findings; and the kind of an account (service, shared, external). Each change
 * is audited with its actor and settles finding statuses in the same transaction, so what a list shows right after
 * a command is what the command did. Changing them needs the it-manager role.
 */
import {
  applyStatuses,
  EFFECTIVE_STATUS,
  EXEMPTIBLE,
  policyOf,
  recomputeWithin,
} from '../src/findings/recompute.ts';
import { appendAudit } from '../src/store/audit.ts';
import { checkReason, inTransaction, iso, parseUntil, requireRole } from './findings-kit.ts';
import type { Listing, Page } from './inventory-queries.ts';
import { type FindingRow, listFindings } from './reports.ts';
import { fail, type HandlerContext, ok, type Result } from './types.ts';

export type ExemptionScope = 'seat' | 'person' | 'product';

export interface ExemptionRow {
  id: number;
  /** `seat`, `person` or `product`. */
  scope: ExemptionScope;
  /** The seat's account (e-mail or login), for seat exemptions. */
  account: string | null;
  /** The seat's SKU, for seat exemptions. */
  sku: string | null;
  /** The person's primary e-mail (the exempted person, or the seat's holder). */
  person: string | null;
  /** The product (product exemptions, and the seat's product). */
  product: string | null;
  reason: string;
  /** When it ends by itself; null = until ended by hand. */
  until: string | null;
  createdBy: string;
  createdAt: string;
  endedAt: string | null;
  endedBy: string | null;
  /** Not ended, and its end (if any) not reached. */
  active: boolean;
  /** Findings (not resolved) it covers now. */
  covers: number;
}

export interface KeepInput {
  /** A seat: the account's e-mail (or login, or an address of its holder) … */
  email?: string;
  /** … and the seat's SKU. */
  sku?: string;
  /** A person: any of their addresses. */
  person?: string;
  /** A product: its name or one of its SKUs. */
  product?: string;
  reason?: string;
  until?: string;
}

const EXEMPTION_SELECT = `
  SELECT e.*, COALESCE(s.email, s.login) AS account, l.sku, COALESCE(pp.primary_email, sp.primary_email) AS person,
    COALESCE(pr.name, CASE WHEN e.scope = 'seat' THEN l.name END) AS product,
    (e.ended_at IS NULL AND (e.until IS NULL OR e.until > $1)) AS active,
    (SELECT count(*)::int FROM findings f LEFT JOIN licenses fl ON fl.id = f.license_id
     WHERE f.status <> 'resolved' AND (
       (e.scope = 'seat' AND f.subscriber_id = e.subscriber_id AND f.kind = ANY($2::text[]))
       OR (e.scope = 'person' AND f.person_id = e.person_id AND f.kind = ANY($3::text[]))
       OR (e.scope = 'product' AND fl.product_id = e.product_id AND f.kind = ANY($4::text[])))) AS covers,
    count(*) OVER ()::int AS total
  FROM exemptions e
  LEFT JOIN cloud_subscribers s ON s.id = e.subscriber_id
  LEFT JOIN licenses l ON l.id = s.license_id
  LEFT JOIN persons pp ON pp.id = e.person_id
  LEFT JOIN persons sp ON sp.id = s.person_id
  LEFT JOIN products pr ON pr.id = COALESCE(e.product_id, l.product_id)
`;
const SCOPE_KINDS = [EXEMPTIBLE.seat, EXEMPTIBLE.person, EXEMPTIBLE.product];

// biome-ignore lint/suspicious/noExplicitAny: a row of EXEMPTION_SELECT, typed by the mapping below
function toExemptionRow(r: any): ExemptionRow {
  return {
    id: r.id,
    scope: r.scope,
    account: r.account,
    sku: r.sku,
    person: r.person,
    product: r.product,
    reason: r.reason,
    until: iso(r.until),
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    endedAt: iso(r.ended_at),
    endedBy: r.ended_by,
    active: r.active,
    covers: r.covers,
  };
}

type Db = Pick<HandlerContext['store']['pool'], 'query'>;

async function exemptionsById(db: Db, ids: number[], now: Date): Promise<ExemptionRow[]> {
  const result = await db.query(`${EXEMPTION_SELECT} WHERE e.id = ANY($5::bigint[]) ORDER BY e.id`, [
    now,
    ...SCOPE_KINDS,
    ids,
  ]);
  return result.rows.map(toExemptionRow);
}

/**
 * Keeps a seat, a person's seats or a product's seats out of the findings it names (see `EXEMPTIBLE`): their
 * findings become `exempted` with the reason and the actor, and reopen when the exemption ends. A new exemption of
 * the same seat, person or product replaces the active one.
 */
export async function keep(ctx: HandlerContext, input: KeepInput): Promise<Result<ExemptionRow[]>> {
  const denied = await requireRole(ctx, 'it-manager', 'keep');
  if (denied) return denied;
  const now = ctx.now();
  const reason = checkReason(input.reason, true);
  if (!reason.ok) return reason;
  let until: Date | null = null;
  if (input.until !== undefined) {
    const parsed = parseUntil(input.until, now);
    if (!parsed.ok) return parsed;
    until = parsed.value;
  }
  const email = input.email?.trim();
  const person = input.person?.trim();
  const product = input.product?.trim();
  const given = [email, person, product].filter(Boolean).length;
  if (given !== 1) {
    return fail(
      'INVALID_ARGUMENT',
      'Say what to keep, one of: --email ACCOUNT --sku SKU (a seat), --person EMAIL (all their seats, e.g. on leave) or --product NAME|SKU (birthright app).',
    );
  }
  if (email && !input.sku?.trim()) {
    return fail(
      'INVALID_ARGUMENT',
      `Which of ${email}'s seats? Add --sku SKU, or keep the person with --person.`,
    );
  }
  if (!email && input.sku) return fail('INVALID_ARGUMENT', '--sku goes with --email (a seat).');

  return inTransaction(ctx, async (client) => {
    let targets: { scope: ExemptionScope; ids: number[] };
    if (email) {
      // The account itself, or any seat on that SKU held by the person the address belongs to.
      const seats = await client.query<{ id: number }>(
        `SELECT s.id FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
         WHERE s.is_active AND lower(l.sku) = lower($2)
           AND (lower(s.email) = lower($1) OR lower(s.login) = lower($1)
                OR s.person_id = (SELECT person_id FROM person_emails WHERE email = lower($1)))
         ORDER BY s.id`,
        [email, input.sku?.trim()],
      );
      if (seats.rows.length === 0)
        return fail('NOT_FOUND', `No seat of ${email} on SKU ${input.sku} is assigned now.`);
      targets = { scope: 'seat', ids: seats.rows.map((r) => r.id) };
    } else if (person) {
      const found = await client.query<{ person_id: number }>(
        'SELECT person_id FROM person_emails WHERE email = lower($1)',
        [person],
      );
      const id = found.rows[0]?.person_id;
      if (id === undefined) return fail('NOT_FOUND', `No person has the address ${person}.`);
      targets = { scope: 'person', ids: [id] };
    } else {
      const found = await client.query<{ id: number; name: string }>(
        `SELECT p.id, p.name FROM products p WHERE lower(p.name) = lower($1)
         UNION
         SELECT p.id, p.name FROM product_skus ps JOIN products p ON p.id = ps.product_id WHERE ps.sku = lower($1)
         UNION
         SELECT p.id, p.name FROM licenses l JOIN products p ON p.id = l.product_id WHERE lower(l.sku) = lower($1)
         ORDER BY 1`,
        [product],
      );
      if (found.rows.length === 0) {
        return fail(
          'NOT_FOUND',
          `No product is named '${product}' or has it as a SKU (give an uncatalogued license a product with 'contract set --product').`,
        );
      }
      if (found.rows.length > 1) {
        const names = found.rows.map((r) => r.name).join(', ');
        return fail(
          'INVALID_ARGUMENT',
          `'${product}' names several products (${names}); give the product's name.`,
        );
      }
      targets = { scope: 'product', ids: [(found.rows[0] as { id: number }).id] };
    }
    const column = { seat: 'subscriber_id', person: 'person_id', product: 'product_id' }[targets.scope];
    // The new exemption replaces an active one of the same target (set-based, one statement each).
    const replaced = await client.query<{ id: number }>(
      `UPDATE exemptions SET ended_at = $3, ended_by = $4
       WHERE scope = $1 AND ${column} = ANY($2::bigint[]) AND ended_at IS NULL AND (until IS NULL OR until > $3)
       RETURNING id`,
      [targets.scope, targets.ids, now, ctx.actor.id],
    );
    const created = await client.query<{ id: number }>(
      `INSERT INTO exemptions (scope, ${column}, reason, until, created_by, created_at)
       SELECT $1, t.id, $3, $4, $5, $6 FROM unnest($2::bigint[]) AS t(id)
       RETURNING id`,
      [targets.scope, targets.ids, reason.value, until, ctx.actor.id, now],
    );
    const statuses = await applyStatuses(client, now);
    const rows = await exemptionsById(
      client,
      created.rows.map((r) => r.id),
      now,
    );
    await appendAudit(client, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: 'exemption.add',
      target: targets.ids.map((id) => `${targets.scope}:${id}`).join(','),
      before: replaced.rows.length > 0 ? { replaced: replaced.rows.map((r) => r.id) } : null,
      after: { exemptions: rows, findingsExempted: statuses.exempted },
      at: now,
    });
    return ok(rows);
  });
}

/** Ends an exemption now: the findings it covered reopen (unless another exemption covers them). */
export async function endExemption(
  ctx: HandlerContext,
  input: { id: number; reason?: string },
): Promise<Result<ExemptionRow[]>> {
  const denied = await requireRole(ctx, 'it-manager', 'exemption end');
  if (denied) return denied;
  const reason = checkReason(input.reason, false);
  if (!reason.ok) return reason;
  const now = ctx.now();
  return inTransaction(ctx, async (client) => {
    const [before] = await exemptionsById(client, [input.id], now);
    if (!before) return fail('NOT_FOUND', `No exemption has id ${input.id} (see 'exemptions --all').`);
    if (!before.active) {
      return fail('CONFLICT', `Exemption ${input.id} has already ended (${before.endedAt ?? before.until}).`);
    }
    await client.query('UPDATE exemptions SET ended_at = $2, ended_by = $3 WHERE id = $1', [
      input.id,
      now,
      ctx.actor.id,
    ]);
    const statuses = await applyStatuses(client, now);
    const [after] = await exemptionsById(client, [input.id], now);
    await appendAudit(client, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: 'exemption.end',
      target: `exemption:${input.id}`,
      before,
      after: { ...after, reason: reason.value ?? undefined, findingsReopened: statuses.reopened },
      at: now,
    });
    return ok(after ? [after] : []);
  });
}

/** Exemptions, active ones by default (newest first). */
export async function listExemptions(
  ctx: HandlerContext,
  args: { all?: boolean } & Page,
): Promise<Result<Listing<ExemptionRow>>> {
  const result = await ctx.store.pool.query(
    `${EXEMPTION_SELECT}
     WHERE $5::boolean OR (e.ended_at IS NULL AND (e.until IS NULL OR e.until > $1))
     ORDER BY e.created_at DESC, e.id DESC
     LIMIT $6 OFFSET $7`,
    [ctx.now(), ...SCOPE_KINDS, args.all === true, args.limit, args.offset],
  );
  return ok({ total: result.rows[0]?.total ?? 0, rows: result.rows.map(toExemptionRow) });
}

async function findingRow(ctx: HandlerContext, id: number): Promise<FindingRow | undefined> {
  const found = await listFindings(ctx, { id, status: 'all', limit: 1, offset: 0 });
  return found.ok ? found.value.rows[0] : undefined;
}

/** Hides one open finding until a date; it reopens by itself then (and on `unsnooze`). */
export async function snoozeFinding(
  ctx: HandlerContext,
  input: { id: number; until?: string; reason?: string },
): Promise<Result<FindingRow[]>> {
  const denied = await requireRole(ctx, 'it-manager', 'findings snooze');
  if (denied) return denied;
  const now = ctx.now();
  if (!input.until) return fail('INVALID_ARGUMENT', 'Say until when with --until DATE (e.g. 2027-01-31).');
  const until = parseUntil(input.until, now);
  if (!until.ok) return until;
  const reason = checkReason(input.reason, false);
  if (!reason.ok) return reason;
  const result = await inTransaction(ctx, async (client) => {
    const found = await client.query(
      `SELECT f.id, ${EFFECTIVE_STATUS('$2')} AS status, f.status_until, f.status_reason, f.status_by
       FROM findings f WHERE f.id = $1 FOR UPDATE`,
      [input.id, now],
    );
    const before = found.rows[0];
    if (!before) return fail('NOT_FOUND', `No finding has id ${input.id}.`);
    if (before.status === 'resolved')
      return fail('CONFLICT', `Finding ${input.id} is resolved: nothing to snooze.`);
    if (before.status === 'exempted') {
      return fail(
        'CONFLICT',
        `Finding ${input.id} is exempted (${before.status_reason}, by ${before.status_by}); end the exemption first.`,
      );
    }
    await client.query(
      `UPDATE findings SET status = 'snoozed', status_until = $2, status_reason = $3, status_by = $4 WHERE id = $1`,
      [input.id, until.value, reason.value, ctx.actor.id],
    );
    await appendAudit(client, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: 'finding.snooze',
      target: `finding:${input.id}`,
      before: { status: before.status, until: iso(before.status_until) },
      after: { status: 'snoozed', until: until.value.toISOString(), reason: reason.value },
      at: now,
    });
    return ok(null);
  });
  if (!result.ok) return result;
  const row = await findingRow(ctx, input.id);
  return ok(row ? [row] : []);
}

/** Reopens a snoozed finding now. */
export async function unsnoozeFinding(
  ctx: HandlerContext,
  input: { id: number },
): Promise<Result<FindingRow[]>> {
  const denied = await requireRole(ctx, 'it-manager', 'findings unsnooze');
  if (denied) return denied;
  const now = ctx.now();
  const result = await inTransaction(ctx, async (client) => {
    const found = await client.query(
      `SELECT f.id, ${EFFECTIVE_STATUS('$2')} AS status, f.status_until FROM findings f WHERE f.id = $1 FOR UPDATE`,
      [input.id, now],
    );
    const before = found.rows[0];
    if (!before) return fail('NOT_FOUND', `No finding has id ${input.id}.`);
    if (before.status !== 'snoozed')
      return fail('CONFLICT', `Finding ${input.id} is ${before.status}, not snoozed.`);
    await client.query(
      `UPDATE findings SET status = 'open', status_until = NULL, status_reason = NULL, status_by = NULL WHERE id = $1`,
      [input.id],
    );
    await appendAudit(client, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: 'finding.unsnooze',
      target: `finding:${input.id}`,
      before: { status: 'snoozed', until: iso(before.status_until) },
      after: { status: 'open' },
      at: now,
    });
    return ok(null);
  });
  if (!result.ok) return result;
  const row = await findingRow(ctx, input.id);
  return ok(row ? [row] : []);
}

export const ACCOUNT_KINDS = ['person', 'service', 'shared', 'external'] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];

export interface AccountKindRow {
  subscriberId: number;
  account: string | null;
  sku: string;
  product: string;
  accountKind: AccountKind;
  previousKind: AccountKind;
  note: string | null;
}

/**
 * Marks an account (all its seats, or its seat on one SKU) as a person's, a service account, a shared mailbox or
 * an external's. Only person accounts need a matching person and can be idle, so findings are recomputed in the
 * same transaction.
 */
export async function setAccountKind(
  ctx: HandlerContext,
  input: { email?: string; kind?: string; sku?: string; note?: string },
): Promise<Result<AccountKindRow[]>> {
  const denied = await requireRole(ctx, 'it-manager', 'account kind');
  if (denied) return denied;
  const email = input.email?.trim();
  if (!email) return fail('INVALID_ARGUMENT', 'Say which account with --email ACCOUNT.');
  const kind = input.kind?.trim().toLowerCase();
  if (!kind || !(ACCOUNT_KINDS as readonly string[]).includes(kind)) {
    return fail('INVALID_ARGUMENT', `--kind must be one of ${ACCOUNT_KINDS.join(', ')}.`);
  }
  const note = checkReason(input.note, false);
  if (!note.ok) return note;
  const now = ctx.now();
  return inTransaction(ctx, async (client) => {
    const changed = await client.query(
      `WITH target AS (
         SELECT s.id, s.account_kind AS previous FROM cloud_subscribers s JOIN licenses l ON l.id = s.license_id
         WHERE (lower(s.email) = lower($1) OR lower(s.login) = lower($1))
           AND ($2::text IS NULL OR lower(l.sku) = lower($2))
         FOR UPDATE OF s
       )
       UPDATE cloud_subscribers s SET account_kind = $3, note = COALESCE($4, s.note), updated_at = $5
       FROM target t, licenses l LEFT JOIN products pr ON pr.id = l.product_id
       WHERE s.id = t.id AND l.id = s.license_id
       RETURNING s.id, COALESCE(s.email, s.login) AS account, l.sku, COALESCE(pr.name, l.name) AS product,
         s.account_kind, t.previous, s.note`,
      [email, input.sku?.trim() || null, kind, note.value, now],
    );
    if (changed.rows.length === 0) {
      return fail(
        'NOT_FOUND',
        `No account ${email}${input.sku ? ` on SKU ${input.sku}` : ''} is in the inventory.`,
      );
    }
    const rows = changed.rows.map(
      (r): AccountKindRow => ({
        subscriberId: r.id,
        account: r.account,
        sku: r.sku,
        product: r.product,
        accountKind: r.account_kind,
        previousKind: r.previous,
        note: r.note,
      }),
    );
    const findings = await recomputeWithin(client, policyOf(ctx.config), now);
    await appendAudit(client, {
      actor: ctx.actor.id,
      surface: ctx.actor.surface,
      action: 'account.kind',
      target: rows.map((r) => `subscriber:${r.subscriberId}`).join(','),
      before: rows.map((r) => ({ subscriberId: r.subscriberId, accountKind: r.previousKind })),
      after: { accounts: rows, findingsResolved: findings.resolved },
      at: now,
    });
    return ok(rows.sort((a, b) => a.subscriberId - b.subscriberId));
  });
}
