/**
 * A deterministic organisation of any size for the benchmarks: one Microsoft 365 tenant with 50 subscriptions and
 * as many users as it takes to hold the asked number of license assignments (2.5 per user on average).
 *
 * Nothing is materialised: user k is computed from k on demand, and the organisation hands the Graph fake lazy
 * views (`users`, `activity`) that look like the arrays and maps the fake reads. A million accounts cost the fake
 * process a few megabytes, and the measured importer sees exactly the pages Graph would send.
 */
import type {
  GraphCompanySubscription,
  GraphOrg,
  GraphSku,
  GraphUser,
  ReportActivity,
} from '../test/fakes/graph-fixtures.ts';

export const BENCH_TENANT_ID = '5b0c8e4e-6a2f-4d39-9c1e-0f7a3b2d9e61';
export const BENCH_DOMAIN = 'bench.example';
export const SUBSCRIPTION_COUNT = 50;
/** Average license assignments per user (1 to 4, evenly). */
export const LICENSES_PER_USER = 2.5;

const DAY_MS = 86_400_000;

/** Part numbers of the tenant's subscriptions: the common ones first, the long tail after. */
const PART_NUMBERS = [
  'SPE_E3',
  'ENTERPRISEPACK',
  'SPE_E5',
  'POWER_BI_PRO',
  'VISIOCLIENT',
  'PROJECTPROFESSIONAL',
  'MCOEV',
  'EMS',
  'FLOW_FREE',
  'POWER_BI_STANDARD',
  'TEAMS_EXPLORATORY',
  'STREAM',
  'WIN_DEF_ATP',
  'ATP_ENTERPRISE',
  'DYN365_ENTERPRISE_SALES',
  'PROJECTPREMIUM',
  'VISIO_PLAN1_DEPT',
  'MCOMEETADV',
  'INTUNE_A',
  'AAD_PREMIUM_P2',
];

export interface BenchSku {
  skuId: string;
  partNumber: string;
}

