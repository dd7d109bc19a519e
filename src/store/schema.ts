/**
 * The inventory model. Seed "Purchased licenses – SaaS subscription inventory" is the specification: licenses
 * (subscriptions), cloud subscribers (assigned accounts) matched to persons by e-mail, clearing, license
 * requirements. Derived values (license type and status, available seats, clearing) live in views so they can
 * never disagree with the rows they come from.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  pgView,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const persons = pgTable(
  'persons',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    primaryEmail: text('primary_email').notNull(),
    displayName: text('display_name'),
    department: text('department'),
    costCenter: text('cost_center'),
    managerEmail: text('manager_email'),
    /** `active` or `departed`. */
    employmentStatus: text('employment_status').notNull().default('active'),
    departedAt: tz('departed_at'),
    /** False when the directory account is disabled or suspended. */
    directoryEnabled: boolean('directory_enabled').notNull().default(true),
    slackUserId: text('slack_user_id'),
    teamsAadObjectId: text('teams_aad_object_id'),
    /** Where the person came from: `m365`, `google`, `csv`, `manual`. */
    source: text('source').notNull(),
    /** The source's own id of the person (directory object id), when it has one. */
    externalId: text('external_id'),
    createdAt: tz('created_at').notNull().defaultNow(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('persons_primary_email_uq').on(sql`lower(${t.primaryEmail})`),
    index('persons_slack_idx').on(t.slackUserId),
    index('persons_teams_idx').on(t.teamsAadObjectId),
    index('persons_external_idx').on(t.source, t.externalId),
  ],
);

/** Every address of a person (primary and aliases), lower-cased: the matching key. */
export const personEmails = pgTable(
  'person_emails',
  {
    email: text('email').primaryKey(),
    personId: bigint('person_id', { mode: 'number' })
      .notNull()
      .references(() => persons.id, { onDelete: 'cascade' }),
    isPrimary: boolean('is_primary').notNull().default(false),
    /** Who added the address: the directory source, or `manual` (clearing); manual aliases survive imports. */
    source: text('source').notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
  },
  (t) => [index('person_emails_person_idx').on(t.personId)],
);

/** The software product catalog (the seed's "LIS"). */
export const products = pgTable(
  'products',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    publisher: text('publisher').notNull(),
    name: text('name').notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('products_publisher_name_uq').on(t.publisher, t.name)],
);

/** Publisher part numbers (SKUs) of catalog products. */
export const productSkus = pgTable(
  'product_skus',
  {
    /** Lower-cased part number. */
    sku: text('sku').primaryKey(),
    productId: bigint('product_id', { mode: 'number' })
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    /** `named_user`, `device`, `concurrent`, `unlimited`. */
    licenseModel: text('license_model').notNull().default('named_user'),
    description: text('description'),
  },
  (t) => [index('product_skus_product_idx').on(t.productId)],
);

/** License pools group licenses by cost center or org unit. */
export const licensePools = pgTable('license_pools', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull().unique(),
  costCenter: text('cost_center'),
  orgUnit: text('org_unit'),
  createdAt: tz('created_at').notNull().defaultNow(),
});

