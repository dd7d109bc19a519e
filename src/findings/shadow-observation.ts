/**
 * What a shadow-IT source reports: sightings of apps in use, one per (app, user) or per aggregated export row. The
 * findings engine counts and dates them in SQL; sources only read and validate.
 */

/** One sighting of an app in use. */
export interface ShadowObservation {
  /** The app's name as the source shows it (`Zoom`, `Miro`); apps are matched by the words of the name. */
  app: string;
  /** Where it was seen: `graph:oauth2PermissionGrants`, `csv:sso`, `csv:expense`. */
  source: string;
  /** Who used it (a directory object id or an e-mail); users are counted distinct per app and source. */
  user?: string | null;
  /** A user count, when the export is already aggregated per app. */
  users?: number | null;
  /** The app was consented for every user of the tenant (an admin consent). */
  allUsers?: boolean;
  /** When it was seen (sign-in or expense date); null = now. */
  seenAt?: Date | null;
  /** Money spent on it (expense exports), in `currency`. */
  amount?: number | null;
  currency?: string | null;
  /** The vendor's app id (Entra `appId`), for the evidence. */
  appId?: string | null;
  publisher?: string | null;
  /** Delegated permissions granted (space-separated), for the evidence. */
  scopes?: string | null;
}

/** A source of sightings. A scan replaces everything earlier scans of the same `sources` said. */
export interface ShadowSource {
  /** Name for messages: `m365`, `csv`. */
  readonly name: string;
  /** The `source` values this source is the whole truth for. */
  readonly sources: readonly string[];
  observations(): AsyncIterable<ShadowObservation[]>;
}
