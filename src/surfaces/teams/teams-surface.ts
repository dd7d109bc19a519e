/**
 * The Microsoft Teams surface, on the Microsoft 365 Agents SDK (`@microsoft/agents-hosting`, botbuilder's maintained
 * successor): `/api/messages` on the service's own HTTP server, JWT-validated, and a job that delivers the
 * notifications outbox to Teams. `startTeamsSurface` is the one call the service makes.
 */
import { Activity, ActivityTypes } from '@microsoft/agents-activity';
import { authorizeJWT, type TurnContext } from '@microsoft/agents-hosting';
import express, { type Express, type Request, type Response } from 'express';
import { COMMANDS, type CommandSpec } from '../../../handlers/registry.ts';
import { ACTION_RUN_JOB } from '../../actions/jobs.ts';
import { loadRoles } from '../../auth/actors.ts';
import type { Config } from '../../config/config.ts';
import { queueWeeklyDigest } from '../../digests/weekly-digest.ts';
import { DeferredWork } from '../../http/deferred-work.ts';
import type { JobRunner } from '../../jobs/job-runner.ts';
import type { Logger } from '../../log.ts';
import type { Store } from '../../store/store.ts';
import { CardTemplates } from './card-templates.ts';
import { errorCard } from './card-views.ts';
import { TeamsActions } from './teams-actions.ts';
import { TeamsAddresses } from './teams-addresses.ts';
import { createTeamsAdapter, teamsAuthConfig } from './teams-auth.ts';
import { cardMessage, TeamsBot } from './teams-bot.ts';
import { withTeamsCommands } from './teams-commands.ts';
import { TeamsIdentities } from './teams-identity.ts';
import { type DeliveryReport, TeamsNotifier } from './teams-notifier.ts';
import { TeamsRenderer } from './teams-render.ts';
import {
  digestChannelIds,
  parseTeamsSettings,
  type RawTeamsSettings,
  teamsSettingsFromConfig,
} from './teams-settings.ts';

/** The job that delivers notifications to Teams. */
export const TEAMS_NOTIFICATIONS_JOB = 'teams:notifications';
/** The job that puts the weekly digest for the Teams digest channels into the outbox and delivers it. */
export const TEAMS_DIGEST_JOB = 'teams:weekly-digest';
/** The bot's endpoint, as registered in Azure Bot Service (`https://<host>/api/messages`). */
export const TEAMS_ENDPOINT = '/api/messages';
/** Message turns run at once after their acknowledgement; the rest wait their turn. */
const TURN_CONCURRENCY = 8;
/**
 * Message turns that may wait. A waiting turn holds its parsed activity (a few kilobytes), and a reply may come late:
 * Teams takes it whenever it comes. Beyond this many, a message is answered only once its turn is done, which slows
 * the sender down rather than letting memory grow without bound.
 */
const TURNS_WAITING = 5_000;

export interface TeamsSurfaceDeps {
  config: Config;
  store: Store;
  log: Logger;
  /** The service's HTTP app; the endpoint is mounted on it. */
  app: Express;
  /** The service's job runner, not started yet (the delivery job is defined on it). */
  jobs: JobRunner;
  /** The Teams variables; read from the environment when omitted. */
  settings?: RawTeamsSettings;
  /** The registry; tests may add commands. */
  commands?: readonly CommandSpec[];
  now?: () => Date;
  /** How often undelivered notifications are looked for (an Agenda interval). */
  deliveryInterval?: string;
}

export interface TeamsSurface {
  enabled: boolean;
  /** Delivers pending notifications now (what the job does). */
  deliverNotifications(): Promise<DeliveryReport>;
  /**
   * Queues this week's digest for the digest channels (once per channel and week, across runs and replicas) and
   * delivers what is pending (what the digest job does).
   */
  sendWeeklyDigest(): Promise<DeliveryReport>;
  /** Waits for the turns in progress (messages acknowledged but not yet answered included). */
  stop(): Promise<void>;
}

/**
 * Mounts `/api/messages` and defines the notification job, when Teams is configured (or in development with
 * authentication off). Logs one line saying which.
 * @throws ConfigError when the Teams settings are invalid, or would run without authentication in production
 */