/** A license: one subscription imported from a vendor. */
export const licenses = pgTable(
  'licenses',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** The import source that owns the row (`m365`, `adobe`, `csv:figma`, ...). */
    source: text('source').notNull(),
    /** The vendor's immutable id of the subscription (e.g. Graph skuId). */
    vendorKey: text('vendor_key').notNull(),
    vendor: text('vendor').notNull(),
    /** Publisher part number (SKU), as the vendor spells it. */
    sku: text('sku').notNull(),
    /** The vendor's display name of the plan. */
    name: text('name').notNull(),
    /** Set from the catalog by SKU, or by hand. */
    productId: bigint('product_id', { mode: 'number' }).references(() => products.id, {
      onDelete: 'set null',
    }),
    /** Set by hand when the product was chosen explicitly (catalog matching then leaves it alone). */
    productPinned: boolean('product_pinned').notNull().default(false),
    poolId: bigint('pool_id', { mode: 'number' }).references(() => licensePools.id, { onDelete: 'set null' }),
    /** `named_user` (default), `device`, `concurrent`, `unlimited`. */
    licenseModel: text('license_model').notNull().default('named_user'),
    unlimited: boolean('unlimited').notNull().default(false),
    /** Enabled, Warning, Suspended, Deleted, LockedOut. */
    capabilityStatus: text('capability_status').notNull().default('Enabled'),
    consumedUnits: integer('consumed_units').notNull().default(0),
    enabledUnits: integer('enabled_units').notNull().default(0),
    suspendedUnits: integer('suspended_units').notNull().default(0),
    warningUnits: integer('warning_units').notNull().default(0),
    lockedOutUnits: integer('locked_out_units').notNull().default(0),
    isTrial: boolean('is_trial').notNull().default(false),
    /** When the subscription moves to its next lifecycle state (Graph `nextLifecycleDateTime`). */
    nextLifecycleAt: tz('next_lifecycle_at'),
    /** Whether the source reports activity for this license's accounts. */
    usageSignal: boolean('usage_signal').notNull().default(false),
    /** False once the subscription no longer comes from the vendor. */
    present: boolean('present').notNull().default(true),
    // Purchase information.
    unitPrice: numeric('unit_price', { precision: 14, scale: 4 }),
    currency: text('currency'),
    /** `monthly` or `annual`. */
    billingPeriod: text('billing_period'),
    termStart: date('term_start'),
    termEnd: date('term_end'),
    renewalDate: date('renewal_date'),
    noticeDays: integer('notice_days'),
    autoRenew: boolean('auto_renew'),
    costCenter: text('cost_center'),
    ownerEmail: text('owner_email'),
    commitFloor: integer('commit_floor'),
    /** Largest price increase accepted at renewal, in percent. */
    priceUpliftCap: numeric('price_uplift_cap', { precision: 6, scale: 2 }),
    vendorContact: text('vendor_contact'),
    /** Days without activity after which a seat of this license is idle; null = the configured default. */
    idleDays: integer('idle_days'),
    /** Minimum entitlement period of this license's requirements; null = the configured default. */
    minEntitlementDays: integer('min_entitlement_days'),
    firstImportAt: tz('first_import_at').notNull().defaultNow(),
    lastImportAt: tz('last_import_at').notNull().defaultNow(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('licenses_source_key_uq').on(t.source, t.vendorKey),
    index('licenses_sku_idx').on(sql`lower(${t.sku})`),
  ],
);

/** A cloud subscriber: an account the vendor has assigned to a license. */
export const cloudSubscribers = pgTable(
  'cloud_subscribers',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    licenseId: bigint('license_id', { mode: 'number' })
      .notNull()
      .references(() => licenses.id, { onDelete: 'cascade' }),
    /** The vendor's immutable account id. */
    vendorAccountId: text('vendor_account_id').notNull(),
    /** E-mail of the account; null where the vendor has none (e.g. a GitHub login without a public e-mail). */
    email: text('email'),
    /** The vendor's login name, when it differs from the e-mail. */
    login: text('login'),
    personId: bigint('person_id', { mode: 'number' }).references(() => persons.id, { onDelete: 'set null' }),
    isActive: boolean('is_active').notNull().default(true),
    inactiveSince: tz('inactive_since'),
    /** Whether the vendor account itself is enabled (sign-in allowed). */
    accountEnabled: boolean('account_enabled').notNull().default(true),
    /** The license comes from a group assignment and cannot be removed for this account alone. */
    groupInherited: boolean('group_inherited').notNull().default(false),
    assignedAt: tz('assigned_at'),
    lastActivityAt: tz('last_activity_at'),
    /** Where `last_activity_at` came from (e.g. `graph:signInActivity`); null with it means never seen active. */
    lastActivitySource: text('last_activity_source'),
    /** `person` (default), `service`, `shared`, `external`: only person accounts need a match. */
    accountKind: text('account_kind').notNull().default('person'),
    note: text('note'),
    /** First import that saw the account. Its last import date is its license's. */
    firstImportAt: tz('first_import_at').notNull().defaultNow(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('subscribers_license_account_uq').on(t.licenseId, t.vendorAccountId),
    index('subscribers_email_idx').on(sql`lower(${t.email})`),
    index('subscribers_person_idx').on(t.personId),
    index('subscribers_clearing_idx').on(t.licenseId).where(sql`${t.personId} IS NULL AND ${t.isActive}`),
    // A license's holders in who-has order (active first, then by address), read a page at a time. "C" order:
    // addresses compare byte by byte, several times cheaper than a language's collation.
    index('subscribers_license_order_idx').on(
      t.licenseId,
      t.isActive.desc(),
      sql`lower(COALESCE(${t.email}, ${t.login})) COLLATE "C"`,
      t.id,
    ),
  ],
);

