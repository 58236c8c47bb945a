import { checkFunction } from '@cf/core';
import { checkInt64 } from './internal/checks.js';
import { checkRegion, type Placement, placeRegion, type RegionHandle } from './region.js';

/** An `AtomicBigInt64` as posted to a worker. */
export interface AtomicBigInt64Handle extends RegionHandle {}

let attaching: RegionHandle | undefined;

/**
 * A signed 64-bit integer (a `bigint`) in shared memory; every operation is one sequentially consistent
 * `Atomics` call (or a compare-and-set loop for `updateAndGet`/`accumulateAndGet`). Arithmetic
 * wraps at 64 bits. Layout: 8 bytes, 8-aligned.
 *
 * @example
 * ```ts
 * const hits = new AtomicBigInt64();
 * worker.postMessage(hits.handle);    // worker: AtomicBigInt64.from(handle).increment()
 * hits.addAndGet(5);
 * ```
 */
export class AtomicBigInt64 {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 8;
  readonly #handle: AtomicBigInt64Handle;
  readonly #array: BigInt64Array;

  /**
   * Bytes an `AtomicBigInt64` occupies.
   * @returns 8
   * @example `AtomicBigInt64.byteLength()`
   */
  static byteLength(): number {
    return 8;
  }

  /**
   * Rebuilds the atomic from its handle, e.g. in a worker.
   * @param handle - `atomic.handle` as posted
   * @returns an atomic on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const hits = AtomicBigInt64.from(workerData.hits)`
   */
  static from(handle: AtomicBigInt64Handle): AtomicBigInt64 {
    attaching = checkRegion(handle, 'handle', 8, 8);
    return new AtomicBigInt64();
  }

  /**
   * Creates the atomic in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param initial - the initial value (default 0)
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const hits = new AtomicBigInt64(0n)`
   */
  constructor(initial = 0n, options?: Placement) {
    const attached = attaching;
    attaching = undefined;
    if (attached === undefined) checkInt64(initial, 'initial');
    const region = attached ?? placeRegion(options, 8, 8);
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset };
    this.#array = new BigInt64Array(region.buffer, region.byteOffset, 1);
    if (attached === undefined) Atomics.store(this.#array, 0, initial);
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): AtomicBigInt64Handle {
    return this.#handle;
  }

  /** Bytes this atomic occupies (8). */
  get byteLength(): number {
    return 8;
  }

  /**
   * Reads the value.
   * @returns the value
   * @example `hits.get()`
   */
  get(): bigint {
    return Atomics.load(this.#array, 0);
  }

  /**
   * Writes the value.
   * @param value - an int64 bigint
   * @throws TypeError / RangeError for a non-bigint or out-of-range value
   * @example `hits.set(0n)`
   */
  set(value: bigint): void {
    Atomics.store(this.#array, 0, checkInt64(value, 'value'));
  }

  /**
   * Writes the value and returns the previous one.
   * @param value - an int64 bigint
   * @returns the previous value
   * @throws TypeError / RangeError for a non-bigint or out-of-range value
   * @example `const before = hits.getAndSet(0n)`
   */
  getAndSet(value: bigint): bigint {
    return Atomics.exchange(this.#array, 0, checkInt64(value, 'value'));
  }

  /**
   * Sets `update` if the value is `expected`.
   * @param expected - the value to find
   * @param update - the value to store
   * @returns whether the value was `expected` (and is now `update`)
   * @throws TypeError / RangeError for a non-bigint or out-of-range value
   * @example `if (state.compareAndSet(IDLE, BUSY)) run()`
   */
  compareAndSet(expected: bigint, update: bigint): boolean {
    checkInt64(expected, 'expected');
    return Atomics.compareExchange(this.#array, 0, expected, checkInt64(update, 'update')) === expected;
  }

  /**
   * Sets `update` if the value is `expected`, and returns the value found.
   * @param expected - the value to find
   * @param update - the value to store
   * @returns the value found: `expected` when the swap happened
   * @throws TypeError / RangeError for a non-bigint or out-of-range value
   * @example `const witness = state.compareAndExchange(IDLE, BUSY)`
   */
  compareAndExchange(expected: bigint, update: bigint): bigint {
    return Atomics.compareExchange(this.#array, 0, checkInt64(expected, 'expected'), checkInt64(update, 'update'));
  }

  /**
   * Adds `delta` and returns the previous value.
   * @param delta - an int64 bigint
   * @returns the value before the addition
   * @throws TypeError / RangeError for a non-bigint or out-of-range value
   * @example `const ticket = next.getAndAdd(1n)`
   */
  getAndAdd(delta: bigint): bigint {
    return Atomics.add(this.#array, 0, checkInt64(delta, 'delta'));
  }

  /**
   * Adds `delta` and returns the new value.
   * @param delta - an int64 bigint
   * @returns the value after the addition (wrapped to 64 bits)
   * @throws TypeError / RangeError for a non-bigint or out-of-range value
   * @example `const total = sum.addAndGet(size)`
   */
  addAndGet(delta: bigint): bigint {
    return BigInt.asIntN(64, Atomics.add(this.#array, 0, checkInt64(delta, 'delta')) + delta);
  }

  /**
   * Adds 1.
   * @returns the new value
   * @example `hits.increment()`
   */
  increment(): bigint {
    return BigInt.asIntN(64, Atomics.add(this.#array, 0, 1n) + 1n);
  }

  /**
   * Subtracts 1.
   * @returns the new value
   * @example `if (pending.decrement() === 0n) done()`
   */
  decrement(): bigint {
    return BigInt.asIntN(64, Atomics.sub(this.#array, 0, 1n) - 1n);
  }

  /**
   * Replaces the value with `fn(value)` in a compare-and-set loop; `fn` may run several times
   * under contention, so it must be pure.
   * @param fn - computes the new value (an int64 bigint) from the current one
   * @returns the new value
   * @throws TypeError if `fn` is not a function; TypeError / RangeError if it returns a non-bigint or out-of-range value
   * @example `max.updateAndGet((v) => (v > sample ? v : sample))`
   */
  updateAndGet(fn: (value: bigint) => bigint): bigint {
    checkFunction(fn, 'fn');
    const array = this.#array;
    for (;;) {
      const current = Atomics.load(array, 0);
      const next = checkInt64(fn(current), 'fn(value)');
      if (Atomics.compareExchange(array, 0, current, next) === current) return next;
    }
  }

  /**
   * Replaces the value with `fn(value, x)` in a compare-and-set loop; `fn` must be pure.
   * @param x - the second operand
   * @param fn - computes the new value (an int64 bigint)
   * @returns the new value
   * @throws TypeError if `fn` is not a function; TypeError / RangeError for out-of-range values
   * @example `low.accumulateAndGet(sample, (a, b) => (a < b ? a : b))`
   */
  accumulateAndGet(x: bigint, fn: (value: bigint, x: bigint) => bigint): bigint {
    checkInt64(x, 'x');
    checkFunction(fn, 'fn');
    const array = this.#array;
    for (;;) {
      const current = Atomics.load(array, 0);
      const next = checkInt64(fn(current, x), 'fn(value, x)');
      if (Atomics.compareExchange(array, 0, current, next) === current) return next;
    }
  }
}
