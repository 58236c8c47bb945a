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
  FLAGS,
  HEADER_BYTES,
  MAGIC,
  NOT_EMPTY_OFFSET,
  NOT_FULL_OFFSET,
  readHeader,
  TYPE,
} from './internal/layout.js';
import { checkRange, type QueueWaitOptions } from './internal/queue-options.js';
import { type Attempt, blockUntil, NOT_YET, waitUntil } from './internal/waiting.js';
import {
  CACHE_LINE,
  checkRegion,
  nextPowerOfTwo,
  type Placement,
  placeRegion,
  type RegionHandle,
  roundUp,
} from './region.js';

/** An `SpscQueue` as posted to a worker. */
export interface SpscQueueHandle<T extends ElementType = ElementType> extends RegionHandle {
  /** The element type. */
  readonly type: T;
  /** Number of slots (a power of two). */
  readonly capacity: number;
}

const SPSC_MAGIC = 0x53505343; // 'SPSC'
const HEAD = CACHE_LINE / 4; // Int32 index: consumer's line
const TAIL = (2 * CACHE_LINE) / 4; // Int32 index: producer's line
const DATA_OFFSET = 3 * CACHE_LINE;
const CLOSED = 1;
const NOT_EMPTY_WORD = NOT_EMPTY_OFFSET / 4;
const NOT_FULL_WORD = NOT_FULL_OFFSET / 4;

let attaching: (RegionHandle & { capacity: number }) | undefined;

/**
 * A wait-free single-producer single-consumer ring of typed elements in shared memory: exactly
 * one thread pushes and exactly one thread pops. Each side publishes its index with one atomic
 * store and reads the other side's index only when its cached copy says full or empty, so a
 * push or pop touches no contended cache line in the common case. Bulk `tryPushMany` /
 * `tryPopMany` copy whole runs with `TypedArray.set`.
 *
 * Either side can wait: blocking (`pushSync`/`popSync`, for workers) or async (`push`/`pop`).
 * `close()` wakes every waiter: further pushes throw `ClosedError`; pops drain what remains and
 * then throw `ClosedError` (async iteration simply ends).
 *
 * Layout (8-aligned): a 64-byte header, the consumer's index on its own 64-byte line, the
 * producer's on another, then `capacity` elements.
 *
 * @example
 * ```ts
 * const queue = new SpscQueue('float64', 1024);
 * new Worker(url, { workerData: queue.handle });      // worker: SpscQueue.from(h).pushSync(42)
 * for await (const value of queue) console.log(value);
 * ```
 */
