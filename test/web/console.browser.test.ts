import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { type Demo, startDemo } from '../../src/demo/demo.ts';
import { createLogger } from '../../src/log.ts';
import { issueSignInLink } from '../../src/web/web-auth.ts';
import { launchChromium } from '../support/browser.ts';
import { screenshotPath } from '../support/screenshots.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-store.ts';

const ACTION = /^\/v2\/usermanagement\/action\//;
const ACROBAT = 'Acrobat Pro DC - Company';

describe('the console in a browser', () => {
  let db: TestDatabase;
  let dir: string;
  let demo: Demo;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'sk-console-'));
    // The demo organisation on the vendor fakes, in-process, on a real PostgreSQL database.
    demo = await startDemo({
      config: loadConfig({ PORT: '0', LOG_LEVEL: 'silent', NODE_ENV: 'test', SEATKEEPER_DATA_DIR: dir }),
      log: createLogger('silent'),
      people: 80,
      dir: join(dir, 'demo'),
      databaseUrl: db.env.DATABASE_URL,
    });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1100, height: 1000 } })).newPage();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('asks to sign in first', async () => {
    const answer = await fetch(`${demo.url}/console`);
    expect(answer.status).toBe(401);
    const api = await fetch(`${demo.url}/console/api/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'who-has figma' }),
    });
    expect(api.status).toBe(401);
  });

  it('runs a command, reclaims a seat from its card and the vendor removes it once', async () => {
    const config = { ...demo.config, PORT: demo.service.port };
    const link = await issueSignInLink(demo.service.store, config, demo.org.admin.email);
    await page.goto(link);
    await page.goto(`${demo.url}/console`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Seatkeeper console');
    expect(await page.getByRole('note').textContent()).toContain('SEATKEEPER_DEMO=0');
    // The page opens with the help card: what this person can ask.
    await page.locator('.message.bot').first().getByText('who-has', { exact: false }).first().waitFor();

    await page.getByLabel('Command').fill('/license who-has ADOBE_ACROBAT_PRO --limit 1');
    await page.getByRole('button', { name: 'Send' }).click();
    const card = page.locator('.message.bot').last();
    const reclaim = card.getByRole('button', { name: 'Reclaim', exact: true });
    await reclaim.waitFor();
    // The one row's account: the first address on the card.
    const blocks = await card.locator('.ac-textBlock').allInnerTexts();
    const email = blocks.map((b) => b.trim()).find((b) => /^[\w.+-]+@[\w.-]+\.\w+$/.test(b)) as string;
    expect(demo.vendors.adobe.data.users.find((u) => u.email === email)?.groups).toContain(ACROBAT);

    await reclaim.click();
    const confirm = card.getByRole('button', { name: 'Yes, reclaim' });
    await confirm.waitFor();
    expect(demo.vendors.adobe.calls(ACTION, 'POST')).toHaveLength(0);
    await confirm.click();
    // The card changes in place: queued first, then the vendor's outcome.
    await card.getByText(/\(done\)/).waitFor({ timeout: 30_000 });
    expect(await card.textContent()).toContain(`Reclaim ${email}`);

    const removals = demo.vendors.adobe.calls(ACTION, 'POST');
    expect(removals).toHaveLength(1);
    expect(removals[0]?.json).toEqual([
      { user: email, requestID: expect.any(String), do: [{ remove: { group: [ACROBAT] } }] },
    ]);
    expect(demo.vendors.adobe.data.users.find((u) => u.email === email)?.groups).not.toContain(ACROBAT);

    const audit = await demo.service.store.pool.query<{ actor: string; action: string }>(
      `SELECT actor, action FROM audit_log WHERE surface = 'web' AND action LIKE 'reclaim%' ORDER BY id`,
    );
    expect(audit.rows.length).toBeGreaterThan(0);
    expect(audit.rows.every((r) => r.actor === demo.org.admin.email)).toBe(true);

    await page.getByRole('button', { name: 'Send' }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath('console.png') });
  });

  it('keeps an idle seat with the reason typed into the card’s form', async () => {
    await page.getByLabel('Command').fill('/license findings --kind idle --limit 1');
    await page.getByRole('button', { name: 'Send' }).click();
    const card = page.locator('.message.bot').last();
    await card.getByRole('button', { name: 'Keep', exact: true }).click();
    const reason = card.getByLabel('Reason');
    await reason.fill('on parental leave until spring');
    await card.getByRole('button', { name: 'Save' }).click();
    await card.getByText(/^Keep .* — by /).waitFor();
    const added = await demo.service.store.pool.query<{ actor: string; after: unknown }>(
      `SELECT actor, after FROM audit_log WHERE surface = 'web' AND action = 'exemption.add'`,
    );
    expect(added.rows).toHaveLength(1);
    expect(added.rows[0]?.actor).toBe(demo.org.admin.email);
    expect(JSON.stringify(added.rows[0]?.after)).toContain('on parental leave until spring');
  });

  it('answers a command the registry does not know with the help card', async () => {
    await page.getByLabel('Command').fill('/license frobnicate');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.message.bot').last().getByText('I don’t know “frobnicate”').waitFor();
  });
});
