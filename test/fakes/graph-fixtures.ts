/**
 * Fixture data for the Microsoft Graph fake: a small, realistic organisation (`contosoOrg`) and a generator for N
 * users (`generatedOrg`), in Graph's own field names and types. Every call returns a fresh copy, so a test may
 * change it freely.
 */

export const SKU = {
  /** Office 365 E3. */
  ENTERPRISEPACK: '6fd2c87f-b296-42f0-b197-1e91e994b900',
  /** Microsoft 365 E5. */
  SPE_E5: '06ebc4ee-1bb5-47dd-8120-11324bc54e06',
  POWER_BI_PRO: 'f8a1db68-be16-40ed-86d5-cb42ce701560',
} as const;

export const TENANT_ID = '9188040d-6c67-4c5b-b112-36a304b66dad';
const ACCOUNT_ID = 'a0c1e5f2-7c1d-4e1b-9a3e-2b6f0d4c8e11';

export interface GraphSku {
  id: string;
  accountId: string;
  accountName: string;
  appliesTo: 'User' | 'Company';
  capabilityStatus: string;
  consumedUnits: number;
  prepaidUnits: { enabled: number; suspended: number; warning: number; lockedOut: number };
  servicePlans: {
    servicePlanId: string;
    servicePlanName: string;
    provisioningStatus: string;
    appliesTo: string;
  }[];
  skuId: string;
  skuPartNumber: string;
  subscriptionIds: string[];
}

export interface GraphCompanySubscription {
  id: string;
  commerceSubscriptionId: string;
  createdDateTime: string;
  nextLifecycleDateTime: string | null;
  isTrial: boolean;
  ownerId: string | null;
  ownerTenantId: string | null;
  ownerType: string | null;
  serviceStatus: unknown[];
  skuId: string;
  skuPartNumber: string;
  status: string;
  totalLicenses: number;
}

export interface GraphLicenseAssignmentState {
  assignedByGroup: string | null;
  disabledPlans: string[];
  error: string | null;
  lastUpdatedDateTime: string;
  skuId: string;
  state: string;
}

export interface GraphSignInActivity {
  lastSignInDateTime: string | null;
  lastSignInRequestId: string | null;
  lastNonInteractiveSignInDateTime: string | null;
  lastNonInteractiveSignInRequestId: string | null;
  lastSuccessfulSignInDateTime: string | null;
  lastSuccessfulSignInRequestId: string | null;
}

export interface GraphUser {
  id: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  jobTitle: string | null;
  userPrincipalName: string;
  mail: string | null;
  proxyAddresses: string[];
  accountEnabled: boolean;
  department: string | null;
  assignedLicenses: { disabledPlans: string[]; skuId: string }[];
  licenseAssignmentStates: GraphLicenseAssignmentState[];
  /** Absent for users who never signed in (Graph then omits the property). */
  signInActivity?: GraphSignInActivity | null;
  /** Lets a test plant a wrong type (malformed page tests). */
  [field: string]: unknown;
}

/** Per-product last activity dates (YYYY-MM-DD) of the Office 365 active user detail report. */
export interface ReportActivity {
  exchange?: string;
  oneDrive?: string;
  sharePoint?: string;
  skypeForBusiness?: string;
  yammer?: string;
  teams?: string;
}

export interface GraphOrg {
  tenantId: string;
  skus: GraphSku[];
  subscriptions: GraphCompanySubscription[];
  users: GraphUser[];
  /** Report activity by user id. */
  activity: Record<string, ReportActivity>;
  /** Report rows of users deleted since (the report keeps them with `Is Deleted` True). */
  deletedReportRows: { userPrincipalName: string; displayName: string; deletedDate: string }[];
  reportRefreshDate: string;
}

function sku(
  skuId: string,
  skuPartNumber: string,
  capabilityStatus: string,
  prepaid: Partial<GraphSku['prepaidUnits']>,
  subscriptionIds: string[],
): GraphSku {
  return {
    id: `${ACCOUNT_ID}_${skuId}`,
    accountId: ACCOUNT_ID,
    accountName: 'Contoso',
    appliesTo: 'User',
    capabilityStatus,
    consumedUnits: 0, // computed from the users by withConsumedUnits
    prepaidUnits: { enabled: 0, suspended: 0, warning: 0, lockedOut: 0, ...prepaid },
    servicePlans: [
      {
        servicePlanId: '57ff2da0-773e-42df-b2af-ffb7a2317929',
        servicePlanName: 'TEAMS1',
        provisioningStatus: 'Success',
        appliesTo: 'User',
      },
    ],
    skuId,
    skuPartNumber,
    subscriptionIds,
  };
}

