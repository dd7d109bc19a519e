import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ClearingRow, PersonRow, SeatRow, SubscriberRow } from '../../handlers/inventory-queries.ts';
import { COMMANDS, type CommandOutput } from '../../handlers/registry.ts';
import type { FindingRow, RenewalRow } from '../../handlers/reports.ts';
import { executeAction } from '../../src/surfaces/teams/card-actions.ts';
import {
  CARDS_DIR,
  type CardJson,
  CardTemplates,
  TEMPLATE_NAMES,
} from '../../src/surfaces/teams/card-templates.ts';
import {
  bannerData,
  confirmCard,
  errorCard,
  formCard,
  helpCard,
  type ListContext,
  noticeCard,
  viewCard,
} from '../../src/surfaces/teams/card-views.ts';
import { notificationModel } from '../../src/surfaces/teams/teams-notices.ts';
import { type RendererDeps, TeamsRenderer } from '../../src/surfaces/teams/teams-render.ts';
import { buttonsOf, cardProblems } from '../fakes/bot-connector-fake.ts';

const templates = new CardTemplates();
const NOW = new Date('2026-11-20T09:30:00Z');

const reclaim = executeAction('Reclaim', 'run', {
  command: 'reclaim',
  args: { email: 'dan@example.com', sku: 'FIGMA_PRO' },
  actionId: '2f1d1c3a-5b7e-4c2d-9f10-3a4b5c6d7e8f',
  origin: { command: 'findings', args: { kind: 'idle' } },
  cardId: 'card-1',
});
const keep = executeAction('Keep', 'run', {
  command: 'keep',
  args: { email: 'dan@example.com', sku: 'FIGMA_PRO' },
  actionId: '3f1d1c3a-5b7e-4c2d-9f10-3a4b5c6d7e8f',
  inputs: [{ kind: 'reason', required: true }],
  cardId: 'card-1',
});
const more = executeAction('More', 'view', {
  origin: { command: 'who-has', args: { query: 'figma', offset: 10 } },
});

function list(overrides: Partial<ListContext> = {}): ListContext {
  return {
    now: NOW,
    title: 'Who has figma',
    offset: 0,
    more: [more],
    rowActions: () => [reclaim, keep],
    banner: {
      text: 'Reclaim dan@example.com · FIGMA_PRO: done by Ana Lopez at 09:30 UTC.',
      style: 'good',
      actions: [],
    },
    ...overrides,
  };
}

const subscriber = (over: Partial<SubscriberRow> = {}): SubscriberRow => ({
  email: 'dan@example.com',
  login: null,
  sku: 'FIGMA_PRO',
  product: 'Figma Professional',
  vendor: 'Figma',
  person: 'dan@example.com',
  active: true,
  lastActivityAt: '2026-08-02T10:00:00Z',
  lastActivitySource: 'figma activity log',
  assignedAt: '2025-01-10T00:00:00Z',
  licenseId: 7,
  subscriberId: 31,
  vendorAccountId: 'fig-31',
  ...over,
});

const SUBSCRIBERS: SubscriberRow[] = [
  subscriber(),
  subscriber({ email: 'contractor@agency.example', person: null, lastActivityAt: null, subscriberId: 32 }),
  subscriber({
    email: null,
    login: 'octocat',
    active: false,
    lastActivitySource: 'no usage signal',
    lastActivityAt: null,
  }),
];

const SEATS: SeatRow[] = [
  {
    licenseId: 7,
    sku: 'FIGMA_PRO',
    product: 'Figma Professional',
    vendor: 'Figma',
    type: 'subscription',
    status: 'active',
    purchased: 50,
    consumed: 50,
    available: 0,
    capabilityStatus: 'Warning',
    enabledUnits: 45,
    warningUnits: 5,
    suspendedUnits: 0,
    lockedOutUnits: 0,
    unlimited: false,
    lastImportAt: '2026-11-20T06:00:00Z',
  },
  {
    licenseId: 8,
    sku: 'FLOW_FREE',
    product: 'Power Automate Free',
    vendor: 'Microsoft',
    type: 'free',
    status: 'active',
    purchased: null,
    consumed: 312,
    available: null,
    capabilityStatus: 'Enabled',
    enabledUnits: 10000,
    warningUnits: 0,
    suspendedUnits: 0,
    lockedOutUnits: 0,
    unlimited: true,
    lastImportAt: '2026-11-20T06:00:00Z',
  },
];

