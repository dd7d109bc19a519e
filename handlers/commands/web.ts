/** The web dashboard: a one-time sign-in link for whoever asks. */

import { issueSignInLink, SIGN_IN_LINK_MINUTES } from '../../src/web/web-auth.ts';
import type { CommandSpec } from '../registry.ts';
import { ok } from '../types.ts';

export const WEB_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'dashboard',
    aliases: ['web', 'sign-in'],
    summary: 'A one-time link that signs you in to the web dashboard',
    args: [],
    examples: ['dashboard'],
    // The dashboard shows the whole inventory: the same right as `seats` and `findings`.
    role: 'helpdesk',
    surfaces: ['cli', 'slack', 'teams'],
    // Whoever opens the link first is signed in as the asker.
    private: true,
    run: async (ctx) => {
      const now = ctx.now();
      const link = await issueSignInLink(ctx.store, ctx.config, ctx.actor, now);
      const expires = new Date(now.getTime() + SIGN_IN_LINK_MINUTES * 60_000);
      return ok({
        view: 'sign-in-link',
        rows: [
          {
            link,
            expiresAt: expires.toISOString(),
            note: `Opens the dashboard. Works once, for ${SIGN_IN_LINK_MINUTES} minutes; do not share it.`,
          },
        ],
        total: 1,
        empty: 'No link could be made.',
      });
    },
  },
];
