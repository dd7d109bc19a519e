/**
 * Turns what a card shows (its origin: a command and arguments, or a stored notification) into the card a given
 * viewer sees: with the buttons their roles allow, or read-only with a `refresh` that shows the buttons to the
 * people allowed to act (Universal Actions' user-specific views).
 */
import { type CommandOutput, type CommandSpec, executeCommand } from '../../../handlers/registry.ts';
import type { FindingRow } from '../../../handlers/reports.ts';
import {
  type Actor,
  fail,
  type HandlerContext,
  hasRole,
  ok,
  type Result,
  type Role,
} from '../../../handlers/types.ts';
import type { Config } from '../../config/config.ts';
import type { Logger } from '../../log.ts';
import type { Store } from '../../store/store.ts';
import {
  type ActionData,
  type ArgMap,
  actionIdFor,
  executeAction,
  fitArgs,
  type Origin,
  ROW_ACTIONS,
  type RowAction,
} from './card-actions.ts';
import type { CardJson, CardTemplates } from './card-templates.ts';
import { type Banner, bannerData, noticeCard, titleFor, viewCard } from './card-views.ts';
import type { TeamsAddresses } from './teams-addresses.ts';
import type { TeamsIdentities } from './teams-identity.ts';
import { type NoticeButton, type NotificationModel, notificationModel } from './teams-notices.ts';
import { bindArgMap, onTeams, PAGE_SIZE, tokenArgs } from './teams-text.ts';

/** Teams shows a user-specific refresh to at most 60 users. */
export const MAX_REFRESH_USERS = 60;
/** How many known Teams users are checked for roles when addressing a refresh. */
const REFRESH_CANDIDATES = 200;
const ROLE_CACHE_MS = 60_000;

/** A rendered card and the roles that could act on it (empty: it is read-only for everyone). */
export interface RenderedCard {
  card: CardJson;
  actionRoles: readonly Role[];
}

export interface RenderOptions {
  /** Keeps action ids stable across re-renders of the same message. */
  cardId: string;
  /** Include the buttons the viewer's roles allow. */
  interactive: boolean;
  banner?: Banner;
}

export interface RendererDeps {
  store: Store;
  config: Config;
  log: Logger;
  templates: CardTemplates;
  commands: readonly CommandSpec[];
  identities: TeamsIdentities;
  addresses: TeamsAddresses;
  now: () => Date;
}

export class TeamsRenderer {
  private refreshCache?: { at: number; users: { mri: string; actor: Actor }[] };

  constructor(private readonly deps: RendererDeps) {}

  /** The context a handler runs in for this actor. */
  handlerContext(actor: Actor): HandlerContext {
    return { store: this.deps.store, config: this.deps.config, actor, now: this.deps.now };
  }

  /** A registry command offered in Teams, by exact name. */
  command(name: string): CommandSpec | undefined {
    const spec = this.deps.commands.find((c) => c.name === name);
    return onTeams(spec) ? spec : undefined;
  }

  /** Commands offered in Teams (for help). */
  teamsCommands(): CommandSpec[] {
    return this.deps.commands.filter((c) => onTeams(c));
  }

  /** Runs a read command as the viewer and renders its card. */
  async renderOrigin(origin: Origin, viewer: Actor, options: RenderOptions): Promise<Result<RenderedCard>> {
    if ('notification' in origin) return this.renderNotification(origin.notification, viewer, options);
    const spec = this.command(origin.command);
    if (!spec) return fail('NOT_FOUND', `There is no command '${origin.command}' in Teams.`);
    const given = { ...origin.args };
    // Lists on cards are pages; a button that names no page size gets the card's.
    if (given.limit === undefined && spec.args.some((a) => a.name === 'limit')) given.limit = PAGE_SIZE;
    const args = bindArgMap(spec, given);
    if (!args.ok) return args;
    const output = await executeCommand(this.handlerContext(viewer), spec, args.value);
    if (!output.ok) return output;
    return ok(this.listCard(spec, args.value, output.value, viewer, options));
  }

  /** The card of a command's output, with "More" when there are more rows. */
  listCard(
    spec: CommandSpec,
    args: ArgMap,
    output: CommandOutput,
    viewer: Actor,
    options: RenderOptions,
  ): RenderedCard {
    const offset = typeof args.offset === 'number' ? args.offset : 0;
    // Every button carries the origin: only what differs from the defaults, to keep cards well under Teams' size limit.
    const origin: Origin = { command: spec.name, args: compactArgs(spec, args) };
    const next = offset + output.rows.length;
    const more =
      next < output.total && spec.args.some((a) => a.name === 'offset')
        ? [
            executeAction('More', 'view', {
              origin: { command: spec.name, args: { ...compactArgs(spec, args), offset: next } },
              cardId: options.cardId,
            }),
          ]
        : [];
    const listButtons = options.interactive
      ? this.listButtons(spec, args, output, viewer, options, origin)
      : [];
    const card = viewCard(this.deps.templates, output, {
      now: this.deps.now(),
      title: titleFor(spec, args),
      offset,
      banner: options.banner,
      more: [...listButtons, ...more],
      rowActions: (view, row) =>
        options.interactive ? this.rowButtons(view, row, viewer, options.cardId, origin) : [],
    });
    const views = output.view === 'persons' ? ['subscribers'] : [output.view];
    return { card, actionRoles: this.actionRoles(views) };
  }

