/**
 * The CSV connector: subscriptions, the accounts assigned to them (with their last activity) and an HR list of
 * persons, read from `subscriptions.csv`, `accounts.csv` and `persons.csv` in CSV_DIR — for any vendor without an
 * API connector. Files are streamed (pages of {@link CSV_PAGE_SIZE} records), never loaded whole.
 *
 * A file with a bad row is rejected whole unless `skipInvalid` is set. Every file is checked completely before its
 * first page is yielded: subscriptions and accounts in one pass at the start of `subscriptions()` (needed anyway to
 * count the consumed seats), persons at the start of `persons()`. So a rejection happens before anything is staged,
 * whoever consumes the streams, and lists every bad row at once instead of the first one only.
 */
import { closeSync, createReadStream, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { z } from 'zod';
import {
  CAPABILITY_STATUSES,
  type CapabilityStatus,
  type Connector,
  type DirectoryPerson,
  LICENSE_MODELS,
  type LicenseModel,
  type VendorAccount,
  type VendorSubscription,
} from './types.ts';

/** Records per yielded page. */
export const CSV_PAGE_SIZE = 1000;
/**
 * Bad rows kept in a rejection (`CsvImportError.problems`, and its message as far as that stays short); the rest
 * are only counted.
 */
export const MAX_LISTED_PROBLEMS = 50;
/** Characters of bad rows listed in a rejection's message, at most. */
const MAX_MESSAGE_LENGTH = 3500;

/** What a column holds, for README. `required`: the header must name it and every row must fill it. */
export interface CsvColumnDoc {
  required: boolean;
  doc: string;
}

/** Columns of `subscriptions.csv`, one row per subscription (plan) bought from a vendor. */
export const SUBSCRIPTIONS_COLUMNS = {
  vendor: { required: true, doc: 'Vendor, e.g. `Figma`.' },
  subscription_id: {
    required: true,
    doc: 'Unique id of the subscription; `accounts.csv` refers to it. Keep it stable: the license is keyed by it.',
  },
  sku: {
    required: true,
    doc: 'Part number of the plan, e.g. `FIGMA_ORG`; matched against the product catalog.',
  },
  name: { required: true, doc: 'Name of the plan.' },
  purchased: {
    required: false,
    doc: 'Seats bought: a whole number ≥ 0. Required unless `unlimited` is yes. Consumed seats are not a column: they are the rows of `accounts.csv` naming the subscription.',
  },
  status: {
    required: false,
    doc: '`Enabled` (default), `Warning` (grace period, seats still usable), `Suspended`, `Deleted` or `LockedOut`. Only Enabled and Warning seats count as purchased.',
  },
  unlimited: { required: false, doc: '`yes` or `no` (default): no seat limit.' },
  license_model: {
    required: false,
    doc: '`named_user`, `device`, `concurrent` or `unlimited` (which implies `unlimited` yes). Empty: from the catalog, else `named_user`.',
  },
  trial: { required: false, doc: '`yes` or `no` (default).' },
  next_lifecycle_date: { required: false, doc: 'Next renewal or expiry: ISO 8601 date or date-time.' },
} as const satisfies Record<string, CsvColumnDoc>;

/** Columns of `accounts.csv`, one row per account holding a seat of a subscription. */
export const ACCOUNTS_COLUMNS = {
  subscription_id: { required: true, doc: 'The subscription (a `subscription_id` of `subscriptions.csv`).' },
  account_id: {
    required: false,
    doc: "The vendor's id of the account. Empty: the e-mail, lower-cased. One of `account_id` and `email` is required.",
  },
  email: {
    required: false,
    doc: 'E-mail address of the account; matched to persons through all their addresses.',
  },
  login: { required: false, doc: 'User name at the vendor, when it differs from the e-mail.' },
  assigned_at: { required: false, doc: 'When the seat was assigned: ISO 8601 date or date-time.' },
  last_activity_at: {
    required: false,
    doc: 'Last activity of the account in this product: ISO 8601 date or date-time. Without this column the file has no usage signal and no seat is ever called idle on its word; with it, an empty value means no activity known.',
  },
  last_activity_source: {
    required: false,
    doc: 'Where the last activity comes from, e.g. `figma:activity-log` (default `csv`).',
  },
  enabled: {
    required: false,
    doc: '`yes` (default) or `no`: the account is disabled at the vendor (its seat still counts as consumed).',
  },
} as const satisfies Record<string, CsvColumnDoc>;

/** Columns of `persons.csv`, the HR list (used when `PERSON_SOURCE=csv`), one row per person. */
export const PERSONS_COLUMNS = {
  email: { required: true, doc: 'Primary e-mail address.' },
  aliases: { required: false, doc: 'Other addresses of the person, separated by `;`.' },
  display_name: { required: false, doc: 'Name.' },
  department: { required: false, doc: 'Department.' },
  cost_center: { required: false, doc: 'Cost center.' },
  manager_email: { required: false, doc: "Manager's e-mail address." },
  status: {
    required: false,
    doc: '`active` or `departed`. Empty: departed when `departed_at` is set, else active.',
  },
  departed_at: {
    required: false,
    doc: 'Leaving date: ISO 8601 date or date-time. Required when `status` is departed; not allowed with `status` active.',
  },
} as const satisfies Record<string, CsvColumnDoc>;

export type CsvFileName = 'subscriptions.csv' | 'accounts.csv' | 'persons.csv';

interface FileSpec {
  file: CsvFileName;
  columns: Record<string, CsvColumnDoc>;
  /** The header must name at least one of these, and every row must fill one. */
  oneOf?: readonly string[];
}

/** The files of CSV_DIR and their columns (README is checked against this). */
export const CSV_FILES = {
  'subscriptions.csv': { file: 'subscriptions.csv', columns: SUBSCRIPTIONS_COLUMNS },
  'accounts.csv': { file: 'accounts.csv', columns: ACCOUNTS_COLUMNS, oneOf: ['email', 'account_id'] },
  'persons.csv': { file: 'persons.csv', columns: PERSONS_COLUMNS },
} as const satisfies Record<CsvFileName, FileSpec>;

const FILE_NAMES = Object.keys(CSV_FILES) as CsvFileName[];

/** A bad data row. `row` is numbered as a spreadsheet shows the file: the header is row 1. */
export interface CsvProblem {
  file: CsvFileName;
  row: number;
  reason: string;
}

/** `accounts.csv row 7: email: expected an e-mail address (got 'bo.example.com')`. */
export function formatProblem(problem: CsvProblem): string {
  return `${problem.file} row ${problem.row}: ${problem.reason}`;
}

/**
 * The CSV source cannot be imported: CSV_DIR or a file's header is wrong, a file is not valid CSV, or (without
 * `skipInvalid`) some rows are bad — then `problems` lists the first {@link MAX_LISTED_PROBLEMS} of `badRows`.
 */
export class CsvImportError extends Error {
  constructor(
    message: string,
    readonly problems: readonly CsvProblem[] = [],
    readonly badRows = problems.length,
  ) {
    super(message);
    this.name = 'CsvImportError';
  }
}

export interface CsvConnectorOptions {
  /** CSV_DIR: holds `subscriptions.csv`, `accounts.csv` and/or `persons.csv`. */
  dir: string;
  /** Skip bad rows (reporting each through `onInvalidRow`) instead of rejecting the files. */
  skipInvalid?: boolean;
  /** Called for every skipped row when `skipInvalid` is set. */
  onInvalidRow?: (problem: CsvProblem) => void;
}

/**
 * The `csv` connector over the files in `options.dir`. Create one per import: what it can do is decided now, from
 * which files exist and from the header of `accounts.csv` (a `last_activity_at` column is the usage signal).
 * @throws CsvImportError when the directory is missing, holds none of the files, or holds accounts without
 *   subscriptions
 */
export function createCsvConnector(options: CsvConnectorOptions): Connector {
  const paths = locateFiles(options.dir);
  const skipInvalid = options.skipInvalid === true;
  // The pipeline marks every license of this source with (or without) a usage signal from this flag. A file
  // without the column says nothing about activity: its seats must never look idle for lack of it.
  const usage =
    paths['accounts.csv'] !== undefined && headerOf(paths['accounts.csv']).includes('last_activity_at');
  let checkedPlan: Plan | undefined;

  /** Rows that parse; a bad one is reported (skipInvalid) or rejects the file (it changed since it was checked). */
  async function* accepted<T>(rows: AsyncIterable<Checked<T>>): AsyncGenerator<T> {
    for await (const checked of rows) {
      if (checked.ok) yield checked.value;
      else if (skipInvalid) options.onInvalidRow?.(checked.problem);
      else throw rejection([checked.problem], 1);
    }
  }

  function checkAccounts(path: string, plan: Plan): AsyncGenerator<Checked<VendorAccount>> {
    return checkRows(
      path,
      CSV_FILES['accounts.csv'],
      (row) => parseAccount(row, plan),
      (columns) => {
        if (columns.includes('last_activity_at') !== usage) throw changedError('accounts.csv');
      },
    );
  }

  /**
   * One pass over subscriptions.csv and accounts.csv keeping only a map subscription_id → accounts (the consumed
   * seats, which subscriptions are yielded with, so this pass must come first) and the bad rows (up to the cap).
   */
  async function makePlan(): Promise<Plan> {
    const plan: Plan = { consumed: new Map(), rejected: new Set() };
    const problems = new ProblemList();
    const subscriptions = paths['subscriptions.csv'];
    const accounts = paths['accounts.csv'];
    if (subscriptions) {
      for await (const checked of checkRows(
        subscriptions,
        CSV_FILES['subscriptions.csv'],
        parseSubscription,
      )) {
        if (checked.ok) plan.consumed.set(checked.value.key, 0);
        else {
          problems.add(checked.problem);
          if (checked.key) plan.rejected.add(checked.key);
        }
      }
    }
    if (accounts) {
      for await (const checked of checkAccounts(accounts, plan)) {
        if (!checked.ok) problems.add(checked.problem);
        else {
          const key = checked.value.subscriptionKey;
          plan.consumed.set(key, (plan.consumed.get(key) ?? 0) + 1);
        }
      }
    }
    if (!skipInvalid) problems.throwIfAny();
    return plan;
  }

  async function* subscriptionPages(): AsyncGenerator<VendorSubscription[]> {
    const path = paths['subscriptions.csv'];
    if (!path) return;
    const plan = await makePlan();
    checkedPlan = plan; // accounts() comes next and reuses it
    const rows = checkRows(path, CSV_FILES['subscriptions.csv'], parseSubscription);
    let yielded = 0;
    for await (const page of pages(accepted(rows))) {
      yield page.map((s) => ({ ...s, consumedUnits: plan.consumed.get(s.key) ?? 0 }));
      yielded += page.length;
    }
    if (yielded !== plan.consumed.size) throw changedError('subscriptions.csv');
  }

  async function* accountPages(): AsyncGenerator<VendorAccount[]> {
    const path = paths['accounts.csv'];
    if (!path) return;
    const plan = checkedPlan ?? (await makePlan());
    checkedPlan = undefined;
    // The subscriptions went out with these counts; accounts that no longer match them would contradict them.
    const remaining = new Map(plan.consumed);
    for await (const page of pages(accepted(checkAccounts(path, plan)))) {
      for (const account of page) {
        remaining.set(account.subscriptionKey, (remaining.get(account.subscriptionKey) ?? 0) - 1);
      }
      yield page;
    }
    if ([...remaining.values()].some((n) => n !== 0)) throw changedError('accounts.csv');
  }

  async function* personPages(path: string): AsyncGenerator<DirectoryPerson[]> {
    const spec = CSV_FILES['persons.csv'];
    if (!skipInvalid) {
      const problems = new ProblemList();
      for await (const checked of checkRows(path, spec, parsePerson)) {
        if (!checked.ok) problems.add(checked.problem);
      }
      problems.throwIfAny();
    }
    yield* pages(accepted(checkRows(path, spec, parsePerson)));
  }

  const personsPath = paths['persons.csv'];
  return {
    source: 'csv',
    capabilities: { usage, directory: personsPath !== undefined, emails: true, removal: false },
    subscriptions: subscriptionPages,
    accounts: accountPages,
    ...(personsPath ? { persons: () => personPages(personsPath) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Directory and files

type Paths = Partial<Record<CsvFileName, string>>;

function locateFiles(dir: string): Paths {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    entries = readdirSync(dir);
  } catch (error) {
    throw new CsvImportError(
      `CSV_DIR '${dir}' is not a readable directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). See README, "CSV files".`,
    );
  }
  // `Accounts.CSV` would be silently ignored on a case-sensitive file system: say so instead.
  const misnamed = entries.filter(
    (e) => FILE_NAMES.includes(e.toLowerCase() as CsvFileName) && !FILE_NAMES.includes(e as CsvFileName),
  );
  if (misnamed.length > 0) {
    throw new CsvImportError(
      `CSV_DIR '${dir}' holds ${misnamed.join(', ')}: the file names must be lower-case (${FILE_NAMES.join(', ')}).`,
    );
  }
  const paths: Paths = {};
  for (const name of FILE_NAMES) if (entries.includes(name)) paths[name] = join(dir, name);
  if (Object.keys(paths).length === 0) {
    throw new CsvImportError(
      `CSV_DIR '${dir}' holds none of ${FILE_NAMES.join(', ')}; nothing to import. See README, "CSV files".`,
    );
  }
  if (paths['accounts.csv'] && !paths['subscriptions.csv']) {
    throw new CsvImportError(
      `CSV_DIR '${dir}' holds accounts.csv but no subscriptions.csv: every account names a subscription_id listed there.`,
    );
  }
  return paths;
}

/**
 * The normalised column names of a file's header, read synchronously from its first 64 KiB (the connector must
 * know its capabilities when created). Empty when unreadable: the import itself then reports the real problem.
 */
function headerOf(path: string): string[] {
  const buffer = Buffer.alloc(64 * 1024);
  let length = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      length = readSync(fd, buffer, 0, buffer.length, 0);
    } finally {
      closeSync(fd);
    }
    const records = parseSync(buffer.subarray(0, length), { bom: true, to: 1, relax_column_count: true });
    return ((records[0] as string[] | undefined) ?? []).map(normalizeColumn);
  } catch {
    return [];
  }
}

function normalizeColumn(name: string): string {
  return name.trim().toLowerCase();
}

/** One data row; `get` gives a column's trimmed value, undefined when empty or when the header lacks it. */
interface CsvRow {
  row: number;
  get(column: string): string | undefined;
}

/**
 * The data rows of a file, header checked, blank rows skipped (but counted, as a spreadsheet numbers them).
 * @throws CsvImportError on a missing or bad header, unreadable file or malformed CSV (quotes)
 */
async function* readRows(
  path: string,
  spec: FileSpec,
  onHeader?: (columns: string[]) => void,
): AsyncGenerator<CsvRow | CsvProblem> {
  // Counting fields per row ourselves (relax_column_count) makes a wrong count one bad row, not a fatal error.
  const parser = parse({ bom: true, relax_column_count: true });
  // pipeline() destroys the parser when the file fails (and the file when we stop reading early).
  pipeline(createReadStream(path), parser, () => undefined);
  let row = 0;
  let index: Map<string, number> | undefined;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      row += 1;
      if (!index) {
        const columns = checkHeader(spec, record);
        onHeader?.(columns);
        index = new Map(columns.map((name, i) => [name, i]));
        continue;
      }
      if (record.every((value) => value.trim() === '')) continue;
      if (record.length !== index.size) {
        yield {
          file: spec.file,
          row,
          reason: `has ${record.length} fields but the header has ${index.size} (quote values that contain commas)`,
        };
        continue;
      }
      if (record.some((value) => value.includes('\uFFFD'))) {
        yield { file: spec.file, row, reason: 'is not UTF-8 text (save the file as "CSV UTF-8")' };
        continue;
      }
      const columns = index;
      yield {
        row,
        get(column) {
          const i = columns.get(column);
          const value = i === undefined ? '' : (record[i] ?? '').trim();
          return value === '' ? undefined : value;
        },
      };
    }
  } catch (error) {
    if (error instanceof CsvImportError) throw error;
    if (error instanceof CsvError) {
      throw new CsvImportError(`${spec.file} is not valid CSV after row ${row}: ${error.message}`);
    }
    throw new CsvImportError(`${spec.file} cannot be read: ${(error as Error).message}`);
  }
  if (!index) throw new CsvImportError(`${spec.file} is empty: it needs a header row naming its columns.`);
}