const PERSONS: PersonRow[] = [
  {
    personId: 4,
    email: 'dan@example.com',
    aliases: ['daniel.berg@example.com'],
    displayName: 'Dan Berg',
    department: 'Design',
    costCenter: 'CC-410',
    manager: 'ana@example.com',
    employmentStatus: 'departed',
    departedAt: '2026-10-31T00:00:00Z',
    directoryEnabled: false,
    source: 'm365',
    seats: Array.from({ length: 17 }, (_, i) => subscriber({ subscriberId: 100 + i, sku: `SKU_${i}` })),
  },
];

const CLEARING: ClearingRow[] = [
  {
    subscriberId: 51,
    email: 'a.lopez@agency.example',
    login: null,
    vendor: 'Adobe',
    sku: 'CC_ALL_APPS',
    product: 'Creative Cloud All Apps',
    vendorAccountId: 'adobe-51',
    firstImportAt: '2026-11-18T06:00:00Z',
  },
  {
    subscriberId: 52,
    email: null,
    login: 'ghost-user',
    vendor: 'GitHub',
    sku: 'COPILOT_BUSINESS',
    product: 'GitHub Copilot Business',
    vendorAccountId: 'gh-52',
    firstImportAt: '2026-11-19T06:00:00Z',
  },
];

const finding = (over: Partial<FindingRow>): FindingRow => ({
  id: 1,
  kind: 'idle',
  severity: 'medium',
  status: 'open',
  statusUntil: null,
  statusReason: null,
  statusBy: null,
  resolvedAt: null,
  resolvedHow: null,
  licenseId: 7,
  sku: 'FIGMA_PRO',
  product: 'Figma Professional',
  vendor: 'Figma',
  email: 'dan@example.com',
  person: 'dan@example.com',
  seats: 1,
  savings: 540,
  currency: 'EUR',
  evidence: { lastActivityAt: '2026-08-02T10:00:00Z', daysSinceActivity: 110, idleDays: 30 },
  firstSeenAt: '2026-09-01T06:00:00Z',
  lastSeenAt: '2026-11-20T06:00:00Z',
  ...over,
});

const FINDINGS: FindingRow[] = [
  finding({}),
  finding({
    id: 2,
    kind: 'unassigned',
    email: null,
    person: null,
    seats: 4,
    evidence: { purchased: 50, consumed: 46 },
  }),
  finding({
    id: 3,
    kind: 'departed',
    severity: 'high',
    status: 'snoozed',
    statusUntil: '2026-12-01',
    statusReason: 'handover until December',
    evidence: { person: 'dan@example.com', employmentStatus: 'departed', departedAt: '2026-10-31T00:00:00Z' },
  }),
  finding({
    id: 4,
    kind: 'shadow',
    sku: null,
    product: 'Miro',
    email: null,
    savings: null,
    currency: null,
    evidence: { app: 'Miro', users: 12 },
  }),
  finding({ id: 5, kind: 'overage', savings: null, evidence: { purchased: 50, consumed: 53, excess: 3 } }),
];