/**
 * Accounts per license as running deltas (see `finding_tallies`): statement triggers on `cloud_subscribers` append
 * what each insert or delete added or took away; a recomputation folds them to one row per license. Updates move
 * no account between licenses, so they add nothing.
 */
export const subscriberTallies = pgTable(
  'subscriber_tallies',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    licenseId: bigint('license_id', { mode: 'number' }).notNull(),
    accounts: bigint('accounts', { mode: 'number' }).notNull(),
  },
  (t) => [index('subscriber_tallies_license_idx').on(t.licenseId)],
);

/** A license requirement: the entitlement a valid license gives a person. */
export const licenseRequirements = pgTable(
  'license_requirements',
  {
    personId: bigint('person_id', { mode: 'number' })
      .notNull()
      .references(() => persons.id, { onDelete: 'cascade' }),
    licenseId: bigint('license_id', { mode: 'number' })
      .notNull()
      .references(() => licenses.id, { onDelete: 'cascade' }),
    createdAt: tz('created_at').notNull().defaultNow(),
    /** The requirement (and an inactive subscriber behind it) is kept at least until then. */
    minEntitlementUntil: tz('min_entitlement_until').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.personId, t.licenseId] }),
    index('requirements_license_idx').on(t.licenseId),
  ],
);

/** Per-license counts at each import, for trends. */
export const licenseSnapshots = pgTable(
  'license_snapshots',
  {
    licenseId: bigint('license_id', { mode: 'number' })
      .notNull()
      .references(() => licenses.id, { onDelete: 'cascade' }),
    takenAt: tz('taken_at').notNull(),
    importRunId: bigint('import_run_id', { mode: 'number' }),
    purchased: integer('purchased'),
    consumed: integer('consumed').notNull(),
    active: integer('active'),
  },
  (t) => [primaryKey({ columns: [t.licenseId, t.takenAt] })],
);

/**
 * One running import per source, across processes and replicas: a lease renewed while the import runs, so a
 * crashed importer's lease expires and the next run takes over (and clears what the dead one staged).
 */
export const importLeases = pgTable('import_leases', {
  source: text('source').primaryKey(),
  runId: bigint('run_id', { mode: 'number' }).notNull(),
  expiresAt: tz('expires_at').notNull(),
  /** `host:pid` of the importing process: a dead holder on this host is taken over at once, not at expiry. */
  holder: text('holder'),
});

export const importRuns = pgTable(
  'import_runs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    source: text('source').notNull(),
    /** `cli`, `schedule`, ... */
    trigger: text('trigger').notNull(),
    startedAt: tz('started_at').notNull().defaultNow(),
    finishedAt: tz('finished_at'),
    /** `running`, `succeeded`, `failed`. */
    outcome: text('outcome').notNull().default('running'),
    counts: jsonb('counts').$type<Record<string, number>>().notNull().default({}),
    error: text('error'),
  },
  (t) => [index('import_runs_source_idx').on(t.source, t.startedAt)],
);

