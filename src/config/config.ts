import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';

const httpsUrl = z.string().regex(/^https:\/\/[^\s/]+/, 'an https:// URL');

/**
 * Every environment variable Seatkeeper reads, with its documentation. This list is the only place that reads
 * `process.env`; README's configuration table and `.env.example` are checked against it by a test.
 */
export const VARIABLES = {
  NODE_ENV: {
    doc: 'Runtime mode: `development`, `test` or `production`. Production enforces the safety guards (e.g. chat endpoints never run without authentication).',
    schema: z.enum(['development', 'test', 'production']).default('development'),
    example: 'production',
  },
  PORT: {
    doc: 'HTTP port of the service (health, metrics, chat endpoints).',
    schema: z.coerce.number().int().min(0).max(65535).default(3978),
    example: '3978',
  },
  HOST: {
    doc: 'Address the HTTP server binds to. The default serves this machine only; set `0.0.0.0` (behind your TLS proxy) so Slack, Teams and other machines can reach it.',
    schema: z.string().min(1).default('127.0.0.1'),
    example: '127.0.0.1',
  },
  DATABASE_URL: {
    doc: 'PostgreSQL connection string (`postgres://user:pass@host:5432/db`). Unset: the embedded database in `SEATKEEPER_DATA_DIR`.',
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\/.+/, 'a postgres:// or postgresql:// connection string')
      .optional(),
    example: 'postgres://seatkeeper:secret@db.internal:5432/seatkeeper',
  },
  DATABASE_POOL_SIZE: {
    doc: 'Maximum connections this process opens to the PostgreSQL server.',
    schema: z.coerce.number().int().min(2).max(200).default(10),
    example: '10',
  },
  SEATKEEPER_DATA_DIR: {
    doc: 'Directory of the embedded database (used when `DATABASE_URL` is unset). Only one service may open it; CLI commands run while the service is up connect through the service.',
    schema: z.string().min(1).default('./data'),
    example: './data',
  },
  LOG_LEVEL: {
    doc: 'Log level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. Logs are JSON lines on stdout.',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    example: 'info',
  },
  SEATKEEPER_JOB_POLL_SECONDS: {
    doc: 'How often the job runner looks for due jobs, in seconds.',
    schema: z.coerce.number().int().min(1).max(3600).default(10),
    example: '10',
  },
  SEATKEEPER_MIN_ENTITLEMENT_DAYS: {
    doc: 'Default minimum entitlement period of a license requirement, in days: an account that disappears from the vendor stays (inactive) until this period has elapsed. Per-license values override it.',
    schema: z.coerce.number().int().min(0).max(3650).default(90),
    example: '90',
  },
  SEATKEEPER_IDLE_DAYS: {
    doc: 'Days without activity after which an assigned seat is reported idle (per-license values override it).',
    schema: z.coerce.number().int().min(1).max(3650).default(30),
    example: '30',
  },
  SEATKEEPER_IDLE_GRACE_DAYS: {
    doc: 'Days after assignment during which a seat that was never used is not reported idle (new hires).',
    schema: z.coerce.number().int().min(0).max(3650).default(30),
    example: '30',
  },
  SEATKEEPER_ADMINS: {
    doc: 'Comma-separated e-mails of the people with every right (the minimum to get going).',
    schema: z
      .string()
      .regex(/^\s*[^\s@,]+@[^\s@,]+(\s*,\s*[^\s@,]+@[^\s@,]+)*\s*$/, 'comma-separated e-mail addresses')
      .optional(),
    example: 'it-lead@example.com,cio@example.com',
  },
  SEATKEEPER_ROLES_FILE: {
    doc: 'JSON file mapping roles (`admin`, `it-manager`, `finance`, `helpdesk`) to e-mails, `slack:U…` user ids and `teams:<AAD object id>`s.',
    schema: z.string().min(1).optional(),
    example: '/etc/seatkeeper/roles.json',
  },
  SEATKEEPER_ASK_HOLDER_PRODUCTS: {
    doc: 'Comma-separated SKUs whose holders are asked "still need it? Keep / Release" before their seat is reclaimed. Empty: nobody is asked.',
    schema: z.string().default(''),
    example: 'FIGMA_ORG,ADOBE_CC_ALL_APPS',
  },
  SEATKEEPER_ASK_HOLDER_DAYS: {
    doc: 'Days a seat holder has to answer; one reminder goes out half-way. No answer means Release.',
    schema: z.coerce.number().int().min(1).max(60).default(3),
    example: '3',
  },
  SEATKEEPER_UNDO_DAYS: {
    doc: 'Days after a reclaim during which it can be undone (where the vendor allows re-assigning the seat).',
    schema: z.coerce.number().int().min(0).max(365).default(7),
    example: '7',
  },
  SEATKEEPER_KEEP_DAYS: {
    doc: 'Days the exemption made by a holder’s "Keep" answer lasts.',
    schema: z.coerce.number().int().min(1).max(3650).default(90),
    example: '90',
  },
  SEATKEEPER_RENEWAL_LEAD_DAYS: {
    doc: 'Days before a cancel-by date at which renewal alerts go out, comma-separated. A missed cancel-by date alerts too.',
    schema: z
      .string()
      .regex(/^\s*\d{1,4}(\s*,\s*\d{1,4})*\s*$/, 'comma-separated day counts such as 90,60,30,7')
      .default('90,60,30,7'),
    example: '90,60,30,7',
  },
  SEATKEEPER_RENEWAL_FINANCE_THRESHOLD: {
    doc: 'Annual amount (in the license’s own currency) above which a renewal approval also needs the finance role.',
    schema: z.coerce.number().min(0).default(10000),
    example: '10000',
  },
  SEATKEEPER_RENEWAL_LOOKBACK_DAYS: {
    doc: 'Days of history whose peak consumption sizes the recommended renewal quantity.',
    schema: z.coerce.number().int().min(1).max(3650).default(90),
    example: '90',
  },
  SEATKEEPER_RENEWAL_BUFFER_PERCENT: {
    doc: 'Head-room added to the peak consumption in the recommended renewal quantity, in percent.',
    schema: z.coerce.number().min(0).max(100).default(5),
    example: '5',
  },
  SEATKEEPER_RENEWAL_SCAN_CRON: {
    doc: 'When the daily renewal scan runs (cron expression, in the time zone of the process).',
    schema: z
      .string()
      .regex(/^\S+( \S+){4,5}$/, 'a cron expression such as `0 7 * * *`')
      .default('0 7 * * *'),
    example: '0 7 * * *',
  },
  SEATKEEPER_PROCUREMENT_CHANNEL: {
    doc: 'Name of the chat channel that receives renewal alerts (mapped to a Slack or Teams channel by their settings).',
    schema: z.string().min(1).default('procurement'),
    example: 'procurement',
  },
  SEATKEEPER_CALENDAR_TOKEN: {
    doc: 'Secret of the renewals calendar feed (`/calendar/renewals.ics?token=…`), at least 20 characters. Unset: the feed is off (secret).',
    schema: z.string().min(20).optional(),
    example: '',
  },
  SLACK_BOT_TOKEN: {
    doc: 'Slack: bot token `xoxb-…` (secret).',
    schema: z.string().min(1).optional(),
    example: '',
  },
  SLACK_SIGNING_SECRET: {
    doc: 'Slack: signing secret that verifies requests to `/slack/events` (secret). Without it (and without an app token) Slack stays off.',
    schema: z.string().min(1).optional(),
    example: '',
  },
  SLACK_APP_TOKEN: {
    doc: 'Slack: app-level token `xapp-…` with `connections:write`; when set, Socket Mode is used instead of HTTP (secret).',
    schema: z.string().min(1).optional(),
    example: '',
  },
  SLACK_API_URL: {
    doc: 'Slack Web API base URL (for a proxy).',
    schema: z
      .string()
      .regex(/^https?:\/\/\S+$/, 'a URL')
      .default('https://slack.com/api/'),
    example: 'https://slack.com/api/',
  },
  SLACK_DIGEST_CHANNEL: {
    doc: 'Slack: channel id or `#name` for the weekly digest; unset means no digest.',
    schema: z.string().min(1).optional(),
    example: '#licenses',
  },
  SLACK_ALERT_CHANNEL: {
    doc: 'Slack: channel for alerts whose target names no channel, or names `alerts`/`it`.',
    schema: z.string().min(1).optional(),
    example: '#it-alerts',
  },
  SLACK_CHANNELS: {
    doc: 'Slack: maps notification channel names to Slack channels, e.g. `procurement=C0123,it=C0456`. An unmapped plain name is posted to `#name`.',
    schema: z.string().min(1).optional(),
    example: '',
  },
  SLACK_DIGEST_CRON: {
    doc: 'When the weekly Slack digest runs (cron expression, in TZ).',
    schema: z
      .string()
      .regex(/^\S+( \S+){4,5}$/, 'a cron expression such as `0 9 * * 1`')
      .default('0 9 * * 1'),
    example: '0 9 * * 1',
  },
  SLACK_DELIVERY_INTERVAL: {
    doc: 'How often pending notifications are delivered to Slack and Home tabs refreshed after imports (`1 minute`, `30 seconds`, ...).',
    schema: z.string().min(1).default('1 minute'),
    example: '1 minute',
  },
  TZ: {
    doc: 'Time zone of the process (e.g. `Europe/Berlin`): schedules such as the digest and the renewal scan follow it. Unset: the system zone.',
    schema: z.string().min(1).optional(),
    example: 'Europe/Berlin',
  },
  MICROSOFT_APP_ID: {
    doc: 'Teams: the bot’s Microsoft Entra application (client) id. Unset: `/api/messages` runs without authentication outside production, and is off in production.',
    schema: z.string().min(1).optional(),
    example: '00000000-0000-0000-0000-000000000000',
  },
  MICROSOFT_APP_PASSWORD: {
    doc: 'Teams: client secret of a single-tenant bot registration (secret). Leave unset for a user-assigned managed identity.',
    schema: z.string().min(1).optional(),
    example: '',
  },
  MICROSOFT_APP_TENANT_ID: {
    doc: 'Teams: tenant of the bot registration (GUID or verified domain); required with MICROSOFT_APP_ID.',
    schema: z.string().min(1).optional(),
    example: '00000000-0000-0000-0000-000000000000',
  },
  TEAMS_CHANNELS: {
    doc: 'Teams: comma-separated `name=channel id` pairs for alerts and digests, e.g. `it=19:…@thread.tacv2,procurement=19:…,digest=19:…`.',
    schema: z.string().min(1).optional(),
    example: '',
  },
  SEATKEEPER_IMPORT_INTERVAL: {
    doc: 'How often each configured connector imports (an interval such as `6 hours` or `30 minutes`). One run at a time per connector, across replicas.',
    schema: z
      .string()
      .regex(/^\d+ (minute|minutes|hour|hours|day|days)$/, 'an interval such as `6 hours` or `30 minutes`')
      .default('6 hours'),
    example: '6 hours',
  },
  PERSON_SOURCE: {
    doc: 'Which connector is the directory of persons: `m365`, `google` or `csv`. Unset: the first configured of m365, google.',
    schema: z.enum(['m365', 'google', 'csv']).optional(),
    example: 'm365',
  },
  M365_TENANT_ID: {
    doc: 'Microsoft 365: directory (tenant) id of the app registration used to read licenses, users and reports.',
    schema: z.string().min(1).optional(),
    example: '00000000-0000-0000-0000-000000000000',
  },
  M365_CLIENT_ID: {
    doc: 'Microsoft 365: application (client) id.',
    schema: z.string().min(1).optional(),
    example: '00000000-0000-0000-0000-000000000000',
  },
  M365_CLIENT_SECRET: {
    doc: 'Microsoft 365: client secret (secret).',
    schema: z.string().min(1).optional(),
    example: '',
  },
  GRAPH_BASE_URL: {
    doc: 'Microsoft Graph endpoint (override for sovereign clouds or a proxy).',
    schema: httpsUrl.default('https://graph.microsoft.com'),
    example: 'https://graph.microsoft.com',
  },
  MS_LOGIN_URL: {
    doc: 'Microsoft identity platform endpoint that issues tokens.',
    schema: httpsUrl.default('https://login.microsoftonline.com'),
    example: 'https://login.microsoftonline.com',
  },
  ADOBE_ORG_ID: {
    doc: 'Adobe Admin Console: organization id (`…@AdobeOrg`).',
    schema: z.string().min(1).optional(),
    example: '0000000000000000000@AdobeOrg',
  },
  ADOBE_CLIENT_ID: {
    doc: 'Adobe: OAuth server-to-server client id (also sent as `X-Api-Key`).',
    schema: z.string().min(1).optional(),
    example: '',
  },
  ADOBE_CLIENT_SECRET: {
    doc: 'Adobe: OAuth server-to-server client secret (secret).',
    schema: z.string().min(1).optional(),
    example: '',
  },
  ADOBE_UMAPI_URL: {
    doc: 'Adobe User Management API endpoint.',
    schema: httpsUrl.default('https://usermanagement.adobe.io'),
    example: 'https://usermanagement.adobe.io',
  },
  ADOBE_IMS_URL: {
    doc: 'Adobe IMS endpoint that issues tokens.',
    schema: httpsUrl.default('https://ims-na1.adobelogin.com'),
    example: 'https://ims-na1.adobelogin.com',
  },
  GOOGLE_SERVICE_ACCOUNT_FILE: {
    doc: 'Google Workspace: path to the service account JSON key (domain-wide delegation) (secret).',
    schema: z.string().min(1).optional(),
    example: '/etc/seatkeeper/google-service-account.json',
  },
  GOOGLE_ADMIN_SUBJECT: {
    doc: 'Google Workspace: the admin user the service account acts as.',
    schema: z.string().min(1).optional(),
    example: 'admin@example.com',
  },
  GOOGLE_CUSTOMER_ID: {
    doc: 'Google Workspace: customer id.',
    schema: z.string().min(1).default('my_customer'),
    example: 'my_customer',
  },
  GOOGLE_TOKEN_URL: {
    doc: 'Google OAuth2 token endpoint.',
    schema: httpsUrl.default('https://oauth2.googleapis.com/token'),
    example: 'https://oauth2.googleapis.com/token',
  },
  GOOGLE_DIRECTORY_URL: {
    doc: 'Google Admin SDK Directory API endpoint.',
    schema: httpsUrl.default('https://admin.googleapis.com'),
    example: 'https://admin.googleapis.com',
  },
  GOOGLE_LICENSING_URL: {
    doc: 'Google Enterprise License Manager API endpoint.',
    schema: httpsUrl.default('https://licensing.googleapis.com'),
    example: 'https://licensing.googleapis.com',
  },
  GITHUB_TOKEN: {
    doc: 'GitHub: token of an organization owner with Copilot billing access (secret).',
    schema: z.string().min(1).optional(),
    example: '',
  },
  GITHUB_ORG: {
    doc: 'GitHub: organization whose Copilot seats are imported.',
    schema: z.string().min(1).optional(),
    example: 'example-org',
  },
  GITHUB_LOGIN_EMAILS: {
    doc: 'GitHub: CSV file mapping logins to e-mails (`login,email` header), for seat holders without a public e-mail.',
    schema: z.string().min(1).optional(),
    example: '/etc/seatkeeper/github-logins.csv',
  },
  GITHUB_API_URL: {
    doc: 'GitHub REST API endpoint (GitHub Enterprise Server: `https://HOST/api/v3`).',
    schema: httpsUrl.default('https://api.github.com'),
    example: 'https://api.github.com',
  },
  SEATKEEPER_DEMO: {
    doc: 'Demo mode (a made-up company on local vendor fakes, in its own database under `SEATKEEPER_DATA_DIR/demo`): `1` makes `seatkeeper start` run the demo, `0` never. Unset: `start` runs the demo only when no connector and no chat platform (`SLACK_BOT_TOKEN`, `MICROSOFT_APP_ID`) is configured.',
    schema: z.enum(['0', '1']).optional(),
    example: '0',
  },
  CSV_DIR: {
    doc: 'Directory with CSV exports to import as the `csv` connector: `subscriptions.csv`, `accounts.csv` and/or `persons.csv` (columns in README).',
    schema: z.string().min(1).optional(),
    example: '/var/lib/seatkeeper/csv',
  },
  SEATKEEPER_PUBLIC_URL: {
    doc: 'Address people use to reach the service (the dashboard sign-in links the bot sends point there), e.g. `https://seatkeeper.example.com`. Unset: `http://HOST:PORT`.',
    schema: z
      .string()
      .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'an http:// or https:// URL')
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
    example: 'https://seatkeeper.example.com',
  },
  SEATKEEPER_DASHBOARD_TOKEN: {
    doc: 'Admin token of the web dashboard (`Authorization: Bearer …` or the sign-in form), at least 20 characters; it grants the admin role. Unset: only sign-in links and Teams sign-in (secret).',
    schema: z.string().min(20).optional(),
    example: '',
  },
  TEAMS_SSO_JWKS_URL: {
    doc: 'Teams tab sign-in: where the signing keys of Microsoft Entra ID tokens are published.',
    schema: z
      .string()
      .regex(/^https?:\/\/[^\s/]+/, 'an http:// or https:// URL')
      .default('https://login.microsoftonline.com/common/discovery/v2.0/keys'),
    example: 'https://login.microsoftonline.com/common/discovery/v2.0/keys',
  },
  TEAMS_SSO_ISSUER: {
    doc: 'Teams tab sign-in: the expected token issuer; `{tenantid}` stands for the token’s tenant, which must be MICROSOFT_APP_TENANT_ID when that is a GUID.',
    schema: z
      .string()
      .regex(/^https?:\/\/[^\s/]+/, 'an http:// or https:// URL')
      .default('https://login.microsoftonline.com/{tenantid}/v2.0'),
    example: 'https://login.microsoftonline.com/{tenantid}/v2.0',
  },
  TEAMS_DIGEST_CRON: {
    doc: 'Teams: when the weekly digest goes to the channels named `digest` (or `digest-…`) in TEAMS_CHANNELS (cron expression, in TZ).',
    schema: z
      .string()
      .regex(/^\S+( \S+){4,5}$/, 'a cron expression such as `0 9 * * 1`')
      .default('0 9 * * 1'),
    example: '0 9 * * 1',
  },
  SEATKEEPER_ALERT_MIN_SAVINGS: {
    doc: 'Annual savings (in the license’s own currency) from which a new finding is alerted to the IT channel (`SLACK_ALERT_CHANNEL`, the Teams channel named `alerts` or `it`).',
    schema: z.coerce.number().min(0).max(1_000_000_000).default(500),
    example: '500',
  },
} as const;

