import { ClosedError, checkAcquireOptions, checkTimeout, invalidArgument, TimeoutError } from '@cf/core';
import {
  checkElement,
  checkElementArray,
  type ElementArray,
  type ElementInfo,
  type ElementType,
  type ElementValue,
  elementInfo,
} from './element-type.js';
import { EventCount, eventCountInternals } from './event-count.js';
import {
  CAPACITY,
  checkCapacity,
  HEADER_BYTES,
  MAGIC,
  NOT_EMPTY_OFFSET,
  NOT_FULL_OFFSET,
  readHeader,
  TYPE,
} from './internal/layout.js';
import { checkRange, type QueueWaitOptions } from './internal/queue-options.js';
import { type Attempt, blockUntil, NOT_YET, waitUntil } from './internal/waiting.js';
import { CACHE_LINE, checkRegion, nextPowerOfTwo, type Placement, placeRegion, type RegionHandle } from './region.js';

/** An `MpmcQueue` as posted to a worker. */
export interface MpmcQueueHandle<T extends ElementType = ElementType> extends RegionHandle {
  /** The element type. */
  readonly type: T;
  /** Number of slots (a power of two). */
  readonly capacity: number;
}

const MPMC_MAGIC = 0x4d504d43; // 'MPMC'
const ENQUEUE = CACHE_LINE / 4; // Int32 index of the enqueue position (bit 31: closed)
const DEQUEUE = (2 * CACHE_LINE) / 4; // Int32 index of the dequeue position
const CELLS_OFFSET = 3 * CACHE_LINE;
const CELL_BYTES = 16; // sequence number, padding, value (up to 8 bytes)
const CLOSED = -0x80000000; // bit 31 of the enqueue position
const NOT_EMPTY_WORD = NOT_EMPTY_OFFSET / 4;
const NOT_FULL_WORD = NOT_FULL_OFFSET / 4;
const POSITION = 0x7fffffff; // positions and sequence numbers count modulo 2^31

// The signed distance a - b of two positions modulo 2^31.
const distance = (a: number, b: number): number => ((a - b) << 1) >> 1;

let attaching: (RegionHandle & { capacity: number }) | undefined;

