import { AtomicUint32 } from './atomic-uint32.js';
import {
  type AtomicArrayOptions,
  AtomicIntegerArray,
  type AtomicIntegerArrayHandle,
  attachIntegerArray,
  integerArrayByteLength,
} from './internal/atomic-integer-array.js';
import { UINT32 } from './internal/integer-kind.js';

/** An `AtomicUint32Array` as posted to a worker. */
export interface AtomicUint32ArrayHandle extends AtomicIntegerArrayHandle {}

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
export class AtomicUint32Array extends AtomicIntegerArray<number, AtomicUint32ArrayHandle> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;

  /**
   * Bytes an array of `length` elements occupies.
   * @param length - number of elements
   * @param padded - one element per 64-byte line
   * @returns the size in bytes
   * @throws TypeError / RangeError for bad arguments
   * @example `AtomicUint32Array.byteLength(8, true) // 512`
   */
  static byteLength(length: number, padded = false): number {
    return integerArrayByteLength(UINT32, length, padded);
  }

  /**
   * Rebuilds the array from its handle, e.g. in a worker.
   * @param handle - `array.handle` as posted
   * @returns an array on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const counts = AtomicUint32Array.from(workerData.counts)`
   */
  static from(handle: AtomicUint32ArrayHandle): AtomicUint32Array {
    attachIntegerArray(UINT32, handle);
    return new AtomicUint32Array(handle.length);
  }

  /**
   * Creates an array of zeros in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param length - number of elements, 1 to 2^26
   * @param options - `padded` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const counts = new AtomicUint32Array(16)`
   */
  constructor(length: number, options?: AtomicArrayOptions) {
    super(UINT32, length, options);
  }

  /**
   * A single atomic viewing element `index`.
   * @param index - 0 to length - 1
   * @returns an `AtomicUint32` on that element
   * @throws TypeError / RangeError for a bad index
   * @example `const mine = counts.at(workerIndex)`
   */
  at(index: number): AtomicUint32 {
    return AtomicUint32.from(this.elementRegion(index));
  }
}
