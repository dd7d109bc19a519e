/**
 * The demo organisation: a deterministic company (about 2,000 people by default) described in each vendor's own
 * data model — Microsoft Graph users and SKUs, Adobe UMAPI users and product profiles, Google Workspace users and
 * license assignments, GitHub Copilot seats, and CSV exports — plus the contract terms and budgets an IT manager
 * would enter. Pure data: the same size, seed and date always give the same organisation. It is built so that every
 * kind of finding shows up: idle, departed, duplicate plans, overage, unassigned seats, unmatched accounts and
 * shadow IT.
 */
import type { BudgetInput } from '../../handlers/budgets.ts';
import type { ContractInput } from '../../handlers/contracts.ts';
import type { AdobeData, AdobeGroup, AdobeUser } from '../../test/fakes/adobe-fake.ts';
import type { GithubSeat } from '../../test/fakes/github-fake.ts';
import type { FakeAssignment, FakeUser } from '../../test/fakes/google-fake.ts';
import type { GraphPermissionGrant, GraphServicePrincipal } from '../../test/fakes/graph-fake.ts';
import type {
  GraphCompanySubscription,
  GraphOrg,
  GraphSku,
  GraphUser,
  ReportActivity,
} from '../../test/fakes/graph-fixtures.ts';

/** The demo's e-mail domain (the reserved example domain, which the Google fake serves). */
export const DEMO_DOMAIN = 'example.com';
/** The demo company's Microsoft Entra tenant id. */
export const DEMO_TENANT_ID = '5e1d7a3c-2b4f-4c8e-9a6d-0f1e2d3c4b5a';
/** The Google Workspace admin the demo's service account acts as (it holds no license). */
export const DEMO_GOOGLE_ADMIN = 'admin@example.com';
/** The GitHub organization of the demo. */
export const DEMO_GITHUB_ORG = 'example-corp';
/** Microsoft's own tenant: apps it publishes are part of Microsoft 365, not shadow IT. */
const MICROSOFT_TENANT = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a';

export interface DemoOrgOptions {
  /** People in the directory (default 2,000; at least 60, so that every case has someone). */
  people?: number;
  /** The demo's "today": activity dates are placed relative to it. */
  now?: Date;
  /** Seed of the generator; the same seed gives the same people. */
  seed?: number;
}

/** One person of the demo company, before any vendor's view of them. */
export interface DemoPerson {
  index: number;
  id: string;
  email: string;
  displayName: string;
  department: string;
  /** Left the company, but their directory account and seats are still there. */
  departed: boolean;
  /** Has not used anything for months (still employed). */
  idle: boolean;
}

export interface DemoOrg {
  now: Date;
  people: DemoPerson[];
  /** The person the demo signs in as: an admin, in IT. */
  admin: DemoPerson;
  graph: GraphOrg;
  servicePrincipals: GraphServicePrincipal[];
  permissionGrants: GraphPermissionGrant[];
  adobe: AdobeData;
  google: { users: FakeUser[]; assignments: FakeAssignment[] };
  github: { org: string; seats: GithubSeat[] };
  /** Files of the CSV connector's directory, by name. */
  csv: Record<'subscriptions.csv' | 'accounts.csv' | 'shadow.csv', string>;
  contracts: ContractInput[];
  budgets: BudgetInput[];
}

const FIRST = [
  'Ana',
  'Ben',
  'Chloe',
  'Dev',
  'Elena',
  'Farid',
  'Grace',
  'Hugo',
  'Ines',
  'Jonas',
  'Kira',
  'Liam',
  'Maya',
  'Nils',
  'Olivia',
  'Priya',
  'Quinn',
  'Rafael',
  'Sofia',
  'Tariq',
  'Uma',
  'Victor',
  'Wen',
  'Ximena',
  'Yusuf',
  'Zoe',
  'Amir',
  'Bea',
  'Carlos',
  'Dana',
  'Emil',
  'Fatima',
  'Gabriel',
  'Hana',
  'Ivan',
  'Julia',
  'Kenji',
  'Lena',
  'Marco',
  'Nora',
];
const LAST = [
  'Adams',
  'Berg',
  'Costa',
  'Dubois',
  'Eriksen',
  'Fischer',
  'Garcia',
  'Haddad',
  'Ito',
  'Jansen',
  'Kowalski',
  'Lopez',
  'Meyer',
  'Nakamura',
  'Okafor',
  'Petrov',
  'Quist',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Umar',
  'Varga',
  'Weber',
  'Xu',
  'Yilmaz',
  'Zhang',
  'Andersen',
  'Brooks',
  'Chen',
  'Diaz',
  'Evans',
  'Novak',
  'Singh',
  'Moreau',
];
/** Departments with their share of the company (per mille), in order. */
const DEPARTMENTS: [string, number][] = [
  ['Engineering', 300],
  ['Sales', 190],
  ['Operations', 140],
  ['Support', 110],
  ['Marketing', 90],
  ['Design', 60],
  ['Finance', 50],
  ['Legal', 25],
  ['HR', 20],
  ['IT', 15],
];

