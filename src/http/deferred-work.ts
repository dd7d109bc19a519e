/**
 * Work a chat endpoint does after it has acknowledged the request (a slash command's answer, a Teams turn): at most
 * `concurrency` pieces run at once and the rest wait in arrival order. A burst of requests then does not fill the
 * event loop with half-done turns, each holding its own queries and renders, so the next request is still read and
 * acknowledged promptly. `drain()` waits for everything accepted so far: shutdown loses no answer.
 */
export class DeferredWork {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly accepted = new Set<Promise<unknown>>();

  /**
   * @param concurrency how many pieces run at once
   * @param maxWaiting how many may wait for a turn before `full` says to do the work within the request instead
   */
  constructor(
    readonly concurrency: number,
    readonly maxWaiting = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('concurrency must be ≥ 1');
  }

  /** Pieces running or waiting. */
  get size(): number {
    return this.running + this.waiting.length;
  }

  /**
   * Whether as many pieces wait as may: a caller should then not acknowledge early but answer once its work is done,
   * which slows the sender down instead of letting the queue grow without bound.
   */
  get full(): boolean {
    return this.waiting.length >= this.maxWaiting;
  }

  /** Runs `work` once a slot is free; settles as `work` does. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const done = this.slot()
      .then(work)
      .finally(() => this.release());
    const tracked = done.then(
      () => undefined,
      () => undefined,
    );
    this.accepted.add(tracked);
    void tracked.then(() => this.accepted.delete(tracked));
    return done;
  }

  /** Resolves when every piece accepted so far (and any accepted meanwhile) has settled. */
  async drain(): Promise<void> {
    while (this.accepted.size > 0) await Promise.all([...this.accepted]);
  }

  private slot(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    // The slot passes straight from the piece that finishes to the one that waited longest.
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
