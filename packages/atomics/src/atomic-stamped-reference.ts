import { checkInteger } from '@cf/core';
import { attachNext, takeAttached } from './internal/attach.js';
import { checkRegion, type Placement, placeRegion, type RegionHandle } from './region.js';

/** An `AtomicStampedReference` as posted to a worker. */
export interface AtomicStampedReferenceHandle extends RegionHandle {}

/** An index and its stamp, read together. */
export interface StampedIndex {
  /** The referenced index, or -1 for none. */
  readonly index: number;
  /** The stamp, 0 to 2^32 - 1. */
  readonly stamp: number;
}

const NONE = 0xffffffffn;
const LOW = 0xffffffffn;
const MAX_INDEX = 0xfffffffe;
const MAX_STAMP = 0xffffffff;

const pack = (index: number, stamp: number): bigint => (BigInt(stamp) << 32n) | (index === -1 ? NONE : BigInt(index));
const indexOf = (word: bigint): number => {
  const low = word & LOW;
  return low === NONE ? -1 : Number(low);
};
const stampOf = (word: bigint): number => Number(word >> 32n);

/**
 * An index (into a pool of slots, a table, a node array) paired with a stamp, changed together in
 * one compare-and-set so an ABA sequence (A -> B -> A between a read and a swap) is caught: bump
 * the stamp with every change and a stale `compareAndSet` fails even though the index matches.
 *
 * Packing: one 64-bit word, 8-aligned; bits 0-31 hold the index (all ones for -1, "none"), bits
 * 32-63 the stamp. Indexes run from -1 to 2^32 - 2; stamps from 0 to 2^32 - 1 and wrap, so an
 * ABA goes unnoticed only if the stamp advanced by an exact multiple of 2^32 between the read and
 * the swap.
 *
 * @example
 * ```ts
 * const top = new AtomicStampedReference(-1, 0);
 * const { index, stamp } = top.get();
 * top.compareAndSet(index, node, stamp, stamp + 1);
 * ```
 */
export class AtomicStampedReference {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 8;
  readonly #handle: AtomicStampedReferenceHandle;
  readonly #word: BigUint64Array;

  /**
   * Bytes an `AtomicStampedReference` occupies.
   * @returns 8
   * @example `AtomicStampedReference.byteLength()`
   */
  static byteLength(): number {
    return 8;
  }

  /**
   * Rebuilds the reference from its handle, e.g. in a worker.
   * @param handle - `reference.handle` as posted
   * @returns a reference on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const top = AtomicStampedReference.from(workerData.top)`
   */
  static from(handle: AtomicStampedReferenceHandle): AtomicStampedReference {
    attachNext(checkRegion(handle, 'handle', 8, 8));
    return new AtomicStampedReference();
  }

  /**
   * Creates the reference in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param index - the initial index, -1 (none) to 2^32 - 2 (default -1)
   * @param stamp - the initial stamp, 0 to 2^32 - 1 (default 0)
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const top = new AtomicStampedReference()`
   */
  constructor(index = -1, stamp = 0, options?: Placement) {
    const attached = takeAttached();
    if (attached === undefined) {
      checkInteger(index, 'index', -1, MAX_INDEX);
      checkInteger(stamp, 'stamp', 0, MAX_STAMP);
    }
    const region = attached ?? placeRegion(options, 8, 8);
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset };
    this.#word = new BigUint64Array(region.buffer, region.byteOffset, 1);
    if (attached === undefined) Atomics.store(this.#word, 0, pack(index, stamp));
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): AtomicStampedReferenceHandle {
    return this.#handle;
  }

  /** Bytes this reference occupies (8). */
  get byteLength(): number {
    return 8;
  }

  /**
   * Reads index and stamp together.
   * @returns both, from one atomic read
   * @example `const { index, stamp } = top.get()`
   */
  get(): StampedIndex {
    const word = Atomics.load(this.#word, 0);
    return { index: indexOf(word), stamp: stampOf(word) };
  }

  /**
   * Reads the index.
   * @returns the index, or -1
   * @example `top.getIndex()`
   */
  getIndex(): number {
    return indexOf(Atomics.load(this.#word, 0));
  }

  /**
   * Reads the stamp.
   * @returns the stamp
   * @example `top.getStamp()`
   */
  getStamp(): number {
    return stampOf(Atomics.load(this.#word, 0));
  }

  /**
   * Writes index and stamp together.
   * @param index - -1 to 2^32 - 2
   * @param stamp - 0 to 2^32 - 1
   * @throws TypeError / RangeError for bad arguments
   * @example `top.set(-1, 0)`
   */
  set(index: number, stamp: number): void {
    checkInteger(index, 'index', -1, MAX_INDEX);
    checkInteger(stamp, 'stamp', 0, MAX_STAMP);
    Atomics.store(this.#word, 0, pack(index, stamp));
  }

  /**
   * Sets `newIndex`/`newStamp` if the index is `expectedIndex` and the stamp `expectedStamp`.
   * @param expectedIndex - the index to find
   * @param newIndex - the index to store
   * @param expectedStamp - the stamp to find
   * @param newStamp - the stamp to store (usually `expectedStamp + 1`, wrapped by the caller at 2^32)
   * @returns whether both matched and the swap happened
   * @throws TypeError / RangeError for bad arguments
   * @example `if (top.compareAndSet(a, b, stamp, (stamp + 1) >>> 0)) ...`
   */
  compareAndSet(expectedIndex: number, newIndex: number, expectedStamp: number, newStamp: number): boolean {
    checkInteger(expectedIndex, 'expectedIndex', -1, MAX_INDEX);
    checkInteger(newIndex, 'newIndex', -1, MAX_INDEX);
    checkInteger(expectedStamp, 'expectedStamp', 0, MAX_STAMP);
    checkInteger(newStamp, 'newStamp', 0, MAX_STAMP);
    const expected = pack(expectedIndex, expectedStamp);
    return Atomics.compareExchange(this.#word, 0, expected, pack(newIndex, newStamp)) === expected;
  }

  /**
   * Sets the stamp to `newStamp` if the index is `expectedIndex` (whatever the stamp).
   * @param expectedIndex - the index to find
   * @param newStamp - the stamp to store
   * @returns whether the index matched and the stamp was set
   * @throws TypeError / RangeError for bad arguments
   * @example `top.attemptStamp(node, stamp + 1)`
   */
  attemptStamp(expectedIndex: number, newStamp: number): boolean {
    checkInteger(expectedIndex, 'expectedIndex', -1, MAX_INDEX);
    checkInteger(newStamp, 'newStamp', 0, MAX_STAMP);
    for (;;) {
      const word = Atomics.load(this.#word, 0);
      if (indexOf(word) !== expectedIndex) return false;
      if (Atomics.compareExchange(this.#word, 0, word, pack(expectedIndex, newStamp)) === word) return true;
    }
  }
}