const DAY_MS = 86_400_000;

/** mulberry32: a small, fast, seedable generator; enough for demo data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A version-4-shaped id for Graph objects, from a namespace number and an index. */
const guid = (space: number, i: number) =>
  `${space.toString(16).padStart(8, '0')}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

/**
 * Builds the demo organisation. Everything is derived from `people`, `seed` and `now`, so two calls with the same
 * options describe the same company.
 */
export function demoOrg(options: DemoOrgOptions = {}): DemoOrg {
  const size = Math.max(60, Math.floor(options.people ?? 2000));
  const now = options.now ?? new Date();
  const rnd = random(options.seed ?? 20_261_122);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const chance = (p: number) => rnd() < p;
  const daysAgo = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
  const dateAgo = (days: number) => daysAgo(days).slice(0, 10);
  const dateAhead = (days: number) => new Date(now.getTime() + days * DAY_MS).toISOString().slice(0, 10);

  const people: DemoPerson[] = [];
  const taken = new Set<string>();
  const departmentOf = () => {
    let share = rnd() * 1000;
    for (const [name, perMille] of DEPARTMENTS) {
      if (share < perMille) return name;
      share -= perMille;
    }
    return 'Operations';
  };
  for (let i = 0; i < size; i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    let local = `${first}.${last}`.toLowerCase();
    for (let n = 2; taken.has(local); n++) local = `${first}.${last}${n}`.toLowerCase();
    taken.add(local);
    // The first person is the demo's IT admin; the rules below leave them active and busy.
    const department = i === 0 ? 'IT' : departmentOf();
    people.push({
      index: i,
      id: guid(0x5eed0001, i + 1),
      email: `${local}@${DEMO_DOMAIN}`,
      displayName: `${first} ${last}`,
      department,
      departed: i > 0 && chance(0.03),
      idle: i > 0 && chance(0.08),
    });
  }
  const admin = people[0] as DemoPerson;
  const inDept = (...names: string[]) => people.filter((p) => names.includes(p.department));
  /** Days since a person's last activity in some app: recent unless idle or departed. */
  const lastActiveDays = (p: DemoPerson) =>
    p.departed
      ? 40 + Math.floor(rnd() * 120)
      : p.idle
        ? 35 + Math.floor(rnd() * 150)
        : Math.floor(rnd() * 12);

  // ---- Microsoft 365 (the directory, and three SKUs) ----
  const E3 = '6fd2c87f-b296-42f0-b197-1e91e994b900';
  const E5 = '06ebc4ee-1bb5-47dd-8120-11324bc54e06';
  const PBI = 'f8a1db68-be16-40ed-86d5-cb42ce701560';
  const e5Holders = new Set(
    people.filter((p) => p.index === 0 || ['IT', 'Legal'].includes(p.department) || chance(0.04)),
  );
  const users: GraphUser[] = [];
  const activity: Record<string, ReportActivity> = {};
  for (const p of people) {
    // A few new hires hold no license yet.
    if (p.index > 0 && chance(0.015)) {
      users.push(graphUser(p, [], undefined));
      continue;
    }
    const skus: string[] = [];
    if (e5Holders.has(p)) {
      skus.push(E5);
      // Moved up to E5 but never taken off E3: a duplicate plan.
      if (p.index > 0 && chance(0.35)) skus.push(E3);
    } else {
      skus.push(E3);
    }
    if (['Finance', 'Sales'].includes(p.department) ? chance(0.3) : chance(0.03)) skus.push(PBI);
    const days = lastActiveDays(p);
    const signedIn = daysAgo(days + rnd() * 0.9);
    users.push(graphUser(p, skus, signedIn));
    if (!p.idle && !p.departed) activity[p.id] = { exchange: dateAgo(days), teams: dateAgo(days) };
  }
  const holders = (sku: string) =>
    users.filter((u) => u.assignedLicenses.some((l) => l.skuId === sku)).length;
  const e3Bought = holders(E3) + Math.ceil(size * 0.03);
  const e5Bought = holders(E5) + 5;
  // Power BI was over-assigned during the trial: more seats in use than paid for.
  const pbiBought = Math.max(1, holders(PBI) - Math.max(3, Math.floor(holders(PBI) * 0.08)));
  const graph: GraphOrg = {
    tenantId: DEMO_TENANT_ID,
    skus: [
      graphSku(E3, 'ENTERPRISEPACK', { enabled: e3Bought }, ['demo-e3'], holders(E3)),
      graphSku(E5, 'SPE_E5', { enabled: e5Bought }, ['demo-e5'], holders(E5)),
      graphSku(PBI, 'POWER_BI_PRO', { enabled: pbiBought }, ['demo-pbi'], holders(PBI)),
    ],
    subscriptions: [
      graphSubscription('demo-e3', E3, 'ENTERPRISEPACK', e3Bought, dateAhead(95)),
      graphSubscription('demo-e5', E5, 'SPE_E5', e5Bought, dateAhead(95)),
      graphSubscription('demo-pbi', PBI, 'POWER_BI_PRO', pbiBought, dateAhead(24)),
    ],
    users,
    activity,
    deletedReportRows: [],
    reportRefreshDate: dateAgo(1),
  };

  // Shadow IT: third-party apps people consented to with their Microsoft 365 account.
  const graphApi: GraphServicePrincipal = {
    id: guid(0x5e000000, 1),
    appId: '00000003-0000-0000-c000-000000000000',
    displayName: 'Microsoft Graph',
    appOwnerOrganizationId: MICROSOFT_TENANT,
    servicePrincipalType: 'Application',
    accountEnabled: true,
    publisherName: 'Microsoft Services',
    tags: [],
  };
  const thirdParty: [string, string, number][] = [
    ['Miro', 'Miro', 0.04],
    ['Canva', 'Canva Pty Ltd', 0.03],
    ['Calendly', 'Calendly LLC', 0.02],
    ['Grammarly', 'Grammarly, Inc.', 0.015],
    ['Otter.ai', 'Otter.ai, Inc.', 0.004],
  ];
  const servicePrincipals: GraphServicePrincipal[] = [graphApi];
  const permissionGrants: GraphPermissionGrant[] = [];
  thirdParty.forEach(([name, publisher, share], n) => {
    const sp: GraphServicePrincipal = {
      id: guid(0x5e000000, 100 + n),
      appId: guid(0x5e0a0000, 100 + n),
      displayName: name,
      appOwnerOrganizationId: guid(0x5e0f0000, 100 + n),
      servicePrincipalType: 'Application',
      accountEnabled: true,
      publisherName: publisher,
      tags: ['WindowsAzureActiveDirectoryIntegratedApp'],
    };
    servicePrincipals.push(sp);
    const users = people.filter((p) => !p.departed && chance(share));
    for (const [k, p] of users.entries()) {
      permissionGrants.push({
        id: `${sp.id}-${k}`,
        clientId: sp.id,
        consentType: 'Principal',
        principalId: p.id,
        resourceId: graphApi.id,
        scope: 'openid profile email User.Read offline_access',
      });
    }
  });

  // ---- Adobe (three product profiles) ----
  const ALL_APPS = 'Creative Cloud All Apps - 100 GB';
  const ACROBAT = 'Acrobat Pro DC - Company';
  const EXPRESS = 'Adobe Express - Everyone';
  const creatives = inDept('Design', 'Marketing').filter(() => chance(0.55));
  const acrobat = people.filter((p) =>
    ['Legal', 'Finance', 'Sales', 'HR'].includes(p.department) ? chance(0.25) : chance(0.02),
  );
  // Designers who were given Acrobat Pro on top of All Apps, which already includes it.
  for (const p of creatives) if (chance(0.3) && !acrobat.includes(p)) acrobat.push(p);
  const express = people.filter((p) => p.department === 'Marketing' || chance(0.05));
  const adobeUsers: AdobeUser[] = [];
  for (const p of people) {
    const groups = [
      ...(creatives.includes(p) ? [ALL_APPS] : []),
      ...(acrobat.includes(p) ? [ACROBAT] : []),
      ...(express.includes(p) ? [EXPRESS] : []),
    ];
    if (groups.length === 0) continue;
    const [firstname, lastname] = p.displayName.split(' ');
    adobeUsers.push({
      id: `DEMO${String(p.index + 1).padStart(20, '0')}@AdobeID`,
      email: p.email,
      username: p.email,
      domain: DEMO_DOMAIN,
      firstname,
      lastname,
      country: 'US',
      type: 'federatedID',
      status: 'active',
      groups,
    });
  }
  // A freelancer's Adobe ID that nobody in the directory owns.
  adobeUsers.push({
    id: 'DEMO99999999999999999999@AdobeID',
    email: 'studio.freelance@partner.example',
    username: 'studio.freelance@partner.example',
    domain: 'partner.example',
    firstname: 'Studio',
    lastname: 'Freelance',
    country: 'US',
    type: 'adobeID',
    status: 'active',
    groups: [ALL_APPS],
  });
  const countIn = (group: string) => adobeUsers.filter((u) => u.groups.includes(group)).length;
  const adobeGroups: AdobeGroup[] = [
    { groupId: 4147407, groupName: '_org_admin', type: 'SYSADMIN_GROUP' },
    {
      groupId: 38_400_001,
      groupName: ALL_APPS,
      type: 'PRODUCT_PROFILE',
      productName: 'All Apps plan - 100 GB',
      // Two more designers were added than the contract covers.
      licenseQuota: String(Math.max(1, countIn(ALL_APPS) - 2)),
    },
    {
      groupId: 38_400_002,
      groupName: ACROBAT,
      type: 'PRODUCT_PROFILE',
      productName: 'Acrobat Pro DC',
      licenseQuota: String(countIn(ACROBAT) + 15),
    },
    {
      groupId: 38_400_003,
      groupName: EXPRESS,
      type: 'PRODUCT_PROFILE',
      productName: 'Adobe Express',
      licenseQuota: 'UNLIMITED',
    },
  ];
  const adminAdobe = adobeUsers.find((u) => u.email === admin.email);
  if (adminAdobe) adminAdobe.groups.push('_org_admin');

  // ---- Google Workspace (the field sales office still works in Google) ----
  const STANDARD = {
    productId: 'Google-Apps',
    skuId: '1010020028',
    skuName: 'Google Workspace Business Standard',
  };
  const PLUS = { productId: 'Google-Apps', skuId: '1010020025', skuName: 'Google Workspace Business Plus' };
  const googleUsers: FakeUser[] = [];
  const assignments: FakeAssignment[] = [];
  const googleUser = (n: number, email: string, name: string, over: Partial<FakeUser>): FakeUser => {
    const [givenName = name, familyName = ''] = name.split(' ');
    return {
      id: String(300_000_000_000_000_000_000n + BigInt(n)),
      primaryEmail: email,
      name: { givenName, familyName, fullName: name },
      suspended: false,
      archived: false,
      isAdmin: false,
      lastLoginTime: daysAgo(1),
      creationTime: '2024-02-01T08:00:00.000Z',
      orgUnitPath: '/Field Sales',
      customerId: 'C01abc234',
      kind: 'admin#directory#user',
      etag: `"demo-${n}"`,
      ...over,
    };
  };
  googleUsers.push(googleUser(0, DEMO_GOOGLE_ADMIN, 'Workspace Admin', { isAdmin: true, orgUnitPath: '/' }));
  const fieldSales = inDept('Sales').filter((_, n) => n % 3 === 0);
  for (const [k, p] of fieldSales.entries()) {
    const days = lastActiveDays(p);
    googleUsers.push(
      googleUser(p.index + 1, p.email, p.displayName, {
        lastLoginTime: daysAgo(days + rnd() * 0.9),
        ...(p.departed ? { suspended: true, suspensionReason: 'ADMIN' } : {}),
      }),
    );
    // The regional managers have Business Plus.
    assignments.push({
      ...(k % 8 === 0 ? PLUS : STANDARD),
      userId: p.email,
      productName: 'Google Workspace',
    });
  }
  // Temporary accounts for trade-fair staff, made in Google only.
  for (let k = 1; k <= Math.max(2, Math.round(size / 250)); k++) {
    const email = `tradefair.temp${k}@${DEMO_DOMAIN}`;
    googleUsers.push(
      googleUser(100_000 + k, email, `Tradefair Temp${k}`, { lastLoginTime: daysAgo(70 + k) }),
    );
    assignments.push({ ...STANDARD, userId: email, productName: 'Google Workspace' });
  }

  // ---- GitHub Copilot ----
  const seats: GithubSeat[] = [];
  const engineers = inDept('Engineering').filter(() => chance(0.6));
  for (const p of engineers) {
    const id = 7_000_000 + p.index;
    const login = p.email.split('@')[0]?.replace(/\./g, '-') ?? `dev-${id}`;
    const neverUsed = p.idle && chance(0.4);
    const days = lastActiveDays(p);
    seats.push(
      copilotSeat(login, id, p.email, {
        created_at: daysAgo(120 + (p.index % 200)),
        last_activity_at: neverUsed ? null : daysAgo(days + rnd() * 0.9),
        last_activity_editor: neverUsed ? null : 'vscode/1.95.0/copilot/1.250.0',
        last_authenticated_at: neverUsed ? null : daysAgo(days),
      }),
    );
  }
  // Contractors' GitHub accounts without a public e-mail: nobody is known to own them.
  for (let k = 1; k <= Math.max(2, Math.round(size / 400)); k++) {
    seats.push(
      copilotSeat(`contractor-${k}-gh`, 8_000_000 + k, null, {
        created_at: daysAgo(60),
        last_activity_at: daysAgo(k),
      }),
    );
  }

  // ---- CSV exports (vendors without an API connector) ----
  const csvApps: {
    id: string;
    vendor: string;
    sku: string;
    name: string;
    who: DemoPerson[];
    spare: number;
  }[] = [
    { id: 'figma-org', vendor: 'Figma', sku: 'FIGMA_ORG', name: 'Figma Organization', who: [], spare: -4 },
    { id: 'zoom-biz', vendor: 'Zoom', sku: 'ZOOM_BUSINESS', name: 'Zoom Business', who: [], spare: 25 },
    {
      id: 'jira-std',
      vendor: 'Atlassian',
      sku: 'JIRA_STANDARD',
      name: 'Jira Software Standard',
      who: [],
      spare: 10,
    },
    {
      id: 'sfdc-ent',
      vendor: 'Salesforce',
      sku: 'SFDC_SALES_ENT',
      name: 'Sales Cloud Enterprise',
      who: [],
      spare: 5,
    },
    { id: 'notion-plus', vendor: 'Notion', sku: 'NOTION_PLUS', name: 'Notion Plus', who: [], spare: 0 },
    {
      id: '1pw-biz',
      vendor: '1Password',
      sku: 'ONEPASSWORD_BUSINESS',
      name: '1Password Business',
      who: [],
      spare: 30,
    },
  ];
  const [figma, zoom, jira, sfdc, notion, onePassword] = csvApps as [
    (typeof csvApps)[0],
    (typeof csvApps)[0],
    (typeof csvApps)[0],
    (typeof csvApps)[0],
    (typeof csvApps)[0],
    (typeof csvApps)[0],
  ];
  figma.who = people.filter((p) => ['Design', 'Marketing'].includes(p.department) || chance(0.05));
  zoom.who = people.filter((p) => ['Sales', 'Support', 'HR'].includes(p.department) || chance(0.1));
  jira.who = people.filter((p) => ['Engineering', 'Support', 'IT'].includes(p.department) || chance(0.05));
  sfdc.who = people.filter((p) => p.department === 'Sales' || (p.department === 'Support' && chance(0.3)));
  notion.who = people.filter((p) => ['Engineering', 'Design'].includes(p.department) && chance(0.4));
  onePassword.who = people.filter((p) => ['IT', 'Engineering', 'Finance'].includes(p.department));
  if (!figma.who.includes(admin)) figma.who.push(admin);
  const subscriptionRows = csvApps.map((a) => [
    a.vendor,
    a.id,
    a.sku,
    a.name,
    String(Math.max(1, a.who.length + a.spare + (a === figma ? 1 : 0))),
    a.id === 'zoom-biz' ? dateAhead(40) : '',
  ]);
  const accountRows: string[][] = [];
  for (const a of csvApps) {
    for (const p of a.who) {
      const days = lastActiveDays(p);
      accountRows.push([a.id, p.email, dateAgo(200 + (p.index % 300)), daysAgo(days + rnd() * 0.9)]);
    }
  }
  // An agency designer's Figma seat, paid by the company, in nobody's name.
  accountRows.push([figma.id, 'agency.designer@partner.example', dateAgo(90), daysAgo(3)]);
  const shadowRows: string[][] = [];
  for (const p of people.filter((q) => !q.departed && chance(0.01))) {
    shadowRows.push(['Dropbox', 'expense', p.email, dateAgo(Math.floor(rnd() * 60)), '11.99', 'USD']);
  }
  for (const p of people.filter((q) => !q.departed && chance(0.02))) {
    shadowRows.push(['Loom', 'sso', p.email, dateAgo(Math.floor(rnd() * 30)), '', '']);
  }
  const csv = {
    'subscriptions.csv': csvText(
      ['vendor', 'subscription_id', 'sku', 'name', 'purchased', 'next_lifecycle_date'],
      subscriptionRows,
    ),
    'accounts.csv': csvText(['subscription_id', 'email', 'assigned_at', 'last_activity_at'], accountRows),
    'shadow.csv': csvText(['app', 'source', 'email', 'date', 'amount', 'currency'], shadowRows),
  };

  // ---- Contract terms and budgets ----
  const year = now.getUTCFullYear();
  const term = (
    sku: string,
    unitPrice: string,
    billing: 'monthly' | 'annual',
    renewalInDays: number,
    costCenter: string,
    extra: Partial<ContractInput> = {},
  ): ContractInput => ({
    sku,
    unitPrice,
    currency: 'USD',
    billing,
    renewalDate: dateAhead(renewalInDays),
    noticeDays: 30,
    costCenter,
    owner: admin.email,
    autoRenew: true,
    ...extra,
  });
  const contracts: ContractInput[] = [
    term('ENTERPRISEPACK', '23.00', 'monthly', 95, 'IT', { noticeDays: 60 }),
    term('SPE_E5', '57.00', 'monthly', 95, 'IT', { noticeDays: 60 }),
    term('POWER_BI_PRO', '14.00', 'monthly', 24, 'Finance'),
    term('ADOBE_CC_ALL_APPS', '659.88', 'annual', 48, 'Design', { noticeDays: 45 }),
    term('ADOBE_ACROBAT_PRO', '239.88', 'annual', 48, 'Legal', { noticeDays: 45 }),
    term('ADOBE_EXPRESS', '0.00', 'annual', 48, 'Marketing'),
    term('1010020028', '14.40', 'monthly', 130, 'Sales'),
    term('1010020025', '26.40', 'monthly', 130, 'Sales'),
    term('copilot_business', '19.00', 'monthly', 18, 'Engineering', { noticeDays: 7 }),
    term('FIGMA_ORG', '540.00', 'annual', 36, 'Design'),
    term('ZOOM_BUSINESS', '219.90', 'annual', 40, 'Operations'),
    term('JIRA_STANDARD', '8.60', 'monthly', 160, 'Engineering'),
    term('SFDC_SALES_ENT', '1980.00', 'annual', 75, 'Sales', { noticeDays: 90 }),
    term('NOTION_PLUS', '120.00', 'annual', 210, 'Engineering'),
    term('ONEPASSWORD_BUSINESS', '95.88', 'annual', 250, 'IT'),
  ];
  const budgets: BudgetInput[] = [
    { costCenter: 'IT', amount: String(Math.round(size * 900)), currency: 'USD', year },
    { costCenter: 'Engineering', amount: String(Math.round(size * 120)), currency: 'USD', year },
    { costCenter: 'Design', amount: String(Math.round(size * 40)), currency: 'USD', year },
    { costCenter: 'Sales', amount: String(Math.round(size * 260)), currency: 'USD', year },
    { costCenter: 'Finance', amount: String(Math.round(size * 10)), currency: 'USD', year },
  ];

  return {
    now,
    people,
    admin,
    graph,
    servicePrincipals,
    permissionGrants,
    adobe: { users: adobeUsers, groups: adobeGroups },
    google: { users: googleUsers, assignments },
    github: { org: DEMO_GITHUB_ORG, seats },
    csv,
    contracts,
    budgets,
  };

  function graphUser(p: DemoPerson, skus: string[], signedIn: string | undefined): GraphUser {
    const [givenName = null, surname = null] = p.displayName.split(' ');
    const state = (skuId: string) => ({
      assignedByGroup: null,
      disabledPlans: [],
      error: null,
      lastUpdatedDateTime: daysAgo(300),
      skuId,
      state: 'Active',
    });
    const rid = signedIn ? guid(0x5eed0002, p.index + 1) : null;
    return {
      id: p.id,
      displayName: p.displayName,
      givenName,
      surname,
      jobTitle: null,
      userPrincipalName: p.email,
      mail: p.email,
      proxyAddresses: [`SMTP:${p.email}`],
      accountEnabled: !p.departed,
      department: p.department,
      assignedLicenses: skus.map((skuId) => ({ disabledPlans: [], skuId })),
      licenseAssignmentStates: skus.map(state),
      ...(signedIn
        ? {
            signInActivity: {
              lastSignInDateTime: signedIn,
              lastSignInRequestId: rid,
              lastNonInteractiveSignInDateTime: signedIn,
              lastNonInteractiveSignInRequestId: rid,
              lastSuccessfulSignInDateTime: signedIn,
              lastSuccessfulSignInRequestId: rid,
            },
          }
        : {}),
    };
  }

  function copilotSeat(
    login: string,
    id: number,
    email: string | null,
    over: Partial<GithubSeat>,
  ): GithubSeat {
    return {
      assignee: {
        login,
        id,
        node_id: `U_${Buffer.from(String(id)).toString('base64')}`,
        avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
        url: `https://api.github.com/users/${login}`,
        html_url: `https://github.com/${login}`,
        type: 'User',
        site_admin: false,
        email,
      },
      organization: { login: DEMO_GITHUB_ORG, id: 9090 },
      assigning_team: null,
      pending_cancellation_date: null,
      last_activity_at: null,
      last_activity_editor: null,
      last_authenticated_at: null,
      created_at: daysAgo(120),
      updated_at: daysAgo(120),
      plan_type: 'business',
      ...over,
    };
  }
}

