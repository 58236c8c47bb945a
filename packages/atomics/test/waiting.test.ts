import { isTimeoutError, type Lease } from '@cf/core';
import { describe, expect, it } from 'vitest';
import { EventCount } from '../src/event-count.js';
import { Futex } from '../src/futex.js';
import { eventLoopHolders } from '../src/internal/keep-alive.js';
import { ThreadRegistry } from '../src/thread-registry.js';
import { WaitLane } from '../src/wait-lane.js';

const settled = <T>(promise: Promise<T>): Promise<'settled' | 'pending'> =>
  Promise.race([
    promise.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    new Promise<'pending'>((r) => setTimeout(r, 30, 'pending')),
  ]);

describe('Futex', () => {
  it('a cancelled async wait does not swallow the wake-up meant for a live one', async () => {
    const futex = new Futex(0);
    const controller = new AbortController();
    const abandoned = futex.waitAsync(0, { signal: controller.signal });
    const live = futex.waitAsync(0);
    controller.abort(new Error('gone'));
    await expect(abandoned).rejects.toThrow('gone');
    // V8 still holds the abandoned waiter first in line; notify(1) must still reach the live one.
    futex.notify(1);
    expect(await settled(live)).toBe('settled');
    expect(await live).toBe('ok');
  });

  it('a wait cancelled after it was already woken passes the wake-up on', async () => {
    const futex = new Futex(0);
    const first = futex.park(0);
    const second = futex.waitAsync(0);
    futex.notify(1); // reaches `first`, whose promise has not run yet
    first.cancel(); // nobody wants it any more
    expect(await settled(second)).toBe('settled');
  });

  it('resolves not-equal at once, times out, and releases the event loop after every wait', async () => {
    const futex = new Futex(1);
    expect(await futex.waitAsync(0)).toBe('not-equal');
    expect(futex.waitSync(0)).toBe('not-equal');
    expect(await futex.waitAsync(1, { timeout: 10 })).toBe('timed-out');
    expect(futex.waitSync(1, 5)).toBe('timed-out');
    const wait = futex.park(1);
    expect(eventLoopHolders()).toBe(1);
    wait.cancel();
    expect(eventLoopHolders()).toBe(0);
    const pending = futex.waitAsync(1);
    futex.store(2);
    futex.notify(Number.POSITIVE_INFINITY);
    expect(await pending).toBe('ok');
    expect(eventLoopHolders()).toBe(0);
  });

  it('rejects bad arguments with typed errors', async () => {
    const futex = new Futex();
    expect(() => futex.waitSync(0.5)).toThrow(RangeError);
    expect(() => futex.waitSync(0, -1)).toThrow(RangeError);
    expect(() => futex.notify(-1)).toThrow(RangeError);
    await expect(futex.waitAsync(0, { timeout: Number.NaN })).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
    await expect(futex.waitAsync(0, { signal: {} as never })).rejects.toThrow(TypeError);
    const aborted = AbortSignal.abort(new Error('pre'));
    await expect(futex.waitAsync(0, { signal: aborted })).rejects.toThrow('pre');
  });
});

