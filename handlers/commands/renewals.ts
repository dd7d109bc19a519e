/** Renewals, contract terms, budgets and renewal decisions. */
import { scanRenewals } from '../../src/renewals/scan.ts';
import { renewalSettings } from '../../src/renewals/settings.ts';
import { listBudgets, setBudget } from '../budgets.ts';
import { ALL_SURFACES, listing, PAGING, page } from '../command-kit.ts';
import { setContract } from '../contracts.ts';
import type { ArgValues, CommandOutput, CommandSpec } from '../registry.ts';
import {
  answerPendingDecision,
  DECISIONS,
  type DecisionResult,
  decideRenewal,
  listRenewals,
} from '../renewals.ts';
import { ok, type Result } from '../types.ts';

const str = (args: ArgValues, name: string) => args[name] as string | undefined;

function decisionOutput(result: Result<DecisionResult>): Result<CommandOutput> {
  if (!result.ok) return result;
  return ok({ view: 'renewal-decision', rows: [result.value], total: 1, empty: '' });
}

export const RENEWAL_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'renewals',
    aliases: ['renewal'],
    summary: 'Licenses renewing soon, with cancel-by dates and right-sized quantities',
    args: [
      {
        name: 'days',
        kind: 'positional',
        alsoOption: true,
        type: 'int',
        default: 90,
        min: 1,
        max: 3650,
        description: 'how many days ahead (default 90)',
      },
      ...PAGING,
    ],
    examples: ['renewals', 'renewals 30'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      listing(
        'renewals',
        `No license renews in the next ${String(args.days)} days (or none has a renewal date yet).`,
        await listRenewals(ctx, { days: args.days as number, ...page(args) }),
      ),
  },
  {
    name: 'contract set',
    aliases: [],
    summary: 'Set contract terms and purchase information of a license',
    args: [
      { name: 'sku', kind: 'option', description: 'the license\u2019s SKU' },
      {
        name: 'license',
        kind: 'option',
        type: 'int',
        min: 0,
        description: 'the license id, when several licenses share the SKU',
      },
      { name: 'renewal-date', kind: 'option', description: 'renewal date, YYYY-MM-DD' },
      { name: 'term-start', kind: 'option', description: 'term start, YYYY-MM-DD' },
      { name: 'term-end', kind: 'option', description: 'term end, YYYY-MM-DD' },
      {
        name: 'notice-days',
        kind: 'option',
        type: 'int',
        min: 0,
        description: 'notice period in days (cancel-by = renewal date \u2212 notice)',
      },
      { name: 'unit-price', kind: 'option', description: 'price per seat and billing period, e.g. 12.50' },
      { name: 'currency', kind: 'option', description: 'ISO 4217 code, e.g. EUR' },
      { name: 'billing', kind: 'option', description: 'annual or monthly' },
      { name: 'auto-renew', kind: 'flag', description: 'the contract renews by itself' },
      { name: 'no-auto-renew', kind: 'flag', description: 'the contract does not renew by itself' },
      {
        name: 'commit-floor',
        kind: 'option',
        type: 'int',
        min: 0,
        description: 'minimum quantity for the term',
      },
      { name: 'cost-center', kind: 'option', description: 'cost center (its license pool)' },
      { name: 'owner', kind: 'option', description: 'e-mail of the license owner' },
      {
        name: 'product',
        kind: 'option',
        description: 'software product name (for SKUs the catalog does not know)',
      },
      { name: 'publisher', kind: 'option', description: 'publisher of --product (default: the vendor)' },
      {
        name: 'min-entitlement-days',
        kind: 'option',
        type: 'int',
        min: 0,
        description: 'minimum entitlement period of this license\u2019s requirements',
      },
      {
        name: 'idle-days',
        kind: 'option',
        type: 'int',
        min: 0,
        description: 'days without activity after which a seat of this license is idle',
      },
      {
        name: 'price-uplift-cap',
        kind: 'option',
        description: 'largest price increase accepted at renewal, in percent (e.g. 5)',
      },
      {
        name: 'vendor-contact',
        kind: 'option',
        description: 'who to tell at the vendor (name, e-mail, phone)',
      },
    ],
    examples: [
      'contract set --sku SPE_E5 --unit-price 57 --currency EUR --cost-center IT --renewal-date 2027-06-30 --notice-days 30',
      'contract set --sku FIGMA_ORG --price-uplift-cap 5 --vendor-contact renewals@figma.example',
    ],
    role: 'it-manager',
    surfaces: ['cli'],
    run: async (ctx, args) => {
      const result = await setContract(ctx, {
        sku: args.sku as string | undefined,
        license: args.license as number | undefined,
        renewalDate: args['renewal-date'] as string | undefined,
        termStart: args['term-start'] as string | undefined,
        termEnd: args['term-end'] as string | undefined,
        noticeDays: args['notice-days'] as number | undefined,
        unitPrice: args['unit-price'] as string | undefined,
        currency: args.currency as string | undefined,
        billing: args.billing as string | undefined,
        autoRenew: args['auto-renew'] === true,
        noAutoRenew: args['no-auto-renew'] === true,
        commitFloor: args['commit-floor'] as number | undefined,
        costCenter: args['cost-center'] as string | undefined,
        owner: args.owner as string | undefined,
        product: args.product as string | undefined,
        publisher: args.publisher as string | undefined,
        minEntitlementDays: args['min-entitlement-days'] as number | undefined,
        idleDays: args['idle-days'] as number | undefined,
        priceUpliftCap: str(args, 'price-uplift-cap'),
        vendorContact: str(args, 'vendor-contact'),
      });
      if (!result.ok) return result;
      return ok({ view: 'contract', rows: [result.value], total: 1, empty: '' });
    },
  },
  {
    name: 'budget set',
    aliases: [],
    summary: 'Set the annual budget of a cost center (or of one product in it)',
    args: [
      { name: 'cost-center', kind: 'option', required: true, description: 'the cost center' },
      { name: 'amount', kind: 'option', required: true, description: 'the annual amount, e.g. 120000' },
      { name: 'currency', kind: 'option', required: true, description: 'ISO 4217 code, e.g. EUR' },
      { name: 'product', kind: 'option', description: 'only this product (catalog name) in the cost center' },
      {
        name: 'year',
        kind: 'option',
        type: 'int',
        min: 2000,
        max: 2100,
        description: 'the fiscal (calendar) year (default: this year)',
      },
    ],
    examples: ['budget set --cost-center Design --amount 25000 --currency USD'],
    // Read rights suffice to reach the handler; it needs it-manager or finance (two roles, one entry).
    role: 'helpdesk',
    surfaces: ['cli'],
    run: async (ctx, args) => {
      const result = await setBudget(ctx, {
        costCenter: args['cost-center'] as string,
        amount: args.amount as string,
        currency: args.currency as string,
        product: str(args, 'product'),
        year: args.year as number | undefined,
      });
      if (!result.ok) return result;
      return ok({ view: 'budgets', rows: [result.value], total: 1, empty: '' });
    },
  },
  {
    name: 'budgets',
    aliases: ['budget'],
    summary: 'Budgets with committed spend and what remains (other currencies listed, never converted)',
    args: [
      { name: 'year', kind: 'option', type: 'int', min: 2000, max: 2100, description: 'only this year' },
      { name: 'cost-center', kind: 'option', description: 'only this cost center' },
      ...PAGING,
    ],
    examples: ['budgets', 'budgets --year 2027'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      listing(
        'budgets',
        'No budgets yet (budget set --cost-center X --amount N --currency C).',
        await listBudgets(ctx, {
          year: args.year as number | undefined,
          costCenter: str(args, 'cost-center'),
          ...page(args),
        }),
      ),
  },
  {
    name: 'renewal decide',
    aliases: [],
    summary: 'Decide a renewal: approve (as recommended), approve-as-is, resize, decline, snooze or escalate',
    args: [
      { name: 'sku', kind: 'option', description: 'the license\u2019s SKU' },
      {
        name: 'license',
        kind: 'option',
        type: 'int',
        min: 0,
        description: 'the license id, when several licenses share the SKU',
      },
      { name: 'decision', kind: 'option', required: true, description: DECISIONS.join(', ') },
      { name: 'quantity', kind: 'option', type: 'int', min: 1, description: 'seats, for resize' },
      { name: 'until', kind: 'option', description: 'YYYY-MM-DD, for snooze' },
      {
        name: 'unit-price',
        kind: 'option',
        description:
          'the new term\u2019s price per seat and billing period (approvals; within the uplift cap)',
      },
      {
        name: 'renewal-date',
        kind: 'option',
        description: 'the renewal decided about (refused if it moved on)',
      },
      { name: 'id', kind: 'option', description: 'decision id (UUID): repeating it does not act twice' },
      { name: 'note', kind: 'option', description: 'why (shown to finance, kept in the audit log)' },
    ],
    examples: [
      'renewal decide --sku FIGMA_ORG --decision approve',
      'renewal decide --sku FIGMA_ORG --decision resize --quantity 12',
      'renewal decide --sku ZOOM_PRO --decision snooze --until 2027-05-01',
    ],
    role: 'it-manager',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      decisionOutput(
        await decideRenewal(ctx, {
          sku: str(args, 'sku'),
          license: args.license as number | undefined,
          decision: args.decision as string,
          quantity: args.quantity as number | undefined,
          until: str(args, 'until'),
          unitPrice: str(args, 'unit-price'),
          renewalDate: str(args, 'renewal-date'),
          decisionId: str(args, 'id'),
          note: str(args, 'note'),
        }),
      ),
  },
  {
    name: 'renewal confirm',
    aliases: [],
    summary: 'Finance: approve a renewal decision that waits for finance (it then takes effect)',
    args: [
      { name: 'id', kind: 'option', required: true, description: 'the decision id' },
      { name: 'note', kind: 'option', description: 'why (kept in the audit log)' },
    ],
    examples: ['renewal confirm --id 1b4e28ba-2fa1-11d2-883f-0016d3cca427'],
    role: 'finance',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      decisionOutput(
        await answerPendingDecision(ctx, {
          decisionId: args.id as string,
          answer: 'confirm',
          note: str(args, 'note'),
        }),
      ),
  },
  {
    name: 'renewal reject',
    aliases: [],
    summary: 'Finance: reject a renewal decision that waits for finance',
    args: [
      { name: 'id', kind: 'option', required: true, description: 'the decision id' },
      { name: 'note', kind: 'option', description: 'why (sent to the proposer, kept in the audit log)' },
    ],
    examples: ['renewal reject --id 1b4e28ba-2fa1-11d2-883f-0016d3cca427 --note "over budget, resize first"'],
    role: 'finance',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) =>
      decisionOutput(
        await answerPendingDecision(ctx, {
          decisionId: args.id as string,
          answer: 'reject',
          note: str(args, 'note'),
        }),
      ),
  },
  {
    name: 'renewal scan',
    aliases: [],
    summary: 'Raise the renewal alerts due now (the service does this daily); each alerts once',
    args: [],
    examples: ['renewal scan'],
    role: 'it-manager',
    surfaces: ['cli'],
    run: async (ctx) => {
      const result = await scanRenewals(ctx.store.pool, renewalSettings(ctx.config), ctx.now());
      return ok({
        view: 'renewal-scan',
        rows: result.alerts,
        total: result.alerts.length,
        empty: 'No renewal alert is due (each lead time alerts once).',
      });
    },
  },
];
