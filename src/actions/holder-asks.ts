/**
 * "Still need Figma? Keep / Release": the question put to a seat holder before a reclaim. Asking writes a row in
 * `holder_asks` and one in the `notifications` outbox (its dedupe key makes it exist once); whichever surface knows the
 * person delivers it. Reminders (one, half-way to the deadline) and the deadline itself are handled by set-based
 * statements the periodic job runs, so each happens once however many replicas run the job.
 */
import type { Queryable } from './action-store.ts';
import type { SeatPreview } from './seat-preview.ts';

export const HOLDER_ASK = 'holder-ask';
export const HOLDER_ASK_REMINDER = 'holder-ask-reminder';

/** The answers a holder can give; `no-answer` is recorded when the deadline passes. */
export type HolderAnswer = 'keep' | 'release';

export interface NewAsk {
  actionId: string;
  preview: SeatPreview;
}

/** The question, in one sentence a chat message or a card can show as is. */
export function askQuestion(
  preview: Pick<SeatPreview, 'product' | 'seat' | 'lastActivityAt'>,
  deadline: Date,
): string {
  const account = preview.seat.email ?? preview.seat.login ?? 'your account';
  const used = preview.lastActivityAt
    ? `It was last used on ${preview.lastActivityAt.slice(0, 10)}.`
    : 'No use of it has been recorded.';
  return (
    `Do you still need ${preview.product} (${account})? ${used} ` +
    `Answer Keep or Release by ${deadline.toISOString().slice(0, 16).replace('T', ' ')} UTC; ` +
    'without an answer the seat is released.'
  );
}

/** Creates the asks of a request (one per seat) and their notifications, in two statements. */
export async function createAsks(
  db: Queryable,
  asks: readonly NewAsk[],
  options: { now: Date; days: number; requestedBy: string },
): Promise<Date> {
  const deadline = new Date(options.now.getTime() + options.days * 86_400_000);
  if (asks.length === 0) return deadline;
  await db.query(
    `INSERT INTO holder_asks (action_id, subscriber_id, person_id, deadline, created_at)
     SELECT * , $4::timestamptz, $5::timestamptz FROM unnest($1::uuid[], $2::bigint[], $3::bigint[])
     ON CONFLICT (action_id) DO NOTHING`,
    [
      asks.map((a) => a.actionId),
      asks.map((a) => a.preview.seat.subscriberId),
      asks.map((a) => a.preview.personId),
      deadline,
      options.now,
    ],
  );
  await db.query(
    `INSERT INTO notifications (dedupe_key, kind, target, payload, created_at)
     SELECT 'holder-ask:' || t.action_id, $4, jsonb_build_object('personId', p.id, 'email', p.primary_email,
         'slackUserId', p.slack_user_id, 'teamsAadObjectId', p.teams_aad_object_id), t.payload, $5
     FROM unnest($1::uuid[], $2::bigint[], $3::jsonb[]) AS t(action_id, person_id, payload)
     JOIN persons p ON p.id = t.person_id
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [
      asks.map((a) => a.actionId),
      asks.map((a) => a.preview.personId),
      asks.map((a) => JSON.stringify(askPayload(a, deadline, options.requestedBy))),
      HOLDER_ASK,
      options.now,
    ],
  );
  return deadline;
}

function askPayload(ask: NewAsk, deadline: Date, requestedBy: string) {
  return {
    actionId: ask.actionId,
    question: askQuestion(ask.preview, deadline),
    product: ask.preview.product,
    sku: ask.preview.seat.sku,
    account: ask.preview.seat.email ?? ask.preview.seat.login,
    lastActivityAt: ask.preview.lastActivityAt,
    deadline: deadline.toISOString(),
    answers: ['keep', 'release'],
    requestedBy,
    reminder: false,
  };
}

/**
 * Sends the one reminder of every unanswered ask that is past half-way to its deadline: marks it reminded and writes
 * its notification in the same statement. Returns how many were reminded.
 */
export async function sendDueReminders(db: Queryable, now: Date): Promise<number> {
  const result = await db.query(
    `WITH due AS (
       UPDATE holder_asks h SET reminded_at = $1
       WHERE h.answer IS NULL AND h.reminded_at IS NULL AND h.deadline > $1
         AND $1 >= h.created_at + (h.deadline - h.created_at) / 2
       RETURNING h.action_id, h.person_id, h.deadline
     )
     INSERT INTO notifications (dedupe_key, kind, target, payload, created_at)
     SELECT 'holder-ask-reminder:' || d.action_id, $2,
       jsonb_build_object('personId', p.id, 'email', p.primary_email, 'slackUserId', p.slack_user_id,
         'teamsAadObjectId', p.teams_aad_object_id),
       n.payload || jsonb_build_object('reminder', true), $1
     FROM due d
     JOIN persons p ON p.id = d.person_id
     JOIN notifications n ON n.dedupe_key = 'holder-ask:' || d.action_id
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [now, HOLDER_ASK_REMINDER],
  );
  return result.rowCount ?? 0;
}

/**
 * Asks past their deadline without an answer count as "release": recorded as `no-answer`, their actions move from
 * `asking` to `queued`, and each is audited. Returns the ids of the actions released.
 */
export async function releaseExpiredAsks(db: Queryable, now: Date): Promise<string[]> {
  // One statement, so the answer, the state change and their audit entries are written together or not at all.
  const result = await db.query<{ id: string }>(
    `WITH expired AS (
       UPDATE holder_asks SET answer = 'no-answer', answered_at = $1
       WHERE answer IS NULL AND deadline <= $1
       RETURNING action_id
     ),
     released AS (
       UPDATE actions a SET state = 'queued', updated_at = $1
       FROM expired e WHERE a.id = e.action_id AND a.state = 'asking'
       RETURNING a.id, (a.preview->'seat'->>'sku') || '/' || COALESCE(a.preview->'seat'->>'email',
         a.preview->'seat'->>'login', a.preview->'seat'->>'accountId') AS target
     ),
     audited AS (
       INSERT INTO audit_log (at, actor, surface, action, target, after)
       SELECT $1, 'seatkeeper', 'system', 'holder.answered', r.target,
         jsonb_build_object('actionId', r.id, 'answer', 'no-answer', 'next', 'queued')
       FROM released r
       RETURNING id
     )
     SELECT id FROM released`,
    [now],
  );
  return result.rows.map((r) => r.id);
}
