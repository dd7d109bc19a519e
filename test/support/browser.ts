import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium, headless, with nothing that reaches out to the network on its own (this machine's network is
 * closed, and those connections fail noisily). Playwright gives every launch a fresh, temporary profile.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
