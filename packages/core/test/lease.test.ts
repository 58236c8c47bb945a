import {
  addObserver,
  BaseLease,
  isLeaseLostError,
  isTimeoutError,
  type LeaseTrace,
  type LockEvent,
  TimeoutError,
} from '@cf/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { abortListeners, rejectionOf, stateOf, TestLease } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** Counts AbortControllers created, to see that a lease creates one only when `signal` is read. */
function countControllers(): { readonly count: number } {
  const counter = { count: 0 };
  const Original = globalThis.AbortController;
  vi.stubGlobal(
    'AbortController',
    class extends Original {
      constructor() {
        super();
        counter.count++;
      }
    },
  );
  return counter;
}

describe('BaseLease', () => {
  it('exposes resource and token as a bigint', () => {
    expect(new TestLease('orders', 7).token).toBe(7n);
    expect(new TestLease('orders', 2n ** 70n).token).toBe(2n ** 70n);
    const lease = new TestLease('orders', 1);
    expect(lease.resource).toBe('orders');
    expect(lease.released).toBe(false);
    expect(lease.lost).toBe(false);
  });

  it('release() is idempotent: releaseHold runs exactly once, however often and however concurrently', async () => {
    const lease = new TestLease('r', 1);
    const first = lease.release();
    const second = lease.release();
    await Promise.all([first, second, lease.release()]);
    await lease[Symbol.asyncDispose]();
    expect(lease.holdReleases).toBe(1);
    expect(lease.released).toBe(true);
    expect(lease.lost).toBe(false);
  });

  it('later release() calls wait for an asynchronous releaseHold started by the first', async () => {
    const lease = new TestLease('r', 1);
    let finish: () => void = () => {};
    lease.releaseHoldImpl = () =>
      new Promise<void>((resolve) => {
        finish = resolve;
      });
    const first = lease.release();
    const second = lease.release();
    expect(await stateOf(first)).toBe('pending');
    expect(await stateOf(second)).toBe('pending');
    finish();
    await Promise.all([first, second]);
    expect(lease.holdReleases).toBe(1);
  });

  it('a releaseHold that throws makes release() reject (never throw), once', async () => {
    const lease = new TestLease('r', 1);
    const failure = new Error('backend down');
    lease.releaseHoldImpl = () => {
      throw failure;
    };
    let result: Promise<void> | undefined;
    expect(() => {
      result = lease.release();
    }).not.toThrow();
    expect(await rejectionOf(result!)).toBe(failure);
    expect(await rejectionOf(lease.release())).toBe(failure);
    expect(lease.holdReleases).toBe(1);
    expect(lease.released).toBe(true);
  });

  it('creates an AbortController only when signal is read', async () => {
    const controllers = countControllers();
    const unread = new TestLease('r', 1);
    await unread.release();
    expect(controllers.count).toBe(0);
    const read = new TestLease('r', 2);
    const signal = read.signal;
    expect(read.signal).toBe(signal);
    expect(controllers.count).toBe(1);
    await read.release();
    expect(controllers.count).toBe(1);
  });

  it('signal aborts on release when read before it, exactly once, with an AbortError naming the resource', async () => {
    const lease = new TestLease('orders', 1);
    const signal = lease.signal;
    const onAbort = vi.fn();
    signal.addEventListener('abort', onAbort);
    expect(signal.aborted).toBe(false);
    await lease.release();
    await lease.release();
    expect(signal.aborted).toBe(true);
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect(signal.reason).toBeInstanceOf(DOMException);
    expect((signal.reason as DOMException).name).toBe('AbortError');
    expect((signal.reason as DOMException).message).toContain('orders');
  });

  it('signal read after release is already aborted with the same kind of reason', async () => {
    const lease = new TestLease('orders', 1);
    await lease.release();
    const signal = lease.signal;
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('AbortError');
    expect((signal.reason as DOMException).message).toContain('orders');
  });

  it('aborts signal before giving up the hold, so a holder hears of the end first', async () => {
    const lease = new TestLease('r', 1);
    const order: string[] = [];
    lease.signal.addEventListener('abort', () => order.push('abort'));
    lease.releaseHoldImpl = () => {
      order.push('releaseHold');
    };
    await lease.release();
    expect(order).toEqual(['abort', 'releaseHold']);
  });

  describe('markLost', () => {
    it('ends the lease with the reason, without releasing the hold; release() still runs releaseHold once', async () => {
      for (const readBefore of [true, false]) {
        const lease = new TestLease('orders', 1);
        const early = readBefore ? lease.signal : undefined;
        const reason = new Error('session expired');
        lease.lose(reason);
        lease.lose(new Error('second loss is ignored'));
        expect(lease.released).toBe(true);
        expect(lease.lost).toBe(true);
        expect(lease.holdReleases).toBe(0);
        const signal = early ?? lease.signal;
        expect(signal.aborted).toBe(true);
        expect(signal.reason).toBe(reason);
        await lease.release();
        await lease.release();
        expect(lease.holdReleases).toBe(1);
        expect(signal.reason).toBe(reason);
      }
    });

    it('without a reason, reports a LeaseLostError for the resource', () => {
      const lease = new TestLease('orders', 1);
      lease.lose();
      expect(isLeaseLostError(lease.signal.reason)).toBe(true);
      expect((lease.signal.reason as { resource: string }).resource).toBe('orders');
    });

    it('does nothing after release', async () => {
      const lease = new TestLease('r', 1);
      await lease.release();
      lease.lose(new Error('late'));
      expect(lease.lost).toBe(false);
      expect((lease.signal.reason as DOMException).name).toBe('AbortError');
    });
  });

  describe('limitHoldTime', () => {
    it('aborts signal with a TimeoutError once the limit passes, but keeps the hold', async () => {
      vi.useFakeTimers();
      const lease = new TestLease('orders', 1);
      lease.limit(100);
      expect(vi.getTimerCount()).toBe(1);
      const signal = lease.signal;
      vi.advanceTimersByTime(99);
      expect(signal.aborted).toBe(false);
      vi.advanceTimersByTime(1);
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBeInstanceOf(TimeoutError);
      expect((signal.reason as TimeoutError).timeout).toBe(100);
      expect((signal.reason as TimeoutError).message).toContain('orders');
      expect(lease.released).toBe(false);
      expect(lease.holdReleases).toBe(0);
      await lease.release();
      expect(lease.holdReleases).toBe(1);
      expect(isTimeoutError(signal.reason)).toBe(true);
    });

    it('applies when signal is read only after the limit passed', () => {
      vi.useFakeTimers();
      const lease = new TestLease('r', 1);
      lease.limit(10);
      vi.advanceTimersByTime(10);
      expect(isTimeoutError(lease.signal.reason)).toBe(true);
    });

    it('clears its timer on release and on loss; a second call replaces the first; an ended lease starts none', async () => {
      vi.useFakeTimers();
      const released = new TestLease('r', 1);
      released.limit(100);
      await released.release();
      expect(vi.getTimerCount()).toBe(0);
      released.limit(100);
      expect(vi.getTimerCount()).toBe(0);
      const lost = new TestLease('r', 2);
      lost.limit(100);
      lost.lose(new Error('gone'));
      expect(vi.getTimerCount()).toBe(0);
      const twice = new TestLease('r', 3);
      twice.limit(100);
      twice.limit(500);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(100);
      expect(twice.signal.aborted).toBe(false);
      vi.advanceTimersByTime(400);
      expect(twice.signal.aborted).toBe(true);
    });
  });

  it('await using releases on scope exit, also when the scope throws', async () => {
    const lease = new TestLease('r', 1);
    {
      await using held = lease;
      expect(held.released).toBe(false);
    }
    expect(lease.holdReleases).toBe(1);
    const failing = new TestLease('r', 2);
    const failure = new Error('inside');
    const run = async () => {
      await using _held = failing;
      throw failure;
    };
    expect(await rejectionOf(run())).toBe(failure);
    expect(failing.holdReleases).toBe(1);
    expect(failing.released).toBe(true);
  });

  it('leaves no listener on its own signal', async () => {
    const lease = new TestLease('r', 1);
    const signal = lease.signal;
    await lease.release();
    expect(abortListeners(signal)).toBe(0);
  });

  describe('events', () => {
    it('reports acquired, released, lost and a hold timeout with holder details and durations', async () => {
      vi.useFakeTimers();
      const events: LockEvent[] = [];
      const stop = addObserver((e) => events.push(e));
      try {
        const lock = {};
        const trace = { lock, mode: 'permits', owner: 'worker-1', waitStart: performance.now() - 5, permits: 3 };
        const lease = new TestLease('pool', 4, trace);
        lease.limit(50);
        vi.advanceTimersByTime(50);
        await lease.release();
        const lost = new TestLease('pool', 5, { lock, mode: 'exclusive', owner: 'w2', waitStart: 0 });
        const reason = new Error('gone');
        lost.lose(reason);
        await lost.release();
        expect(events.map((e) => e.type)).toEqual(['acquired', 'timeout', 'released', 'acquired', 'lost']);
        const [acquired, timeout, released, acquiredNow, lostEvent] = events as [
          LockEvent,
          LockEvent,
          LockEvent,
          LockEvent,
          LockEvent,
        ];
        expect(acquired).toMatchObject({
          resource: 'pool',
          mode: 'permits',
          lock,
          owner: 'worker-1',
          token: 4n,
          permits: 3,
        });
        expect(acquired.waitTime).toBeGreaterThanOrEqual(5);
        expect(acquired.holdTime).toBeUndefined();
        expect(timeout.error).toBeInstanceOf(TimeoutError);
        expect(timeout.holdTime).toBeGreaterThanOrEqual(50);
        expect(released).toMatchObject({ type: 'released', token: 4n, permits: 3 });
        expect(released.holdTime).toBeGreaterThanOrEqual(50);
        expect(acquiredNow.waitTime).toBe(0);
        expect(lostEvent).toMatchObject({ type: 'lost', token: 5n, error: reason, owner: 'w2' });
      } finally {
        stop();
      }
    });

    it('a lease created without a trace reports nothing, even if an observer appears later', async () => {
      vi.useFakeTimers();
      const lease = new TestLease('r', 1);
      lease.limit(10);
      const events: LockEvent[] = [];
      const stop = addObserver((e) => events.push(e));
      try {
        expect(() => vi.advanceTimersByTime(10)).not.toThrow();
        expect(isTimeoutError(lease.signal.reason)).toBe(true);
        await lease.release();
        expect(events).toEqual([]);
      } finally {
        stop();
      }
    });
  });
});

