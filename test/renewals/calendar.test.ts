import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import ICAL from 'ical.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, listen } from '../../src/http/http-server.ts';
import { Metrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log.ts';
import { escapeText, foldLine, writeCalendar } from '../../src/renewals/icalendar.ts';
import { ICS_FEED_PATH, mountIcsFeed, tokenMatches } from '../../src/renewals/ics-route.ts';
import type { Store } from '../../src/store/store.ts';
import { runCliInProcess } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';
import { addDays, context, contract, IT_MANAGER, insertLicense, TestClock } from './renewal-fixtures.ts';

const log = createLogger('silent');
const TOKEN = 'feed-token-0123456789abcdef';

/** Parses an iCalendar text with ical.js (throws on invalid input) and returns its events. */
function events(text: string) {
  const calendar = new ICAL.Component(ICAL.parse(text));
  expect(calendar.name).toBe('vcalendar');
  expect(calendar.getFirstPropertyValue('version')).toBe('2.0');
  expect(calendar.getFirstPropertyValue('prodid')).toBeTruthy();
  return calendar.getAllSubcomponents('vevent').map((c) => new ICAL.Event(c));
}

/** Every physical line ends in CRLF and is at most 75 octets. */
function expectWellFormed(text: string) {
  expect(text.endsWith('\r\n')).toBe(true);
  const lines = text.slice(0, -2).split('\r\n');
  for (const line of lines) {
    expect(line).not.toMatch(/[\r\n]/);
    expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(75);
  }
}

describe('iCalendar writer', () => {
  it('escapes TEXT values and folds long lines at 75 octets without splitting a character', () => {
    expect(escapeText('a,b;c\\d\ne\r\nf')).toBe('a\\,b\\;c\\\\d\\ne\\nf');
    const long = `DESCRIPTION:${'Grüße aus Köln 🎉, '.repeat(12)}`;
    const folded = foldLine(long);
    expectWellFormed(`${folded}\r\n`);
    expect(
      folded
        .split('\r\n')
        .slice(1)
        .every((l) => l.startsWith(' ')),
    ).toBe(true);
    // Unfolding (RFC 5545 §3.1) gives the line back, character for character.
    expect(folded.replace(/\r\n /g, '')).toBe(long);
    expect(foldLine('short')).toBe('short');
  });

  it('writes a calendar that ical.js parses back to the same values', () => {
    const text = writeCalendar({
      prodId: '-//Test//EN',
      name: 'Test',
      generatedAt: new Date('2027-01-02T03:04:05Z'),
      events: [
        {
          uid: 'one@test',
          date: '2027-12-31',
          summary: 'Cancel-by: Adobe, Inc.; "CC" — all apps',
          description: `Line one\nLine two, with commas; semicolons \\ backslash ${'é'.repeat(80)}`,
          categories: ['A', 'B,C'],
          alarmDaysBefore: 7,
        },
      ],
    });
    expectWellFormed(text);
    const [event] = events(text);
    expect(event?.uid).toBe('one@test');
    expect(event?.summary).toBe('Cancel-by: Adobe, Inc.; "CC" — all apps');
    expect(event?.description).toBe(
      `Line one\nLine two, with commas; semicolons \\ backslash ${'é'.repeat(80)}`,
    );
    expect(event?.startDate.isDate).toBe(true);
    expect(event?.startDate.toString()).toBe('2027-12-31');
    expect(event?.endDate.toString()).toBe('2028-01-01');
    expect(event?.component.getFirstPropertyValue('dtstamp')?.toString()).toBe('2027-01-02T03:04:05Z');
    const alarm = event?.component.getFirstSubcomponent('valarm');
    expect(alarm?.getFirstPropertyValue('trigger')?.toString()).toBe('-P7D');
  });
});

describe('renewals calendar: export and HTTP feed', () => {
  let db: TestDatabase;
  let store: Store;
  let server: Server;
  let url: string;
  let offServer: Server;
  let offUrl: string;
  const today = new Date().toISOString().slice(0, 10);
  const renews = addDays(today, 45);

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await db.open();
    const clock = new TestClock(today);
    await insertLicense(store, { sku: 'FIGMA_ORG', enabled: 20, consumed: 12 });
    await contract(context(store, db.config, IT_MANAGER, clock), {
      sku: 'FIGMA_ORG',
      renewalDate: renews,
      noticeDays: 30,
      unitPrice: '45',
      currency: 'USD',
      product: 'Figma Organization',
      vendorContact: 'Jo Doe, renewals@figma.example',
    });
    const app = createHttpApp({ store, metrics: new Metrics(), log, jobsRunning: () => true });
    expect(mountIcsFeed(app, { store, config: db.config, log, token: TOKEN })).toBe(true);
    server = await listen(app, 0, '127.0.0.1');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${ICS_FEED_PATH}`;
    const off = createHttpApp({ store, metrics: new Metrics(), log, jobsRunning: () => true });
    expect(mountIcsFeed(off, { store, config: db.config, log })).toBe(false);
    offServer = await listen(off, 0, '127.0.0.1');
    offUrl = `http://127.0.0.1:${(offServer.address() as AddressInfo).port}${ICS_FEED_PATH}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await new Promise((resolve) => offServer?.close(resolve));
    await db?.drop();
  });

  it('exports a cancel-by and a renewal event per license that a calendar app can read', async () => {
    const { code, out, err } = await runCliInProcess(['export', 'renewals', '--format', 'ics'], db.env);
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expectWellFormed(out);
    const found = events(out);
    expect(
      found.map((e) => ({
        uid: e.uid,
        day: e.startDate.toString(),
        summary: e.summary,
        isDate: e.startDate.isDate,
      })),
    ).toEqual([
      {
        uid: expect.stringMatching(new RegExp(`^seatkeeper-renewal-\\d+-${renews}-cancel-by@seatkeeper$`)),
        day: addDays(renews, -30),
        summary: 'Cancel-by: decide the renewal of Figma Organization (FIGMA_ORG)',
        isDate: true,
      },
      {
        uid: expect.stringMatching(/-renews@seatkeeper$/),
        day: renews,
        summary: 'Renews: Figma Organization (FIGMA_ORG), 20 seats, 900.00 USD/year',
        isDate: true,
      },
    ]);
    expect(found[0]?.description).toContain('Vendor contact: Jo Doe, renewals@figma.example');
  });

  it('exports renewals as CSV and JSON too, and names ics only for renewals', async () => {
    const csv = await runCliInProcess(['export', 'renewals'], db.env);
    expect(csv.code).toBe(0);
    const [header, line] = csv.out.split('\r\n');
    expect(header).toMatch(/^licenseId,product,sku,vendor,renewalDate,renewalDateSource,cancelBy,/);
    expect(header).toContain(
      ',budgetRemaining,budgetCurrency,budgetCheck,budgetExceedsBy,status,decisionId,',
    );
    expect(line).toContain(`,Figma Organization,FIGMA_ORG,Figma,${renews},contract,${addDays(renews, -30)},`);
    const json = JSON.parse((await runCliInProcess(['export', 'renewals', '--format', 'json'], db.env)).out);
    expect(json).toEqual([
      expect.objectContaining({
        sku: 'FIGMA_ORG',
        quantity: 20,
        annualCost: 900,
        status: 'upcoming',
        decisionId: null,
      }),
    ]);
    expect(await runCliInProcess(['export', 'renewals', '--format', 'xml'], db.env)).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^--format must be csv or json or ics, not 'xml'\./),
    });
    expect((await runCliInProcess(['export', 'audit', '--format', 'ics'], db.env)).code).toBe(2);
  });

  it('serves the calendar over HTTP only with the token', async () => {
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="seatkeeper-calendar"');
    expect((await fetch(`${url}?token=wrong`)).status).toBe(401);
    expect((await fetch(`${url}?token=${TOKEN}x`)).status).toBe(401);
    expect((await fetch(`${url}?token=`)).status).toBe(401);

    const good = await fetch(`${url}?token=${TOKEN}`);
    expect(good.status).toBe(200);
    expect(good.headers.get('content-type')).toBe('text/calendar; charset=utf-8');
    expect(good.headers.get('cache-control')).toBe('private, max-age=300');
    const text = await good.text();
    expectWellFormed(text);
    expect(events(text).map((e) => e.startDate.toString())).toEqual([addDays(renews, -30), renews]);

    const bearer = await fetch(url, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    // Without a configured token the feed is off, whatever is presented.
    expect((await fetch(`${offUrl}?token=${TOKEN}`)).status).toBe(404);
  });

  it('compares tokens by value only', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(`${TOKEN} `, TOKEN)).toBe(false);
    expect(tokenMatches(undefined, TOKEN)).toBe(false);
    expect(tokenMatches('', TOKEN)).toBe(false);
  });
});
