import { describe, expect, it } from 'vitest';
import { DeferredWork } from '../../src/http/deferred-work.ts';

/** A piece of work that finishes (or fails) when the test says so. */
function piece(log: string[], name: string) {
  const control: { finish?: () => void; fail?: (error: Error) => void } = {};
  const work = () =>
    new Promise<string>((resolve, reject) => {
      log.push(`start ${name}`);
      control.finish = () => resolve(name);
      control.fail = reject;
    });
  return { work, control };
}

/** Lets every settled promise's callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('deferred work', () => {
  it('runs at most its concurrency at once and starts the waiting pieces in arrival order', async () => {
    const log: string[] = [];
    const queue = new DeferredWork(2);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => piece(log, name)) as ReturnType<typeof piece>[];
    const results = [a, b, c, d].map((p) => queue.run(p?.work as () => Promise<string>));
    await settle();
    expect(log).toEqual(['start a', 'start b']);
    expect(queue.size).toBe(4);
    b?.control.finish?.();
    await settle();
    expect(log).toEqual(['start a', 'start b', 'start c']);
    a?.control.finish?.();
    await settle();
    c?.control.finish?.();
    await settle();
    d?.control.finish?.();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
    expect(queue.size).toBe(0);
  });

  it('passes a failure to its caller and frees the slot for the next piece', async () => {
    const log: string[] = [];
    const queue = new DeferredWork(1);
    const failing = piece(log, 'failing');
    const next = piece(log, 'next');
    const failed = queue.run(failing.work);
    const after = queue.run(next.work);
    await settle();
    failing.control.fail?.(new Error('vendor down'));
    await expect(failed).rejects.toThrow('vendor down');
    await settle();
    expect(log).toEqual(['start failing', 'start next']);
    next.control.finish?.();
    expect(await after).toBe('next');
  });

  it('says it is full once as many pieces wait as it allows', async () => {
    const log: string[] = [];
    const queue = new DeferredWork(1, 1);
    const first = piece(log, 'first');
    const second = piece(log, 'second');
    const runs = [queue.run(first.work), queue.run(second.work)];
    expect(queue.full).toBe(true);
    await settle();
    first.control.finish?.();
    await settle();
    expect(queue.full).toBe(false);
    second.control.finish?.();
    await Promise.all(runs);
  });

  it('drains: resolves once every accepted piece, and those accepted meanwhile, has settled', async () => {
    const log: string[] = [];
    const queue = new DeferredWork(1);
    const first = piece(log, 'first');
    const later = piece(log, 'later');
    void queue.run(first.work);
    let drained = false;
    const draining = queue.drain().then(() => {
      drained = true;
    });
    void queue.run(later.work).catch(() => undefined);
    await settle();
    first.control.finish?.();
    await settle();
    expect(drained).toBe(false);
    later.control.fail?.(new Error('ignored by drain'));
    await draining;
    expect(log).toEqual(['start first', 'start later']);
  });
});
