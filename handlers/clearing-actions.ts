/**
 * Resolving clearing: an account whose e-mail matches no person is assigned to an existing person (its e-mail becomes
 * one of their aliases, so the next import keeps the match), or marked as a service, shared or external account
 * (`account kind`'s verb). Either way it leaves clearing at once, and its "unmatched" finding is resolved. A note can
 * be left on any account; a note alone does not take it out of clearing (someone still has to decide).
 */
import { appendAuditRows, type Queryable } from '../src/actions/action-store.ts';
import { withTransaction } from '../src/store/transaction.ts';
import { authorize } from './authorize.ts';
import { setAccountKind } from './exemptions.ts';
import { fail, type HandlerContext, ok, type Result } from './types.ts';

/** Which account: by the inventory id a card carries, or by its e-mail (or login) as a person types it. */
export interface AccountRef {
  subscriberId?: number;
  email?: string;
}

/** One vendor account after a clearing action. */
export interface ClearingActionRow {
  subscriberId: number;
  email: string | null;
  login: string | null;
  vendor: string;
  sku: string;
  product: string;
  /** The matched person's primary e-mail. */
  person: string | null;
  accountKind: string;
  note: string | null;
  /** Whether it is (still) in clearing: active, unmatched and a person's account. */
  inClearing: boolean;
}

const ROW_SQL = `
  SELECT s.id, s.email, s.login, l.vendor, l.sku, COALESCE(pr.name, l.name) AS product, p.primary_email AS person,
    s.account_kind, s.note, (s.is_active AND s.person_id IS NULL AND s.account_kind = 'person') AS in_clearing
  FROM cloud_subscribers s
  JOIN licenses l ON l.id = s.license_id
  LEFT JOIN products pr ON pr.id = l.product_id
  LEFT JOIN persons p ON p.id = s.person_id`;

// biome-ignore lint/suspicious/noExplicitAny: a row of ROW_SQL.
function toRow(r: any): ClearingActionRow {
  return {
    subscriberId: r.id,
    email: r.email,
    login: r.login,
    vendor: r.vendor,
    sku: r.sku,
    product: r.product,
    person: r.person,
    accountKind: r.account_kind,
    note: r.note,
    inClearing: r.in_clearing,
  };
}

/**
 * The accounts a reference names: one by id, or every seat of that e-mail or login (an address that holds seats with
 * three vendors is one account to a person, and leaves clearing everywhere at once).
 */
async function accounts(db: Queryable, ref: AccountRef): Promise<Result<number[]>> {
  if (ref.subscriberId === undefined && !ref.email?.trim()) {
    return fail('INVALID_ARGUMENT', 'Say which account (--email).');
  }
  const found = await db.query<{ id: number }>(
    `SELECT s.id FROM cloud_subscribers s
     WHERE ($1::bigint IS NOT NULL AND s.id = $1)
        OR ($1::bigint IS NULL AND (lower(s.email) = lower($2) OR lower(s.login) = lower($2)))
     ORDER BY s.id`,
    [ref.subscriberId ?? null, ref.email?.trim() ?? null],
  );
  if (found.rows.length === 0) {
    return fail('NOT_FOUND', `No account ${ref.subscriberId ?? ref.email} in the inventory.`);
  }
  return ok(found.rows.map((r) => r.id));
}

async function rowsOf(db: Queryable, ids: readonly number[]): Promise<ClearingActionRow[]> {
  const found = await db.query(`${ROW_SQL} WHERE s.id = ANY($1::bigint[]) ORDER BY l.vendor, l.sku, s.id`, [
    ids,
  ]);
  return found.rows.map(toRow);
}

function inTransaction<T>(ctx: HandlerContext, work: (db: Queryable) => Promise<T>): Promise<T> {
  return withTransaction(ctx.store.pool, work);
}

/**
 * Assigns an account to an existing person: its e-mail becomes a manual alias of theirs (imports keep manual aliases)
 * and every seat of that e-mail is matched to them now.
 */
