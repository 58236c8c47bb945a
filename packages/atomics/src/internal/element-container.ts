import { checkAcquireOptions, checkTimeout, invalidArgument } from '@cf/core';
import {
  checkElementArray,
  type ElementArray,
  type ElementInfo,
  type ElementType,
  type ElementValue,
  elementInfo,
} from '../element-type.js';
import { EventCount } from '../event-count.js';
import type { Placement, RegionHandle } from '../placement.js';
import { checkRegion, placeRegion } from '../region.js';
import { attachNext, takeAttached } from './attach.js';
import { CAPACITY, HEADER_BYTES, MAGIC, NOT_EMPTY_OFFSET, NOT_FULL_OFFSET, readHeader, TYPE } from './layout.js';
import { checkRange, type QueueWaitOptions } from './wait-options.js';
import { type Attempt, blockUntil, closedError, NOT_YET, timeoutError, waitUntil } from './waiting.js';

/** A queue or stack of typed elements as posted to a worker. */
export interface ElementContainerHandle<T extends ElementType = ElementType> extends RegionHandle {
  /** The element type. */
  readonly type: T;
  /** Number of slots. */
  readonly capacity: number;
}

/** What a container tells the shared code about its region (one constant object per class). */
export interface ContainerLayout {
  /** The class name, for messages. */
  readonly name: string;
  /** The header's magic number. */
  readonly magic: number;
  /** Bytes the control lines take at the start of the region (zeroed when created). */
  readonly controlBytes: number;
  /** Bytes of a region for `capacity` (a requested capacity: checked) slots of `type`. */
  readonly byteLength: (type: ElementType, capacity: number) => number;
  /** The capacity built for a requested one (rounded up where the structure needs it). */
  readonly capacityFor: (requested: number) => number;
  /** Initialises what is particular to the structure in a new region (before the magic is written). */
  readonly initialise?: (region: RegionHandle, capacity: number) => void;
  /**
   * Builds the "not empty" or "not full" event count (`offset` tells which) when the structure
   * extends it; `undefined` for a plain one.
   * @param at - the event count's place
   * @param region - the whole region
   * @param attach - `true` when attaching to an existing region (`from()`)
   */
  readonly events?: (offset: number, at: RegionHandle, region: RegionHandle, attach: boolean) => EventCount | undefined;
}

/** Returned by `take()` once the container is closed and every element in it was taken. */
export const DRAINED: unique symbol = Symbol('drained');

/**
 * Validates a handle against the header of its region and hands it to the constructor call that
 * follows (for `from()`).
 * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle, or a region that
 *   does not hold this structure with this element type and capacity
 */
export function attachContainer(handle: ElementContainerHandle, layout: ContainerLayout): void {
  const region = checkRegion(handle, 'handle', HEADER_BYTES, 8);
  const info = elementInfo(handle.type, 'handle.type');
  const header = readHeader(region, layout.magic, layout.name);
  if (header.typeCode !== info.code || header.capacity !== handle.capacity) {
    throw invalidArgument('range', 'handle', handle, `the handle of this region's ${layout.name}`);
  }
  const full = checkRegion(handle, 'handle', layout.byteLength(handle.type, header.capacity), 8);
  attachNext({ ...full, type: handle.type, capacity: header.capacity } as ElementContainerHandle);
}

/**
 * A bounded container of typed elements in shared memory (`SpscQueue`, `MpmcQueue`,
 * `TreiberStack`): what they share beyond their lock-free core. Every container has `try*` forms
 * that never wait, blocking `*Sync` forms for workers (spin briefly, then sleep on an event count),
 * async forms with `timeout` and `signal`, bulk forms over typed arrays, and `close()`: pushes
 * after it throw `ClosedError`; pops drain what is left, then throw `ClosedError`, and async
 * iteration ends.
 *
 * Layout: a 64-byte header line (magic, element type, capacity, flags, the "not empty" and "not
 * full" event counts), then the structure's own lines. 8-aligned.
 *
 * @typeParam T - the element type
 * @example
 * ```ts
 * const queue = new MpmcQueue('int32', 64);
 * queue.pushSync(1);
 * for await (const value of queue) console.log(value);
 * ```
 */
