import {
  blockingTimeout,
  EventCount,
  type NamedPlacement,
  type PendingWait,
  placeNamedRegion,
  WaitLane,
} from '@cf/atomics';
import type { AcquireOptions, Lease, LeaseTrace, Semaphore } from '@cf/core';
import {
  BaseLease,
  checkAcquireOptions,
  checkInteger,
  observing,
  resolveOwner,
  TimeoutError,
  type Waiter,
  withPermits,
} from '@cf/core';
import type { SharedPrimitiveHandle } from './options.js';
import { attachPrimitive, SharedPrimitive, takeAttachedPrimitive } from './shared-primitive.js';
import { blockUntil } from './waiting.js';

/** A `SharedSemaphore` as posted to a worker. */
export interface SharedSemaphoreHandle extends SharedPrimitiveHandle {}

/** Options of the `SharedSemaphore` constructor: `name` (default `shared-semaphore#<n>`) and placement. */
export interface SharedSemaphoreOptions extends NamedPlacement {}

// Words: available permits, an EventCount, then the 64-bit fencing counter.
const PERMITS = 0;
const EVENTS_OFFSET = 4;
const TOKEN = 1; // BigInt64 index
const BYTES = 16;
const MAX_PERMITS = 2 ** 31 - 1;

let returnPermits: (semaphore: SharedSemaphore, permits: number) => void;

/**
 * A lease on permits of a {@link SharedSemaphore}.
 *
 * @example
 * ```ts
 * await using lease = await semaphore.acquire(2);
 * console.log(lease.permits);
 * ```
 */
export class SharedSemaphoreLease extends BaseLease {
  /** Permits held. */
  readonly permits: number;
  readonly #semaphore: SharedSemaphore;

  /** @internal */
  constructor(semaphore: SharedSemaphore, permits: number, fence: bigint, trace: LeaseTrace | undefined) {
    super(semaphore.name, fence, trace);
    this.#semaphore = semaphore;
    this.permits = permits;
  }

  protected releaseHold(): void {
    returnPermits(this.#semaphore, this.permits);
  }
}

/**
 * A counting semaphore in shared memory for worker threads: permits are taken with one
 * compare-and-swap, and waiters sleep on an event count that a release wakes (all of them, since
 * requests are weighted). Blocking forms for workers (`acquirePermitsSync`, `acquireSync`), the
 * core async `Semaphore` contract (`acquire(permits, options)`, served by priority then arrival
 * among the waiters of one handle), timeouts, abort signals and a fencing token per lease.
 *
 * Layout: 16 bytes, 8-aligned (permits, event count, fencing counter).
 *
 * @example
 * ```ts
 * const connections = new SharedSemaphore(4);
 * // worker: const s = SharedSemaphore.from(h); s.acquirePermitsSync(1); try { use(); } finally { s.releasePermits(1); }
 * await using lease = await connections.acquire(1, { timeout: 1_000 });
 * ```
 */
export class SharedSemaphore extends SharedPrimitive<SharedSemaphoreHandle> implements Semaphore {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 8;
  readonly #words: Int32Array;
  readonly #tokens: BigInt64Array;
  readonly #events: EventCount;
  #lane: WaitLane<number, SharedSemaphoreLease> | undefined = undefined;

  static {
    returnPermits = (semaphore, permits) => semaphore.#give(permits);
  }

  /**
   * Bytes a `SharedSemaphore` occupies.
   * @returns 16
   * @example `SharedSemaphore.byteLength()`
   */
  static byteLength(): number {
    return BYTES;
  }

  /**
   * Rebuilds the semaphore from its handle, e.g. in a worker.
   * @param handle - `semaphore.handle` as posted
   * @returns a semaphore on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const pool = SharedSemaphore.from(workerData.pool)`
   */
  static from(handle: SharedSemaphoreHandle): SharedSemaphore {
    attachPrimitive(handle, BYTES, 8);
    return new SharedSemaphore(0);
  }

