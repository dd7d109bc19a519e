import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSignInLink } from '../../src/web/web-auth.ts';
import { launchChromium } from '../support/browser.ts';
import { screenshotPath } from '../support/screenshots.ts';
import { ADMIN, ADMIN_TOKEN, type DashboardEnv, startDashboardService } from './dashboard-fixture.ts';

describe('the dashboard in a browser', () => {
  let env: DashboardEnv;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Script errors and refused resources (a content security policy violation shows here). */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    env = await startDashboardService();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await env?.stop();
  });

  const one = async (text: string) => (await env.store.pool.query(text)).rows[0];

  it('signs in with a one-time link and shows the numbers the store holds', async () => {
    const link = await issueSignInLink(env.store, env.config, ADMIN);
    await page.goto(link.replace(/^http:\/\/[^/]+/, env.url));
    expect(new URL(page.url()).pathname).toBe('/dashboard');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('License dashboard');

    const stored = await one(`SELECT
        (SELECT sum(consumed_units)::int FROM licenses WHERE present) AS consumed,
        (SELECT sum(enabled_units + warning_units)::int FROM licenses WHERE present AND NOT unlimited) AS purchased,
        (SELECT count(*)::int FROM findings WHERE status = 'open') AS open,
        (SELECT count(*)::int FROM cloud_subscribers WHERE person_id IS NULL AND is_active) AS clearing`);
    const tile = (metric: string) => page.locator(`[data-metric="${metric}"] .value`).textContent();
    expect(await tile('consumed')).toBe(String(stored.consumed));
    expect(await tile('purchased')).toBe(String(stored.purchased));
    // Unlimited licenses stay out of the percentage: 45 of 50 limited seats are consumed.
    expect(await page.locator('[data-metric="consumed"] .note').textContent()).toBe('90% of purchased');
    expect(await tile('open-findings')).toBe(String(stored.open));
    expect(await tile('clearing')).toBe(String(stored.clearing));
    const figmaConsumed = await page
      .locator('#utilization tr[data-app="Figma"] td[data-col="consumed"]')
      .textContent();
    expect(figmaConsumed).toBe(
      String((await one(`SELECT consumed_units FROM licenses WHERE sku = 'FIGMA_ORG'`)).consumed_units),
    );

    // The chart is drawn by Chart.js on the canvas, from the three import snapshots.
    const canvas = page.locator('#trend-chart');
    await expect.poll(() => canvas.getAttribute('data-drawn')).toBe('true');
    expect(await canvas.getAttribute('data-points')).toBe('3');
    // Counted in the page (the test's TypeScript has no DOM types, so the page function is plain text).
    const painted = await page.evaluate<number>(`(() => {
      const c = document.getElementById('trend-chart');
      const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let colored = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) colored++;
      return colored;
    })()`);
    expect(painted).toBeGreaterThan(1000);
    // Nothing was refused by the content security policy, and no script failed.
    expect(pageErrors).toEqual([]);
  });

  it('is navigable by headings, and every table and control is named', async () => {
    const unnamed = await page.evaluate<{
      tables: number;
      controls: string[];
      h1: number;
      canvas: string | null;
    }>(`(() => {
      const tables = [...document.querySelectorAll('table')].filter((t) => !t.caption || !t.caption.textContent.trim());
      const controls = [...document.querySelectorAll('input:not([type=hidden]), select, button')]
        .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label') && !c.textContent.trim())
        .map((c) => c.outerHTML);
      return {
        tables: tables.length,
        controls,
        h1: document.querySelectorAll('h1').length,
        canvas: document.getElementById('trend-chart').getAttribute('aria-label'),
      };
    })()`);
    expect(unnamed).toEqual({
      tables: 0,
      controls: [],
      h1: 1,
      canvas: 'Purchased, consumed and active seats per day, from each import',
    });
    const sections = await page.getByRole('heading', { level: 2 }).allTextContents();
    expect(sections).toEqual([
      'Overview',
      'Utilization per app',
      'Open findings',
      'Savings: realized and potential',
      'Renewals calendar',
      'Import health',
      'Inventory',
    ]);
    expect(await page.getByRole('heading', { level: 3 }).allTextContents()).toEqual([
      'Purchased Licenses / SaaS',
      'Subscribers',
      'Clearing Required',
    ]);
  });

  it('redraws the trend for one app', async () => {
    const canvas = page.locator('#trend-chart');
    await page.getByLabel('Trend for').selectOption('Miro Business');
    // Miro had a snapshot at each of the three imports; Zoom only at the last one.
    await expect
      .poll(() => page.evaluate<number>('Chart.getChart("trend-chart").data.datasets[1].data.at(-1)'))
      .toBe(12);
    expect(await canvas.getAttribute('data-points')).toBe('3');
    await page.getByLabel('Trend for').selectOption('Zoom Enterprise');
    await expect.poll(() => canvas.getAttribute('data-points')).toBe('1');
    await page.getByLabel('Trend for').selectOption('');
    await expect.poll(() => canvas.getAttribute('data-points')).toBe('3');
  });

  it('sorts and filters the inventory tables on the server', async () => {
    const table = page.locator('#inventory-licenses');
    await expect.poll(() => table.getAttribute('data-total')).toBe('3');
    const productColumn = async () => table.locator('tbody tr td:nth-child(3)').allTextContents();

    // Sort by consumed units, twice for descending.
    const consumedHeader = table.locator('th[data-key="consumedUnits"]');
    await consumedHeader.getByRole('button').click();
    await expect.poll(() => consumedHeader.getAttribute('aria-sort')).toBe('ascending');
    expect(await productColumn()).toEqual(['Zoom Enterprise', 'Miro Business', 'Figma']);
    await consumedHeader.getByRole('button').click();
    await expect.poll(() => consumedHeader.getAttribute('aria-sort')).toBe('descending');
    expect(await productColumn()).toEqual(['Figma', 'Miro Business', 'Zoom Enterprise']);

    // Filter the subscribers to the unmatched ones: the count agrees with the store.
    const subscribers = page.locator('#inventory-subscribers');
    await page.getByLabel('Matched').selectOption('no');
    const unmatched = await one(`SELECT count(*)::int AS n FROM cloud_subscribers WHERE person_id IS NULL`);
    await expect.poll(() => subscribers.getAttribute('data-total')).toBe(String(unmatched.n));
    const shown = await subscribers.locator('tbody tr td:nth-child(2)').allTextContents();
    expect(shown).toEqual(Array(unmatched.n).fill('—'));
    const csv = await page.locator('section[data-table="subscribers"] a.csv').getAttribute('href');
    expect(csv).toBe('/dashboard/api/inventory/subscribers.csv?matched=no');

    // Findings filtered by kind.
    await page.getByLabel('Kind').selectOption('idle');
    const idle = await one(`SELECT count(*)::int AS n FROM findings WHERE status = 'open' AND kind = 'idle'`);
    await expect.poll(() => page.locator('#findings-list').getAttribute('data-total')).toBe(String(idle.n));
    await page.getByLabel('Kind').selectOption('');
  });

  it('signs out, and signs in again with the admin token through the sign-in form', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/auth\/sign-in$/);
    await page.goto(`${env.url}/dashboard`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      'Sign in to Seatkeeper',
    );
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/dashboard$/);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('License dashboard');
    expect(await page.locator('header .who').textContent()).toContain('dashboard admin token');
    // Signed out, the page answered 401; outside Teams the sign-in page does not load the Teams client.
    expect(pageErrors.every((e) => /status of 401/.test(e))).toBe(true);
    pageErrors.splice(0);
  });

  it('saves a screenshot of the dashboard', async () => {
    await page.getByLabel('Matched').selectOption('');
    await page.evaluate('window.scrollTo(0, 0)');
    await expect.poll(() => page.locator('#trend-chart').getAttribute('data-drawn')).toBe('true');
    const shot = await page.screenshot({ path: screenshotPath('dashboard.png'), fullPage: false });
    expect(shot.length).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);
  });
});