/**
 * A bounded lock-free multi-producer multi-consumer queue of typed elements in shared memory
 * (Dmitry Vyukov's design): each slot carries a sequence number that says whose turn it is, so
 * producers and consumers claim positions with one compare-and-swap each and never wait on one
 * another except when the queue is full or empty.
 *
 * Waiting is blocking (`pushSync`/`popSync`) or async (`push`/`pop`). `close()` sets a bit in the
 * enqueue position itself, so a push either lands before the close (and is delivered) or throws
 * `ClosedError`; pops drain every element pushed before the close, then throw `ClosedError`.
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
export class MpmcQueue<T extends ElementType = ElementType> implements AsyncIterable<ElementValue<T>> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 8;
  /** The element type. */
  readonly type: T;
  /** Number of slots (the requested capacity rounded up to a power of two, at least 2). */
  readonly capacity: number;
  readonly #handle: MpmcQueueHandle<T>;
  readonly #info: ElementInfo;
  readonly #control: Int32Array;
  readonly #values: ElementArray<ElementType>;
  readonly #valueStride: number;
  readonly #valueOffset: number;
  readonly #mask: number;
  readonly #notEmpty: EventCount;
  readonly #notFull: EventCount;

  /**
   * Bytes a queue of `capacity` elements occupies (16 bytes per slot, whatever the type).
   * @param type - the element type
   * @param capacity - requested slots (rounded up to a power of two, at least 2), 1 to 2^28
   * @returns the size in bytes
   * @throws TypeError / RangeError for bad arguments
   * @example `MpmcQueue.byteLength('int32', 1024)`
   */
  static byteLength(type: ElementType, capacity: number): number {
    elementInfo(type);
    return CELLS_OFFSET + Math.max(2, nextPowerOfTwo(checkCapacity(capacity))) * CELL_BYTES;
  }

  /**
   * Rebuilds the queue from its handle, e.g. in a worker.
   * @param handle - `queue.handle` as posted
   * @returns a queue on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const jobs = MpmcQueue.from(workerData.jobs)`
   */
  static from<T extends ElementType>(handle: MpmcQueueHandle<T>): MpmcQueue<T> {
    const region = checkRegion(handle, 'handle', HEADER_BYTES, 8);
    const info = elementInfo(handle.type, 'handle.type');
    const header = readHeader(region, MPMC_MAGIC, 'MpmcQueue');
    if (header.typeCode !== info.code || header.capacity !== handle.capacity) {
      throw invalidArgument('range', 'handle', handle, `the handle of this region's MpmcQueue`);
    }
    attaching = {
      ...checkRegion(handle, 'handle', MpmcQueue.byteLength(handle.type, handle.capacity), 8),
      capacity: header.capacity,
    };
    return new MpmcQueue(handle.type, header.capacity);
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
    const attached = attaching;
    attaching = undefined;
    this.#info = elementInfo(type);
    const region = attached ?? placeRegion(options, MpmcQueue.byteLength(type, capacity), 8);
    this.type = type;
    this.capacity = attached?.capacity ?? Math.max(2, nextPowerOfTwo(capacity));
    this.#mask = this.capacity - 1;
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset, type, capacity: this.capacity };
    const bytes = CELLS_OFFSET + this.capacity * CELL_BYTES;
    this.#control = new Int32Array(region.buffer, region.byteOffset, bytes / 4);
    this.#values = this.#info.create(region.buffer, region.byteOffset, bytes / this.#info.bytes);
    this.#valueStride = CELL_BYTES / this.#info.bytes;
    this.#valueOffset = (CELLS_OFFSET + 8) / this.#info.bytes;
    const placeAt = (offset: number) => ({ buffer: region.buffer, byteOffset: region.byteOffset + offset });
    if (attached === undefined) {
      this.#control.fill(0);
      this.#notEmpty = new EventCount(placeAt(NOT_EMPTY_OFFSET));
      this.#notFull = new EventCount(placeAt(NOT_FULL_OFFSET));
      for (let cell = 0; cell < this.capacity; cell++) this.#control[(CELLS_OFFSET + cell * CELL_BYTES) / 4] = cell;
      this.#control[TYPE] = this.#info.code;
      this.#control[CAPACITY] = this.capacity;
      Atomics.store(this.#control, MAGIC, MPMC_MAGIC);
    } else {
      this.#notEmpty = EventCount.from(placeAt(NOT_EMPTY_OFFSET));
      this.#notFull = EventCount.from(placeAt(NOT_FULL_OFFSET));
    }
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): MpmcQueueHandle<T> {
    return this.#handle;
  }

  /** Bytes this queue occupies. */
  get byteLength(): number {
    return this.#control.byteLength;
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
    if (typeof value !== (this.#info.bigint ? 'bigint' : 'number')) checkElement(value, this.#info.bigint, 'value');
    const control = this.#control;
    let position = Atomics.load(control, ENQUEUE);
    for (;;) {
      if (position < 0) throw closedError();
      const cell = position & this.#mask;
      const sequenceIndex = (CELLS_OFFSET + cell * CELL_BYTES) >> 2;
      const gap = distance(Atomics.load(control, sequenceIndex), position);
      if (gap === 0) {
        const next = (position + 1) & POSITION;
        const found = Atomics.compareExchange(control, ENQUEUE, position, next);
        if (found === position) {
          (this.#values as Int32Array)[this.#valueOffset + cell * this.#valueStride] = value as number;
          Atomics.store(control, sequenceIndex, next);
          // The event count's "someone waits" bit, read in place: the common case costs one load.
          if ((Atomics.load(control, NOT_EMPTY_WORD) & 1) !== 0) eventCountInternals.notify(this.#notEmpty);
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
   * @returns the element, or `undefined` when the queue is empty (also once closed and drained)
   * @example `const job = jobs.tryPop()`
   */
  tryPop(): ElementValue<T> | undefined {
    const result = this.#take();
    return result === NOT_YET || result === DRAINED ? undefined : result;
  }

  /**
   * Appends elements of `source[start, end)` while there is room.
   * @param source - a typed array of the element type
   * @param start - first index (default 0)
   * @param end - end index (default `source.length`)
   * @returns how many were appended
   * @throws ClosedError after `close()`; TypeError / RangeError for bad arguments
   * @example `const sent = jobs.tryPushMany(ids)`
   */
  tryPushMany(source: ElementArray<T>, start = 0, end: number = source?.length): number {
    checkElementArray(source, this.#info, 'source');
    checkRange(source.length, start, end);
    let index = start;
    while (index < end && this.tryPush(source[index] as ElementValue<T>)) index++;
    return index - start;
  }

  /**
   * Removes up to `end - start` elements into `target[start, end)`.
   * @param target - a typed array of the element type
   * @param start - first index (default 0)
   * @param end - end index (default `target.length`)
   * @returns how many were removed
   * @throws TypeError / RangeError for bad arguments
   * @example `const n = jobs.tryPopMany(batch)`
   */
  tryPopMany(target: ElementArray<T>, start = 0, end: number = target?.length): number {
    checkElementArray(target, this.#info, 'target');
    checkRange(target.length, start, end);
    return this.#popRun(target, start, end);
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
    if (this.tryPush(value)) return true;
    checkTimeout(timeout, 'timeout');
    return blockUntil(() => (this.tryPush(value) ? true : NOT_YET), this.#notFull, timeout) !== NOT_YET;
  }

  /**
   * Removes the oldest element, blocking while the queue is empty. For workers.
   * @param timeout - milliseconds (default: no limit)
   * @returns the element, or `undefined` when the time limit passed first
   * @throws ClosedError once the queue is closed and drained; TypeError / RangeError for a bad timeout
   * @example `const job = jobs.popSync()`
   */
  popSync(timeout: number = Number.POSITIVE_INFINITY): ElementValue<T> | undefined {
    const first = this.#take();
    if (first !== NOT_YET && first !== DRAINED) return first;
    checkTimeout(timeout, 'timeout');
    const result = blockUntil(() => this.#attemptPop(), this.#notEmpty, timeout);
    return result === NOT_YET ? undefined : result;
  }

  /**
   * Removes at least one element (up to `end - start`) into `target`, blocking while empty.
   * @param target - a typed array of the element type
   * @param start - first index (default 0)
   * @param end - end index (default `target.length`)
   * @param timeout - milliseconds (default: no limit)
   * @returns how many were removed; 0 when the time limit passed first
   * @throws ClosedError once closed and drained; TypeError / RangeError for bad arguments
   * @example `const n = jobs.popManySync(batch)`
   */
  popManySync(
    target: ElementArray<T>,
    start = 0,
    end: number = target?.length,
    timeout: number = Number.POSITIVE_INFINITY,
  ): number {
    checkElementArray(target, this.#info, 'target');
    checkRange(target.length, start, end);
    checkTimeout(timeout, 'timeout');
    if (start === end) return 0;
    const attempt = (): Attempt<number> => {
      const count = this.#popRun(target, start, end);
      if (count > 0) return count;
      const last = this.#take();
      if (last === DRAINED) throw closedError();
      if (last === NOT_YET) return NOT_YET;
      target[start] = last as never;
      return 1 + this.#popRun(target, start + 1, end);
    };
    const result = blockUntil(attempt, this.#notEmpty, timeout);
    return result === NOT_YET ? 0 : result;
  }

  /**
   * Appends `value`, waiting without blocking while the queue is full.
   * @param value - the element
   * @param options - `timeout` (ms) and `signal`
   * @returns resolves once appended
   * @throws rejects with `TimeoutError`, `signal.reason`, `ClosedError`, or TypeError / RangeError
   * @example `await jobs.push(id, { timeout: 100 })`
   */
  async push(value: ElementValue<T>, options?: QueueWaitOptions): Promise<void> {
    checkAcquireOptions(options);
    if (this.tryPush(value)) return;
    const attempt = (): Attempt<true> => (this.tryPush(value) ? true : NOT_YET);
    const result = await waitUntil(
      attempt,
      this.#notFull,
      options?.timeout ?? Number.POSITIVE_INFINITY,
      options?.signal,
    );
    if (result === NOT_YET) throw timeoutError(options?.timeout, 'space in the MpmcQueue');
  }

  /**
   * Removes the oldest element, waiting without blocking while the queue is empty.
   * @param options - `timeout` (ms) and `signal`
   * @returns the element
   * @throws rejects with `ClosedError` once closed and drained, `TimeoutError`, `signal.reason`
   * @example `const job = await jobs.pop({ signal })`
   */
  async pop(options?: QueueWaitOptions): Promise<ElementValue<T>> {
    checkAcquireOptions(options);
    const timeout = options?.timeout ?? Number.POSITIVE_INFINITY;
    const result = await waitUntil(() => this.#attemptPop(), this.#notEmpty, timeout, options?.signal);
    if (result === NOT_YET) throw timeoutError(options?.timeout, 'an element of the MpmcQueue');
    return result;
  }

  /**
   * Closes the queue and wakes every waiter: pushes throw `ClosedError` from now on; pops drain
   * what was pushed before, then throw `ClosedError`. Idempotent; any thread may call it.
   * @example `jobs.close()`
   */
  close(): void {
    Atomics.or(this.#control, ENQUEUE, CLOSED);
    this.#notEmpty.notify();
    this.#notFull.notify();
  }

  /**
   * Pops until the queue is closed and drained.
   * @returns an async iterator of the elements
   * @example `for await (const job of jobs) run(job)`
   */
  async *[Symbol.asyncIterator](): AsyncIterator<ElementValue<T>> {
    for (;;) {
      const attempt = (): Attempt<ElementValue<T> | typeof DRAINED> => this.#take();
      const result = await waitUntil(attempt, this.#notEmpty, Number.POSITIVE_INFINITY, undefined);
      if (result === DRAINED) return;
      yield result as ElementValue<T>;
    }
  }

  #attemptPop(): Attempt<ElementValue<T>> {
    const result = this.#take();
    if (result === DRAINED) throw closedError();
    return result;
  }

  // One pop: the element, NOT_YET when empty (or a producer is still writing the next slot),
  // DRAINED when closed and every position pushed before the close has been taken.
  #take(): Attempt<ElementValue<T>> | typeof DRAINED {
    const control = this.#control;
    let position = Atomics.load(control, DEQUEUE);
    for (;;) {
      const cell = position & this.#mask;
      const sequenceIndex = (CELLS_OFFSET + cell * CELL_BYTES) >> 2;
      const gap = distance(Atomics.load(control, sequenceIndex), (position + 1) & POSITION);
      if (gap === 0) {
        const next = (position + 1) & POSITION;
        const found = Atomics.compareExchange(control, DEQUEUE, position, next);
        if (found === position) {
          const value = this.#values[this.#valueOffset + cell * this.#valueStride] as ElementValue<T>;
          Atomics.store(control, sequenceIndex, (position + this.capacity) & POSITION);
          if ((Atomics.load(control, NOT_FULL_WORD) & 1) !== 0) eventCountInternals.notify(this.#notFull);
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

  #popRun(target: ElementArray<T>, start: number, end: number): number {
    let index = start;
    while (index < end) {
      const value = this.#take();
      if (value === NOT_YET || value === DRAINED) break;
      target[index++] = value as never;
    }
    return index - start;
  }
}

const DRAINED: unique symbol = Symbol('drained');

function closedError(): ClosedError {
  return new ClosedError('The MpmcQueue is closed');
}

function timeoutError(timeout: number | undefined, what: string): TimeoutError {
  return new TimeoutError(`Timed out after ${timeout} ms waiting for ${what}`, timeout ?? 0);
}