function graphSku(
  skuId: string,
  skuPartNumber: string,
  prepaid: Partial<GraphSku['prepaidUnits']>,
  subscriptionIds: string[],
  consumedUnits: number,
): GraphSku {
  const accountId = '7d3c1b2a-0e9f-4a8b-b7c6-d5e4f3a2b1c0';
  return {
    id: `${accountId}_${skuId}`,
    accountId,
    accountName: 'Example Corp',
    appliesTo: 'User',
    capabilityStatus: 'Enabled',
    consumedUnits,
    prepaidUnits: { enabled: 0, suspended: 0, warning: 0, lockedOut: 0, ...prepaid },
    servicePlans: [],
    skuId,
    skuPartNumber,
    subscriptionIds,
  };
}

function graphSubscription(
  id: string,
  skuId: string,
  skuPartNumber: string,
  totalLicenses: number,
  renews: string,
): GraphCompanySubscription {
  return {
    id,
    commerceSubscriptionId: `c-${id}`,
    createdDateTime: '2024-04-01T00:00:00Z',
    nextLifecycleDateTime: `${renews}T00:00:00Z`,
    isTrial: false,
    ownerId: null,
    ownerTenantId: null,
    ownerType: null,
    serviceStatus: [],
    skuId,
    skuPartNumber,
    status: 'Enabled',
    totalLicenses,
  };
}

/** Rows as CSV text (values here never contain commas or quotes, but are quoted when they do). */
function csvText(header: string[], rows: string[][]): string {
  const field = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return `${[header, ...rows].map((r) => r.map(field).join(',')).join('\n')}\n`;
}
