/**
 * Slack users as Seatkeeper actors. A user id becomes a person by the e-mail Slack knows for it (`users.info`,
 * scope `users:read.email`); once matched, the person's `slack_user_id` is stored so later requests need no Web
 * API call. Roles come from the role configuration (e-mails and `slack:U…` ids) and are checked by the handlers.
 */
import type { webApi } from '@slack/bolt';
import type { Actor } from '../../../handlers/types.ts';
import { type RoleMap, resolveActor } from '../../auth/actors.ts';
import type { Logger } from '../../log.ts';
import type { Store } from '../../store/store.ts';
import { personContact, rememberSlackUser } from './slack-store.ts';

type WebClient = webApi.WebClient;

interface Profile {
  email: string | null;
  name: string | null;
  fetchedAt: number;
}

/** How long a user's e-mail from `users.info` is trusted before asking again. */
const PROFILE_TTL_MS = 10 * 60_000;

export class SlackIdentity {
  private readonly profiles = new Map<string, Profile>();

  constructor(
    private readonly store: Store,
    private readonly roles: RoleMap,
    private readonly client: WebClient,
    private readonly log: Logger,
  ) {}

  /** The actor behind a Slack user id, with the roles configuration gives them. */
  async actor(userId: string): Promise<Actor> {
    const known = await resolveActor(this.store, this.roles, { slackUserId: userId }, 'slack');
    if (known.personId !== null) return known;
    const profile = await this.profile(userId);
    const actor = await resolveActor(
      this.store,
      this.roles,
      { email: profile.email, slackUserId: userId, displayName: profile.name },
      'slack',
    );
    if (actor.personId !== null) await rememberSlackUser(this.store.pool, actor.personId, userId);
    return actor;
  }

  /** The e-mail Slack has for a user (null when hidden, unknown or the scope is missing). */
  async emailOf(userId: string): Promise<string | null> {
    return (await this.profile(userId)).email;
  }

  /** The Slack user id of a person: stored, or looked up by e-mail (`users.lookupByEmail`) and then stored. */
  async userIdOfPerson(personId: number): Promise<string | null> {
    const person = await personContact(this.store.pool, personId);
    if (!person) return null;
    if (person.slackUserId) return person.slackUserId;
    const userId = await this.userIdOfEmail(person.email);
    if (userId) await rememberSlackUser(this.store.pool, personId, userId);
    return userId;
  }

  /** The Slack user id for an e-mail address, or null when the workspace has no such user. */
  async userIdOfEmail(email: string): Promise<string | null> {
    try {
      const found = await this.client.users.lookupByEmail({ email });
      return found.user?.id ?? null;
    } catch (error) {
      const code = (error as { data?: { error?: string } }).data?.error;
      if (code !== 'users_not_found') this.log.warn({ code }, 'slack: users.lookupByEmail failed');
      return null;
    }
  }

  private async profile(userId: string): Promise<Profile> {
    const cached = this.profiles.get(userId);
    if (cached && Date.now() - cached.fetchedAt < PROFILE_TTL_MS) return cached;
    let profile: Profile = { email: null, name: null, fetchedAt: Date.now() };
    try {
      const info = await this.client.users.info({ user: userId });
      profile = {
        email: info.user?.profile?.email ?? null,
        name: info.user?.profile?.real_name || info.user?.real_name || info.user?.name || null,
        fetchedAt: Date.now(),
      };
    } catch (error) {
      // Without users:read.email the user still acts with the roles given to `slack:<id>`.
      const code = (error as { data?: { error?: string } }).data?.error;
      this.log.warn({ code, user: userId }, 'slack: users.info failed; acting on the Slack id alone');
    }
    this.profiles.set(userId, profile);
    return profile;
  }
}