function checkHeader(spec: FileSpec, record: string[]): string[] {
  const columns = record.map(normalizeColumn);
  const known = Object.keys(spec.columns);
  if (columns.length === 1 && columns[0]?.includes(';')) {
    throw new CsvImportError(
      `${spec.file} header row: the columns are separated by ';'; save the file with ',' as the separator.`,
    );
  }
  const problems: string[] = [];
  const blank = columns.flatMap((name, i) => (name === '' ? [i + 1] : []));
  if (blank.length > 0) problems.push(`column ${blank.join(', ')} has no name`);
  // Rejected rather than ignored: a misspelt optional column would silently drop its data.
  const unknown = columns.filter((name) => name !== '' && !known.includes(name));
  if (unknown.length > 0) problems.push(`unknown column ${unknown.join(', ')}`);
  const repeated = columns.filter((name, i) => name !== '' && columns.indexOf(name) !== i);
  if (repeated.length > 0) problems.push(`column ${[...new Set(repeated)].join(', ')} appears twice`);
  const missing = Object.entries(spec.columns).filter(([name, c]) => c.required && !columns.includes(name));
  if (missing.length > 0)
    problems.push(`missing required column ${missing.map(([name]) => name).join(', ')}`);
  if (spec.oneOf && !spec.oneOf.some((name) => columns.includes(name))) {
    problems.push(`needs a column ${spec.oneOf.join(' or ')}`);
  }
  if (problems.length > 0) {
    throw new CsvImportError(
      `${spec.file} header row: ${problems.join('; ')}. Its columns are: ${known.join(', ')} (see README, "CSV files").`,
    );
  }
  return columns;
}

