/**
 * The physical floor of an import: the same rows the import stores (persons, their addresses, the accounts) loaded
 * with COPY into tables of the same shape and indexes, in the same database, right after the import. The files are
 * written before the clock starts; the clock runs around `psql` doing the three `\copy`s in one transaction.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { BENCH_SKUS, userFacts, usersFor } from './org.ts';

const DAY_MS = 86_400_000;

/** Seconds COPY takes to load the rows of a `accounts`-account organisation into `databaseUrl`. */
export async function copyFloorSeconds(
  databaseUrl: string,
  accounts: number,
  reference: number,
): Promise<number> {
  const users = usersFor(accounts);
  const client = new pg.Client({ connectionString: databaseUrl });
  // A dropped connection fails the measurement through the query that meets it, not the whole process.
  client.on('error', () => undefined);
  await client.connect();
  const dir = mkdtempSync(join(tmpdir(), 'sk-bench-copy-'));
  try {
    const licenses = await client.query<{ id: string; vendor_key: string }>(
      `SELECT id, vendor_key FROM licenses WHERE source = 'm365'`,
    );
    const licenseOf = new Map(licenses.rows.map((r) => [r.vendor_key, r.id]));
    await client.query(`
      DROP TABLE IF EXISTS bench_floor_subscribers, bench_floor_person_emails, bench_floor_persons;
      CREATE TABLE bench_floor_persons (LIKE persons INCLUDING ALL);
      CREATE TABLE bench_floor_person_emails (LIKE person_emails INCLUDING ALL);
      CREATE TABLE bench_floor_subscribers (LIKE cloud_subscribers INCLUDING ALL);`);

    const personsFile = join(dir, 'persons.csv');
    const emailsFile = join(dir, 'emails.csv');
    const accountsFile = join(dir, 'accounts.csv');
    const drain = async (ok: boolean, stream: () => NodeJS.WritableStream) => {
      if (!ok) await once(stream(), 'drain');
    };
    const persons = createWriteStream(personsFile);
    const emails = createWriteStream(emailsFile);
    const accountRows = createWriteStream(accountsFile);
    for (let k = 0; k < users; k++) {
      const f = userFacts(k);
      const id = k + 1;
      await drain(
        persons.write(
          `${id},${f.mail},${f.displayName},${f.department},${!f.enabled ? 'f' : 't'},m365,${f.id}\n`,
        ),
        () => persons,
      );
      await drain(emails.write(`${f.mail.toLowerCase()},${id},t,m365\n`), () => emails);
      if (f.mail !== f.upn) await drain(emails.write(`${f.upn},${id},f,m365\n`), () => emails);
      const at = f.signInDaysAgo === null ? '' : new Date(reference - f.signInDaysAgo * DAY_MS).toISOString();
      for (const s of f.skus) {
        const sku = BENCH_SKUS[s]?.skuId as string;
        await drain(
          accountRows.write(
            `${licenseOf.get(sku)},${f.id},${f.mail},${id},${f.enabled ? 't' : 'f'},${f.groupSkus.has(s) ? 't' : 'f'},${at},${at ? 'graph:lastSuccessfulSignInDateTime' : ''}\n`,
          ),
          () => accountRows,
        );
      }
    }
    for (const stream of [persons, emails, accountRows]) {
      stream.end();
      await once(stream, 'finish');
    }

    const script = [
      `\\copy bench_floor_persons (id, primary_email, display_name, department, directory_enabled, source, external_id) FROM '${personsFile}' WITH (FORMAT csv)`,
      `\\copy bench_floor_person_emails (email, person_id, is_primary, source) FROM '${emailsFile}' WITH (FORMAT csv)`,
      `\\copy bench_floor_subscribers (license_id, vendor_account_id, email, person_id, account_enabled, group_inherited, last_activity_at, last_activity_source) FROM '${accountsFile}' WITH (FORMAT csv)`,
    ].join('\n');
    const started = performance.now();
    const psql = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-1', '-d', databaseUrl], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    psql.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    psql.stdin.end(`${script}\n`);
    const [code] = (await once(psql, 'exit')) as [number];
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`psql \\copy failed (${code}): ${stderr.trim()}`);
    await client.query(`DROP TABLE bench_floor_subscribers, bench_floor_person_emails, bench_floor_persons`);
    return seconds;
  } finally {
    await client.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
