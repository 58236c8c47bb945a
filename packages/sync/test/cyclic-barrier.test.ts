import { BrokenBarrierError, isBrokenBarrierError, TimeoutError } from '@cf/core';
import { CyclicBarrier } from '@cf/sync';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FAKE_TIMERS, flush, track } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('CyclicBarrier', () => {
  it('releases all parties together with distinct arrival indices, round after round', async () => {
    const log: string[] = [];
    const barrier = new CyclicBarrier(3, () => log.push('action'));
    for (let round = 0; round < 3; round++) {
      const first = track(barrier.wait());
      const second = track(barrier.wait());
      await flush();
      expect(first.settled || second.settled).toBe(false);
      expect(barrier.numberWaiting).toBe(2);
      const last = await barrier.wait();
      await flush();
      expect([first.value, second.value, last]).toEqual([2, 1, 0]);
      expect(barrier.numberWaiting).toBe(0);
    }
    expect(log).toEqual(['action', 'action', 'action']);
  });

  it('runs the action before releasing anyone, and waits for an async action', async () => {
    const order: string[] = [];
    let finish!: () => void;
    const barrier = new CyclicBarrier(2, async () => {
      order.push('action started');
      await new Promise<void>((resolve) => (finish = resolve));
      order.push('action done');
    });
    const a = barrier.wait().then(() => order.push('a'));
    const b = barrier.wait().then(() => order.push('b'));
    await flush();
    expect(order).toEqual(['action started']);
    // Arrivals during the action belong to the next round.
    const next = track(barrier.wait());
    expect(barrier.numberWaiting).toBe(1);
    finish();
    await Promise.all([a, b]);
    expect(order.slice(0, 2)).toEqual(['action started', 'action done']);
    expect(next.settled).toBe(false);
  });

  it('a party that times out breaks the barrier: it rejects with TimeoutError, the others with one BrokenBarrierError', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const barrier = new CyclicBarrier(4);
    const a = barrier.wait();
    const b = barrier.wait({ timeout: 100 });
    const c = barrier.wait();
    const outcomes = Promise.allSettled([a, b, c]);
    vi.advanceTimersByTime(100);
    const [ra, rb, rc] = await outcomes;
    expect(rb).toMatchObject({ status: 'rejected' });
    const timeout = (rb as PromiseRejectedResult).reason;
    expect(timeout).toBeInstanceOf(TimeoutError);
    const broken = (ra as PromiseRejectedResult).reason;
    expect(broken).toBeInstanceOf(BrokenBarrierError);
    expect((rc as PromiseRejectedResult).reason).toBe(broken);
    expect(broken.cause).toBe(timeout);
    expect(barrier.isBroken).toBe(true);
    expect(barrier.numberWaiting).toBe(0);
    // Later arrivals reject at once with the same error until reset.
    await expect(barrier.wait()).rejects.toBe(broken);
    barrier.reset();
    expect(barrier.isBroken).toBe(false);
    const round = await Promise.all([barrier.wait(), barrier.wait(), barrier.wait(), barrier.wait()]);
    expect(round.sort()).toEqual([0, 1, 2, 3]);
  });

  it('an aborted party breaks it with signal.reason as the cause', async () => {
    const barrier = new CyclicBarrier(3);
    const controller = new AbortController();
    const a = barrier.wait();
    const b = barrier.wait({ signal: controller.signal });
    const reason = new Error('cancelled');
    controller.abort(reason);
    await expect(b).rejects.toBe(reason);
    const error = await a.catch((e: unknown) => e);
    expect(isBrokenBarrierError(error)).toBe(true);
    expect((error as Error).cause).toBe(reason);
  });

  it('a pre-aborted party or a non-last party with timeout 0 breaks it at once', async () => {
    const barrier = new CyclicBarrier(2);
    const waiting = barrier.wait();
    await expect(barrier.wait({ signal: AbortSignal.abort('pre') })).rejects.toBe('pre');
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_CF_BROKEN', cause: 'pre' });
    barrier.reset();
    await expect(barrier.wait({ timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
    expect(barrier.isBroken).toBe(true);
    barrier.reset();
    // The last party with timeout 0 completes the round.
    const first = barrier.wait();
    await expect(barrier.wait({ timeout: 0 })).resolves.toBe(0);
    await expect(first).resolves.toBe(1);
  });

  it('an action that throws breaks the round: every party, the last included, rejects with its cause', async () => {
    const failure = new Error('action failed');
    const barrier = new CyclicBarrier(3, () => {
      throw failure;
    });
    const results = await Promise.allSettled([barrier.wait(), barrier.wait(), barrier.wait()]);
    const reasons = results.map((r) => (r as PromiseRejectedResult).reason);
    expect(reasons[0]).toBeInstanceOf(BrokenBarrierError);
    expect(reasons[1]).toBe(reasons[0]);
    expect(reasons[2]).toBe(reasons[0]);
    expect(reasons[0].cause).toBe(failure);
    expect(barrier.isBroken).toBe(true);
  });

  it('an async action that rejects breaks the round and the parties that arrived for the next one', async () => {
    let fail!: (error: Error) => void;
    const barrier = new CyclicBarrier(2, () => new Promise<void>((_, reject) => (fail = reject)));
    const round = Promise.allSettled([barrier.wait(), barrier.wait()]);
    const early = barrier.wait();
    void early.catch(() => {});
    await flush();
    const failure = new Error('async failure');
    fail(failure);
    const [a, b] = await round;
    const error = (a as PromiseRejectedResult).reason;
    expect(error.cause).toBe(failure);
    expect((b as PromiseRejectedResult).reason).toBe(error);
    await expect(early).rejects.toBe(error);
  });

  it('a party leaving while the async action runs breaks that round', async () => {
    let finish!: () => void;
    const barrier = new CyclicBarrier(2, () => new Promise<void>((resolve) => (finish = resolve)));
    const controller = new AbortController();
    const leaving = barrier.wait({ signal: controller.signal });
    const last = barrier.wait();
    await flush();
    controller.abort('left');
    await expect(leaving).rejects.toBe('left');
    finish();
    await expect(last).rejects.toMatchObject({ code: 'ERR_CF_BROKEN', cause: 'left' });
    expect(barrier.isBroken).toBe(true);
  });

  it('reset rejects the waiting parties and starts a fresh round', async () => {
    const barrier = new CyclicBarrier(3);
    const a = barrier.wait();
    const b = barrier.wait();
    barrier.reset();
    await expect(a).rejects.toBeInstanceOf(BrokenBarrierError);
    await expect(b).rejects.toBeInstanceOf(BrokenBarrierError);
    expect(barrier.isBroken).toBe(false);
    const indices = await Promise.all([barrier.wait(), barrier.wait(), barrier.wait()]);
    expect(indices).toEqual([2, 1, 0]);
  });

  it('a round from before reset never breaks the new one', async () => {
    let finish!: () => void;
    const barrier = new CyclicBarrier(2, () => new Promise<void>((resolve) => (finish = resolve)));
    const controller = new AbortController();
    const old = barrier.wait({ signal: controller.signal });
    const oldLast = barrier.wait();
    await flush();
    barrier.reset();
    const fresh = track(barrier.wait());
    controller.abort('old party left');
    await expect(old).rejects.toBe('old party left');
    finish();
    await expect(oldLast).rejects.toBeInstanceOf(BrokenBarrierError);
    expect(barrier.isBroken).toBe(false);
    await flush();
    expect(fresh.settled).toBe(false);
    expect(barrier.numberWaiting).toBe(1);
  });

  it('one party trips it every time', async () => {
    let runs = 0;
    const barrier = new CyclicBarrier(1, () => {
      runs++;
    });
    expect(await barrier.wait()).toBe(0);
    expect(await barrier.wait()).toBe(0);
    expect(runs).toBe(2);
  });
});
