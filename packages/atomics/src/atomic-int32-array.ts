import { AtomicInt32 } from './atomic-int32.js';
import {
  type AtomicArrayOptions,
  AtomicIntegerArray,
  type AtomicIntegerArrayHandle,
  attachIntegerArray,
  integerArrayByteLength,
} from './internal/atomic-integer-array.js';
import { INT32 } from './internal/integer-kind.js';

/** An `AtomicInt32Array` as posted to a worker. */
export interface AtomicInt32ArrayHandle extends AtomicIntegerArrayHandle {}

/**
 * A fixed-length array of signed 32-bit atomics in shared memory, optionally one element per
 * cache line. Every operation is one sequentially consistent `Atomics` call on one element.
 * Layout: `length` elements of 4 bytes (padded: 64 bytes each), 4-aligned.
 *
 * @example
 * ```ts
 * const perWorker = new AtomicInt32Array(4, { padded: true });
 * // worker i: AtomicInt32Array.from(handle).increment(i)
 * ```
 */
export class AtomicInt32Array extends AtomicIntegerArray<number, AtomicInt32ArrayHandle> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;

  /**
   * Bytes an array of `length` elements occupies.
   * @param length - number of elements
   * @param padded - one element per 64-byte line
   * @returns the size in bytes
   * @throws TypeError / RangeError for bad arguments
   * @example `AtomicInt32Array.byteLength(8, true) // 512`
   */
  static byteLength(length: number, padded = false): number {
    return integerArrayByteLength(INT32, length, padded);
  }

  /**
   * Rebuilds the array from its handle, e.g. in a worker.
   * @param handle - `array.handle` as posted
   * @returns an array on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const counts = AtomicInt32Array.from(workerData.counts)`
   */
  static from(handle: AtomicInt32ArrayHandle): AtomicInt32Array {
    attachIntegerArray(INT32, handle);
    return new AtomicInt32Array(handle.length);
  }

  /**
   * Creates an array of zeros in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param length - number of elements, 1 to 2^26
   * @param options - `padded` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const counts = new AtomicInt32Array(16)`
   */
  constructor(length: number, options?: AtomicArrayOptions) {
    super(INT32, length, options);
  }

  /**
   * A single atomic viewing element `index`.
   * @param index - 0 to length - 1
   * @returns an `AtomicInt32` on that element
   * @throws TypeError / RangeError for a bad index
   * @example `const mine = counts.at(workerIndex)`
   */
  at(index: number): AtomicInt32 {
    return AtomicInt32.from(this.elementRegion(index));
  }
}
