import { AtomicInteger } from './internal/atomic-integer.js';
import { attachNext } from './internal/attach.js';
import { INT32 } from './internal/integer-kind.js';
import { checkRegion, type Placement, type RegionHandle } from './region.js';

/** An `AtomicInt32` as posted to a worker. */
export interface AtomicInt32Handle extends RegionHandle {}

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
export class AtomicInt32 extends AtomicInteger<number, AtomicInt32Handle> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;

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
    attachNext(checkRegion(handle, 'handle', 4, 4));
    return new AtomicInt32();
  }

  /**
   * Creates the atomic in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param initial - the initial value, an int32 (default 0)
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const hits = new AtomicInt32(0)`
   */
  constructor(initial = 0, options?: Placement) {
    super(INT32, initial, options);
  }
}
