import { blockingTimeout, Futex, type NamedPlacement, placeNamedRegion } from '@cf/atomics';
import type { AcquireOptions, Lease, Lock } from '@cf/core';
import { checkAcquireOptions, invalidArgument, observing, resolveOwner, TimeoutError } from '@cf/core';
import type { SharedPrimitiveHandle } from './options.js';
import { attachPrimitive, SharedPrimitive, takeAttachedPrimitive } from './shared-primitive.js';
import { type Observed, reportGaveUp, reportPassed, reportWait } from './waiting.js';

/** A `SharedCondition` as posted to a worker. */
export interface SharedConditionHandle extends SharedPrimitiveHandle {}

/** Options of the `SharedCondition` constructor: `name` (default `shared-condition#<n>`) and placement. */
export interface SharedConditionOptions extends NamedPlacement {}

/**
 * The lock a `SharedCondition` works with: any `Lock` for `wait`, and for `waitSync` also the
 * blocking `lockSync` / `unlock` of a shared lock (a `SharedMutex` of @cf/locks has both).
 */
export interface SharedConditionLock extends Lock {
  /** Blocking lock, as `SharedMutex.lockSync`. */
  lockSync?(timeout?: number): boolean;
  /** Releases a `lockSync` hold, as `SharedMutex.unlock`. */
  unlock?(): void;
}

const BYTES = 8;

/**
 * A condition variable in shared memory (the futex condition variable of Rust's standard
 * library): a sequence number that `notify` increments and wakes on. A waiter reads it, gives up
 * the lock, sleeps until it changes, and takes the lock again, so a notify between the release
 * and the sleep is never lost. Each handle is bound to its thread's handle on the same lock:
 * `new SharedCondition(mutex)` and, in a worker, `SharedCondition.from(handle, SharedMutex.from(mutexHandle))`.
 *
 * `waitSync(timeout)` works with a `lockSync` hold and re-takes the lock before returning (also on
 * timeout, like `pthread_cond_timedwait`). `wait(lease)` works with leases: it resolves with a new
 * lease; on timeout or abort it rejects holding nothing (as the in-process `Condition`). Wake-ups
 * may be spurious: re-check the predicate in a loop. Waits are reported to core's observers
 * (mode `'condition'`): `wait` when a waiter starts sleeping, `acquired` then `released` when it is
 * notified, `timeout` or `aborted` when it gives up.
 *
 * Layout: 8 bytes, 4-aligned (sequence number, abandoned async waits).
 *
 * @example
 * ```ts
 * // worker
 * mutex.lockSync();
 * try { while (queue.isEmpty) nonEmpty.waitSync(); take(); } finally { mutex.unlock(); }
 * ```
 */
