import { getEventListeners, setMaxListeners } from 'node:events';
import type { LockEvent } from '@cf/core';
import { addObserver, isTimeoutError, Priority, TimeoutError, withPermits } from '@cf/core';
import { Semaphore } from '@cf/sync';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FAKE_TIMERS, flush, track } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('Semaphore: weighted permits and order', () => {
  it('grants up to the number of permits and queues the rest', async () => {
    const semaphore = new Semaphore(5);
    const a = await semaphore.acquire(3);
    expect(a.permits).toBe(3);
    expect(semaphore.availablePermits).toBe(2);
    const b = track(semaphore.acquire(3));
    await flush();
    expect(b.settled).toBe(false);
    expect(semaphore.waitersCount).toBe(1);
    await a.release();
    await flush();
    expect(b.value?.permits).toBe(3);
    expect(semaphore.availablePermits).toBe(2);
    await b.value?.release();
    expect(semaphore.availablePermits).toBe(5);
  });

  it('does not let lighter waiters starve a heavier head (no barging by default)', async () => {
    const semaphore = new Semaphore(2);
    const first = await semaphore.acquire();
    const second = await semaphore.acquire();
    const heavy = track(semaphore.acquire(2));
    const light = track(semaphore.acquire(1));
    await first.release();
    await flush();
    // One permit is free, the light request would fit, but the heavy head goes first.
    expect(semaphore.availablePermits).toBe(1);
    expect(heavy.settled).toBe(false);
    expect(light.settled).toBe(false);
    expect(await semaphore.tryAcquire()).toBeUndefined();
    expect(semaphore.tryAcquireSync()).toBeUndefined();
    await second.release();
    await flush();
    expect(heavy.value?.permits).toBe(2);
    expect(light.settled).toBe(false);
    await heavy.value?.release();
    await flush();
    expect(light.value?.permits).toBe(1);
  });

  it('with barging, free permits go to any waiter or caller they suffice for', async () => {
    const semaphore = new Semaphore(2, { barging: true });
    const first = await semaphore.acquire();
    const second = await semaphore.acquire();
    const heavy = track(semaphore.acquire(2));
    const light = track(semaphore.acquire(1));
    await first.release();
    await flush();
    expect(heavy.settled).toBe(false);
    expect(light.value?.permits).toBe(1);
    await second.release();
    const barger = semaphore.tryAcquireSync();
    expect(barger?.permits).toBe(1);
    await barger?.release();
    await light.value?.release();
    await flush();
    expect(heavy.value?.permits).toBe(2);
  });

  it('serves waiters by priority, then in arrival order', async () => {
    const semaphore = new Semaphore(1);
    const holder = await semaphore.acquire();
    const order: string[] = [];
    const logged = (name: string, priority?: number) =>
      semaphore.acquire(1, { priority }).then((lease) => {
        order.push(name);
        return lease;
      });
    const waits = [
      logged('low', Priority.LOW),
      logged('normal-1'),
      logged('critical', Priority.CRITICAL),
      logged('normal-2'),
    ];
    await holder.release();
    for (const wait of waits) void wait.then((lease) => lease.release());
    await Promise.all(waits);
    expect(order).toEqual(['critical', 'normal-1', 'normal-2', 'low']);
  });

  it('grants at once a more urgent request that fits before a heavy head', async () => {
    const semaphore = new Semaphore(3);
    const held = await semaphore.acquire(2);
    const heavy = track(semaphore.acquire(3));
    const urgent = await semaphore.acquire(1, { priority: Priority.HIGH });
    expect(urgent.permits).toBe(1);
    expect(heavy.settled).toBe(false);
    await urgent.release();
    await held.release();
    await flush();
    expect(heavy.value?.permits).toBe(3);
  });
});

