import { checkElement, type ElementType, type ElementValue, elementInfo } from './element-type.js';
import { eventCountInternals } from './event-count.js';
import {
  attachContainer,
  type ContainerLayout,
  DRAINED,
  ElementContainer,
  type ElementContainerHandle,
} from './internal/element-container.js';
import { checkCapacity } from './internal/layout.js';
import { type Attempt, closedError, NOT_YET } from './internal/waiting.js';
import { CACHE_LINE, type Placement, roundUp } from './region.js';

/** A `TreiberStack` as posted to a worker. */
export interface TreiberStackHandle<T extends ElementType = ElementType> extends ElementContainerHandle<T> {}

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

const valuesOffset = (capacity: number): number => roundUp(NEXT_OFFSET + capacity * 4, 8);

const LAYOUT: ContainerLayout = {
  name: 'TreiberStack',
  magic: 0x54524253, // 'TRBS'
  controlBytes: NEXT_OFFSET,
  byteLength: (type, capacity) => {
    const info = elementInfo(type);
    checkCapacity(capacity);
    return roundUp(valuesOffset(capacity) + capacity * info.bytes, 8);
  },
  capacityFor: (requested) => requested,
  // Every node starts on the free list, linked in order; the stack is empty.
  initialise: ({ buffer, byteOffset }, capacity) => {
    const next = new Int32Array(buffer, byteOffset + NEXT_OFFSET, capacity);
    for (let node = 0; node < capacity; node++) next[node] = node + 1 < capacity ? node + 1 : -1;
    const heads = new BigUint64Array(buffer, byteOffset, NEXT_OFFSET / 8);
    heads[HEAD] = EMPTY_HEAD;
    heads[FREE] = 0n;
  },
};

/**
 * A lock-free LIFO stack of typed elements in shared memory (Treiber's stack) over a fixed pool
 * of `capacity` nodes. Both the stack and the pool's free list have stamped heads (see the
 * layout), so the ABA problem cannot corrupt them. `push` fails (or waits) when all nodes are in
 * use. `close()` sets a bit in the head itself: pushes after it throw `ClosedError`, pops drain
 * what remains and then throw `ClosedError`. Any thread may close it.
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
export class TreiberStack<T extends ElementType = ElementType> extends ElementContainer<T> {
  readonly #heads: BigUint64Array;
  readonly #next: Int32Array;
  readonly #values: Int32Array; // any element type: TypeScript only needs one of them here

  /**
   * Bytes a stack of `capacity` nodes of `type` occupies.
   * @param type - the element type
   * @param capacity - number of nodes, 1 to 2^28
   * @returns the size in bytes
   * @throws TypeError / RangeError for bad arguments
   * @example `TreiberStack.byteLength('int32', 128)`
   */
  static byteLength(type: ElementType, capacity: number): number {
    return LAYOUT.byteLength(type, capacity);
  }

  /**
   * Rebuilds the stack from its handle, e.g. in a worker.
   * @param handle - `stack.handle` as posted
   * @returns a stack on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const stack = TreiberStack.from(workerData.stack)`
   */
  static from<T extends ElementType>(handle: TreiberStackHandle<T>): TreiberStack<T> {
    attachContainer(handle, LAYOUT);
    return new TreiberStack(handle.type, handle.capacity);
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
    super(LAYOUT, type, capacity, options);
    const { buffer, byteOffset } = this.handle;
    this.#heads = new BigUint64Array(buffer, byteOffset, NEXT_OFFSET / 8);
    this.#next = new Int32Array(buffer, byteOffset + NEXT_OFFSET, this.capacity);
    this.#values = this.info.create(buffer, byteOffset + valuesOffset(this.capacity), this.capacity) as Int32Array;
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
    if (typeof value !== (this.info.bigint ? 'bigint' : 'number')) checkElement(value, this.info.bigint, 'value');
    if (this.isClosed) throw closedError('TreiberStack');
    const node = this.#popNode(FREE);
    if (node === NONE) return false;
    this.#values[node] = value as number;
    const heads = this.#heads;
    for (;;) {
      const head = Atomics.load(heads, HEAD);
      if ((head & CLOSED_BIT) !== 0n) {
        this.#pushNode(FREE, node);
        throw closedError('TreiberStack');
      }
      const top = Number(head & INDEX_MASK);
      Atomics.store(this.#next, node, top === NONE ? -1 : top);
      if (Atomics.compareExchange(heads, HEAD, head, swapHead(head, node)) === head) break;
    }
    eventCountInternals.notify(this.notEmpty);
    return true;
  }

  /**
   * Pops the most recently pushed element, if any.
   * @returns the element, or `undefined` when empty (also once closed and drained)
   * @example `const top = stack.tryPop()`
   */
  tryPop(): ElementValue<T> | undefined {
    const result = this.take();
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
    return this.tryPush(value) || this.pushBlocking(value, timeout);
  }

  /**
   * Removes the most recently pushed element, blocking while the stack is empty. For workers.
   * @param timeout - milliseconds (default: no limit)
   * @returns the element, or `undefined` when the time limit passed first
   * @throws ClosedError once closed and drained; TypeError / RangeError for a bad timeout
   * @example `const x = stack.popSync()`
   */
  popSync(timeout: number = Number.POSITIVE_INFINITY): ElementValue<T> | undefined {
    const first = this.take();
    return first === NOT_YET || first === DRAINED ? this.popBlocking(timeout) : first;
  }

  protected markClosed(): void {
    Atomics.or(this.#heads, HEAD, CLOSED_BIT);
  }

  protected take(): Attempt<ElementValue<T>> | typeof DRAINED {
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
        eventCountInternals.notify(this.notFull);
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
