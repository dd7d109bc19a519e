/**
 * Where Seatkeeper can reach people and channels in Teams: conversation references, stored in `chat_addresses` when
 * the app is installed or first talked to, and used for proactive messages (digests, alerts, holder questions).
 *
 * Keys: `conversation:<id>` (any conversation; a channel without its thread suffix), `user:<AAD object id>` and
 * `person:<person id>` (a personal chat), `aad:<AAD object id>` (a personal chat the bot created), `team:<team id>`
 * (a team the app is installed in).
 */
import type { Activity, ConversationReference } from '@microsoft/agents-activity';
import type { Store } from '../../store/store.ts';

const PLATFORM = 'teams';

/** A channel conversation id without the `;messageid=…` suffix of a thread: posting there starts a new thread. */
export const channelRoot = (conversationId: string): string => conversationId.split(';')[0] as string;

/** A Teams user someone may address a card to: the MRI (`29:…`) `refresh.userIds` needs, and the AAD id. */
export interface KnownUser {
  mri: string;
  aadObjectId: string;
  name: string | null;
}

export class TeamsAddresses {
  constructor(private readonly store: Store) {}

  /** Stores the references an activity reveals; returns the conversation's reference. */
  async remember(activity: Activity, personId: number | null = null): Promise<ConversationReference> {
    const reference = referenceOf(activity);
    const keys = [`conversation:${reference.conversation.id}`];
    const personal = activity.conversation?.conversationType === 'personal';
    const aad = activity.from?.aadObjectId;
    if (personal && aad) keys.push(`user:${aad}`);
    if (personal && personId !== null) keys.push(`person:${personId}`);
    const team = teamIdOf(activity);
    if (team) keys.push(`team:${team}`);
    // One statement; an unchanged address is not rewritten, so every message costs no write.
    await this.store.pool.query(
      `INSERT INTO chat_addresses (platform, key, address)
       SELECT $1, k, $3::jsonb FROM unnest($2::text[]) AS k
       ON CONFLICT (platform, key) DO UPDATE SET address = EXCLUDED.address, updated_at = now()
       WHERE chat_addresses.address IS DISTINCT FROM EXCLUDED.address`,
      [PLATFORM, keys, JSON.stringify(reference)],
    );
    return reference;
  }

  /** Forgets a conversation the app was removed from (and the personal or team keys pointing to it). */
  async forget(activity: Activity): Promise<void> {
    const id = channelRoot(activity.conversation?.id ?? '');
    await this.store.pool.query(
      `DELETE FROM chat_addresses WHERE platform = $1 AND address->'conversation'->>'id' = $2`,
      [PLATFORM, id],
    );
  }

  async get(key: string): Promise<ConversationReference | undefined> {
    const found = await this.store.pool.query<{ address: ConversationReference }>(
      'SELECT address FROM chat_addresses WHERE platform = $1 AND key = $2',
      [PLATFORM, key],
    );
    return found.rows[0]?.address;
  }

  async put(key: string, reference: ConversationReference): Promise<void> {
    await this.store.pool.query(
      `INSERT INTO chat_addresses (platform, key, address) VALUES ($1, $2, $3)
       ON CONFLICT (platform, key) DO UPDATE SET address = EXCLUDED.address, updated_at = now()`,
      [PLATFORM, key, JSON.stringify(reference)],
    );
  }

  /**
   * A reference for posting to a channel: the channel's own when the bot has seen it, else one built from a team the
   * app is installed in (same service URL, bot and tenant; the channel id is what differs).
   */
  async channelReference(channelId: string): Promise<ConversationReference | undefined> {
    const own = await this.get(`conversation:${channelId}`);
    if (own) return own;
    const team = await this.anyReference('team:%');
    if (!team) return undefined;
    return {
      ...team,
      conversation: {
        id: channelId,
        isGroup: true,
        conversationType: 'channel',
        tenantId: team.conversation.tenantId,
      } as ConversationReference['conversation'],
    };
  }

  /** The most recently seen reference whose key matches (for its service URL, bot and tenant). */
  async anyReference(keyPattern = '%'): Promise<ConversationReference | undefined> {
    const found = await this.store.pool.query<{ address: ConversationReference }>(
      `SELECT address FROM chat_addresses WHERE platform = $1 AND key LIKE $2 ORDER BY updated_at DESC LIMIT 1`,
      [PLATFORM, keyPattern],
    );
    return found.rows[0]?.address;
  }

  /** Users the bot has had a personal chat with, most recent first. */
  async knownUsers(limit: number): Promise<KnownUser[]> {
    const found = await this.store.pool.query<{ mri: string; aad: string; name: string | null }>(
      `SELECT address->'user'->>'id' AS mri, substr(key, 6) AS aad, address->'user'->>'name' AS name
       FROM chat_addresses
       WHERE platform = $1 AND key LIKE 'user:%' AND address->'user'->>'id' IS NOT NULL
       ORDER BY updated_at DESC LIMIT $2`,
      [PLATFORM, limit],
    );
    return found.rows.map((r) => ({ mri: r.mri, aadObjectId: r.aad, name: r.name }));
  }
}

/** The conversation reference of an activity, for later proactive sends (no activity id: it is not a reply). */
export function referenceOf(activity: Activity): ConversationReference {
  const reference = activity.getConversationReference();
  delete reference.activityId;
  const conversation = { ...reference.conversation };
  if (conversation.conversationType === 'channel') conversation.id = channelRoot(conversation.id);
  return { ...reference, conversation };
}

/** The team an activity comes from, when it comes from a team. */
export function teamIdOf(activity: Activity): string | undefined {
  const data = activity.channelData as { team?: { id?: unknown } } | undefined;
  return typeof data?.team?.id === 'string' ? data.team.id : undefined;
}
