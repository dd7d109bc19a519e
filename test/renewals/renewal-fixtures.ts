/** Shared set-up for the renewal tests: licenses as an import leaves them, actors, contexts and a settable clock. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setContract } from '../../handlers/contracts.ts';
import type { Actor, HandlerContext, Role } from '../../handlers/types.ts';
import type { Config } from '../../src/config/config.ts';
import type { Store } from '../../src/store/store.ts';

const DAY_MS = 86_400_000;

/** `day` plus `days`, both `YYYY-MM-DD`. */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** A clock the test moves by hand; reads 09:00 UTC of the day it is set to. */
export class TestClock {
  private at: Date;
  constructor(day: string) {
    this.at = new Date(`${day}T09:00:00Z`);
  }
  readonly now = (): Date => this.at;
  setDay(day: string): void {
    this.at = new Date(`${day}T09:00:00Z`);
  }
  get day(): string {
    return this.at.toISOString().slice(0, 10);
  }
}

export function actor(email: string, roles: Role[]): Actor {
  return { id: email, email, personId: null, displayName: email, roles, surface: 'cli' };
}

export const IT_MANAGER = actor('ivy@example.com', ['it-manager']);
export const FINANCE = actor('fin@example.com', ['finance']);
export const ADMIN = actor('ada@example.com', ['admin']);
export const HELPDESK = actor('hal@example.com', ['helpdesk']);

/** A roles file naming the actors above, and a config that reads it. */
export function withRoles(config: Config): { config: Config; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sk-roles-'));
  const file = join(dir, 'roles.json');
  writeFileSync(
    file,
    JSON.stringify({
      'it-manager': [IT_MANAGER.id],
      finance: [FINANCE.id],
      admin: [ADMIN.id],
      helpdesk: [HELPDESK.id],
    }),
  );
  return { config: { ...config, SEATKEEPER_ROLES_FILE: file }, file };
}

export function context(store: Store, config: Config, who: Actor, clock: TestClock): HandlerContext {
  return { store, config, actor: who, now: clock.now };
}

/** A license as an import leaves it: units from the vendor, no contract terms yet. */
export async function insertLicense(
  store: Store,
  over: { sku: string; vendor?: string; name?: string; enabled?: number; consumed?: number },
): Promise<number> {
  const result = await store.pool.query<{ id: number }>(
    `INSERT INTO licenses (source, vendor_key, vendor, sku, name, enabled_units, consumed_units)
     VALUES ('csv', $1, $2, $1, $3, $4, $5) RETURNING id`,
    [over.sku, over.vendor ?? 'Figma', over.name ?? over.sku, over.enabled ?? 10, over.consumed ?? 0],
  );
  return result.rows[0]?.id as number;
}

/** A known person with an address, as a directory import makes one. */
export async function insertPerson(store: Store, email: string): Promise<number> {
  const person = await store.pool.query<{ id: number }>(
    `INSERT INTO persons (primary_email, display_name, source) VALUES ($1, $1, 'manual') RETURNING id`,
    [email],
  );
  const id = person.rows[0]?.id as number;
  await store.pool.query(
    `INSERT INTO person_emails (email, person_id, is_primary, source) VALUES ($1, $2, true, 'manual')`,
    [email, id],
  );
  return id;
}

/** Consumed seats as an import would have recorded them at `at`. */
export async function snapshot(store: Store, licenseId: number, at: Date, consumed: number): Promise<void> {
  await store.pool.query(
    `INSERT INTO license_snapshots (license_id, taken_at, consumed) VALUES ($1, $2, $3)`,
    [licenseId, at, consumed],
  );
}

/** Sets contract terms through the handler (as `contract set` does) and fails the test on refusal. */
export async function contract(ctx: HandlerContext, input: Parameters<typeof setContract>[1]): Promise<void> {
  const result = await setContract(ctx, input);
  if (!result.ok) throw new Error(`contract set failed: ${result.error.message}`);
}

export const daysBefore = (clock: TestClock, days: number): Date =>
  new Date(clock.now().getTime() - days * DAY_MS);
