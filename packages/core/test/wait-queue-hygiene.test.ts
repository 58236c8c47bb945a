import { setMaxListeners } from 'node:events';
import { WaitQueue } from '@cf/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { abortListeners } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

const makeQueue = () => new WaitQueue<number, number>({ resource: 'hygiene', lock: {} });

describe('WaitQueue timers', () => {
  it('clears the timer however a waiter settles: grant, reject, rejectAll, abort, timeout', async () => {
    vi.useFakeTimers();
    const queue = makeQueue();
    const settle: Array<[string, (p: Promise<number>) => void]> = [
      ['grant', () => queue.grant(queue.first!, 1)],
      ['reject', () => queue.reject(queue.first!, new Error('no'))],
      ['rejectAll', () => queue.rejectAll(new Error('closed'))],
    ];
    for (const [name, act] of settle) {
      const promise = queue.enqueue(1, { timeout: 1000 });
      expect(vi.getTimerCount(), name).toBe(1);
      act(promise);
      expect(vi.getTimerCount(), name).toBe(0);
      await promise.catch(() => {});
    }
    const controller = new AbortController();
    const aborted = queue.enqueue(1, { timeout: 1000, signal: controller.signal });
    controller.abort();
    expect(vi.getTimerCount()).toBe(0);
    await aborted.catch(() => {});
    const timedOut = queue.enqueue(1, { timeout: 10 });
    vi.advanceTimersByTime(10);
    expect(vi.getTimerCount()).toBe(0);
    await timedOut.catch(() => {});
  });

  it('many waiters with timeouts leave no timer once all are granted', async () => {
    vi.useFakeTimers();
    const queue = makeQueue();
    const promises = Array.from({ length: 1000 }, (_, i) => queue.enqueue(i, { timeout: 1 + (i % 50) }));
    expect(vi.getTimerCount()).toBe(1000);
    while (queue.first !== undefined) queue.grant(queue.first, 0);
    expect(vi.getTimerCount()).toBe(0);
    await Promise.all(promises);
  });
});

describe('WaitQueue signal listeners', () => {
  it('holds one listener per pending waiter and none once they settled, whichever way', async () => {
    vi.useFakeTimers();
    const queue = makeQueue();
    const controller = new AbortController();
    const { signal } = controller;
    setMaxListeners(0, signal);
    const promises = Array.from({ length: 10 }, (_, i) =>
      queue.enqueue(i, { signal, timeout: i < 5 ? 100 : undefined }),
    );
    expect(abortListeners(signal)).toBe(10);
    queue.grant(queue.first!, 0);
    queue.reject(queue.first!, new Error('no'));
    expect(abortListeners(signal)).toBe(8);
    vi.advanceTimersByTime(100);
    expect(queue.size).toBe(5);
    expect(abortListeners(signal)).toBe(5);
    queue.rejectAll(new Error('closed'));
    expect(abortListeners(signal)).toBe(0);
    await Promise.allSettled(promises);
    const other = new AbortController();
    const last = queue.enqueue(1, { signal: other.signal });
    other.abort();
    expect(abortListeners(other.signal)).toBe(0);
    await last.catch(() => {});
  });

  it('a million settled waits on one long-lived signal leave 0 listeners on it', async () => {
    const queue = makeQueue();
    const { signal } = new AbortController();
    // Node warns past 10 listeners on one signal; 1,000 pending waiters sharing it is the point here.
    setMaxListeners(0, signal);
    const options = { signal };
    let granted = 0;
    let maxListeners = 0;
    for (let round = 0; round < 1000; round++) {
      const batch: Promise<number>[] = [];
      for (let i = 0; i < 1000; i++) batch.push(queue.enqueue(i, options));
      maxListeners = Math.max(maxListeners, abortListeners(signal));
      for (let waiter = queue.first; waiter !== undefined; waiter = queue.first) queue.grant(waiter, 1);
      for (const value of await Promise.all(batch)) granted += value;
    }
    expect(granted).toBe(1_000_000);
    expect(maxListeners).toBe(1000);
    expect(abortListeners(signal)).toBe(0);
    expect(queue.size).toBe(0);
  }, 120_000);
});