/** Append-only: a database trigger rejects UPDATE and DELETE. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: tz('at').notNull().defaultNow(),
    actor: text('actor').notNull(),
    /** `cli`, `slack`, `teams`, `web`, `system`. */
    surface: text('surface').notNull(),
    action: text('action').notNull(),
    target: text('target'),
    before: jsonb('before'),
    after: jsonb('after'),
  },
  (t) => [index('audit_at_idx').on(t.at), index('audit_actor_idx').on(t.actor)],
);

// Staging: an import streams vendor pages here, then switches them into the inventory in one transaction.
export const stagingSubscriptions = pgTable(
  'staging_subscriptions',
  {
    runId: bigint('run_id', { mode: 'number' }).notNull(),
    vendorKey: text('vendor_key').notNull(),
    vendor: text('vendor').notNull(),
    sku: text('sku').notNull(),
    name: text('name').notNull(),
    licenseModel: text('license_model'),
    unlimited: boolean('unlimited').notNull(),
    capabilityStatus: text('capability_status').notNull(),
    consumedUnits: integer('consumed_units').notNull(),
    enabledUnits: integer('enabled_units').notNull(),
    suspendedUnits: integer('suspended_units').notNull(),
    warningUnits: integer('warning_units').notNull(),
    lockedOutUnits: integer('locked_out_units').notNull(),
    isTrial: boolean('is_trial').notNull(),
    nextLifecycleAt: tz('next_lifecycle_at'),
    usageSignal: boolean('usage_signal').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.vendorKey] })],
);

export const stagingAccounts = pgTable(
  'staging_accounts',
  {
    runId: bigint('run_id', { mode: 'number' }).notNull(),
    subscriptionKey: text('subscription_key').notNull(),
    vendorAccountId: text('vendor_account_id').notNull(),
    email: text('email'),
    login: text('login'),
    accountEnabled: boolean('account_enabled').notNull(),
    groupInherited: boolean('group_inherited').notNull(),
    assignedAt: tz('assigned_at'),
    lastActivityAt: tz('last_activity_at'),
    lastActivitySource: text('last_activity_source'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.subscriptionKey, t.vendorAccountId] })],
);

export const stagingPersons = pgTable(
  'staging_persons',
  {
    runId: bigint('run_id', { mode: 'number' }).notNull(),
    email: text('email').notNull(),
    aliases: text('aliases').array().notNull(),
    displayName: text('display_name'),
    department: text('department'),
    costCenter: text('cost_center'),
    managerEmail: text('manager_email'),
    enabled: boolean('enabled').notNull(),
    departedAt: tz('departed_at'),
    externalId: text('external_id'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.email] })],
);

/**
 * Licenses with what the seed derives from them: type (`SaaS`, or `Subscription` once the SKU is in the catalog),
 * status (`invalid` while purchase information, product or pool is missing; else `used`/`unused` = requirements
 * made or not) and purchased usage rights (null when unlimited).
 */
export const licenseOverview = pgView('license_overview', {
  id: bigint('id', { mode: 'number' }).notNull(),
  source: text('source').notNull(),
  vendor: text('vendor').notNull(),
  sku: text('sku').notNull(),
  name: text('name').notNull(),
  productId: bigint('product_id', { mode: 'number' }),
  product: text('product'),
  publisher: text('publisher'),
  type: text('type').notNull(),
  status: text('status').notNull(),
  licenseModel: text('license_model').notNull(),
  unlimited: boolean('unlimited').notNull(),
  purchased: integer('purchased'),
  capabilityStatus: text('capability_status').notNull(),
  consumedUnits: integer('consumed_units').notNull(),
  enabledUnits: integer('enabled_units').notNull(),
  suspendedUnits: integer('suspended_units').notNull(),
  warningUnits: integer('warning_units').notNull(),
  lockedOutUnits: integer('locked_out_units').notNull(),
  available: integer('available'),
  present: boolean('present').notNull(),
  lastImportAt: tz('last_import_at').notNull(),
}).as(sql`
  SELECT l.id, l.source, l.vendor, l.sku, l.name, l.product_id, p.name AS product, p.publisher,
    CASE WHEN ps.sku IS NULL THEN 'SaaS' ELSE 'Subscription' END AS type,
    CASE
      WHEN l.product_id IS NULL OR l.pool_id IS NULL OR l.unit_price IS NULL OR l.currency IS NULL THEN 'invalid'
      WHEN EXISTS (SELECT 1 FROM license_requirements r WHERE r.license_id = l.id) THEN 'used'
      ELSE 'unused'
    END AS status,
    l.license_model, l.unlimited,
    CASE WHEN l.unlimited THEN NULL ELSE l.enabled_units + l.warning_units END AS purchased,
    l.capability_status, l.consumed_units, l.enabled_units, l.suspended_units, l.warning_units,
    l.locked_out_units,
    CASE WHEN l.unlimited THEN NULL ELSE GREATEST(l.enabled_units + l.warning_units - l.consumed_units, 0) END
      AS available,
    l.present, l.last_import_at
  FROM licenses l
  LEFT JOIN products p ON p.id = l.product_id
  LEFT JOIN product_skus ps ON ps.sku = lower(l.sku)
`);