export class SpscQueue<T extends ElementType = ElementType> implements AsyncIterable<ElementValue<T>> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 8;
  /** The element type. */
  readonly type: T;
  /** Number of slots (the requested capacity rounded up to a power of two). */
  readonly capacity: number;
  readonly #handle: SpscQueueHandle<T>;
  readonly #info: ElementInfo;
  readonly #control: Int32Array;
  readonly #data: ElementArray<ElementType>;
  readonly #mask: number;
  readonly #notEmpty: EventCount;
  readonly #notFull: EventCount;
  // Each side's last view of the other side's index: stale only in the safe direction.
  #cachedHead = 0;
  #cachedTail = 0;

  /**
   * Bytes a queue of `capacity` elements of `type` occupies.
   * @param type - the element type
   * @param capacity - requested slots (rounded up to a power of two), 1 to 2^28
   * @returns the size in bytes
   * @throws TypeError / RangeError for bad arguments
   * @example `SpscQueue.byteLength('int32', 1024)`
   */
  static byteLength(type: ElementType, capacity: number): number {
    const info = elementInfo(type);
    return roundUp(DATA_OFFSET + nextPowerOfTwo(checkCapacity(capacity)) * info.bytes, 8);
  }

  /**
   * Rebuilds the queue from its handle, e.g. in a worker.
   * @param handle - `queue.handle` as posted
   * @returns a queue on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle or a region that
   *   does not hold this queue
   * @example `const queue = SpscQueue.from(workerData.queue)`
   */
  static from<T extends ElementType>(handle: SpscQueueHandle<T>): SpscQueue<T> {
    const region = checkRegion(handle, 'handle', HEADER_BYTES, 8);
    const info = elementInfo(handle.type, 'handle.type');
    const header = readHeader(region, SPSC_MAGIC, 'SpscQueue');
    if (header.typeCode !== info.code || header.capacity !== handle.capacity) {
      throw invalidArgument('range', 'handle', handle, `the handle of this region's SpscQueue`);
    }
    attaching = {
      ...checkRegion(handle, 'handle', SpscQueue.byteLength(handle.type, handle.capacity), 8),
      capacity: header.capacity,
    };
    return new SpscQueue(handle.type, header.capacity);
  }

  /**
   * Creates an empty queue in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param type - the element type, e.g. `'int32'` or `'float64'`
   * @param capacity - requested slots, rounded up to a power of two, 1 to 2^28
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const queue = new SpscQueue('int32', 4096)`
   */
  constructor(type: T, capacity: number, options?: Placement) {
    const attached = attaching;
    attaching = undefined;
    this.#info = elementInfo(type);
    const region = attached ?? placeRegion(options, SpscQueue.byteLength(type, capacity), 8);
    this.type = type;
    this.capacity = attached?.capacity ?? nextPowerOfTwo(capacity);
    this.#mask = this.capacity - 1;
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset, type, capacity: this.capacity };
    this.#control = new Int32Array(region.buffer, region.byteOffset, DATA_OFFSET / 4);
    this.#data = this.#info.create(region.buffer, region.byteOffset + DATA_OFFSET, this.capacity);
    const placeAt = (offset: number) => ({ buffer: region.buffer, byteOffset: region.byteOffset + offset });
    if (attached === undefined) {
      this.#control.fill(0);
      this.#notEmpty = new EventCount(placeAt(NOT_EMPTY_OFFSET));
      this.#notFull = new EventCount(placeAt(NOT_FULL_OFFSET));
      this.#control[TYPE] = this.#info.code;
      this.#control[CAPACITY] = this.capacity;
      Atomics.store(this.#control, MAGIC, SPSC_MAGIC);
    } else {
      this.#notEmpty = EventCount.from(placeAt(NOT_EMPTY_OFFSET));
      this.#notFull = EventCount.from(placeAt(NOT_FULL_OFFSET));
      this.#cachedHead = Atomics.load(this.#control, HEAD);
      this.#cachedTail = Atomics.load(this.#control, TAIL);
    }
  }

  /** The structured-clone-safe handle to post to the other thread. */
  get handle(): SpscQueueHandle<T> {
    return this.#handle;
  }

  /** Bytes this queue occupies. */
  get byteLength(): number {
    return DATA_OFFSET + this.#data.byteLength;
  }

  /** Elements in the queue now (exact when read by either side between its own operations). */
  get size(): number {
    return (Atomics.load(this.#control, TAIL) - Atomics.load(this.#control, HEAD)) | 0;
  }

  /** `true` once `close()` was called. */
  get isClosed(): boolean {
    return (Atomics.load(this.#control, FLAGS) & CLOSED) !== 0;
  }

  /**
   * Appends `value` if there is room. Producer side only.
   * @param value - a number (a bigint for 64-bit integer types)
   * @returns `false` when the queue is full
   * @throws ClosedError after `close()`; TypeError for a value of the wrong type
   * @example `if (!queue.tryPush(x)) backOff()`
   */
  tryPush(value: ElementValue<T>): boolean {
    if (this.#push(value)) return true;
    this.#cachedHead = Atomics.load(this.#control, HEAD);
    if (this.#push(value)) return true;
    if (this.isClosed) throw closedError();
    return false;
  }

  /**
   * Appends as many elements of `source[start, end)` as fit, in order. Producer side only.
   * @param source - a typed array of the queue's element type
   * @param start - first index (default 0)
   * @param end - end index (default `source.length`)
   * @returns how many were appended (0 when full)
   * @throws ClosedError after `close()`; TypeError / RangeError for bad arguments
   * @example `const sent = queue.tryPushMany(samples)`
   */
  tryPushMany(source: ElementArray<T>, start = 0, end: number = source?.length): number {
    checkElementArray(source, this.#info, 'source');
    checkRange(source.length, start, end);
    if (this.isClosed) throw closedError();
    return this.#pushRun(source, start, end);
  }

  /**
   * Removes the oldest element, if any. Consumer side only.
   * @returns the element, or `undefined` when the queue is empty (also once closed and drained)
   * @example `const next = queue.tryPop()`
   */
  tryPop(): ElementValue<T> | undefined {
    const value = this.#pop();
    if (value !== undefined) return value;
    this.#cachedTail = Atomics.load(this.#control, TAIL);
    return this.#pop();
  }

  /**
   * Removes up to `end - start` of the oldest elements into `target[start, end)`. Consumer side only.
   * @param target - a typed array of the queue's element type
   * @param start - first index (default 0)
   * @param end - end index (default `target.length`)
   * @returns how many were removed (0 when empty)
   * @throws TypeError / RangeError for bad arguments
   * @example `const n = queue.tryPopMany(batch)`
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
   * @example `queue.pushSync(x)`
   */
  pushSync(value: ElementValue<T>, timeout: number = Number.POSITIVE_INFINITY): boolean {
    // Only the cached view first: re-reading the consumer's index at once, every time the cache
    // runs out, would steal that line from the consumer for each element (see internal/waiting).
    if (this.#push(value)) return true;
    checkTimeout(timeout, 'timeout');
    return blockUntil(() => this.#attemptPush(value), this.#notFull, timeout) !== NOT_YET;
  }

  /**
   * Removes the oldest element, blocking while the queue is empty. For workers.
   * @param timeout - milliseconds (default: no limit)
   * @returns the element, or `undefined` when the time limit passed first
   * @throws ClosedError when the queue is closed and drained; TypeError / RangeError for a bad timeout
   * @example `const job = queue.popSync(1000)`
   */
  popSync(timeout: number = Number.POSITIVE_INFINITY): ElementValue<T> | undefined {
    const value = this.#pop();
    if (value !== undefined) return value;
    checkTimeout(timeout, 'timeout');
    const result = blockUntil(() => this.#attemptPop(), this.#notEmpty, timeout);
    return result === NOT_YET ? undefined : result;
  }

  /**
   * Appends every element of `source[start, end)`, blocking whenever the queue is full.
   * @param source - a typed array of the queue's element type
   * @param start - first index (default 0)
   * @param end - end index (default `source.length`)
   * @param timeout - milliseconds for the whole call (default: no limit)
   * @returns how many were appended (fewer than asked only when the time limit passed)
   * @throws ClosedError when the queue is or gets closed; TypeError / RangeError for bad arguments
   * @example `queue.pushManySync(frame)`
   */
  pushManySync(
    source: ElementArray<T>,
    start = 0,
    end: number = source?.length,
    timeout: number = Number.POSITIVE_INFINITY,
  ): number {
    checkElementArray(source, this.#info, 'source');
    checkRange(source.length, start, end);
    checkTimeout(timeout, 'timeout');
    let index = start;
    const attempt = (): Attempt<number> => {
      if (this.isClosed) throw closedError();
      index += this.#pushRun(source, index, end);
      return index === end ? index : NOT_YET;
    };
    blockUntil(attempt, this.#notFull, timeout);
    return index - start;
  }

  /**
   * Removes at least one element (up to `end - start`) into `target`, blocking while empty.
   * @param target - a typed array of the queue's element type
   * @param start - first index (default 0)
   * @param end - end index (default `target.length`)
   * @param timeout - milliseconds (default: no limit)
   * @returns how many were removed; 0 when the time limit passed first
   * @throws ClosedError when the queue is closed and drained; TypeError / RangeError for bad arguments
   * @example `const n = queue.popManySync(batch)`
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
    const result = blockUntil(() => this.#attemptPopRun(target, start, end), this.#notEmpty, timeout);
    return result === NOT_YET ? 0 : result;
  }

  /**
   * Appends `value`, waiting without blocking while the queue is full.
   * @param value - the element
   * @param options - `timeout` (ms) and `signal`
   * @returns resolves once appended
   * @throws rejects with `TimeoutError`, `signal.reason`, `ClosedError`, or TypeError / RangeError
   * @example `await queue.push(x, { signal })`
   */
  async push(value: ElementValue<T>, options?: QueueWaitOptions): Promise<void> {
    checkAcquireOptions(options);
    if (this.tryPush(value)) return;
    const result = await waitUntil(
      () => this.#attemptPush(value),
      this.#notFull,
      options?.timeout ?? Number.POSITIVE_INFINITY,
      options?.signal,
    );
    if (result === NOT_YET) throw timeoutError(options?.timeout, 'space in the SpscQueue');
  }

  /**
   * Removes the oldest element, waiting without blocking while the queue is empty.
   * @param options - `timeout` (ms) and `signal`
   * @returns the element
   * @throws rejects with `ClosedError` once closed and drained, `TimeoutError`, `signal.reason`
   * @example `const job = await queue.pop({ timeout: 1000 })`
   */
  async pop(options?: QueueWaitOptions): Promise<ElementValue<T>> {
    checkAcquireOptions(options);
    const result = await waitUntil(
      () => this.#attemptPop(),
      this.#notEmpty,
      options?.timeout ?? Number.POSITIVE_INFINITY,
      options?.signal,
    );
    if (result === NOT_YET) throw timeoutError(options?.timeout, 'an element of the SpscQueue');
    return result;
  }

  /**
   * Closes the queue and wakes every waiter: pushes throw `ClosedError` from now on; pops drain
   * the remaining elements first. Idempotent. Call it from the producer so no push races it.
   * @example `queue.close()`
   */
  close(): void {
    Atomics.or(this.#control, FLAGS, CLOSED);
    this.#notEmpty.notify();
    this.#notFull.notify();
  }

  /**
   * Pops until the queue is closed and drained.
   * @returns an async iterator of the elements
   * @example `for await (const x of queue) use(x)`
   */
  async *[Symbol.asyncIterator](): AsyncIterator<ElementValue<T>> {
    for (;;) {
      const result = await waitUntil(
        () => this.#attemptPopOrEnd(),
        this.#notEmpty,
        Number.POSITIVE_INFINITY,
        undefined,
      );
      if (result === END) return;
      yield result as ElementValue<T>;
    }
  }

  // Push against the cached consumer index only; `false` when that view says full.
  #push(value: ElementValue<T>): boolean {
    const control = this.#control;
    const tail = Atomics.load(control, TAIL);
    if (((tail - this.#cachedHead) | 0) >= this.capacity) return false;
    if (typeof value !== (this.#info.bigint ? 'bigint' : 'number')) checkElement(value, this.#info.bigint, 'value');
    if ((Atomics.load(control, FLAGS) & CLOSED) !== 0) throw closedError();
    (this.#data as Int32Array)[tail & this.#mask] = value as number;
    Atomics.store(control, TAIL, (tail + 1) | 0);
    // The event count's "someone waits" bit, read in place: the common case costs one load.
    if ((Atomics.load(control, NOT_EMPTY_WORD) & 1) !== 0) eventCountInternals.notify(this.#notEmpty);
    return true;
  }

  // Pop against the cached producer index only; `undefined` when that view says empty.
  #pop(): ElementValue<T> | undefined {
    const control = this.#control;
    const head = Atomics.load(control, HEAD);
    if (head === this.#cachedTail) return undefined;
    const value = this.#data[head & this.#mask] as ElementValue<T>;
    Atomics.store(control, HEAD, (head + 1) | 0);
    if ((Atomics.load(control, NOT_FULL_WORD) & 1) !== 0) eventCountInternals.notify(this.#notFull);
    return value;
  }

  #attemptPush(value: ElementValue<T>): Attempt<true> {
    return this.tryPush(value) ? true : NOT_YET;
  }

  #attemptPop(): Attempt<ElementValue<T>> {
    const value = this.tryPop();
    if (value !== undefined) return value;
    if (this.isClosed) {
      // Elements pushed before close() are visible once the closed flag is.
      const last = this.tryPop();
      if (last !== undefined) return last;
      throw closedError();
    }
    return NOT_YET;
  }

  #attemptPopOrEnd(): Attempt<ElementValue<T> | typeof END> {
    try {
      return this.#attemptPop();
    } catch (error) {
      if (error instanceof ClosedError) return END;
      throw error;
    }
  }

  #attemptPopRun(target: ElementArray<T>, start: number, end: number): Attempt<number> {
    const count = this.#popRun(target, start, end);
    if (count > 0) return count;
    if (this.isClosed) {
      const last = this.#popRun(target, start, end);
      if (last > 0) return last;
      throw closedError();
    }
    return NOT_YET;
  }

  #pushRun(source: ElementArray<T>, start: number, end: number): number {
    const control = this.#control;
    const tail = Atomics.load(control, TAIL);
    let free = this.capacity - ((tail - this.#cachedHead) | 0);
    if (free < end - start) {
      this.#cachedHead = Atomics.load(control, HEAD);
      free = this.capacity - ((tail - this.#cachedHead) | 0);
    }
    const count = Math.min(free, end - start);
    if (count === 0) return 0;
    const at = tail & this.#mask;
    const first = Math.min(count, this.capacity - at);
    const data = this.#data as Int32Array;
    data.set((source as Int32Array).subarray(start, start + first), at);
    if (first < count) data.set((source as Int32Array).subarray(start + first, start + count), 0);
    Atomics.store(control, TAIL, (tail + count) | 0);
    eventCountInternals.notify(this.#notEmpty);
    return count;
  }

  #popRun(target: ElementArray<T>, start: number, end: number): number {
    const control = this.#control;
    const head = Atomics.load(control, HEAD);
    let available = (this.#cachedTail - head) | 0;
    if (available < end - start) {
      this.#cachedTail = Atomics.load(control, TAIL);
      available = (this.#cachedTail - head) | 0;
    }
    const count = Math.min(available, end - start);
    if (count === 0) return 0;
    const at = head & this.#mask;
    const first = Math.min(count, this.capacity - at);
    const data = this.#data as Int32Array;
    (target as Int32Array).set(data.subarray(at, at + first), start);
    if (first < count) (target as Int32Array).set(data.subarray(0, count - first), start + first);
    Atomics.store(control, HEAD, (head + count) | 0);
    eventCountInternals.notify(this.#notFull);
    return count;
  }
}

const END: unique symbol = Symbol('end');

function closedError(): ClosedError {
  return new ClosedError('The SpscQueue is closed');
}

function timeoutError(timeout: number | undefined, what: string): TimeoutError {
  return new TimeoutError(`Timed out after ${timeout} ms waiting for ${what}`, timeout ?? 0);
}
