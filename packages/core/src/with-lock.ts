import type { AcquireOptions, Lease, Lock, Semaphore } from './contracts.js';
import { checkFunction, checkInteger, invalidArgument } from './validation.js';

/**
 * Runs `fn` while holding `lock`, and releases it however `fn` ends.
 * `fn` receives the lease: pass `lease.signal` to work that must stop if the lease is lost.
 * @param lock - any `Lock`
 * @param fn - the critical section
 * @param options - how to wait
 * @returns what `fn` returns
 * @throws rejects with TypeError (`ERR_CF_INVALID_ARG`) if `lock` is not a Lock or `fn` not a
 *   function; otherwise with what `acquire`, `fn` or `release` throws
 * @example
 * ```ts
 * const total = await withLock(mutex, async (lease) => { balance += 10; return balance; }, { timeout: 1000 });
 * ```
 */
export async function withLock<T>(
  lock: Lock,
  fn: (lease: Lease) => T | Promise<T>,
  options?: AcquireOptions,
): Promise<Awaited<T>> {
  if (typeof lock !== 'object' || lock === null || typeof (lock as Lock).acquire !== 'function') {
    throw invalidArgument('type', 'lock', lock, 'a Lock (an object with acquire())');
  }
  checkFunction(fn, 'fn');
  const lease = await lock.acquire(options);
  try {
    return await fn(lease);
  } finally {
    await lease.release();
  }
}

/**
 * Runs `fn` while holding `permits` of `semaphore`, and returns them however `fn` ends.
 * @param semaphore - any `Semaphore`
 * @param permits - how many permits
 * @param fn - the guarded work
 * @param options - how to wait
 * @returns what `fn` returns
 * @throws rejects with TypeError (`ERR_CF_INVALID_ARG`) if `semaphore` is not a Semaphore or
 *   `fn` not a function; otherwise with what `acquire`, `fn` or `release` throws
 * @example
 * ```ts
 * await withPermits(connections, 1, () => fetchPage(url), { signal });
 * ```
 */
export async function withPermits<T>(
  semaphore: Semaphore,
  permits: number,
  fn: (lease: Lease) => T | Promise<T>,
  options?: AcquireOptions,
): Promise<Awaited<T>> {
  checkSemaphore(semaphore);
  checkFunction(fn, 'fn');
  const lease = await semaphore.acquire(permits, options);
  try {
    return await fn(lease);
  } finally {
    await lease.release();
  }
}

/**
 * Presents `permits` of a semaphore as a `Lock`, so anything written for a `Lock` (including
 * the conformance suite) can use it.
 * @param semaphore - any `Semaphore`
 * @param permits - permits per acquisition (default 1)
 * @returns a `Lock` whose leases each hold `permits`
 * @throws TypeError / RangeError (`ERR_CF_INVALID_ARG`) if `semaphore` is not a Semaphore or
 *   `permits` is not a positive safe integer
 * @example
 * ```ts
 * await withLock(semaphoreAsLock(new Semaphore(1)), () => work());
 * ```
 */
export function semaphoreAsLock(semaphore: Semaphore, permits = 1): Lock {
  checkSemaphore(semaphore);
  checkInteger(permits, 'permits', 1, Number.MAX_SAFE_INTEGER);
  return {
    acquire: (options) => semaphore.acquire(permits, options),
    tryAcquire: () => semaphore.tryAcquire(permits),
  };
}

function checkSemaphore(semaphore: unknown): void {
  if (
    typeof semaphore !== 'object' ||
    semaphore === null ||
    typeof (semaphore as Semaphore).acquire !== 'function' ||
    typeof (semaphore as Semaphore).tryAcquire !== 'function'
  ) {
    throw invalidArgument('type', 'semaphore', semaphore, 'a Semaphore (an object with acquire() and tryAcquire())');
  }
}
