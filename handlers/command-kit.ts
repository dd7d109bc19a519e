/** Shared pieces of command definitions. */
import type { Listing } from './inventory-queries.ts';
import type { ArgSpec, ArgValues, CommandOutput } from './registry.ts';
import { ok, type Result, type Surface } from './types.ts';

export const ALL_SURFACES: readonly Surface[] = ['cli', 'slack', 'teams', 'web'];

export const PAGING: readonly ArgSpec[] = [
  {
    name: 'limit',
    kind: 'option',
    type: 'int',
    default: 100,
    min: 1,
    max: 10_000,
    description: 'rows per page',
  },
  { name: 'offset', kind: 'option', type: 'int', default: 0, min: 0, description: 'rows to skip' },
];

export const page = (args: ArgValues) => ({ limit: args.limit as number, offset: args.offset as number });

export function listing(
  view: string,
  empty: string,
  result: Result<Listing<unknown>>,
): Result<CommandOutput> {
  if (!result.ok) return result;
  return ok({ view, rows: result.value.rows, total: result.value.total, empty });
}