/** A lease made without a constructor, as the hot in-process locks make theirs. */
class MadeLease extends BaseLease {
  declare holds: { count: number; readonly name: string };
  static of(
    prototype: MadeLease,
    holds: { count: number; name: string },
    fence: number,
    trace?: LeaseTrace,
  ): MadeLease {
    const lease = BaseLease.make(prototype, fence);
    lease.holds = holds;
    BaseLease.finishMake(lease, trace, 0);
    return lease;
  }
  override get resource(): string {
    return this.holds.name;
  }
  protected releaseHold(): void {
    this.holds.count--;
  }
  limit(ms: number): void {
    this.limitHoldTime(ms);
  }
}

describe('BaseLease.make and handedPrototype', () => {
  const HANDED = BaseLease.handedPrototype(MadeLease.prototype);

  for (const [label, prototype] of [
    ['plain prototype', MadeLease.prototype],
    ['handed prototype', HANDED],
  ] as const) {
    it(`${label}: the contract holds exactly as for a constructed lease`, async () => {
      const holds = { count: 1, name: 'made' };
      const lease = MadeLease.of(prototype, holds, 41);
      expect(lease).toBeInstanceOf(MadeLease);
      expect(lease).toBeInstanceOf(BaseLease);
      expect(lease.resource).toBe('made');
      expect(lease.token).toBe(41n);
      expect(lease.released).toBe(false);
      // Never a thenable: awaiting a promise of it gives the lease itself.
      expect(await Promise.resolve(lease)).toBe(lease);
      const signal = lease.signal;
      await Promise.all([lease.release(), lease.release(), lease[Symbol.asyncDispose]()]);
      expect(holds.count).toBe(0);
      expect(lease.released).toBe(true);
      expect(signal.aborted).toBe(true);
    });
  }

  it('only the handed prototype carries the inert then; the plain chain has none', () => {
    const plain = MadeLease.of(MadeLease.prototype, { count: 1, name: 'made' }, 1);
    const handed = MadeLease.of(HANDED, { count: 1, name: 'made' }, 2);
    expect('then' in plain).toBe(false);
    expect('then' in handed).toBe(true);
    expect((handed as unknown as { then: unknown }).then).toBeUndefined();
    expect(Object.keys(handed)).not.toContain('then');
  });

  it('a made lease reports acquired/released when traced and honours a hold-time limit', async () => {
    vi.useFakeTimers();
    const events: LockEvent[] = [];
    const stop = addObserver((event) => events.push(event));
    try {
      const lease = MadeLease.of(MadeLease.prototype, { count: 1, name: 'made' }, 5, {
        lock: {},
        mode: 'exclusive',
        owner: 'me',
        waitStart: 0,
      });
      lease.limit(10);
      vi.advanceTimersByTime(11);
      expect(isTimeoutError(lease.signal.reason)).toBe(true);
      expect(lease.released).toBe(false);
      await lease.release();
      expect(events.map((event) => event.type)).toEqual(['acquired', 'timeout', 'released']);
      expect(events[0]?.token).toBe(5n);
      expect(events.every((event) => event.resource === 'made')).toBe(true);
    } finally {
      stop();
    }
  });
});
