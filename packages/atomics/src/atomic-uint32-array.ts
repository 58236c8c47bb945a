import { checkFunction, checkInteger, checkOptionsObject } from '@cf/core';
import type { AtomicArrayOptions } from './atomic-int32-array.js';
import { AtomicUint32 } from './atomic-uint32.js';
import { checkBoolean, checkIndex, checkUint32, checkUint32Delta } from './internal/checks.js';
import { CACHE_LINE, checkRegion, placeRegion, type RegionHandle } from './region.js';

/** An `AtomicUint32Array` as posted to a worker. */
export interface AtomicUint32ArrayHandle extends RegionHandle {
  /** Number of elements. */
  readonly length: number;
  /** Whether each element sits on its own 64-byte line. */
  readonly padded: boolean;
}

const ELEMENT = 4;
const MAX_LENGTH = 2 ** 26;
let attaching: AtomicUint32ArrayHandle | undefined;

/**
 * A fixed-length array of unsigned 32-bit atomics in shared memory, optionally one element per
 * cache line. Every operation is one sequentially consistent `Atomics` call on one element.
 * Layout: `length` elements of 4 bytes (padded: 64 bytes each), 4-aligned.
 *
 * @example
 * ```ts
 * const perWorker = new AtomicUint32Array(4, { padded: true });
 * // worker i: AtomicUint32Array.from(handle).increment(i)
 * ```
 */
export class AtomicUint32Array {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = ELEMENT;
  /** Number of elements. */
  readonly length: number;
  readonly #handle: AtomicUint32ArrayHandle;
  readonly #array: Uint32Array;
  readonly #stride: number;

  /**
   * Bytes an array of `length` elements occupies.
   * @param length - number of elements
   * @param padded - one element per 64-byte line
   * @returns the size in bytes
   * @throws TypeError / RangeError for bad arguments
   * @example `AtomicUint32Array.byteLength(8, true) // 512`
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
   * @example `const counts = AtomicUint32Array.from(workerData.counts)`
   */
  static from(handle: AtomicUint32ArrayHandle): AtomicUint32Array {
    checkRegion(handle, 'handle', 0, ELEMENT);
    const { length, padded } = handle;
    checkInteger(length, 'handle.length', 1, MAX_LENGTH);
    checkBoolean(padded, 'handle.padded');
    const region = checkRegion(handle, 'handle', AtomicUint32Array.byteLength(length, padded), ELEMENT);
    attaching = { ...region, length, padded };
    return new AtomicUint32Array(length);
  }

  /**
   * Creates an array of zeros in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param length - number of elements, 1 to 2^26
   * @param options - `padded` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const counts = new AtomicUint32Array(16)`
   */
  constructor(length: number, options?: AtomicArrayOptions) {
    let attached = attaching;
    attaching = undefined;
    if (attached === undefined) {
      checkOptionsObject(options, 'options');
      const padded = options?.padded ?? false;
      const region = placeRegion(options, AtomicUint32Array.byteLength(length, padded), ELEMENT);
      attached = { ...region, length, padded };
      new Uint32Array(region.buffer, region.byteOffset, AtomicUint32Array.byteLength(length, padded) / ELEMENT).fill(0);
    }
    this.length = attached.length;
    this.#handle = attached;
    this.#stride = attached.padded ? CACHE_LINE / ELEMENT : 1;
    this.#array = new Uint32Array(attached.buffer, attached.byteOffset, this.length * this.#stride);
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): AtomicUint32ArrayHandle {
    return this.#handle;
  }

  /** Bytes this array occupies. */
  get byteLength(): number {
    return this.#array.byteLength;
  }