type Checked<T> = { ok: true; value: T } | { ok: false; problem: CsvProblem; key?: string };
type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The rows of a file, each parsed or rejected with its reason. */
async function* checkRows<T>(
  path: string,
  spec: FileSpec,
  parseRow: (row: CsvRow, seen: Map<string, number>) => Parsed<T>,
  onHeader?: (columns: string[]) => void,
): AsyncGenerator<Checked<T>> {
  // Row of each accepted key, for parsers that refuse duplicates (kept small: subscriptions only).
  const seen = new Map<string, number>();
  for await (const row of readRows(path, spec, onHeader)) {
    if ('reason' in row) {
      yield { ok: false, problem: row };
      continue;
    }
    const parsed = parseRow(row, seen);
    if (parsed.ok) yield parsed;
    else {
      const key = row.get('subscription_id');
      yield { ok: false, problem: { file: spec.file, row: row.row, reason: parsed.reason }, key };
    }
  }
}

async function* pages<T>(items: AsyncIterable<T>): AsyncGenerator<T[]> {
  let page: T[] = [];
  for await (const item of items) {
    page.push(item);
    if (page.length === CSV_PAGE_SIZE) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

class ProblemList {
  readonly listed: CsvProblem[] = [];
  total = 0;

  add(problem: CsvProblem): void {
    this.total += 1;
    if (this.listed.length < MAX_LISTED_PROBLEMS) this.listed.push(problem);
  }

  throwIfAny(): void {
    if (this.total > 0) throw rejection(this.listed, this.total);
  }
}

function rejection(listed: CsvProblem[], total: number): CsvImportError {
  // The message also stops short of MAX_MESSAGE_LENGTH: import_runs keeps 4,000 characters of an error, and a list
  // cut mid-row would hide how many rows were left out.
  const lines: string[] = [];
  let length = 0;
  for (const problem of listed) {
    const line = formatProblem(problem);
    if (lines.length > 0 && length + line.length + 2 > MAX_MESSAGE_LENGTH) break;
    lines.push(line);
    length += line.length + 2;
  }
  const more = total > lines.length ? `; … and ${total - lines.length} more` : '';
  return new CsvImportError(
    `${total} bad row${total === 1 ? '' : 's'}, so nothing was imported (fix ${total === 1 ? 'it' : 'them'}, or import with --skip-invalid to skip bad rows): ${lines.join('; ')}${more}`,
    listed,
    total,
  );
}

function changedError(file: CsvFileName): CsvImportError {
  return new CsvImportError(`${file} changed while it was being imported; run the import again.`);
}

// ---------------------------------------------------------------------------------------------------------------
// Rows

/** Accepted subscription_ids → rows of accounts.csv naming them; subscription_ids of rejected rows. */
interface Plan {
  consumed: Map<string, number>;
  rejected: Set<string>;
}

// The limits of src/inventory/records.ts: a row accepted here must pass the pipeline's own check, or one long
// value would fail the whole import even with skipInvalid.
const MAX_UNITS = 2_147_483_647; // PostgreSQL integer
const BOOLEANS = new Map([
  ['yes', true],
  ['y', true],
  ['true', true],
  ['1', true],
  ['no', false],
  ['n', false],
  ['false', false],
  ['0', false],
]);
const EMAIL = /^[^\s@,;<>()"]+@[^\s@,;<>()"]+\.[^\s@,;<>()".]+$/;
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;
const ISO_EXAMPLE = 'an ISO 8601 date (2026-11-20) or date-time (2026-11-20T08:00:00Z)';

const text = (max: number) => z.string().max(max, `expected at most ${max} characters`);
const email = z
  .string()
  .max(320, 'expected at most 320 characters')
  .regex(EMAIL, 'expected an e-mail address');
const count = z
  .string()
  .regex(/^\d+$/, 'expected a whole number ≥ 0')
  .transform(Number)
  .refine((n) => n <= MAX_UNITS, `expected at most ${MAX_UNITS}`);

/** A case-insensitive choice among `values`, given back as spelt in `values`. */
function oneOf<T extends string>(values: readonly T[]) {
  return z.string().transform((value, ctx) => {
    const found = values.find((v) => v.toLowerCase() === value.toLowerCase());
    if (found === undefined)
      ctx.issues.push({ code: 'custom', message: `expected ${values.join(', ')}`, input: value });
    return found as T;
  });
}

const yesNo = z.string().transform((value, ctx) => {
  const found = BOOLEANS.get(value.toLowerCase());
  if (found === undefined) ctx.issues.push({ code: 'custom', message: 'expected yes or no', input: value });
  return found === true;
});

const isoDate = z.string().transform((value, ctx) => {
  const date = parseIsoDate(value);
  if (!date) ctx.issues.push({ code: 'custom', message: `expected ${ISO_EXAMPLE}`, input: value });
  return date ?? new Date(Number.NaN);
});

// Built once: constructing a zod schema costs more than parsing a value, and rows come by the hundred thousand.
const id = text(512);
const label = text(200);
const loginText = text(320);
const longText = text(500);
const capabilityStatusField = oneOf(CAPABILITY_STATUSES);
const licenseModelField = oneOf(LICENSE_MODELS);
const personStatusField = oneOf(['active', 'departed'] as const);

/** ISO 8601 date or date-time; without a zone, UTC. Undefined for anything else, impossible dates included. */
export function parseIsoDate(value: string): Date | undefined {
  const m = ISO_DATE.exec(value);
  if (!m) return undefined;
  const [, y = '', mo = '', d = '', h = '00', mi = '00', s = '00', fraction = '', zone = 'Z'] = m;
  const daysInMonth = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
  const valid =
    Number(mo) >= 1 &&
    Number(mo) <= 12 &&
    Number(d) >= 1 &&
    Number(d) <= daysInMonth &&
    Number(h) <= 23 &&
    Number(mi) <= 59 &&
    Number(s) <= 59;
  if (!valid) return undefined;
  const offset = /^z$/i.test(zone) ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const ms = fraction.slice(1, 4).padEnd(3, '0');
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}${offset}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Reads a row's fields, collecting one reason per bad field. */
class Fields {
  private readonly problems: string[] = [];

  constructor(private readonly row: CsvRow) {}

  has(column: string): boolean {
    return this.row.get(column) !== undefined;
  }

  /** The parsed value; undefined when empty (a problem when `required`) or bad (a problem). */
  read<T>(column: string, schema: z.ZodType<T, string>, required = false): T | undefined {
    const raw = this.row.get(column);
    if (raw === undefined) {
      if (required) this.fail(column, 'required');
      return undefined;
    }
    const parsed = schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    const shown = raw.length > 60 ? `${raw.slice(0, 60)}…` : raw;
    this.fail(column, `${parsed.error.issues[0]?.message ?? 'invalid'} (got '${shown}')`);
    return undefined;
  }

  fail(column: string, message: string): void {
    this.problems.push(`${column}: ${message}`);
  }

  /** The record built by `make`, or the row's problems. */
  result<T>(make: () => T): Parsed<T> {
    return this.problems.length > 0
      ? { ok: false, reason: this.problems.join('; ') }
      : { ok: true, value: make() };
  }
}

type SubscriptionRow = Omit<VendorSubscription, 'consumedUnits'>;

function parseSubscription(row: CsvRow, seen: Map<string, number>): Parsed<SubscriptionRow> {
  const f = new Fields(row);
  const vendor = f.read('vendor', label, true);
  const key = f.read('subscription_id', id, true);
  const sku = f.read('sku', label, true);
  const name = f.read('name', longText, true);
  const purchased = f.read('purchased', count);
  const status: CapabilityStatus = f.read('status', capabilityStatusField) ?? 'Enabled';
  const unlimitedColumn = f.read('unlimited', yesNo);
  const licenseModel: LicenseModel | undefined = f.read('license_model', licenseModelField);
  const isTrial = f.read('trial', yesNo) ?? false;
  const nextLifecycleAt = f.read('next_lifecycle_date', isoDate) ?? null;
  const unlimited = unlimitedColumn === true || licenseModel === 'unlimited';
  if (unlimitedColumn === false && licenseModel === 'unlimited') {
    f.fail('unlimited', "is no, but license_model is 'unlimited'");
  }
  if (!unlimited && !f.has('purchased')) f.fail('purchased', 'required unless unlimited is yes');
  const firstRow = key === undefined ? undefined : seen.get(key);
  if (firstRow !== undefined) f.fail('subscription_id', `'${key}' is already on row ${firstRow}`);
  const parsed = f.result(() => {
    // Purchased seats are usable only while the subscription is Enabled or in its Warning grace period; the
    // inventory's "purchased" is enabled + warning units.
    const units = purchased ?? 0;
    return {
      key: key as string,
      vendor: vendor as string,
      sku: sku as string,
      name: name as string,
      ...(licenseModel ? { licenseModel } : {}),
      unlimited,
      capabilityStatus: status,
      enabledUnits: status === 'Enabled' ? units : 0,
      warningUnits: status === 'Warning' ? units : 0,
      suspendedUnits: status === 'Suspended' ? units : 0,
      lockedOutUnits: status === 'LockedOut' ? units : 0,
      isTrial,
      nextLifecycleAt,
    };
  });
  if (parsed.ok) seen.set(parsed.value.key, row.row);
  return parsed;
}

function parseAccount(row: CsvRow, plan: Plan): Parsed<VendorAccount> {
  const f = new Fields(row);
  const subscriptionKey = f.read('subscription_id', id, true);
  const accountId = f.read('account_id', id);
  const address = f.read('email', email);
  const login = f.read('login', loginText) ?? null;
  const assignedAt = f.read('assigned_at', isoDate) ?? null;
  const lastActivityAt = f.read('last_activity_at', isoDate) ?? null;
  const source = f.read('last_activity_source', label);
  const enabled = f.read('enabled', yesNo) ?? true;
  if (!f.has('account_id') && !f.has('email')) f.fail('email', 'required when account_id is empty');
  if (subscriptionKey !== undefined && !plan.consumed.has(subscriptionKey)) {
    f.fail(
      'subscription_id',
      plan.rejected.has(subscriptionKey)
        ? `'${subscriptionKey}' is on a rejected row of subscriptions.csv`
        : `'${subscriptionKey}' is not in subscriptions.csv`,
    );
  }
  return f.result(() => ({
    subscriptionKey: subscriptionKey as string,
    accountId: accountId ?? (address as string).toLowerCase(),
    email: address ?? null,
    login,
    enabled,
    assignedAt,
    lastActivityAt,
    lastActivitySource: lastActivityAt ? (source ?? 'csv') : null,
  }));
}

function parsePerson(row: CsvRow): Parsed<DirectoryPerson> {
  const f = new Fields(row);
  const primary = f.read('email', email, true);
  const aliases = f.read('aliases', aliasList);
  const displayName = f.read('display_name', longText) ?? null;
  const department = f.read('department', longText) ?? null;
  const costCenter = f.read('cost_center', label) ?? null;
  const managerEmail = f.read('manager_email', email) ?? null;
  const status = f.read('status', personStatusField);
  const departedAt = f.read('departed_at', isoDate) ?? null;
  // A missing leaving date is not defaulted to the import time: the next import would move it again. A person
  // dropped from the list is marked departed by the import anyway.
  if (status === 'departed' && !f.has('departed_at'))
    f.fail('departed_at', 'required when status is departed');
  if (status === 'active' && f.has('departed_at')) {
    f.fail('status', 'is active, but departed_at is set (write departed, or leave status empty)');
  }
  return f.result(() => {
    const others = (aliases ?? []).filter((a) => a.toLowerCase() !== primary?.toLowerCase());
    return {
      email: primary as string,
      ...(others.length > 0 ? { aliases: others } : {}),
      displayName,
      department,
      costCenter,
      managerEmail,
      enabled: departedAt === null,
      departedAt,
    };
  });
}

const aliasList = z.string().transform((value, ctx) => {
  const seen = new Set<string>();
  const aliases: string[] = [];
  for (const alias of value.split(';').map((a) => a.trim())) {
    if (alias === '' || seen.has(alias.toLowerCase())) continue;
    if (!email.safeParse(alias).success) {
      ctx.issues.push({ code: 'custom', message: `'${alias}' is not an e-mail address`, input: value });
    }
    seen.add(alias.toLowerCase());
    aliases.push(alias);
  }
  if (aliases.length > 200)
    ctx.issues.push({ code: 'custom', message: 'expected at most 200 aliases', input: value });
  return aliases;
});
