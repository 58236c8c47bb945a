import { checkFunction, checkInteger, checkOptionsObject } from '@cf/core';
import type { Placement, RegionHandle } from '../placement.js';
import { CACHE_LINE, checkRegion, placeRegion } from '../region.js';
import { attachNext, takeAttached } from './attach.js';
import { checkBoolean, checkIndex } from './checks.js';
import { addAndGet, decrementAt, type IntegerKind, incrementAt, updateElement } from './integer-kind.js';

/** An atomic integer array as posted to a worker. */
export interface AtomicIntegerArrayHandle extends RegionHandle {
  /** Number of elements. */
  readonly length: number;
  /** Whether each element sits on its own 64-byte line. */
  readonly padded: boolean;
}

/** Options of the atomic array constructors. */
export interface AtomicArrayOptions extends Placement {
  /**
   * Give each element its own 64-byte cache line (16x the memory for 32-bit elements). Threads
   * that each update their own element then stop invalidating each other's caches: a measured
   * 4-5x speed-up.
   */
  padded?: boolean | undefined;
}

const MAX_LENGTH = 2 ** 26;

/**
 * Bytes an array of `length` elements of `kind` occupies.
 * @throws TypeError / RangeError for bad arguments
 */
export function integerArrayByteLength(kind: IntegerKind, length: unknown, padded: unknown): number {
  checkInteger(length, 'length', 1, MAX_LENGTH);
  return (length as number) * (checkBoolean(padded, 'padded') ? CACHE_LINE : kind.bytes);
}

/**
 * Validates an array handle and hands it to the constructor call that follows.
 * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
 */
export function attachIntegerArray(kind: IntegerKind, handle: AtomicIntegerArrayHandle): void {
  checkRegion(handle, 'handle', 0, kind.bytes);
  const { length, padded } = handle;
  checkInteger(length, 'handle.length', 1, MAX_LENGTH);
  checkBoolean(padded, 'handle.padded');
  const region = checkRegion(handle, 'handle', integerArrayByteLength(kind, length, padded), kind.bytes);
  attachNext({ ...region, length, padded } as AtomicIntegerArrayHandle);
}

/**
 * A fixed-length array of atomic integers in shared memory, optionally one element per cache
 * line: the operations `AtomicInt32Array`, `AtomicUint32Array` and `AtomicBigInt64Array` share.
 * Every operation is one sequentially consistent `Atomics` call on one element (compare-and-set
 * loops for `updateAndGet` / `accumulateAndGet`); arithmetic wraps at the type's width.
 *
 * @typeParam T - `number` for the 32-bit types, `bigint` for `AtomicBigInt64Array`
 * @typeParam H - the handle type
 * @example
 * ```ts
 * const perWorker = new AtomicInt32Array(4, { padded: true });
 * perWorker.increment(0);
 * ```
 */
export abstract class AtomicIntegerArray<T extends number | bigint, H extends AtomicIntegerArrayHandle> {
  /** Number of elements. */
  readonly length: number;
  readonly #handle: H;
  readonly #array: Int32Array;
  readonly #stride: number;
  readonly #kind: IntegerKind;
  readonly #code: number;

  /**
   * Attaches to the region `from()` handed over, or builds an array of zeros.
   * @param kind - the integer type
   * @param length - number of elements (checked unless attaching)
   * @param options - `padded` and placement of a new array
   */
  protected constructor(kind: IntegerKind, length: number, options: AtomicArrayOptions | undefined) {
    let attached = takeAttached<H>();
    if (attached === undefined) {
      checkOptionsObject(options, 'options');
      const padded = options?.padded ?? false;
      const bytes = integerArrayByteLength(kind, length, padded);
      const region = placeRegion(options, bytes, kind.bytes);
      attached = { buffer: region.buffer, byteOffset: region.byteOffset, length, padded } as H;
      // A caller's buffer may hold old data: a new array starts at zero.
      new Uint8Array(region.buffer, region.byteOffset, bytes).fill(0);
    }
    this.length = attached.length;
    this.#handle = attached;
    this.#kind = kind;
    this.#code = kind.code;
    this.#stride = attached.padded ? CACHE_LINE / kind.bytes : 1;
    this.#array = kind.view(attached.buffer, attached.byteOffset, this.length * this.#stride);
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): H {
    return this.#handle;
  }

  /** Bytes this array occupies. */
  get byteLength(): number {
    return this.#array.byteLength;
  }