export type VariableName = keyof typeof VARIABLES;

type Shape = { [K in VariableName]: (typeof VARIABLES)[K]['schema'] };
const shape = Object.fromEntries(
  Object.entries(VARIABLES).map(([k, v]) => [k, v.schema]),
) as unknown as Shape;
const schema = z.object(shape);
export type Config = z.infer<typeof schema>;

/** A configuration problem, worded for an operator: one line naming the variable and what was expected. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reads `.env` from `dir` when present; values already in the environment win. */
export function readDotenv(dir: string = process.cwd()): Record<string, string> {
  const file = `${dir}/.env`;
  return existsSync(file) ? parseDotenv(readFileSync(file)) : {};
}

/**
 * Parses the environment once. Empty strings count as unset, so a blank line in `.env` means "use the default".
 * @throws ConfigError naming the first bad variable
 */
export function loadConfig(
  env: Record<string, string | undefined> = { ...readDotenv(), ...process.env },
): Config {
  const input: Record<string, string> = {};
  for (const name of Object.keys(VARIABLES)) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') input[name] = value.trim();
  }
  const parsed = schema.safeParse(input);
  if (parsed.success) {
    checkGroups(parsed.data);
    return parsed.data;
  }
  const issue = parsed.error.issues[0];
  const variable = String(issue?.path[0] ?? 'configuration');
  const got = input[variable];
  const shown =
    got === undefined ? 'it is not set' : isSecret(variable) ? 'got a value' : `got '${printable(got)}'`;
  throw new ConfigError(
    variable,
    `Configuration error: ${variable} is invalid: ${describeIssue(issue)} (${shown}). See README, "Configuration".`,
  );
}