function subscription(
  id: string,
  skuId: string,
  skuPartNumber: string,
  over: Partial<GraphCompanySubscription>,
): GraphCompanySubscription {
  return {
    id,
    commerceSubscriptionId: `c-${id}`,
    createdDateTime: '2024-01-15T00:00:00Z',
    nextLifecycleDateTime: null,
    isTrial: false,
    ownerId: null,
    ownerTenantId: null,
    ownerType: null,
    serviceStatus: [],
    skuId,
    skuPartNumber,
    status: 'Enabled',
    totalLicenses: 0,
    ...over,
  };
}

const GROUP_E3 = '2f5c3b1e-0f7d-4c6a-9b52-7d1e2a9c4b10';
const GROUP_E5 = '8b1d6e2a-4c3f-4a91-b7d2-5e0c9f1a3d22';

function user(
  id: string,
  displayName: string,
  userPrincipalName: string,
  over: Partial<GraphUser> & { licenses?: { skuId: string; group?: string; direct?: boolean }[] } = {},
): GraphUser {
  const { licenses = [], ...rest } = over;
  const [givenName = null, surname = null] = displayName.split(' ');
  return {
    id,
    displayName,
    givenName,
    surname,
    jobTitle: null,
    userPrincipalName,
    mail: userPrincipalName.toLowerCase(),
    proxyAddresses: [`SMTP:${userPrincipalName.toLowerCase()}`],
    accountEnabled: true,
    department: null,
    assignedLicenses: licenses.map((l) => ({ disabledPlans: [], skuId: l.skuId })),
    licenseAssignmentStates: licenses.flatMap((l) => [
      ...(l.direct !== false ? [state(l.skuId, null)] : []),
      ...(l.group ? [state(l.skuId, l.group)] : []),
    ]),
    ...rest,
  };
}

function state(skuId: string, assignedByGroup: string | null): GraphLicenseAssignmentState {
  return {
    assignedByGroup,
    disabledPlans: [],
    error: null,
    lastUpdatedDateTime: '2025-06-01T10:00:00Z',
    skuId,
    state: 'Active',
  };
}

function signIns(
  interactive: string | null,
  nonInteractive: string | null,
  successful: string | null,
): GraphSignInActivity {
  const rid = (v: string | null) => (v ? 'c1d3e9a0-52f1-4f0e-8d2b-1b4d7f0e9a01' : null);
  return {
    lastSignInDateTime: interactive,
    lastSignInRequestId: rid(interactive),
    lastNonInteractiveSignInDateTime: nonInteractive,
    lastNonInteractiveSignInRequestId: rid(nonInteractive),
    lastSuccessfulSignInDateTime: successful,
    lastSuccessfulSignInRequestId: rid(successful),
  };
}

/** Sets each SKU's consumedUnits to the number of users holding it, as Graph reports it. */
export function withConsumedUnits(org: GraphOrg): GraphOrg {
  for (const s of org.skus)
    s.consumedUnits = org.users.filter((u) => u.assignedLicenses.some((l) => l.skuId === s.skuId)).length;
  return org;
}

/** The ids of `contosoOrg`'s users, by first name. */
export const USER = {
  adele: '87d349ed-44d7-43e1-9a83-5f2406dee5bd',
  alex: '6e7b768e-07e2-4810-8459-485f84f8f204',
  diego: 'e3d0513b-449e-4198-ba6f-bd97ae7cae85',
  grady: '5c7188eb-da97-4a7b-b9c7-6c0c9d8e2c67',
  isaiah: '4b7e5a2d-9c1f-4e3b-8a6d-2f0c1e9b7a35',
  johanna: '626cbf8c-5dde-46b0-8385-9e40d64736fe',
  lee: '074e56ea-0b50-4461-89e5-c67ae14a2c0b',
  megan: '48d31887-5fad-4d73-a9f5-3c356e68a038',
  nestor: 'c03e6eaa-b6ab-46d7-905b-73ec7ea1f755',
} as const;

/**
 * Contoso: 9 users, 3 SKUs. SPE_E5 is in Warning (0 enabled, 5 warning, 4 consumed: 1 free seat). Alex is active
 * only through non-interactive sign-ins; Grady's account is disabled; Diego's E3 is inherited from a group;
 * Johanna holds E5 both directly and through a group; Isaiah never signed in but the report shows Teams use; Adele
 * has aliases; Lee has no mail (UPN only); Megan is a guest and Nestor holds no license.
 */