  /**
   * Buttons about the whole list: "Reclaim all N idle" when the list is exactly the open idle findings of one SKU
   * (asked for with `--kind idle --app`), so that N is the real number; its confirmation step previews every seat.
   */
  private listButtons(
    spec: CommandSpec,
    args: ArgMap,
    output: CommandOutput,
    viewer: Actor,
    options: RenderOptions,
    origin: Origin,
  ): CardJson[] {
    let sku: string | undefined;
    let count = output.total;
    if (spec.name === 'findings' && args.kind === 'idle' && typeof args.app === 'string') {
      const rows = output.rows as FindingRow[];
      sku = rows[0]?.sku ?? undefined;
      if (!sku || !rows.every((r) => r.sku === sku && r.status === 'open')) return [];
    } else if (spec.name === 'reclaim' && args['all-idle'] === true && typeof args.sku === 'string') {
      // The preview of a whole SKU: N is the seats nothing blocks.
      sku = args.sku;
      count = (output.rows as { state?: unknown }[]).filter((r) => r.state === 'preview').length;
      if (count < 2) return [];
    } else {
      return [];
    }
    const reclaim = this.command('reclaim');
    if (!reclaim || !hasRole(viewer, reclaim.role)) return [];
    const batch = fitArgs(reclaim, { sku, 'all-idle': true });
    if (!batch) return [];
    return [
      executeAction(
        `Reclaim all ${count} idle`,
        'run',
        { command: reclaim.name, args: batch, origin, cardId: options.cardId },
        { style: 'destructive' },
      ),
    ];
  }

  /** The buttons of one row that this viewer may use. */
  rowButtons(view: string, row: unknown, viewer: Actor, cardId: string, origin: Origin): CardJson[] {
    const buttons: CardJson[] = [];
    for (const action of (ROW_ACTIONS[view] ?? []) as readonly RowAction<unknown>[]) {
      const spec = this.command(action.command);
      if (!spec || !hasRole(viewer, spec.role)) continue;
      const wanted = action.args(row);
      const args = wanted && fitArgs(spec, wanted, action.optionalArgs);
      if (!args) continue;
      const quantity = action.quantity?.(row);
      buttons.push(
        executeAction(
          action.label,
          'run',
          {
            command: spec.name,
            args,
            ...(action.inputs ? { inputs: [...action.inputs] } : {}),
            ...(quantity !== undefined ? { defaults: { quantity } } : {}),
            origin,
            cardId,
          },
          { style: action.style },
        ),
      );
    }
    return buttons;
  }

  /** Roles that could use a button of these views (only for commands that are registered). */
  private actionRoles(views: readonly string[]): Role[] {
    const roles = new Set<Role>();
    for (const view of views) {
      for (const action of ROW_ACTIONS[view] ?? []) {
        const spec = this.command(action.command);
        if (spec) roles.add(spec.role);
      }
    }
    return [...roles];
  }

  /** A stored notification's card: its list or notice, with buttons for the viewer when interactive. */
  async renderNotification(id: number, viewer: Actor, options: RenderOptions): Promise<Result<RenderedCard>> {
    const found = await this.deps.store.pool.query<{
      kind: string;
      payload: Record<string, unknown>;
      target: Record<string, unknown> | null;
    }>('SELECT kind, payload, target FROM notifications WHERE id = $1', [id]);
    const row = found.rows[0];
    if (!row) return fail('NOT_FOUND', 'This notification no longer exists.');
    // The id comes from the card's action data, which the client may alter: alerts and digests are for those who
    // read the inventory; a question put to one person is for that person.
    const addressee = typeof row.target?.personId === 'number' && row.target.personId === viewer.personId;
    if (!addressee && !hasRole(viewer, 'helpdesk')) {
      return fail('NOT_AUTHORIZED', 'This card is for someone else.');
    }
    return ok(this.notificationCard(id, notificationModel(row.kind, row.payload ?? {}), viewer, options));
  }

