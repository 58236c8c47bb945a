import { isTimeoutError } from '@cf/core';
import { describe, expect, it } from 'vitest';
import { type SharedReadWriteLease, SharedReadWriteLock } from '../../src/shared/shared-read-write-lock.js';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe('SharedReadWriteLock in one thread', () => {
  it('readers share, a writer excludes both sides', async () => {
    const rw = new SharedReadWriteLock();
    const other = SharedReadWriteLock.from(rw.handle);
    const a = await rw.read.acquire();
    const b = await other.read.acquire();
    expect(rw.readersCount).toBe(2);
    expect(await other.write.tryAcquire()).toBeUndefined();
    await a.release();
    await b.release();
    const writer = await other.write.acquire();
    expect(rw.isWriteLocked).toBe(true);
    expect(rw.read.tryLockSync()).toBe(false);
    expect(await rw.read.tryAcquire()).toBeUndefined();
    await writer.release();
    expect(rw.isLocked).toBe(false);
    expect(b.token).toBeGreaterThan(a.token);
    expect(writer.token).toBeGreaterThan(b.token);
  });

  it('a waiting writer holds back new readers (write-preferring), and readers follow it', async () => {
    const rw = new SharedReadWriteLock();
    const other = SharedReadWriteLock.from(rw.handle);
    const reader = await rw.read.acquire();
    const order: string[] = [];
    const writer = other.write.acquire().then((lease) => {
      order.push('writer');
      return lease;
    });
    await tick();
    const lateReader = other.read.acquire().then((lease) => {
      order.push('late reader');
      return lease;
    });
    await tick();
    expect(order).toEqual([]);
    await reader.release();
    const writeLease = await writer;
    await tick();
    expect(order).toEqual(['writer']);
    await writeLease.release();
    await (await lateReader).release();
    expect(order).toEqual(['writer', 'late reader']);
  });

  it('readers queued behind a writer time out, abort, and keep their priority order', async () => {
    const rw = new SharedReadWriteLock();
    const other = SharedReadWriteLock.from(rw.handle);
    const writer = rw.write.acquireSync();
    const timedOut = await other.read.acquire({ timeout: 10 }).catch((e: unknown) => e);
    expect(isTimeoutError(timedOut)).toBe(true);
    const controller = new AbortController();
    const aborted = other.read.acquire({ signal: controller.signal });
    controller.abort(new Error('cancelled'));
    await expect(aborted).rejects.toThrow('cancelled');
    const order: number[] = [];
    const served = (priority: number) => (lease: SharedReadWriteLease) => {
      order.push(priority);
      return lease;
    };
    const low = other.write.acquire({ priority: 3 }).then(served(3));
    const high = other.write.acquire({ priority: 1 }).then(served(1));
    await tick();
    await writer.release();
    await (await high).release();
    await (await low).release();
    expect(order).toEqual([1, 3]);
    expect(rw.isLocked).toBe(false);
  });

  it('blocking forms: lockSync/unlock per side, self-deadlock and misuse are typed errors', () => {
    const rw = new SharedReadWriteLock();
    expect(rw.read.lockSync()).toBe(true);
    expect(rw.read.lockSync()).toBe(true);
    expect(() => rw.write.lockSync(0)).toThrow(expect.objectContaining({ code: 'ERR_CF_DEADLOCK' }));
    rw.read.unlock();
    rw.read.unlock();
    expect(() => rw.read.unlock()).toThrow(expect.objectContaining({ code: 'ERR_CF_NOT_HELD' }));
    expect(rw.write.lockSync(0)).toBe(true);
    expect(() => rw.read.lockSync()).toThrow(expect.objectContaining({ code: 'ERR_CF_DEADLOCK' }));
    expect(SharedReadWriteLock.from(rw.handle).read.lockSync(10)).toBe(false);
    rw.write.unlock();
    expect(() => rw.write.unlock()).toThrow(expect.objectContaining({ code: 'ERR_CF_NOT_HELD' }));
    expect(() => rw.read.lockSync(Number.NaN)).toThrow(RangeError);
    expect(() => new SharedReadWriteLock({ buffer: new SharedArrayBuffer(24), byteOffset: 4 })).toThrow(
      /multiple of 8/,
    );
  });
});
