import { blockingTimeout, EventCount, type NamedPlacement, placeNamedRegion } from '@cf/atomics';
import type { AcquireOptions } from '@cf/core';
import { checkInteger } from '@cf/core';
import type { SharedPrimitiveHandle } from './options.js';
import { attachPrimitive, SharedPrimitive, takeAttachedPrimitive } from './shared-primitive.js';
import { blockUntil, type Observed, waitUntil } from './waiting.js';

/** A `SharedCountDownLatch` as posted to a worker. */
export interface SharedCountDownLatchHandle extends SharedPrimitiveHandle {}

/** Options of the `SharedCountDownLatch` constructor: `name` (default `shared-latch#<n>`) and placement. */
export interface SharedCountDownLatchOptions extends NamedPlacement {}

const COUNT = 0;
const EVENTS_OFFSET = 4;
const BYTES = 8;
const MAX_COUNT = 2 ** 31 - 1;

/**
 * A one-shot gate in shared memory: threads wait until `countDown()` was called `count` times in
 * total, by any threads. Waiting is blocking (`waitSync`, for workers) or async (`wait`). Waits
 * are reported to core's observers (mode `'latch'`).
 *
 * Layout: 8 bytes, 4-aligned (the count, then an `EventCount`).
 *
 * @example
 * ```ts
 * const ready = new SharedCountDownLatch(workers.length);
 * // each worker: SharedCountDownLatch.from(handle).countDown();
 * await ready.wait({ timeout: 5_000 });
 * ```
 */
export class SharedCountDownLatch extends SharedPrimitive<SharedCountDownLatchHandle> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;
  readonly #words: Int32Array;
  readonly #events: EventCount;
  readonly #observed: Observed = { primitive: this, mode: 'latch' };

  /**
   * Bytes a `SharedCountDownLatch` occupies.
   * @returns 8
   * @example `SharedCountDownLatch.byteLength()`
   */
  static byteLength(): number {
    return BYTES;
  }

  /**
   * Rebuilds the latch from its handle, e.g. in a worker.
   * @param handle - `latch.handle` as posted
   * @returns a latch on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const ready = SharedCountDownLatch.from(workerData.ready)`
   */
  static from(handle: SharedCountDownLatchHandle): SharedCountDownLatch {
    attachPrimitive(handle, BYTES, 4);
    return new SharedCountDownLatch(0);
  }

  /**
   * Creates a latch in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param count - steps until it opens, 0 to 2^31 - 1
   * @param options - `name` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const done = new SharedCountDownLatch(4)`
   */
  constructor(count: number, options?: SharedCountDownLatchOptions) {
    const attached = takeAttachedPrimitive<SharedCountDownLatchHandle>();
    if (attached === undefined) checkInteger(count, 'count', 0, MAX_COUNT);
    super(attached ?? placeNamedRegion(options, 'shared-latch', BYTES, 4), BYTES);
    const { buffer, byteOffset } = this.handle;
    this.#words = new Int32Array(buffer, byteOffset, 1);
    const events = { buffer, byteOffset: byteOffset + EVENTS_OFFSET };
    if (attached === undefined) {
      this.#events = new EventCount(events);
      Atomics.store(this.#words, COUNT, count);
    } else {
      this.#events = EventCount.from(events);
    }
  }

  /** Steps left before the latch opens. */
  get count(): number {
    return Atomics.load(this.#words, COUNT);
  }

  /**
   * Counts down by `n` (not below zero); opening the latch wakes every waiter.
   * @param n - steps, at least 1 (default 1)
   * @throws TypeError / RangeError for a bad `n`
   * @example `latch.countDown()`
   */
  countDown(n = 1): void {
    checkInteger(n, 'n', 1, MAX_COUNT);
    const words = this.#words;
    for (let count = Atomics.load(words, COUNT); count > 0; ) {
      const next = Math.max(0, count - n);
      const found = Atomics.compareExchange(words, COUNT, count, next);
      if (found === count) {
        if (next === 0) this.#events.notify();
        return;
      }
      count = found;
    }
  }

  /**
   * Blocks until the latch is open. For workers.
   * @param timeout - milliseconds (default: no limit)
   * @returns `false` when the time limit passed first
   * @throws TypeError / RangeError for a bad timeout
   * @example `latch.waitSync(1000)`
   */
  waitSync(timeout?: number): boolean {
    const limit = blockingTimeout(timeout);
    return blockUntil(() => Atomics.load(this.#words, COUNT) === 0, this.#events, limit, this.#observed);
  }

  /**
   * Waits without blocking until the latch is open.
   * @param options - `timeout`, `signal` and `owner` (priority is ignored: waiters are released together)
   * @returns resolves once open
   * @throws rejects with `TimeoutError`, `signal.reason`, or TypeError / RangeError for bad options
   * @example `await latch.wait({ timeout: 5_000 })`
   */
  wait(options?: AcquireOptions): Promise<void> {
    return waitUntil(() => Atomics.load(this.#words, COUNT) === 0, this.#events, options, this.#observed);
  }
}