/** A value as an error shows it: on one line (control characters escaped) and cut to a readable length. */
function printable(value: string): string {
  const escaped = JSON.stringify(value).slice(1, -1);
  return escaped.length > 80 ? `${escaped.slice(0, 80)}… (${value.length} characters)` : escaped;
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'unknown problem';
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'too_small') return `expected at least ${String(issue.minimum)}`;
  if (issue.code === 'too_big') return `expected at most ${String(issue.maximum)}`;
  if (issue.code === 'invalid_type')
    return `expected ${issue.expected === 'int' ? 'a whole number' : issue.expected}`;
  if (issue.code === 'invalid_format') return `expected ${issue.message}`;
  return issue.message;
}

const SECRET_PATTERN = /(_SECRET|_TOKEN|_PASSWORD|_KEY|^DATABASE_URL|_SERVICE_ACCOUNT_FILE)$/;
/** Variables whose values never appear in logs or error messages. */
export function isSecret(name: string): boolean {
  return SECRET_PATTERN.test(name);
}

/** Variables that only make sense together: a connector is configured when all of its group are set. */
export const CONNECTOR_GROUPS = {
  m365: ['M365_TENANT_ID', 'M365_CLIENT_ID', 'M365_CLIENT_SECRET'],
  adobe: ['ADOBE_ORG_ID', 'ADOBE_CLIENT_ID', 'ADOBE_CLIENT_SECRET'],
  google: ['GOOGLE_SERVICE_ACCOUNT_FILE', 'GOOGLE_ADMIN_SUBJECT'],
  github: ['GITHUB_TOKEN', 'GITHUB_ORG'],
  csv: ['CSV_DIR'],
} as const satisfies Record<string, readonly VariableName[]>;

