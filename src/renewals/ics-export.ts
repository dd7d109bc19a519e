/** `seatkeeper export renewals --format ics`: the renewals calendar on standard output. */
import type { Writable } from 'node:stream';
import { renewalsIcs } from '../../handlers/renewals.ts';
import type { HandlerContext } from '../../handlers/types.ts';

/**
 * Writes the renewals calendar to `io.stdout` (a failure's message to `io.stderr`).
 * @returns the CLI exit code: 0, 3 when denied, 1 otherwise (as `EXIT` in src/cli/main.ts)
 */
export async function writeIcsExport(
  ctx: HandlerContext,
  io: { stdout: Writable; stderr: Writable },
): Promise<number> {
  const calendar = await renewalsIcs(ctx);
  if (calendar.ok) {
    io.stdout.write(calendar.value);
    return 0;
  }
  io.stderr.write(`${calendar.error.message}\n`);
  return calendar.error.code === 'NOT_AUTHORIZED' ? 3 : 1;
}