export abstract class ElementContainer<T extends ElementType> implements AsyncIterable<ElementValue<T>> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 8;
  /** The element type. */
  readonly type: T;
  /** Number of slots. */
  readonly capacity: number;
  /** The element type's details. */
  protected readonly info: ElementInfo;
  /** Notified after an element was added. */
  protected readonly notEmpty: EventCount;
  /** Notified after an element was removed. */
  protected readonly notFull: EventCount;
  readonly #handle: ElementContainerHandle<T>;
  readonly #byteLength: number;
  readonly #name: string;

  /**
   * Attaches to the region `from()` handed over, or builds an empty container.
   * @param layout - the subclass's region layout
   * @param type - the element type
   * @param capacity - the requested capacity (checked unless attaching)
   * @param options - where to place a new container
   */
  protected constructor(layout: ContainerLayout, type: T, capacity: number, options: Placement | undefined) {
    const attached = takeAttached<ElementContainerHandle<T>>();
    this.info = elementInfo(type);
    const region = attached ?? placeRegion(options, layout.byteLength(type, capacity), 8);
    this.type = type;
    this.capacity = attached?.capacity ?? layout.capacityFor(capacity);
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset, type, capacity: this.capacity };
    this.#byteLength = layout.byteLength(type, this.capacity);
    this.#name = layout.name;
    const placeAt = (offset: number): RegionHandle => ({
      buffer: region.buffer,
      byteOffset: region.byteOffset + offset,
    });
    const eventsAt = (offset: number, attach: boolean): EventCount => {
      const at = placeAt(offset);
      return layout.events?.(offset, at, region, attach) ?? (attach ? EventCount.from(at) : new EventCount(at));
    };
    if (attached !== undefined) {
      this.notEmpty = eventsAt(NOT_EMPTY_OFFSET, true);
      this.notFull = eventsAt(NOT_FULL_OFFSET, true);
      return;
    }
    const control = new Int32Array(region.buffer, region.byteOffset, layout.controlBytes / 4);
    control.fill(0);
    this.notEmpty = eventsAt(NOT_EMPTY_OFFSET, false);
    this.notFull = eventsAt(NOT_FULL_OFFSET, false);
    layout.initialise?.(region, this.capacity);
    control[TYPE] = this.info.code;
    control[CAPACITY] = this.capacity;
    Atomics.store(control, MAGIC, layout.magic);
  }

  /** The structured-clone-safe handle to post to another thread. */
  get handle(): ElementContainerHandle<T> {
    return this.#handle;
  }

  /** Bytes the container occupies. */
  get byteLength(): number {
    return this.#byteLength;
  }

  /** `true` once `close()` was called. */
  abstract get isClosed(): boolean;

  /**
   * Adds `value` if there is room.
   * @param value - a number (a bigint for 64-bit integer types)
   * @returns `false` when the container is full
   * @throws ClosedError after `close()`; TypeError for a value of the wrong type
   * @example `if (!queue.tryPush(x)) retryLater(x)`
   */
  abstract tryPush(value: ElementValue<T>): boolean;

  /**
   * Removes the next element (the oldest of a queue, the newest of a stack), if any. Like the
   * other hot paths (`tryPush`, `pushSync`, `popSync`), each structure defines it itself (see
   * `pushBlocking`).
   * @returns the element, or `undefined` when empty (also once closed and drained)
   * @example `const next = queue.tryPop()`
   */
  abstract tryPop(): ElementValue<T> | undefined;

  /**
   * Adds as many elements of `source[start, end)` as fit, in order.
   * @param source - a typed array of the element type
   * @param start - first index (default 0)
   * @param end - end index (default `source.length`)
   * @returns how many were added (0 when full)
   * @throws ClosedError after `close()`; TypeError / RangeError for bad arguments
   * @example `const sent = queue.tryPushMany(samples)`
   */
  tryPushMany(source: ElementArray<T>, start = 0, end: number = source?.length): number {
    checkElementArray(source, this.info, 'source');
    checkRange(source.length, start, end);
    return this.pushRun(source, start, end);
  }

  /**
   * Removes up to `end - start` elements into `target[start, end)`, in the order `tryPop` would.
   * @param target - a typed array of the element type
   * @param start - first index (default 0)
   * @param end - end index (default `target.length`)
   * @returns how many were removed (0 when empty)
   * @throws TypeError / RangeError for bad arguments
   * @example `const n = queue.tryPopMany(batch)`
   */
  tryPopMany(target: ElementArray<T>, start = 0, end: number = target?.length): number {
    checkElementArray(target, this.info, 'target');
    checkRange(target.length, start, end);
    return this.popRun(target, start, end);
  }

  /**
   * Adds every element of `source[start, end)`, blocking whenever the container is full.
   * @param source - a typed array of the element type
   * @param start - first index (default 0)
   * @param end - end index (default `source.length`)
   * @param timeout - milliseconds for the whole call (default: no limit)
   * @returns how many were added (fewer than asked only when the time limit passed)
   * @throws ClosedError when the container is or gets closed; TypeError / RangeError for bad arguments
   * @example `queue.pushManySync(frame)`
   */
  pushManySync(
    source: ElementArray<T>,
    start = 0,
    end: number = source?.length,
    timeout: number = Number.POSITIVE_INFINITY,
  ): number {
    checkElementArray(source, this.info, 'source');
    checkRange(source.length, start, end);
    checkTimeout(timeout, 'timeout');
    let index = start;
    const attempt = (): Attempt<number> => {
      index += this.pushRun(source, index, end);
      return index === end ? index : NOT_YET;
    };
    if (attempt() === NOT_YET) blockUntil(attempt, this.notFull, timeout);
    return index - start;
  }

  /**
   * Removes at least one element (up to `end - start`) into `target`, blocking while empty.
   * @param target - a typed array of the element type
   * @param start - first index (default 0)
   * @param end - end index (default `target.length`)
   * @param timeout - milliseconds (default: no limit)
   * @returns how many were removed; 0 when the time limit passed first
   * @throws ClosedError once closed and drained; TypeError / RangeError for bad arguments
   * @example `const n = queue.popManySync(batch)`
   */
  popManySync(
    target: ElementArray<T>,
    start = 0,
    end: number = target?.length,
    timeout: number = Number.POSITIVE_INFINITY,
  ): number {
    checkElementArray(target, this.info, 'target');
    checkRange(target.length, start, end);
    checkTimeout(timeout, 'timeout');
    if (start === end) return 0;
    const attempt = (): Attempt<number> => {
      const count = this.popRun(target, start, end);
      if (count > 0) return count;
      const last = this.take();
      if (last === DRAINED) throw closedError(this.#name);
      if (last === NOT_YET) return NOT_YET;
      target[start] = last as never;
      return 1 + this.popRun(target, start + 1, end);
    };
    const result = blockUntil(attempt, this.notEmpty, timeout);
    return result === NOT_YET ? 0 : result;
  }

  /**
   * Adds `value`, waiting without blocking while the container is full.
   * @param value - the element
   * @param options - `timeout` (ms) and `signal`
   * @returns resolves once added
   * @throws rejects with `TimeoutError`, `signal.reason`, `ClosedError`, or TypeError / RangeError
   * @example `await queue.push(x, { signal })`
   */
  async push(value: ElementValue<T>, options?: QueueWaitOptions): Promise<void> {
    checkAcquireOptions(options);
    if (this.tryPush(value)) return;
    const timeout = options?.timeout ?? Number.POSITIVE_INFINITY;
    const attempt = (): Attempt<true> => (this.tryPush(value) ? true : NOT_YET);
    const result = await waitUntil(attempt, this.notFull, timeout, options?.signal);
    if (result === NOT_YET) throw timeoutError(options?.timeout, `room in the ${this.#name}`);
  }

  /**
   * Removes the next element, waiting without blocking while the container is empty.
   * @param options - `timeout` (ms) and `signal`
   * @returns the element
   * @throws rejects with `ClosedError` once closed and drained, `TimeoutError`, `signal.reason`
   * @example `const job = await queue.pop({ timeout: 1000 })`
   */
  async pop(options?: QueueWaitOptions): Promise<ElementValue<T>> {
    checkAcquireOptions(options);
    const timeout = options?.timeout ?? Number.POSITIVE_INFINITY;
    const result = await waitUntil(() => this.#attemptPop(), this.notEmpty, timeout, options?.signal);
    if (result === NOT_YET) throw timeoutError(options?.timeout, `an element of the ${this.#name}`);
    return result;
  }

  /**
   * Closes the container and wakes every waiter: pushes throw `ClosedError` from now on; pops
   * drain the remaining elements first. Idempotent.
   * @example `queue.close()`
   */
  close(): void {
    this.markClosed();
    this.notEmpty.notify();
    this.notFull.notify();
  }

  /**
   * Pops until the container is closed and drained.
   * @returns an async iterator of the elements
   * @example `for await (const x of queue) use(x)`
   */
  async *[Symbol.asyncIterator](): AsyncIterator<ElementValue<T>> {
    for (;;) {
      const result = await waitUntil(() => this.take(), this.notEmpty, Number.POSITIVE_INFINITY, undefined);
      if (result === DRAINED) return;
      yield result as ElementValue<T>;
    }
  }

  /**
   * One pop attempt that also tells "closed and drained" apart from "empty for now".
   * @returns the element, `NOT_YET`, or `DRAINED`
   */
  protected abstract take(): Attempt<ElementValue<T>> | typeof DRAINED;

  /** Sets the closed flag (waking waiters is the caller's part). */
  protected abstract markClosed(): void;

  /**
   * Adds elements of `source[start, end)` while there is room (arguments checked).
   * @returns how many were added
   * @throws ClosedError when closed
   */
  protected pushRun(source: ElementArray<T>, start: number, end: number): number {
    let index = start;
    while (index < end && this.tryPush(source[index] as ElementValue<T>)) index++;
    return index - start;
  }

  /**
   * Removes elements into `target[start, end)` while there are any (arguments checked).
   * @returns how many were removed
   */
  protected popRun(target: ElementArray<T>, start: number, end: number): number {
    let index = start;
    while (index < end) {
      const value = this.take();
      if (value === NOT_YET || value === DRAINED) break;
      target[index++] = value as never;
    }
    return index - start;
  }

  /**
   * The rest of a blocking push after the subclass's own first attempt failed. The subclasses
   * define `pushSync` / `popSync` themselves around these: a method of this class calling back
   * into a subclass is a call with several targets once two kinds of container are in use, which
   * V8 does not inline (measured: a blocking push + pop 12-20% slower that way).
   * @param whileSpinning - a stricter attempt for the spinning phase (see `blockUntil`)
   * @returns `false` when the time limit passed first
   * @throws ClosedError when the container is or gets closed; TypeError / RangeError for bad arguments
   */
  protected pushBlocking(value: ElementValue<T>, timeout: number, whileSpinning?: () => Attempt<true>): boolean {
    checkTimeout(timeout, 'timeout');
    const attempt = (): Attempt<true> => (this.tryPush(value) ? true : NOT_YET);
    return blockUntil(attempt, this.notFull, timeout, whileSpinning) !== NOT_YET;
  }

  /**
   * The rest of a blocking pop after the subclass's own first attempt failed.
   * @returns the element, or `undefined` when the time limit passed first
   * @throws ClosedError once closed and drained; TypeError / RangeError for a bad timeout
   */
  protected popBlocking(timeout: number): ElementValue<T> | undefined {
    checkTimeout(timeout, 'timeout');
    const result = blockUntil(() => this.#attemptPop(), this.notEmpty, timeout);
    return result === NOT_YET ? undefined : result;
  }

  #attemptPop(): Attempt<ElementValue<T>> {
    const result = this.take();
    if (result === DRAINED) throw closedError(this.#name);
    return result;
  }
}
