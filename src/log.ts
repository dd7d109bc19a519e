import { type Logger, pino } from 'pino';

export type { Logger };

/** Field names whose values never reach a log line, wherever they appear (two levels deep). */
const SECRET_KEYS = [
  'password',
  'secret',
  'token',
  'authorization',
  'cookie',
  'clientSecret',
  'client_secret',
  'access_token',
  'connectionString',
  'DATABASE_URL',
];

/** JSON-lines logger; secrets are redacted by field name. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const paths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
  return pino(
    { level, base: { service: 'seatkeeper' }, redact: { paths, censor: '[redacted]' } },
    destination ?? process.stdout,
  );
}
