/**
 * Shadow IT from exports: `shadow.csv` in CSV_DIR holds what an SSO portal (sign-ins per app) or an expense system
 * (card payments per vendor) exported, one row per sighting. The file is streamed; a bad row makes the whole scan
 * fail (listing the bad rows) before anything is recorded, so a half-read export never replaces a good one.
 */
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import type { ShadowObservation, ShadowSource } from '../src/findings/shadow-observation.ts';
import { type CsvColumnDoc, CsvImportError, parseIsoDate } from './csv-connector.ts';

export const SHADOW_FILE = 'shadow.csv';

/** Columns of `shadow.csv`, one row per sighting of an app (README documents them from here). */
export const SHADOW_COLUMNS = {
  app: {
    required: true,
    doc: 'Name of the app as the export shows it, e.g. `Miro` or `Zoom Video Communications`.',
  },
  source: {
    required: false,
    doc: '`sso` (default: a sign-in through the SSO portal) or `expense` (a payment in the expense system).',
  },
  email: { required: false, doc: 'Who signed in or paid; users are counted distinct per app.' },
  users: {
    required: false,
    doc: 'A user count, when the export is already one row per app (whole number ≥ 0).',
  },
  date: {
    required: false,
    doc: 'When: ISO 8601 date or date-time. First and last seen come from these dates.',
  },
  amount: { required: false, doc: 'Amount paid (expense rows), e.g. `120.50`; needs `currency`.' },
  currency: { required: false, doc: 'ISO 4217 code of `amount`, e.g. `EUR`.' },
} as const satisfies Record<string, CsvColumnDoc>;

const KINDS = ['sso', 'expense'] as const;
/** Sightings per yielded page. */
const PAGE_SIZE = 1000;
const LISTED = 20;

/** The `csv` shadow source, or undefined when CSV_DIR has no `shadow.csv`. */
export function createCsvShadowSource(dir: string): ShadowSource | undefined {
  const path = join(dir, SHADOW_FILE);
  if (!existsSync(path)) return undefined;
  return {
    name: 'csv',
    sources: KINDS.map((k) => `csv:${k}`),
    observations: () => readShadowFile(path),
  };
}

async function* readShadowFile(path: string): AsyncGenerator<ShadowObservation[]> {
  const parser = parse({ bom: true, relax_column_count: true });
  pipeline(createReadStream(path), parser, () => undefined);
  let columns: string[] | undefined;
  let row = 0;
  const problems: string[] = [];
  let bad = 0;
  let page: ShadowObservation[] = [];
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      row += 1;
      if (!columns) {
        columns = checkHeader(record);
        continue;
      }
      if (record.every((v) => v.trim() === '')) continue;
      const header = columns;
      const get = (name: string) => {
        const value = (record[header.indexOf(name)] ?? '').trim();
        return header.includes(name) && value !== '' ? value : undefined;
      };
      const parsed =
        record.length === header.length
          ? parseRow(get)
          : `has ${record.length} fields but the header has ${header.length}`;
      if (typeof parsed === 'string') {
        bad += 1;
        if (problems.length < LISTED) problems.push(`${SHADOW_FILE} row ${row}: ${parsed}`);
        continue;
      }
      page.push(parsed);
      if (page.length >= PAGE_SIZE) {
        yield page;
        page = [];
      }
    }
  } catch (error) {
    if (error instanceof CsvImportError) throw error;
    if (error instanceof CsvError)
      throw new CsvImportError(`${SHADOW_FILE} is not valid CSV after row ${row}: ${error.message}`);
    throw new CsvImportError(`${SHADOW_FILE} cannot be read: ${(error as Error).message}`);
  }
  if (!columns)
    throw new CsvImportError(`${SHADOW_FILE} is empty: it needs a header row naming its columns.`);
  if (bad > 0) {
    const more = bad > problems.length ? `; and ${bad - problems.length} more` : '';
    throw new CsvImportError(`${bad} bad row(s) in ${SHADOW_FILE}: ${problems.join('; ')}${more}.`);
  }
  if (page.length > 0) yield page;
}

function checkHeader(record: string[]): string[] {
  const columns = record.map((c) => c.trim().toLowerCase());
  const known = Object.keys(SHADOW_COLUMNS);
  const unknown = columns.filter((c) => !known.includes(c));
  const repeated = columns.filter((c, i) => columns.indexOf(c) !== i);
  const problems = [
    unknown.length > 0 ? `unknown column ${unknown.map((c) => c || '(blank)').join(', ')}` : null,
    repeated.length > 0 ? `column ${[...new Set(repeated)].join(', ')} appears twice` : null,
    columns.includes('app') ? null : 'missing required column app',
  ].filter((p) => p !== null);
  if (problems.length > 0) {
    throw new CsvImportError(
      `${SHADOW_FILE} header row: ${problems.join('; ')}. Its columns are: ${known.join(', ')}.`,
    );
  }
  return columns;
}

/** A sighting, or why the row is bad. */
function parseRow(get: (column: string) => string | undefined): ShadowObservation | string {
  const reasons: string[] = [];
  const app = get('app');
  if (!app) reasons.push('app: required');
  else if (app.length > 200) reasons.push('app: longer than 200 characters');
  const kind = (get('source') ?? 'sso').toLowerCase();
  if (!(KINDS as readonly string[]).includes(kind))
    reasons.push(`source: expected sso or expense (got '${kind}')`);
  const email = get('email')?.toLowerCase();
  if (email && !/^[^\s@]+@[^\s@]+$/.test(email))
    reasons.push(`email: expected an e-mail address (got '${email}')`);
  const usersText = get('users');
  if (usersText !== undefined && !/^\d{1,7}$/.test(usersText))
    reasons.push(`users: expected a whole number (got '${usersText}')`);
  const dateText = get('date');
  const seenAt = dateText === undefined ? undefined : parseIsoDate(dateText);
  if (dateText !== undefined && !seenAt) reasons.push(`date: expected an ISO 8601 date (got '${dateText}')`);
  const amountText = get('amount');
  if (amountText !== undefined && !/^-?\d{1,12}(\.\d{1,4})?$/.test(amountText))
    reasons.push(`amount: expected an amount like 120.50 (got '${amountText}')`);
  const currency = get('currency')?.toUpperCase();
  if (currency !== undefined && !/^[A-Z]{3}$/.test(currency))
    reasons.push(`currency: expected a three-letter code like EUR (got '${currency}')`);
  if (amountText !== undefined && currency === undefined) reasons.push('amount: needs a currency');
  if (reasons.length > 0) return reasons.join('; ');
  return {
    app: app as string,
    source: `csv:${kind}`,
    user: email ?? null,
    users: usersText === undefined ? null : Number(usersText),
    seenAt: seenAt ?? null,
    amount: amountText === undefined ? null : Number(amountText),
    currency: currency ?? null,
  };
}
