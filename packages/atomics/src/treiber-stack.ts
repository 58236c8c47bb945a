import { ClosedError, checkAcquireOptions, checkTimeout, invalidArgument, TimeoutError } from '@cf/core';
import {
  checkElement,
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
import type { QueueWaitOptions } from './internal/queue-options.js';
import { type Attempt, blockUntil, NOT_YET, waitUntil } from './internal/waiting.js';
import { CACHE_LINE, checkRegion, type Placement, placeRegion, type RegionHandle, roundUp } from './region.js';

/** A `TreiberStack` as posted to a worker. */
export interface TreiberStackHandle<T extends ElementType = ElementType> extends RegionHandle {
  /** The element type. */
  readonly type: T;
  /** Number of nodes in the pool. */
  readonly capacity: number;
}

const STACK_MAGIC = 0x54524253; // 'TRBS'
const HEAD = CACHE_LINE / 8; // BigUint64 index of the stack's head
const FREE = (2 * CACHE_LINE) / 8; // BigUint64 index of the free list's head
const NEXT_OFFSET = 3 * CACHE_LINE;
// A head word: node index in bits 0-31 (all ones: none), a 31-bit stamp in bits 32-62, and in
// bit 63 the stack's closed flag. The stamp changes with every successful swap, so a head that
// went A -> B -> A while a thread was between its read and its compare-and-swap no longer matches.
const NONE = 0xffffffff;
const INDEX_MASK = 0xffffffffn;
const STAMP_UNIT = 1n << 32n;
const STAMP_MASK = ((1n << 31n) - 1n) << 32n;
const CLOSED_BIT = 1n << 63n;
const EMPTY_HEAD = INDEX_MASK;

const swapHead = (word: bigint, index: number): bigint =>
  ((word + STAMP_UNIT) & STAMP_MASK) | BigInt(index) | (word & CLOSED_BIT);

let attaching: (RegionHandle & { capacity: number }) | undefined;

/**
 * A lock-free LIFO stack of typed elements in shared memory (Treiber's stack) over a fixed pool
 * of `capacity` nodes. Both the stack and the pool's free list have stamped heads (see the
 * layout), so the ABA problem cannot corrupt them. `push` fails (or waits) when all nodes are in
 * use. `close()` sets a bit in the head itself: pushes after it throw `ClosedError`, pops drain
 * what remains and then throw `ClosedError`.
 *
 * Layout (8-aligned): a 64-byte header, the head and the free-list head on their own 64-byte
 * lines, the nodes' next links (4 bytes each), then the values.
 *
 * @example
 * ```ts
 * const stack = new TreiberStack('int32', 128);
 * stack.tryPush(1);
 * stack.tryPop(); // 1
 * ```
 */
export class TreiberStack<T extends ElementType = ElementType> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 8;
  /** The element type. */
  readonly type: T;
  /** Number of nodes: the most elements the stack holds at once. */
  readonly capacity: number;
  readonly #handle: TreiberStackHandle<T>;
  readonly #info: ElementInfo;
  readonly #heads: BigUint64Array;
  readonly #next: Int32Array;
  readonly #values: ElementArray<ElementType>;
  readonly #notEmpty: EventCount;
  readonly #notFull: EventCount;

  /**
   * Bytes a stack of `capacity` nodes of `type` occupies.
   * @param type - the element type
   * @param capacity - number of nodes, 1 to 2^28
   * @returns the size in bytes
   * @throws TypeError / RangeError for bad arguments
   * @example `TreiberStack.byteLength('int32', 128)`
   */
  static byteLength(type: ElementType, capacity: number): number {
    const info = elementInfo(type);
    checkCapacity(capacity);
    return roundUp(valuesOffset(capacity) + capacity * info.bytes, 8);
  }

  /**
   * Rebuilds the stack from its handle, e.g. in a worker.
   * @param handle - `stack.handle` as posted
   * @returns a stack on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const stack = TreiberStack.from(workerData.stack)`
   */
  static from<T extends ElementType>(handle: TreiberStackHandle<T>): TreiberStack<T> {
    const region = checkRegion(handle, 'handle', HEADER_BYTES, 8);
    const info = elementInfo(handle.type, 'handle.type');
    const header = readHeader(region, STACK_MAGIC, 'TreiberStack');
    if (header.typeCode !== info.code || header.capacity !== handle.capacity) {
      throw invalidArgument('range', 'handle', handle, `the handle of this region's TreiberStack`);
    }
    attaching = {
      ...checkRegion(handle, 'handle', TreiberStack.byteLength(handle.type, handle.capacity), 8),
      capacity: header.capacity,
    };
    return new TreiberStack(handle.type, header.capacity);
  }

  /**
   * Creates an empty stack in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param type - the element type
   * @param capacity - number of nodes, 1 to 2^28
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const stack = new TreiberStack('float64', 64)`
   */
  constructor(type: T, capacity: number, options?: Placement) {
    const attached = attaching;
    attaching = undefined;
    this.#info = elementInfo(type);
    const region = attached ?? placeRegion(options, TreiberStack.byteLength(type, capacity), 8);
    this.type = type;
    this.capacity = capacity;
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset, type, capacity };
    const control = new Int32Array(region.buffer, region.byteOffset, NEXT_OFFSET / 4);
    this.#heads = new BigUint64Array(region.buffer, region.byteOffset, NEXT_OFFSET / 8);
    this.#next = new Int32Array(region.buffer, region.byteOffset + NEXT_OFFSET, capacity);
    this.#values = this.#info.create(region.buffer, region.byteOffset + valuesOffset(capacity), capacity);
    const placeAt = (offset: number) => ({ buffer: region.buffer, byteOffset: region.byteOffset + offset });
    if (attached === undefined) {
      control.fill(0);
      this.#notEmpty = new EventCount(placeAt(NOT_EMPTY_OFFSET));
      this.#notFull = new EventCount(placeAt(NOT_FULL_OFFSET));
      for (let node = 0; node < capacity; node++) this.#next[node] = node + 1 < capacity ? node + 1 : -1;
      this.#heads[HEAD] = EMPTY_HEAD;
      this.#heads[FREE] = 0n;
      control[TYPE] = this.#info.code;
      control[CAPACITY] = capacity;
      Atomics.store(control, MAGIC, STACK_MAGIC);
    } else {
      this.#notEmpty = EventCount.from(placeAt(NOT_EMPTY_OFFSET));
      this.#notFull = EventCount.from(placeAt(NOT_FULL_OFFSET));
    }
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): TreiberStackHandle<T> {
    return this.#handle;
  }

  /** Bytes this stack occupies. */
  get byteLength(): number {
    return roundUp(valuesOffset(this.capacity) + this.capacity * this.#info.bytes, 8);
  }

  /** `true` when the stack holds no element now. */
  get isEmpty(): boolean {
    return (Atomics.load(this.#heads, HEAD) & INDEX_MASK) === INDEX_MASK;
  }

  /** `true` once `close()` was called. */
  get isClosed(): boolean {
    return (Atomics.load(this.#heads, HEAD) & CLOSED_BIT) !== 0n;
  }

  /**
   * Pushes `value` if a node is free.
   * @param value - a number (a bigint for 64-bit integer types)
   * @returns `false` when every node is in use
   * @throws ClosedError after `close()`; TypeError for a value of the wrong type
   * @example `if (!stack.tryPush(x)) dropOldest()`
   */
  tryPush(value: ElementValue<T>): boolean {
    if (typeof value !== (this.#info.bigint ? 'bigint' : 'number')) checkElement(value, this.#info.bigint, 'value');
    if (this.isClosed) throw closedError();
    const node = this.#popNode(FREE);
    if (node === NONE) return false;
    (this.#values as Int32Array)[node] = value as number;
    const heads = this.#heads;
    for (;;) {
      const head = Atomics.load(heads, HEAD);
      if ((head & CLOSED_BIT) !== 0n) {
        this.#pushNode(FREE, node);
        throw closedError();
      }
      const top = Number(head & INDEX_MASK);
      Atomics.store(this.#next, node, top === NONE ? -1 : top);
      if (Atomics.compareExchange(heads, HEAD, head, swapHead(head, node)) === head) break;
    }
    eventCountInternals.notify(this.#notEmpty);
    return true;
  }

  /**
   * Pops the most recently pushed element, if any.
   * @returns the element, or `undefined` when the stack is empty
   * @example `const top = stack.tryPop()`
   */
  tryPop(): ElementValue<T> | undefined {
    const result = this.#take();
    return result === NOT_YET || result === DRAINED ? undefined : result;
  }

  /**
   * Pushes `value`, blocking while every node is in use. For workers.
   * @param value - the element
   * @param timeout - milliseconds (default: no limit)
   * @returns `false` when the time limit passed first
   * @throws ClosedError when the stack is or gets closed; TypeError / RangeError for bad arguments
   * @example `stack.pushSync(x, 100)`
   */
  pushSync(value: ElementValue<T>, timeout: number = Number.POSITIVE_INFINITY): boolean {
    if (this.tryPush(value)) return true;
    checkTimeout(timeout, 'timeout');
    return blockUntil(() => (this.tryPush(value) ? true : NOT_YET), this.#notFull, timeout) !== NOT_YET;
  }

  /**
   * Pops an element, blocking while the stack is empty. For workers.
   * @param timeout - milliseconds (default: no limit)
   * @returns the element, or `undefined` when the time limit passed first
   * @throws ClosedError once closed and drained; TypeError / RangeError for a bad timeout
   * @example `const x = stack.popSync()`
   */
  popSync(timeout: number = Number.POSITIVE_INFINITY): ElementValue<T> | undefined {
    checkTimeout(timeout, 'timeout');
    const result = blockUntil(() => this.#attemptPop(), this.#notEmpty, timeout);
    return result === NOT_YET ? undefined : result;
  }

  /**
   * Pushes `value`, waiting without blocking while every node is in use.
   * @param value - the element
   * @param options - `timeout` (ms) and `signal`
   * @returns resolves once pushed
   * @throws rejects with `TimeoutError`, `signal.reason`, `ClosedError`, or TypeError / RangeError
   * @example `await stack.push(x)`
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
    if (result === NOT_YET) throw timeoutError(options?.timeout, 'a free node of the TreiberStack');
  }

  /**
   * Pops an element, waiting without blocking while the stack is empty.
   * @param options - `timeout` (ms) and `signal`
   * @returns the element
   * @throws rejects with `ClosedError` once closed and drained, `TimeoutError`, `signal.reason`
   * @example `const x = await stack.pop({ timeout: 50 })`
   */
  async pop(options?: QueueWaitOptions): Promise<ElementValue<T>> {
    checkAcquireOptions(options);
    const timeout = options?.timeout ?? Number.POSITIVE_INFINITY;
    const result = await waitUntil(() => this.#attemptPop(), this.#notEmpty, timeout, options?.signal);
    if (result === NOT_YET) throw timeoutError(options?.timeout, 'an element of the TreiberStack');
    return result;
  }

  /**
   * Closes the stack and wakes every waiter. Idempotent; any thread may call it.
   * @example `stack.close()`
   */
  close(): void {
    Atomics.or(this.#heads, HEAD, CLOSED_BIT);
    this.#notEmpty.notify();
    this.#notFull.notify();
  }

  #attemptPop(): Attempt<ElementValue<T>> {
    const result = this.#take();
    if (result === DRAINED) throw closedError();
    return result;
  }

  #take(): Attempt<ElementValue<T>> | typeof DRAINED {
    const heads = this.#heads;
    for (;;) {
      const head = Atomics.load(heads, HEAD);
      const top = Number(head & INDEX_MASK);
      if (top === NONE) return (head & CLOSED_BIT) !== 0n ? DRAINED : NOT_YET;
      // May read the link of a node another thread popped and reused meanwhile: the stamp then
      // differs and the swap fails, so the stale link is never installed.
      const next = Atomics.load(this.#next, top);
      if (Atomics.compareExchange(heads, HEAD, head, swapHead(head & ~INDEX_MASK, next >>> 0)) === head) {
        const value = this.#values[top] as ElementValue<T>;
        this.#pushNode(FREE, top);
        eventCountInternals.notify(this.#notFull);
        return value;
      }
    }
  }

  #popNode(list: number): number {
    const heads = this.#heads;
    for (;;) {
      const head = Atomics.load(heads, list);
      const top = Number(head & INDEX_MASK);
      if (top === NONE) return NONE;
      const next = Atomics.load(this.#next, top);
      if (Atomics.compareExchange(heads, list, head, swapHead(head & ~INDEX_MASK, next >>> 0)) === head) return top;
    }
  }

  #pushNode(list: number, node: number): void {
    const heads = this.#heads;
    for (;;) {
      const head = Atomics.load(heads, list);
      const top = Number(head & INDEX_MASK);
      Atomics.store(this.#next, node, top === NONE ? -1 : top);
      if (Atomics.compareExchange(heads, list, head, swapHead(head & ~INDEX_MASK, node)) === head) return;
    }
  }
}

function valuesOffset(capacity: number): number {
  return roundUp(NEXT_OFFSET + capacity * 4, 8);
}

const DRAINED: unique symbol = Symbol('drained');

function closedError(): ClosedError {
  return new ClosedError('The TreiberStack is closed');
}

function timeoutError(timeout: number | undefined, what: string): TimeoutError {
  return new TimeoutError(`Timed out after ${timeout} ms waiting for ${what}`, timeout ?? 0);
}
