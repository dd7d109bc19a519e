/**
 * The local console (`/console`): a chat-like page for a signed-in person. A typed command (`/license who-has figma`)
 * runs through the registry as the person, and the answer is the Teams card — the same templates, views and buttons,
 * rendered in the browser by the official Adaptive Cards renderer. A click is answered exactly like a Teams
 * `adaptiveCard/action` invoke in a personal chat: the same action router (forms, confirmations, idempotent runs,
 * queued vendor calls), the same handlers, role checks and audit, with the actor's surface `web`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Activity } from '@microsoft/agents-activity';
import type { TurnContext } from '@microsoft/agents-hosting';
import express, { type Express, type Request, type Response } from 'express';
import { z } from 'zod';
import { COMMANDS, type CommandSpec, executeCommand } from '../../handlers/registry.ts';
import type { Actor } from '../../handlers/types.ts';
import { ACTION_RUN_JOB } from '../actions/jobs.ts';
import { loadRoles } from '../auth/actors.ts';
import type { Config } from '../config/config.ts';
import { demoNoticeHtml } from '../demo/demo-mode.ts';
import type { JobRunner } from '../jobs/job-runner.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { type CardJson, CardTemplates } from '../surfaces/teams/card-templates.ts';
import { errorCard, helpCard } from '../surfaces/teams/card-views.ts';
import { TeamsActions } from '../surfaces/teams/teams-actions.ts';
import { TeamsAddresses } from '../surfaces/teams/teams-addresses.ts';
import { TeamsIdentities } from '../surfaces/teams/teams-identity.ts';
import { TeamsRenderer } from '../surfaces/teams/teams-render.ts';
import { parseCommand } from '../surfaces/teams/teams-text.ts';
import { requireWebActor } from './web-auth.ts';

export interface ConsoleDeps {
  app: Express;
  store: Store;
  config: Config;
  log: Logger;
  /** The service's job runner: a reclaim clicked here is carried out by its action job, as from Teams. */
  jobs: JobRunner;
  now?: () => Date;
}

const PUBLIC = new URL('./public/', import.meta.url);
const ADAPTIVE_CARDS_JS = new URL(
  '../../node_modules/adaptivecards/dist/adaptivecards.min.js',
  import.meta.url,
);

const commandBody = z.object({ text: z.string().max(2000) });
const actionBody = z.object({
  verb: z.string().min(1).max(64),
  data: z.record(z.string(), z.unknown()).optional(),
});

/**
 * The commands a typed line may run: those the registry offers on the web surface. Buttons on the cards are the
 * Teams cards' buttons and run through the Teams action router, which offers the commands of Teams.
 */
export function consoleCommands(commands: readonly CommandSpec[] = COMMANDS): CommandSpec[] {
  return commands.filter((c) => c.surfaces.includes('web'));
}

/** The command of a typed line: `/license who-has figma`, `license who-has figma` and `who-has figma` are alike. */
export function consoleText(line: string): string {
  return line
    .replace(/[\u00a0\s]+/g, ' ')
    .trim()
    .replace(/^\/?license(\s+|$)/i, '')
    .trim();
}

/**
 * Mounts `/console` (the page), `/console/api/command` (a typed line), `/console/api/action` (a card button) and
 * the page's static files. Page and API need a signed-in person (`web-auth.ts`).
 */
