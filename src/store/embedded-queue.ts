/**
 * The statement queue in front of the embedded database. PGlite has one session; pglite-socket lets many
 * connections share it by running their protocol messages one at a time, and keeps an open transaction to the
 * connection that started it. But it interleaves the messages of an extended-protocol query (Parse, Bind, Execute,
 * Sync) from different connections, so two concurrent parameterized queries can overwrite each other's unnamed
 * statement or portal ("portal does not exist"). This queue gives a connection the session from its first
 * extended-protocol message to its Sync — and, as before, for the whole of a transaction.
 */
import type { PGlite } from '@electric-sql/pglite';

interface Pending {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: Error) => void;
}

// Frontend message types that end an exchange: Sync (extended protocol) and Query (simple protocol).
const SYNC = 'S'.charCodeAt(0);
const QUERY = 'Q'.charCodeAt(0);
// Extended-protocol messages: Parse, Bind, Describe, Execute, Close, Flush.
const EXTENDED = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));

/** Drop-in for pglite-socket's query queue (the methods its server and connection handlers call). */
export class ProtocolAwareQueue {
  private readonly queue: Pending[] = [];
  private processing = false;
  /** The connection that holds the session: mid extended-protocol exchange, or inside a transaction. */
  private owner: number | null = null;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.process();
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  clearQueueForHandler(handlerId: number): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const item = this.queue[i] as Pending;
      if (item.handlerId === handlerId) {
        this.queue.splice(i, 1);
        item.reject(new Error('connection closed'));
      }
    }
  }

  /** A connection went away while holding the session: roll back what it left open and let the others go on. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    if (this.db.isInTransaction()) await this.db.exec('ROLLBACK');
    this.owner = null;
    await this.process();
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      for (;;) {
        const index = this.owner === null ? 0 : this.queue.findIndex((p) => p.handlerId === this.owner);
        if (index < 0 || this.queue.length === 0) return;
        const item = this.queue.splice(index, 1)[0] as Pending;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (error) {
          item.reject(error as Error);
          continue;
        }
        const type = item.message[0] ?? 0;
        if (EXTENDED.has(type)) this.owner = item.handlerId;
        else if (type === SYNC || type === QUERY)
          this.owner = this.db.isInTransaction() ? item.handlerId : null;
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  }
}