const RENEWALS: RenewalRow[] = [
  {
    licenseId: 7,
    product: 'Figma Professional',
    sku: 'FIGMA_PRO',
    vendor: 'Figma',
    renewalDate: '2027-01-31',
    renewalDateSource: 'contract',
    cancelBy: '2026-12-31',
    noticeDays: 31,
    autoRenew: true,
    trial: false,
    termStart: '2026-02-01',
    termEnd: '2027-01-31',
    quantity: 50,
    purchased: 50,
    consumed: 41,
    peakConsumed: 44,
    utilization: 0.82,
    idleSeats: 6,
    recommendedQuantity: 47,
    commitFloor: 20,
    unitPrice: 45,
    currency: 'EUR',
    billingPeriod: 'monthly',
    priceUpliftCap: 5,
    annualCost: 27000,
    recommendedCost: 25380,
    savings: 1620,
    costCenter: 'CC-410',
    budgetYear: 2027,
    budgetAmount: 30000,
    budgetCommitted: 4000,
    budgetRemaining: 26000,
    budgetCurrency: 'EUR',
    budgetCheck: 'fits',
    budgetExceedsBy: null,
    status: 'upcoming',
    decision: null,
    owner: 'ana@example.com',
    vendorContact: 'sales@figma.example',
  },
  {
    licenseId: 9,
    product: 'Zoom Pro',
    sku: 'ZOOM_PRO',
    vendor: 'Zoom',
    renewalDate: '2026-12-01',
    renewalDateSource: 'vendor',
    cancelBy: '2026-11-01',
    noticeDays: 30,
    autoRenew: null,
    trial: true,
    termStart: null,
    termEnd: null,
    quantity: null,
    purchased: null,
    consumed: 12,
    peakConsumed: null,
    utilization: null,
    idleSeats: 0,
    recommendedQuantity: 13,
    commitFloor: null,
    unitPrice: null,
    currency: null,
    billingPeriod: null,
    priceUpliftCap: null,
    annualCost: null,
    recommendedCost: null,
    savings: null,
    costCenter: null,
    budgetYear: null,
    budgetAmount: null,
    budgetCommitted: null,
    budgetRemaining: null,
    budgetCurrency: null,
    budgetCheck: 'exceeds',
    budgetExceedsBy: 1200,
    status: 'pending-finance',
    decision: {
      id: '9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d',
      decision: 'approve',
      state: 'pending-finance',
      quantity: 13,
      until: null,
      amount: 2340,
      requestedBy: 'ana@example.com',
      approvedBy: null,
    },
    owner: null,
    vendorContact: null,
  } as RenewalRow,
];

const output = (view: string, rows: unknown[], total = rows.length + 5): CommandOutput => ({
  view,
  rows,
  total,
  empty: 'Nothing here.',
});