/**
 * Findings: discrepancies between entitlements and use, each with its evidence and annualized savings. Recomputed
 * after every import; a finding that no longer holds is resolved, never deleted, so history and realized savings
 * remain.
 */
export const findings = pgTable(
  'findings',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** `idle`, `unassigned`, `overage`, `grace`, `departed`, `duplicate`, `shadow`, `unmatched`. */
    kind: text('kind').notNull(),
    /** Natural key (kind + what it is about), stable across recomputations. */
    key: text('key').notNull().unique(),
    severity: text('severity').notNull(),
    licenseId: bigint('license_id', { mode: 'number' }).references(() => licenses.id, {
      onDelete: 'cascade',
    }),
    subscriberId: bigint('subscriber_id', { mode: 'number' }).references(() => cloudSubscribers.id, {
      onDelete: 'set null',
    }),
    personId: bigint('person_id', { mode: 'number' }).references(() => persons.id, { onDelete: 'set null' }),
    /** Seats the finding is about. */
    seats: integer('seats').notNull().default(1),
    evidence: jsonb('evidence').notNull(),
    /** Annualized savings in `currency`; null when the price is unknown (never 0 for unknown). */
    savings: numeric('savings', { precision: 14, scale: 2 }),
    currency: text('currency'),
    firstSeenAt: tz('first_seen_at').notNull(),
    lastSeenAt: tz('last_seen_at').notNull(),
    /** `open`, `snoozed`, `exempted`, `resolved`. */
    status: text('status').notNull().default('open'),
    statusUntil: tz('status_until'),
    statusReason: text('status_reason'),
    statusBy: text('status_by'),
    resolvedAt: tz('resolved_at'),
    /** `no longer holds`, `reclaimed`, ... */
    resolvedHow: text('resolved_how'),
  },
  (t) => [
    index('findings_open_idx').on(t.kind, t.licenseId).where(sql`${t.status} <> 'resolved'`),
    // findings_license_kind_idx (license_id, kind) INCLUDE (status, status_until) is created by migration 0007.
    index('findings_subscriber_idx').on(t.subscriberId),
    // The lists' order (most savings first), read from the index a page at a time.
    index('findings_open_savings_idx')
      .on(t.savings.desc().nullsLast(), t.kind, t.id)
      .where(sql`${t.status} <> 'resolved'`),
    // Snoozes and exemptions whose end has passed (open again as of now, until the next recomputation settles them).
    index('findings_lapse_idx').on(t.statusUntil).where(sql`${t.status} IN ('snoozed', 'exempted')`),
    // Realized savings: the few findings resolved by a reclaim, by when.
    index('findings_reclaimed_idx').on(t.resolvedAt).where(sql`${t.resolvedHow} = 'reclaimed'`),
  ],
);

