/**
 * The Slack surface: `/license`, interactive cards, the App Home dashboard, digests and alerts, on Bolt.
 *
 * Transport: over HTTP, Bolt's ExpressReceiver mounts `POST /slack/events` on the service's own Express app
 * (commands, interactivity, options and events all arrive there, signature-checked against the signing secret);
 * with an app-level token it uses Socket Mode instead and needs no public URL. Either way the listeners are the
 * same (`listeners.ts`) and only translate: Slack payload → Actor + registry command → Block Kit.
 *
 * Jobs (defined here, so call this before the job runner starts): delivery of `notifications` rows targeted at
 * Slack (and a Home refresh after each import), and the weekly digest when a digest channel is configured.
 */
import {
  App,
  type Logger as BoltLogger,
  ExpressReceiver,
  LogLevel,
  SocketModeReceiver,
  webApi,
} from '@slack/bolt';
import type { Express } from 'express';
import { loadRoles } from '../../auth/actors.ts';
import type { Config } from '../../config/config.ts';
import { DeferredWork } from '../../http/deferred-work.ts';
import type { JobRunner } from '../../jobs/job-runner.ts';
import type { Logger } from '../../log.ts';
import type { Store } from '../../store/store.ts';
import { deliverPendingNotifications } from './delivery.ts';
import { queueSlackDigest } from './digest.ts';
import { SlackIdentity } from './identity.ts';
import { publishHome, registerListeners, type SurfaceContext } from './listeners.ts';
import {
  type SlackSettings,
  type SlackTransport,
  slackSettingsFromConfig,
  slackSettingsProblem,
  slackTransport,
} from './slack-settings.ts';
import { getAddress, latestImportFinished, listAddresses, setAddress } from './slack-store.ts';

/** The HTTP path Slack posts to (slash command, interactivity, options load and events). */
export const SLACK_EVENTS_PATH = '/slack/events';

export const DELIVERY_JOB = 'slack:deliver-notifications';
export const DIGEST_JOB = 'slack:weekly-digest';
/** Answers worked on at once after their acknowledgement (commands, clicks, forms); the rest wait their turn. */
const DEFERRED_CONCURRENCY = 8;

export interface SlackSurfaceDeps {
  /** The service's HTTP app: `/slack/events` is mounted on it. */
  app: Express;
  store: Store;
  config: Config;
  log: Logger;
  /** The job runner, not yet started: the surface defines its jobs on it. */
  jobs: JobRunner;
  /** Defaults to the environment (until the configuration schema carries the Slack variables). */
  settings?: SlackSettings;
  now?: () => Date;
}

export interface SlackSurface {
  transport: SlackTransport;
  /** Waits for work in progress, then disconnects (Socket Mode). */
  stop(): Promise<void>;
}

