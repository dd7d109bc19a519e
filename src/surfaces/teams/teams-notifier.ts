/**
 * Proactive delivery of the `notifications` outbox to Teams: digests and alerts to the configured channels, questions
 * to a person's personal chat (created when the bot has none yet). Each row is claimed by compare-and-set on
 * `sent_at` before it is sent, so two replicas never both send it; a failed send releases the claim with the error
 * and is retried by the next run, up to `MAX_ATTEMPTS`.
 */
import type { ConversationReference } from '@microsoft/agents-activity';
import {
  CardFactory,
  type CloudAdapter,
  type ConnectorClient,
  MessageFactory,
} from '@microsoft/agents-hosting';
import type { Logger } from '../../log.ts';
import type { Store } from '../../store/store.ts';
import type { CardJson } from './card-templates.ts';
import type { TeamsAddresses } from './teams-addresses.ts';
import type { TeamsIdentities } from './teams-identity.ts';
import { notificationModel } from './teams-notices.ts';
import type { TeamsRenderer } from './teams-render.ts';
import type { TeamsSettings } from './teams-settings.ts';

/** Attempts before a notification is left for an operator (its `error` says why). */
export const MAX_ATTEMPTS = 5;
const BATCH = 50;

export interface DeliveryReport {
  sent: number;
  failed: number;
  /** Rows Teams cannot deliver (another surface's channel, a person without a Teams identity). */
  skipped: number;
}

interface NotificationRow {
  id: number;
  kind: string;
  target: {
    channel?: unknown;
    teamsChannel?: unknown;
    personId?: unknown;
    email?: unknown;
    teamsAadObjectId?: unknown;
    platform?: unknown;
  };
  payload: unknown;
}

/** Where a row goes in Teams, and whether it goes to one person (who then sees the buttons directly). */
type Destination = { reference: ConversationReference; personal: boolean; personId?: number };

export interface NotifierDeps {
  store: Store;
  log: Logger;
  adapter: CloudAdapter;
  settings: TeamsSettings;
  addresses: TeamsAddresses;
  identities: TeamsIdentities;
  renderer: TeamsRenderer;
}

export class TeamsNotifier {
  constructor(private readonly deps: NotifierDeps) {}

  /** Delivers the unsent notifications Teams can deliver. */
  async deliverPending(): Promise<DeliveryReport> {
    const report: DeliveryReport = { sent: 0, failed: 0, skipped: 0 };
    const pending = await this.deps.store.pool.query<NotificationRow>(
      `SELECT id, kind, target, payload FROM notifications
       WHERE sent_at IS NULL AND attempts < $1 AND COALESCE(target->>'platform', 'teams') = 'teams'
       ORDER BY created_at, id LIMIT $2`,
      [MAX_ATTEMPTS, BATCH],
    );
    for (const row of pending.rows) {
      let destination: Destination | undefined;
      try {
        destination = await this.destination(row);
      } catch (error) {
        // Creating a personal chat failed (throttled, or the user cannot be reached): the next run tries again.
        report.failed++;
        this.deps.log.warn(
          { err: error, notification: row.id, kind: row.kind },
          'teams: no conversation for a notification',
        );
        continue;
      }
      if (!destination) {
        report.skipped++;
        continue;
      }
      // Compare-and-set: only the replica whose update finds the row unsent sends it.
      const claimed = await this.deps.store.pool.query(
        `UPDATE notifications SET sent_at = now(), attempts = attempts + 1, error = NULL
         WHERE id = $1 AND sent_at IS NULL RETURNING id`,
        [row.id],
      );
      if (claimed.rowCount !== 1) continue;
      try {
        await this.send(row, destination);
        report.sent++;
      } catch (error) {
        report.failed++;
        const message = (error as Error).message?.slice(0, 500) ?? String(error);
        await this.deps.store.pool.query(
          'UPDATE notifications SET sent_at = NULL, error = $2 WHERE id = $1',
          [row.id, message],
        );
        this.deps.log.warn(
          { err: error, notification: row.id, kind: row.kind },
          'teams: notification not sent',
        );
      }
    }
    return report;
  }

  /**
   * The conversation a row goes to, or undefined when Teams cannot reach its target. Targets: `{ teamsChannel }`
   * (a channel id), `{ channel }` (a name from TEAMS_CHANNELS, or a `19:` id), `{ personId }`, `{ email }`,
   * `{ teamsAadObjectId }`; without any, a digest goes to the channel named `digest` and anything else to `alerts`.
   */
  private async destination(row: NotificationRow): Promise<Destination | undefined> {
    const target = row.target;
    const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
    const channels = this.deps.settings.channels;
    const named = (name: string) =>
      channels.get(name.toLowerCase()) ?? (name.startsWith('19:') ? name : undefined);
    let channelId = text(target.teamsChannel);
    if (!channelId && text(target.channel)) channelId = named(text(target.channel) as string);
    if (channelId) {
      const reference = await this.deps.addresses.channelReference(channelId);
      return reference ? { reference, personal: false } : undefined;
    }
    if (text(target.channel)) return undefined; // a channel Teams was not given: another surface's
    const personId = typeof target.personId === 'number' ? target.personId : await this.personOf(target);
    if (personId !== undefined) {
      const reference = await this.personalReference(personId);
      return reference ? { reference, personal: true, personId } : undefined;
    }
    const aad = text(target.teamsAadObjectId);
    if (aad) {
      const reference = await this.userReference(aad);
      return reference ? { reference, personal: true } : undefined;
    }
    const fallback = channels.get(row.kind === 'digest' ? 'digest' : 'alerts');
    const reference = fallback ? await this.deps.addresses.channelReference(fallback) : undefined;
    return reference ? { reference, personal: false } : undefined;
  }

