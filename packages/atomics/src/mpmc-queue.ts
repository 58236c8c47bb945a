import { checkElement, type ElementArray, type ElementType, type ElementValue, elementInfo } from './element-type.js';
import { eventCountInternals } from './event-count.js';
import {
  attachContainer,
  type ContainerLayout,
  DRAINED,
  ElementContainer,
  type ElementContainerHandle,
} from './internal/element-container.js';
import { checkCapacity, NOT_EMPTY_OFFSET, NOT_FULL_OFFSET } from './internal/layout.js';
import { type Attempt, closedError, NOT_YET } from './internal/waiting.js';
import { CACHE_LINE, nextPowerOfTwo, type Placement } from './region.js';

/** An `MpmcQueue` as posted to a worker. */
export interface MpmcQueueHandle<T extends ElementType = ElementType> extends ElementContainerHandle<T> {}

const ENQUEUE = CACHE_LINE / 4; // Int32 index of the enqueue position (bit 31: closed)
const DEQUEUE = (2 * CACHE_LINE) / 4; // Int32 index of the dequeue position
const CELLS_OFFSET = 3 * CACHE_LINE;
const CELL_BYTES = 16; // sequence number, padding, value (up to 8 bytes)
const CLOSED = -0x80000000; // bit 31 of the enqueue position
const NOT_EMPTY_WORD = NOT_EMPTY_OFFSET / 4;
const NOT_FULL_WORD = NOT_FULL_OFFSET / 4;
const POSITION = 0x7fffffff; // positions and sequence numbers count modulo 2^31

// Each operation starts from a plain read of its position counter: an Atomics.load costs a call
// into the runtime on Node 20 (about 7 ns), and a stale value only makes the compare-and-swap
// that claims the position fail and hand back the current one. "Full" and "empty" are decided
// on atomic reads.

// The signed distance a - b of two positions modulo 2^31.
const distance = (a: number, b: number): number => ((a - b) << 1) >> 1;
// The Int32 index of the sequence number of the cell of `position`.
const sequenceAt = (position: number, mask: number): number =>
  (CELLS_OFFSET >> 2) + (position & mask) * (CELL_BYTES >> 2);

const capacityFor = (requested: number): number => Math.max(2, nextPowerOfTwo(requested));

const LAYOUT: ContainerLayout = {
  name: 'MpmcQueue',
  magic: 0x4d504d43, // 'MPMC'
  controlBytes: CELLS_OFFSET,
  byteLength: (type, capacity) => {
    elementInfo(type);
    return CELLS_OFFSET + capacityFor(checkCapacity(capacity)) * CELL_BYTES;
  },
  capacityFor,
  // Cell i starts with sequence number i: free for the producer of position i.
  initialise: ({ buffer, byteOffset }, capacity) => {
    const words = new Int32Array(buffer, byteOffset + CELLS_OFFSET, (capacity * CELL_BYTES) / 4);
    for (let cell = 0; cell < capacity; cell++) words[(cell * CELL_BYTES) / 4] = cell;
  },
};

/**
 * A bounded lock-free multi-producer multi-consumer queue of typed elements in shared memory
 * (Dmitry Vyukov's design): each slot carries a sequence number that says whose turn it is, so
 * producers and consumers claim positions with one compare-and-swap each (the bulk forms claim a
 * whole run of ready cells with one) and never wait on one another except when the queue is full
 * or empty.
 *
 * Waiting is blocking (`pushSync`/`popSync`) or async (`push`/`pop`). `close()` sets a bit in the
 * enqueue position itself, so a push either lands before the close (and is delivered) or throws
 * `ClosedError`; pops drain every element pushed before the close, then throw `ClosedError`. Any
 * thread may close it.
 *
 * Layout (8-aligned): a 64-byte header, the enqueue and dequeue positions on their own 64-byte
 * lines, then `capacity` cells of 16 bytes (sequence number, value).
 *
 * @example
 * ```ts
 * const jobs = new MpmcQueue('uint32', 1024);
 * for (const w of workers) w.postMessage(jobs.handle);   // workers: MpmcQueue.from(h).popSync()
 * await jobs.push(7);
 * ```
 */
export class MpmcQueue<T extends ElementType = ElementType> extends ElementContainer<T> {
  readonly #control: Int32Array;
  readonly #values: Int32Array; // any element type: TypeScript only needs one of them here
  readonly #valueStride: number;
  readonly #valueOffset: number;
  readonly #mask: number;

