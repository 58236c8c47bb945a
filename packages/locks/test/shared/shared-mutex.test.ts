import { ThreadRegistry } from '@cf/atomics';
import { addObserver, isDeadlockError, isNotHeldError, isTimeoutError, type LockEvent } from '@cf/core';
import { describe, expect, it } from 'vitest';
import { SharedMutex } from '../../src/shared/shared-mutex.js';

describe('SharedMutex in one thread', () => {
  it('lockSync / unlock: tokens increase, a second handle sees the hold, misuse throws typed errors', () => {
    const mutex = new SharedMutex({ name: 'ledger' });
    const other = SharedMutex.from(structuredClone(mutex.handle));
    expect(other.name).toBe('ledger');
    expect(mutex.lockSync()).toBe(true);
    const first = mutex.token;
    expect(other.isLocked).toBe(true);
    expect(other.tryLockSync()).toBe(false);
    expect(other.lockSync(10)).toBe(false);
    expect(() => mutex.lockSync()).toThrow(expect.objectContaining({ code: 'ERR_CF_DEADLOCK' }));
    expect(() => other.unlock()).toThrow(expect.objectContaining({ code: 'ERR_CF_NOT_HELD' }));
    mutex.unlock();
    expect(() => mutex.unlock()).toThrow(expect.objectContaining({ code: 'ERR_CF_NOT_HELD' }));
    expect(() => mutex.token).toThrow(expect.objectContaining({ code: 'ERR_CF_NOT_HELD' }));
    expect(other.tryLockSync()).toBe(true);
    expect(other.token).toBe(first + 1n);
    other.unlock();
    expect(mutex.isLocked).toBe(false);
  });

  it('a lease is released by release() only, once; unlock() does not release a lease', async () => {
    const mutex = new SharedMutex();
    const lease = mutex.acquireSync();
    expect(() => mutex.unlock()).toThrow(expect.objectContaining({ code: 'ERR_CF_NOT_HELD' }));
    await lease.release();
    const next = mutex.tryAcquireSync()!;
    await lease.release(); // the old lease must not end the new hold
    expect(mutex.isLocked).toBe(true);
    await next.release();
    expect(mutex.isLocked).toBe(false);
  });

  it('acquireSync times out with TimeoutError while another handle holds it', () => {
    const mutex = new SharedMutex();
    const other = SharedMutex.from(mutex.handle);
    mutex.lockSync();
    const started = performance.now();
    try {
      other.acquireSync(20);
      expect.unreachable();
    } catch (error) {
      expect(isTimeoutError(error)).toBe(true);
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(19);
    mutex.unlock();
  });

  it('takes over from a holder reported dead and says so, once', async () => {
    const registry = new ThreadRegistry({ slots: 4 });
    const mutex = new SharedMutex({ registry });
    // A holder in another thread: its owner id is written into the lock word, as its lockSync would.
    const slot = registry.reserve();
    const generation = new Int32Array(registry.handle.buffer, registry.handle.byteOffset)[4 + slot]! >>> 2;
    const words = new Int32Array(mutex.handle.buffer, mutex.handle.byteOffset, 4);
    Atomics.store(words, 0, ((generation << 10) | slot) << 1);
    expect(mutex.tryLockSync()).toBe(false);
    const waiting = mutex.acquire({ timeout: 5000 });
    registry.markDead(slot);
    const lease = await waiting;
    expect(lease.ownerDied).toBe(true);
    await lease.release();
    const next = await mutex.acquire();
    expect(next.ownerDied).toBe(false);
    await next.release();
  });

  it('reports acquired and released to observers, with the fencing token', async () => {
    const events: LockEvent[] = [];
    const stop = addObserver((event) => events.push(event));
    try {
      const mutex = new SharedMutex({ name: 'observed' });
      const lease = await mutex.acquire({ owner: 'task-1' });
      await lease.release();
      expect(events.map((e) => [e.type, e.resource, e.owner, e.token])).toEqual([
        ['acquired', 'observed', 'task-1', lease.token],
        ['released', 'observed', 'task-1', lease.token],
      ]);
    } finally {
      stop();
    }
  });

  it('reports queued waits without a permits count, with or without a hold limit', async () => {
    const events: LockEvent[] = [];
    const stop = addObserver((event) => events.push(event));
    try {
      const mutex = new SharedMutex({ name: 'queued' });
      const holder = mutex.acquireSync();
      const limited = mutex.acquire({ owner: 'limited', holdTimeout: 1_000, timeout: 5 }).catch((e: unknown) => e);
      const plain = mutex.acquire({ owner: 'plain' });
      expect(isTimeoutError(await limited)).toBe(true);
      await holder.release();
      await (await plain).release();
      const waits = events.filter((e) => e.type === 'wait' || e.type === 'timeout');
      expect(waits.map((e) => [e.type, e.owner, e.mode])).toEqual([
        ['wait', 'limited', 'exclusive'],
        ['wait', 'plain', 'exclusive'],
        ['timeout', 'limited', 'exclusive'],
      ]);
      expect(waits.every((e) => !('permits' in e))).toBe(true);
    } finally {
      stop();
    }
  });

  it('rejects bad input with typed errors and stays usable', async () => {
    const invalid = expect.objectContaining({ code: 'ERR_CF_INVALID_ARG' });
    expect(() => new SharedMutex({ name: '' })).toThrow(invalid);
    expect(() => new SharedMutex({ registry: {} as never })).toThrow(TypeError);
    expect(() => new SharedMutex({ buffer: new ArrayBuffer(16) as never })).toThrow(TypeError);
    expect(() => new SharedMutex({ buffer: new SharedArrayBuffer(8) })).toThrow(RangeError);
    expect(() => new SharedMutex({ buffer: new SharedArrayBuffer(32), byteOffset: 2 })).toThrow(/multiple of 4/);
    expect(() => new SharedMutex({ buffer: new SharedArrayBuffer(32), byteOffset: -4 })).toThrow(RangeError);
    expect(() => SharedMutex.from(undefined as never)).toThrow(TypeError);
    expect(() => SharedMutex.from({ buffer: new SharedArrayBuffer(16), byteOffset: 0 } as never)).toThrow(
      /handle.name/,
    );
    const mutex = new SharedMutex();
    expect(() => mutex.lockSync(-1)).toThrow(RangeError);
    expect(() => mutex.lockSync('1' as never)).toThrow(TypeError);
    await expect(mutex.acquire({ timeout: -1 })).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
    await expect(mutex.acquire({ holdTimeout: 0 })).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
    await expect(mutex.acquire('x' as never)).rejects.toThrow(TypeError);
    expect(mutex.isLocked).toBe(false);
    const lease = await mutex.acquire();
    expect(isDeadlockError(new Error())).toBe(false);
    await lease.release();
    expect(isNotHeldError(new Error())).toBe(false);
  });

  it('lays several mutexes out in one buffer', () => {
    const buffer = new SharedArrayBuffer(SharedMutex.byteLength() * 3);
    const mutexes = [0, 1, 2].map((i) => new SharedMutex({ buffer, byteOffset: i * SharedMutex.byteLength() }));
    mutexes[1]!.lockSync();
    expect(mutexes.map((m) => m.isLocked)).toEqual([false, true, false]);
    mutexes[1]!.unlock();
  });
});
