/**
 * The Teams app package: `manifest/teams/manifest.json` with the bot's app id and the service's public URL filled in,
 * its command list taken from the registry, checked against Microsoft's manifest schema (bundled in
 * `@microsoft/app-manifest`), zipped with the two icons for upload in Teams or the Teams admin center.
 *
 *   npm run teams:package -- --app-id <MICROSOFT_APP_ID> --base-url https://seatkeeper.example.com [--version 1.2.0]
 *                            [--out dist/seatkeeper-teams.zip]
 *   npx tsx scripts/teams-package.ts --write-manifest   # refresh the checked-in command list from the registry
 *   npx tsx scripts/teams-package.ts --icons            # redraw color.png and outline.png
 *
 * The icons are drawn here (PNG written with zlib, no image library) so they can be regenerated and checked.
 */
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { crc32, deflateSync, inflateSync } from 'node:zlib';
import ajvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { ZipFile } from 'yazl';
import { COMMANDS, type CommandSpec } from '../handlers/registry.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The checked-in manifest and icons. */
export const TEAMS_DIR = resolve(ROOT, 'manifest/teams');
/** The manifest schema version this package targets; its schema ships in `@microsoft/app-manifest`. */
export const MANIFEST_VERSION = '1.22';
export const MANIFEST_SCHEMA_FILE = resolve(
  ROOT,
  `node_modules/@microsoft/app-manifest/build/json-schemas/teams/v${MANIFEST_VERSION}/MicrosoftTeams.schema.json`,
);
/** Placeholders in the checked-in manifest, replaced when packaging. */
export const PLACEHOLDER_APP_ID = '00000000-0000-0000-0000-000000000000';
export const PLACEHOLDER_BASE_URL = 'https://seatkeeper.example.com';

export type Manifest = Record<string, unknown> & {
  id: string;
  version: string;
  bots: { botId: string; commandLists?: CommandList[] }[];
};
export interface CommandList {
  scopes: string[];
  commands: { title: string; description: string }[];
}

// ─── command list ──────────────────────────────────────────────────────────────────────────────────────────────

/** The commands shown first in the compose box; the rest of the read commands follow in registry order. */
const PREFERRED = [
  'who-has',
  'seats',
  'person',
  'mine',
  'findings',
  'renewals',
  'clearing',
  'savings',
  'idle',
];
const MAX_COMMANDS = 10;

/**
 * The manifest's `commandLists` from the registry: up to 10 commands offered in Teams (preferred ones first, then
 * read commands), with `help` last. They are hints in the compose box; the bot parses whatever is typed.
 */
export function teamsCommandLists(commands: readonly CommandSpec[] = COMMANDS): CommandList[] {
  const teams = commands.filter((c) => c.surfaces.includes('teams'));
  const reads = teams.filter((c) => c.role === 'helpdesk' || c.role === 'member');
  const ordered = [
    ...PREFERRED.map((name) => teams.find((c) => c.name === name)).filter((c): c is CommandSpec =>
      Boolean(c),
    ),
    ...reads.filter((c) => !PREFERRED.includes(c.name)),
  ].slice(0, MAX_COMMANDS - 1);
  const entries = ordered.map((c) => ({ title: c.name.slice(0, 32), description: shorten(c.summary, 128) }));
  entries.push({ title: 'help', description: 'What Seatkeeper can do, with examples' });
  return [{ scopes: ['personal', 'team', 'groupChat'], commands: entries }];
}

const shorten = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

// ─── manifest ──────────────────────────────────────────────────────────────────────────────────────────────────

export function readManifest(dir = TEAMS_DIR): Manifest {
  return JSON.parse(readFileSync(resolve(dir, 'manifest.json'), 'utf8')) as Manifest;
}

export interface PackageOptions {
  /** The bot's Microsoft Entra app id (MICROSOFT_APP_ID); also the Teams app id. */
  appId: string;
  /** The service's public https URL (the bot endpoint is `<base>/api/messages`, the tab `<base>/dashboard`). */
  baseUrl: string;
  /** The app package version (semver); defaults to the manifest's. */
  version?: string;
}

/** The manifest for an installation: app id, URLs and version filled in, command list from the registry. */
export function buildManifest(
  template: Manifest,
  options: PackageOptions,
  commands?: readonly CommandSpec[],
): Manifest {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(options.appId)) {
    throw new Error(`--app-id must be the bot's app id (a GUID), not '${options.appId}'.`);
  }
  const base = new URL(options.baseUrl);
  if (base.protocol !== 'https:')
    throw new Error(`--base-url must be an https:// URL, not '${options.baseUrl}'.`);
  const origin = base.origin;
  const text = JSON.stringify(template)
    .split(PLACEHOLDER_APP_ID)
    .join(options.appId)
    .split(PLACEHOLDER_BASE_URL)
    .join(origin)
    .split(new URL(PLACEHOLDER_BASE_URL).host)
    .join(base.host);
  const manifest = JSON.parse(text) as Manifest;
  if (options.version) manifest.version = options.version;
  for (const bot of manifest.bots) bot.commandLists = teamsCommandLists(commands);
  return manifest;
}

