import type { Lease, Lock } from '@cf/core';
import { withLock } from '@cf/core';
import type { SharedLockAcquireOptions } from './options.js';

/**
 * What `SharedMutex` and both sides of `SharedReadWriteLock` share on top of their own acquire
 * paths: the promise form of `tryAcquireSync`, and `withLock`.
 *
 * @typeParam L - the lease type
 * @example
 * ```ts
 * const total = await mutex.withLock(() => shared[0]);
 * ```
 */
export abstract class SharedLock<L extends Lease> implements Lock {
  /** The resource name, the same in every thread. */
  abstract readonly name: string;

  /**
   * Waits without blocking until the lock is available, then holds it.
   * @param options - `signal`, `timeout` (0: only if available now), `priority`, `owner`, `holdTimeout`
   * @returns the lease; release it once (further releases do nothing)
   * @throws rejects with `TimeoutError`, `signal.reason`, or TypeError / RangeError for bad options
   * @example `const lease = await lock.acquire({ timeout: 1000 })`
   */
  abstract acquire(options?: SharedLockAcquireOptions): Promise<L>;

  /**
   * Holds the lock if that needs no waiting, synchronously.
   * @returns the lease, or `undefined`
   * @example `const lease = lock.tryAcquireSync()`
   */
  abstract tryAcquireSync(): L | undefined;

  /**
   * Holds the lock if that needs no waiting; never waits.
   * @returns a promise of the lease, or of `undefined`
   * @example `const lease = await lock.tryAcquire()`
   */
  tryAcquire(): Promise<L | undefined> {
    return Promise.resolve(this.tryAcquireSync());
  }

  /**
   * Runs `fn` while holding the lock and releases it however `fn` ends.
   * @param fn - the critical section; receives the lease
   * @param options - as for `acquire`
   * @returns what `fn` returns
   * @throws what `acquire` or `fn` throws
   * @example `await lock.withLock(() => { shared[0]++; })`
   */
  withLock<T>(fn: (lease: Lease) => T | Promise<T>, options?: SharedLockAcquireOptions): Promise<Awaited<T>> {
    return withLock(this, fn, options);
  }
}
