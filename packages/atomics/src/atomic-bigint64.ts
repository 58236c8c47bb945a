import { AtomicInteger } from './internal/atomic-integer.js';
import { attachNext } from './internal/attach.js';
import { INT64 } from './internal/integer-kind.js';
import { checkRegion, type Placement, type RegionHandle } from './region.js';

/** An `AtomicBigInt64` as posted to a worker. */
export interface AtomicBigInt64Handle extends RegionHandle {}

/**
 * A signed 64-bit integer (a `bigint`) in shared memory; every operation is one sequentially
 * consistent `Atomics` call (or a compare-and-set loop for `updateAndGet`/`accumulateAndGet`).
 * Arithmetic wraps at 64 bits. Layout: 8 bytes, 8-aligned.
 *
 * @example
 * ```ts
 * const hits = new AtomicBigInt64();
 * worker.postMessage(hits.handle);    // worker: AtomicBigInt64.from(handle).increment()
 * hits.addAndGet(5n);
 * ```
 */
export class AtomicBigInt64 extends AtomicInteger<bigint, AtomicBigInt64Handle> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 8;

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
    attachNext(checkRegion(handle, 'handle', 8, 8));
    return new AtomicBigInt64();
  }

  /**
   * Creates the atomic in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param initial - the initial value, an int64 bigint (default 0n)
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const hits = new AtomicBigInt64(0n)`
   */
  constructor(initial = 0n, options?: Placement) {
    super(INT64, initial, options);
  }
}