export function startTeamsSurface(deps: TeamsSurfaceDeps): TeamsSurface {
  const { config, store, log, app, jobs } = deps;
  const setup = parseTeamsSettings(deps.settings ?? teamsSettingsFromConfig(config), config.NODE_ENV);
  if (!setup.enabled) {
    log.info(`teams: ${setup.reason}`);
    const nothing = async () => ({ sent: 0, failed: 0, skipped: 0 });
    return {
      enabled: false,
      deliverNotifications: nothing,
      sendWeeklyDigest: nothing,
      stop: async () => undefined,
    };
  }
  const { settings } = setup;
  const now = deps.now ?? (() => new Date());
  const authConfig = teamsAuthConfig(settings);
  const adapter = createTeamsAdapter(settings, authConfig);
  const templates = new CardTemplates();
  const identities = new TeamsIdentities(store, loadRoles(config), log);
  const addresses = new TeamsAddresses(store);
  const renderer = new TeamsRenderer({
    store,
    config,
    log,
    templates,
    commands: withTeamsCommands(deps.commands ?? COMMANDS),
    identities,
    addresses,
    now,
  });
  // A click answers at once; a reclaim queued with --no-wait is carried out by the action job right away.
  const runAction = async (actionId: string) => {
    try {
      await jobs.enqueue(ACTION_RUN_JOB, { actionId });
    } catch (error) {
      // Not defined here (or not started): the actions tick carries queued actions out within a minute.
      log.debug({ err: error, actionId }, 'teams: action job not enqueued');
    }
  };
  const actions = new TeamsActions({ store, log, templates, renderer, now, runAction });
  const bot = new TeamsBot({ adapter, log, templates, renderer, actions, identities, addresses });
  const notifier = new TeamsNotifier({ store, log, adapter, settings, addresses, identities, renderer });

  adapter.onTurnError = async (ctx: TurnContext, error: Error) => {
    log.error(
      { err: error, activityType: ctx.activity.type, conversationId: ctx.activity.conversation?.id },
      'teams: turn failed',
    );
    const failure = {
      code: 'UNAVAILABLE' as const,
      message: 'Something went wrong on Seatkeeper’s side; it is logged.',
    };
    if (ctx.activity.type === ActivityTypes.Invoke) {
      const body = {
        statusCode: 500,
        type: 'application/vnd.microsoft.error',
        value: { code: 'InternalError', message: failure.message },
      };
      await ctx.sendActivity(
        Activity.fromObject({ type: ActivityTypes.InvokeResponse, value: { status: 500, body } }),
      );
    } else if (ctx.activity.type === ActivityTypes.Message) {
      await ctx.sendActivity(cardMessage(errorCard(templates, failure)));
    }
  };

  // A message is answered through the Bot Connector, not in the HTTP response: it is acknowledged (200, empty body)
  // as soon as the adapter has taken it as a valid activity, and its turn runs afterwards, a bounded number at once,
  // so a burst of messages neither holds Teams' connections for the length of each turn nor starves the next
  // acknowledgement. Invokes stay synchronous: their answer (a card) is the HTTP response's body. A turn that
  // fails after the acknowledgement still reaches onTurnError, which logs it and shows the person the error card.
  const turns = new DeferredWork(TURN_CONCURRENCY, TURNS_WAITING);
  const inflight = new Set<Promise<void>>();
  const acknowledgedEarly = (ctx: TurnContext) =>
    ctx.activity.type === ActivityTypes.Message && ctx.activity.deliveryMode !== 'expectReplies';

  // The token is checked before the body is parsed: an unauthenticated request costs no parsing and reaches no
  // handler. authorizeJWT is typed for the SDK's minimal request/response; Express's are supersets.
  const checkToken = authorizeJWT(authConfig) as unknown as express.RequestHandler;
  app.post(
    TEAMS_ENDPOINT,
    checkToken,
    express.json({ limit: '1mb' }),
    async (req: Request, res: Response) => {
      const early = !turns.full;
      const turn = adapter
        .process(req as never, res as never, async (ctx) => {
          if (!acknowledgedEarly(ctx)) return bot.handle(ctx);
          if (early) res.status(200).end();
          await turns.run(() => bot.handle(ctx));
        })
        .catch((error: unknown) => {
          log.error({ err: error }, 'teams: request failed');
          if (!res.headersSent) res.status(400).json({ error: 'The request is not a valid activity.' });
        });
      inflight.add(turn);
      await turn.finally(() => inflight.delete(turn));
    },
  );

  jobs.define({
    name: TEAMS_NOTIFICATIONS_JOB,
    every: deps.deliveryInterval ?? '1 minute',
    lockLifetimeMs: 10 * 60_000,
    run: async () => {
      const report = await notifier.deliverPending();
      if (report.sent > 0 || report.failed > 0) log.info({ ...report }, 'teams: notifications delivered');
    },
  });

  const digestChannels = digestChannelIds(settings);
  const timeZone = config.TZ ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
  const sendWeeklyDigest = async () => {
    await queueWeeklyDigest(
      store,
      config,
      digestChannels.map((channel) => ({ platform: 'teams' as const, channel })),
      now(),
      timeZone,
    );
    return notifier.deliverPending();
  };
  if (digestChannels.length > 0) {
    jobs.define({
      name: TEAMS_DIGEST_JOB,
      every: settings.digestCron,
      lockLifetimeMs: 10 * 60_000,
      run: async () => {
        const report = await sendWeeklyDigest();
        log.info({ ...report }, 'teams: weekly digest queued and delivered');
      },
    });
  }

  const digest =
    digestChannels.length > 0
      ? `digest at '${settings.digestCron}' (${timeZone})`
      : 'no digest (name a channel digest in TEAMS_CHANNELS)';
  const channels = `${[...settings.channels.keys()].join(', ') || 'none'}; ${digest}`;
  if (settings.auth === 'off') {
    log.warn(
      `teams: ${TEAMS_ENDPOINT} enabled WITHOUT authentication (no MICROSOFT_APP_ID; ${config.NODE_ENV} only); channels: ${channels}`,
    );
  } else {
    log.info(`teams: ${TEAMS_ENDPOINT} enabled (${settings.auth}); channels: ${channels}`);
  }
  return {
    enabled: true,
    deliverNotifications: () => notifier.deliverPending(),
    sendWeeklyDigest,
    async stop() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
  };
}