export type ConnectorName = keyof typeof CONNECTOR_GROUPS;

/** The connectors whose configuration is complete, in a fixed order. */
export function configuredConnectors(config: Config): ConnectorName[] {
  return (Object.keys(CONNECTOR_GROUPS) as ConnectorName[]).filter((name) =>
    CONNECTOR_GROUPS[name].every((v) => config[v] !== undefined),
  );
}

/** A half-configured connector is an operator's mistake: say which variable is missing. */
function checkGroups(config: Config): void {
  for (const [name, variables] of Object.entries(CONNECTOR_GROUPS)) {
    const set = variables.filter((v) => config[v] !== undefined);
    const missing = variables.find((v) => config[v] === undefined);
    if (set.length > 0 && missing) {
      throw new ConfigError(
        missing,
        `Configuration error: ${missing} is invalid: expected a value, because ${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set for the ${name} connector (it is not set). See README, "Configuration".`,
      );
    }
  }
  if (config.PERSON_SOURCE && !configuredConnectors(config).includes(config.PERSON_SOURCE)) {
    const needed = CONNECTOR_GROUPS[config.PERSON_SOURCE].join(', ');
    throw new ConfigError(
      'PERSON_SOURCE',
      `Configuration error: PERSON_SOURCE is invalid: expected a configured connector, but ${config.PERSON_SOURCE} is not configured (set ${needed}) (got '${config.PERSON_SOURCE}'). See README, "Configuration".`,
    );
  }
}