  /** Renders a notification's model (see `teams-notices.ts`). */
  notificationCard(
    id: number,
    model: NotificationModel,
    viewer: Actor | undefined,
    options: RenderOptions,
  ): RenderedCard {
    const origin: Origin = { notification: id };
    const roles = new Set<Role>();
    const buttons = (list: readonly NoticeButton[]) =>
      this.noticeButtons(list, viewer, options, origin, roles);
    if (model.type === 'digest') {
      const d = model.digest;
      const card = this.deps.templates.expand('digest', {
        title: d.title,
        ...bannerData(options.banner),
        summary: d.summary,
        idleHeading: d.idleHeading,
        idle: d.idle.map((a) => ({ ...a, actions: buttons(a.buttons) })),
        renewalsHeading: d.renewalsHeading,
        renewals: d.renewals,
        unmatchedHeading: d.unmatchedHeading,
        unmatched: d.unmatched,
        actions: buttons(d.buttons),
      });
      return { card, actionRoles: [...roles] };
    }
    const notice = model.notice;
    const actions = buttons(notice.buttons);
    const extra = notice.rowButtons;
    if (extra) {
      if (options.interactive && viewer) {
        actions.unshift(...this.rowButtons(extra.view, extra.row, viewer, options.cardId, origin));
      }
      for (const role of this.actionRoles([extra.view])) roles.add(role);
    }
    if (notice.output) {
      const output = notice.output;
      const card = viewCard(this.deps.templates, output, {
        now: this.deps.now(),
        title: notice.title,
        offset: 0,
        banner: options.banner,
        more: actions,
        rowActions: (view, row) =>
          options.interactive && viewer ? this.rowButtons(view, row, viewer, options.cardId, origin) : [],
      });
      for (const role of this.actionRoles([output.view])) roles.add(role);
      return { card, actionRoles: [...roles] };
    }
    const card = noticeCard(this.deps.templates, {
      title: notice.title,
      text: notice.text,
      facts: notice.facts,
      actions,
      banner: options.banner,
    });
    return { card, actionRoles: [...roles] };
  }

  /** A notification's buttons: read commands for everyone; commands that act for viewers whose roles allow. */
  private noticeButtons(
    list: readonly NoticeButton[],
    viewer: Actor | undefined,
    options: RenderOptions,
    origin: Origin,
    roles: Set<Role>,
  ): CardJson[] {
    const cards: CardJson[] = [];
    for (const button of list) {
      const spec = this.command(button.command);
      if (!spec) continue;
      const args = button.args
        ? fitArgs(spec, button.args)
        : button.tokens
          ? tokenArgs(spec, button.tokens)
          : {};
      if (!args) continue;
      if (button.view) {
        cards.push(
          executeAction(button.label, 'view', {
            origin: { command: spec.name, args },
            cardId: options.cardId,
          }),
        );
        continue;
      }
      roles.add(spec.role);
      if (!options.interactive || !viewer || !hasRole(viewer, spec.role)) continue;
      const data: ActionData = {
        command: spec.name,
        args,
        // The answers to one question are one action: after Keep, a Release click answers with Keep's card.
        ...(spec.name === 'answer' && typeof args.action === 'string'
          ? { actionId: actionIdFor(args.action, spec.name, {}) }
          : {}),
        origin,
        cardId: options.cardId,
      };
      cards.push(executeAction(button.label, 'run', data, { style: button.style }));
    }
    return cards;
  }

  /**
   * The version of a card everyone in a group conversation sees: read-only, plus a `refresh` that makes Teams ask
   * for each allowed user's own version (with buttons). `requester` is included when their roles allow.
   */
  async sharedCard(
    origin: Origin,
    base: RenderedCard,
    options: { cardId: string; banner?: string; requester?: { mri: string; actor: Actor } },
  ): Promise<CardJson> {
    if (base.actionRoles.length === 0) return base.card;
    const userIds = await this.refreshUserIds(base.actionRoles, options.requester);
    if (userIds.length === 0) return base.card;
    const data: ActionData = {
      origin,
      cardId: options.cardId,
      ...(options.banner ? { banner: options.banner } : {}),
    };
    return { ...base.card, refresh: { action: { type: 'Action.Execute', verb: 'refresh', data }, userIds } };
  }

  /** MRIs of Teams users whose roles allow one of `roles`: the requester first, at most 60. */
  async refreshUserIds(roles: readonly Role[], requester?: { mri: string; actor: Actor }): Promise<string[]> {
    const allowed = (actor: Actor) => roles.some((role) => hasRole(actor, role));
    const ids: string[] = [];
    if (requester && allowed(requester.actor)) ids.push(requester.mri);
    for (const user of await this.knownUsers()) {
      if (ids.length >= MAX_REFRESH_USERS) break;
      if (!ids.includes(user.mri) && allowed(user.actor)) ids.push(user.mri);
    }
    return ids;
  }

  /** Known Teams users with their roles, cached for a minute (roles change rarely; a refresh costs no lookups). */
  private async knownUsers(): Promise<{ mri: string; actor: Actor }[]> {
    if (this.refreshCache && Date.now() - this.refreshCache.at < ROLE_CACHE_MS)
      return this.refreshCache.users;
    const users = [];
    for (const user of await this.deps.addresses.knownUsers(REFRESH_CANDIDATES)) {
      users.push({
        mri: user.mri,
        actor: await this.deps.identities.actorForAad(user.aadObjectId, user.name),
      });
    }
    this.refreshCache = { at: Date.now(), users };
    return users;
  }
}

/** Arguments without the ones at their default (and the card page size), which re-rendering restores. */
export function compactArgs(spec: CommandSpec, args: ArgMap): ArgMap {
  const compact: ArgMap = {};
  for (const [name, value] of Object.entries(args)) {
    const arg = spec.args.find((a) => a.name === name);
    if (arg?.default !== undefined && arg.default === value) continue;
    if (name === 'limit' && value === PAGE_SIZE) continue;
    compact[name] = value;
  }
  return compact;
}