/** Every template with realistic data, also its edge cases (empty list, no banner, no buttons). */
const CARDS: Record<string, () => CardJson> = {
  subscribers: () => viewCard(templates, output('subscribers', SUBSCRIBERS), list()),
  'subscribers (empty, read-only)': () =>
    viewCard(
      templates,
      output('subscribers', [], 0),
      list({ banner: undefined, more: [], rowActions: () => [] }),
    ),
  seats: () =>
    viewCard(templates, output('seats', SEATS), list({ title: 'Seats per license', rowActions: () => [] })),
  persons: () =>
    viewCard(templates, output('persons', PERSONS, 1), list({ title: 'Person dan@example.com', more: [] })),
  clearing: () => viewCard(templates, output('clearing', CLEARING), list({ title: 'Clearing' })),
  findings: () => viewCard(templates, output('findings', FINDINGS), list({ title: 'Findings' })),
  renewals: () =>
    viewCard(templates, output('renewals', RENEWALS), list({ title: 'Renewals in the next 90 days' })),
  help: () =>
    helpCard(
      templates,
      COMMANDS.filter((c) => c.surfaces.includes('teams')),
    ),
  'help (unknown command)': () => helpCard(templates, COMMANDS.slice(0, 3), 'I don’t know “frobnicate”.'),
  'result (reclaim outcome)': () =>
    viewCard(
      templates,
      output(
        'reclaim',
        [
          {
            actionId: '0b7d5c1e-3f5a-4c1d-9a51-7f0e2d3c4b5a',
            state: 'done',
            email: 'dan@example.com',
            person: 'dan@example.com',
            sku: 'FIGMA_PRO',
            product: 'Figma Professional',
            lastActivityAt: '2026-08-02T10:00:00Z',
            savings: 540,
            currency: 'EUR',
            blockers: [],
            warnings: [
              { code: 'reassign-window', message: 'Figma lets the seat be re-assigned within 7 days.' },
            ],
            ask: null,
            detail: 'removed from the Professional plan',
            error: null,
            undoUntil: '2026-11-27T09:30:00Z',
          },
        ],
        1,
      ),
      list({ title: 'Reclaim', more: [], rowActions: () => [] }),
    ),
  'result (other view)': () =>
    viewCard(
      templates,
      output(
        'renewal-decision',
        [{ decisionId: 'x1', sku: 'FIGMA_PRO', state: 'decided', quantity: 47, taskIds: [3] }],
        1,
      ),
      list({ title: 'Decision', more: [], rowActions: () => [] }),
    ),
  confirm: () =>
    confirmCard(templates, {
      title: 'Reclaim?',
      question:
        'Reclaim dan@example.com · FIGMA_PRO. This changes the vendor account or contract; please confirm.',
      view: 'reclaim',
      details: [
        {
          state: 'preview',
          email: 'dan@example.com',
          product: 'Figma Professional',
          person: 'dan@example.com',
          savings: 540,
          currency: 'EUR',
          blockers: [{ code: 'group-inherited', message: 'The license comes from a group.' }],
          warnings: [],
        },
      ],
      warnings: ['1 of 1 cannot be done now; see “Blocked”.'],
      actions: [reclaim, more],
      now: NOW,
    }),
  form: () =>
    formCard(templates, {
      title: 'Keep: dan@example.com · FIGMA_PRO',
      text: 'Keep a seat: no idle finding for it until the end date',
      error: 'Missing reason: why (shown with the finding).',
      inputs: [
        { kind: 'person', required: true },
        { kind: 'reason', required: true },
        { kind: 'until', required: false },
        { kind: 'quantity', required: true },
      ],
      personChoices: [{ title: 'Ana Lopez (ana@example.com)', value: 'ana@example.com' }],
      quantity: 47,
      today: '2026-11-20',
      actions: [keep, more],
    }),
  'form (reason only)': () =>
    formCard(templates, {
      title: 'Keep',
      text: 'Keep a seat',
      error: '',
      inputs: [{ kind: 'reason', required: true }],
      personChoices: [],
      today: '2026-11-20',
      actions: [keep],
    }),
  error: () =>
    errorCard(
      templates,
      { code: 'NOT_AUTHORIZED', message: "'reclaim' needs the it-manager role." },
      'Ask IT.',
    ),
  notice: () =>
    noticeCard(templates, {
      title: 'Do you still need Figma Professional?',
      text: 'Do you still need Figma Professional (dan@example.com)? Answer Keep or Release by 2026-11-23.',
      facts: [{ title: 'Account', value: 'dan@example.com' }],
      actions: [keep],
      banner: { text: 'Keep: done by Dan Berg at 10:02 UTC.', style: 'good', actions: [] },
    }),
  digest: () => {
    const model = notificationModel('digest', {
      view: 'digest',
      weekOf: '2026-11-16',
      open: [{ currency: 'EUR', amount: 12400, findings: 23, seats: 31 }],
      realized: [{ currency: 'EUR', amount: 1080, findings: 2, seats: 2 }],
      idle: [{ product: 'Figma Professional', sku: 'FIGMA_PRO', seats: 6, savings: 3240, currency: 'EUR' }],
      renewals: { total: 1, rows: [RENEWALS[0]] },
      unmatched: {
        count: 1,
        accounts: [
          { account: 'a.lopez@agency.example', product: 'Creative Cloud', sku: 'CC', vendor: 'Adobe' },
        ],
      },
    });
    if (model.type !== 'digest') throw new Error('expected a digest');
    const d = model.digest;
    return templates.expand('digest', {
      ...d,
      ...bannerData(),
      idle: d.idle.map((a) => ({ ...a, actions: [reclaim] })),
      actions: [more],
    });
  },
};