export async function assignToPerson(
  ctx: HandlerContext,
  input: AccountRef & { person?: string },
): Promise<Result<ClearingActionRow[]>> {
  const allowed = await authorize(ctx, 'it-manager', 'clearing assign');
  if (!allowed.ok) return allowed;
  const personAddress = input.person?.trim();
  if (!personAddress) return fail('INVALID_ARGUMENT', 'Say which person (--person, any of their e-mails).');
  const now = ctx.now();
  const outcome = await inTransaction<Result<ClearingActionRow[]>>(ctx, async (db) => {
    const ids = await accounts(db, input);
    if (!ids.ok) return ids;
    const person = await db.query<{ id: number; primary_email: string }>(
      `SELECT p.id, p.primary_email FROM persons p
       WHERE p.id = (SELECT person_id FROM person_emails WHERE email = lower($1))`,
      [personAddress],
    );
    const target = person.rows[0];
    if (!target) return fail('NOT_FOUND', `No person has the address ${personAddress}.`);
    const before = await rowsOf(db, ids.value);
    const addresses = [...new Set(before.map((r) => r.email?.toLowerCase()).filter((e): e is string => !!e))];
    if (addresses.length === 0) {
      return fail(
        'CONFLICT',
        `The account ${input.email ?? input.subscriberId} has no e-mail address, so no alias can keep the match: map its ` +
          'login to an e-mail in the connector’s login map (GITHUB_LOGIN_EMAILS for GitHub), then import again.',
      );
    }
    const owners = await db.query<{ email: string; primary_email: string; person_id: number }>(
      `SELECT e.email, e.person_id, p.primary_email FROM person_emails e JOIN persons p ON p.id = e.person_id
       WHERE e.email = ANY($1::text[]) AND e.person_id <> $2`,
      [addresses, target.id],
    );
    const taken = owners.rows[0];
    if (taken) {
      return fail('CONFLICT', `${taken.email} is already an address of ${taken.primary_email}.`);
    }
    await db.query(
      `INSERT INTO person_emails (email, person_id, is_primary, source, created_at)
       SELECT e, $2, false, 'manual', $3 FROM unnest($1::text[]) AS e
       ON CONFLICT (email) DO NOTHING`,
      [addresses, target.id, now],
    );
    // Match now rather than at the next import: every seat of these addresses, with every vendor.
    await db.query(
      `UPDATE cloud_subscribers SET person_id = $2, updated_at = $3
       WHERE lower(email) = ANY($1::text[]) AND person_id IS DISTINCT FROM $2`,
      [addresses, target.id, now],
    );
    await resolveUnmatched(db, ids.value, now, 'assigned to a person');
    const after = await rowsOf(db, ids.value);
    await appendAuditRows(db, now, [
      {
        actor: ctx.actor.id,
        surface: ctx.actor.surface,
        action: 'clearing.assign',
        target: addresses.join(','),
        before: before.map((r) => ({ subscriberId: r.subscriberId, person: r.person })),
        after: { person: target.primary_email, aliasesAdded: addresses, subscribers: ids.value },
      },
    ]);
    return ok(after);
  });
  return outcome;
}

/**
 * Marks an account as a service, shared or external account (or back to a person's, which returns it to clearing).
 * The same verb as `account kind` (findings recomputed in the same transaction, so its "unmatched" finding is
 * resolved at once); here it answers with the clearing view of the account.
 */
export async function markAccount(
  ctx: HandlerContext,
  input: { email?: string; kind?: string; note?: string },
): Promise<Result<ClearingActionRow[]>> {
  const allowed = await authorize(ctx, 'it-manager', 'clearing mark');
  if (!allowed.ok) return allowed;
  const marked = await setAccountKind(ctx, { email: input.email, kind: input.kind, note: input.note });
  if (!marked.ok) return marked;
  return ok(
    await rowsOf(
      ctx.store.pool,
      marked.value.map((r) => r.subscriberId),
    ),
  );
}

/** Leaves a note on an account (e.g. "asked HR who this is"); it stays where it is. */
export async function noteAccount(
  ctx: HandlerContext,
  input: AccountRef & { note?: string },
): Promise<Result<ClearingActionRow[]>> {
  const allowed = await authorize(ctx, 'it-manager', 'clearing note');
  if (!allowed.ok) return allowed;
  const note = checkNote(input.note, true);
  if (!note.ok) return note;
  const now = ctx.now();
  return inTransaction<Result<ClearingActionRow[]>>(ctx, async (db) => {
    const ids = await accounts(db, input);
    if (!ids.ok) return ids;
    const before = await rowsOf(db, ids.value);
    await db.query(`UPDATE cloud_subscribers SET note = $2, updated_at = $3 WHERE id = ANY($1::bigint[])`, [
      ids.value,
      note.value,
      now,
    ]);
    await appendAuditRows(db, now, [
      {
        actor: ctx.actor.id,
        surface: ctx.actor.surface,
        action: 'clearing.note',
        target: accountLabel(before, input),
        before: before.map((r) => ({ subscriberId: r.subscriberId, note: r.note })),
        after: { note: note.value, subscribers: ids.value },
      },
    ]);
    return ok(await rowsOf(db, ids.value));
  });
}

function checkNote(note: string | undefined, required: boolean): Result<string | undefined> {
  const text = note?.trim();
  if (!text) return required ? fail('INVALID_ARGUMENT', 'Say what the note is (--note).') : ok(undefined);
  if (text.length > 2000) return fail('INVALID_ARGUMENT', 'The note is too long (2,000 characters at most).');
  return ok(text);
}

function accountLabel(rows: readonly ClearingActionRow[], ref: AccountRef): string {
  return rows[0]?.email ?? rows[0]?.login ?? ref.email ?? String(ref.subscriberId);
}

/** Unmatched findings of these accounts are resolved: the account has left clearing. */
async function resolveUnmatched(
  db: Queryable,
  ids: readonly number[],
  now: Date,
  how: string,
): Promise<void> {
  await db.query(
    `UPDATE findings SET status = 'resolved', resolved_at = $2, resolved_how = $3
     WHERE kind = 'unmatched' AND subscriber_id = ANY($1::bigint[]) AND status <> 'resolved'`,
    [ids, now, how],
  );
}
