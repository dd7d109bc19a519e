/** Renewals and contract terms. */
import { ALL_SURFACES, listing, PAGING, page } from '../command-kit.ts';
import { setContract } from '../contracts.ts';
import type { CommandSpec } from '../registry.ts';
import { listRenewals } from '../reports.ts';
import { ok } from '../types.ts';

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
    ],
    examples: [
      'contract set --sku SPE_E5 --unit-price 57 --currency EUR --cost-center IT --renewal-date 2027-06-30 --notice-days 30',
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
      });
      if (!result.ok) return result;
      return ok({ view: 'contract', rows: [result.value], total: 1, empty: '' });
    },
  },
];