describe('card templates', () => {
  it('has a realistic sample for every template in cards/', () => {
    const files = readdirSync(fileURLToPath(CARDS_DIR)).filter((f) => f.endsWith('.json'));
    expect(files.map((f) => f.replace('.json', '')).sort()).toEqual([...TEMPLATE_NAMES].sort());
    const covered = new Set(Object.keys(CARDS).map((name) => name.split(' ')[0]));
    for (const name of TEMPLATE_NAMES) expect(covered.has(name), `no sample for ${name}`).toBe(true);
  });

  for (const [name, build] of Object.entries(CARDS)) {
    it(`expands ${name} into a card the adaptivecards object model and the schema accept`, () => {
      const card = build();
      expect(cardProblems(card)).toEqual([]);
      expect(card.version).toBe('1.5');
    });
  }

  it('shows the data it was given, formatted', () => {
    const text = JSON.stringify(CARDS.findings?.());
    expect(text).toContain('Idle seat — Figma Professional');
    expect(text).toContain('€540/yr');
    expect(text).toContain('No activity for 110 days');
    expect(text).toContain('snoozed until 2026-12-01: handover until December');
    const renewals = JSON.stringify(CARDS.renewals?.());
    expect(renewals).toContain('Cancel by in 41 days');
    expect(renewals).toContain('Waiting for finance');
    expect(renewals).toContain('47 seats, €25,380/yr, saves €1,620/yr');
    const persons = JSON.stringify(CARDS.persons?.());
    expect(persons).toContain('2 more: ask “who-has dan@example.com” for the full list.');
  });

  it('keeps the largest list card (10 findings with every button) well under Teams’ 28 KB message limit', () => {
    // Rendering a list needs only the templates, the commands and the clock; the rest of the deps stay unused.
    const unused = undefined as never;
    const deps: RendererDeps = {
      templates,
      commands: COMMANDS.map((c) =>
        c.name === 'reclaim' ? { ...c, surfaces: [...c.surfaces, 'teams'] } : c,
      ),
      now: () => NOW,
      store: unused,
      config: unused,
      log: unused,
      identities: unused,
      addresses: unused,
    };
    const renderer = new TeamsRenderer(deps);
    const findings = COMMANDS.find((c) => c.name === 'findings');
    if (!findings) throw new Error('no findings command');
    const rows = Array.from({ length: 10 }, (_, i) =>
      finding({
        id: i + 1,
        email: `firstname.lastname${i}@subsidiary.example.com`,
        person: `p${i}@example.com`,
      }),
    );
    const admin = {
      id: 'a',
      email: 'a@example.com',
      personId: 1,
      displayName: 'A',
      roles: ['admin'] as const,
      surface: 'teams' as const,
    };
    const { card } = renderer.listCard(
      findings,
      { kind: 'idle', status: 'open', limit: 10, offset: 0 },
      { view: 'findings', rows, total: 57, empty: '' },
      admin,
      { cardId: '6f1d1c3a-5b7e-4c2d-9f10-3a4b5c6d7e8f', interactive: true },
    );
    expect(buttonsOf(card).filter((b) => b.title === 'Reclaim')).toHaveLength(10);
    expect(cardProblems(card)).toEqual([]);
    expect(JSON.stringify(card).length).toBeLessThan(24_000);
  });

  it('reports what a host would reject, so the checks above can fail', () => {
    const base = { type: 'AdaptiveCard', version: '1.5' };
    expect(cardProblems({ ...base, body: [{ type: 'TextBlock' }] }).join()).toContain('schema');
    expect(cardProblems({ ...base, body: [{ type: 'Image' }] }).join()).toContain('url');
    expect(cardProblems({ ...base, body: [{ type: 'FactSet', facts: [] }] }).join()).toContain('facts');
    expect(cardProblems({ ...base, body: [{ type: 'Carousel3D' }] }).join()).toContain(
      'Unknown element type',
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an unexpanded template binding is what this checks for
    const unbound = 'Hi ${name}';
    expect(cardProblems({ ...base, body: [{ type: 'TextBlock', text: unbound }] }).join()).toContain(
      'unexpanded',
    );
    expect(
      cardProblems({
        ...base,
        body: [
          { type: 'Input.Text', id: 'a' },
          { type: 'Input.Text', id: 'a' },
        ],
      }).join(),
    ).toContain('Duplicate');
  });
});
