import { contosoOrg, type GraphOrg, USER } from '../fakes/graph-fixtures.ts';

/** When Contoso people the tests treat as idle last signed in: Lee (E3, Power BI), Isaiah and Johanna (E5). */
export const LAST_SIGN_IN = {
  lee: [USER.lee, '2026-08-01T09:00:00Z'],
  isaiah: [USER.isaiah, '2026-07-01T09:00:00Z'],
  johanna: [USER.johanna, '2026-07-15T09:00:00Z'],
} as const;

/**
 * Contoso with the given people unused since the given times: their interactive sign-in is old and their Microsoft
 * 365 activity is gone, so their seats are idle once the grace period has passed.
 */
export function idleOrg(idle: readonly (readonly [id: string, lastSignIn: string])[]): GraphOrg {
  const org = contosoOrg();
  for (const [id, at] of idle) {
    const user = org.users.find((u) => u.id === id);
    if (user) {
      user.signInActivity = {
        lastSignInDateTime: at,
        lastSignInRequestId: 'c1d3e9a0-52f1-4f0e-8d2b-1b4d7f0e9a01',
        lastNonInteractiveSignInDateTime: null,
        lastNonInteractiveSignInRequestId: null,
        lastSuccessfulSignInDateTime: at,
        lastSuccessfulSignInRequestId: 'c1d3e9a0-52f1-4f0e-8d2b-1b4d7f0e9a01',
      };
    }
    delete org.activity[id];
  }
  return org;
}
