/**
 * Delivers `notifications` rows (alerts, digests, holder questions) to Slack: to a channel (by name from the
 * settings or `chat_addresses`, or a channel id) or as a direct message to a person. Each row is claimed by a
 * compare-and-set on `sent_at` before it is posted, so two replicas (or two runs of the job) post it once; a post
 * that fails gives the row back with its error for the next run, up to a few attempts.
 *
 * Targets: `{ channel: 'procurement' | 'C0123' }` (names through SLACK_CHANNELS or `chat_addresses`, else posted
 * to `#name`), `{ slackUserId }`, `{ personId }`, `{ email }`; `platform: 'slack'` pins a row to Slack when several
 * chat surfaces are configured. How each kind looks: `notification-cards.ts`.
 */
import type { webApi } from '@slack/bolt';
import type { Logger } from '../../log.ts';
import type { Store } from '../../store/store.ts';
import type { SlackIdentity } from './identity.ts';
import { renderNotification } from './notification-cards.ts';
import type { SlackSettings } from './slack-settings.ts';
import {
  claimNotification,
  getAddress,
  markDelivered,
  type PendingNotification,
  pendingNotifications,
  releaseNotification,
  setAddress,
} from './slack-store.ts';

type WebClient = webApi.WebClient;

export interface DeliveryDeps {
  store: Store;
  client: WebClient;
  settings: SlackSettings;
  identity: SlackIdentity;
  log: Logger;
}

/** Where a delivered notification was posted (kept for later edits of the message). */
export interface PostedAddress {
  channel: string;
  ts: string;
}

/** The Slack conversation a notification goes to, or why it cannot be delivered. */
async function destination(
  deps: DeliveryDeps,
  n: PendingNotification,
): Promise<{ channel: string } | { error: string }> {
  const { settings, store, identity, client } = deps;
  const target = n.target;
  if (typeof target.slackChannel === 'string') return { channel: target.slackChannel };
  if (typeof target.channel === 'string' && target.channel) {
    const name = target.channel;
    const mapped =
      settings.channels[name.toLowerCase()] ??
      (await getAddress<{ channel?: string }>(store.pool, `channel:${name.toLowerCase()}`))?.channel;
    if (mapped) return { channel: mapped };
    if (/^[CGD][A-Z0-9]{6,}$/.test(name) || name.startsWith('#')) return { channel: name };
    if (name === 'digest' && settings.digestChannel) return { channel: settings.digestChannel };
    if (['alerts', 'alert', 'it'].includes(name) && settings.alertChannel)
      return { channel: settings.alertChannel };
    // A public channel of that name (the bot posts there with chat:write.public); Slack says if there is none.
    if (/^[a-z0-9][a-z0-9._-]{0,79}$/.test(name)) return { channel: `#${name}` };
    return { error: `no Slack channel for '${name}' (set SLACK_CHANNELS=${name}=<channel id>)` };
  }
  let userId: string | null = null;
  if (typeof target.slackUserId === 'string' && target.slackUserId) userId = target.slackUserId;
  else if (typeof target.personId === 'number') userId = await identity.userIdOfPerson(target.personId);
  else if (typeof target.email === 'string') userId = await identity.userIdOfEmail(target.email);
  else {
    const fallback = n.kind === 'digest' ? settings.digestChannel : settings.alertChannel;
    return fallback
      ? { channel: fallback }
      : {
          error: `no channel for ${n.kind} (set ${n.kind === 'digest' ? 'SLACK_DIGEST_CHANNEL' : 'SLACK_ALERT_CHANNEL'})`,
        };
  }
  if (!userId) return { error: 'the person has no Slack account Seatkeeper can find by e-mail' };
  const opened = await client.conversations.open({ users: userId });
  return opened.channel?.id
    ? { channel: opened.channel.id }
    : { error: 'conversations.open returned no channel' };
}

/**
 * Posts every pending Slack notification once. Safe to run concurrently on several replicas: each row is claimed
 * before it is posted. Returns how many were posted and how many failed (and will be retried).
 */
export async function deliverPendingNotifications(
  deps: DeliveryDeps,
  limit = 50,
): Promise<{ sent: number; failed: number }> {
  let sent = 0;
  let failed = 0;
  const { pool } = deps.store;
  for (const n of await pendingNotifications(pool, limit)) {
    let claimed = false;
    let posted: { channel?: string; ts?: string };
    try {
      claimed = await claimNotification(pool, n.id);
      if (!claimed) continue;
      const to = await destination(deps, n);
      if ('error' in to) throw new Error(to.error);
      const rendered = renderNotification(n.kind, n.payload);
      posted = await deps.client.chat.postMessage({
        channel: to.channel,
        text: rendered.text,
        blocks: rendered.blocks,
        unfurl_links: false,
      });
    } catch (error) {
      failed++;
      const message = (error as { data?: { error?: string } }).data?.error ?? (error as Error).message;
      deps.log.warn(
        { notification: n.id, kind: n.kind, error: message },
        'slack: notification not delivered',
      );
      // Given back only if it was ours and was not posted: a later run tries again.
      if (claimed) await releaseNotification(pool, n.id, message).catch(() => undefined);
      continue;
    }
    sent++;
    // Posted: whatever happens now, it stays sent (giving it back would post it twice).
    try {
      if (posted.channel && posted.ts) {
        await setAddress(pool, `notification:${n.id}`, {
          channel: posted.channel,
          ts: posted.ts,
        } satisfies PostedAddress);
      }
      await markDelivered(pool, n.id);
    } catch (error) {
      deps.log.warn(
        { err: error, notification: n.id },
        'slack: notification posted; its address was not recorded',
      );
    }
  }
  return { sent, failed };
}
