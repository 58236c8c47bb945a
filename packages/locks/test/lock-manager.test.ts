import { isTimeoutError, type Lease, type Lock, Priority, TimeoutError } from '@cf/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getDefaultLockManager, LockManager, Mutex, ReadWriteLock } from '../src/index.js';
import { expectInvalidAsync, flush, rejectionOf, stateOf } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('LockManager', () => {
  it('excludes by name; different names are independent', async () => {
    const manager = new LockManager();
    const a = await manager.acquire('a');
    const b = await manager.acquire('b');
    const a2 = manager.acquire('a');
    expect(await stateOf(a2)).toBe('pending');
    expect(manager.size).toBe(2);
    a.release();
    (await a2).release();
    b.release();
    expect(manager.size).toBe(0);
  });

  it('shares a name between shared holders and excludes an exclusive one', async () => {
    const manager = new LockManager();
    const s1 = await manager.acquire('doc', { mode: 'shared' });
    const s2 = await manager.acquire('doc', { mode: 'shared' });
    expect(await manager.tryAcquire('doc')).toBeUndefined();
    expect(manager.stats('doc').holders).toBe(2);
    const exclusive = manager.acquire('doc', { mode: 'exclusive' });
    s1.release();
    s2.release();
    (await exclusive).release();
    expect(manager.size).toBe(0);
  });

  it('serves waiters of a name by priority', async () => {
    const manager = new LockManager();
    const holder = await manager.acquire('job');
    const order: string[] = [];
    const take = (name: string, priority: number) =>
      manager.acquire('job', { priority }).then((l) => {
        order.push(name);
        l.release();
      });
    const all = [take('low', Priority.LOW), take('critical', Priority.CRITICAL), take('normal', Priority.NORMAL)];
    holder.release();
    await Promise.all(all);
    expect(order).toEqual(['critical', 'normal', 'low']);
  });

  it('applies defaultTimeout when the call sets none, and a call timeout wins', async () => {
    vi.useFakeTimers();
    const manager = new LockManager({ defaultTimeout: 100 });
    const holder = await manager.acquire('x');
    const defaulted = manager.acquire('x');
    const longer = manager.acquire('x', { timeout: 500 });
    const defaultedError = rejectionOf(defaulted);
    await vi.advanceTimersByTimeAsync(100);
    const error = await defaultedError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeout).toBe(100);
    expect(await stateOf(longer)).toBe('pending');
    holder.release();
    (await longer).release();
    expect(manager.size).toBe(0);
    expect(manager.stats().timeouts).toBe(1);
  });

  it('removes idle names: a million distinct names leave the manager empty', async () => {
    const manager = new LockManager();
    for (let i = 0; i < 1_000_000; i++) {
      const lease = await manager.acquire(`name-${i}`);
      lease.release();
    }
    expect(manager.size).toBe(0);
    expect(manager.stats()).toMatchObject({ acquisitions: 1_000_000, holders: 0, waiters: 0, names: 0 });
  }, 60_000);

  it('removes a name whose only request failed at once (pre-aborted signal)', async () => {
    const manager = new LockManager();
    expect(await rejectionOf(manager.acquire('gone', { signal: AbortSignal.abort('no') }))).toBe('no');
    expect(manager.size).toBe(0);
    expect(manager.stats().aborts).toBe(1);
  });

  it('removes a name after its waiters time out or abort and the holder leaves', async () => {
    const manager = new LockManager();
    const holder = await manager.acquire('n');
    const controller = new AbortController();
    const aborted = manager.acquire('n', { signal: controller.signal });
    const timedOut = manager.acquire('n', { timeout: 1 });
    controller.abort();
    await rejectionOf(aborted);
    expect(isTimeoutError(await rejectionOf(timedOut))).toBe(true);
    expect(manager.stats('n')).toMatchObject({ holders: 1, waiters: 0, timeouts: 1, aborts: 1 });
    holder.release();
    expect(manager.size).toBe(0);
    expect(manager.stats()).toMatchObject({ acquisitions: 1, contended: 2, timeouts: 1, aborts: 1, names: 0 });
  });

  it('stats counts acquisitions, contention, holders and waiters per name', async () => {
    const manager = new LockManager();
    const a = await manager.acquire('s');
    const waiting = manager.acquire('s');
    expect(manager.stats('s')).toEqual({
      acquisitions: 1,
      contended: 1,
      timeouts: 0,
      aborts: 0,
      holders: 1,
      waiters: 1,
    });
    expect(manager.stats('other')).toEqual({
      acquisitions: 0,
      contended: 0,
      timeouts: 0,
      aborts: 0,
      holders: 0,
      waiters: 0,
    });
    a.release();
    (await waiting).release();
    expect(manager.stats()).toEqual({
      acquisitions: 2,
      contended: 1,
      timeouts: 0,
      aborts: 0,
      holders: 0,
      waiters: 0,
      names: 0,
    });
  });

  it('fencing tokens keep increasing for a name even after it was forgotten', async () => {
    const manager = new LockManager();
    const first = await manager.acquire('f');
    first.release();
    expect(manager.size).toBe(0);
    const second = await manager.acquire('f');
    expect(second.token > first.token).toBe(true);
    second.release();
  });

  it('withLock releases on return and on throw', async () => {
    const manager = new LockManager();
    expect(await manager.withLock('w', () => 'done')).toBe('done');
    await expect(manager.withLock('w', () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(manager.size).toBe(0);
  });

  it('holdTimeout (and defaultHoldTimeout) abort lease.signal without releasing', async () => {
    vi.useFakeTimers();
    const manager = new LockManager({ defaultHoldTimeout: 50 });
    const lease = await manager.acquire('h');
    const own = await manager.acquire('h2', { holdTimeout: 10 });
    await vi.advanceTimersByTimeAsync(10);
    expect(own.signal.reason).toBeInstanceOf(TimeoutError);
    expect(lease.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(40);
    expect(lease.signal.reason).toBeInstanceOf(TimeoutError);
    expect(manager.stats('h').holders).toBe(1);
    lease.release();
    own.release();
    expect(manager.size).toBe(0);
  });

  it('lock(name) is a Lock view in the chosen mode', async () => {
    const manager = new LockManager();
    const exclusive: Lock = manager.lock('v');
    const shared: Lock = manager.lock('v', { mode: 'shared' });
    const s1 = await shared.acquire();
    const s2 = await shared.acquire({ timeout: 0 });
    expect(await exclusive.tryAcquire()).toBeUndefined();
    s1.release();
    s2.release();
    const e = await exclusive.acquire({ timeout: 0 });
    expect(await shared.tryAcquire()).toBeUndefined();
    e.release();
    expect(manager.size).toBe(0);
  });

  it('getDefaultLockManager returns one shared instance', () => {
    expect(getDefaultLockManager()).toBe(getDefaultLockManager());
    expect(getDefaultLockManager()).toBeInstanceOf(LockManager);
  });
});

describe('LockManager.acquireAll', () => {
  it('takes every name in sorted order, once each, and releases them together', async () => {
    const manager = new LockManager();
    const lease = await manager.acquireAll(['c', 'a', 'b', 'a']);
    expect(lease.leases.map((l) => l.resource)).toEqual(['a', 'b', 'c']);
    expect(manager.size).toBe(3);
    expect(await manager.tryAcquire('b')).toBeUndefined();
    await lease.release();
    expect(manager.size).toBe(0);
  });

  it('two overlapping acquireAll calls in opposite orders cannot deadlock', async () => {
    const manager = new LockManager();
    let inside = 0;
    const run = async (names: string[]) => {
      for (let i = 0; i < 50; i++) {
        const lease = await manager.acquireAll(names, { timeout: 1000 });
        inside++;
        expect(inside).toBe(1);
        await flush(2);
        inside--;
        lease.release();
      }
    };
    await Promise.all([run(['x', 'y', 'z']), run(['z', 'y', 'x']), run(['y', 'x'])]);
    expect(manager.size).toBe(0);
  });

  it('releases what it took when a later name times out', async () => {
    const manager = new LockManager();
    const blocker = await manager.acquire('m2');
    const error = await rejectionOf(manager.acquireAll(['m1', 'm2', 'm3'], { timeout: 5 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeout).toBe(5);
    expect(manager.stats('m1').holders).toBe(0);
    expect(manager.stats('m3').holders).toBe(0);
    blocker.release();
    expect(manager.size).toBe(0);
  });

  it('releases what it took when aborted mid-way, and rejects with signal.reason', async () => {
    const manager = new LockManager();
    const blocker = await manager.acquire('b');
    const controller = new AbortController();
    const all = manager.acquireAll(['a', 'b'], { signal: controller.signal });
    await flush();
    expect(manager.stats('a').holders).toBe(1);
    controller.abort('cancelled');
    expect(await rejectionOf(all)).toBe('cancelled');
    expect(manager.stats('a').holders).toBe(0);
    blocker.release();
    expect(manager.size).toBe(0);
  });

  it('applies shared mode to every name', async () => {
    const manager = new LockManager();
    const one = await manager.acquireAll(['p', 'q'], { mode: 'shared' });
    const two = await manager.acquireAll(['q', 'p'], { mode: 'shared', timeout: 0 });
    expect(manager.stats('p').holders).toBe(2);
    one.release();
    two.release();
    expect(manager.size).toBe(0);
  });

  it('holdTimeout of acquireAll applies to the combined lease', async () => {
    vi.useFakeTimers();
    const manager = new LockManager();
    const lease = await manager.acquireAll(['h1', 'h2'], { holdTimeout: 20 });
    await vi.advanceTimersByTimeAsync(20);
    expect(lease.signal.reason).toBeInstanceOf(TimeoutError);
    expect(manager.size).toBe(2);
    lease.release();
    expect(manager.size).toBe(0);
  });

  it('rejects bad names before taking anything', async () => {
    const manager = new LockManager();
    await expectInvalidAsync(() => manager.acquireAll([]), 'range', 'names');
    await expectInvalidAsync(() => manager.acquireAll('ab' as never), 'type', 'names');
    await expectInvalidAsync(() => manager.acquireAll(['ok', 3 as never]), 'type', 'names[1]');
    await expectInvalidAsync(() => manager.acquireAll(['ok', '']), 'range', 'names[1]');
    await expectInvalidAsync(() => manager.acquireAll(['ok'], { mode: 'both' as never }), 'range', 'options.mode');
    expect(manager.size).toBe(0);
  });
});

describe('LockManager with createLock', () => {
  it('uses the factory lock while the name is busy and creates a new one after', async () => {
    const created: string[] = [];
    const manager = new LockManager({
      createLock: (name) => {
        created.push(name);
        return new Mutex({ name });
      },
    });
    const a = await manager.acquire('ext');
    const waiting = manager.acquire('ext');
    expect(created).toEqual(['ext']);
    expect(manager.stats('ext')).toMatchObject({ holders: 1, waiters: 1, contended: 1 });
    a.release();
    const b = await waiting;
    expect(b.resource).toBe('ext');
    expect(b.token > a.token).toBe(true);
    b.release();
    await flush();
    expect(manager.size).toBe(0);
    (await manager.acquire('ext')).release();
    expect(created).toEqual(['ext', 'ext']);
  });

  it('refuses shared mode for a plain Lock with a clear error, and stays usable', async () => {
    const manager = new LockManager({ createLock: (name) => new Mutex({ name }) });
    await expectInvalidAsync(() => manager.acquire('s', { mode: 'shared' }), 'range', 'options.mode');
    expect(manager.size).toBe(0);
    await expectInvalidAsync(() => manager.tryAcquire('s', { mode: 'shared' }), 'range', 'options.mode');
    expect(manager.size).toBe(0);
    (await manager.acquire('s')).release();
  });

  it('supports shared mode through a ReadWriteLock factory', async () => {
    const manager = new LockManager({ createLock: (name) => new ReadWriteLock({ name }) });
    const r1 = await manager.acquire('rw', { mode: 'shared' });
    const r2 = await manager.acquire('rw', { mode: 'shared' });
    expect(await manager.tryAcquire('rw')).toBeUndefined();
    const writer = manager.acquire('rw');
    r1.release();
    r2.release();
    (await writer).release();
    await flush();
    expect(manager.size).toBe(0);
  });

  it('counts timeouts and aborts of the factory lock, and removes the name', async () => {
    const manager = new LockManager({ createLock: (name) => new Mutex({ name }), defaultTimeout: 1 });
    const holder = await manager.acquire('t');
    expect(isTimeoutError(await rejectionOf(manager.acquire('t')))).toBe(true);
    const controller = new AbortController();
    const aborted = manager.acquire('t', { signal: controller.signal, timeout: 1000 });
    controller.abort();
    await rejectionOf(aborted);
    expect(manager.stats('t')).toMatchObject({ timeouts: 1, aborts: 1, holders: 1 });
    holder.release();
    expect(manager.size).toBe(0);
  });

  it('lease.signal reports the loss of the underlying lease', async () => {
    let inner: Lease | undefined;
    const lost = new Error('backend lost the lock');
    const controller = new AbortController();
    const fake: Lock = {
      acquire: async () => {
        inner = {
          resource: 'remote',
          token: 7n,
          signal: controller.signal,
          released: false,
          release: async () => undefined,
          [Symbol.asyncDispose]: async () => undefined,
        };
        return inner;
      },
      tryAcquire: async () => undefined,
    };
    const manager = new LockManager({ createLock: () => fake });
    const lease = await manager.acquire('remote');
    expect(lease.token).toBe(7n);
    const signal = lease.signal;
    controller.abort(lost);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(lost);
    await lease.release();
    expect(manager.size).toBe(0);
  });

  it('rejects a factory that returns something that is not a lock', async () => {
    const manager = new LockManager({ createLock: () => ({}) as never });
    await expectInvalidAsync(() => manager.acquire('bad'), 'type', 'createLock');
    expect(manager.size).toBe(0);
  });
});