  /**
   * Reads element `index`.
   * @param index - 0 to length - 1
   * @returns its value
   * @throws TypeError / RangeError for a bad index
   * @example `counts.get(0)`
   */
  get(index: number): T {
    return Atomics.load(this.#array, this.#position(index)) as T;
  }

  /**
   * Writes element `index`.
   * @param index - 0 to length - 1
   * @param value - a value of the element type
   * @throws TypeError / RangeError for a bad argument
   * @example `counts.set(0, 10)`
   */
  set(index: number, value: T): void {
    Atomics.store(this.#array, this.#position(index), this.#kind.check(value, 'value'));
  }

  /**
   * Writes element `index` and returns its previous value.
   * @param index - 0 to length - 1
   * @param value - a value of the element type
   * @returns the previous value
   * @throws TypeError / RangeError for a bad argument
   * @example `const drained = counts.getAndSet(i, 0)`
   */
  getAndSet(index: number, value: T): T {
    return Atomics.exchange(this.#array, this.#position(index), this.#kind.check(value, 'value')) as T;
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
  compareAndSet(index: number, expected: T, update: T): boolean {
    const position = this.#position(index);
    const kind = this.#kind;
    const found = kind.check(expected, 'expected');
    return Atomics.compareExchange(this.#array, position, found, kind.check(update, 'update')) === found;
  }

  /**
   * Adds `delta` to element `index`.
   * @param index - 0 to length - 1
   * @param delta - a value of the element type (`AtomicUint32Array` also takes negative deltas)
   * @returns the previous value
   * @throws TypeError / RangeError for a bad argument
   * @example `counts.getAndAdd(i, 2)`
   */
  getAndAdd(index: number, delta: T): T {
    return Atomics.add(this.#array, this.#position(index), this.#kind.checkDelta(delta, 'delta')) as T;
  }

  /**
   * Adds `delta` to element `index`.
   * @param index - 0 to length - 1
   * @param delta - as for `getAndAdd`
   * @returns the new value, wrapped to the type's width
   * @throws TypeError / RangeError for a bad argument
   * @example `counts.addAndGet(i, 2)`
   */
  addAndGet(index: number, delta: T): T {
    return addAndGet(this.#code, this.#array, this.#position(index), this.#kind.checkDelta(delta, 'delta')) as T;
  }

  /**
   * Adds 1 to element `index`.
   * @param index - 0 to length - 1
   * @returns the new value
   * @throws TypeError / RangeError for a bad index
   * @example `counts.increment(i)`
   */
  increment(index: number): T {
    return incrementAt(this.#code, this.#array, this.#position(index)) as T;
  }

  /**
   * Subtracts 1 from element `index`.
   * @param index - 0 to length - 1
   * @returns the new value
   * @throws TypeError / RangeError for a bad index
   * @example `counts.decrement(i)`
   */
  decrement(index: number): T {
    return decrementAt(this.#code, this.#array, this.#position(index)) as T;
  }

  /**
   * Replaces element `index` with `fn(value)` in a compare-and-set loop (`fn` must be pure).
   * @param index - 0 to length - 1
   * @param fn - computes the new value
   * @returns the new value
   * @throws TypeError / RangeError for a bad argument or a result outside the type
   * @example `peaks.updateAndGet(i, (v) => (v > sample ? v : sample))`
   */
  updateAndGet(index: number, fn: (value: T) => T): T {
    const position = this.#position(index);
    checkFunction(fn, 'fn');
    return updateElement(this.#kind, this.#array, position, fn as (value: number) => unknown, 'fn(value)') as T;
  }

  /**
   * Replaces element `index` with `fn(value, x)` in a compare-and-set loop (`fn` must be pure).
   * @param index - 0 to length - 1
   * @param x - the second operand
   * @param fn - computes the new value
   * @returns the new value
   * @throws TypeError / RangeError for a bad argument or a result outside the type
   * @example `lows.accumulateAndGet(i, sample, (a, b) => (a < b ? a : b))`
   */
  accumulateAndGet(index: number, x: T, fn: (value: T, x: T) => T): T {
    const position = this.#position(index);
    this.#kind.check(x, 'x');
    checkFunction(fn, 'fn');
    const apply = fn as unknown as (value: number, x: number) => unknown;
    return updateElement(this.#kind, this.#array, position, (value) => apply(value, x as number), 'fn(value, x)') as T;
  }

  /**
   * The region of element `index`, for `at()`.
   * @throws TypeError / RangeError for a bad index
   */
  protected elementRegion(index: number): RegionHandle {
    const { buffer, byteOffset } = this.#handle;
    return { buffer, byteOffset: byteOffset + this.#position(index) * this.#kind.bytes };
  }

  #position(index: number): number {
    if (!(index >>> 0 === index && index < this.length)) checkIndex(index, this.length);
    return index * this.#stride;
  }
}
