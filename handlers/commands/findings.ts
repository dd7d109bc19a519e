/** Findings: discrepancies between entitlements and use, with savings. */
import { recomputeFindings } from '../../src/findings/recompute.ts';
import { ALL_SURFACES, listing, PAGING, page } from '../command-kit.ts';
import type { CommandSpec } from '../registry.ts';
import { listFindings } from '../reports.ts';

export const FINDINGS_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'findings',
    aliases: ['finding'],
    summary:
      'Idle, unassigned, departed and unmatched seats, overages and lapsing subscriptions, with savings',
    args: [
      {
        name: 'kind',
        kind: 'option',
        description: 'only this kind (idle, unassigned, overage, grace, departed, unmatched, ...)',
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
    examples: ['findings', 'findings --kind idle --app figma'],
    role: 'helpdesk',
    surfaces: ALL_SURFACES,
    run: async (ctx, args) => {
      if (args.recompute) {
        const client = await ctx.store.pool.connect();
        try {
          await recomputeFindings(
            client,
            { idleDays: ctx.config.SEATKEEPER_IDLE_DAYS, graceDays: ctx.config.SEATKEEPER_IDLE_GRACE_DAYS },
            ctx.now(),
          );
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
];
