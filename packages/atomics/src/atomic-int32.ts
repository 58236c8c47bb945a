import { checkFunction } from '@cf/core';
import { checkInt32 } from './internal/checks.js';
import { checkRegion, type Placement, placeRegion, type RegionHandle } from './region.js';

/** An `AtomicInt32` as posted to a worker. */
export interface AtomicInt32Handle extends RegionHandle {}

let attaching: RegionHandle | undefined;

/**
 * A signed 32-bit integer in shared memory; every operation is one sequentially consistent
 * `Atomics` call (or a compare-and-set loop for `updateAndGet`/`accumulateAndGet`). Arithmetic
 * wraps at 32 bits. Layout: 4 bytes, 4-aligned.
 *
 * @example
 * ```ts
 * const hits = new AtomicInt32();
 * worker.postMessage(hits.handle);    // worker: AtomicInt32.from(handle).increment()
 * hits.addAndGet(5);
 * ```
 */
export class AtomicInt32 {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;
  readonly #handle: AtomicInt32Handle;
  readonly #array: Int32Array;

  /**
   * Bytes an `AtomicInt32` occupies.
   * @returns 4
   * @example `AtomicInt32.byteLength()`
   */
  static byteLength(): number {
    return 4;
  }

  /**
   * Rebuilds the atomic from its handle, e.g. in a worker.
   * @param handle - `atomic.handle` as posted
   * @returns an atomic on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const hits = AtomicInt32.from(workerData.hits)`
   */
  static from(handle: AtomicInt32Handle): AtomicInt32 {
    attaching = checkRegion(handle, 'handle', 4, 4);
    return new AtomicInt32();
  }

  /**
   * Creates the atomic in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param initial - the initial value (default 0)
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const hits = new AtomicInt32(0)`
   */
  constructor(initial = 0, options?: Placement) {
    const attached = attaching;
    attaching = undefined;
    if (attached === undefined) checkInt32(initial, 'initial');
    const region = attached ?? placeRegion(options, 4, 4);
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset };
    this.#array = new Int32Array(region.buffer, region.byteOffset, 1);
    if (attached === undefined) Atomics.store(this.#array, 0, initial);
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): AtomicInt32Handle {
    return this.#handle;
  }

  /** Bytes this atomic occupies (4). */
  get byteLength(): number {
    return 4;
  }

  /**
   * Reads the value.
   * @returns the value
   * @example `hits.get()`
   */
  get(): number {
    return Atomics.load(this.#array, 0);
  }

  /**
   * Writes the value.
   * @param value - an int32
   * @throws TypeError / RangeError for a non-int32
   * @example `hits.set(0)`
   */
  set(value: number): void {
    Atomics.store(this.#array, 0, checkInt32(value, 'value'));
  }

  /**
   * Writes the value and returns the previous one.
   * @param value - an int32
   * @returns the previous value
   * @throws TypeError / RangeError for a non-int32
   * @example `const before = hits.getAndSet(0)`
   */
  getAndSet(value: number): number {
    return Atomics.exchange(this.#array, 0, checkInt32(value, 'value'));
  }

  /**
   * Sets `update` if the value is `expected`.
   * @param expected - the value to find
   * @param update - the value to store
   * @returns whether the value was `expected` (and is now `update`)
   * @throws TypeError / RangeError for a non-int32
   * @example `if (state.compareAndSet(IDLE, BUSY)) run()`
   */
  compareAndSet(expected: number, update: number): boolean {
    checkInt32(expected, 'expected');
    return Atomics.compareExchange(this.#array, 0, expected, checkInt32(update, 'update')) === expected;
  }

  /**
   * Sets `update` if the value is `expected`, and returns the value found.
   * @param expected - the value to find
   * @param update - the value to store
   * @returns the value found: `expected` when the swap happened
   * @throws TypeError / RangeError for a non-int32
   * @example `const witness = state.compareAndExchange(IDLE, BUSY)`
   */
  compareAndExchange(expected: number, update: number): number {
    return Atomics.compareExchange(this.#array, 0, checkInt32(expected, 'expected'), checkInt32(update, 'update'));
  }

  /**
   * Adds `delta` and returns the previous value.
   * @param delta - an int32
   * @returns the value before the addition
   * @throws TypeError / RangeError for a non-int32
   * @example `const ticket = next.getAndAdd(1)`
   */
  getAndAdd(delta: number): number {
    return Atomics.add(this.#array, 0, checkInt32(delta, 'delta'));
  }

  /**
   * Adds `delta` and returns the new value.
   * @param delta - an int32
   * @returns the value after the addition (wrapped to 32 bits)
   * @throws TypeError / RangeError for a non-int32
   * @example `const total = sum.addAndGet(size)`
   */
  addAndGet(delta: number): number {
    return (Atomics.add(this.#array, 0, checkInt32(delta, 'delta')) + delta) | 0;
  }

  /**
   * Adds 1.
   * @returns the new value
   * @example `hits.increment()`
   */
  increment(): number {
    return (Atomics.add(this.#array, 0, 1) + 1) | 0;
  }

  /**
   * Subtracts 1.
   * @returns the new value
   * @example `if (pending.decrement() === 0) done()`
   */
  decrement(): number {
    return (Atomics.sub(this.#array, 0, 1) - 1) | 0;
  }

  /**
   * Replaces the value with `fn(value)` in a compare-and-set loop; `fn` may run several times
   * under contention, so it must be pure.
   * @param fn - computes the new value (an int32) from the current one
   * @returns the new value
   * @throws TypeError if `fn` is not a function; TypeError / RangeError if it returns a non-int32
   * @example `max.updateAndGet((v) => Math.max(v, sample))`
   */
  updateAndGet(fn: (value: number) => number): number {
    checkFunction(fn, 'fn');
    const array = this.#array;
    for (;;) {
      const current = Atomics.load(array, 0);
      const next = checkInt32(fn(current), 'fn(value)');
      if (Atomics.compareExchange(array, 0, current, next) === current) return next;
    }
  }

  /**
   * Replaces the value with `fn(value, x)` in a compare-and-set loop; `fn` must be pure.
   * @param x - the second operand
   * @param fn - computes the new value (an int32)
   * @returns the new value
   * @throws TypeError if `fn` is not a function; TypeError / RangeError for non-int32 values
   * @example `low.accumulateAndGet(sample, Math.min)`
   */
  accumulateAndGet(x: number, fn: (value: number, x: number) => number): number {
    checkInt32(x, 'x');
    checkFunction(fn, 'fn');
    const array = this.#array;
    for (;;) {
      const current = Atomics.load(array, 0);
      const next = checkInt32(fn(current, x), 'fn(value, x)');
      if (Atomics.compareExchange(array, 0, current, next) === current) return next;
    }
  }
}
