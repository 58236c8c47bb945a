import { checkFunction, checkInteger, checkOptionsObject } from '@cf/core';
import { AtomicBigInt64 } from './atomic-bigint64.js';
import type { AtomicArrayOptions } from './atomic-int32-array.js';
import { checkBoolean, checkIndex, checkInt64 } from './internal/checks.js';
import { CACHE_LINE, checkRegion, placeRegion, type RegionHandle } from './region.js';

/** An `AtomicBigInt64Array` as posted to a worker. */
export interface AtomicBigInt64ArrayHandle extends RegionHandle {
  /** Number of elements. */
  readonly length: number;
  /** Whether each element sits on its own 64-byte line. */
  readonly padded: boolean;
}

const ELEMENT = 8;
const MAX_LENGTH = 2 ** 26;
let attaching: AtomicBigInt64ArrayHandle | undefined;

/**
 * A fixed-length array of signed 64-bit atomics (`bigint`) in shared memory, optionally one element per
 * cache line. Every operation is one sequentially consistent `Atomics` call on one element.
 * Layout: `length` elements of 8 bytes (padded: 64 bytes each), 8-aligned.
 *
 * @example
 * ```ts
 * const perWorker = new AtomicBigInt64Array(4, { padded: true });
 * // worker i: AtomicBigInt64Array.from(handle).increment(i)
 * ```
 */
export class AtomicBigInt64Array {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = ELEMENT;
  /** Number of elements. */
  readonly length: number;
  readonly #handle: AtomicBigInt64ArrayHandle;
  readonly #array: BigInt64Array;
  readonly #stride: number;

  /**
   * Bytes an array of `length` elements occupies.
   * @param length - number of elements
   * @param padded - one element per 64-byte line
   * @returns the size in bytes
   * @throws TypeError / RangeError for bad arguments
   * @example `AtomicBigInt64Array.byteLength(8, true) // 512`
   */
  static byteLength(length: number, padded = false): number {
    checkInteger(length, 'length', 1, MAX_LENGTH);
    return length * (checkBoolean(padded, 'padded') ? CACHE_LINE : ELEMENT);
  }

  /**
   * Rebuilds the array from its handle, e.g. in a worker.
   * @param handle - `array.handle` as posted
   * @returns an array on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const counts = AtomicBigInt64Array.from(workerData.counts)`
   */
  static from(handle: AtomicBigInt64ArrayHandle): AtomicBigInt64Array {
    checkRegion(handle, 'handle', 0, ELEMENT);
    const { length, padded } = handle;
    checkInteger(length, 'handle.length', 1, MAX_LENGTH);
    checkBoolean(padded, 'handle.padded');
    const region = checkRegion(handle, 'handle', AtomicBigInt64Array.byteLength(length, padded), ELEMENT);
    attaching = { ...region, length, padded };
    return new AtomicBigInt64Array(length);
  }

  /**
   * Creates an array of zeros in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param length - number of elements, 1 to 2^26
   * @param options - `padded` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const counts = new AtomicBigInt64Array(16)`
   */
  constructor(length: number, options?: AtomicArrayOptions) {
    let attached = attaching;
    attaching = undefined;
    if (attached === undefined) {
      checkOptionsObject(options, 'options');
      const padded = options?.padded ?? false;
      const region = placeRegion(options, AtomicBigInt64Array.byteLength(length, padded), ELEMENT);
      attached = { ...region, length, padded };
      new BigInt64Array(
        region.buffer,
        region.byteOffset,
        AtomicBigInt64Array.byteLength(length, padded) / ELEMENT,
      ).fill(0n);
    }
    this.length = attached.length;
    this.#handle = attached;
    this.#stride = attached.padded ? CACHE_LINE / ELEMENT : 1;
    this.#array = new BigInt64Array(attached.buffer, attached.byteOffset, this.length * this.#stride);
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): AtomicBigInt64ArrayHandle {
    return this.#handle;
  }

  /** Bytes this array occupies. */
  get byteLength(): number {
    return this.#array.byteLength;
  }

  /**
   * A single atomic viewing element `index`.
   * @param index - 0 to length - 1
   * @returns an `AtomicBigInt64` on that element
   * @throws TypeError / RangeError for a bad index
   * @example `const mine = counts.at(workerIndex)`
   */
  at(index: number): AtomicBigInt64 {
    const position = this.#position(index);
    return AtomicBigInt64.from({
      buffer: this.#handle.buffer,
      byteOffset: this.#handle.byteOffset + position * ELEMENT,
    });
  }