describe('EventCount', () => {
  it('a notify between prepareWait and the wait is not lost', async () => {
    const events = new EventCount();
    const key = events.prepareWait();
    expect(events.hasWaiters).toBe(true);
    expect(events.notify()).toBe(0); // nobody sleeps yet, but the epoch moved on
    expect(events.hasWaiters).toBe(false);
    expect(events.waitSync(key, 1000)).toBe(true);
  });

  it('one notify wakes every registered waiter; later notifies are free until someone registers', async () => {
    const events = new EventCount();
    const other = EventCount.from(events.handle);
    const waits = [events.waitAsync(events.prepareWait()), other.waitAsync(other.prepareWait())];
    expect(await settled(Promise.race(waits))).toBe('pending');
    expect(events.notify()).toBe(2);
    expect(await Promise.all(waits)).toEqual([true, true]);
    expect(events.notify()).toBe(0);
    expect(events.hasWaiters).toBe(false);
  });

  it('ends waits on timeout and abort and releases the event loop', async () => {
    const events = new EventCount();
    expect(await events.waitAsync(events.prepareWait(), { timeout: 5 })).toBe(false);
    expect(events.waitSync(events.prepareWait(), 5)).toBe(false);
    const controller = new AbortController();
    const waiting = events.waitAsync(events.prepareWait(), { signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(eventLoopHolders()).toBe(0);
    await expect(events.waitAsync(0.5)).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
    expect(() => events.waitSync(0, -1)).toThrow(RangeError);
  });
});

describe('WaitLane', () => {
  function lane(futex: Futex, free: { value: boolean }) {
    return new WaitLane<number, Lease>({
      resource: 'lane-test',
      lock: free,
      tryTake: () => {
        if (!free.value) return undefined;
        free.value = false;
        return { token: 1n } as Lease;
      },
      park: () => (free.value ? undefined : futex.park(futex.load())),
    });
  }

  it('parks one wait for many waiters, serves them in priority order, and cancels it when the last leaves', async () => {
    const futex = new Futex(0);
    const free = { value: false };
    const waiters = lane(futex, free);
    const order: number[] = [];
    const controller = new AbortController();
    const a = waiters.enqueue(0, { priority: 2 }).then(() => order.push(2));
    const b = waiters.enqueue(0, { priority: 1 }).then(() => order.push(1));
    const c = waiters.enqueue(0, { signal: controller.signal, timeout: 5000 });
    expect(eventLoopHolders()).toBe(1);
    free.value = true;
    futex.add(1);
    futex.notify();
    await b;
    free.value = true;
    waiters.pump();
    await a;
    expect(order).toEqual([1, 2]);
    controller.abort(new Error('left'));
    await expect(c).rejects.toThrow('left');
    expect(waiters.size).toBe(0);
    expect(eventLoopHolders()).toBe(0);
  });

  it('times a waiter out and lets the next one through', async () => {
    const futex = new Futex(0);
    const free = { value: false };
    const waiters = lane(futex, free);
    const error = await waiters.enqueue(0, { timeout: 10 }).catch((e: unknown) => e);
    expect(isTimeoutError(error)).toBe(true);
    expect(eventLoopHolders()).toBe(0);
  });
});

describe('ThreadRegistry', () => {
  it('gives owner ids that die with markDead, leave and slot reuse', () => {
    const registry = new ThreadRegistry({ slots: 2 });
    const slot = registry.reserve();
    const other = ThreadRegistry.from(registry.handle);
    expect(other.isAlive(slot)).toBe(true);
    registry.markDead(slot);
    expect(registry.isAlive(slot)).toBe(false);
    const reused = registry.reserve();
    expect(reused).toBe(slot); // dead slots are reused, with a new generation
    expect(registry.reserve()).toBe(1 - slot);
    expect(() => registry.reserve()).toThrow(RangeError);
  });

  it('binds the current thread, and an owner id outlives nothing', () => {
    const registry = new ThreadRegistry({ slots: 4 });
    const id = registry.currentOwnerId();
    expect(registry.isOwnerAlive(id)).toBe(true);
    expect(registry.currentSlot).toBe(id & 1023);
    registry.leave();
    expect(registry.isOwnerAlive(id)).toBe(false);
    const again = registry.currentOwnerId();
    expect(again).not.toBe(id); // the slot's generation moved on
    expect(registry.isOwnerAlive(id)).toBe(false);
    registry.leave();
  });

  it('marks a watched worker dead on exit, unless its slot was reused meanwhile', () => {
    const registry = new ThreadRegistry({ slots: 2 });
    const listeners: (() => void)[] = [];
    const worker = { once: (_event: 'exit', listener: () => void) => listeners.push(listener) };
    const slot = registry.reserve();
    registry.watch(worker, slot);
    listeners[0]!();
    expect(registry.isAlive(slot)).toBe(false);
    const second = registry.reserve();
    registry.watch(worker, second);
    registry.markDead(second);
    const reused = registry.reserve();
    listeners[1]!(); // a stale exit must not kill the new occupant
    expect(registry.isAlive(reused)).toBe(true);
  });

  it('rejects bad arguments', () => {
    const registry = new ThreadRegistry({ slots: 2 });
    expect(() => new ThreadRegistry({ slots: 0 })).toThrow(RangeError);
    expect(() => new ThreadRegistry({ slots: 2000 })).toThrow(RangeError);
    expect(() => registry.markDead(5)).toThrow(RangeError);
    expect(() => registry.enter(1)).toThrow(/reserved/);
    expect(() => registry.watch({} as never, 0)).toThrow(TypeError);
    expect(() => ThreadRegistry.from({ buffer: new SharedArrayBuffer(64), byteOffset: 0 })).toThrow(/ThreadRegistry/);
  });
});
