import { blockingTimeout, EventCount, type NamedPlacement, placeNamedRegion } from '@cf/atomics';
import type { AcquireOptions } from '@cf/core';
import { invalidArgument } from '@cf/core';
import type { SharedPrimitiveHandle } from './options.js';
import { attachPrimitive, SharedPrimitive, takeAttachedPrimitive } from './shared-primitive.js';
import { blockUntil, type Observed, waitUntil } from './waiting.js';

/** A shared reset event as posted to a worker. */
export interface SharedResetEventHandle extends SharedPrimitiveHandle {}

/**
 * Options of the shared reset event constructors: `name` (default `shared-manual-reset-event#<n>`
 * / `shared-auto-reset-event#<n>`) and placement.
 */
export interface SharedResetEventOptions extends NamedPlacement {}

// Words: the state (1: set), then an EventCount.
const STATE = 0;
const EVENTS_OFFSET = 4;
const BYTES = 8;

/**
 * What the two reset events share: the state word, the event count, waiting for `ready()`, and
 * observer reports (mode `'event'`).
 */
abstract class SharedResetEvent extends SharedPrimitive<SharedResetEventHandle> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;
  protected readonly words: Int32Array;
  protected readonly events: EventCount;
  readonly #observed: Observed = { primitive: this, mode: 'event' };

  /**
   * Bytes the event occupies.
   * @returns 8
   * @example `SharedManualResetEvent.byteLength()`
   */
  static byteLength(): number {
    return BYTES;
  }

  protected constructor(initialState: boolean, options: SharedResetEventOptions | undefined, kind: string) {
    const attached = takeAttachedPrimitive<SharedResetEventHandle>();
    if (attached === undefined && typeof initialState !== 'boolean') {
      throw invalidArgument('type', 'initialState', initialState, 'a boolean');
    }
    super(attached ?? placeNamedRegion(options, kind, BYTES, 4), BYTES);
    const { buffer, byteOffset } = this.handle;
    this.words = new Int32Array(buffer, byteOffset, 1);
    const events = { buffer, byteOffset: byteOffset + EVENTS_OFFSET };
    if (attached === undefined) {
      this.events = new EventCount(events);
      Atomics.store(this.words, STATE, initialState ? 1 : 0);
    } else {
      this.events = EventCount.from(events);
    }
  }

  /** `true` while the event is set. */
  get isSet(): boolean {
    return Atomics.load(this.words, STATE) === 1;
  }

  /**
   * Clears the event without releasing anyone.
   * @example `event.reset()`
   */
  reset(): void {
    Atomics.store(this.words, STATE, 0);
  }

  /** Blocks until `ready()` (a passing wait), reporting to observers. */
  protected blockUntil(ready: () => boolean, timeout: number | undefined): boolean {
    return blockUntil(ready, this.events, blockingTimeout(timeout), this.#observed);
  }

  /** Waits without blocking until `ready()`, reporting to observers. */
  protected waitUntil(ready: () => boolean, options: AcquireOptions | undefined): Promise<void> {
    return waitUntil(ready, this.events, options, this.#observed);
  }
}

/**
 * A manual-reset event in shared memory: while set, every wait passes; `set()` releases every
 * waiting thread and the event stays set until `reset()`.
 *
 * Layout: 8 bytes, 4-aligned (state, event count).
 *
 * @example
 * ```ts
 * const go = new SharedManualResetEvent();
 * // workers: SharedManualResetEvent.from(h).waitSync();
 * go.set();
 * ```
 */
export class SharedManualResetEvent extends SharedResetEvent {
  /**
   * Rebuilds the event from its handle, e.g. in a worker.
   * @param handle - `event.handle` as posted
   * @returns an event on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const go = SharedManualResetEvent.from(workerData.go)`
   */
  static from(handle: SharedResetEventHandle): SharedManualResetEvent {
    attachPrimitive(handle, BYTES, 4);
    return new SharedManualResetEvent();
  }

  /**
   * Creates the event in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param initialState - whether it starts set (default `false`)
   * @param options - `name` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const go = new SharedManualResetEvent()`
   */
  constructor(initialState = false, options?: SharedResetEventOptions) {
    super(initialState, options, 'shared-manual-reset-event');
  }

  /**
   * Sets the event and releases every waiter.
   * @example `go.set()`
   */
  set(): void {
    if (Atomics.exchange(this.words, STATE, 1) === 0) this.events.notify();
  }

  /**
   * Blocks until the event is set. For workers.
   * @param timeout - milliseconds (default: no limit)
   * @returns `false` when the time limit passed first
   * @throws TypeError / RangeError for a bad timeout
   * @example `go.waitSync()`
   */
  waitSync(timeout?: number): boolean {
    return this.blockUntil(() => Atomics.load(this.words, STATE) === 1, timeout);
  }

  /**
   * Waits without blocking until the event is set.
   * @param options - `timeout` and `signal`
   * @returns resolves once set
   * @throws rejects with `TimeoutError`, `signal.reason`, or TypeError / RangeError for bad options
   * @example `await go.wait({ timeout: 1_000 })`
   */
  wait(options?: AcquireOptions): Promise<void> {
    return this.waitUntil(() => Atomics.load(this.words, STATE) === 1, options);
  }
}

/**
 * An auto-reset event in shared memory: `set()` lets exactly one wait pass (the first to take
 * the set state resets it); with nobody waiting, the event stays set for the next wait. Setting a
 * set event does nothing.
 *
 * Layout: 8 bytes, 4-aligned (state, event count).
 *
 * @example
 * ```ts
 * const work = new SharedAutoResetEvent();
 * // worker: for (;;) { SharedAutoResetEvent.from(h).waitSync(); handleOne(); }
 * work.set();
 * ```
 */
export class SharedAutoResetEvent extends SharedResetEvent {
  /**
   * Rebuilds the event from its handle, e.g. in a worker.
   * @param handle - `event.handle` as posted
   * @returns an event on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const work = SharedAutoResetEvent.from(workerData.work)`
   */
  static from(handle: SharedResetEventHandle): SharedAutoResetEvent {
    attachPrimitive(handle, BYTES, 4);
    return new SharedAutoResetEvent();
  }

  /**
   * Creates the event in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param initialState - whether it starts set (default `false`)
   * @param options - `name` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const work = new SharedAutoResetEvent()`
   */
  constructor(initialState = false, options?: SharedResetEventOptions) {
    super(initialState, options, 'shared-auto-reset-event');
  }

  /**
   * Sets the event, waking one waiter to take it.
   * @example `work.set()`
   */
  set(): void {
    if (Atomics.exchange(this.words, STATE, 1) === 0) this.events.notify();
  }

  /**
   * Blocks until this thread takes a `set()`. For workers.
   * @param timeout - milliseconds (default: no limit)
   * @returns `false` when the time limit passed first
   * @throws TypeError / RangeError for a bad timeout
   * @example `work.waitSync()`
   */
  waitSync(timeout?: number): boolean {
    return this.blockUntil(() => this.#take(), timeout);
  }

  /**
   * Waits without blocking until this caller takes a `set()`.
   * @param options - `timeout` and `signal`
   * @returns resolves once taken
   * @throws rejects with `TimeoutError`, `signal.reason`, or TypeError / RangeError for bad options
   * @example `await work.wait({ signal })`
   */
  wait(options?: AcquireOptions): Promise<void> {
    return this.waitUntil(() => this.#take(), options);
  }

  #take(): boolean {
    return Atomics.compareExchange(this.words, STATE, 1, 0) === 1;
  }
}
