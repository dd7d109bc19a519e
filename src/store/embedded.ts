/**
 * The embedded database: PGlite (PostgreSQL compiled to WASM) persisted in a data directory and served on a local
 * socket by pglite-socket, so the rest of Seatkeeper talks to it through `pg` exactly as it talks to a server.
 *
 * Only one process may open a PGlite data directory. The process that opens it holds `seatkeeper.lock` (its pid and
 * the address it serves on); any other process — a CLI command while the service runs — connects to that address.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ProtocolAwareQueue } from './embedded-queue.ts';

/**
 * A socket server whose connections share `ProtocolAwareQueue` instead of pglite-socket's own queue (which
 * interleaves concurrent extended-protocol queries). pglite-socket is pinned to 0.2.17, whose connection handlers
 * take the server's `queryQueue`; the embedded-store tests fail if that ever changes.
 */
function socketServer(
  db: PGlite,
  where: { path: string } | { host: string; port: number },
): PGLiteSocketServer {
  const server = new PGLiteSocketServer({ db, ...where, maxConnections: 256 });
  (server as unknown as { queryQueue: ProtocolAwareQueue }).queryQueue = new ProtocolAwareQueue(db);
  return server;
}

export interface EmbeddedAddress {
  /** A directory holding the Unix socket, or a loopback host. */
  host: string;
  port: number;
}

interface LockContent {
  pid: number;
  address?: EmbeddedAddress;
}

export interface EmbeddedServer {
  address: EmbeddedAddress;
  dataDir: string;
  stop(): Promise<void>;
}

/** The embedded database is locked by another live process. */
export class DataDirBusyError extends Error {}

const LOCK_FILE = 'seatkeeper.lock';
const SOCKET_PORT = 5432;
// A Unix socket path is limited to 107 bytes on Linux; past that we serve on a loopback TCP port instead.
const MAX_SOCKET_PATH = 100;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(dir: string): LockContent | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockContent;
  } catch {
    return undefined;
  }
}

/**
 * Finds the address of a live process that serves `dataDir`, waiting while it starts up.
 * Returns undefined when no live process holds the directory.
 */
export async function findRunningServer(
  dataDir: string,
  waitMs = 60_000,
): Promise<EmbeddedAddress | undefined> {
  const dir = resolve(dataDir);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const lock = readLock(dir);
    if (!lock || !isAlive(lock.pid)) return undefined;
    if (lock.address) return lock.address;
    if (Date.now() > deadline) {
      throw new DataDirBusyError(
        `The embedded database in ${dir} is held by process ${lock.pid}, which has not finished starting.`,
      );
    }
    await sleep(200);
  }
}

/** Takes the data directory's lock, or throws DataDirBusyError when a live process holds it. */
function takeLock(dir: string): void {
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid } satisfies LockContent), {
        flag: 'wx',
        mode: 0o600,
      });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const lock = readLock(dir);
      if (lock && isAlive(lock.pid)) {
        throw new DataDirBusyError(
          `The embedded database in ${dir} is in use by process ${lock.pid} (a running Seatkeeper). Stop it, or use DATABASE_URL.`,
        );
      }
      // A lock left by a process that died: take it over.
      rmSync(file, { force: true });
    }
  }
  throw new DataDirBusyError(`Could not lock the embedded database in ${dir}.`);
}

/** Opens PGlite in `dataDir` and serves it locally. The caller must `stop()` it. */
export async function startEmbeddedServer(dataDir: string): Promise<EmbeddedServer> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  takeLock(dir);
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    db = await PGlite.create({ dataDir: join(dir, 'pgdata') });
    const socketPath = join(dir, `.s.PGSQL.${SOCKET_PORT}`);
    let address: EmbeddedAddress;
    if (socketPath.length <= MAX_SOCKET_PATH) {
      rmSync(socketPath, { force: true });
      server = socketServer(db, { path: socketPath });
      await server.start();
      address = { host: dir, port: SOCKET_PORT };
    } else {
      server = socketServer(db, { host: '127.0.0.1', port: 0 });
      await server.start();
      const conn = server.getServerConn();
      address = { host: '127.0.0.1', port: Number(conn.split(':').pop()) };
    }
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, address } satisfies LockContent), {
      mode: 0o600,
    });
    const opened = { db, server };
    return {
      address,
      dataDir: dir,
      async stop() {
        await opened.server.stop();
        await opened.db.close();
        rmSync(join(dir, LOCK_FILE), { force: true });
        rmSync(socketPath, { force: true });
      },
    };
  } catch (error) {
    await server?.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    if (existsSync(join(dir, LOCK_FILE))) rmSync(join(dir, LOCK_FILE), { force: true });
    throw error;
  }
}