export function contosoOrg(): GraphOrg {
  const users: GraphUser[] = [
    user(USER.adele, 'Adele Vance', 'Adele.Vance@example.com', {
      department: 'Retail',
      jobTitle: 'Retail Manager',
      mail: 'adele.vance@example.com',
      proxyAddresses: [
        'SMTP:adele.vance@example.com',
        'smtp:adele@example.com',
        'smtp:AVance@example.onmicrosoft.com',
        'SIP:adele.vance@example.com',
        'X500:/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=adele',
      ],
      licenses: [{ skuId: SKU.SPE_E5 }],
      signInActivity: signIns('2026-11-19T09:14:02Z', '2026-11-18T22:40:11Z', '2026-11-19T09:14:02Z'),
    }),
    user(USER.alex, 'Alex Wilber', 'Alex.Wilber@example.com', {
      department: 'Marketing',
      proxyAddresses: ['SMTP:alex.wilber@example.com', 'smtp:alex@example.com'],
      licenses: [{ skuId: SKU.SPE_E5 }, { skuId: SKU.POWER_BI_PRO }],
      // Outlook mobile only: no interactive sign-in since spring, refresh tokens every day.
      signInActivity: signIns('2026-03-02T08:00:00Z', '2026-11-19T06:12:44Z', null),
    }),
    user(USER.diego, 'Diego Siciliani', 'Diego.Siciliani@example.com', {
      department: 'HR',
      licenses: [{ skuId: SKU.ENTERPRISEPACK, group: GROUP_E3, direct: false }],
      signInActivity: signIns('2026-11-10T07:30:00Z', '2026-11-17T12:00:00Z', '2026-11-18T16:45:00Z'),
    }),
    user(USER.grady, 'Grady Archie', 'Grady.Archie@example.com', {
      department: 'R&D',
      accountEnabled: false,
      licenses: [{ skuId: SKU.ENTERPRISEPACK }],
      signInActivity: signIns('2026-05-04T10:00:00Z', '2026-05-04T10:05:00Z', '2026-05-04T10:00:00Z'),
    }),
    user(USER.isaiah, 'Isaiah Langer', 'Isaiah.Langer@example.com', {
      department: 'Sales',
      licenses: [{ skuId: SKU.SPE_E5 }],
      // Never signed in (or before April 2020): Graph omits signInActivity.
    }),
    user(USER.johanna, 'Johanna Lorenz', 'Johanna.Lorenz@example.com', {
      department: 'Engineering',
      licenses: [{ skuId: SKU.SPE_E5, group: GROUP_E5 }],
      // The "never" sentinel some Graph versions send instead of null.
      signInActivity: signIns('2026-10-02T11:00:00Z', '0001-01-01T00:00:00Z', '2026-10-02T11:00:00Z'),
    }),
    user(USER.lee, 'Lee Gu', 'lee.gu@example.com', {
      department: 'Manufacturing',
      mail: null,
      proxyAddresses: [],
      licenses: [{ skuId: SKU.ENTERPRISEPACK }, { skuId: SKU.POWER_BI_PRO }],
      signInActivity: signIns('2026-11-01T15:00:00Z', null, '2026-11-01T15:00:00Z'),
    }),
    user(USER.megan, 'Megan Bowen', 'megan_partner.example#EXT#@example.onmicrosoft.com', {
      mail: 'megan@partner.example',
      proxyAddresses: ['SMTP:megan@partner.example'],
      signInActivity: signIns('2026-09-09T09:09:09Z', null, '2026-09-09T09:09:09Z'),
    }),
    user(USER.nestor, 'Nestor Wilke', 'Nestor.Wilke@example.com', {
      department: 'Operations',
      signInActivity: signIns('2026-11-15T08:00:00Z', null, '2026-11-15T08:00:00Z'),
    }),
  ];
  return withConsumedUnits({
    tenantId: TENANT_ID,
    skus: [
      sku(SKU.ENTERPRISEPACK, 'ENTERPRISEPACK', 'Enabled', { enabled: 10 }, ['s-e3-a', 's-e3-b']),
      sku(SKU.SPE_E5, 'SPE_E5', 'Warning', { enabled: 0, warning: 5 }, ['s-e5']),
      sku(SKU.POWER_BI_PRO, 'POWER_BI_PRO', 'Enabled', { enabled: 5 }, ['s-pbi']),
    ],
    subscriptions: [
      subscription('s-e3-a', SKU.ENTERPRISEPACK, 'ENTERPRISEPACK', {
        totalLicenses: 6,
        nextLifecycleDateTime: '2027-06-30T00:00:00Z',
      }),
      subscription('s-e3-b', SKU.ENTERPRISEPACK, 'ENTERPRISEPACK', {
        totalLicenses: 4,
        nextLifecycleDateTime: '2027-03-31T00:00:00Z',
      }),
      subscription('s-e3-old', SKU.ENTERPRISEPACK, 'ENTERPRISEPACK', {
        status: 'Deleted',
        totalLicenses: 2,
        nextLifecycleDateTime: '2025-01-31T00:00:00Z',
      }),
      subscription('s-e5', SKU.SPE_E5, 'SPE_E5', {
        status: 'Warning',
        totalLicenses: 5,
        nextLifecycleDateTime: '2026-12-05T00:00:00Z',
      }),
      subscription('s-pbi', SKU.POWER_BI_PRO, 'POWER_BI_PRO', {
        isTrial: true,
        totalLicenses: 5,
        nextLifecycleDateTime: '2026-12-20T00:00:00Z',
      }),
    ],
    users,
    activity: {
      [USER.adele]: { exchange: '2026-11-19', teams: '2026-11-18', oneDrive: '2026-11-02' },
      [USER.alex]: { exchange: '2026-11-19' },
      [USER.diego]: { sharePoint: '2026-11-12' },
      [USER.isaiah]: { teams: '2026-11-10', yammer: '2026-10-01' },
      [USER.lee]: { exchange: '2026-11-04', oneDrive: '2026-11-03' },
    },
    deletedReportRows: [
      {
        userPrincipalName: 'Pradeep.Gupta@example.com',
        displayName: 'Pradeep Gupta',
        deletedDate: '2026-11-01',
      },
    ],
    reportRefreshDate: '2026-11-19',
  });
}

