import { isBrokenBarrierError, isTimeoutError, semaphoreAsLock } from '@cf/core';
import { describeLockConformance } from '@cf/lock-conformance';
import { describe, expect, it } from 'vitest';
import { SharedBarrier } from '../../src/shared/shared-barrier.js';
import { SharedCondition } from '../../src/shared/shared-condition.js';
import { SharedCountDownLatch } from '../../src/shared/shared-count-down-latch.js';
import { SharedAutoResetEvent, SharedManualResetEvent } from '../../src/shared/shared-reset-events.js';
import { SharedSemaphore } from '../../src/shared/shared-semaphore.js';
import { semaphoreLock } from './semaphore-lock.js';

const tick = (ms = 5): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const invalid = expect.objectContaining({ code: 'ERR_CF_INVALID_ARG' });

// SharedSemaphore(1) through core's semaphoreAsLock, on handles that share one region.
const semaphores = new Map<string, SharedSemaphore>();
describeLockConformance('SharedSemaphore(1) as a Lock', {
  createLock: (resource) => {
    const first = semaphores.get(resource);
    if (first !== undefined) return semaphoreAsLock(SharedSemaphore.from(first.handle));
    const created = new SharedSemaphore(1);
    semaphores.set(resource, created);
    return semaphoreAsLock(created);
  },
});

describe('SharedSemaphore', () => {
  it('serves weighted requests, wakes a heavy waiter once enough permits came back', async () => {
    const pool = new SharedSemaphore(3);
    const other = SharedSemaphore.from(pool.handle);
    const one = await pool.acquire(1);
    const two = await pool.acquire(2);
    const heavy = other.acquire(3, { timeout: 2000 });
    await tick();
    await one.release();
    await tick();
    expect(pool.availablePermits).toBe(1);
    await two.release();
    const lease = await heavy;
    expect(lease.permits).toBe(3);
    expect(lease.token).toBeGreaterThan(two.token);
    await lease.release();
    expect(pool.availablePermits).toBe(3);
  });

  it('blocking forms take and give permits; timeouts and bad counts are typed errors', async () => {
    const pool = new SharedSemaphore(1);
    expect(pool.acquirePermitsSync(1, 0)).toBe(true);
    expect(pool.acquirePermitsSync(1, 10)).toBe(false);
    expect(() => pool.acquireSync(1, 10)).toThrow(expect.objectContaining({ code: 'ERR_CF_TIMEOUT' }));
    pool.releasePermits(1);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => pool.acquirePermitsSync(bad)).toThrow(invalid);
    expect(() => pool.releasePermits(2 ** 31)).toThrow(invalid);
    await expect(pool.acquire(0)).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
    await expect(pool.acquire(1, { priority: -1 })).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
    expect(() => new SharedSemaphore(-1)).toThrow(invalid);
    expect(() => SharedSemaphore.from({ buffer: new SharedArrayBuffer(24), byteOffset: 4, name: 's' })).toThrow(
      /multiple of 8/,
    );
    expect(pool.availablePermits).toBe(1);
    const lease = pool.tryAcquireSync(1)!;
    expect(pool.tryAcquireSync(1)).toBeUndefined();
    await lease.release();
    await lease.release();
    expect(pool.availablePermits).toBe(1);
  });
});

describe('SharedCountDownLatch', () => {
  it('opens at zero for blocking and async waiters, never counts below zero', async () => {
    const latch = new SharedCountDownLatch(3);
    expect(latch.waitSync(5)).toBe(false);
    const opened = SharedCountDownLatch.from(latch.handle).wait({ timeout: 1000 });
    latch.countDown(2);
    await tick();
    latch.countDown(5);
    await opened;
    expect(latch.count).toBe(0);
    expect(latch.waitSync()).toBe(true);
    const timedOut = await new SharedCountDownLatch(1).wait({ timeout: 5 }).catch((e: unknown) => e);
    expect(isTimeoutError(timedOut)).toBe(true);
    expect(() => latch.countDown(0)).toThrow(invalid);
    expect(() => new SharedCountDownLatch(-1)).toThrow(invalid);
  });
});

