import { setMaxListeners } from 'node:events';
import { isTimeoutError, type Lease, Priority, TimeoutError } from '@cf/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Mutex } from '../src/index.js';
import { abortListeners, flush, recordEvents, rejectionOf, stateOf } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('Mutex', () => {
  it('grants a free mutex at once and reports its state', async () => {
    const mutex = new Mutex({ name: 'accounts' });
    expect(mutex.isLocked).toBe(false);
    const lease = await mutex.acquire();
    expect(mutex.isLocked).toBe(true);
    expect(lease.resource).toBe('accounts');
    expect(lease.released).toBe(false);
    await lease.release();
    expect(lease.released).toBe(true);
    expect(mutex.isLocked).toBe(false);
  });

  it('every way of building a lease gives the same contract: name, increasing token, one release', async () => {
    for (const options of [undefined, { name: 'ledger' }, { name: 'ledger', defaultHoldTimeout: 60_000 }]) {
      const mutex = new Mutex(options);
      const free = await mutex.acquire();
      const queued = mutex.acquire({ priority: 1 });
      await free.release();
      const handed = await queued; // handed over by the release
      await handed.release();
      const sync = mutex.tryAcquireSync()!;
      const leases = [free, handed, sync];
      expect(leases.map((lease) => lease.resource)).toEqual([mutex.name, mutex.name, mutex.name]);
      expect(leases.map((lease) => lease.token)).toEqual([1n, 2n, 3n]);
      expect(Object.keys(sync)).not.toContain('then');
      await sync.release();
      await Promise.all(leases.map((lease) => lease.release()));
      expect(mutex.isLocked).toBe(false);
      expect(leases.every((lease) => lease.released && lease.signal.aborted)).toBe(true);
      // A stale lease released again must not free the next holder.
      const next = mutex.tryAcquireSync()!;
      await sync.release();
      expect(mutex.isLocked).toBe(true);
      await next.release();
    }
  });

  it('generates a distinct name when none is given', () => {
    const a = new Mutex();
    const b = new Mutex();
    expect(a.name).toMatch(/^mutex#\d+$/);
    expect(a.name).not.toBe(b.name);
    expect(a.name).toBe(a.name);
  });

  it('hands the lock to waiters in FIFO order without letting a newcomer barge in', async () => {
    const mutex = new Mutex();
    const first = await mutex.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      mutex.acquire().then((lease) => {
        order.push(n);
        return lease;
      }),
    );
    expect(mutex.waitersCount).toBe(3);
    first.release();
    // Between the release and the waiter's wake-up, the mutex already belongs to waiter 1.
    expect(mutex.isLocked).toBe(true);
    expect(mutex.tryAcquireSync()).toBeUndefined();
    const barger = mutex.acquire();
    const lease1 = await waiters[0]!;
    expect(order).toEqual([1]);
    lease1.release();
    (await waiters[1]!).release();
    (await waiters[2]!).release();
    expect(order).toEqual([1, 2, 3]);
    (await barger).release();
    expect(mutex.isLocked).toBe(false);
    expect(mutex.waitersCount).toBe(0);
  });

  it('serves more urgent waiters first, FIFO within a priority', async () => {
    const mutex = new Mutex();
    const holder = await mutex.acquire();
    const order: string[] = [];
    const take = (name: string, priority: number) =>
      mutex.acquire({ priority }).then((lease) => {
        order.push(name);
        lease.release();
      });
    const all = [
      take('low', Priority.LOW),
      take('normal-1', Priority.NORMAL),
      take('critical', Priority.CRITICAL),
      take('normal-2', Priority.NORMAL),
      take('high', Priority.HIGH),
    ];
    holder.release();
    await Promise.all(all);
    expect(order).toEqual(['critical', 'high', 'normal-1', 'normal-2', 'low']);
  });

  it('gives strictly increasing fencing tokens', async () => {
    const mutex = new Mutex();
    let last = -1n;
    for (let i = 0; i < 5; i++) {
      const lease = i % 2 === 0 ? await mutex.acquire() : mutex.tryAcquireSync()!;
      expect(lease.token > last).toBe(true);
      last = lease.token;
      lease.release();
    }
  });

  it('release() is idempotent and never releases the next holder', async () => {
    const mutex = new Mutex();
    const first = await mutex.acquire();
    const second = mutex.acquire();
    await first.release();
    const lease2 = await second;
    await first.release();
    first.release();
    expect(mutex.isLocked).toBe(true);
    expect(mutex.tryAcquireSync()).toBeUndefined();
    lease2.release();
    expect(mutex.isLocked).toBe(false);
  });

  it('no lease is a thenable, whether returned at once or handed to a waiter', async () => {
    // A handed lease carries an inert `then: undefined` (a faster resolve); it must stay inert.
    const mutex = new Mutex();
    const direct = await mutex.acquire();
    const queued = mutex.acquire();
    direct.release();
    const handed = await queued;
    handed.release();
    const sync = mutex.tryAcquireSync()!;
    sync.release();
    for (const lease of [direct, handed, sync]) {
      expect(typeof (lease as { then?: unknown }).then).not.toBe('function');
      expect(await lease).toBe(lease);
      expect(await Promise.resolve(lease)).toBe(lease);
      expect(Object.keys(lease)).not.toContain('then');
      expect(lease.released).toBe(true);
    }
  });

  it('tryAcquire and tryAcquireSync never wait', async () => {
    const mutex = new Mutex();
    const lease = mutex.tryAcquireSync();
    expect(lease).toBeDefined();
    expect(mutex.tryAcquireSync()).toBeUndefined();
    expect(await mutex.tryAcquire()).toBeUndefined();
    expect(mutex.waitersCount).toBe(0);
    lease!.release();
    const again = await mutex.tryAcquire();
    expect(again).toBeDefined();
    again!.release();
  });

  it('times out a waiter with TimeoutError, removes it and stays usable', async () => {
    vi.useFakeTimers();
    const mutex = new Mutex({ name: 'slow' });
    const holder = await mutex.acquire();
    const waiting = mutex.acquire({ timeout: 50 });
    const error = rejectionOf(waiting);
    await vi.advanceTimersByTimeAsync(49);
    expect(await stateOf(waiting)).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    const reason = await error;
    expect(reason).toBeInstanceOf(TimeoutError);
    expect((reason as TimeoutError).code).toBe('ERR_CF_TIMEOUT');
    expect((reason as Error).message).toContain('slow');
    expect(mutex.waitersCount).toBe(0);
    holder.release();
    expect(mutex.isLocked).toBe(false);
    (await mutex.acquire({ timeout: 10 })).release();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('timeout 0 means "only if free now"', async () => {
    const mutex = new Mutex();
    const lease = await mutex.acquire({ timeout: 0 });
    expect(isTimeoutError(await rejectionOf(mutex.acquire({ timeout: 0 })))).toBe(true);
    expect(mutex.waitersCount).toBe(0);
    lease.release();
  });

  it('aborting a waiter rejects with signal.reason, removes it and its listener', async () => {
    const mutex = new Mutex();
    const holder = await mutex.acquire();
    const controller = new AbortController();
    const waiting = mutex.acquire({ signal: controller.signal });
    const next = mutex.acquire();
    expect(abortListeners(controller.signal)).toBe(1);
    const reason = new Error('stop');
    controller.abort(reason);
    expect(await rejectionOf(waiting)).toBe(reason);
    expect(abortListeners(controller.signal)).toBe(0);
    expect(mutex.waitersCount).toBe(1);
    holder.release();
    (await next).release();
    expect(mutex.isLocked).toBe(false);
  });

  it('rejects a pre-aborted signal even when the mutex is free', async () => {
    const mutex = new Mutex();
    const reason = new Error('already');
    expect(await rejectionOf(mutex.acquire({ signal: AbortSignal.abort(reason) }))).toBe(reason);
    expect(mutex.isLocked).toBe(false);
    expect(mutex.waitersCount).toBe(0);
  });

  it('a long-lived signal does not collect listeners across many acquisitions', async () => {
    const mutex = new Mutex();
    const controller = new AbortController();
    setMaxListeners(200, controller.signal);
    const holder = await mutex.acquire();
    const waits: Promise<Lease>[] = [];
    for (let i = 0; i < 100; i++) waits.push(mutex.acquire({ signal: controller.signal }));
    holder.release();
    for (const wait of waits) (await wait).release();
    expect(abortListeners(controller.signal)).toBe(0);
  });

  it('bulk aborts leave no waiter behind and the next holder still gets in', async () => {
    const mutex = new Mutex();
    const holder = await mutex.acquire();
    const controllers = Array.from({ length: 50 }, () => new AbortController());
    const waits = controllers.map((c) => mutex.acquire({ signal: c.signal }));
    const survivor = mutex.acquire();
    for (const c of controllers) c.abort();
    const results = await Promise.allSettled(waits);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(mutex.waitersCount).toBe(1);
    holder.release();
    (await survivor).release();
    expect(mutex.isLocked).toBe(false);
  });

  it('lease.signal aborts on release, created lazily', async () => {
    const mutex = new Mutex();
    const lease = await mutex.acquire();
    const signal = lease.signal;
    expect(signal.aborted).toBe(false);
    lease.release();
    expect(signal.aborted).toBe(true);
    const late = await mutex.acquire();
    late.release();
    expect(late.signal.aborted).toBe(true);
  });

  it('holdTimeout aborts lease.signal with TimeoutError and reports it, without releasing', async () => {
    vi.useFakeTimers();
    const recorder = recordEvents();
    try {
      const mutex = new Mutex({ name: 'held' });
      const lease = await mutex.acquire({ holdTimeout: 100 });
      await vi.advanceTimersByTimeAsync(99);
      expect(lease.signal.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(lease.signal.aborted).toBe(true);
      expect(lease.signal.reason).toBeInstanceOf(TimeoutError);
      expect(mutex.isLocked).toBe(true);
      expect(lease.released).toBe(false);
      expect(recorder.events.some((e) => e.type === 'timeout' && e.resource === 'held')).toBe(true);
      lease.release();
      expect(mutex.isLocked).toBe(false);
    } finally {
      recorder.stop();
    }
  });

  it('defaultHoldTimeout applies to every path; Infinity opts out', async () => {
    vi.useFakeTimers();
    const mutex = new Mutex({ defaultHoldTimeout: 10 });
    const fast = await mutex.acquire();
    const queued = mutex.acquire();
    await vi.advanceTimersByTimeAsync(10);
    expect(fast.signal.aborted).toBe(true);
    fast.release();
    const second = await queued;
    await vi.advanceTimersByTimeAsync(10);
    expect(second.signal.reason).toBeInstanceOf(TimeoutError);
    second.release();
    const sync = mutex.tryAcquireSync()!;
    await vi.advanceTimersByTimeAsync(10);
    expect(sync.signal.aborted).toBe(true);
    sync.release();
    const unlimited = await mutex.acquire({ holdTimeout: Number.POSITIVE_INFINITY });
    await vi.advanceTimersByTimeAsync(1000);
    expect(unlimited.signal.aborted).toBe(false);
    unlimited.release();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a released lease clears its hold timer', async () => {
    vi.useFakeTimers();
    const mutex = new Mutex();
    const lease = await mutex.acquire({ holdTimeout: 1000 });
    expect(vi.getTimerCount()).toBe(1);
    lease.release();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('withLock releases on return and on throw', async () => {
    const mutex = new Mutex();
    expect(await mutex.withLock(() => 42)).toBe(42);
    expect(mutex.isLocked).toBe(false);
    const error = new Error('boom');
    expect(
      await rejectionOf(
        mutex.withLock(async () => {
          throw error;
        }),
      ),
    ).toBe(error);
    expect(mutex.isLocked).toBe(false);
  });

  it('await using releases at scope exit, also on throw', async () => {
    const mutex = new Mutex();
    async function section(fail: boolean): Promise<void> {
      await using _lease = await mutex.acquire();
      expect(mutex.isLocked).toBe(true);
      if (fail) throw new Error('inside');
    }
    await section(false);
    expect(mutex.isLocked).toBe(false);
    await expect(section(true)).rejects.toThrow('inside');
    expect(mutex.isLocked).toBe(false);
  });

  it('keeps 100 concurrent tasks mutually exclusive across awaits', async () => {
    const mutex = new Mutex();
    let inside = 0;
    let maxInside = 0;
    let counter = 0;
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        for (let i = 0; i < 10; i++) {
          const lease = await mutex.acquire();
          inside++;
          maxInside = Math.max(maxInside, inside);
          const read = counter;
          await flush(2);
          counter = read + 1;
          inside--;
          lease.release();
        }
      }),
    );
    expect(maxInside).toBe(1);
    expect(counter).toBe(1000);
  });

  it('reports wait, acquired and released events with owner, mode and the mutex as lock', async () => {
    const recorder = recordEvents();
    try {
      const mutex = new Mutex({ name: 'observed' });
      const owner = { task: 1 };
      const first = await mutex.acquire({ owner });
      const second = mutex.acquire({ owner: 'other' });
      first.release();
      (await second).release();
      const types = recorder.events.filter((e) => e.resource === 'observed').map((e) => e.type);
      expect(types).toEqual(['acquired', 'wait', 'released', 'acquired', 'released']);
      const acquired = recorder.events.find((e) => e.type === 'acquired')!;
      expect(acquired.owner).toBe(owner);
      expect(acquired.mode).toBe('exclusive');
      expect(acquired.lock).toBe(mutex);
      expect(recorder.events.filter((e) => e.type === 'acquired')[1]!.owner).toBe('other');
    } finally {
      recorder.stop();
    }
  });

  it('reports timeout and aborted waits', async () => {
    const recorder = recordEvents();
    try {
      const mutex = new Mutex({ name: 'waits' });
      const holder = await mutex.acquire();
      await rejectionOf(mutex.acquire({ timeout: 0 }));
      const controller = new AbortController();
      const waiting = mutex.acquire({ signal: controller.signal });
      controller.abort();
      await rejectionOf(waiting);
      holder.release();
      const types = recorder.events.filter((e) => e.resource === 'waits').map((e) => e.type);
      expect(types).toContain('timeout');
      expect(types).toContain('aborted');
    } finally {
      recorder.stop();
    }
  });
});
