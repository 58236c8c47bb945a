import { checkInteger } from '@cf/core';
import { attachNext, takeAttached } from './internal/attach.js';
import { checkBoolean } from './internal/checks.js';
import { checkRegion, type Placement, placeRegion, type RegionHandle } from './region.js';

/** An `AtomicMarkableReference` as posted to a worker. */
export interface AtomicMarkableReferenceHandle extends RegionHandle {}

/** An index and its mark, read together. */
export interface MarkedIndex {
  /** The referenced index, or -1 for none. */
  readonly index: number;
  /** The mark (e.g. "logically deleted"). */
  readonly marked: boolean;
}

const MARK = -0x80000000; // bit 31
const INDEX_BITS = 0x7fffffff;
const MAX_INDEX = 0x7ffffffe;

// Bits 0-30 hold index + 1 (0: none), bit 31 the mark.
const pack = (index: number, marked: boolean): number => (index + 1) | (marked ? MARK : 0) | 0;
const indexOf = (word: number): number => (word & INDEX_BITS) - 1;

/**
 * An index paired with a boolean mark, changed together in one compare-and-set: the building
 * block of lock-free lists that mark a node deleted before unlinking it (Harris's list).
 *
 * Packing: one 32-bit word, 4-aligned; bits 0-30 hold `index + 1` (0 for -1, "none") and bit 31
 * the mark. Indexes run from -1 to 2^31 - 2. The mark only tells two states apart, so it does not
 * catch ABA by itself; use {@link AtomicStampedReference} where an index can come back.
 *
 * @example
 * ```ts
 * const next = new AtomicMarkableReference(3, false);
 * next.compareAndSet(3, 3, false, true);   // mark as deleted
 * ```
 */
export class AtomicMarkableReference {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;
  readonly #handle: AtomicMarkableReferenceHandle;
  readonly #word: Int32Array;

  /**
   * Bytes an `AtomicMarkableReference` occupies.
   * @returns 4
   * @example `AtomicMarkableReference.byteLength()`
   */
  static byteLength(): number {
    return 4;
  }

  /**
   * Rebuilds the reference from its handle, e.g. in a worker.
   * @param handle - `reference.handle` as posted
   * @returns a reference on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const next = AtomicMarkableReference.from(workerData.next)`
   */
  static from(handle: AtomicMarkableReferenceHandle): AtomicMarkableReference {
    attachNext(checkRegion(handle, 'handle', 4, 4));
    return new AtomicMarkableReference();
  }

  /**
   * Creates the reference in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param index - the initial index, -1 (none) to 2^31 - 2 (default -1)
   * @param marked - the initial mark (default `false`)
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const next = new AtomicMarkableReference(-1, false)`
   */
  constructor(index = -1, marked = false, options?: Placement) {
    const attached = takeAttached();
    if (attached === undefined) {
      checkInteger(index, 'index', -1, MAX_INDEX);
      checkBoolean(marked, 'marked');
    }
    const region = attached ?? placeRegion(options, 4, 4);
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset };
    this.#word = new Int32Array(region.buffer, region.byteOffset, 1);
    if (attached === undefined) Atomics.store(this.#word, 0, pack(index, marked));
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): AtomicMarkableReferenceHandle {
    return this.#handle;
  }

  /** Bytes this reference occupies (4). */
  get byteLength(): number {
    return 4;
  }

  /**
   * Reads index and mark together.
   * @returns both, from one atomic read
   * @example `const { index, marked } = next.get()`
   */
  get(): MarkedIndex {
    const word = Atomics.load(this.#word, 0);
    return { index: indexOf(word), marked: word < 0 };
  }

  /**
   * Reads the index.
   * @returns the index, or -1
   * @example `next.getIndex()`
   */
  getIndex(): number {
    return indexOf(Atomics.load(this.#word, 0));
  }

  /**
   * Reads the mark.
   * @returns the mark
   * @example `if (next.isMarked()) help()`
   */
  isMarked(): boolean {
    return Atomics.load(this.#word, 0) < 0;
  }

  /**
   * Writes index and mark together.
   * @param index - -1 to 2^31 - 2
   * @param marked - the mark
   * @throws TypeError / RangeError for bad arguments
   * @example `next.set(-1, false)`
   */
  set(index: number, marked: boolean): void {
    checkInteger(index, 'index', -1, MAX_INDEX);
    Atomics.store(this.#word, 0, pack(index, checkBoolean(marked, 'marked')));
  }

  /**
   * Sets `newIndex`/`newMark` if the index is `expectedIndex` and the mark `expectedMark`.
   * @param expectedIndex - the index to find
   * @param newIndex - the index to store
   * @param expectedMark - the mark to find
   * @param newMark - the mark to store
   * @returns whether both matched and the swap happened
   * @throws TypeError / RangeError for bad arguments
   * @example `next.compareAndSet(succ, succ, false, true)`
   */
  compareAndSet(expectedIndex: number, newIndex: number, expectedMark: boolean, newMark: boolean): boolean {
    checkInteger(expectedIndex, 'expectedIndex', -1, MAX_INDEX);
    checkInteger(newIndex, 'newIndex', -1, MAX_INDEX);
    const expected = pack(expectedIndex, checkBoolean(expectedMark, 'expectedMark'));
    return (
      Atomics.compareExchange(this.#word, 0, expected, pack(newIndex, checkBoolean(newMark, 'newMark'))) === expected
    );
  }

  /**
   * Sets the mark to `newMark` if the index is `expectedIndex` (whatever the mark).
   * @param expectedIndex - the index to find
   * @param newMark - the mark to store
   * @returns whether the index matched and the mark was set
   * @throws TypeError / RangeError for bad arguments
   * @example `next.attemptMark(succ, true)`
   */
  attemptMark(expectedIndex: number, newMark: boolean): boolean {
    checkInteger(expectedIndex, 'expectedIndex', -1, MAX_INDEX);
    checkBoolean(newMark, 'newMark');
    for (;;) {
      const word = Atomics.load(this.#word, 0);
      if (indexOf(word) !== expectedIndex) return false;
      if (Atomics.compareExchange(this.#word, 0, word, pack(expectedIndex, newMark)) === word) return true;
    }
  }
}
