import { checkFunction, checkInteger, checkOptionsObject, invalidArgument } from '@cf/core';
import { attachNext, takeAttached } from './internal/attach.js';
import { checkRegion, corruptRegion, type Placement, placeRegion, type RegionHandle } from './region.js';

/** A `ThreadRegistry` as posted to a worker. */
export interface ThreadRegistryHandle extends RegionHandle {}

/** Options of the `ThreadRegistry` constructor. */
export interface ThreadRegistryOptions extends Placement {
  /** How many threads can be registered at once, 1 to 1024 (default 64). */
  slots?: number | undefined;
}

/** Anything with Node's `Worker` 'exit' event (an EventEmitter). */
export interface ExitEmitter {
  once(event: 'exit', listener: (...args: unknown[]) => void): unknown;
  off?(event: 'exit', listener: (...args: unknown[]) => void): unknown;
}

const MAGIC = 0x54524547; // 'TREG'
const HEADER_WORDS = 4; // magic, id, slots, spare
const MAX_SLOTS = 1024;
const SLOT_BITS = 10;
const GENERATION_MASK = 0xfffff; // 20 bits
const FREE = 0;
const ALIVE = 1;
const DEAD = 2;

interface Binding {
  readonly slot: number;
  readonly ownerId: number;
}

// This thread's slot in each registry it entered, keyed by the registry's random id: handles
// posted separately arrive as distinct SharedArrayBuffer objects, so the buffer cannot be the key.
const bindings = new Map<number, Binding>();

const generationOf = (word: number): number => word >>> 2;
const stateOf = (word: number): number => word & 3;
const nextGeneration = (generation: number): number =>
  (generation & GENERATION_MASK) + 1 > GENERATION_MASK ? 1 : generation + 1;

/**
 * The liveness registry that makes shared-memory locks robust against threads that die holding
 * them. Each participating thread owns a slot; its *owner id* (slot plus the slot's generation,
 * so a reused slot never revives a dead owner) is what robust locks record as holder. A thread
 * that is terminated runs no code, so its death must be reported by a thread that sees it: the
 * parent, through `watch(worker, slot)` (Node's 'exit' event) or `markDead(slot)`. Waiters of a
 * robust lock check the holder's liveness while they wait and take the lock over from a dead one.
 *
 * Layout: a 16-byte header (magic, registry id, slot count, spare), then one 32-bit word per
 * slot holding `generation << 2 | state` (free, alive, dead). 4-aligned.
 *
 * @example
 * ```ts
 * // parent
 * const registry = new ThreadRegistry();
 * const slot = registry.reserve();
 * const worker = new Worker(url, { workerData: { registry: registry.handle, slot, mutex: mutex.handle } });
 * registry.watch(worker, slot);
 * // worker
 * ThreadRegistry.from(workerData.registry).enter(workerData.slot);
 * ```
 */
export class ThreadRegistry {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;
  readonly #handle: ThreadRegistryHandle;
  readonly #words: Int32Array;
  readonly #id: number;
  readonly #slots: number;

  /**
   * Bytes a registry of `slots` slots occupies.
   * @param slots - 1 to 1024 (default 64)
   * @returns 16 + 4 * slots
   * @throws TypeError / RangeError for a bad count
   * @example `ThreadRegistry.byteLength(16)`
   */
  static byteLength(slots = 64): number {
    checkInteger(slots, 'slots', 1, MAX_SLOTS);
    return (HEADER_WORDS + slots) * 4;
  }

  /**
   * Rebuilds a registry from its handle, e.g. in a worker.
   * @param handle - `registry.handle` as posted
   * @returns a registry on the same memory
   * @throws TypeError / RangeError for a bad handle or a region that holds no registry
   * @example `const registry = ThreadRegistry.from(workerData.registry)`
   */
  static from(handle: ThreadRegistryHandle): ThreadRegistry {
    const region = checkRegion(handle, 'handle', HEADER_WORDS * 4, 4);
    const header = new Int32Array(region.buffer, region.byteOffset, HEADER_WORDS);
    if (header[0] !== MAGIC) throw corruptRegion('handle', 'header', header[0], 'the region of a ThreadRegistry');
    const slots = header[2]!;
    attachNext(checkRegion(handle, 'handle', (HEADER_WORDS + slots) * 4, 4));
    return new ThreadRegistry();
  }