  /**
   * Creates a semaphore in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param permits - initial permits, 0 to 2^31 - 1
   * @param options - `name` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const pool = new SharedSemaphore(8)`
   */
  constructor(permits: number, options?: SharedSemaphoreOptions) {
    const attached = takeAttachedPrimitive<SharedSemaphoreHandle>();
    if (attached === undefined) checkInteger(permits, 'permits', 0, MAX_PERMITS);
    super(attached ?? placeNamedRegion(options, 'shared-semaphore', BYTES, 8), BYTES);
    const { buffer, byteOffset } = this.handle;
    this.#words = new Int32Array(buffer, byteOffset, BYTES / 4);
    this.#tokens = new BigInt64Array(buffer, byteOffset, BYTES / 8);
    const events = { buffer, byteOffset: byteOffset + EVENTS_OFFSET };
    if (attached === undefined) {
      this.#events = new EventCount(events);
      Atomics.store(this.#words, PERMITS, permits);
    } else {
      this.#events = EventCount.from(events);
    }
  }

  /** Permits available now. */
  get availablePermits(): number {
    return Atomics.load(this.#words, PERMITS);
  }

  /** Number of callers waiting in `acquire()` on this handle. */
  get waitersCount(): number {
    return this.#lane?.size ?? 0;
  }

  /**
   * Takes `permits`, blocking the thread until they are available. No lease: give them back
   * with `releasePermits`. For workers.
   * @param permits - how many (default 1)
   * @param timeout - milliseconds (default: no limit)
   * @returns `false` when the time limit passed first
   * @throws TypeError / RangeError for bad arguments
   * @example `if (pool.acquirePermitsSync(1, 100)) try { use(); } finally { pool.releasePermits(1); }`
   */
  acquirePermitsSync(permits = 1, timeout?: number): boolean {
    if (permits === 1 && this.#take(1)) return true;
    checkInteger(permits, 'permits', 1, MAX_PERMITS);
    // No observer reports: permits taken this way are not a lease (`acquireSync` reports one).
    return blockUntil(() => this.#take(permits), this.#events, blockingTimeout(timeout), undefined);
  }

  /**
   * Gives back permits taken with `acquirePermitsSync` (or adds new ones) and wakes waiters.
   * @param permits - how many (default 1)
   * @throws TypeError / RangeError for a bad count, or when the total would exceed 2^31 - 1
   * @example `pool.releasePermits(1)`
   */
  releasePermits(permits = 1): void {
    checkInteger(permits, 'permits', 1, MAX_PERMITS - Atomics.load(this.#words, PERMITS));
    this.#give(permits);
  }

  /**
   * Waits without blocking for `permits`, then holds them.
   * @param permits - how many (default 1)
   * @param options - `signal`, `timeout`, `priority`, `owner`
   * @returns the lease
   * @throws rejects with `TimeoutError`, `signal.reason`, or TypeError / RangeError for bad arguments
   * @example `const lease = await pool.acquire(2, { timeout: 500 })`
   */
  acquire(permits = 1, options?: AcquireOptions): Promise<SharedSemaphoreLease> {
    try {
      checkInteger(permits, 'permits', 1, MAX_PERMITS);
      checkAcquireOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const lane = this.#lane;
    if ((lane === undefined || lane.size === 0) && options?.signal?.aborted !== true && this.#take(permits)) {
      return Promise.resolve(this.#lease(permits, observing ? resolveOwner(options?.owner) : undefined, 0));
    }
    return this.#waitLane().enqueue(permits, options);
  }

  /**
   * Holds `permits` if available now; never waits.
   * @param permits - how many (default 1)
   * @returns a promise of the lease, or of `undefined`
   * @throws rejects with TypeError / RangeError for a bad count
   * @example `const lease = await pool.tryAcquire()`
   */
  tryAcquire(permits = 1): Promise<SharedSemaphoreLease | undefined> {
    try {
      return Promise.resolve(this.tryAcquireSync(permits));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Holds `permits` if available now, synchronously; never waits.
   * @param permits - how many (default 1)
   * @returns the lease, or `undefined`
   * @throws TypeError / RangeError for a bad count
   * @example `const lease = pool.tryAcquireSync(1)`
   */
  tryAcquireSync(permits = 1): SharedSemaphoreLease | undefined {
    checkInteger(permits, 'permits', 1, MAX_PERMITS);
    if ((this.#lane?.size ?? 0) > 0 || !this.#take(permits)) return undefined;
    return this.#lease(permits, undefined, 0);
  }

  /**
   * Holds `permits`, blocking the thread until they are available. For workers.
   * @param permits - how many (default 1)
   * @param timeout - milliseconds (default: no limit)
   * @returns the lease
   * @throws TimeoutError when the time limit passes; TypeError / RangeError for bad arguments
   * @example `const lease = pool.acquireSync(1, 1000)`
   */
  acquireSync(permits = 1, timeout?: number): SharedSemaphoreLease {
    const limit = blockingTimeout(timeout);
    if (!this.acquirePermitsSync(permits, limit)) {
      throw new TimeoutError(`Timed out after ${limit} ms waiting for ${permits} permits of ${this.name}`, limit);
    }
    return this.#lease(permits, undefined, 0);
  }

  /**
   * Runs `fn` while holding `permits` and returns them however `fn` ends.
   * @param permits - how many
   * @param fn - receives the lease
   * @param options - as for `acquire`
   * @returns what `fn` returns
   * @throws what `acquire` or `fn` throws
   * @example `await pool.withPermits(1, () => fetchPage(url))`
   */
  withPermits<T>(permits: number, fn: (lease: Lease) => T | Promise<T>, options?: AcquireOptions): Promise<Awaited<T>> {
    return withPermits(this, permits, fn, options);
  }

  #take(permits: number): boolean {
    const words = this.#words;
    for (let available = Atomics.load(words, PERMITS); available >= permits; ) {
      const found = Atomics.compareExchange(words, PERMITS, available, available - permits);
      if (found === available) return true;
      available = found;
    }
    return false;
  }

  #give(permits: number): void {
    Atomics.add(this.#words, PERMITS, permits);
    // Requests are weighted: the first sleeper may need more than was returned, so wake all.
    this.#events.notify();
    const lane = this.#lane;
    if (lane !== undefined && lane.size > 0) lane.pump();
  }

  #lease(permits: number, owner: unknown, waitStart: number): SharedSemaphoreLease {
    const trace = observing ? { lock: this, mode: 'permits', owner, waitStart, permits } : undefined;
    return new SharedSemaphoreLease(this, permits, Atomics.add(this.#tokens, TOKEN, 1n) + 1n, trace);
  }

  #waitLane(): WaitLane<number, SharedSemaphoreLease> {
    return (this.#lane ??= new WaitLane<number, SharedSemaphoreLease>({
      resource: this.name,
      lock: this,
      mode: 'permits',
      tryTake: (waiter) => this.#takeForWaiter(waiter),
      park: (waiter) => this.#park(waiter.request),
    }));
  }

  #takeForWaiter(waiter: Waiter<number, SharedSemaphoreLease>): SharedSemaphoreLease | undefined {
    if (!this.#take(waiter.request)) return undefined;
    return this.#lease(waiter.request, waiter.owner, waiter.enqueuedAt);
  }

  #park(permits: number): PendingWait | undefined {
    const key = this.#events.prepareWait();
    if (Atomics.load(this.#words, PERMITS) >= permits) return undefined;
    return this.#events.park(key);
  }
}