/**
 * Running totals of the findings per license, kind, status and currency: how many, their seats, their savings (and
 * how many have no price). Rows are deltas that add up: every statement that writes findings appends what it
 * changed, from its transition tables, through the triggers of migration 0008 (so no writer can forget, and a
 * rolled-back change takes its delta with it); a recomputation folds them back to one row per group. Appending
 * never waits on another writer. Read through `finding_tally(now)`, which also moves snoozes and exemptions that
 * have ended back to `open`, as `EFFECTIVE_STATUS` does for single findings.
 */
export const findingTallies = pgTable('finding_tallies', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** No foreign key: a license's findings go with it, and the delete's own delta takes them off. */
  licenseId: bigint('license_id', { mode: 'number' }),
  kind: text('kind').notNull(),
  status: text('status').notNull(),
  currency: text('currency'),
  findings: bigint('findings', { mode: 'number' }).notNull(),
  seats: bigint('seats', { mode: 'number' }).notNull(),
  /** Savings of the priced findings. */
  savings: numeric('savings', { precision: 16, scale: 2 }).notNull(),
  /** Findings without a price. */
  unpriced: bigint('unpriced', { mode: 'number' }).notNull(),
});

/** "Keep this seat": an exemption per seat, per person (e.g. on leave) or per product (birthright apps). */
export const exemptions = pgTable(
  'exemptions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** `seat`, `person` or `product`. */
    scope: text('scope').notNull(),
    subscriberId: bigint('subscriber_id', { mode: 'number' }).references(() => cloudSubscribers.id, {
      onDelete: 'cascade',
    }),
    personId: bigint('person_id', { mode: 'number' }).references(() => persons.id, { onDelete: 'cascade' }),
    productId: bigint('product_id', { mode: 'number' }).references(() => products.id, {
      onDelete: 'cascade',
    }),
    reason: text('reason').notNull(),
    /** The exemption ends by itself then; null = until revoked. */
    until: tz('until'),
    createdBy: text('created_by').notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
    endedAt: tz('ended_at'),
    endedBy: text('ended_by'),
  },
  (t) => [
    index('exemptions_subscriber_idx').on(t.subscriberId),
    index('exemptions_person_idx').on(t.personId),
    index('exemptions_product_idx').on(t.productId),
  ],
);

/** Plans that include other plans (E5 includes E3): holding both is a duplicate. SKUs lower-cased. */
export const planOverlaps = pgTable(
  'plan_overlaps',
  {
    coveringSku: text('covering_sku').notNull(),
    coveredSku: text('covered_sku').notNull(),
    /** `shipped` or `custom`. */
    origin: text('origin').notNull().default('custom'),
  },
  (t) => [primaryKey({ columns: [t.coveringSku, t.coveredSku] })],
);

/** Apps seen in use (OAuth grants, SSO or expense exports) that match no license: shadow IT. */
export const shadowApps = pgTable('shadow_apps', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** Lower-cased app name, the matching key. */
  key: text('key').notNull().unique(),
  name: text('name').notNull(),
  /** Where it was seen: `graph:oauth2PermissionGrants`, `csv:sso`, `csv:expense`, ... */
  source: text('source').notNull(),
  users: integer('users').notNull().default(0),
  evidence: jsonb('evidence'),
  firstSeenAt: tz('first_seen_at').notNull(),
  lastSeenAt: tz('last_seen_at').notNull(),
  /** Set when someone decides the app is known and fine. */
  dismissedAt: tz('dismissed_at'),
  dismissedBy: text('dismissed_by'),
});

/**
 * Actions on seats (reclaim, undo, ...). The id is the idempotency key: a repeated click, a retried request or two
 * replicas processing the same action find the same row, and state moves forward only by compare-and-set.
 */