describe('SharedBarrier', () => {
  it('returns arrival indexes and starts the next round', async () => {
    const barrier = new SharedBarrier(3);
    for (let round = 0; round < 3; round++) {
      const indexes = await Promise.all([barrier.wait(), SharedBarrier.from(barrier.handle).wait(), barrier.wait()]);
      expect(indexes.sort()).toEqual([0, 1, 2]);
      expect(barrier.numberWaiting).toBe(0);
    }
  });

  it('an aborted party breaks the round; reset() repairs it', async () => {
    const barrier = new SharedBarrier(3);
    const controller = new AbortController();
    const patient = barrier.wait();
    const leaving = barrier.wait({ signal: controller.signal });
    await tick();
    controller.abort(new Error('leaving'));
    await expect(leaving).rejects.toThrow('leaving');
    await expect(patient).rejects.toSatisfy(isBrokenBarrierError);
    expect(barrier.isBroken).toBe(true);
    expect(() => barrier.waitSync(0)).toThrow(expect.objectContaining({ code: 'ERR_CF_BROKEN' }));
    barrier.reset();
    const all = await Promise.all([barrier.wait(), barrier.wait(), barrier.wait()]);
    expect(all.sort()).toEqual([0, 1, 2]);
  });

  it('reset() breaks parties waiting in the current round', async () => {
    const barrier = new SharedBarrier(2);
    const waiting = barrier.wait();
    await tick();
    barrier.reset();
    await expect(waiting).rejects.toSatisfy(isBrokenBarrierError);
    expect(barrier.isBroken).toBe(false);
    expect(() => new SharedBarrier(0)).toThrow(invalid);
  });
});

describe('SharedCondition', () => {
  it('wait(lease) gives up the lock, resumes on notify with a new lease', async () => {
    const semaphore = new SharedSemaphore(1);
    const lock = semaphoreLock(semaphore);
    const condition = new SharedCondition(lock);
    let ready = false;
    const consumer = (async () => {
      let lease = await lock.acquire();
      while (!ready) lease = await condition.wait(lease, { timeout: 1000 });
      await lease.release();
      return 'done';
    })();
    await tick();
    const lease = await lock.acquire({ timeout: 100 }); // the consumer gave the lock up while waiting
    ready = true;
    expect(condition.notify()).toBe(true);
    await lease.release();
    expect(await consumer).toBe('done');
    expect(semaphore.availablePermits).toBe(1);
  });

  it('a wait that times out holds nothing; waitSync re-takes the lock', async () => {
    const semaphore = new SharedSemaphore(1);
    const lock = semaphoreLock(semaphore);
    const condition = new SharedCondition(lock);
    const lease = await lock.acquire();
    const error = await condition.wait(lease, { timeout: 10 }).catch((e: unknown) => e);
    expect(isTimeoutError(error)).toBe(true);
    expect(semaphore.availablePermits).toBe(1);
    lock.lockSync!();
    expect(condition.waitSync(10)).toBe(false);
    expect(semaphore.availablePermits).toBe(0);
    lock.unlock!();
    expect(() => new SharedCondition({} as never)).toThrow(invalid);
    expect(() =>
      new SharedCondition({ acquire: () => Promise.reject(), tryAcquire: () => Promise.reject() }).waitSync(),
    ).toThrow(TypeError);
  });
});

describe('shared reset events', () => {
  it('a manual event releases every waiter and stays set', async () => {
    const event = new SharedManualResetEvent();
    const waiters = [event.wait(), SharedManualResetEvent.from(event.handle).wait()];
    await tick();
    event.set();
    await Promise.all(waiters);
    expect(event.isSet).toBe(true);
    expect(event.waitSync(0)).toBe(true);
    event.reset();
    expect(event.waitSync(5)).toBe(false);
  });

  it('an auto event lets exactly one wait through per set', async () => {
    const event = new SharedAutoResetEvent();
    const passed: number[] = [];
    const first = event.wait().then(() => passed.push(1));
    const second = event.wait({ timeout: 50 }).then(
      () => passed.push(2),
      (e: unknown) => (isTimeoutError(e) ? 'timeout' : e),
    );
    await tick();
    event.set();
    await first;
    expect(await second).toBe('timeout');
    expect(passed).toEqual([1]);
    expect(event.isSet).toBe(false);
    event.set();
    event.set();
    expect(event.waitSync(0)).toBe(true);
    expect(event.waitSync(0)).toBe(false);
    expect(() => new SharedAutoResetEvent('yes' as never)).toThrow(invalid);
  });
});
