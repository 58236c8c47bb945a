import { checkInteger, checkOptionsObject, invalidArgument } from '@cf/core';
import { attachNext, takeAttached } from './internal/attach.js';
import {
  CACHE_LINE,
  checkRegion,
  corruptRegion,
  nextPowerOfTwo,
  type Placement,
  placeRegion,
  type RegionHandle,
} from './region.js';

/** A `StripedCounter` as posted to a worker. */
export interface StripedCounterHandle extends RegionHandle {}

/** Options of the `StripedCounter` constructor. */
export interface StripedCounterOptions extends Placement {
  /**
   * Number of cells, rounded up to a power of two (default 16, at most 1024). Give at least one
   * per thread that updates the counter: each handle claims its own cell on first use.
   */
  cells?: number | undefined;
}

const MAGIC = 0x53544350; // 'STCP'
const CELLS = 1; // Int32 index of the cell count in the header line
const NEXT_CELL = 2; // Int32 index of the next cell to hand out
const LINE_INTS = CACHE_LINE / 4;
const LINE_BIGS = CACHE_LINE / 8;
// Per cell line: a 32-bit running count (the hot word), a version word, and a 64-bit total at
// byte 8. Updates add to the 32-bit word, one `Atomics.add` like a plain AtomicInt32; when it
// reaches +-2^29 the cell moves it into the 64-bit total under the version (odd while moving), so
// readers never see the amount in both places or in neither. Deltas of 2^24 or more go to the
// total directly, so the running count cannot overflow before it is moved.
const FLUSH_AT = 2 ** 29;
const SMALL = 2 ** 24;
const VERSION = 1;
const TOTAL = 1; // BigInt64 index within the line
const MAX_CELLS = 1024;

/**
 * A counter many threads can update at full speed (like Java's `LongAdder`): each handle adds to
 * its own 64-bit cell on its own cache line, and `sum()` adds the cells up. Updates never
 * contend while each thread has its own cell; reads are slower and, while others update,
 * return a value the counter had at some moment during the call (not an atomic snapshot).
 *
 * Layout (8-aligned): a 64-byte header line, then one 64-byte line per cell: a 32-bit running
 * count, a version word and a 64-bit total (running counts move into the total at 2^29).
 *
 * @example
 * ```ts
 * const requests = new StripedCounter({ cells: 8 });
 * // in each worker: const local = StripedCounter.from(handle); local.increment();
 * console.log(requests.sum());
 * ```
 */
export class StripedCounter {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 8;
  /** Number of cells. */
  readonly cells: number;
  readonly #handle: StripedCounterHandle;
  readonly #ints: Int32Array;
  readonly #bigs: BigInt64Array;
  #cell = -1;

  /**
   * Bytes a counter with `cells` cells occupies.
   * @param cells - requested cells, 1 to 1024 (rounded up to a power of two; default 16)
   * @returns 64 * (cells + 1)
   * @throws TypeError / RangeError for a bad count
   * @example `StripedCounter.byteLength(8)`
   */
  static byteLength(cells = 16): number {
    return CACHE_LINE * (nextPowerOfTwo(checkInteger(cells, 'cells', 1, MAX_CELLS)) + 1);
  }

  /**
   * Rebuilds the counter from its handle, e.g. in a worker; the new handle claims its own cell.
   * @param handle - `counter.handle` as posted
   * @returns a counter on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const requests = StripedCounter.from(workerData.requests)`
   */
  static from(handle: StripedCounterHandle): StripedCounter {
    const region = checkRegion(handle, 'handle', CACHE_LINE, 8);
    const header = new Int32Array(region.buffer, region.byteOffset, 4);
    if (Atomics.load(header, 0) !== MAGIC)
      throw corruptRegion('handle', 'header', header[0], 'the region of a StripedCounter');
    const cells = header[CELLS]!;
    attachNext({ ...checkRegion(handle, 'handle', CACHE_LINE * (cells + 1), 8), cells });
    return new StripedCounter();
  }

  /**
   * Creates a zeroed counter in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param options - `cells` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad option
   * @example `const hits = new StripedCounter({ cells: 4 })`
   */
  constructor(options?: StripedCounterOptions) {
    const attached = takeAttached<RegionHandle & { cells: number }>();
    let region: RegionHandle;
    if (attached === undefined) {
      checkOptionsObject(options, 'options');
      const requested = options?.cells ?? 16;
      region = placeRegion(options, StripedCounter.byteLength(requested), 8);
      this.cells = nextPowerOfTwo(requested);
    } else {
      region = attached;
      this.cells = attached.cells;
    }
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset };
    this.#ints = new Int32Array(region.buffer, region.byteOffset, LINE_INTS * (this.cells + 1));
    this.#bigs = new BigInt64Array(region.buffer, region.byteOffset, LINE_BIGS * (this.cells + 1));
    if (attached === undefined) {
      this.#ints.fill(0);
      this.#ints[CELLS] = this.cells;
      Atomics.store(this.#ints, 0, MAGIC);
    }
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): StripedCounterHandle {
    return this.#handle;
  }

