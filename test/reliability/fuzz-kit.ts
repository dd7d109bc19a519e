/** Generators and checks shared by the fuzzing tests. */
import fc from 'fast-check';
import { type Actor, type FailureCode, ROLES, type Role } from '../../handlers/types.ts';

export const FAILURE_CODES: readonly FailureCode[] = [
  'NOT_AUTHORIZED',
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'CONFLICT',
  'UNAVAILABLE',
  'VENDOR_FAILED',
];

/** Seed of every property: a failing case can be replayed with the seed and path fast-check prints. */
export const SEED = Number(process.env.SEATKEEPER_FUZZ_SEED ?? 20261122);

/** Words people and attackers type: option-like tokens, numbers at the edges, dates, e-mails, markup, huge ones. */
export const token = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '--limit',
      '--offset',
      '--days',
      '--sku',
      '--email',
      '--yes',
      '--id',
      '--all-idle',
      '--until',
      '--reason',
      '--quantity',
      '--decision',
      '--kind',
      '--',
      '--=',
      '--limit=',
      '-1',
      '0',
      '2147483648',
      '99999999999999999999',
      '1e3',
      'NaN',
      '2026-02-30',
      '9999-12-31',
      'FIGMA_PRO',
      'figma',
      'user01@example.com',
      "'; DROP TABLE licenses; --",
      '<script>alert(1)</script>',
      '*bold* <!channel> <@UADMIN>',
      '\u0000',
      '%00',
      '../../etc/passwd',
    ),
  },
  { weight: 2, arbitrary: fc.integer({ min: -1e12, max: 1e12 }).map(String) },
  { weight: 1, arbitrary: fc.constant('x'.repeat(70_000)) },
  { weight: 1, arbitrary: fc.constant('y'.repeat(999)) },
);

export const tokens = fc.array(token, { maxLength: 8 });

export const roles = fc.subarray([...ROLES] as Role[], { maxLength: 2 });

export function actorWith(roles: readonly Role[], surface: Actor['surface'] = 'slack'): Actor {
  const email = 'fuzz@example.com';
  return { id: email, email, personId: null, displayName: 'Fuzz', roles, surface };
}

/** A clear error: a known code and a short, specific, one-paragraph message. */
export function isClearFailure(error: { code: string; message: string }): boolean {
  return (
    (FAILURE_CODES as readonly string[]).includes(error.code) &&
    error.message.trim().length > 0 &&
    error.message.length <= 2000
  );
}