  /**
   * Bytes a queue of `capacity` elements occupies (16 bytes per slot, whatever the type).
   * @param type - the element type
   * @param capacity - requested slots (rounded up to a power of two, at least 2), 1 to 2^28
   * @returns the size in bytes
   * @throws TypeError / RangeError for bad arguments
   * @example `MpmcQueue.byteLength('int32', 1024)`
   */
  static byteLength(type: ElementType, capacity: number): number {
    return LAYOUT.byteLength(type, capacity);
  }

  /**
   * Rebuilds the queue from its handle, e.g. in a worker.
   * @param handle - `queue.handle` as posted
   * @returns a queue on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const jobs = MpmcQueue.from(workerData.jobs)`
   */
  static from<T extends ElementType>(handle: MpmcQueueHandle<T>): MpmcQueue<T> {
    attachContainer(handle, LAYOUT);
    return new MpmcQueue(handle.type, handle.capacity);
  }

  /**
   * Creates an empty queue in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param type - the element type
   * @param capacity - requested slots, rounded up to a power of two (at least 2), 1 to 2^28
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const jobs = new MpmcQueue('float64', 256)`
   */
  constructor(type: T, capacity: number, options?: Placement) {
    super(LAYOUT, type, capacity, options);
    const { buffer, byteOffset } = this.handle;
    const bytes = CELLS_OFFSET + this.capacity * CELL_BYTES;
    this.#mask = this.capacity - 1;
    this.#control = new Int32Array(buffer, byteOffset, bytes / 4);
    this.#values = this.info.create(buffer, byteOffset, bytes / this.info.bytes) as Int32Array;
    this.#valueStride = CELL_BYTES / this.info.bytes;
    this.#valueOffset = (CELLS_OFFSET + 8) / this.info.bytes;
  }