export function mountConsole(deps: ConsoleDeps): void {
  const { app, store, config, log, jobs } = deps;
  const now = deps.now ?? (() => new Date());
  const templates = new CardTemplates();
  const identities = new TeamsIdentities(store, loadRoles(config), log);
  const renderer = new TeamsRenderer({
    store,
    config,
    log,
    templates,
    commands: COMMANDS,
    identities,
    addresses: new TeamsAddresses(store),
    now,
  });
  const runAction = async (actionId: string) => {
    try {
      await jobs.enqueue(ACTION_RUN_JOB, { actionId });
    } catch (error) {
      // Not defined (or not started): the actions tick carries queued actions out within a minute.
      log.debug({ err: error, actionId }, 'console: action job not enqueued');
    }
  };
  const actions = new TeamsActions({ store, log, templates, renderer, now, runAction });
  const signedIn = requireWebActor({ store, config, log, now });
  const json = express.json({ limit: '64kb' });
  const typed = consoleCommands();

  app.get('/console', signedIn, (_req: Request, res: Response) => {
    const actor = res.locals.actor as Actor;
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(consolePage(actor, demoNoticeHtml(config)));
  });

  app.post('/console/api/command', signedIn, json, async (req: Request, res: Response, next) => {
    try {
      const body = commandBody.safeParse(req.body);
      if (!body.success) {
        res.status(400).json({ error: { code: 'INVALID_ARGUMENT', message: 'Send the command as text.' } });
        return;
      }
      const actor = res.locals.actor as Actor;
      const text = consoleText(body.data.text);
      const parsed = parseCommand(text, typed);
      let card: CardJson;
      if (parsed.kind === 'help') {
        card = helpCard(templates, typed);
      } else if (parsed.kind === 'unknown') {
        card = helpCard(templates, typed, `I don’t know “${parsed.word}”. Here is what I can do:`);
      } else if (parsed.kind === 'invalid') {
        card = errorCard(
          templates,
          { code: 'INVALID_ARGUMENT', message: parsed.message },
          `Example: ${parsed.spec.examples[0] ?? parsed.spec.name}. Type “help” for every command.`,
        );
      } else {
        const result = await executeCommand(renderer.handlerContext(actor), parsed.spec, parsed.args);
        card = result.ok
          ? renderer.listCard(parsed.spec, parsed.given, result.value, actor, {
              cardId: randomUUID(),
              interactive: true,
            }).card
          : errorCard(templates, result.error);
      }
      res.json({ card });
    } catch (error) {
      next(error);
    }
  });

  app.post('/console/api/action', signedIn, json, async (req: Request, res: Response, next) => {
    try {
      const body = actionBody.safeParse(req.body);
      if (!body.success) {
        res
          .status(400)
          .json({ error: { code: 'INVALID_ARGUMENT', message: 'Send the action’s verb and data.' } });
        return;
      }
      const actor = res.locals.actor as Actor;
      const answer = await actions.onExecute(invokeTurn(actor, body.data.verb, body.data.data ?? {}), actor);
      res.status(answer.statusCode === 200 ? 200 : answer.statusCode).json(answer);
    } catch (error) {
      next(error);
    }
  });

  app.get('/console/assets/adaptivecards.js', (_req, res) => {
    res.type('application/javascript').sendFile(ADAPTIVE_CARDS_JS.pathname, { maxAge: '1d' });
  });
  app.get('/console/assets/:file', (req, res) => {
    const file = req.params.file;
    if (file !== 'console.js' && file !== 'console.css') {
      res.status(404).send('Not found');
      return;
    }
    res.sendFile(new URL(file, PUBLIC).pathname, { maxAge: '1h' });
  });
}

/**
 * The click as the action router sees a Teams invoke from a personal chat: the card is the clicker's own, so the
 * answer is their card and there is no shared message to edit.
 */
function invokeTurn(actor: Actor, verb: string, data: Record<string, unknown>): TurnContext {
  const address = `console:${actor.id}`;
  const activity = {
    type: 'invoke',
    name: 'adaptiveCard/action',
    channelId: 'web',
    value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
    conversation: { id: address, conversationType: 'personal' },
    from: { id: address, name: actor.displayName },
  } as unknown as Activity;
  // No connector client: a queued action's outcome is fetched by the page asking again, not pushed.
  return {
    activity,
    turnState: new Map(),
    adapter: { ConnectorClientKey: Symbol('none') },
  } as unknown as TurnContext;
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

let template: string | undefined;

/** The console page for a signed-in person, with `notice` (the demo notice, or '') above it. */
export function consolePage(actor: Actor, notice: string): string {
  template ??= readFileSync(new URL('console.html', PUBLIC), 'utf8');
  const who = `${actor.displayName}${actor.roles.length > 0 ? ` · ${actor.roles.join(', ')}` : ''}`;
  return template.replace('{{demoNotice}}', () => notice).replace('{{actor}}', () => escapeHtml(who));
}
