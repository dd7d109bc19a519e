/** Findings: discrepancies between entitlements and use, with savings; exemptions, snoozes, overlaps, shadow IT. */
import { policyOf, recomputeFindings } from '../../src/findings/recompute.ts';
import { ALL_SURFACES, listing, PAGING, page } from '../command-kit.ts';
import {
  ACCOUNT_KINDS,
  endExemption,
  keep,
  listExemptions,
  setAccountKind,
  snoozeFinding,
  unsnoozeFinding,
} from '../exemptions.ts';
import { addOverlap, listOverlaps, removeOverlap } from '../findings-overlaps.ts';
import { dismissShadowApp, listShadowApps, restoreShadowApp, scanShadow } from '../findings-shadow.ts';
import { utilizationTrends } from '../findings-trends.ts';
import type { CommandOutput, CommandSpec } from '../registry.ts';
import { listFindings } from '../reports.ts';
import { savingsReport } from '../savings.ts';
import { fail, ok, type Result } from '../types.ts';

/** A handler's rows as one command output. */
function rows<T>(view: string, empty: string, result: Result<T[]>): Result<CommandOutput> {
  if (!result.ok) return result;
  return ok({ view, rows: result.value, total: result.value.length, empty });
}

const str = (value: unknown) => (typeof value === 'string' ? value : undefined);

