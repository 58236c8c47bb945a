import { AtomicInteger } from './internal/atomic-integer.js';
import { attachNext } from './internal/attach.js';
import { UINT32 } from './internal/integer-kind.js';
import { checkRegion, type Placement, type RegionHandle } from './region.js';

/** An `AtomicUint32` as posted to a worker. */
export interface AtomicUint32Handle extends RegionHandle {}

/**
 * An unsigned 32-bit integer in shared memory; every operation is one sequentially consistent
 * `Atomics` call (or a compare-and-set loop for `updateAndGet`/`accumulateAndGet`). Arithmetic
 * wraps at 32 bits (negative deltas subtract). Layout: 4 bytes, 4-aligned.
 *
 * @example
 * ```ts
 * const hits = new AtomicUint32();
 * worker.postMessage(hits.handle);    // worker: AtomicUint32.from(handle).increment()
 * hits.addAndGet(5);
 * ```
 */
export class AtomicUint32 extends AtomicInteger<number, AtomicUint32Handle> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;

  /**
   * Bytes an `AtomicUint32` occupies.
   * @returns 4
   * @example `AtomicUint32.byteLength()`
   */
  static byteLength(): number {
    return 4;
  }

  /**
   * Rebuilds the atomic from its handle, e.g. in a worker.
   * @param handle - `atomic.handle` as posted
   * @returns an atomic on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const hits = AtomicUint32.from(workerData.hits)`
   */
  static from(handle: AtomicUint32Handle): AtomicUint32 {
    attachNext(checkRegion(handle, 'handle', 4, 4));
    return new AtomicUint32();
  }

  /**
   * Creates the atomic in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param initial - the initial value, a uint32 (default 0)
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const hits = new AtomicUint32(0)`
   */
  constructor(initial = 0, options?: Placement) {
    super(UINT32, initial, options);
  }
}