  /** Elements in the queue now (a snapshot; exact only while nobody pushes or pops). */
  get size(): number {
    const size = distance(Atomics.load(this.#control, ENQUEUE) & POSITION, Atomics.load(this.#control, DEQUEUE));
    return Math.min(Math.max(size, 0), this.capacity);
  }

  /** `true` once `close()` was called. */
  get isClosed(): boolean {
    return Atomics.load(this.#control, ENQUEUE) < 0;
  }

  /**
   * Appends `value` if there is room.
   * @param value - a number (a bigint for 64-bit integer types)
   * @returns `false` when the queue is full
   * @throws ClosedError after `close()`; TypeError for a value of the wrong type
   * @example `if (!jobs.tryPush(id)) retryLater(id)`
   */
  tryPush(value: ElementValue<T>): boolean {
    if (typeof value !== (this.info.bigint ? 'bigint' : 'number')) checkElement(value, this.info.bigint, 'value');
    const control = this.#control;
    let position = control[ENQUEUE] as number;
    for (;;) {
      if (position < 0) throw closedError('MpmcQueue');
      const cell = position & this.#mask;
      const sequenceIndex = sequenceAt(position, this.#mask);
      const gap = distance(Atomics.load(control, sequenceIndex), position);
      if (gap === 0) {
        const next = (position + 1) & POSITION;
        const found = Atomics.compareExchange(control, ENQUEUE, position, next);
        if (found === position) {
          this.#values[this.#valueOffset + cell * this.#valueStride] = value as number;
          Atomics.store(control, sequenceIndex, next);
          // The event count's "someone waits" bit, read in place: the common case costs one load.
          if ((Atomics.load(control, NOT_EMPTY_WORD) & 1) !== 0) eventCountInternals.notify(this.notEmpty);
          return true;
        }
        position = found;
      } else if (gap < 0) {
        // The slot still holds an element a full lap behind: full, unless a consumer just took it.
        const now = Atomics.load(control, ENQUEUE);
        if (now === position) return false;
        position = now;
      } else {
        position = Atomics.load(control, ENQUEUE);
      }
    }
  }

  /**
   * Removes the oldest element, if any.
   * @returns the element, or `undefined` when empty (also once closed and drained)
   * @example `const job = jobs.tryPop()`
   */
  tryPop(): ElementValue<T> | undefined {
    const result = this.take();
    return result === NOT_YET || result === DRAINED ? undefined : result;
  }

  /**
   * Appends `value`, blocking while the queue is full. For workers.
   * @param value - the element
   * @param timeout - milliseconds (default: no limit)
   * @returns `false` when the time limit passed first
   * @throws ClosedError when the queue is or gets closed; TypeError / RangeError for bad arguments
   * @example `jobs.pushSync(id)`
   */
  pushSync(value: ElementValue<T>, timeout: number = Number.POSITIVE_INFINITY): boolean {
    return this.tryPush(value) || this.pushBlocking(value, timeout);
  }

  /**
   * Removes the oldest element, blocking while the queue is empty. For workers.
   * @param timeout - milliseconds (default: no limit)
   * @returns the element, or `undefined` when the time limit passed first
   * @throws ClosedError once closed and drained; TypeError / RangeError for a bad timeout
   * @example `const job = jobs.popSync()`
   */
  popSync(timeout: number = Number.POSITIVE_INFINITY): ElementValue<T> | undefined {
    const first = this.take();
    return first === NOT_YET || first === DRAINED ? this.popBlocking(timeout) : first;
  }

  // Bulk forms claim a run of ready cells with one compare-and-swap instead of one per element:
  // under contention the positions' cache lines are what the threads queue for.
  protected override pushRun(source: ElementArray<T>, start: number, end: number): number {
    const control = this.#control;
    const wanted = end - start;
    let position = control[ENQUEUE] as number;
    for (;;) {
      if (position < 0) throw closedError('MpmcQueue');
      const count = this.#readyRun(position, 0, wanted);
      if (count === 0) {
        const now = Atomics.load(control, ENQUEUE);
        if (now === position) return 0;
        position = now;
        continue;
      }
      const found = Atomics.compareExchange(control, ENQUEUE, position, (position + count) & POSITION);
      if (found !== position) {
        position = found;
        continue;
      }
      for (let i = 0; i < count; i++) {
        const at = (position + i) & POSITION;
        this.#values[this.#valueOffset + (at & this.#mask) * this.#valueStride] = source[start + i] as number;
        Atomics.store(control, sequenceAt(at, this.#mask), (at + 1) & POSITION);
      }
      if ((Atomics.load(control, NOT_EMPTY_WORD) & 1) !== 0) eventCountInternals.notify(this.notEmpty);
      return count;
    }
  }

  protected override popRun(target: ElementArray<T>, start: number, end: number): number {
    const control = this.#control;
    const wanted = end - start;
    let position = control[DEQUEUE] as number;
    for (;;) {
      const count = this.#readyRun(position, 1, wanted);
      if (count === 0) {
        const now = Atomics.load(control, DEQUEUE);
        if (now === position) return 0;
        position = now;
        continue;
      }
      const found = Atomics.compareExchange(control, DEQUEUE, position, (position + count) & POSITION);
      if (found !== position) {
        position = found;
        continue;
      }
      for (let i = 0; i < count; i++) {
        const at = (position + i) & POSITION;
        target[start + i] = this.#values[this.#valueOffset + (at & this.#mask) * this.#valueStride] as never;
        Atomics.store(control, sequenceAt(at, this.#mask), (at + this.capacity) & POSITION);
      }
      if ((Atomics.load(control, NOT_FULL_WORD) & 1) !== 0) eventCountInternals.notify(this.notFull);
      return count;
    }
  }

  // How many cells from `position` on (at most `limit`) have the sequence number `position + turn`:
  // free for their producer (turn 0) or filled for their consumer (turn 1). Once the position
  // counter is swapped past them, nobody else can claim them, so the run stays ready.
  #readyRun(position: number, turn: number, limit: number): number {
    const control = this.#control;
    let count = 0;
    while (count < limit) {
      const at = (position + count) & POSITION;
      if (Atomics.load(control, sequenceAt(at, this.#mask)) !== ((at + turn) & POSITION)) break;
      count++;
    }
    return count;
  }

  protected markClosed(): void {
    Atomics.or(this.#control, ENQUEUE, CLOSED);
  }

  // One pop: the element, NOT_YET when empty (or a producer is still writing the next slot),
  // DRAINED when closed and every position pushed before the close has been taken.
  protected take(): Attempt<ElementValue<T>> | typeof DRAINED {
    const control = this.#control;
    let position = control[DEQUEUE] as number;
    for (;;) {
      const cell = position & this.#mask;
      const sequenceIndex = sequenceAt(position, this.#mask);
      const gap = distance(Atomics.load(control, sequenceIndex), (position + 1) & POSITION);
      if (gap === 0) {
        const next = (position + 1) & POSITION;
        const found = Atomics.compareExchange(control, DEQUEUE, position, next);
        if (found === position) {
          const value = this.#values[this.#valueOffset + cell * this.#valueStride] as ElementValue<T>;
          Atomics.store(control, sequenceIndex, (position + this.capacity) & POSITION);
          if ((Atomics.load(control, NOT_FULL_WORD) & 1) !== 0) eventCountInternals.notify(this.notFull);
          return value;
        }
        position = found;
      } else if (gap < 0) {
        const now = Atomics.load(control, DEQUEUE);
        if (now !== position) {
          position = now;
          continue;
        }
        const enqueue = Atomics.load(control, ENQUEUE);
        return enqueue < 0 && (enqueue & POSITION) === position ? DRAINED : NOT_YET;
      } else {
        position = Atomics.load(control, DEQUEUE);
      }
    }
  }
}
