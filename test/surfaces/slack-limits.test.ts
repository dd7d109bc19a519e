/**
 * The largest outputs the handlers can produce — the longest values the inventory accepts (320-character e-mails,
 * 500-character product names with `&`, `<` and `>`, 200-character SKUs), full pages and a person with a thousand
 * seats — rendered for Slack: every message stays within Slack's limits, and paging continues where it stopped.
 */
import { describe, expect, it } from 'vitest';
import type { ClearingRow, PersonRow, SeatRow, SubscriberRow } from '../../handlers/inventory-queries.ts';
import type { CommandOutput } from '../../handlers/registry.ts';
import type { FindingRow, RenewalRow } from '../../handlers/reports.ts';
import { ACTION_PREFIX, decodeValue } from '../../src/surfaces/slack/command-buttons.ts';
import { type DigestPayload, renderDigest } from '../../src/surfaces/slack/digest.ts';
import { renderNotification } from '../../src/surfaces/slack/notification-cards.ts';
import { renderFailure, renderHelp, renderOutput } from '../../src/surfaces/slack/renderers.ts';
import { buttonsIn, type CapturedBlock, expectWithinLimits, textOf } from '../fakes/slack-fake.ts';

const long = (n: number, seed: string) => `${seed}&<>`.repeat(Math.ceil(n / (seed.length + 3))).slice(0, n);
const email = (i: number) => `${'x'.repeat(300)}${String(i).padStart(4, '0')}@e.example`.slice(-320);
const PRODUCT = long(500, 'Adobe Creative Cloud All Apps ');
const SKU = long(200, 'SKU_').replace(/[&<>]/g, '_');
const AT = '2026-01-02T03:04:05.000Z';

function subscriber(i: number): SubscriberRow {
  return {
    email: email(i),
    login: null,
    sku: SKU,
    product: PRODUCT,
    vendor: long(200, 'Vendor '),
    person: i % 2 ? email(i) : null,
    active: i % 3 !== 0,
    lastActivityAt: AT,
    lastActivitySource: long(200, 'graph:lastSignIn '),
    assignedAt: AT,
    licenseId: 1,
    subscriberId: i,
    vendorAccountId: `acct-${i}`,
  };
}

function finding(i: number): FindingRow {
  return {
    id: i + 1,
    kind: i % 4 === 0 ? 'unmatched' : 'idle',
    severity: 'high',
    status: 'open',
    statusUntil: null,
    statusReason: null,
    statusBy: null,
    resolvedAt: null,
    resolvedHow: null,
    licenseId: 1,
    sku: SKU,
    product: PRODUCT,
    vendor: 'Adobe',
    email: email(i),
    person: email(i),
    seats: 1,
    savings: 123456.78,
    currency: 'EUR',
    evidence: Object.fromEntries(Array.from({ length: 40 }, (_, k) => [`field${k}`, long(300, 'evidence ')])),
    firstSeenAt: AT,
    lastSeenAt: AT,
  } as FindingRow;
}

function renewal(i: number): RenewalRow {
  return {
    licenseId: i + 1,
    product: PRODUCT,
    sku: SKU,
    vendor: 'Adobe',
    renewalDate: '2026-12-31',
    cancelBy: '2026-11-30',
    noticeDays: 31,
    autoRenew: true,
    quantity: 1_000_000,
    consumed: 999_999,
    recommendedQuantity: 1_050_000,
    unitPrice: 99.99,
    currency: 'EUR',
    billingPeriod: 'annual',
    annualCost: 99_990_000,
    budgetRemaining: -5,
    status: 'cancel-by passed',
    owner: email(i),
  } as RenewalRow;
}

const seat = (i: number): SeatRow => ({
  licenseId: i,
  sku: SKU,
  product: PRODUCT,
  vendor: long(200, 'Vendor '),
  type: 'SaaS',
  status: 'invalid',
  purchased: 1_000_000,
  consumed: 999_999,
  available: 1,
  capabilityStatus: 'Warning',
  enabledUnits: 1_000_000,
  warningUnits: 0,
  suspendedUnits: 0,
  lockedOutUnits: 0,
  unlimited: false,
  lastImportAt: AT,
});

const clearingRow = (i: number): ClearingRow => ({
  subscriberId: i,
  email: email(i),
  login: null,
  vendor: long(200, 'Vendor '),
  sku: SKU,
  product: PRODUCT,
  vendorAccountId: `acct-${i}`,
  firstImportAt: AT,
});

const output = (view: string, rows: unknown[], total = 100_000): CommandOutput => ({
  view,
  rows,
  total,
  empty: 'none',
});
const page = (command: string, tokens: string[] = []) => ({ command, tokens, offset: 40, limit: 100 });

