import { describe, expect, it } from 'vitest';
import { LockManager, Mutex, ReadWriteLock, ReentrantMutex } from '../src/index.js';
import { runAsOwner } from '../src/node.js';
import { expectInvalid, expectInvalidAsync } from './helpers.js';

type Kind = 'type' | 'range';

// [options, kind, the argument named in the message]
const BAD_ACQUIRE_OPTIONS: readonly [unknown, Kind, string][] = [
  ['fast', 'type', 'options'],
  [42, 'type', 'options'],
  [null, 'type', 'options'],
  [[], 'type', 'options'],
  [{ timeout: Number.NaN }, 'range', 'options.timeout'],
  [{ timeout: -1 }, 'range', 'options.timeout'],
  [{ timeout: '10' }, 'type', 'options.timeout'],
  [{ timeout: 2 ** 31 }, 'range', 'options.timeout'],
  [{ timeout: Number.NEGATIVE_INFINITY }, 'range', 'options.timeout'],
  [{ priority: 1.5 }, 'range', 'options.priority'],
  [{ priority: -1 }, 'range', 'options.priority'],
  [{ priority: 1001 }, 'range', 'options.priority'],
  [{ priority: Number.NaN }, 'range', 'options.priority'],
  [{ priority: 'high' }, 'type', 'options.priority'],
  [{ signal: {} }, 'type', 'options.signal'],
  [{ signal: 'abort' }, 'type', 'options.signal'],
  [{ signal: null }, 'type', 'options.signal'],
  [{ holdTimeout: 0 }, 'range', 'options.holdTimeout'],
  [{ holdTimeout: -5 }, 'range', 'options.holdTimeout'],
  [{ holdTimeout: Number.NaN }, 'range', 'options.holdTimeout'],
  [{ holdTimeout: '1s' }, 'type', 'options.holdTimeout'],
  [{ holdTimeout: 2 ** 40 }, 'range', 'options.holdTimeout'],
];

const BAD_LOCK_OPTIONS: readonly [unknown, Kind, string][] = [
  ['name', 'type', 'options'],
  [null, 'type', 'options'],
  [{ name: '' }, 'range', 'options.name'],
  [{ name: 'x'.repeat(5000) }, 'range', 'options.name'],
  [{ name: 7 }, 'type', 'options.name'],
  [{ name: Symbol('s') }, 'type', 'options.name'],
  [{ defaultHoldTimeout: 0 }, 'range', 'options.defaultHoldTimeout'],
  [{ defaultHoldTimeout: Number.NaN }, 'range', 'options.defaultHoldTimeout'],
  [{ defaultHoldTimeout: '5' }, 'type', 'options.defaultHoldTimeout'],
];

const BAD_NAMES: readonly [unknown, Kind][] = [
  ['', 'range'],
  ['n'.repeat(1025), 'range'],
  [undefined, 'type'],
  [null, 'type'],
  [12, 'type'],
  [{ toString: () => 'x' }, 'type'],
  [Symbol('name'), 'type'],
];

const BAD_FUNCTIONS: readonly unknown[] = [undefined, null, 'fn', 1, {}];