describe('Semaphore: leases', () => {
  it('returns exactly its permits, once', async () => {
    const semaphore = new Semaphore(4);
    const lease = await semaphore.acquire(3);
    const other = await semaphore.acquire(1);
    expect(() => {
      (lease as { permits: number }).permits = 100;
    }).toThrow(TypeError);
    await lease.release();
    await lease.release();
    await lease[Symbol.asyncDispose]();
    expect(semaphore.availablePermits).toBe(3);
    expect(lease.released).toBe(true);
    expect(other.released).toBe(false);
    await other.release();
    expect(semaphore.availablePermits).toBe(4);
  });

  it('no lease is a thenable, whether returned at once or granted to a waiter', async () => {
    // A granted lease carries an inert `then: undefined` (a faster resolve); it must stay inert.
    const semaphore = new Semaphore(1);
    const direct = await semaphore.acquire();
    const queued = semaphore.acquire();
    direct.release();
    const granted = await queued;
    expect(granted.permits).toBe(1);
    granted.release();
    const sync = semaphore.tryAcquireSync()!;
    sync.release();
    for (const lease of [direct, granted, sync]) {
      expect(typeof (lease as { then?: unknown }).then).not.toBe('function');
      expect(await lease).toBe(lease);
      expect(await Promise.resolve(lease)).toBe(lease);
      expect(lease.released).toBe(true);
    }
    expect(semaphore.availablePermits).toBe(1);
  });

  it('await using returns the permits on scope exit, also on throw', async () => {
    const semaphore = new Semaphore(2);
    {
      await using lease = await semaphore.acquire(2);
      expect(lease.permits).toBe(2);
      expect(semaphore.availablePermits).toBe(0);
    }
    expect(semaphore.availablePermits).toBe(2);
    await expect(
      (async () => {
        await using _lease = await semaphore.acquire(1);
        throw new Error('boom');
      })(),
    ).rejects.toThrow('boom');
    expect(semaphore.availablePermits).toBe(2);
  });

  it('every way of building a lease gives the same contract: name, permits, one return', async () => {
    for (const options of [{ name: 'pool' }, { name: 'pool', defaultHoldTimeout: 60_000 }]) {
      const semaphore = new Semaphore(3, options);
      const free = await semaphore.acquire(2);
      const sync = semaphore.tryAcquireSync(1)!;
      const queued = semaphore.acquire(3);
      await Promise.all([free.release(), sync.release()]);
      const handed = await queued;
      const leases = [free, sync, handed];
      expect(leases.map((lease) => [lease.resource, lease.permits])).toEqual([
        ['pool', 2],
        ['pool', 1],
        ['pool', 3],
      ]);
      expect(leases.map((lease) => lease.token)).toEqual([1n, 2n, 3n]);
      expect(semaphore.availablePermits).toBe(0);
      await Promise.all([...leases, ...leases].map((lease) => lease.release()));
      expect(semaphore.availablePermits).toBe(3);
    }
  });

  it('fencing tokens strictly increase; lease.signal aborts on release', async () => {
    const semaphore = new Semaphore(2, { name: 'pool' });
    const a = await semaphore.acquire();
    const b = semaphore.tryAcquireSync()!;
    expect(b.token).toBeGreaterThan(a.token);
    expect(a.resource).toBe('pool');
    const signal = a.signal;
    expect(signal.aborted).toBe(false);
    await a.release();
    expect(signal.aborted).toBe(true);
    const c = await semaphore.acquire();
    expect(c.token).toBeGreaterThan(b.token);
  });

  it('holdTimeout aborts lease.signal with a TimeoutError but keeps the permits held', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const semaphore = new Semaphore(2, { defaultHoldTimeout: 1000 });
    const byDefault = await semaphore.acquire();
    const own = await semaphore.acquire(1, { holdTimeout: 100 });
    vi.advanceTimersByTime(100);
    expect(own.signal.aborted).toBe(true);
    expect(isTimeoutError(own.signal.reason)).toBe(true);
    expect(byDefault.signal.aborted).toBe(false);
    expect(semaphore.availablePermits).toBe(0);
    vi.advanceTimersByTime(900);
    expect(byDefault.signal.reason).toBeInstanceOf(TimeoutError);
    await own.release();
    await byDefault.release();
    expect(semaphore.availablePermits).toBe(2);
  });

  it('holdTimeout applies to queued waiters too, and Infinity disables the default', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const semaphore = new Semaphore(1, { defaultHoldTimeout: 50 });
    const holder = await semaphore.acquire(1, { holdTimeout: Number.POSITIVE_INFINITY });
    const queuedOwn = semaphore.acquire(1, { holdTimeout: 20 });
    const queuedDefault = semaphore.acquire(1);
    vi.advanceTimersByTime(10_000);
    expect(holder.signal.aborted).toBe(false);
    await holder.release();
    const own = await queuedOwn;
    vi.advanceTimersByTime(20);
    expect(isTimeoutError(own.signal.reason)).toBe(true);
    await own.release();
    const byDefault = await queuedDefault;
    vi.advanceTimersByTime(49);
    expect(byDefault.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(isTimeoutError(byDefault.signal.reason)).toBe(true);
    await byDefault.release();
  });

  it('works through withPermits', async () => {
    const semaphore = new Semaphore(3);
    const result = await withPermits(semaphore, 2, (lease) => {
      expect(semaphore.availablePermits).toBe(1);
      return lease.resource;
    });
    expect(result).toBe(semaphore.name);
    expect(semaphore.availablePermits).toBe(3);
  });
});

