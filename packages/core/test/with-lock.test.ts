import {
  type AcquireOptions,
  isInvalidArgumentError,
  type Lease,
  type Semaphore,
  semaphoreAsLock,
  TimeoutError,
  withLock,
  withPermits,
} from '@cf/core';
import { describe, expect, it } from 'vitest';
import { RefLock, rejectionOf, TestLease } from './helpers.js';

/** A semaphore stand-in that records what it was asked for. */
function recordingSemaphore(): Semaphore & {
  readonly calls: Array<[number | undefined, AcquireOptions | undefined]>;
  readonly leases: TestLease[];
} {
  const calls: Array<[number | undefined, AcquireOptions | undefined]> = [];
  const leases: TestLease[] = [];
  return {
    calls,
    leases,
    acquire(permits?: number, options?: AcquireOptions): Promise<Lease> {
      calls.push([permits, options]);
      const lease = new TestLease('sem', leases.length + 1);
      leases.push(lease);
      return Promise.resolve(lease);
    },
    tryAcquire(permits?: number): Promise<Lease | undefined> {
      calls.push([permits, undefined]);
      return Promise.resolve(undefined);
    },
  };
}

async function expectInvalidArgument(promise: Promise<unknown>, name: string): Promise<void> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(TypeError);
  expect(isInvalidArgumentError(error)).toBe(true);
  expect((error as Error).message).toMatch(new RegExp(`^Invalid ${name}: received `));
}

describe('withLock', () => {
  it('runs fn with the lease and returns its value, then releases', async () => {
    const lock = new RefLock();
    let seen: Lease | undefined;
    const value = await withLock(lock, async (lease) => {
      seen = lease;
      expect(lock.locked).toBe(true);
      return 42;
    });
    expect(value).toBe(42);
    expect(seen?.released).toBe(true);
    expect(lock.locked).toBe(false);
  });

  it('releases when fn throws (sync or async) and rethrows the same error', async () => {
    const lock = new RefLock();
    const failure = new Error('inside');
    expect(
      await rejectionOf(
        withLock(lock, () => {
          throw failure;
        }),
      ),
    ).toBe(failure);
    expect(lock.locked).toBe(false);
    expect(await rejectionOf(withLock(lock, async () => Promise.reject(failure)))).toBe(failure);
    expect(lock.locked).toBe(false);
  });

  it('serialises critical sections', async () => {
    const lock = new RefLock();
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withLock(lock, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await new Promise((resolve) => setImmediate(resolve));
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
  });

  it('passes options to acquire and does not call fn when acquiring fails', async () => {
    const lock = new RefLock();
    const holder = await lock.acquire();
    let called = false;
    const error = await rejectionOf(
      withLock(
        lock,
        () => {
          called = true;
        },
        { timeout: 0 },
      ),
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect(called).toBe(false);
    await holder.release();
    expect(lock.locked).toBe(false);
  });

  it('rejects bad arguments with typed errors and leaves the lock usable', async () => {
    const lock = new RefLock();
    for (const bad of [undefined, null, 'lock', 1, {}, { acquire: 1 }]) {
      await expectInvalidArgument(
        withLock(bad as never, () => 1),
        'lock',
      );
    }
    for (const bad of [undefined, null, 'fn', {}]) {
      await expectInvalidArgument(withLock(lock, bad as never), 'fn');
    }
    await expect(withLock(lock, () => 'still works')).resolves.toBe('still works');
  });
});

describe('withPermits', () => {
  it('acquires the permits with the options, runs fn, and releases even on throw', async () => {
    const semaphore = recordingSemaphore();
    const signal = new AbortController().signal;
    expect(await withPermits(semaphore, 3, (lease) => lease.token, { signal })).toBe(1n);
    expect(semaphore.calls).toEqual([[3, { signal }]]);
    const failure = new Error('inside');
    expect(
      await rejectionOf(
        withPermits(semaphore, 2, () => {
          throw failure;
        }),
      ),
    ).toBe(failure);
    expect(semaphore.leases.map((l) => l.holdReleases)).toEqual([1, 1]);
  });

  it('rejects bad arguments with typed errors', async () => {
    for (const bad of [undefined, null, 'sem', {}, { acquire() {} }]) {
      await expectInvalidArgument(
        withPermits(bad as never, 1, () => 1),
        'semaphore',
      );
    }
    await expectInvalidArgument(withPermits(recordingSemaphore(), 1, 'fn' as never), 'fn');
  });
});

describe('semaphoreAsLock', () => {
  it('presents permits of a semaphore as a Lock', async () => {
    const semaphore = recordingSemaphore();
    const lock = semaphoreAsLock(semaphore, 2);
    const options = { timeout: 5 };
    const lease = await lock.acquire(options);
    expect(await lock.tryAcquire()).toBeUndefined();
    expect(semaphore.calls).toEqual([
      [2, options],
      [2, undefined],
    ]);
    await lease.release();
    expect(await withLock(semaphoreAsLock(semaphore), () => 'ok')).toBe('ok');
    expect(semaphore.calls[2]).toEqual([1, undefined]);
  });

  it('throws at once for bad arguments', () => {
    for (const bad of [null, {}, 'sem']) expect(() => semaphoreAsLock(bad as never)).toThrow(TypeError);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => semaphoreAsLock(recordingSemaphore(), bad)).toThrow(RangeError);
    }
    expect(() => semaphoreAsLock(recordingSemaphore(), '1' as never)).toThrow(TypeError);
  });
});