export const actions = pgTable(
  'actions',
  {
    id: uuid('id').primaryKey(),
    /** `reclaim`, `undo`, ... */
    kind: text('kind').notNull(),
    /** `previewed`, `asking`, `queued`, `running`, `done`, `failed`, `cancelled`, `undone`. */
    state: text('state').notNull(),
    subscriberId: bigint('subscriber_id', { mode: 'number' }).references(() => cloudSubscribers.id, {
      onDelete: 'set null',
    }),
    licenseId: bigint('license_id', { mode: 'number' }).references(() => licenses.id, {
      onDelete: 'set null',
    }),
    /** Groups the actions of one batch ("reclaim all 14 idle Figma seats"). */
    batchId: uuid('batch_id'),
    /** The action this one undoes. */
    undoes: uuid('undoes'),
    requestedBy: text('requested_by').notNull(),
    surface: text('surface').notNull(),
    /** What the actor saw and confirmed: who, what, evidence, savings, blockers. */
    preview: jsonb('preview'),
    /** What the vendor said. */
    result: jsonb('result'),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    undoUntil: tz('undo_until'),
    createdAt: tz('created_at').notNull().defaultNow(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
    completedAt: tz('completed_at'),
  },
  (t) => [
    // At most one reclaim in flight per seat, whatever the number of replicas or clicks.
    uniqueIndex('actions_reclaim_in_flight_uq')
      .on(t.subscriberId)
      .where(sql`${t.kind} = 'reclaim' AND ${t.state} IN ('asking', 'queued', 'running')`),
    index('actions_subscriber_idx').on(t.subscriberId),
    index('actions_batch_idx').on(t.batchId),
    index('actions_state_idx').on(t.state),
  ],
);

/** "Still need Figma? Keep / Release": the question put to a seat holder before a reclaim. */
export const holderAsks = pgTable(
  'holder_asks',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    actionId: uuid('action_id')
      .notNull()
      .references(() => actions.id, { onDelete: 'cascade' }),
    subscriberId: bigint('subscriber_id', { mode: 'number' }).references(() => cloudSubscribers.id, {
      onDelete: 'set null',
    }),
    personId: bigint('person_id', { mode: 'number' }).references(() => persons.id, { onDelete: 'set null' }),
    deadline: tz('deadline').notNull(),
    remindedAt: tz('reminded_at'),
    /** `keep`, `release`, or null while unanswered. */
    answer: text('answer'),
    answeredAt: tz('answered_at'),
    createdAt: tz('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('holder_asks_action_uq').on(t.actionId)],
);

/**
 * Outgoing notifications (alerts, digests, holder questions). The dedupe key makes each one exist once, however
 * many replicas or restarts try to create it; a surface delivers and marks it sent.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    dedupeKey: text('dedupe_key').notNull().unique(),
    /** `renewal-alert`, `digest`, `holder-ask`, `finding-alert`, `import-failure`, ... */
    kind: text('kind').notNull(),
    /** Where it goes: `{ "channel": "procurement" }`, `{ "personId": 12 }`, ... */
    target: jsonb('target').notNull(),
    payload: jsonb('payload').notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
    sentAt: tz('sent_at'),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
  },
  (t) => [index('notifications_unsent_idx').on(t.createdAt).where(sql`${t.sentAt} IS NULL`)],
);

/** Annual budgets per cost center (optionally per product); no conversion between currencies. */
export const budgets = pgTable(
  'budgets',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    costCenter: text('cost_center').notNull(),
    productId: bigint('product_id', { mode: 'number' }).references(() => products.id, {
      onDelete: 'cascade',
    }),
    fiscalYear: integer('fiscal_year').notNull(),
    amount: numeric('amount', { precision: 14, scale: 2 }).notNull(),
    currency: text('currency').notNull(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('budgets_scope_uq').on(t.costCenter, sql`COALESCE(${t.productId}, 0)`, t.fiscalYear)],
);