  /** Bytes this counter occupies. */
  get byteLength(): number {
    return this.#ints.byteLength;
  }

  /**
   * Adds `delta` to this handle's cell.
   * @param delta - a safe integer (negative subtracts)
   * @throws TypeError / RangeError for a non-integer
   * @example `bytesSent.add(chunk.length)`
   */
  add(delta: number): void {
    if (!Number.isSafeInteger(delta)) {
      throw invalidArgument(typeof delta === 'number' ? 'range' : 'type', 'delta', delta, 'a safe integer');
    }
    const cell = this.#myCell();
    if (delta < SMALL && delta > -SMALL) {
      const after = Atomics.add(this.#ints, cell, delta) + delta;
      if (after >= FLUSH_AT || after <= -FLUSH_AT) this.#flush(cell);
    } else {
      this.#addToTotal(cell, BigInt(delta));
    }
  }

  /**
   * Adds 1 to this handle's cell.
   * @example `requests.increment()`
   */
  increment(): void {
    const cell = this.#cell < 0 ? this.#myCell() : this.#cell;
    if (Atomics.add(this.#ints, cell, 1) >= FLUSH_AT - 1) this.#flush(cell);
  }

  /**
   * Subtracts 1 from this handle's cell.
   * @example `inFlight.decrement()`
   */
  decrement(): void {
    const cell = this.#cell < 0 ? this.#myCell() : this.#cell;
    if (Atomics.sub(this.#ints, cell, 1) <= 1 - FLUSH_AT) this.#flush(cell);
  }

  /**
   * The total of all cells as a number (exact up to 2^53).
   * @returns the sum
   * @example `console.log(requests.sum())`
   */
  sum(): number {
    return Number(this.sumBigInt());
  }

  /**
   * The total of all cells as a bigint (wrapping at 64 bits).
   * @returns the sum
   * @example `const total = requests.sumBigInt()`
   */
  sumBigInt(): bigint {
    let total = 0n;
    for (let cell = LINE_INTS; cell <= this.cells * LINE_INTS; cell += LINE_INTS) total += this.#read(cell);
    return BigInt.asIntN(64, total);
  }

  /**
   * Sets every cell to zero. Updates made during the call may be lost; call it while idle.
   * @example `requests.reset()`
   */
  reset(): void {
    this.sumThenReset();
  }

  /**
   * Returns the total and resets every cell, cell by cell; no update is lost or counted twice.
   * @returns the sum before the reset
   * @example `const perSecond = requests.sumThenReset()`
   */
  sumThenReset(): number {
    let total = 0n;
    for (let cell = LINE_INTS; cell <= this.cells * LINE_INTS; cell += LINE_INTS) {
      const version = this.#lockCell(cell);
      total += Atomics.exchange(this.#bigs, cell / 2 + TOTAL, 0n) + BigInt(Atomics.exchange(this.#ints, cell, 0));
      Atomics.store(this.#ints, cell + VERSION, version + 2);
    }
    return Number(BigInt.asIntN(64, total));
  }

  #myCell(): number {
    let cell = this.#cell;
    if (cell < 0) {
      // Handles take cells round-robin: one handle per thread gives each thread its own line.
      cell = this.#cell = ((Atomics.add(this.#ints, NEXT_CELL, 1) & (this.cells - 1)) + 1) * LINE_INTS;
    }
    return cell;
  }

  // A consistent running count + total of one cell: retried while a flush moves the amount.
  #read(cell: number): bigint {
    const ints = this.#ints;
    for (;;) {
      const version = Atomics.load(ints, cell + VERSION);
      if ((version & 1) === 0) {
        const total = Atomics.load(this.#bigs, cell / 2 + TOTAL);
        const running = Atomics.load(ints, cell);
        if (Atomics.load(ints, cell + VERSION) === version) return total + BigInt(running);
      }
    }
  }

  // Takes the cell's version lock (odd), waiting out another mover; returns the even version.
  #lockCell(cell: number): number {
    const ints = this.#ints;
    for (;;) {
      const version = Atomics.load(ints, cell + VERSION);
      if ((version & 1) === 0 && Atomics.compareExchange(ints, cell + VERSION, version, version + 1) === version) {
        return version;
      }
    }
  }

  #flush(cell: number): void {
    const ints = this.#ints;
    const version = Atomics.load(ints, cell + VERSION);
    // Another handle is moving this cell's count: it will take this amount too, or the next update will.
    if ((version & 1) !== 0 || Atomics.compareExchange(ints, cell + VERSION, version, version + 1) !== version) return;
    const running = Atomics.load(ints, cell);
    Atomics.add(this.#bigs, cell / 2 + TOTAL, BigInt(running));
    Atomics.sub(ints, cell, running);
    Atomics.store(ints, cell + VERSION, version + 2);
  }

  #addToTotal(cell: number, delta: bigint): void {
    const version = this.#lockCell(cell);
    Atomics.add(this.#bigs, cell / 2 + TOTAL, delta);
    Atomics.store(this.#ints, cell + VERSION, version + 2);
  }
}