/** 32-bit mix of (seed, k): the same k always gives the same numbers. */
function mix(seed: number, k: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(k + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) from (seed, k). */
function unit(seed: number, k: number): number {
  return mix(seed, k) / 4_294_967_296;
}

/** A GUID-shaped id from (seed, k), stable across runs. */
function guid(seed: number, k: number): string {
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  const a = hex(mix(seed, k));
  const b = hex(mix(seed + 1, k));
  const c = hex(mix(seed + 2, k));
  const d = hex(k);
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-a${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

export const BENCH_SKUS: readonly BenchSku[] = Array.from({ length: SUBSCRIPTION_COUNT }, (_, i) => ({
  skuId: guid(7, i),
  partNumber: PART_NUMBERS[i] ?? `LOB_APP_${String(i + 1).padStart(2, '0')}`,
}));

// Zipf-like popularity: a few subscriptions hold most seats, the long tail holds a few each.
const WEIGHTS = BENCH_SKUS.map((_, i) => 1 / (i + 1) ** 0.9);
const CUMULATIVE = (() => {
  const total = WEIGHTS.reduce((a, b) => a + b, 0);
  let sum = 0;
  return WEIGHTS.map((w) => {
    sum += w / total;
    return sum;
  });
})();

function pickSku(r: number): number {
  const found = CUMULATIVE.findIndex((c) => r < c);
  return found === -1 ? SUBSCRIPTION_COUNT - 1 : found;
}

/** What the generator decides about user k; everything else is derived from it. */
export interface BenchUserFacts {
  index: number;
  id: string;
  upn: string;
  mail: string;
  displayName: string;
  department: string;
  enabled: boolean;
  /** Indexes into BENCH_SKUS, distinct. */
  skus: number[];
  /** Skus assigned through a group only. */
  groupSkus: Set<number>;
  /** Days before the reference day of the last sign-in; null = never signed in. */
  signInDaysAgo: number | null;
  /** Days before the reference day of the last Office activity in the usage report; null = none. */
  reportDaysAgo: number | null;
}

const DEPARTMENTS = ['Sales', 'Engineering', 'Finance', 'Marketing', 'Support', 'Operations', 'Legal', 'HR'];

/**
 * User k. The activity spread: 62% signed in within 30 days, 15% 30–89 days ago, 13% 90–365 days ago, 10% never;
 * 3% of accounts are disabled; 20% of base licenses come from a group.
 */
export function userFacts(k: number): BenchUserFacts {
  const count = 1 + (mix(11, k) % 4);
  const skus: number[] = [];
  // Most users hold the base suite; the rest of their licenses follow popularity.
  if (unit(12, k) < 0.85) skus.push(0);
  for (let n = 0; skus.length < count && n < 16; n++) {
    const pick = pickSku(unit(13 + n, k));
    if (!skus.includes(pick)) skus.push(pick);
  }
  while (skus.length < count) {
    const next = (skus[skus.length - 1] as number) + 1;
    skus.push(next % SUBSCRIPTION_COUNT);
  }
  const groupSkus = new Set<number>();
  if (skus[0] === 0 && unit(40, k) < 0.2) groupSkus.add(0);
  const r = unit(41, k);
  const spread = unit(42, k);
  const signInDaysAgo =
    r < 0.62
      ? Math.floor(spread * 30)
      : r < 0.77
        ? 30 + Math.floor(spread * 60)
        : r < 0.9
          ? 90 + Math.floor(spread * 275)
          : null;
  const reportDaysAgo =
    signInDaysAgo === null ? null : unit(43, k) < 0.8 ? signInDaysAgo + Math.floor(unit(44, k) * 3) : null;
  const name = `user${k}`;
  return {
    index: k,
    id: guid(3, k),
    upn: `${name}@${BENCH_DOMAIN}`,
    // A few have a mail address that differs from their sign-in name (matched through the alias).
    mail: unit(45, k) < 0.05 ? `first.last${k}@${BENCH_DOMAIN}` : `${name}@${BENCH_DOMAIN}`,
    displayName: `User ${k}`,
    department: DEPARTMENTS[mix(46, k) % DEPARTMENTS.length] as string,
    enabled: unit(47, k) >= 0.03,
    skus,
    groupSkus,
    signInDaysAgo,
    reportDaysAgo,
  };
}

/** How many users hold `accounts` license assignments (about). */
export function usersFor(accounts: number): number {
  return Math.max(1, Math.round(accounts / LICENSES_PER_USER));
}

function isoDaysAgo(reference: number, days: number, secondOfDay = 0): string {
  return new Date(reference - days * DAY_MS + secondOfDay * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** User k as Graph's `/users` returns it. */
export function graphUser(k: number, reference: number): GraphUser {
  const f = userFacts(k);
  const user: GraphUser = {
    id: f.id,
    displayName: f.displayName,
    givenName: 'User',
    surname: String(k),
    jobTitle: null,
    userPrincipalName: f.upn,
    mail: f.mail,
    proxyAddresses: [`SMTP:${f.mail}`, ...(f.mail !== f.upn ? [`smtp:${f.upn}`] : [])],
    accountEnabled: f.enabled,
    department: f.department,
    assignedLicenses: f.skus.map((s) => ({ disabledPlans: [], skuId: (BENCH_SKUS[s] as BenchSku).skuId })),
    licenseAssignmentStates: f.skus.map((s) => ({
      assignedByGroup: f.groupSkus.has(s) ? guid(50, s) : null,
      disabledPlans: [],
      error: null,
      lastUpdatedDateTime: '2025-06-01T08:00:00Z',
      skuId: (BENCH_SKUS[s] as BenchSku).skuId,
      state: 'Active',
    })),
  };
  if (f.signInDaysAgo !== null) {
    const at = isoDaysAgo(reference, f.signInDaysAgo, mix(48, k) % 86_400);
    user.signInActivity = {
      lastSignInDateTime: at,
      lastSignInRequestId: guid(49, k),
      lastNonInteractiveSignInDateTime: at,
      lastNonInteractiveSignInRequestId: guid(51, k),
      lastSuccessfulSignInDateTime: at,
      lastSuccessfulSignInRequestId: guid(49, k),
    };
  }
  return user;
}

/** An array-shaped view whose element k is made on each read (what the Graph fake slices and iterates). */
function lazyArray<T>(length: number, at: (k: number) => T): T[] {
  const isIndex = (p: string | symbol): p is string => typeof p === 'string' && /^(0|[1-9]\d*)$/.test(p);
  return new Proxy([] as T[], {
    get(target, prop, receiver) {
      if (prop === 'length') return length;
      if (isIndex(prop)) {
        const k = Number(prop);
        return k < length ? at(k) : undefined;
      }
      return Reflect.get(target, prop, receiver);
    },
    has(target, prop) {
      if (isIndex(prop)) return Number(prop) < length;
      return Reflect.has(target, prop);
    },
  });
}

/** Seats per subscription, counted once per organisation size (the tenant's `consumedUnits`). */
export function consumedUnits(users: number): number[] {
  const consumed = BENCH_SKUS.map(() => 0);
  for (let k = 0; k < users; k++)
    for (const s of userFacts(k).skus) consumed[s] = (consumed[s] as number) + 1;
  return consumed;
}

/**
 * The tenant for `accounts` license assignments, with activity dated back from `reference` (midnight UTC of the
 * run's day), for the Graph fake of the tests.
 */
export function benchOrg(accounts: number, reference: number): GraphOrg & { accountCount: number } {
  const userCount = usersFor(accounts);
  const consumed = consumedUnits(userCount);
  const skus: GraphSku[] = BENCH_SKUS.map((s, i) => {
    const used = consumed[i] as number;
    // Most subscriptions have 5–15% headroom; every tenth is over-assigned (an overage finding).
    const enabled =
      i % 10 === 9 ? Math.floor(used * 0.95) : Math.ceil(used * (1.05 + (mix(60, i) % 10) / 100));
    return {
      id: `${BENCH_TENANT_ID}_${s.skuId}`,
      accountId: BENCH_TENANT_ID,
      accountName: 'Bench',
      appliesTo: 'User',
      capabilityStatus: 'Enabled',
      consumedUnits: used,
      prepaidUnits: { enabled, suspended: 0, warning: 0, lockedOut: 0 },
      servicePlans: [],
      skuId: s.skuId,
      skuPartNumber: s.partNumber,
      subscriptionIds: [guid(61, i)],
    };
  });
  const subscriptions: GraphCompanySubscription[] = BENCH_SKUS.map((s, i) => ({
    id: guid(61, i),
    commerceSubscriptionId: `c-${guid(61, i)}`,
    createdDateTime: '2024-01-15T00:00:00Z',
    nextLifecycleDateTime: new Date(reference + (30 + i * 7) * DAY_MS).toISOString(),
    isTrial: false,
    ownerId: null,
    ownerTenantId: null,
    ownerType: null,
    serviceStatus: [],
    skuId: s.skuId,
    skuPartNumber: s.partNumber,
    status: 'Enabled',
    totalLicenses: (skus[i] as GraphSku).prepaidUnits.enabled,
  }));
  const activity = new Proxy({} as Record<string, ReportActivity>, {
    get(_target, prop) {
      if (typeof prop !== 'string') return undefined;
      // The user id ends with the user's index in hex (see guid()).
      const k = Number.parseInt(prop.slice(-8), 16);
      const days = userFacts(k).reportDaysAgo;
      if (days === null) return undefined;
      const day = isoDaysAgo(reference, days).slice(0, 10);
      return { exchange: day, teams: day };
    },
  });
  const accountCount = (() => {
    let n = 0;
    for (const c of consumed) n += c;
    return n;
  })();
  return {
    tenantId: BENCH_TENANT_ID,
    skus,
    subscriptions,
    users: lazyArray(userCount, (k) => graphUser(k, reference)),
    activity,
    deletedReportRows: [],
    reportRefreshDate: new Date(reference - DAY_MS).toISOString().slice(0, 10),
    accountCount,
  };
}
