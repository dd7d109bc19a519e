import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where a browser test saves its screenshot: `test-results/screenshots/` (not tracked), or README's
 * `docs/screenshots/` when `UPDATE_SCREENSHOTS=1` — the pages show the current time, so writing the tracked copy on
 * every run would change it every run.
 */
export function screenshotPath(name: string): string {
  const folder = process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test-results/screenshots';
  const dir = fileURLToPath(new URL(`../../${folder}/`, import.meta.url));
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
