import type { AcquireOptions, Lease, Lock } from '@cf/core';
import { invalidArgument, NotHeldError, observing, semaphoreAsLock, WaitQueue } from '@cf/core';
import {
  checkPrimitiveOptions,
  nextId,
  type PrimitiveOptions,
  rejectBadWaitOptions,
  reportPass,
} from './internal/options.js';
import { Semaphore } from './semaphore.js';

// Each wait queues a fresh token, so that a wait whose release failed can find and remove its own waiter.
type WaitToken = object;

const ignore = (): void => {};

/**
 * A condition variable bound to one lock: holders of the lock wait for a state change with
 * `wait(lease)`, which gives up the lease, waits for `notify()`/`notifyAll()`, and re-acquires
 * the lock before resolving with the new lease.
 *
 * The condition learns its lock from the constructor: any `Lock` (a `Mutex`, a `ReentrantMutex`,
 * the write side of a `ReadWriteLock`, a distributed lock), or, with none given, a private
 * `Semaphore(1)` exposed as `condition.lock`.
 *
 * Timeouts and aborts differ from Java's `Condition.await`, which re-acquires the lock before
 * throwing: here a `wait()` that rejects has given up the lock and holds nothing. A lease that
 * came back only inside an error would be held forever by any caller that did not look for it,
 * while the usual `finally { await lease.release(); }` on the old lease stays correct. Once
 * notified, a waiter re-acquires without its `timeout` (as in Java, the notification is not
 * lost to a timer) but still honours its `signal`; if the signal aborts then, the notification
 * is passed to the next waiter. As with every condition variable, re-check the predicate in a
 * loop: another holder may run between the notification and the re-acquisition.
 *
 * @example
 * ```ts
 * const mutex = new Mutex();
 * const nonEmpty = new Condition(mutex);
 * const items: string[] = [];
 *
 * async function take(): Promise<string> {
 *   let lease = await mutex.acquire();
 *   try {
 *     while (items.length === 0) lease = await nonEmpty.wait(lease, { timeout: 5_000 });
 *     return items.shift()!;
 *   } finally {
 *     await lease.release();
 *   }
 * }
 * async function put(item: string): Promise<void> {
 *   await using _lease = await mutex.acquire();
 *   items.push(item);
 *   nonEmpty.notify();
 * }
 * ```
 */
export class Condition {
  readonly #lock: Lock;
  readonly #name: string;
  readonly #queue: WaitQueue<WaitToken, void>;

  /**
   * @param lock - the lock whose leases `wait()` gives up and re-acquires; default: a new
   *   `Semaphore(1)` used as a lock
   * @param options - `name`
   * @throws TypeError (code `ERR_CF_INVALID_ARG`) if `lock` is not a Lock, or for a bad option
   * @example
   * ```ts
   * const condition = new Condition(mutex, { name: 'queue-not-empty' });
   * ```
   */
  constructor(lock?: Lock, options?: PrimitiveOptions) {
    if (lock !== undefined && (typeof lock !== 'object' || lock === null || typeof lock.acquire !== 'function')) {
      throw invalidArgument('type', 'lock', lock, 'a Lock (an object with acquire()) or undefined');
    }
    this.#name = checkPrimitiveOptions(options) ?? `condition#${nextId()}`;
    this.#lock = lock ?? semaphoreAsLock(new Semaphore(1, { name: `${this.#name}.lock` }));
    this.#queue = new WaitQueue({ resource: this.#name, lock: this, mode: 'condition' });
  }

  /** The resource name reported in errors and events. */
  get name(): string {
    return this.#name;
  }

  /** The lock that `wait()` releases and re-acquires. */
  get lock(): Lock {
    return this.#lock;
  }

  /** Number of callers waiting for a notification (not counting those re-acquiring the lock). */
  get waitersCount(): number {
    return this.#queue.size;
  }

  /**
   * Gives up `lease`, waits for a notification, then re-acquires the lock. The waiter is queued
   * before the lease is released, so a notification sent by the next holder is never missed.
   * @param lease - a held lease of this condition's lock
   * @param options - `signal` and `timeout` limit the wait for a notification (`signal` also the
   *   re-acquisition); `priority` orders both the notifications and the re-acquisition; `owner`
   *   is passed to the lock
   * @returns the new lease on the lock
   * @throws rejects, holding no lease, with `TimeoutError` or `signal.reason`; with
   *   `NotHeldError` if `lease` was already released; with what the lock's `release()` or
   *   `acquire()` rejects with; with a TypeError/RangeError (code `ERR_CF_INVALID_ARG`) for a bad
   *   argument (the lease is then kept)
   * @example
   * ```ts
   * while (!ready) lease = await condition.wait(lease, { signal });
   * ```
   */
  wait(lease: Lease, options?: AcquireOptions): Promise<Lease> {
    if (
      typeof lease !== 'object' ||
      lease === null ||
      typeof lease.release !== 'function' ||
      typeof lease.released !== 'boolean'
    ) {
      return Promise.reject(invalidArgument('type', 'lease', lease, "a held Lease of the condition's lock"));
    }
    const bad = rejectBadWaitOptions(options);
    if (bad !== undefined) return bad;
    if (lease.released) {
      return Promise.reject(new NotHeldError(`${this.#name}.wait() needs a held lease`, lease.resource));
    }
    const token: WaitToken = {};
    const notified = this.#queue.enqueue(token, options);
    // The outcome is awaited only after the release settles; a rejection meanwhile is not unhandled.
    notified.then(undefined, ignore);
    let released: Promise<void>;
    try {
      released = lease.release();
    } catch (error) {
      released = Promise.reject(error);
    }
    return this.#resume(token, notified, released, options);
  }

  /**
   * Wakes the first waiter (by priority, then arrival).
   * @returns `true` if a waiter was woken
   * @example
   * ```ts
   * items.push(item); nonEmpty.notify();
   * ```
   */
  notify(): boolean {
    const waiter = this.#queue.first;
    if (waiter === undefined) return false;
    if (observing) reportPass(this, this.#name, 'condition', waiter.owner, waiter.enqueuedAt);
    this.#queue.grant(waiter, undefined);
    return true;
  }

  /**
   * Wakes every waiter; they re-acquire the lock one at a time.
   * @returns how many were woken
   * @example
   * ```ts
   * shuttingDown = true; stateChanged.notifyAll();
   * ```
   */
  notifyAll(): number {
    let woken = 0;
    while (this.notify()) woken++;
    return woken;
  }

  async #resume(
    token: WaitToken,
    notified: Promise<void>,
    released: Promise<void>,
    options: AcquireOptions | undefined,
  ): Promise<Lease> {
    try {
      await released;
    } catch (error) {
      // Whether the lock is still held is unknown; stop waiting so no notification goes to a caller that failed.
      for (const waiter of this.#queue) {
        if (waiter.request === token) {
          this.#queue.reject(waiter, error);
          break;
        }
      }
      throw error;
    }
    await notified;
    const reacquire =
      options === undefined ? undefined : { signal: options.signal, priority: options.priority, owner: options.owner };
    try {
      return await this.#lock.acquire(reacquire);
    } catch (error) {
      // This waiter consumed a notification it cannot act on: hand it on rather than lose it.
      this.notify();
      throw error;
    }
  }
}