  /**
   * Reads element `index`.
   * @param index - 0 to length - 1
   * @returns its value
   * @throws TypeError / RangeError for a bad index
   * @example `counts.get(0)`
   */
  get(index: number): bigint {
    return Atomics.load(this.#array, this.#position(index));
  }

  /**
   * Writes element `index`.
   * @param index - 0 to length - 1
   * @param value - an int64 bigint
   * @throws TypeError / RangeError for a bad argument
   * @example `counts.set(0, 10n)`
   */
  set(index: number, value: bigint): void {
    Atomics.store(this.#array, this.#position(index), checkInt64(value, 'value'));
  }

  /**
   * Writes element `index` and returns its previous value.
   * @param index - 0 to length - 1
   * @param value - an int64 bigint
   * @returns the previous value
   * @throws TypeError / RangeError for a bad argument
   * @example `const drained = counts.getAndSet(i, 0n)`
   */
  getAndSet(index: number, value: bigint): bigint {
    return Atomics.exchange(this.#array, this.#position(index), checkInt64(value, 'value'));
  }

  /**
   * Sets element `index` to `update` if it is `expected`.
   * @param index - 0 to length - 1
   * @param expected - the value to find
   * @param update - the value to store
   * @returns whether the swap happened
   * @throws TypeError / RangeError for a bad argument
   * @example `if (slots.compareAndSet(i, 0n, 1n)) use(i)`
   */
  compareAndSet(index: number, expected: bigint, update: bigint): boolean {
    const position = this.#position(index);
    checkInt64(expected, 'expected');
    return Atomics.compareExchange(this.#array, position, expected, checkInt64(update, 'update')) === expected;
  }

  /**
   * Adds `delta` to element `index`.
   * @param index - 0 to length - 1
   * @param delta - an int64 bigint
   * @returns the previous value
   * @throws TypeError / RangeError for a bad argument
   * @example `counts.getAndAdd(i, 2n)`
   */
  getAndAdd(index: number, delta: bigint): bigint {
    return Atomics.add(this.#array, this.#position(index), checkInt64(delta, 'delta'));
  }

  /**
   * Adds `delta` to element `index`.
   * @param index - 0 to length - 1
   * @param delta - an int64 bigint
   * @returns the new value (wrapped to 64 bits)
   * @throws TypeError / RangeError for a bad argument
   * @example `counts.addAndGet(i, 2n)`
   */
  addAndGet(index: number, delta: bigint): bigint {
    return BigInt.asIntN(64, Atomics.add(this.#array, this.#position(index), checkInt64(delta, 'delta')) + delta);
  }

  /**
   * Adds 1 to element `index`.
   * @param index - 0 to length - 1
   * @returns the new value
   * @throws TypeError / RangeError for a bad index
   * @example `counts.increment(i)`
   */
  increment(index: number): bigint {
    return BigInt.asIntN(64, Atomics.add(this.#array, this.#position(index), 1n) + 1n);
  }

  /**
   * Subtracts 1 from element `index`.
   * @param index - 0 to length - 1
   * @returns the new value
   * @throws TypeError / RangeError for a bad index
   * @example `counts.decrement(i)`
   */
  decrement(index: number): bigint {
    return BigInt.asIntN(64, Atomics.sub(this.#array, this.#position(index), 1n) - 1n);
  }

  /**
   * Replaces element `index` with `fn(value)` in a compare-and-set loop (`fn` must be pure).
   * @param index - 0 to length - 1
   * @param fn - computes the new value (an int64 bigint)
   * @returns the new value
   * @throws TypeError / RangeError for a bad argument or an out-of-range result
   * @example `peaks.updateAndGet(i, (v) => (v > sample ? v : sample))`
   */
  updateAndGet(index: number, fn: (value: bigint) => bigint): bigint {
    const position = this.#position(index);
    checkFunction(fn, 'fn');
    const array = this.#array;
    for (;;) {
      const current = Atomics.load(array, position);
      const next = checkInt64(fn(current), 'fn(value)');
      if (Atomics.compareExchange(array, position, current, next) === current) return next;
    }
  }

  /**
   * Replaces element `index` with `fn(value, x)` in a compare-and-set loop (`fn` must be pure).
   * @param index - 0 to length - 1
   * @param x - the second operand
   * @param fn - computes the new value (an int64 bigint)
   * @returns the new value
   * @throws TypeError / RangeError for a bad argument or an out-of-range result
   * @example `lows.accumulateAndGet(i, sample, (a, b) => (a < b ? a : b))`
   */
  accumulateAndGet(index: number, x: bigint, fn: (value: bigint, x: bigint) => bigint): bigint {
    const position = this.#position(index);
    checkInt64(x, 'x');
    checkFunction(fn, 'fn');
    const array = this.#array;
    for (;;) {
      const current = Atomics.load(array, position);
      const next = checkInt64(fn(current, x), 'fn(value, x)');
      if (Atomics.compareExchange(array, position, current, next) === current) return next;
    }
  }

  #position(index: number): number {
    if (!(index >>> 0 === index && index < this.length)) checkIndex(index, this.length);
    return index * this.#stride;
  }
}
