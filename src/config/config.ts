import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';

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
    doc: 'Address the HTTP server binds to.',
    schema: z.string().min(1).default('0.0.0.0'),
    example: '0.0.0.0',
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
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const variable = String(issue?.path[0] ?? 'configuration');
  const got = input[variable];
  const shown = got === undefined ? 'it is not set' : isSecret(variable) ? 'got a value' : `got '${got}'`;
  throw new ConfigError(
    variable,
    `Configuration error: ${variable} is invalid: ${describeIssue(issue)} (${shown}). See README, "Configuration".`,
  );
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

const SECRET_PATTERN = /(SECRET|TOKEN|PASSWORD|DATABASE_URL|KEY)/;
/** Variables whose values never appear in logs or error messages. */
export function isSecret(name: string): boolean {
  return SECRET_PATTERN.test(name);
}
