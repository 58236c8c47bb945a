import { checkFunction } from '@cf/core';
import type { Placement, RegionHandle } from '../placement.js';
import { placeRegion } from '../region.js';
import { takeAttached } from './attach.js';
import { addAndGet, decrementAt, type IntegerKind, incrementAt, updateElement } from './integer-kind.js';

/**
 * One integer in shared memory: the operations `AtomicInt32`, `AtomicUint32` and
 * `AtomicBigInt64` share. Every operation is one sequentially consistent `Atomics` call, except
 * `updateAndGet` / `accumulateAndGet` (compare-and-set loops). Arithmetic wraps at the type's
 * width. Values are checked at the boundary: a value outside the type throws `RangeError`, a
 * value of the wrong JavaScript type `TypeError` (code `ERR_CF_INVALID_ARG`).
 *
 * @typeParam T - `number` for the 32-bit types, `bigint` for `AtomicBigInt64`
 * @typeParam H - the handle type
 * @example
 * ```ts
 * const hits = new AtomicInt32();
 * hits.increment();
 * ```
 */
export abstract class AtomicInteger<T extends number | bigint, H extends RegionHandle = RegionHandle> {
  readonly #handle: H;
  readonly #array: Int32Array;
  readonly #kind: IntegerKind;
  readonly #code: number;

  /**
   * Attaches to the region `from()` handed over, or builds the atomic with `initial`.
   * @param kind - the integer type
   * @param initial - the initial value (checked unless attaching)
   * @param options - where to place a new atomic
   */
  protected constructor(kind: IntegerKind, initial: T, options: Placement | undefined) {
    const attached = takeAttached();
    if (attached === undefined) kind.check(initial, 'initial');
    const region = attached ?? placeRegion(options, kind.bytes, kind.bytes);
    this.#kind = kind;
    this.#code = kind.code;
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset } as H;
    this.#array = kind.view(region.buffer, region.byteOffset, 1);
    if (attached === undefined) Atomics.store(this.#array, 0, initial as number);
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): H {
    return this.#handle;
  }

  /** Bytes this atomic occupies (4, or 8 for `AtomicBigInt64`). */
  get byteLength(): number {
    return this.#kind.bytes;
  }

  /**
   * Reads the value.
   * @returns the value
   * @example `hits.get()`
   */
  get(): T {
    return Atomics.load(this.#array, 0) as T;
  }

  /**
   * Writes the value.
   * @param value - a value of the atomic's type
   * @throws TypeError / RangeError for a value outside the type
   * @example `hits.set(0)`
   */
  set(value: T): void {
    Atomics.store(this.#array, 0, this.#kind.check(value, 'value'));
  }

  /**
   * Writes the value and returns the previous one.
   * @param value - a value of the atomic's type
   * @returns the previous value
   * @throws TypeError / RangeError for a value outside the type
   * @example `const before = hits.getAndSet(0)`
   */
  getAndSet(value: T): T {
    return Atomics.exchange(this.#array, 0, this.#kind.check(value, 'value')) as T;
  }

  /**
   * Sets `update` if the value is `expected`.
   * @param expected - the value to find
   * @param update - the value to store
   * @returns whether the value was `expected` (and is now `update`)
   * @throws TypeError / RangeError for a value outside the type
   * @example `if (state.compareAndSet(IDLE, BUSY)) run()`
   */
  compareAndSet(expected: T, update: T): boolean {
    const kind = this.#kind;
    const found = kind.check(expected, 'expected');
    return Atomics.compareExchange(this.#array, 0, found, kind.check(update, 'update')) === found;
  }

  /**
   * Sets `update` if the value is `expected`, and returns the value found.
   * @param expected - the value to find
   * @param update - the value to store
   * @returns the value found: `expected` when the swap happened
   * @throws TypeError / RangeError for a value outside the type
   * @example `const witness = state.compareAndExchange(IDLE, BUSY)`
   */
  compareAndExchange(expected: T, update: T): T {
    const kind = this.#kind;
    return Atomics.compareExchange(this.#array, 0, kind.check(expected, 'expected'), kind.check(update, 'update')) as T;
  }

  /**
   * Adds `delta` and returns the previous value.
   * @param delta - a value of the atomic's type (`AtomicUint32` also takes negative deltas
   *   down to -(2^32 - 1))
   * @returns the value before the addition
   * @throws TypeError / RangeError for a delta outside the type
   * @example `const ticket = next.getAndAdd(1)`
   */
  getAndAdd(delta: T): T {
    return Atomics.add(this.#array, 0, this.#kind.checkDelta(delta, 'delta')) as T;
  }

  /**
   * Adds `delta` and returns the new value.
   * @param delta - as for `getAndAdd`
   * @returns the value after the addition, wrapped to the type's width
   * @throws TypeError / RangeError for a delta outside the type
   * @example `const total = sum.addAndGet(size)`
   */
  addAndGet(delta: T): T {
    return addAndGet(this.#code, this.#array, 0, this.#kind.checkDelta(delta, 'delta')) as T;
  }

  /**
   * Adds 1.
   * @returns the new value
   * @example `hits.increment()`
   */
  increment(): T {
    return incrementAt(this.#code, this.#array, 0) as T;
  }

  /**
   * Subtracts 1.
   * @returns the new value
   * @example `if (pending.decrement() === 0) done()`
   */
  decrement(): T {
    return decrementAt(this.#code, this.#array, 0) as T;
  }

  /**
   * Replaces the value with `fn(value)` in a compare-and-set loop; `fn` may run several times
   * under contention, so it must be pure.
   * @param fn - computes the new value from the current one
   * @returns the new value
   * @throws TypeError if `fn` is not a function; TypeError / RangeError if it returns a value
   *   outside the type
   * @example `max.updateAndGet((v) => (v > sample ? v : sample))`
   */
  updateAndGet(fn: (value: T) => T): T {
    checkFunction(fn, 'fn');
    return updateElement(this.#kind, this.#array, 0, fn as (value: number) => unknown, 'fn(value)') as T;
  }

  /**
   * Replaces the value with `fn(value, x)` in a compare-and-set loop; `fn` must be pure.
   * @param x - the second operand, a value of the atomic's type
   * @param fn - computes the new value
   * @returns the new value
   * @throws TypeError if `fn` is not a function; TypeError / RangeError for values outside the type
   * @example `low.accumulateAndGet(sample, (a, b) => (a < b ? a : b))`
   */
  accumulateAndGet(x: T, fn: (value: T, x: T) => T): T {
    this.#kind.check(x, 'x');
    checkFunction(fn, 'fn');
    const apply = fn as unknown as (value: number, x: number) => unknown;
    return updateElement(this.#kind, this.#array, 0, (value) => apply(value, x as number), 'fn(value, x)') as T;
  }
}
