import type { Lease, Lock, LockEvent } from '@cf/core';
import { addObserver, NotHeldError, Priority, semaphoreAsLock, TimeoutError } from '@cf/core';
import { Condition, Semaphore } from '@cf/sync';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FAKE_TIMERS, flush, track } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

function setup(): { semaphore: Semaphore; lock: Lock; condition: Condition } {
  const semaphore = new Semaphore(1);
  const lock = semaphoreAsLock(semaphore);
  return { semaphore, lock, condition: new Condition(lock) };
}

describe('Condition', () => {
  it('wait gives up the lease, and resolves with a new lease on the same lock after notify', async () => {
    const { semaphore, lock, condition } = setup();
    const lease = await lock.acquire();
    const waiting = track(condition.wait(lease));
    await flush();
    expect(lease.released).toBe(true);
    expect(semaphore.availablePermits).toBe(1);
    expect(condition.waitersCount).toBe(1);
    const notifier = await lock.acquire();
    expect(condition.notify()).toBe(true);
    await flush();
    // Notified, but the lock is still held by the notifier.
    expect(waiting.settled).toBe(false);
    await notifier.release();
    await flush();
    const next = waiting.value!;
    expect(next.released).toBe(false);
    expect(next.token).toBeGreaterThan(notifier.token);
    expect(semaphore.availablePermits).toBe(0);
    await next.release();
  });

  it('a notify sent by the next holder right after the wait is not lost', async () => {
    const { lock, condition } = setup();
    const lease = await lock.acquire();
    const waiting = condition.wait(lease);
    const next = lock.tryAcquire();
    const holder = (await next)!;
    expect(condition.notify()).toBe(true);
    await holder.release();
    await (await waiting).release();
  });

  it('notify wakes one waiter in priority order; notifyAll wakes the rest, who re-acquire one at a time', async () => {
    const { lock, condition } = setup();
    let holders = 0;
    let maxHolders = 0;
    const order: string[] = [];
    const waiter = async (name: string, priority: number): Promise<void> => {
      let lease = await lock.acquire();
      lease = await condition.wait(lease, { priority });
      holders++;
      maxHolders = Math.max(maxHolders, holders);
      order.push(name);
      await flush();
      holders--;
      await lease.release();
    };
    const runs = [waiter('low', Priority.LOW), waiter('high', Priority.HIGH), waiter('normal', Priority.NORMAL)];
    await flush();
    expect(condition.waitersCount).toBe(3);
    expect(condition.notify()).toBe(true);
    await flush();
    await flush();
    expect(order).toEqual(['high']);
    expect(condition.notifyAll()).toBe(2);
    await Promise.all(runs);
    expect(order).toEqual(['high', 'normal', 'low']);
    expect(maxHolders).toBe(1);
    expect(condition.notify()).toBe(false);
  });

  it('a timed-out wait rejects with TimeoutError and holds nothing', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const { semaphore, lock, condition } = setup();
    const lease = await lock.acquire();
    const waiting = condition.wait(lease, { timeout: 50 });
    const assertion = expect(waiting).rejects.toBeInstanceOf(TimeoutError);
    vi.advanceTimersByTime(50);
    await assertion;
    expect(condition.waitersCount).toBe(0);
    expect(semaphore.availablePermits).toBe(1);
    expect(condition.notify()).toBe(false);
  });

  it('an aborted wait rejects with signal.reason and holds nothing; a pre-aborted one too', async () => {
    const { semaphore, lock, condition } = setup();
    const controller = new AbortController();
    const waiting = condition.wait(await lock.acquire(), { signal: controller.signal });
    controller.abort('bye');
    await expect(waiting).rejects.toBe('bye');
    expect(semaphore.availablePermits).toBe(1);
    const lease = await lock.acquire();
    await expect(condition.wait(lease, { signal: AbortSignal.abort('early') })).rejects.toBe('early');
    expect(lease.released).toBe(true);
    expect(semaphore.availablePermits).toBe(1);
    expect(condition.waitersCount).toBe(0);
  });

  it('once notified, the timeout no longer applies; an abort during re-acquisition passes the notification on', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const { semaphore, lock, condition } = setup();
    const controller = new AbortController();
    const first = condition.wait(await lock.acquire(), { signal: controller.signal, timeout: 10 });
    const second = track(condition.wait(await lock.acquire()));
    const holder = await lock.acquire();
    condition.notify();
    vi.advanceTimersByTime(100);
    await flush();
    controller.abort('gave up');
    await expect(first).rejects.toBe('gave up');
    // The notification went to the second waiter, which now waits for the lock.
    expect(condition.waitersCount).toBe(0);
    await holder.release();
    await flush();
    expect(second.value?.released).toBe(false);
    await second.value?.release();
    expect(semaphore.availablePermits).toBe(1);
  });

  it('rejects a released lease with NotHeldError and a non-lease with TypeError, keeping the lock usable', async () => {
    const { semaphore, lock, condition } = setup();
    const lease = await lock.acquire();
    await lease.release();
    await expect(condition.wait(lease)).rejects.toBeInstanceOf(NotHeldError);
    for (const bad of [undefined, null, 42, 'lease', {}, { release: 1, released: false }]) {
      await expect(condition.wait(bad as unknown as Lease)).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
    }
    const held = await lock.acquire();
    await expect(condition.wait(held, { timeout: -1 })).rejects.toBeInstanceOf(RangeError);
    expect(held.released).toBe(false);
    await held.release();
    expect(semaphore.availablePermits).toBe(1);
    expect(condition.waitersCount).toBe(0);
  });

  it('a release that fails rejects the wait with its error and leaves no waiter behind', async () => {
    const failure = new Error('backend down');
    const failingLease = { released: false, resource: 'remote', release: () => Promise.reject(failure) };
    const remote: Lock = { acquire: async () => failingLease as unknown as Lease, tryAcquire: async () => undefined };
    const condition = new Condition(remote);
    await expect(condition.wait(failingLease as unknown as Lease)).rejects.toBe(failure);
    expect(condition.waitersCount).toBe(0);
    expect(condition.notify()).toBe(false);
  });

  it('without a lock it makes its own, exposed as condition.lock', async () => {
    const condition = new Condition(undefined, { name: 'ready' });
    const items: number[] = [];
    const consumer = (async () => {
      let lease = await condition.lock.acquire();
      try {
        while (items.length === 0) lease = await condition.wait(lease);
        return items.shift();
      } finally {
        await lease.release();
      }
    })();
    await flush();
    {
      await using _lease = await condition.lock.acquire();
      items.push(7);
      condition.notify();
    }
    expect(await consumer).toBe(7);
    expect((await condition.lock.acquire()).resource).toBe('ready.lock');
  });

  it('reports the wait and the pass as condition events', async () => {
    const events: LockEvent[] = [];
    const stop = addObserver((event) => events.push(event));
    try {
      const condition = new Condition(undefined, { name: 'observed-condition' });
      const waiting = condition.wait(await condition.lock.acquire(), { owner: 'w' });
      condition.notify();
      await (await waiting).release();
      const mine = events.filter((e) => e.resource === 'observed-condition').map((e) => `${e.type}:${String(e.owner)}`);
      expect(mine).toEqual(['wait:w', 'acquired:w', 'released:w']);
    } finally {
      stop();
    }
  });
});