describe("Slack messages stay within Slack's limits", () => {
  it('for full pages of the longest rows of every list view, with paging that resumes where it stopped', () => {
    const cases: [string, CommandOutput, ReturnType<typeof page>][] = [
      [
        'subscribers',
        output(
          'subscribers',
          Array.from({ length: 100 }, (_, i) => subscriber(i)),
        ),
        page('who-has', ['figma']),
      ],
      [
        'seats',
        output(
          'seats',
          Array.from({ length: 100 }, (_, i) => seat(i)),
        ),
        page('seats'),
      ],
      [
        'clearing',
        output(
          'clearing',
          Array.from({ length: 100 }, (_, i) => clearingRow(i)),
        ),
        page('clearing'),
      ],
      [
        'findings',
        output(
          'findings',
          Array.from({ length: 100 }, (_, i) => finding(i)),
        ),
        page('findings', ['--kind', 'idle', '--app', 'x']),
      ],
      [
        'renewals',
        output(
          'renewals',
          Array.from({ length: 100 }, (_, i) => renewal(i)),
        ),
        page('renewals', ['90']),
      ],
      [
        'audit',
        output(
          'audit',
          Array.from({ length: 100 }, (_, i) => ({
            id: i,
            actor: email(i),
            action: long(900, 'reclaim '),
            after: { nested: true },
          })),
        ),
        page('audit'),
      ],
    ];
    for (const [name, out, inv] of cases) {
      const rendered = renderOutput(out, inv);
      expectWithinLimits(rendered);
      expect(rendered.text.length, name).toBeLessThanOrEqual(3000);
      const more = buttonsIn(rendered.blocks as CapturedBlock[]).find((b) =>
        /^More/.test((b.button.text as { text: string }).text),
      );
      expect(more, name).toBeDefined();
      // "More" asks for the row after the last one shown, so nothing is skipped when a page had to be cut short.
      const value = decodeValue(String(more?.button.value));
      const shown = Number(/\d+–(\d+) of/.exec(textOf(rendered.blocks))?.[1]);
      expect(value?.t.slice(-4), name).toEqual(['--offset', String(shown), '--limit', '100']);
      for (const { button } of buttonsIn(rendered.blocks as CapturedBlock[])) {
        expect(String(button.action_id).startsWith(ACTION_PREFIX)).toBe(true);
      }
    }
  });

  it('escapes what Slack would read as markup in inventory data', () => {
    const rendered = renderOutput(output('subscribers', [subscriber(1)], 1));
    const text = textOf(rendered.blocks);
    expect(text).toContain('&amp;&lt;&gt;');
    expect(text).not.toMatch(/[^`]<>/);
  });

  it('for a person with two hundred aliases and a thousand seats', () => {
    const person: PersonRow = {
      personId: 1,
      email: email(0),
      aliases: Array.from({ length: 200 }, (_, i) => email(i + 1)),
      displayName: long(500, 'Name '),
      department: long(500, 'Dept '),
      costCenter: long(200, 'CC '),
      manager: email(9999),
      employmentStatus: 'departed',
      departedAt: AT,
      directoryEnabled: false,
      source: 'm365',
      seats: Array.from({ length: 1000 }, (_, i) => subscriber(i)),
    };
    const rendered = renderOutput(output('persons', [person, person, person], 3));
    expectWithinLimits(rendered);
    expect(textOf(rendered.blocks)).toMatch(/…and \d+ more: `\/license who-has/);
  });

  it('for the digest, notifications, the help and failures at their largest', () => {
    const digest: DigestPayload = {
      view: 'digest',
      weekOf: '2026-11-16',
      since: AT,
      timeZone: 'Europe/Berlin',
      open: [
        { currency: 'EUR', amount: 1e12, findings: 1e6, seats: 1e6 },
        { currency: 'USD', amount: 1e12, findings: 1, seats: 1 },
      ],
      realized: [{ currency: 'EUR', amount: 1e9, findings: 10, seats: 10 }],
      idle: Array.from({ length: 5 }, (_, i) => ({
        product: PRODUCT,
        sku: `${SKU}${i}`,
        seats: 1e6,
        savings: 1e9,
        currency: 'EUR',
      })),
      renewals: { total: 10_000, rows: Array.from({ length: 10 }, (_, i) => renewal(i)) },
      unmatched: {
        count: 100_000,
        accounts: Array.from({ length: 10 }, (_, i) => ({
          account: email(i),
          product: PRODUCT,
          sku: SKU,
          vendor: 'Adobe',
        })),
      },
    };
    expectWithinLimits(renderDigest(digest));
    const notification = renderNotification('finding-alert', {
      title: long(1000, 'Alert '),
      text: long(10_000, 'text '),
      facts: Array.from({ length: 30 }, (_, i) => ({
        label: long(300, `Label ${i} `),
        value: long(5000, 'value '),
      })),
      output: output(
        'findings',
        Array.from({ length: 100 }, (_, i) => finding(i)),
      ),
      actions: Array.from({ length: 40 }, (_, i) => ({
        label: long(200, `Action ${i} `),
        command: 'findings',
        tokens: ['--kind', 'idle'],
      })),
    });
    expectWithinLimits(notification);
    expectWithinLimits(renderNotification('import-failure', { nonsense: [1, 2, 3] }));
    expectWithinLimits(renderHelp(long(5000, 'unknown ')));
    expectWithinLimits(renderFailure({ code: 'INVALID_ARGUMENT', message: long(10_000, 'bad ') }));
  });
});
