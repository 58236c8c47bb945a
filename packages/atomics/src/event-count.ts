import { checkAcquireOptions, checkTimeout } from '@cf/core';
import { notifyWaiters, waitBlocking, withSignal } from './internal/async-wait.js';
import { PendingWait } from './pending-wait.js';
import { checkCount, checkInt32 } from './internal/checks.js';
import { checkRegion, type Placement, placeRegion, type RegionHandle } from './region.js';

/** An `EventCount` as posted to a worker. */
export interface EventCountHandle extends RegionHandle {}

/** Options of {@link EventCount.waitAsync}. */
export interface EventWaitOptions {
  /** Milliseconds to wait before resolving `false` (default: no limit). */
  timeout?: number | undefined;
  /** Stop waiting: the promise rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

const EPOCH = 0;
const WAITERS = 1;
const ABANDONED = 2;
const BYTES = 12;
const ALIGNMENT = 4;
const SPINS = 50;

let attaching: RegionHandle | undefined;

/** Unchecked entry points for this package's structures, which validate at their own boundary. */
export interface EventCountInternals {
  waitSync(events: EventCount, key: number, timeout: number): boolean;
  waitAsync(events: EventCount, key: number, timeout: number, signal: AbortSignal | undefined): Promise<boolean>;
  notify(events: EventCount, count: number): number;
}
/** Not exported from the package entry. */
export let eventCountInternals: EventCountInternals;

/**
 * An event count: lets threads sleep until "something changed" without a lock, and lets the
 * side that changes things skip the wake-up entirely while nobody sleeps (one shared read).
 * The waiting side registers, re-checks its condition, and only then sleeps:
 *
 * ```ts
 * for (;;) {
 *   if (tryTake()) break;
 *   const key = events.prepareWait();
 *   if (tryTake()) { events.cancelWait(); break; }
 *   events.waitSync(key);            // or: await events.waitAsync(key)
 * }
 * // the other side: publish(); events.notify();
 * ```
 *
 * A notify that lands between `prepareWait` and the wait makes the wait return at once, so no
 * wake-up is lost. Layout: 12 bytes, 4-aligned: epoch, registered waiters, abandoned async waits.
 *
 * @example
 * ```ts
 * const events = new EventCount();
 * worker.postMessage(events.handle);   // worker: EventCount.from(h)
 * ```
 */
export class EventCount {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = ALIGNMENT;
  readonly #handle: EventCountHandle;
  readonly #array: Int32Array;

  static {
    eventCountInternals = {
      waitSync: (events, key, timeout) => events.#waitSync(key, timeout),
      waitAsync: (events, key, timeout, signal) => events.#waitAsync(key, timeout, signal),
      notify: (events, count) => events.#notify(count),
    };
  }

  /**
   * Bytes an `EventCount` occupies.
   * @returns 12
   * @example `const bytes = EventCount.byteLength()`
   */
  static byteLength(): number {
    return BYTES;
  }

  /**
   * Rebuilds an event count from its handle, e.g. in a worker.
   * @param handle - `events.handle` as posted
   * @returns an event count on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const events = EventCount.from(workerData.events)`
   */
  static from(handle: EventCountHandle): EventCount {
    attaching = checkRegion(handle, 'handle', BYTES, ALIGNMENT);
    return new EventCount();
  }

  /**
   * Creates an event count in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad placement
   * @example `const events = new EventCount()`
   */
  constructor(options?: Placement) {
    const attached = attaching;
    attaching = undefined;
    const region = attached ?? placeRegion(options, BYTES, ALIGNMENT);
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset };
    this.#array = new Int32Array(region.buffer, region.byteOffset, 3);
    if (attached === undefined) this.#array.fill(0);
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): EventCountHandle {
    return this.#handle;
  }

  /** Bytes this event count occupies (12). */
  get byteLength(): number {
    return BYTES;
  }