/**
 * An organisation of `n` users (`user0001@example.com` …): everyone holds E3, every third user also Power BI Pro;
 * sign-in dates vary with the index; every 7th user never signed in; every 5th shows Teams use in the report. Enough units are bought for all of them.
 */
export function generatedOrg(n: number): GraphOrg {
  const users: GraphUser[] = [];
  const activity: Record<string, ReportActivity> = {};
  for (let i = 1; i <= n; i++) {
    const id = generatedUserId(i);
    const upn = `user${String(i).padStart(4, '0')}@example.com`;
    const licenses = [{ skuId: SKU.ENTERPRISEPACK }, ...(i % 3 === 0 ? [{ skuId: SKU.POWER_BI_PRO }] : [])];
    const day = (offset: number) => new Date(Date.UTC(2026, 10, 19) - offset * 86_400_000).toISOString();
    users.push(
      user(id, `User ${i}`, upn, {
        department: ['Sales', 'Engineering', 'Finance'][i % 3] ?? null,
        accountEnabled: i % 50 !== 0,
        licenses,
        signInActivity: i % 7 === 0 ? undefined : signIns(day(i % 90), day(i % 30), null),
      }),
    );
    // A day before the last non-interactive sign-in: the report decides only for users who never signed in.
    if (i % 5 === 0) activity[id] = { teams: day((i % 30) + 1).slice(0, 10) };
  }
  return withConsumedUnits({
    tenantId: TENANT_ID,
    skus: [
      sku(SKU.ENTERPRISEPACK, 'ENTERPRISEPACK', 'Enabled', { enabled: n + 10 }, ['s-e3']),
      sku(SKU.POWER_BI_PRO, 'POWER_BI_PRO', 'Enabled', { enabled: n }, ['s-pbi']),
    ],
    subscriptions: [
      subscription('s-e3', SKU.ENTERPRISEPACK, 'ENTERPRISEPACK', {
        totalLicenses: n + 10,
        nextLifecycleDateTime: '2027-03-31T00:00:00Z',
      }),
      subscription('s-pbi', SKU.POWER_BI_PRO, 'POWER_BI_PRO', {
        totalLicenses: n,
        nextLifecycleDateTime: '2027-03-31T00:00:00Z',
      }),
    ],
    users,
    activity,
    deletedReportRows: [],
    reportRefreshDate: '2026-11-19',
  });
}

/** The id `generatedOrg` gives user number `i` (1-based). */
export function generatedUserId(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}
