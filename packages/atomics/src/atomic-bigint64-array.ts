import { AtomicBigInt64 } from './atomic-bigint64.js';
import {
  type AtomicArrayOptions,
  AtomicIntegerArray,
  type AtomicIntegerArrayHandle,
  attachIntegerArray,
  integerArrayByteLength,
} from './internal/atomic-integer-array.js';
import { INT64 } from './internal/integer-kind.js';

/** An `AtomicBigInt64Array` as posted to a worker. */
export interface AtomicBigInt64ArrayHandle extends AtomicIntegerArrayHandle {}

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
export class AtomicBigInt64Array extends AtomicIntegerArray<bigint, AtomicBigInt64ArrayHandle> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 8;

  /**
   * Bytes an array of `length` elements occupies.
   * @param length - number of elements
   * @param padded - one element per 64-byte line
   * @returns the size in bytes
   * @throws TypeError / RangeError for bad arguments
   * @example `AtomicBigInt64Array.byteLength(8, true) // 512`
   */
  static byteLength(length: number, padded = false): number {
    return integerArrayByteLength(INT64, length, padded);
  }

  /**
   * Rebuilds the array from its handle, e.g. in a worker.
   * @param handle - `array.handle` as posted
   * @returns an array on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const counts = AtomicBigInt64Array.from(workerData.counts)`
   */
  static from(handle: AtomicBigInt64ArrayHandle): AtomicBigInt64Array {
    attachIntegerArray(INT64, handle);
    return new AtomicBigInt64Array(handle.length);
  }

  /**
   * Creates an array of zeros in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param length - number of elements, 1 to 2^26
   * @param options - `padded` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const counts = new AtomicBigInt64Array(16)`
   */
  constructor(length: number, options?: AtomicArrayOptions) {
    super(INT64, length, options);
  }

  /**
   * A single atomic viewing element `index`.
   * @param index - 0 to length - 1
   * @returns an `AtomicBigInt64` on that element
   * @throws TypeError / RangeError for a bad index
   * @example `const mine = counts.at(workerIndex)`
   */
  at(index: number): AtomicBigInt64 {
    return AtomicBigInt64.from(this.elementRegion(index));
  }
}