  /**
   * Creates a registry in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param options - `slots` (default 64) and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad option
   * @example `const registry = new ThreadRegistry({ slots: 8 })`
   */
  constructor(options?: ThreadRegistryOptions) {
    const attached = takeAttached();
    if (attached !== undefined) {
      const header = new Int32Array(attached.buffer, attached.byteOffset, HEADER_WORDS);
      this.#slots = header[2]!;
      this.#id = header[1]!;
      this.#handle = { buffer: attached.buffer, byteOffset: attached.byteOffset };
      this.#words = new Int32Array(attached.buffer, attached.byteOffset, HEADER_WORDS + this.#slots);
      return;
    }
    checkOptionsObject(options, 'options');
    const slots = options?.slots ?? 64;
    const region = placeRegion(options, ThreadRegistry.byteLength(slots), 4);
    this.#slots = slots;
    this.#id = (Math.random() * 0x7fffffff) | 1;
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset };
    this.#words = new Int32Array(region.buffer, region.byteOffset, HEADER_WORDS + slots);
    this.#words.fill(0);
    this.#words[1] = this.#id;
    this.#words[2] = slots;
    Atomics.store(this.#words, 0, MAGIC);
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): ThreadRegistryHandle {
    return this.#handle;
  }

  /** Bytes this registry occupies. */
  get byteLength(): number {
    return (HEADER_WORDS + this.#slots) * 4;
  }

  /** Number of slots. */
  get slots(): number {
    return this.#slots;
  }

  /** The calling thread's slot, or `undefined` when it has not entered. */
  get currentSlot(): number | undefined {
    return bindings.get(this.#id)?.slot;
  }

  /**
   * Claims a free (or dead) slot for a thread about to start; the slot counts as alive from now.
   * Pass it to the thread, which calls `enter(slot)`, and `watch` the thread.
   * @returns the slot
   * @throws RangeError when every slot is alive
   * @example `const slot = registry.reserve()`
   */
  reserve(): number {
    const words = this.#words;
    for (let slot = 0; slot < this.#slots; slot++) {
      const index = HEADER_WORDS + slot;
      for (let word = Atomics.load(words, index); stateOf(word) !== ALIVE; word = Atomics.load(words, index)) {
        const claimed = (nextGeneration(generationOf(word)) << 2) | ALIVE;
        if (Atomics.compareExchange(words, index, word, claimed) === word) return slot;
      }
    }
    throw new RangeError(`ThreadRegistry is full: all ${this.#slots} slots are alive.`);
  }

  /**
   * Binds the calling thread to `slot` (reserved for it by its parent), or to a newly reserved
   * slot. Robust locks taken by this thread afterwards record its owner id.
   * @param slot - a slot from `reserve()`; omit to reserve one now
   * @returns the slot
   * @throws RangeError when the slot is not reserved, or this thread already entered another slot
   * @example `registry.enter(workerData.slot)`
   */
  enter(slot?: number): number {
    const current = bindings.get(this.#id);
    if (slot !== undefined) checkInteger(slot, 'slot', 0, this.#slots - 1);
    if (current !== undefined) {
      if (slot === undefined || slot === current.slot) return current.slot;
      throw invalidArgument('range', 'slot', slot, `${current.slot}: this thread already entered that slot`);
    }
    const chosen = slot ?? this.reserve();
    const word = Atomics.load(this.#words, HEADER_WORDS + chosen);
    if (stateOf(word) !== ALIVE) throw invalidArgument('range', 'slot', slot, 'a slot reserved with reserve()');
    bindings.set(this.#id, { slot: chosen, ownerId: (generationOf(word) << SLOT_BITS) | chosen });
    return chosen;
  }

  /**
   * Frees the calling thread's slot (call before a worker ends on its own). Robust locks it
   * still holds are then taken over by their next waiter, which is told the owner died.
   * @example `registry.leave()`
   */
  leave(): void {
    const binding = bindings.get(this.#id);
    if (binding === undefined) return;
    bindings.delete(this.#id);
    const generation = binding.ownerId >>> SLOT_BITS;
    const index = HEADER_WORDS + binding.slot;
    Atomics.compareExchange(this.#words, index, (generation << 2) | ALIVE, (generation << 2) | FREE);
  }

  /**
   * Records that the thread in `slot` died (it was terminated or crashed). Its robust locks are
   * taken over by their waiters within their liveness-check interval.
   * @param slot - the dead thread's slot
   * @throws TypeError / RangeError for a bad slot
   * @example `worker.on('exit', () => registry.markDead(slot))`
   */
  markDead(slot: number): void {
    checkInteger(slot, 'slot', 0, this.#slots - 1);
    const index = HEADER_WORDS + slot;
    const word = Atomics.load(this.#words, index);
    if (stateOf(word) === ALIVE) Atomics.compareExchange(this.#words, index, word, (generationOf(word) << 2) | DEAD);
  }

  /**
   * Marks `slot` dead when `worker` exits (Node's `Worker` 'exit' event fires after the thread
   * stopped, so it can no longer touch shared memory). A slot reused since is left alone.
   * @param worker - a Node `Worker` (anything with `once('exit', fn)`)
   * @param slot - the slot the worker entered
   * @returns a function that stops watching
   * @throws TypeError / RangeError for bad arguments
   * @example `registry.watch(worker, slot)`
   */
  watch(worker: ExitEmitter, slot: number): () => void {
    if (typeof worker !== 'object' || worker === null) {
      throw invalidArgument('type', 'worker', worker, 'a Worker (an object with once())');
    }
    checkFunction(worker.once, 'worker.once');
    checkInteger(slot, 'slot', 0, this.#slots - 1);
    const index = HEADER_WORDS + slot;
    const word = Atomics.load(this.#words, index);
    const onExit = (): void => {
      if (stateOf(word) === ALIVE) Atomics.compareExchange(this.#words, index, word, (generationOf(word) << 2) | DEAD);
    };
    worker.once('exit', onExit);
    return () => {
      worker.off?.('exit', onExit);
    };
  }

  /**
   * Whether the thread in `slot` is alive (reserved or entered, and not marked dead).
   * @param slot - a slot
   * @returns `true` while alive
   * @example `registry.isAlive(slot)`
   */
  isAlive(slot: number): boolean {
    checkInteger(slot, 'slot', 0, this.#slots - 1);
    return stateOf(Atomics.load(this.#words, HEADER_WORDS + slot)) === ALIVE;
  }

  /**
   * The owner id robust locks record for the calling thread: its slot and the slot's generation
   * (from 1024 to 2^30 - 1). Enters a new slot if the thread has none (fine for a main thread,
   * which cannot die alone; workers should `enter` the slot their parent watches).
   * @returns the owner id
   * @throws RangeError when the thread must enter and the registry is full
   * @example `const id = registry.currentOwnerId()`
   */
  currentOwnerId(): number {
    let binding = bindings.get(this.#id);
    if (binding === undefined) {
      this.enter();
      binding = bindings.get(this.#id)!;
    }
    return binding.ownerId;
  }

  /**
   * Whether the thread that recorded `ownerId` is still alive: its slot is alive and has not
   * been reused since.
   * @param ownerId - from `currentOwnerId()` of some thread
   * @returns `false` once that thread left, was marked dead, or its slot was reused
   * @example `if (!registry.isOwnerAlive(owner)) takeOver()`
   */
  isOwnerAlive(ownerId: number): boolean {
    const slot = ownerId & (MAX_SLOTS - 1);
    if (slot >= this.#slots) return false;
    const word = Atomics.load(this.#words, HEADER_WORDS + slot);
    return word === (((ownerId >>> SLOT_BITS) << 2) | ALIVE);
  }
}