export class SharedCondition extends SharedPrimitive<SharedConditionHandle> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;
  /** The lock this handle releases and re-takes. */
  readonly lock: SharedConditionLock;
  readonly #futex: Futex;
  readonly #observed: Observed = { primitive: this, mode: 'condition' };

  /**
   * Bytes a `SharedCondition` occupies.
   * @returns 8
   * @example `SharedCondition.byteLength()`
   */
  static byteLength(): number {
    return BYTES;
  }

  /**
   * Rebuilds the condition from its handle, bound to this thread's handle on the lock.
   * @param handle - `condition.handle` as posted
   * @param lock - this thread's handle on the condition's lock
   * @returns a condition on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const ready = SharedCondition.from(workerData.ready, SharedMutex.from(workerData.mutex))`
   */
  static from(handle: SharedConditionHandle, lock: SharedConditionLock): SharedCondition {
    attachPrimitive(handle, BYTES, 4);
    return new SharedCondition(lock);
  }

  /**
   * Creates a condition in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param lock - the lock whose holders wait (a `SharedMutex`, or any `Lock` for `wait` only)
   * @param options - `name` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const nonEmpty = new SharedCondition(mutex)`
   */
  constructor(lock: SharedConditionLock, options?: SharedConditionOptions) {
    const attached = takeAttachedPrimitive<SharedConditionHandle>();
    if (typeof lock !== 'object' || lock === null || typeof lock.acquire !== 'function') {
      throw invalidArgument('type', 'lock', lock, 'a Lock (a SharedMutex or an object with acquire())');
    }
    super(attached ?? placeNamedRegion(options, 'shared-condition', BYTES, 4), BYTES);
    this.lock = lock;
    const { buffer, byteOffset } = this.handle;
    this.#futex = attached === undefined ? new Futex(0, { buffer, byteOffset }) : Futex.from({ buffer, byteOffset });
  }

  /**
   * Releases the `lockSync` hold, blocks until notified (or `timeout`), and re-takes the lock.
   * @param timeout - milliseconds (default: no limit)
   * @returns `false` when the time limit passed without a notify (the lock is held again either way)
   * @throws TypeError when the lock has no `lockSync`/`unlock`; what `unlock` throws when not held
   * @example `while (!ready()) condition.waitSync(1000)`
   */
  waitSync(timeout?: number): boolean {
    const limit = blockingTimeout(timeout);
    const { lockSync, unlock } = this.lock;
    if (typeof lockSync !== 'function' || typeof unlock !== 'function') {
      throw invalidArgument('type', 'condition.lock', this.lock, 'a lock with lockSync() and unlock() (a SharedMutex)');
    }
    const owner = observing ? resolveOwner(undefined) : undefined;
    const sequence = this.#futex.load();
    unlock.call(this.lock);
    const waitStart = observing ? reportWait(this.#observed, owner) : 0;
    let result: string;
    try {
      result = this.#futex.waitSync(sequence, limit);
    } finally {
      lockSync.call(this.lock);
    }
    const notified = result !== 'timed-out';
    if (observing) {
      if (notified) reportPassed(this.#observed, owner, waitStart);
      else reportGaveUp('timeout', this.#observed, owner, waitStart, undefined);
    }
    return notified;
  }

  /**
   * Gives up `lease`, waits without blocking until notified, and takes the lock again.
   * @param lease - a lease on this condition's lock
   * @param options - `timeout` and `signal` apply to waiting for the notify; `priority` and
   *   `owner` to re-taking the lock
   * @returns a new lease on the lock
   * @throws rejects with `TimeoutError` or `signal.reason`, holding nothing; or with what
   *   `lease.release()` or `lock.acquire()` throw
   * @example `lease = await condition.wait(lease, { timeout: 5_000 })`
   */
  async wait(lease: Lease, options?: AcquireOptions): Promise<Lease> {
    checkAcquireOptions(options);
    if (typeof lease !== 'object' || lease === null || typeof lease.release !== 'function') {
      throw invalidArgument('type', 'lease', lease, 'a Lease of the condition lock');
    }
    const sequence = this.#futex.load();
    await lease.release();
    const owner = observing ? resolveOwner(options?.owner) : undefined;
    const waitStart = observing ? reportWait(this.#observed, owner) : 0;
    const timeout = options?.timeout ?? Number.POSITIVE_INFINITY;
    let result: string;
    try {
      result = await this.#futex.waitAsync(sequence, {
        timeout,
        ...(options?.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (reason) {
      if (observing) reportGaveUp('aborted', this.#observed, owner, waitStart, reason);
      throw reason;
    }
    if (result === 'timed-out') {
      const error = new TimeoutError(`Timed out after ${timeout} ms waiting on ${this.name}`, timeout);
      if (observing) reportGaveUp('timeout', this.#observed, owner, waitStart, error);
      throw error;
    }
    if (observing) reportPassed(this.#observed, owner, waitStart);
    // Once notified, the lock is re-taken without the time limit (the notify is not lost to a timer).
    return this.lock.acquire(options === undefined ? undefined : { ...options, timeout: undefined });
  }

  /**
   * Wakes one waiter (blocking or async). Call it while holding the lock, after changing the state.
   * @returns `true` when a waiting thread was woken
   * @example `items.push(x); nonEmpty.notify();`
   */
  notify(): boolean {
    this.#futex.add(1);
    return this.#futex.notify(1) > 0;
  }

  /**
   * Wakes every waiter.
   * @returns how many waiting threads were woken
   * @example `closed = true; changed.notifyAll();`
   */
  notifyAll(): number {
    this.#futex.add(1);
    return this.#futex.notify(Number.POSITIVE_INFINITY);
  }
}
