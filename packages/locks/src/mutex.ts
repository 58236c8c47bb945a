import type { Lease, LeaseTrace, Lock } from '@cf/core';
import { BaseLease, checkFunction, observing, resolveOwner, WaitQueue } from '@cf/core';
import {
  checkLockAcquireOptions,
  checkLockOptions,
  type HoldRequest,
  holdRequest,
  type LockAcquireOptions,
  type LockOptions,
  nextId,
} from './internal/options.js';

// Lets the lease reach the mutex's private unlock without exposing it on the public class.
let unlock: (mutex: Mutex) => void;

class MutexLease extends BaseLease {
  readonly #mutex: Mutex;

  constructor(mutex: Mutex, resource: string, fence: number, holdTimeout: number, trace: LeaseTrace | undefined) {
    super(resource, fence, trace);
    this.#mutex = mutex;
    if (holdTimeout !== 0) this.limitHoldTime(holdTimeout);
  }

  protected releaseHold(): void {
    unlock(this.#mutex);
  }
}

type Queue = WaitQueue<HoldRequest | undefined, Lease>;

/**
 * An async mutual-exclusion lock. One lease at a time; waiters are served by priority, then in
 * arrival order. A release hands the lock directly to the next waiter, so a caller arriving
 * between the release and the waiter's wake-up cannot take it (no barging), and no waiter is
 * ever forgotten (no lost wake-up).
 *
 * An uncontended `acquire()` costs about as much as awaiting a resolved promise: no closures,
 * no timers and no `AbortController` unless asked for.
 *
 * @example
 * ```ts
 * const mutex = new Mutex();
 * let balance = 100;
 * await mutex.withLock(async () => {
 *   const read = balance;
 *   await Promise.resolve();
 *   balance = read - 10;
 * });
 * ```
 */
export class Mutex implements Lock {
  #held = false;
  #fence = 0;
  #name: string | undefined;
  #holdTimeout: number;
  // Created at the first contention: an idle mutex stays a handful of fields.
  #queue: Queue | undefined = undefined;

  static {
    unlock = (mutex) => mutex.#unlock();
  }

  /**
   * @param options - `name` (reported in leases, errors and events) and `defaultHoldTimeout`
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad option
   */
  constructor(options?: LockOptions) {
    const checked = checkLockOptions(options);
    this.#name = checked.name;
    this.#holdTimeout = checked.holdTimeout;
  }

  /** The resource name: `options.name`, or a generated `mutex#<n>`. */
  get name(): string {
    return (this.#name ??= `mutex#${nextId()}`);
  }

  /** `true` while a lease is held. */
  get isLocked(): boolean {
    return this.#held;
  }

  /** Number of callers waiting in `acquire()`. */
  get waitersCount(): number {
    return this.#queue?.size ?? 0;
  }

  /**
   * Waits until the mutex is free, then holds it.
   * @param options - `signal`, `timeout` (0: only if free now), `priority`, `owner`, `holdTimeout`
   * @returns the lease; release it once (further releases do nothing)
   * @throws rejects with `TimeoutError`, with `signal.reason` on abort, or with a
   *   TypeError/RangeError (code `ERR_CF_INVALID_ARG`) for bad options
   * @example
   * ```ts
   * const lease = await mutex.acquire({ timeout: 1000 });
   * try { await work(); } finally { lease.release(); }
   * ```
   */
  acquire(options?: LockAcquireOptions): Promise<Lease> {
    if (options === undefined && !this.#held) {
      this.#held = true;
      return Promise.resolve(this.#lease(this.#holdTimeout, undefined, 0));
    }
    return this.#acquireSlow(options);
  }

  /**
   * Holds the mutex if it is free now; never waits.
   * @returns a promise of the lease, or of `undefined` when the mutex is held
   * @example
   * ```ts
   * const lease = await mutex.tryAcquire();
   * if (lease) { try { work(); } finally { lease.release(); } }
   * ```
   */
  tryAcquire(): Promise<Lease | undefined> {
    return Promise.resolve(this.tryAcquireSync());
  }

  /**
   * Holds the mutex if it is free now, synchronously; never waits.
   * @returns the lease, or `undefined` when the mutex is held
   * @example
   * ```ts
   * const lease = mutex.tryAcquireSync();
   * if (lease !== undefined) { try { counter++; } finally { lease.release(); } }
   * ```
   */
  tryAcquireSync(): Lease | undefined {
    if (this.#held) return undefined;
    this.#held = true;
    return this.#lease(this.#holdTimeout, undefined, 0);
  }

  /**
   * Runs `fn` while holding the mutex and releases it however `fn` ends.
   * @param fn - the critical section; receives the lease
   * @param options - as for {@link Mutex.acquire}
   * @returns what `fn` returns
   * @throws what `acquire` or `fn` throws; TypeError if `fn` is not a function
   * @example
   * ```ts
   * const next = await mutex.withLock(() => ++counter, { timeout: 100 });
   * ```
   */
  async withLock<T>(fn: (lease: Lease) => T | Promise<T>, options?: LockAcquireOptions): Promise<Awaited<T>> {
    checkFunction(fn, 'fn');
    const lease = await this.acquire(options);
    try {
      return await fn(lease);
    } finally {
      lease.release();
    }
  }

  #acquireSlow(options: LockAcquireOptions | undefined): Promise<Lease> {
    let holdTimeout: number | undefined;
    if (options !== undefined) {
      try {
        holdTimeout = checkLockAcquireOptions(options);
      } catch (error) {
        return Promise.reject(error);
      }
      // A pre-aborted signal fails even when the mutex is free; the queue rejects it and reports it.
      if (options.signal?.aborted) return this.#waitQueue().enqueue(undefined, options);
    }
    if (!this.#held) {
      this.#held = true;
      const owner = observing ? resolveOwner(options?.owner) : undefined;
      return Promise.resolve(this.#lease(holdTimeout ?? this.#holdTimeout, owner, 0));
    }
    return this.#waitQueue().enqueue(holdRequest(holdTimeout), options);
  }

  #waitQueue(): Queue {
    return (this.#queue ??= new WaitQueue({ resource: this.name, lock: this }));
  }

  #lease(holdTimeout: number, owner: unknown, waitStart: number): Lease {
    const trace = observing ? { lock: this, mode: 'exclusive', owner, waitStart } : undefined;
    return new MutexLease(this, this.#name ?? this.name, ++this.#fence, holdTimeout, trace);
  }

  #unlock(): void {
    const queue = this.#queue;
    const waiter = queue?.first;
    if (waiter === undefined) {
      this.#held = false;
      return;
    }
    // Direct hand-off: the mutex stays held and the waiter owns it from this moment.
    const request = waiter.request;
    const holdTimeout = request === undefined ? this.#holdTimeout : request.holdTimeout;
    queue!.grant(waiter, this.#lease(holdTimeout, waiter.owner, waiter.enqueuedAt));
  }
}