describe('Semaphore: timeouts and aborts', () => {
  it('a timed-out waiter leaves the queue and takes nothing', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const semaphore = new Semaphore(1);
    const holder = await semaphore.acquire();
    const waiting = semaphore.acquire(1, { timeout: 100 });
    const assertion = expect(waiting).rejects.toBeInstanceOf(TimeoutError);
    expect(semaphore.waitersCount).toBe(1);
    vi.advanceTimersByTime(100);
    await assertion;
    expect(semaphore.waitersCount).toBe(0);
    await holder.release();
    expect(semaphore.availablePermits).toBe(1);
  });

  it('a heavy head that times out lets the lighter waiters behind it in', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const semaphore = new Semaphore(3);
    const held = await semaphore.acquire(2);
    const heavy = semaphore.acquire(3, { timeout: 50 });
    void heavy.catch(() => {});
    const light = semaphore.acquire(1);
    vi.advanceTimersByTime(50);
    await expect(heavy).rejects.toBeInstanceOf(TimeoutError);
    const lightLease = await light;
    expect(semaphore.availablePermits).toBe(0);
    await lightLease.release();
    await held.release();
    expect(semaphore.availablePermits).toBe(3);
  });

  it('an aborted waiter rejects with signal.reason and is removed; an aborted heavy head unblocks others', async () => {
    const semaphore = new Semaphore(2);
    const held = await semaphore.acquire(1);
    const controller = new AbortController();
    const heavy = semaphore.acquire(2, { signal: controller.signal });
    const light = track(semaphore.acquire(1));
    await flush();
    expect(light.settled).toBe(false);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(heavy).rejects.toBe(reason);
    await flush();
    expect(light.value?.permits).toBe(1);
    expect(semaphore.waitersCount).toBe(0);
    await light.value?.release();
    await held.release();
    expect(semaphore.availablePermits).toBe(2);
  });

  it('a pre-aborted signal rejects at once, even with permits free', async () => {
    const semaphore = new Semaphore(1);
    const reason = new Error('already');
    await expect(semaphore.acquire(1, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(semaphore.availablePermits).toBe(1);
    expect(semaphore.waitersCount).toBe(0);
  });

  it('timeout 0 grants when free and rejects at once otherwise', async () => {
    const semaphore = new Semaphore(1);
    const lease = await semaphore.acquire(1, { timeout: 0 });
    await expect(semaphore.acquire(1, { timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
    expect(semaphore.waitersCount).toBe(0);
    await lease.release();
  });

  it('a long-lived signal does not collect listeners', async () => {
    const semaphore = new Semaphore(1);
    const controller = new AbortController();
    for (let i = 0; i < 1000; i++) {
      const holder = await semaphore.acquire(1, { signal: controller.signal });
      const queued = semaphore.acquire(1, { signal: controller.signal, timeout: 1000 });
      await holder.release();
      await (await queued).release();
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('bulk aborts leave nothing behind', async () => {
    const semaphore = new Semaphore(2);
    const holder = await semaphore.acquire(2);
    const controller = new AbortController();
    setMaxListeners(1000, controller.signal);
    const waits = Array.from({ length: 500 }, (_, i) =>
      semaphore.acquire((i % 2) + 1, { signal: controller.signal, priority: i % 4 }),
    );
    controller.abort();
    const results = await Promise.allSettled(waits);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(semaphore.waitersCount).toBe(0);
    await holder.release();
    expect(semaphore.availablePermits).toBe(2);
  });
});

describe('Semaphore: resize', () => {
  it('growing serves waiters at once', async () => {
    const semaphore = new Semaphore(1, { maxPermits: 10 });
    const holder = await semaphore.acquire();
    const a = track(semaphore.acquire(2));
    const b = track(semaphore.acquire(1));
    semaphore.resize(4);
    await flush();
    expect(a.value?.permits).toBe(2);
    expect(b.value?.permits).toBe(1);
    expect(semaphore.availablePermits).toBe(0);
    expect(semaphore.permits).toBe(4);
    await holder.release();
    expect(semaphore.availablePermits).toBe(1);
  });

  it('shrinking below what is held makes availablePermits negative until enough is returned', async () => {
    const semaphore = new Semaphore(4);
    const leases = await Promise.all([semaphore.acquire(2), semaphore.acquire(2)]);
    semaphore.resize(1);
    expect(semaphore.availablePermits).toBe(-3);
    const waiter = track(semaphore.acquire(1));
    await leases[0]!.release();
    await flush();
    expect(semaphore.availablePermits).toBe(-1);
    expect(waiter.settled).toBe(false);
    await leases[1]!.release();
    await flush();
    expect(waiter.value?.permits).toBe(1);
    expect(semaphore.availablePermits).toBe(0);
    await waiter.value?.release();
    expect(semaphore.availablePermits).toBe(1);
  });

  it('a request above the current size but within maxPermits waits for a resize', async () => {
    const semaphore = new Semaphore(0, { maxPermits: 3 });
    const waiter = track(semaphore.acquire(3));
    await flush();
    expect(waiter.settled).toBe(false);
    semaphore.resize(3);
    await flush();
    expect(waiter.value?.permits).toBe(3);
  });
});

describe('Semaphore: observer events', () => {
  it('reports wait, acquired, released, timeout and aborted with permits', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const events: LockEvent[] = [];
    const stop = addObserver((event) => events.push(event));
    try {
      const semaphore = new Semaphore(2, { name: 'observed' });
      const holder = await semaphore.acquire(2, { owner: 'h' });
      const timedOut = semaphore.acquire(1, { timeout: 10, owner: 't' });
      const controller = new AbortController();
      const aborted = semaphore.acquire(2, { signal: controller.signal, owner: 'a' });
      const granted = semaphore.acquire(1, { owner: 'g' });
      vi.advanceTimersByTime(10);
      controller.abort();
      await Promise.allSettled([timedOut, aborted]);
      await holder.release();
      await (await granted).release();
      const summary = events
        .filter((e) => e.resource === 'observed')
        .map((e) => `${e.type}:${String(e.owner)}:${e.permits}:${e.mode}`);
      expect(summary).toEqual([
        'acquired:h:2:permits',
        'wait:t:1:permits',
        'wait:a:2:permits',
        'wait:g:1:permits',
        'timeout:t:1:permits',
        'aborted:a:2:permits',
        'released:h:2:permits',
        'acquired:g:1:permits',
        'released:g:1:permits',
      ]);
      expect(events.every((e) => e.lock instanceof Semaphore)).toBe(true);
    } finally {
      stop();
    }
  });
});
