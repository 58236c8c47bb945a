import { addObserver, isBrokenBarrierError, isTimeoutError, type LockEvent } from '@cf/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SharedBarrier } from '../../src/shared/shared-barrier.js';
import { SharedCondition } from '../../src/shared/shared-condition.js';
import { SharedCountDownLatch } from '../../src/shared/shared-count-down-latch.js';
import { SharedAutoResetEvent, SharedManualResetEvent } from '../../src/shared/shared-reset-events.js';
import { SharedSemaphore } from '../../src/shared/shared-semaphore.js';
import { semaphoreLock } from './semaphore-lock.js';

const tick = (ms = 5): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let events: LockEvent[] = [];
let stop: () => void = () => {};
beforeEach(() => {
  events = [];
  stop = addObserver((event) => events.push(event));
});
afterEach(() => stop());

/** The events about `lock`, as `type` or `type:owner` strings. */
function trace(lock: object, withOwner = false): string[] {
  return events
    .filter((event) => event.lock === lock)
    .map((event) => (withOwner ? `${event.type}:${String(event.owner)}` : event.type));
}

describe('observer events of the shared coordination primitives', () => {
  it('a latch reports a sleeping wait, its pass, an immediate pass, and a timeout', async () => {
    const latch = new SharedCountDownLatch(1, { name: 'ready' });
    const waiting = latch.wait({ owner: 'a' });
    await tick();
    latch.countDown();
    await waiting;
    await latch.wait({ owner: 'b' });
    expect(trace(latch, true)).toEqual(['wait:a', 'acquired:a', 'released:a', 'acquired:b', 'released:b']);
    const acquired = events.filter((event) => event.lock === latch && event.type === 'acquired');
    expect(acquired[0]!.waitTime).toBeGreaterThan(0);
    expect(acquired[1]!.waitTime).toBe(0);
    expect(
      events.every((event) => event.lock !== latch || (event.mode === 'latch' && event.resource === 'ready')),
    ).toBe(true);

    const closed = new SharedCountDownLatch(1);
    const error = await closed.wait({ timeout: 5 }).catch((e: unknown) => e);
    expect(closed.waitSync(5)).toBe(false);
    expect(trace(closed)).toEqual(['wait', 'timeout', 'wait', 'timeout']);
    const timeout = events.find((event) => event.lock === closed && event.type === 'timeout')!;
    expect(timeout.error).toBe(error);
    expect(timeout.waitTime).toBeGreaterThanOrEqual(4);
  });

  it('reset events report passes, aborts, and auto-reset waits that lose the race', async () => {
    const manual = new SharedManualResetEvent();
    const controller = new AbortController();
    const aborted = manual.wait({ signal: controller.signal, owner: 'x' });
    await tick();
    controller.abort(new Error('gone'));
    await expect(aborted).rejects.toThrow('gone');
    manual.set();
    expect(manual.waitSync(0)).toBe(true);
    expect(trace(manual, true)).toEqual(['wait:x', 'aborted:x', 'acquired:undefined', 'released:undefined']);
    expect(events.find((event) => event.type === 'aborted')!.error).toEqual(new Error('gone'));

    const auto = new SharedAutoResetEvent();
    const first = auto.wait({ owner: 1 });
    const second = auto.wait({ owner: 2, timeout: 30 }).catch((e: unknown) => e);
    await tick();
    auto.set();
    await first;
    expect(isTimeoutError(await second)).toBe(true);
    expect(trace(auto, true)).toEqual(['wait:1', 'wait:2', 'acquired:1', 'released:1', 'timeout:2']);
    expect(events.every((event) => event.lock !== auto || event.mode === 'event')).toBe(true);
  });

  it('a barrier reports each party; a broken round ends every wait it started', async () => {
    const barrier = new SharedBarrier(2);
    const first = barrier.wait({ owner: 'first' });
    await tick();
    expect(await barrier.wait({ owner: 'last' })).toBe(0);
    expect(await first).toBe(1);
    expect(trace(barrier, true)).toEqual([
      'wait:first',
      'acquired:last',
      'released:last',
      'acquired:first',
      'released:first',
    ]);

    const broken = new SharedBarrier(3);
    const controller = new AbortController();
    const patient = broken.wait({ owner: 'patient' });
    const leaving = broken.wait({ owner: 'leaving', signal: controller.signal });
    await tick();
    controller.abort(new Error('leaving'));
    await expect(leaving).rejects.toThrow('leaving');
    await expect(patient).rejects.toSatisfy(isBrokenBarrierError);
    expect(() => broken.waitSync(0)).toThrow(expect.objectContaining({ code: 'ERR_CF_BROKEN' }));
    expect(trace(broken, true)).toEqual([
      'wait:patient',
      'wait:leaving',
      'aborted:leaving',
      'aborted:patient',
      'aborted:undefined',
    ]);
    const ends = events.filter(
      (event) => event.lock === broken && event.owner !== 'leaving' && event.type === 'aborted',
    );
    expect(ends.every((event) => isBrokenBarrierError(event.error))).toBe(true);
  });

  it('a condition reports sleeping waiters, their notify, and a timeout', async () => {
    const semaphore = new SharedSemaphore(1);
    const lock = semaphoreLock(semaphore);
    const condition = new SharedCondition(lock, { name: 'changed' });
    const resumed = condition.wait(await lock.acquire(), { owner: 'consumer' });
    await tick();
    condition.notify();
    await (await resumed).release();
    const error = await condition.wait(await lock.acquire(), { timeout: 5 }).catch((e: unknown) => e);
    expect(isTimeoutError(error)).toBe(true);
    lock.lockSync!();
    expect(condition.waitSync(5)).toBe(false);
    lock.unlock!();
    expect(trace(condition, true)).toEqual([
      'wait:consumer',
      'acquired:consumer',
      'released:consumer',
      'wait:undefined',
      'timeout:undefined',
      'wait:undefined',
      'timeout:undefined',
    ]);
    expect(events.every((event) => event.lock !== condition || event.resource === 'changed')).toBe(true);
  });

  it('reports nothing once the observer is gone, and raw semaphore permits are not reported', async () => {
    const pool = new SharedSemaphore(1);
    expect(pool.acquirePermitsSync(1, 0)).toBe(true);
    pool.releasePermits(1);
    expect(trace(pool)).toEqual([]);
    stop();
    const latch = new SharedCountDownLatch(0);
    await latch.wait();
    expect(latch.waitSync()).toBe(true);
    expect(trace(latch)).toEqual([]);
  });
});
