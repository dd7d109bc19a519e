/**
 * The Teams app package: the manifest validates against Microsoft's published schema (bundled in
 * `@microsoft/app-manifest`), lists the registry's commands, declares the dashboard tab, and `teams:package` zips it
 * with icons Teams accepts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../handlers/registry.ts';
import {
  buildManifest,
  checkIcons,
  decodePng,
  drawOutlineIcon,
  encodePng,
  MANIFEST_SCHEMA_FILE,
  MANIFEST_VERSION,
  type Manifest,
  packageTeamsApp,
  readManifest,
  TEAMS_DIR,
  teamsCommandLists,
  validateManifest,
} from '../../scripts/teams-package.ts';

const APP_ID = '2f9b6e3a-1c4d-4e5f-8a7b-9c0d1e2f3a4b';
const BASE_URL = 'https://licenses.contoso.com';

/** The entries of a zip file (central directory; stored or deflated), by name. */
function unzip(zip: Buffer): Map<string, Buffer> {
  const entries = new Map<string, Buffer>();
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataAt, dataAt + size);
    entries.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + extra + comment;
  }
  return entries;
}

describe('the Teams app manifest and package', () => {
  it('validates the checked-in manifest against Microsoft’s published schema', () => {
    expect(MANIFEST_SCHEMA_FILE).toContain(`/v${MANIFEST_VERSION}/MicrosoftTeams.schema.json`);
    const manifest = readManifest();
    expect(manifest.$schema).toBe(
      `https://developer.microsoft.com/en-us/json-schemas/teams/v${MANIFEST_VERSION}/MicrosoftTeams.schema.json`,
    );
    expect(manifest.manifestVersion).toBe(MANIFEST_VERSION);
    expect(validateManifest(manifest)).toEqual([]);
  });

  it('lists the registry’s Teams commands (refresh with `tsx scripts/teams-package.ts --write-manifest`)', () => {
    const lists = teamsCommandLists(COMMANDS);
    expect(readManifest().bots[0]?.commandLists).toEqual(lists);
    const commands = lists[0]?.commands ?? [];
    expect(commands.length).toBeLessThanOrEqual(10);
    expect(commands.map((c) => c.title).slice(0, 3)).toEqual(['who-has', 'seats', 'person']);
    expect(commands.map((c) => c.title)).toContain('renewals');
    expect(commands.at(-1)?.title).toBe('help');
    for (const c of commands) {
      expect(c.title.length).toBeLessThanOrEqual(32);
      expect(c.description.length).toBeLessThanOrEqual(128);
    }
  });

  it('fills in the bot, the public URL and the dashboard tab for an installation', () => {
    const manifest = buildManifest(readManifest(), {
      appId: APP_ID,
      baseUrl: `${BASE_URL}/`,
      version: '1.4.0',
    });
    expect(validateManifest(manifest)).toEqual([]);
    expect(manifest.id).toBe(APP_ID);
    expect(manifest.version).toBe('1.4.0');
    expect(manifest.bots[0]?.botId).toBe(APP_ID);
    expect(manifest.validDomains).toEqual(['licenses.contoso.com']);
    expect(manifest.staticTabs).toContainEqual({
      entityId: 'dashboard',
      name: 'Dashboard',
      contentUrl: `${BASE_URL}/dashboard`,
      websiteUrl: `${BASE_URL}/dashboard`,
      scopes: ['personal'],
    });
    expect(JSON.stringify(manifest)).not.toContain('example.com');
    expect(() => buildManifest(readManifest(), { appId: 'seatkeeper', baseUrl: BASE_URL })).toThrow(/GUID/);
    expect(() =>
      buildManifest(readManifest(), { appId: APP_ID, baseUrl: 'http://licenses.contoso.com' }),
    ).toThrow(/https/);
  });

  it('reports what the schema refuses, so the validation above can fail', () => {
    const broken = readManifest() as Manifest & { bots: { botId: string }[] };
    broken.bots[0] = { ...broken.bots[0], botId: 'not-a-guid' } as Manifest['bots'][number];
    (broken as Record<string, unknown>).accentColor = 'teal';
    const tooMany = buildManifest(readManifest(), { appId: APP_ID, baseUrl: BASE_URL });
    const list = tooMany.bots[0]?.commandLists?.[0];
    if (list) list.commands = Array.from({ length: 11 }, (_, i) => ({ title: `c${i}`, description: 'x' }));
    expect(validateManifest(broken).join('\n')).toMatch(/botId[\s\S]*accentColor|accentColor[\s\S]*botId/);
    expect(validateManifest(tooMany).join('\n')).toContain('must NOT have more than 10 items');
  });

  it('zips the manifest and both icons for upload', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'sk-teams-zip-')), 'seatkeeper-teams.zip');
    await packageTeamsApp({ appId: APP_ID, baseUrl: BASE_URL, out });
    const entries = unzip(readFileSync(out));
    expect([...entries.keys()].sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    const manifest = JSON.parse(entries.get('manifest.json')?.toString('utf8') ?? '{}');
    expect(validateManifest(manifest)).toEqual([]);
    expect(manifest.bots[0].botId).toBe(APP_ID);
    expect(entries.get('color.png')?.equals(readFileSync(join(TEAMS_DIR, 'color.png')))).toBe(true);
  });

  it('has icons Teams accepts: 192×192 color, 32×32 white-on-transparent outline', () => {
    expect(checkIcons()).toEqual([]);
    const color = decodePng(readFileSync(join(TEAMS_DIR, 'color.png')));
    expect([color.width, color.height]).toEqual([192, 192]);
    const outline = decodePng(readFileSync(join(TEAMS_DIR, 'outline.png')));
    expect([outline.width, outline.height]).toEqual([32, 32]);
    // The drawing the script produces is the committed one.
    expect(decodePng(drawOutlineIcon()).rgba).toEqual(outline.rgba);
  });

  it('decodes and checks PNGs exactly, so a wrong icon is caught', () => {
    const red = new Uint8Array(32 * 32 * 4).map((_, i) => (i % 4 === 0 || i % 4 === 3 ? 255 : 0));
    const decoded = decodePng(encodePng(32, 32, red));
    expect(decoded.rgba).toEqual(red);
    const dir = mkdtempSync(join(tmpdir(), 'sk-icons-'));
    writeFileSync(join(dir, 'color.png'), encodePng(32, 32, red));
    writeFileSync(join(dir, 'outline.png'), encodePng(32, 32, red));
    expect(checkIcons(dir)).toEqual([
      'color.png is 32×32, not 192×192',
      'outline.png pixel 0,0 is not white',
      'outline.png has no transparent background',
    ]);
  });
});
