/**
 * `GET /calendar/renewals.ics?token=…`: the renewals calendar for procurement's calendar app. Calendar apps
 * subscribe by URL and cannot log in, so the URL carries a secret token (also accepted as `Authorization: Bearer`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Express, Request } from 'express';
import { renewalsIcs } from '../../handlers/renewals.ts';
import type { Actor } from '../../handlers/types.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { renewalSettings } from './settings.ts';

export const ICS_FEED_PATH = '/calendar/renewals.ics';

export interface IcsFeedDeps {
  store: Store;
  config: Config;
  log: Logger;
  /** The feed's token; default `SEATKEEPER_CALENDAR_TOKEN`. Unset: the feed answers 404. */
  token?: string;
  now?: () => Date;
}

/** Whether `given` is the token, compared in constant time (hashing first makes the lengths equal). */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  // Compare even when nothing was given, so a missing token takes as long as a wrong one.
  const same = timingSafeEqual(digest(given ?? ''), digest(expected));
  return same && given !== undefined;
}

function presentedToken(req: Request): string | undefined {
  const query = req.query.token;
  if (typeof query === 'string') return query;
  const header = req.get('authorization');
  const bearer = header?.match(/^Bearer\s+(\S+)$/i);
  return bearer?.[1];
}

/** The feed reads like helpdesk: it shows what `renewals` shows, nothing it does not. */
const FEED_ACTOR: Actor = {
  id: 'calendar-feed',
  email: null,
  personId: null,
  displayName: 'calendar feed',
  roles: ['helpdesk'],
  surface: 'web',
};

/** Mounts the feed on `app`. @returns whether it is enabled (a token is configured) */
export function mountIcsFeed(app: Express, deps: IcsFeedDeps): boolean {
  const token = deps.token ?? renewalSettings(deps.config).calendarToken;
  app.get(ICS_FEED_PATH, async (req, res) => {
    if (!token) {
      res
        .status(404)
        .type('text/plain')
        .send('The renewals calendar is off: set SEATKEEPER_CALENDAR_TOKEN.\n');
      return;
    }
    if (!tokenMatches(presentedToken(req), token)) {
      res.status(401).set('WWW-Authenticate', 'Bearer realm="seatkeeper-calendar"').type('text/plain');
      res.send('A valid token is needed: /calendar/renewals.ics?token=…\n');
      return;
    }
    const calendar = await renewalsIcs({
      store: deps.store,
      config: deps.config,
      actor: FEED_ACTOR,
      now: deps.now ?? (() => new Date()),
    });
    if (!calendar.ok) {
      res.status(500).type('text/plain').send(`${calendar.error.message}\n`);
      return;
    }
    // The URL is a secret: keep it out of shared caches and referrers.
    res
      .status(200)
      .set({
        'Content-Type': 'text/calendar; charset=utf-8',
        'Content-Disposition': 'inline; filename="renewals.ics"',
        'Cache-Control': 'private, max-age=300',
        'Referrer-Policy': 'no-referrer',
      })
      .send(calendar.value);
  });
  deps.log.info(
    token
      ? `calendar: renewals feed at ${ICS_FEED_PATH}?token=… (token from SEATKEEPER_CALENDAR_TOKEN)`
      : 'calendar: renewals feed off (set SEATKEEPER_CALENDAR_TOKEN)',
  );
  return Boolean(token);
}