  /** Threads currently registered as waiting (between `prepareWait` and the end of their wait). */
  get waitersCount(): number {
    return Atomics.load(this.#array, WAITERS);
  }

  /**
   * Registers this thread as about to wait. Re-check the condition after this call; then either
   * wait with the returned key or call `cancelWait()`.
   * @returns the key to pass to `waitSync` / `waitAsync`
   * @example `const key = events.prepareWait()`
   */
  prepareWait(): number {
    Atomics.add(this.#array, WAITERS, 1);
    return Atomics.load(this.#array, EPOCH);
  }

  /**
   * Withdraws a registration made by `prepareWait()` without waiting.
   * @example `if (tryTake()) { events.cancelWait(); return; }`
   */
  cancelWait(): void {
    Atomics.sub(this.#array, WAITERS, 1);
  }

  /**
   * Blocks until a notify after `prepareWait()` (returns at once if one already happened) or
   * `timeout`. Ends the registration.
   * @param key - from `prepareWait()`
   * @param timeout - milliseconds (default: no limit)
   * @returns `false` when the time limit passed, `true` otherwise (re-check the condition)
   * @throws TypeError where blocking is not allowed; TypeError / RangeError for bad arguments
   * @example `events.waitSync(key, 100)`
   */
  waitSync(key: number, timeout: number = Number.POSITIVE_INFINITY): boolean {
    checkInt32(key, 'key');
    checkTimeout(timeout, 'timeout');
    return this.#waitSync(key, timeout);
  }

  /**
   * Waits without blocking until a notify after `prepareWait()` or the time limit. Ends the
   * registration. The event loop is kept alive while the wait is pending.
   * @param key - from `prepareWait()`
   * @param options - `timeout` (ms) and `signal`
   * @returns `false` when the time limit passed, `true` otherwise
   * @throws rejects with `signal.reason` on abort; TypeError / RangeError for bad arguments
   * @example `await events.waitAsync(key, { signal })`
   */
  waitAsync(key: number, options?: EventWaitOptions): Promise<boolean> {
    try {
      checkInt32(key, 'key');
      checkAcquireOptions(options);
    } catch (error) {
      this.cancelWait();
      return Promise.reject(error);
    }
    return this.#waitAsync(key, options?.timeout ?? Number.POSITIVE_INFINITY, options?.signal);
  }

  #waitSync(key: number, timeout: number): boolean {
    try {
      return waitBlocking(this.#array, EPOCH, key, timeout, SPINS) !== 'timed-out';
    } finally {
      Atomics.sub(this.#array, WAITERS, 1);
    }
  }

  #waitAsync(key: number, timeout: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) {
      this.cancelWait();
      return Promise.reject(signal.reason);
    }
    return withSignal(this.#park(key, timeout), signal).then((result) => result !== 'timed-out');
  }

  /**
   * Starts an async wait the caller can cancel without losing anyone's wake-up (the building
   * block for primitives that keep their own queue of waiters). Ends the registration when it
   * settles or is cancelled.
   * @param key - from `prepareWait()`
   * @param timeout - milliseconds (default: no limit); not validated, pass a checked value
   * @returns the pending wait
   * @example
   * ```ts
   * const wait = events.park(events.prepareWait());
   * wait.promise.then(retry);
   * ```
   */
  park(key: number, timeout: number = Number.POSITIVE_INFINITY): PendingWait {
    return this.#park(key, timeout);
  }

  #park(key: number, timeout: number): PendingWait {
    const array = this.#array;
    return new PendingWait(array, EPOCH, key, timeout, ABANDONED, () => Atomics.sub(array, WAITERS, 1));
  }

  /**
   * Wakes up to `count` waiters; costs one shared read when nobody waits.
   * @param count - how many (default 1; `Infinity` for all)
   * @returns how many were woken
   * @throws TypeError / RangeError for a bad count
   * @example `queue.publish(item); events.notify();`
   */
  notify(count = 1): number {
    return this.#notify(checkCount(count));
  }

  /**
   * Wakes every waiter.
   * @returns how many were woken
   * @example `closed = true; events.notifyAll();`
   */
  notifyAll(): number {
    return this.#notify(Number.POSITIVE_INFINITY);
  }

  #notify(count: number): number {
    const array = this.#array;
    if (Atomics.load(array, WAITERS) === 0) return 0;
    Atomics.add(array, EPOCH, 1);
    return notifyWaiters(array, EPOCH, ABANDONED, count);
  }
}
