/**
 * Who is asking, in Teams: the activity's AAD object id, else the e-mail from the conversation member lookup, becomes
 * an `Actor` (person and roles) before any handler runs. A person found by e-mail gets the AAD object id stored, so
 * the next request resolves without a lookup.
 */
import type { Activity } from '@microsoft/agents-activity';
import type { ConnectorClient } from '@microsoft/agents-hosting';
import type { Actor } from '../../../handlers/types.ts';
import { type RoleMap, resolveActor } from '../../auth/actors.ts';
import type { Logger } from '../../log.ts';
import type { Store } from '../../store/store.ts';

const LOOKUP_TTL_MS = 15 * 60_000;
const LOOKUP_CACHE_SIZE = 5_000;

export class TeamsIdentities {
  /** AAD object id → e-mail from the member lookup (null: the lookup gave none), with when it was looked up. */
  private readonly emails = new Map<string, { email: string | null; at: number }>();

  constructor(
    private readonly store: Store,
    private readonly roles: RoleMap,
    private readonly log: Logger,
  ) {}

  /** The actor of an activity; `client` (the turn's connector) allows the member lookup for the e-mail. */
  async actorFor(activity: Activity, client?: ConnectorClient): Promise<Actor> {
    const aad = activity.from?.aadObjectId ?? null;
    const displayName = activity.from?.name ?? null;
    const byAad = aad
      ? await resolveActor(this.store, this.roles, { teamsAadObjectId: aad, displayName }, 'teams')
      : undefined;
    if (byAad?.personId) return byAad;
    const email = await this.lookupEmail(activity, client);
    if (!email) return byAad ?? (await resolveActor(this.store, this.roles, { displayName }, 'teams'));
    const actor = await resolveActor(
      this.store,
      this.roles,
      { email, teamsAadObjectId: aad, displayName },
      'teams',
    );
    if (actor.personId !== null && aad) {
      await this.store.pool.query(
        `UPDATE persons SET teams_aad_object_id = $1, updated_at = now()
         WHERE id = $2 AND teams_aad_object_id IS DISTINCT FROM $1`,
        [aad, actor.personId],
      );
    }
    return actor;
  }

  /** The actor for a person Seatkeeper knows (the holder a question goes to). */
  async actorForPerson(personId: number): Promise<Actor | undefined> {
    const found = await this.store.pool.query<{ primary_email: string; teams_aad_object_id: string | null }>(
      'SELECT primary_email, teams_aad_object_id FROM persons WHERE id = $1',
      [personId],
    );
    const person = found.rows[0];
    if (!person) return undefined;
    return resolveActor(
      this.store,
      this.roles,
      { email: person.primary_email, teamsAadObjectId: person.teams_aad_object_id },
      'teams',
    );
  }

  /** The actor of a Teams user known only by AAD object id (refresh recipients). */
  actorForAad(aadObjectId: string, displayName: string | null): Promise<Actor> {
    return resolveActor(this.store, this.roles, { teamsAadObjectId: aadObjectId, displayName }, 'teams');
  }

  private async lookupEmail(activity: Activity, client?: ConnectorClient): Promise<string | null> {
    const aad = activity.from?.aadObjectId;
    const userId = activity.from?.id;
    const conversationId = activity.conversation?.id;
    if (!client || !userId || !conversationId) return null;
    const cached = aad ? this.emails.get(aad) : undefined;
    if (cached && Date.now() - cached.at < LOOKUP_TTL_MS) return cached.email;
    let email: string | null = null;
    try {
      const member = (await client.getConversationMember(userId, conversationId)) as {
        email?: string;
        userPrincipalName?: string;
      };
      email = member.email || member.userPrincipalName || null;
    } catch (error) {
      // Without the e-mail the user still gets an answer, with the roles their AAD object id carries; a failed
      // lookup is not cached, so the next message tries again.
      this.log.warn({ err: error, conversationId }, 'teams: member lookup failed');
      return null;
    }
    if (aad) {
      if (this.emails.size >= LOOKUP_CACHE_SIZE) this.emails.clear();
      this.emails.set(aad, { email, at: Date.now() });
    }
    return email;
  }
}