/** Renewal lead-time alerts sent: one row per (license, renewal date, threshold), so each alerts once. */
export const renewalAlerts = pgTable(
  'renewal_alerts',
  {
    licenseId: bigint('license_id', { mode: 'number' })
      .notNull()
      .references(() => licenses.id, { onDelete: 'cascade' }),
    renewalDate: date('renewal_date').notNull(),
    /** Days before the cancel-by date; 0 = the cancel-by date was missed. */
    thresholdDays: integer('threshold_days').notNull(),
    sentAt: tz('sent_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.licenseId, t.renewalDate, t.thresholdDays] })],
);

/** Renewal decisions: approve, resize, decline, snooze, escalate; two-step when finance must agree. */
export const renewalDecisions = pgTable(
  'renewal_decisions',
  {
    id: uuid('id').primaryKey(),
    licenseId: bigint('license_id', { mode: 'number' })
      .notNull()
      .references(() => licenses.id, { onDelete: 'cascade' }),
    renewalDate: date('renewal_date').notNull(),
    /** `approve`, `approve-as-is`, `resize`, `decline`, `snooze`, `escalate`. */
    decision: text('decision').notNull(),
    quantity: integer('quantity'),
    until: date('until'),
    /** `pending-finance`, `decided`, `rejected`, `superseded`. */
    state: text('state').notNull(),
    amount: numeric('amount', { precision: 14, scale: 2 }),
    currency: text('currency'),
    requestedBy: text('requested_by').notNull(),
    approvedBy: text('approved_by'),
    createdAt: tz('created_at').notNull().defaultNow(),
    decidedAt: tz('decided_at'),
  },
  (t) => [
    index('renewal_decisions_license_idx').on(t.licenseId, t.renewalDate),
    // One live decision per renewal: the handlers lock the license row, and the database holds them to it.
    uniqueIndex('renewal_decisions_live_uq')
      .on(t.licenseId, t.renewalDate)
      .where(sql`${t.state} IN ('pending-finance', 'decided')`),
  ],
);

/** Follow-ups created by decisions (e.g. "tell the vendor we cancel" before the cancel-by date). */
export const tasks = pgTable('tasks', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  kind: text('kind').notNull(),
  licenseId: bigint('license_id', { mode: 'number' }).references(() => licenses.id, { onDelete: 'cascade' }),
  dueAt: tz('due_at'),
  note: text('note'),
  createdBy: text('created_by').notNull(),
  createdAt: tz('created_at').notNull().defaultNow(),
  doneAt: tz('done_at'),
  doneBy: text('done_by'),
});

/** Where to reach people and channels on chat platforms (Teams conversation references, Slack channel ids). */
export const chatAddresses = pgTable(
  'chat_addresses',
  {
    /** `slack` or `teams`. */
    platform: text('platform').notNull(),
    /** `channel:<name>`, `person:<id>`, ... */
    key: text('key').notNull(),
    address: jsonb('address').notNull(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.platform, t.key] })],
);

/** Who a web sign-in is for: a person's e-mail and chat ids, the local operator, or the configured admin token. */
export interface WebClaim {
  email?: string | null;
  slackUserId?: string | null;
  teamsAadObjectId?: string | null;
  displayName?: string | null;
  /** `operator`: the local CLI operator; `token`: the configured admin token. Both hold every right. */
  special?: 'operator' | 'token';
}

/**
 * One-time sign-in links to the web dashboard, sent by the bot. Only a SHA-256 hash of the token is kept, so a
 * database read does not hand out sign-ins; a link is spent by the compare-and-set that marks it used.
 */
export const webSignInLinks = pgTable(
  'web_sign_in_links',
  {
    tokenHash: text('token_hash').primaryKey(),
    /** Who the link signs in (e-mail and/or chat ids); roles are resolved from it on every request. */
    claim: jsonb('claim').$type<WebClaim>().notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
    expiresAt: tz('expires_at').notNull(),
    usedAt: tz('used_at'),
  },
  (t) => [index('web_sign_in_links_expires_idx').on(t.expiresAt)],
);

/** Browser sessions of the web dashboard; the cookie holds the token, the table its SHA-256 hash. */
export const webSessions = pgTable(
  'web_sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    /** Who is signed in; roles are resolved from it on every request, so a role change applies at once. */
    claim: jsonb('claim').$type<WebClaim>().notNull(),
    /** How the session began: `link`, `token` or `teams-sso`. */
    method: text('method').notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
    expiresAt: tz('expires_at').notNull(),
  },
  (t) => [index('web_sessions_expires_idx').on(t.expiresAt)],
);
