import type { LockEvent } from '@cf/core';
import { addObserver, Priority, TimeoutError } from '@cf/core';
import { AutoResetEvent, CountDownLatch, ManualResetEvent } from '@cf/sync';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FAKE_TIMERS, flush, track } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('CountDownLatch', () => {
  it('holds waiters until the count reaches 0, then lets everyone through', async () => {
    const latch = new CountDownLatch(3);
    const a = track(latch.wait());
    const b = track(latch.wait({ priority: Priority.HIGH }));
    latch.countDown();
    latch.countDown();
    await flush();
    expect(latch.count).toBe(1);
    expect(a.settled || b.settled).toBe(false);
    expect(latch.waitersCount).toBe(2);
    latch.countDown();
    await flush();
    expect(a.settled && b.settled).toBe(true);
    expect(latch.waitersCount).toBe(0);
    await expect(latch.wait()).resolves.toBeUndefined();
    latch.countDown();
    expect(latch.count).toBe(0);
  });

  it('countDown(n) never goes below 0; a latch of 0 is open', async () => {
    const latch = new CountDownLatch(2);
    const waiter = track(latch.wait());
    latch.countDown(5);
    await flush();
    expect(latch.count).toBe(0);
    expect(waiter.settled).toBe(true);
    await expect(new CountDownLatch(0).wait({ timeout: 0 })).resolves.toBeUndefined();
  });

  it('a timed-out or aborted waiter leaves; the others still pass', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const latch = new CountDownLatch(1);
    const timed = latch.wait({ timeout: 10 });
    const controller = new AbortController();
    const aborted = latch.wait({ signal: controller.signal });
    const patient = track(latch.wait());
    vi.advanceTimersByTime(10);
    controller.abort('gone');
    await expect(timed).rejects.toBeInstanceOf(TimeoutError);
    await expect(aborted).rejects.toBe('gone');
    expect(latch.waitersCount).toBe(1);
    latch.countDown();
    await flush();
    expect(patient.settled).toBe(true);
  });

  it('a pre-aborted signal rejects even when the latch is open', async () => {
    const latch = new CountDownLatch(0);
    await expect(latch.wait({ signal: AbortSignal.abort('no') })).rejects.toBe('no');
    expect(latch.waitersCount).toBe(0);
  });

  it('reports wait, acquired/released (a pass) and timeout', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const events: LockEvent[] = [];
    const stop = addObserver((event) => events.push(event));
    try {
      const latch = new CountDownLatch(1, { name: 'observed-latch' });
      const passing = latch.wait({ owner: 'p' });
      const timing = latch.wait({ owner: 't', timeout: 5 });
      vi.advanceTimersByTime(5);
      await expect(timing).rejects.toBeInstanceOf(TimeoutError);
      latch.countDown();
      await passing;
      const types = events
        .filter((e) => e.resource === 'observed-latch')
        .map((e) => `${e.type}:${String(e.owner)}:${e.mode}`);
      expect(types).toEqual([
        'wait:p:latch',
        'wait:t:latch',
        'timeout:t:latch',
        'acquired:p:latch',
        'released:p:latch',
      ]);
    } finally {
      stop();
    }
  });
});

describe('ManualResetEvent', () => {
  it('set releases every waiter and stays set until reset', async () => {
    const event = new ManualResetEvent();
    const waiters = [track(event.wait()), track(event.wait()), track(event.wait())];
    await flush();
    expect(waiters.some((w) => w.settled)).toBe(false);
    event.set();
    await flush();
    expect(waiters.every((w) => w.settled)).toBe(true);
    expect(event.isSet).toBe(true);
    await expect(event.wait({ timeout: 0 })).resolves.toBeUndefined();
    event.reset();
    expect(event.isSet).toBe(false);
    await expect(event.wait({ timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
    expect(event.waitersCount).toBe(0);
  });

  it('can start set', async () => {
    const event = new ManualResetEvent(true);
    await expect(event.wait()).resolves.toBeUndefined();
  });
});

describe('AutoResetEvent', () => {
  it('each set releases exactly one waiter, in priority order', async () => {
    const event = new AutoResetEvent();
    const order: string[] = [];
    const a = event.wait().then(() => order.push('a'));
    const b = event.wait({ priority: Priority.HIGH }).then(() => order.push('b'));
    const c = event.wait().then(() => order.push('c'));
    expect(event.set()).toBe(true);
    await flush();
    expect(order).toEqual(['b']);
    expect(event.isSet).toBe(false);
    expect(event.set()).toBe(true);
    expect(event.set()).toBe(true);
    await Promise.all([a, b, c]);
    expect(order).toEqual(['b', 'a', 'c']);
  });

  it('with nobody waiting, set is remembered once and consumed by one wait', async () => {
    const event = new AutoResetEvent();
    expect(event.set()).toBe(false);
    expect(event.set()).toBe(false);
    expect(event.isSet).toBe(true);
    await expect(event.wait()).resolves.toBeUndefined();
    expect(event.isSet).toBe(false);
    await expect(event.wait({ timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
  });

  it('a waiter that left does not consume a set', async () => {
    const event = new AutoResetEvent();
    const controller = new AbortController();
    const leaving = event.wait({ signal: controller.signal });
    const staying = track(event.wait());
    controller.abort();
    await expect(leaving).rejects.toBeInstanceOf(DOMException);
    event.set();
    await flush();
    expect(staying.settled).toBe(true);
    expect(event.isSet).toBe(false);
  });

  it('a pre-aborted wait does not consume the set state', async () => {
    const event = new AutoResetEvent(true);
    await expect(event.wait({ signal: AbortSignal.abort('x') })).rejects.toBe('x');
    expect(event.isSet).toBe(true);
    event.reset();
    expect(event.isSet).toBe(false);
  });
});