  /** The person an `{ email }` or `{ teamsAadObjectId }` target names, when Seatkeeper knows them. */
  private async personOf(target: NotificationRow['target']): Promise<number | undefined> {
    const email = typeof target.email === 'string' ? target.email : null;
    const aad = typeof target.teamsAadObjectId === 'string' ? target.teamsAadObjectId : null;
    if (!email && !aad) return undefined;
    const found = await this.deps.store.pool.query<{ id: number }>(
      `SELECT p.id FROM persons p
       WHERE p.id = (SELECT person_id FROM person_emails WHERE email = lower($1))
          OR ($2::text IS NOT NULL AND p.teams_aad_object_id = $2)
       ORDER BY p.id LIMIT 1`,
      [email, aad],
    );
    return found.rows[0]?.id;
  }

  /** The person's personal chat with the bot (stored, or created for their AAD object id). */
  private async personalReference(personId: number): Promise<ConversationReference | undefined> {
    const stored = await this.deps.addresses.get(`person:${personId}`);
    if (stored) return stored;
    const found = await this.deps.store.pool.query<{ aad: string | null }>(
      'SELECT teams_aad_object_id AS aad FROM persons WHERE id = $1',
      [personId],
    );
    const aad = found.rows[0]?.aad;
    if (!aad) return undefined;
    const reference = await this.userReference(aad);
    if (reference) await this.deps.addresses.put(`person:${personId}`, reference);
    return reference;
  }

  /**
   * A user's personal chat with the bot: the stored one, else a new one created through the Bot Connector (the
   * service URL, bot and tenant come from any conversation the bot is in).
   */
  private async userReference(aad: string): Promise<ConversationReference | undefined> {
    // `user:` holds the chat the user had with the bot (its user id is their MRI); `aad:` one the bot created.
    const known =
      (await this.deps.addresses.get(`user:${aad}`)) ?? (await this.deps.addresses.get(`aad:${aad}`));
    if (known) return known;
    const any = await this.deps.addresses.anyReference();
    if (!any) return undefined;
    const tenantId = (any.conversation as { tenantId?: string }).tenantId ?? this.deps.settings.tenantId;
    let created: ConversationReference | undefined;
    await this.deps.adapter.continueConversation(this.botIdentity(), any, async (ctx) => {
      const client = ctx.turnState.get<ConnectorClient>(this.deps.adapter.ConnectorClientKey);
      const agent = any.agent ?? undefined;
      // The Bot Connector's wire name for the bot is `bot` (the SDK's type calls it `agent` and sends that).
      const parameters = {
        isGroup: false,
        bot: agent,
        agent,
        members: [{ id: aad }],
        tenantId,
        channelData: { tenant: { id: tenantId } },
      };
      const conversation = await client.createConversation(parameters as never);
      created = {
        ...any,
        user: { id: aad, aadObjectId: aad } as ConversationReference['user'],
        conversation: {
          id: conversation.id,
          conversationType: 'personal',
          isGroup: false,
          tenantId,
        } as ConversationReference['conversation'],
      };
    });
    if (created) await this.deps.addresses.put(`aad:${aad}`, created);
    return created;
  }

  private async send(row: NotificationRow, destination: Destination): Promise<void> {
    const model = notificationModel(row.kind, (row.payload ?? {}) as Record<string, unknown>);
    const cardId = `n${row.id}`;
    const viewer = destination.personId
      ? await this.deps.identities.actorForPerson(destination.personId)
      : undefined;
    const rendered = this.deps.renderer.notificationCard(row.id, model, viewer, {
      cardId,
      interactive: destination.personal,
    });
    const card: CardJson = destination.personal
      ? rendered.card
      : await this.deps.renderer.sharedCard({ notification: row.id }, rendered, { cardId });
    const activity = MessageFactory.attachment(CardFactory.adaptiveCard(card));
    activity.summary = model.type === 'digest' ? model.digest.title : model.notice.title;
    const { reference } = destination;
    await this.deps.adapter.continueConversation(this.botIdentity(), reference, async (ctx) => {
      // Inside continueConversation, ctx.sendActivity would post to a reply path; a new message is a plain POST.
      const client = ctx.turnState.get<ConnectorClient>(this.deps.adapter.ConnectorClientKey);
      await client.sendToConversation(reference.conversation.id, activity);
    });
  }

  /** The bot's identity for proactive turns; with authentication off, an anonymous one. */
  private botIdentity(): string | Record<string, never> {
    return this.deps.settings.appId ?? {};
  }
}