  /**
   * A single atomic viewing element `index`.
   * @param index - 0 to length - 1
   * @returns an `AtomicUint32` on that element
   * @throws TypeError / RangeError for a bad index
   * @example `const mine = counts.at(workerIndex)`
   */
  at(index: number): AtomicUint32 {
    const position = this.#position(index);
    return AtomicUint32.from({ buffer: this.#handle.buffer, byteOffset: this.#handle.byteOffset + position * ELEMENT });
  }

  /**
   * Reads element `index`.
   * @param index - 0 to length - 1
   * @returns its value
   * @throws TypeError / RangeError for a bad index
   * @example `counts.get(0)`
   */
  get(index: number): number {
    return Atomics.load(this.#array, this.#position(index));
  }

  /**
   * Writes element `index`.
   * @param index - 0 to length - 1
   * @param value - a uint32
   * @throws TypeError / RangeError for a bad argument
   * @example `counts.set(0, 10)`
   */
  set(index: number, value: number): void {
    Atomics.store(this.#array, this.#position(index), checkUint32(value, 'value'));
  }

  /**
   * Writes element `index` and returns its previous value.
   * @param index - 0 to length - 1
   * @param value - a uint32
   * @returns the previous value
   * @throws TypeError / RangeError for a bad argument
   * @example `const drained = counts.getAndSet(i, 0)`
   */
  getAndSet(index: number, value: number): number {
    return Atomics.exchange(this.#array, this.#position(index), checkUint32(value, 'value'));
  }

  /**
   * Sets element `index` to `update` if it is `expected`.
   * @param index - 0 to length - 1
   * @param expected - the value to find
   * @param update - the value to store
   * @returns whether the swap happened
   * @throws TypeError / RangeError for a bad argument
   * @example `if (slots.compareAndSet(i, FREE, TAKEN)) use(i)`
   */
  compareAndSet(index: number, expected: number, update: number): boolean {
    const position = this.#position(index);
    checkUint32(expected, 'expected');
    return Atomics.compareExchange(this.#array, position, expected, checkUint32(update, 'update')) === expected;
  }

  /**
   * Adds `delta` to element `index`.
   * @param index - 0 to length - 1
   * @param delta - an integer of magnitude below 2^32 (negative subtracts)
   * @returns the previous value
   * @throws TypeError / RangeError for a bad argument
   * @example `counts.getAndAdd(i, 2)`
   */
  getAndAdd(index: number, delta: number): number {
    return Atomics.add(this.#array, this.#position(index), checkUint32Delta(delta, 'delta'));
  }

  /**
   * Adds `delta` to element `index`.
   * @param index - 0 to length - 1
   * @param delta - an integer of magnitude below 2^32 (negative subtracts)
   * @returns the new value (wrapped to 32 bits)
   * @throws TypeError / RangeError for a bad argument
   * @example `counts.addAndGet(i, 2)`
   */
  addAndGet(index: number, delta: number): number {
    return (Atomics.add(this.#array, this.#position(index), checkUint32Delta(delta, 'delta')) + delta) >>> 0;
  }

  /**
   * Adds 1 to element `index`.
   * @param index - 0 to length - 1
   * @returns the new value
   * @throws TypeError / RangeError for a bad index
   * @example `counts.increment(i)`
   */
  increment(index: number): number {
    return (Atomics.add(this.#array, this.#position(index), 1) + 1) >>> 0;
  }

  /**
   * Subtracts 1 from element `index`.
   * @param index - 0 to length - 1
   * @returns the new value
   * @throws TypeError / RangeError for a bad index
   * @example `counts.decrement(i)`
   */
  decrement(index: number): number {
    return (Atomics.sub(this.#array, this.#position(index), 1) - 1) >>> 0;
  }

  /**
   * Replaces element `index` with `fn(value)` in a compare-and-set loop (`fn` must be pure).
   * @param index - 0 to length - 1
   * @param fn - computes the new value (a uint32)
   * @returns the new value
   * @throws TypeError / RangeError for a bad argument or a non-uint32 result
   * @example `peaks.updateAndGet(i, (v) => Math.max(v, sample))`
   */
  updateAndGet(index: number, fn: (value: number) => number): number {
    const position = this.#position(index);
    checkFunction(fn, 'fn');
    const array = this.#array;
    for (;;) {
      const current = Atomics.load(array, position);
      const next = checkUint32(fn(current), 'fn(value)');
      if (Atomics.compareExchange(array, position, current, next) === current) return next;
    }
  }

  /**
   * Replaces element `index` with `fn(value, x)` in a compare-and-set loop (`fn` must be pure).
   * @param index - 0 to length - 1
   * @param x - the second operand
   * @param fn - computes the new value (a uint32)
   * @returns the new value
   * @throws TypeError / RangeError for a bad argument or a non-uint32 result
   * @example `lows.accumulateAndGet(i, sample, Math.min)`
   */
  accumulateAndGet(index: number, x: number, fn: (value: number, x: number) => number): number {
    const position = this.#position(index);
    checkUint32(x, 'x');
    checkFunction(fn, 'fn');
    const array = this.#array;
    for (;;) {
      const current = Atomics.load(array, position);
      const next = checkUint32(fn(current, x), 'fn(value, x)');
      if (Atomics.compareExchange(array, position, current, next) === current) return next;
    }
  }

  #position(index: number): number {
    if (!(index >>> 0 === index && index < this.length)) checkIndex(index, this.length);
    return index * this.#stride;
  }
}
