import { attachNext, takeAttached } from './internal/attach.js';
import { checkBoolean } from './internal/checks.js';
import { checkRegion, type Placement, placeRegion, type RegionHandle } from './region.js';

/** An `AtomicBoolean` as posted to a worker. */
export interface AtomicBooleanHandle extends RegionHandle {}

/**
 * A boolean in shared memory (a 32-bit cell holding 0 or 1), read and written with sequentially
 * consistent `Atomics` calls. Layout: 4 bytes, 4-aligned.
 *
 * @example
 * ```ts
 * const stop = new AtomicBoolean(false);
 * worker.postMessage(stop.handle);     // worker: while (!AtomicBoolean.from(h).get()) work();
 * stop.set(true);
 * ```
 */
export class AtomicBoolean {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;
  readonly #handle: AtomicBooleanHandle;
  readonly #array: Int32Array;

  /**
   * Bytes an `AtomicBoolean` occupies.
   * @returns 4
   * @example `AtomicBoolean.byteLength()`
   */
  static byteLength(): number {
    return 4;
  }

  /**
   * Rebuilds the atomic from its handle, e.g. in a worker.
   * @param handle - `atomic.handle` as posted
   * @returns an atomic on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const stop = AtomicBoolean.from(workerData.stop)`
   */
  static from(handle: AtomicBooleanHandle): AtomicBoolean {
    attachNext(checkRegion(handle, 'handle', 4, 4));
    return new AtomicBoolean();
  }

  /**
   * Creates the atomic in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param initial - the initial value (default `false`)
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const ready = new AtomicBoolean()`
   */
  constructor(initial = false, options?: Placement) {
    const attached = takeAttached();
    if (attached === undefined) checkBoolean(initial, 'initial');
    const region = attached ?? placeRegion(options, 4, 4);
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset };
    this.#array = new Int32Array(region.buffer, region.byteOffset, 1);
    if (attached === undefined) Atomics.store(this.#array, 0, initial ? 1 : 0);
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): AtomicBooleanHandle {
    return this.#handle;
  }

  /** Bytes this atomic occupies (4). */
  get byteLength(): number {
    return 4;
  }

  /**
   * Reads the value.
   * @returns the value
   * @example `if (stop.get()) return`
   */
  get(): boolean {
    return Atomics.load(this.#array, 0) !== 0;
  }

  /**
   * Writes the value.
   * @param value - a boolean
   * @throws TypeError for a non-boolean
   * @example `stop.set(true)`
   */
  set(value: boolean): void {
    Atomics.store(this.#array, 0, checkBoolean(value, 'value') ? 1 : 0);
  }

  /**
   * Writes the value and returns the previous one.
   * @param value - a boolean
   * @returns the previous value
   * @throws TypeError for a non-boolean
   * @example `if (!once.getAndSet(true)) initialise()`
   */
  getAndSet(value: boolean): boolean {
    return Atomics.exchange(this.#array, 0, checkBoolean(value, 'value') ? 1 : 0) !== 0;
  }

  /**
   * Sets `update` if the value is `expected`.
   * @param expected - the value to find
   * @param update - the value to store
   * @returns whether the swap happened
   * @throws TypeError for a non-boolean
   * @example `if (busy.compareAndSet(false, true)) run()`
   */
  compareAndSet(expected: boolean, update: boolean): boolean {
    const from = checkBoolean(expected, 'expected') ? 1 : 0;
    return Atomics.compareExchange(this.#array, 0, from, checkBoolean(update, 'update') ? 1 : 0) === from;
  }

  /**
   * Flips the value.
   * @returns the new value
   * @example `const on = light.toggle()`
   */
  toggle(): boolean {
    return Atomics.xor(this.#array, 0, 1) === 0;
  }
}