/** Problems with a manifest according to Microsoft's published schema (empty: valid). */
export function validateManifest(manifest: unknown): string[] {
  const schema = JSON.parse(readFileSync(MANIFEST_SCHEMA_FILE, 'utf8'));
  // CommonJS packages: their `default` export is the class (the manifest schema is JSON Schema draft-04).
  const ajv = new ajvDraft04.default({ allErrors: true, strictTypes: false });
  ajvFormats.default(ajv, ['uri', 'email', 'regex']);
  const validate = ajv.compile(schema);
  if (validate(manifest)) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}

// ─── icons ─────────────────────────────────────────────────────────────────────────────────────────────────────

/** An 8-bit RGBA PNG (filter 0 on every row), written with zlib. */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0;
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A decoded PNG (8-bit RGB or RGBA, not interlaced), as RGBA pixels. */
export interface DecodedPng {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** Decodes the PNGs Teams accepts as icons; throws on anything else (16-bit, palette, interlaced, bad CRC). */
export function decodePng(png: Buffer): DecodedPng {
  if (!png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    throw new Error('not a PNG');
  }
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('ascii', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (crc32(png.subarray(at + 4, at + 8 + length)) !== png.readUInt32BE(at + 8 + length)) {
      throw new Error(`bad CRC in ${type}`);
    }
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, color, , , interlace] = data.subarray(8, 13);
      if (depth !== 8 || (color !== 6 && color !== 2) || interlace !== 0) {
        throw new Error(`unsupported PNG (bit depth ${depth}, color type ${color}, interlace ${interlace})`);
      }
      channels = color === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x] as number;
      const left = x >= channels ? (pixels[y * stride + x - channels] as number) : 0;
      const up = y > 0 ? (pixels[(y - 1) * stride + x] as number) : 0;
      const upLeft = y > 0 && x >= channels ? (pixels[(y - 1) * stride + x - channels] as number) : 0;
      let predictor = 0;
      if (filter === 1) predictor = left;
      else if (filter === 2) predictor = up;
      else if (filter === 3) predictor = Math.floor((left + up) / 2);
      else if (filter === 4) {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      pixels[y * stride + x] = (value + predictor) & 0xff;
    }
  }
  if (channels === 4) return { width, height, rgba: pixels };
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba.set(pixels.subarray(i * 3, i * 3 + 3), i * 4);
    rgba[i * 4 + 3] = 255;
  }
  return { width, height, rgba };
}

/** The Seatkeeper mark, a seat, in a unit square: backrest, seat, arms and legs as rounded rectangles. */
const SEAT: readonly [x0: number, y0: number, x1: number, y1: number, radius: number][] = [
  [0.32, 0.18, 0.68, 0.56, 0.07],
  [0.24, 0.52, 0.76, 0.67, 0.05],
  [0.18, 0.4, 0.3, 0.67, 0.05],
  [0.7, 0.4, 0.82, 0.67, 0.05],
  [0.3, 0.64, 0.37, 0.82, 0.02],
  [0.63, 0.64, 0.7, 0.82, 0.02],
];

function inSeat(x: number, y: number): boolean {
  return SEAT.some(([x0, y0, x1, y1, r]) => {
    if (x < x0 || x > x1 || y < y0 || y > y1) return false;
    const dx = Math.max(x0 + r - x, 0, x - (x1 - r));
    const dy = Math.max(y0 + r - y, 0, y - (y1 - r));
    return dx * dx + dy * dy <= r * r;
  });
}

/** Draws the mark at `size` pixels: coverage from 4×4 samples per pixel, so edges are smooth. */
function coverage(size: number): Float64Array {
  const cover = new Float64Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let hits = 0;
      for (let sy = 0; sy < 4; sy++) {
        for (let sx = 0; sx < 4; sx++)
          if (inSeat((x + (sx + 0.5) / 4) / size, (y + (sy + 0.5) / 4) / size)) hits++;
      }
      cover[y * size + x] = hits / 16;
    }
  }
  return cover;
}

/** The accent color: the color icon's background and the manifest's `accentColor`. */
export const ACCENT: readonly [number, number, number] = [0x2e, 0x6b, 0x5e];

/** The 192×192 color icon: a white seat on the accent color, edge to edge. */
export function drawColorIcon(): Buffer {
  const size = 192;
  const cover = coverage(size);
  const rgba = new Uint8Array(size * size * 4);
  for (let i = 0; i < size * size; i++) {
    const c = cover[i] as number;
    for (let k = 0; k < 3; k++) rgba[i * 4 + k] = Math.round((ACCENT[k] as number) * (1 - c) + 255 * c);
    rgba[i * 4 + 3] = 255;
  }
  return encodePng(size, size, rgba);
}

