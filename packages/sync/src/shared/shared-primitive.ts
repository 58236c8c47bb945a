import { checkNamedRegion } from '@cf/atomics';
import type { SharedPrimitiveHandle } from './options.js';

// `from(handle)` validates the handle, then calls the constructor, which attaches to the region
// instead of initialising it; the region travels through this slot (a constructor takes it first).
let attaching: SharedPrimitiveHandle | undefined;

/**
 * Validates a primitive's handle and hands it to the constructor call that follows (for `from()`).
 * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
 */
export function attachPrimitive(handle: SharedPrimitiveHandle, byteLength: number, alignment: number): void {
  attaching = checkNamedRegion(handle, byteLength, alignment);
}

/**
 * Takes the handle `from()` handed over; call it first in a constructor.
 * @returns the handle to attach to, or `undefined` when the constructor builds a new primitive
 */
export function takeAttachedPrimitive<H extends SharedPrimitiveHandle>(): H | undefined {
  const handle = attaching;
  attaching = undefined;
  return handle as H | undefined;
}

/**
 * What every shared coordination primitive has: a resource name and a handle on its region.
 *
 * @typeParam H - the handle type
 * @example
 * ```ts
 * const latch = new SharedCountDownLatch(2, { name: 'ready' });
 * worker.postMessage(latch.handle);
 * ```
 */
export abstract class SharedPrimitive<H extends SharedPrimitiveHandle = SharedPrimitiveHandle> {
  /** The resource name, the same in every thread. */
  readonly name: string;
  readonly #handle: H;
  readonly #byteLength: number;

  /**
   * @param handle - the region and name, new or attached
   * @param byteLength - bytes the primitive occupies
   */
  protected constructor(handle: H, byteLength: number) {
    this.name = handle.name;
    this.#handle = handle;
    this.#byteLength = byteLength;
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): H {
    return this.#handle;
  }

  /** Bytes this primitive occupies. */
  get byteLength(): number {
    return this.#byteLength;
  }
}