describe('bad input: typed errors, and the primitive stays usable', () => {
  it('Mutex', async () => {
    for (const [options, kind, name] of BAD_LOCK_OPTIONS) expectInvalid(() => new Mutex(options as never), kind, name);
    const mutex = new Mutex();
    for (const [options, kind, name] of BAD_ACQUIRE_OPTIONS) {
      await expectInvalidAsync(() => mutex.acquire(options as never), kind, name);
    }
    for (const fn of BAD_FUNCTIONS) await expectInvalidAsync(() => mutex.withLock(fn as never), 'type', 'fn');
    expect(mutex.isLocked).toBe(false);
    expect(mutex.waitersCount).toBe(0);
    // Bad input while held must not disturb the holder or the queue either.
    const lease = await mutex.acquire();
    for (const [options, kind, name] of BAD_ACQUIRE_OPTIONS) {
      await expectInvalidAsync(() => mutex.acquire(options as never), kind, name);
    }
    expect(mutex.waitersCount).toBe(0);
    lease.release();
    (await mutex.acquire({ timeout: 0 })).release();
  });

  it('ReentrantMutex', async () => {
    for (const [options, kind, name] of BAD_LOCK_OPTIONS)
      expectInvalid(() => new ReentrantMutex(options as never), kind, name);
    const mutex = new ReentrantMutex();
    for (const [options, kind, name] of BAD_ACQUIRE_OPTIONS) {
      const withOwner =
        typeof options === 'object' && options !== null && !Array.isArray(options)
          ? { owner: 'o', ...options }
          : options;
      await expectInvalidAsync(() => mutex.acquire(withOwner as never), kind, name);
    }
    await expectInvalidAsync(() => mutex.acquire({}), 'type', 'options.owner');
    await expectInvalidAsync(() => mutex.tryAcquire({ owner: 'o', holdTimeout: -1 }), 'range', 'options.holdTimeout');
    expectInvalid(() => mutex.tryAcquireSync('x' as never), 'type', 'options');
    expectInvalid(() => mutex.forOwner(undefined), 'type', 'owner');
    for (const fn of BAD_FUNCTIONS)
      await expectInvalidAsync(() => mutex.withLock(fn as never, { owner: 'o' }), 'type', 'fn');
    expect(mutex.isLocked).toBe(false);
    (await mutex.acquire({ owner: 'o' })).release();
  });

  it('ReadWriteLock', async () => {
    for (const [options, kind, name] of BAD_LOCK_OPTIONS)
      expectInvalid(() => new ReadWriteLock(options as never), kind, name);
    expectInvalid(() => new ReadWriteLock({ policy: 'fastest' as never }), 'range', 'options.policy');
    expectInvalid(() => new ReadWriteLock({ policy: 1 as never }), 'type', 'options.policy');
    const rw = new ReadWriteLock();
    for (const side of [rw.read, rw.write]) {
      for (const [options, kind, name] of BAD_ACQUIRE_OPTIONS) {
        await expectInvalidAsync(() => side.acquire(options as never), kind, name);
      }
      for (const fn of BAD_FUNCTIONS) await expectInvalidAsync(() => side.withLock(fn as never), 'type', 'fn');
    }
    expect(rw.isLocked).toBe(false);
    (await rw.write.acquire()).release();
    (await rw.read.acquire()).release();
  });

  it('LockManager', async () => {
    for (const [options, kind, name] of [
      ['x', 'type', 'options'],
      [{ defaultTimeout: -1 }, 'range', 'options.defaultTimeout'],
      [{ defaultTimeout: 'soon' }, 'type', 'options.defaultTimeout'],
      [{ defaultHoldTimeout: 0 }, 'range', 'options.defaultHoldTimeout'],
      [{ policy: 'random' }, 'range', 'options.policy'],
      [{ createLock: 'redis' }, 'type', 'options.createLock'],
    ] as const) {
      expectInvalid(() => new LockManager(options as never), kind, name);
    }
    const manager = new LockManager();
    for (const [name, kind] of BAD_NAMES) {
      await expectInvalidAsync(() => manager.acquire(name as never), kind, 'name');
      await expectInvalidAsync(() => manager.tryAcquire(name as never), kind, 'name');
      await expectInvalidAsync(() => manager.withLock(name as never, () => 1), kind, 'name');
      expectInvalid(() => manager.lock(name as never), kind, 'name');
      if (name !== undefined) expectInvalid(() => manager.stats(name as never), kind, 'name');
    }
    for (const [options, kind, name] of BAD_ACQUIRE_OPTIONS) {
      await expectInvalidAsync(() => manager.acquire('ok', options as never), kind, name);
      await expectInvalidAsync(() => manager.acquireAll(['ok'], options as never), kind, name);
    }
    for (const mode of ['both', 'SHARED', 1, null]) {
      const kind: Kind = typeof mode === 'string' ? 'range' : 'type';
      await expectInvalidAsync(() => manager.acquire('ok', { mode: mode as never }), kind, 'options.mode');
      await expectInvalidAsync(() => manager.tryAcquire('ok', { mode: mode as never }), kind, 'options.mode');
      expectInvalid(() => manager.lock('ok', { mode: mode as never }), kind, 'options.mode');
    }
    await expectInvalidAsync(() => manager.tryAcquire('ok', 'x' as never), 'type', 'options');
    await expectInvalidAsync(() => manager.tryAcquire('ok', { holdTimeout: -1 }), 'range', 'options.holdTimeout');
    for (const fn of BAD_FUNCTIONS) await expectInvalidAsync(() => manager.withLock('ok', fn as never), 'type', 'fn');
    await expectInvalidAsync(() => manager.lock('ok').acquire('x' as never), 'type', 'options');
    // Hostile but valid names are just names.
    for (const name of ['__proto__', 'constructor', 'toString', '\u0000', '🔒', 'a'.repeat(1024)]) {
      const lease = await manager.acquire(name);
      expect(lease.resource).toBe(name);
      lease.release();
    }
    expect(manager.size).toBe(0);
    expect(manager.stats()).toMatchObject({ holders: 0, waiters: 0, names: 0 });
  });

  it('runAsOwner', () => {
    for (const fn of BAD_FUNCTIONS) expectInvalid(() => runAsOwner(fn as never), 'type', 'fn');
    expectInvalid(() => runAsOwner(() => 1, null), 'type', 'owner');
    expect(runAsOwner(() => 5)).toBe(5);
  });
});