/** The 32×32 outline icon: the seat in white on a transparent background, as Teams requires. */
export function drawOutlineIcon(): Buffer {
  const size = 32;
  const cover = coverage(size);
  const rgba = new Uint8Array(size * size * 4);
  for (let i = 0; i < size * size; i++) {
    rgba.set([255, 255, 255, Math.round((cover[i] as number) * 255)], i * 4);
  }
  return encodePng(size, size, rgba);
}

/** Problems with the icons Teams would reject: sizes, and an outline that is not white on transparent. */
export function checkIcons(dir = TEAMS_DIR): string[] {
  const problems: string[] = [];
  const color = decodePng(readFileSync(resolve(dir, 'color.png')));
  if (color.width !== 192 || color.height !== 192)
    problems.push(`color.png is ${color.width}×${color.height}, not 192×192`);
  const outline = decodePng(readFileSync(resolve(dir, 'outline.png')));
  if (outline.width !== 32 || outline.height !== 32) {
    problems.push(`outline.png is ${outline.width}×${outline.height}, not 32×32`);
  }
  let opaque = 0;
  let transparent = 0;
  let notWhite: number | undefined;
  for (let i = 0; i < outline.width * outline.height; i++) {
    const [r, g, b, a] = outline.rgba.subarray(i * 4, i * 4 + 4);
    if (a !== 0 && (r !== 255 || g !== 255 || b !== 255)) notWhite ??= i;
    if (a === 255) opaque++;
    if (a === 0) transparent++;
  }
  if (notWhite !== undefined) {
    problems.push(
      `outline.png pixel ${notWhite % outline.width},${Math.floor(notWhite / outline.width)} is not white`,
    );
  }
  if (opaque === 0) problems.push('outline.png has no opaque pixel');
  if (transparent === 0) problems.push('outline.png has no transparent background');
  return problems;
}

// ─── the package ───────────────────────────────────────────────────────────────────────────────────────────────

/** Builds, validates and zips the app package; resolves with the manifest that went into it. */
export async function packageTeamsApp(
  options: PackageOptions & { out: string; dir?: string },
): Promise<Manifest> {
  const dir = options.dir ?? TEAMS_DIR;
  const manifest = buildManifest(readManifest(dir), options);
  const problems = [...validateManifest(manifest), ...checkIcons(dir)];
  if (problems.length > 0) throw new Error(`The Teams app package is invalid:\n  ${problems.join('\n  ')}`);
  mkdirSync(dirname(options.out), { recursive: true });
  const zip = new ZipFile();
  // A fixed time keeps the zip the same for the same inputs.
  const mtime = new Date('2026-01-01T00:00:00Z');
  zip.addBuffer(Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 'manifest.json', { mtime });
  zip.addBuffer(readFileSync(resolve(dir, 'color.png')), 'color.png', { mtime });
  zip.addBuffer(readFileSync(resolve(dir, 'outline.png')), 'outline.png', { mtime });
  zip.end();
  await new Promise<void>((done, failed) => {
    const file = createWriteStream(options.out);
    file.once('error', failed);
    file.once('close', () => done());
    zip.outputStream.once('error', failed).pipe(file);
  });
  return manifest;
}

function option(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--icons')) {
    writeFileSync(resolve(TEAMS_DIR, 'color.png'), drawColorIcon());
    writeFileSync(resolve(TEAMS_DIR, 'outline.png'), drawOutlineIcon());
    process.stdout.write(`Icons written to ${TEAMS_DIR}.\n`);
    return 0;
  }
  if (argv.includes('--write-manifest')) {
    const manifest = readManifest();
    for (const bot of manifest.bots) bot.commandLists = teamsCommandLists();
    writeFileSync(resolve(TEAMS_DIR, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    process.stdout.write('manifest/teams/manifest.json: command list refreshed from the registry.\n');
    return 0;
  }
  const appId = option(argv, 'app-id');
  const baseUrl = option(argv, 'base-url');
  if (!appId || !baseUrl) {
    process.stderr.write(
      'Usage: npm run teams:package -- --app-id <MICROSOFT_APP_ID> --base-url https://<public host> [--version X.Y.Z] [--out FILE]\n',
    );
    return 2;
  }
  const out = resolve(option(argv, 'out') ?? resolve(ROOT, 'dist/seatkeeper-teams.zip'));
  try {
    const manifest = await packageTeamsApp({ appId, baseUrl, version: option(argv, 'version'), out });
    process.stdout.write(
      `${out}: Teams app ${manifest.version} for bot ${appId}, validated against manifest ${MANIFEST_VERSION}.\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