/** Bolt's logger interface over ours; Bolt's debug chatter goes to `trace`. */
function boltLogger(log: Logger): BoltLogger {
  const child = log.child({ component: 'slack' });
  let level = LogLevel.INFO;
  const write =
    (method: 'trace' | 'info' | 'warn' | 'error') =>
    (...parts: unknown[]) => {
      const err = parts.find((p) => p instanceof Error);
      const text = parts
        .filter((p) => !(p instanceof Error))
        .map((p) => (typeof p === 'string' ? p : JSON.stringify(p)))
        .join(' ');
      if (err) child[method]({ err }, text);
      else child[method](text);
    };
  return {
    debug: write('trace'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

/** Republishes the Home tab of everyone who opened it, once per successful import. */
async function refreshHomesAfterImport(sc: SurfaceContext): Promise<number> {
  const latest = await latestImportFinished(sc.store.pool);
  if (!latest) return 0;
  const seen = await getAddress<{ at: string }>(sc.store.pool, 'home-refresh');
  if (seen && new Date(seen.at).getTime() >= latest.getTime()) return 0;
  const homes = await listAddresses<unknown>(sc.store.pool, 'home:');
  for (const { key } of homes) {
    await publishHome(sc, key.slice('home:'.length)).catch((error: unknown) =>
      sc.log.warn({ err: error, key }, 'slack: Home not refreshed'),
    );
  }
  await setAddress(sc.store.pool, 'home-refresh', { at: latest.toISOString() });
  return homes.length;
}

/**
 * Starts the Slack surface when its settings are present: mounts `/slack/events` (or connects over Socket Mode)
 * and defines its jobs. Returns undefined, after logging why, when Slack is not configured.
 */
export async function startSlackSurface(deps: SlackSurfaceDeps): Promise<SlackSurface | undefined> {
  const { store, config, log, jobs } = deps;
  const settings = deps.settings ?? slackSettingsFromConfig(deps.config);
  const problem = slackSettingsProblem(settings);
  if (problem === 'not configured') {
    log.info(
      'slack: not configured (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or SLACK_APP_TOKEN for Socket Mode)',
    );
    return undefined;
  }
  if (problem) {
    log.warn(`slack: disabled: ${problem}`);
    return undefined;
  }
  const transport = slackTransport(settings);
  const logger = boltLogger(log);
  const clientOptions: webApi.WebClientOptions = {
    slackApiUrl: settings.apiUrl,
    allowAbsoluteUrls: false,
    logger,
    retryConfig: webApi.retryPolicies.fiveRetriesInFiveMinutes,
  };
  if (transport === 'http') {
    // Bolt refuses requests older than five minutes but not ones dated later: refuse those too, before Bolt sees
    // them, so the replay window is five minutes either way (clocks are NTP-synchronised on both sides).
    deps.app.post(SLACK_EVENTS_PATH, (req, res, next) => {
      const stamp = Number(req.headers['x-slack-request-timestamp']);
      if (Number.isFinite(stamp) && stamp - Date.now() / 1000 > 5 * 60) {
        res.status(401).send('The request timestamp is in the future.');
        return;
      }
      next();
    });
  }
  const receiver =
    transport === 'socket'
      ? new SocketModeReceiver({
          appToken: settings.appToken as string,
          logger,
          installerOptions: { clientOptions: { ...clientOptions } },
        })
      : new ExpressReceiver({
          signingSecret: settings.signingSecret as string,
          app: deps.app,
          endpoints: SLACK_EVENTS_PATH,
          logger,
          processBeforeResponse: false,
        });
  const bolt = new App({ token: settings.botToken, receiver, logger, clientOptions });

  // What a listener does after acknowledging runs a bounded number at once: under a burst of commands the event loop
  // then stays free to read and acknowledge the next requests within Slack's three seconds.
  const deferred = new DeferredWork(DEFERRED_CONCURRENCY);
  const sc: SurfaceContext = {
    store,
    config,
    log,
    settings,
    identity: new SlackIdentity(store, loadRoles(config), bolt.client, log),
    client: bolt.client,
    now: deps.now ?? (() => new Date()),
    track(work) {
      return deferred
        .run(work)
        .catch((error: unknown) => log.error({ err: error }, 'slack: background work failed'));
    },
  };
  registerListeners(bolt, sc);
  bolt.error(async (error) => {
    log.error({ err: error }, 'slack: listener error');
  });

  const delivery = { store, client: bolt.client, settings, identity: sc.identity, log };
  jobs.define({
    name: DELIVERY_JOB,
    every: settings.deliveryInterval,
    lockLifetimeMs: 5 * 60_000,
    run: async () => {
      const { sent, failed } = await deliverPendingNotifications(delivery);
      if (sent || failed) log.info({ sent, failed }, 'slack: notifications delivered');
      await refreshHomesAfterImport(sc);
    },
  });
  const digestChannel = settings.digestChannel;
  if (digestChannel) {
    jobs.define({
      name: DIGEST_JOB,
      every: settings.digestCron,
      lockLifetimeMs: 10 * 60_000,
      run: async () => {
        await queueSlackDigest(store, config, digestChannel, sc.now(), settings.timeZone);
        await deliverPendingNotifications(delivery);
      },
    });
  }

  if (transport === 'socket') await bolt.start();
  const where = transport === 'socket' ? 'over Socket Mode' : `over HTTP at ${SLACK_EVENTS_PATH}`;
  log.info(
    `slack: enabled ${where}; digest ${
      digestChannel
        ? `to ${digestChannel} at '${settings.digestCron}' (${settings.timeZone})`
        : 'off (set SLACK_DIGEST_CHANNEL)'
    }; alerts ${settings.alertChannel ? `to ${settings.alertChannel}` : 'to their targets only (set SLACK_ALERT_CHANNEL)'}`,
  );

  return {
    transport,
    async stop() {
      await deferred.drain();
      if (transport === 'socket') await bolt.stop();
    },
  };
}