export const FINDINGS_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'findings',
    aliases: ['finding'],
    summary:
      'Idle, unassigned, departed, duplicate and unmatched seats, overages, lapsing subscriptions and shadow IT, with savings',
    args: [
      {
        name: 'kind',
        kind: 'option',
        description:
          'only this kind (idle, unassigned, overage, grace, departed, duplicate, shadow, unmatched)',
      },
      { name: 'app', kind: 'option', description: 'only this app (name or SKU)' },
      {
        name: 'status',
        kind: 'option',
        default: 'open',
        description: 'open (default), snoozed, exempted, resolved or all',
      },
      { name: 'recompute', kind: 'flag', description: 'recompute the findings from the inventory first' },
      ...PAGING,
    ],
    examples: ['findings', 'findings --kind idle --app figma', 'findings --status exempted'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) => {
      if (args.recompute) {
        const client = await ctx.store.pool.connect();
        try {
          await recomputeFindings(client, policyOf(ctx.config), ctx.now());
        } finally {
          client.release();
        }
      }
      return listing(
        'findings',
        'No findings: every seat is assigned, used and accounted for.',
        await listFindings(ctx, {
          kind: args.kind as string | undefined,
          app: args.app as string | undefined,
          status: args.status as string,
          ...page(args),
        }),
      );
    },
  },
  {
    name: 'keep',
    aliases: [],
    summary:
      'Keep a seat, a person\u2019s seats (on leave) or a product\u2019s seats (birthright): no idle finding for them until the end date',
    args: [
      { name: 'email', kind: 'option', description: 'the seat\u2019s account (with --sku)' },
      { name: 'sku', kind: 'option', description: 'the seat\u2019s SKU' },
      { name: 'person', kind: 'option', description: 'a person (any of their addresses): all their seats' },
      { name: 'product', kind: 'option', description: 'a product (name or SKU): every seat of it' },
      { name: 'reason', kind: 'option', required: true, description: 'why (shown with the finding)' },
      {
        name: 'until',
        kind: 'option',
        description: 'end date, YYYY-MM-DD (ends that day at 00:00 UTC); none = until ended',
      },
    ],
    examples: [
      'keep --email ana@example.com --sku SPE_E5 --reason "on parental leave" --until 2027-03-01',
      'keep --person bo@example.com --reason "sabbatical" --until 2027-01-15',
      'keep --product "Microsoft 365 E3" --reason "birthright"',
    ],
    role: 'it-manager',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      rows(
        'exemptions',
        'Nothing kept.',
        await keep(ctx, {
          email: str(args.email),
          sku: str(args.sku),
          person: str(args.person),
          product: str(args.product),
          reason: str(args.reason),
          until: str(args.until),
        }),
      ),
  },
  {
    name: 'exemptions',
    aliases: ['exemption list'],
    summary: 'Seats, persons and products kept out of findings, with reason, end date and who decided',
    args: [{ name: 'all', kind: 'flag', description: 'also the ended ones' }, ...PAGING],
    examples: ['exemptions', 'exemptions --all'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      listing(
        'exemptions',
        args.all ? 'No exemption was ever made.' : 'No exemption is active.',
        await listExemptions(ctx, { all: args.all === true, ...page(args) }),
      ),
  },
  {
    name: 'exemption end',
    aliases: [],
    summary: 'End an exemption now: its findings reopen',
    args: [
      {
        name: 'id',
        kind: 'positional',
        type: 'int',
        min: 1,
        required: true,
        description: 'the exemption id',
      },
      { name: 'reason', kind: 'option', description: 'why (kept in the audit log)' },
    ],
    examples: ['exemption end 12 --reason "back from leave"'],
    role: 'it-manager',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      rows(
        'exemptions',
        'No exemption ended.',
        await endExemption(ctx, { id: args.id as number, reason: str(args.reason) }),
      ),
  },
  {
    name: 'findings snooze',
    aliases: ['finding snooze'],
    summary: 'Hide one finding until a date; it reopens by itself then',
    args: [
      { name: 'id', kind: 'positional', type: 'int', min: 1, required: true, description: 'the finding id' },
      {
        name: 'until',
        kind: 'option',
        required: true,
        description: 'date, YYYY-MM-DD (reopens that day at 00:00 UTC)',
      },
      { name: 'reason', kind: 'option', description: 'why (shown with the finding)' },
    ],
    examples: ['findings snooze 42 --until 2027-01-31 --reason "waiting for the project to end"'],
    role: 'it-manager',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      rows(
        'finding-status',
        'Nothing snoozed.',
        await snoozeFinding(ctx, { id: args.id as number, until: str(args.until), reason: str(args.reason) }),
      ),
  },
  {
    name: 'findings unsnooze',
    aliases: ['finding unsnooze'],
    summary: 'Reopen a snoozed finding now',
    args: [
      { name: 'id', kind: 'positional', type: 'int', min: 1, required: true, description: 'the finding id' },
    ],
    examples: ['findings unsnooze 42'],
    role: 'it-manager',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      rows('finding-status', 'Nothing reopened.', await unsnoozeFinding(ctx, { id: args.id as number })),
  },
  {
    name: 'account kind',
    aliases: [],
    summary:
      'Mark an account as a service account, a shared mailbox or an external\u2019s (never idle, never in clearing), or as a person\u2019s again',
    args: [
      { name: 'email', kind: 'option', required: true, description: 'the account (e-mail or login)' },
      { name: 'kind', kind: 'option', required: true, description: ACCOUNT_KINDS.join(', ') },
      { name: 'sku', kind: 'option', description: 'only its seat on this SKU (default: all its seats)' },
      { name: 'note', kind: 'option', description: 'a note kept with the account' },
    ],
    examples: ['account kind --email scanner@example.com --kind service --note "copier scan-to-mail"'],
    role: 'it-manager',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      rows(
        'account-kinds',
        'No account changed.',
        await setAccountKind(ctx, {
          email: str(args.email),
          kind: str(args.kind),
          sku: str(args.sku),
          note: str(args.note),
        }),
      ),
  },
  {
    name: 'findings overlap',
    aliases: ['finding overlap'],
    summary: 'List plan overlaps (a plan that includes another), or add or remove one',
    args: [
      {
        name: 'action',
        kind: 'positional',
        default: 'list',
        description: 'list (default), add or remove',
      },
      { name: 'covering', kind: 'option', description: 'SKU of the larger plan (add, remove)' },
      { name: 'covered', kind: 'option', description: 'SKU of the plan it includes (add, remove)' },
    ],
    examples: [
      'findings overlap list',
      'findings overlap add --covering FIGMA_ORG --covered FIGJAM_PRO',
      'findings overlap remove --covering SPE_E5 --covered EMS',
    ],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) => {
      const pair = { covering: str(args.covering), covered: str(args.covered) };
      switch (args.action) {
        case 'list':
          return rows('overlaps', 'No plan overlaps.', await listOverlaps(ctx));
        case 'add':
          return rows('overlaps', 'No overlap added.', await addOverlap(ctx, pair));
        case 'remove':
          return rows('overlaps', 'No overlap removed.', await removeOverlap(ctx, pair));
        default:
          return fail(
            'INVALID_ARGUMENT',
            `Unknown action '${String(args.action)}'; use list, add or remove.`,
          );
      }
    },
  },
  {
    name: 'shadow',
    aliases: ['shadow list'],
    summary: 'Apps seen in use (OAuth grants, SSO and expense exports), with users, sources and first seen',
    args: [...PAGING],
    examples: ['shadow'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      listing(
        'shadow-apps',
        'No app seen yet: run \u2018shadow scan\u2019 (Microsoft 365 grants, or shadow.csv in CSV_DIR).',
        await listShadowApps(ctx, page(args)),
      ),
  },
  {
    name: 'shadow scan',
    aliases: [],
    summary:
      'Read shadow-IT sources now (Microsoft 365 OAuth grants; shadow.csv in CSV_DIR) and recompute findings',
    args: [{ name: 'source', kind: 'option', description: 'only m365 or csv' }],
    examples: ['shadow scan', 'shadow scan --source csv'],
    role: 'it-manager',
    surfaces: ['cli'],
    run: async (ctx, args) =>
      rows('shadow-scan', 'No source scanned.', await scanShadow(ctx, { source: str(args.source) })),
  },
  {
    name: 'shadow dismiss',
    aliases: [],
    summary: 'Mark an app as known and fine: no shadow finding for it',
    args: [
      { name: 'app', kind: 'positional', required: true, description: 'the app\u2019s name' },
      {
        name: 'reason',
        kind: 'option',
        required: true,
        description: 'why (shown with the resolved finding)',
      },
    ],
    examples: ['shadow dismiss miro --reason "approved by security, paid by marketing"'],
    role: 'it-manager',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      rows(
        'shadow-apps',
        'Nothing dismissed.',
        await dismissShadowApp(ctx, { app: str(args.app), reason: str(args.reason) }),
      ),
  },
  {
    name: 'shadow restore',
    aliases: [],
    summary: 'Undo a dismissal: the app counts as shadow IT again',
    args: [{ name: 'app', kind: 'positional', required: true, description: 'the app\u2019s name' }],
    examples: ['shadow restore miro'],
    role: 'it-manager',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      rows('shadow-apps', 'Nothing restored.', await restoreShadowApp(ctx, { app: str(args.app) })),
  },
  {
    name: 'trends',
    aliases: ['trend'],
    summary: 'Utilization per license over time (purchased, consumed, active per day), from the imports',
    args: [
      {
        name: 'app',
        kind: 'positional',
        alsoOption: true,
        description: 'only this app (name, SKU or vendor)',
      },
      {
        name: 'days',
        kind: 'option',
        type: 'int',
        default: 90,
        min: 1,
        max: 3650,
        description: 'how many days back (default 90)',
      },
      ...PAGING,
    ],
    examples: ['trends', 'trends figma --days 30'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      listing(
        'trends',
        args.app
          ? `No license matches '${String(args.app)}', or it was not imported in the last ${String(args.days)} days.`
          : `No import in the last ${String(args.days)} days.`,
        await utilizationTrends(ctx, { app: str(args.app), days: args.days as number, ...page(args) }),
      ),
  },
  {
    name: 'savings',
    aliases: ['saving'],
    summary: 'Potential savings (open findings) and realized savings (reclaimed seats), by app and by kind',
    args: [
      { name: 'app', kind: 'option', description: 'only this app (name or SKU)' },
      { name: 'since', kind: 'option', description: 'realized savings since this date, YYYY-MM-DD' },
    ],
    examples: ['savings', 'savings --app figma --since 2026-01-01'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      rows(
        'savings',
        'No savings: no open finding frees a paid seat, and none was reclaimed.',
        await savingsReport(ctx, { app: str(args.app), since: str(args.since) }),
      ),
  },
];
