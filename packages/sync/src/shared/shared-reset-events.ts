import { checkRegion, EventCount, type Placement, placeRegion } from '@cf/atomics';
import type { AcquireOptions } from '@cf/core';
import { checkBoolean } from './checks.js';
import {
  blockingTimeout,
  blockUntil,
  checkHandleName,
  primitiveName,
  type SharedPrimitiveHandle,
  waitUntil,
} from './options.js';

/** A shared reset event as posted to a worker. */
export interface SharedResetEventHandle extends SharedPrimitiveHandle {}

/** Options of the shared reset event constructors. */
export interface SharedResetEventOptions extends Placement {
  /** The resource name (default `shared-manual-reset-event#<n>` / `shared-auto-reset-event#<n>`). */
  name?: string | undefined;
}

// Words: the state (1: set), then an EventCount.
const STATE = 0;
const EVENTS_OFFSET = 4;
const BYTES = 8;

let attaching: SharedResetEventHandle | undefined;

abstract class SharedResetEvent {
  /** The resource name. */
  readonly name: string;
  readonly #handle: SharedResetEventHandle;
  protected readonly words: Int32Array;
  protected readonly events: EventCount;

  protected constructor(initialState: boolean, options: SharedResetEventOptions | undefined, kind: string) {
    const attached = attaching;
    attaching = undefined;
    let handle: SharedResetEventHandle;
    if (attached === undefined) {
      checkBoolean(initialState, 'initialState');
      const name = primitiveName(options, kind);
      handle = { ...placeRegion(options, BYTES, 4), name };
    } else {
      handle = attached;
    }
    this.name = handle.name;
    this.#handle = handle;
    this.words = new Int32Array(handle.buffer, handle.byteOffset, 1);
    const events = { buffer: handle.buffer, byteOffset: handle.byteOffset + EVENTS_OFFSET };
    if (attached === undefined) {
      this.events = new EventCount(events);
      Atomics.store(this.words, STATE, initialState ? 1 : 0);
    } else {
      this.events = EventCount.from(events);
    }
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): SharedResetEventHandle {
    return this.#handle;
  }

  /** Bytes this event occupies (8). */
  get byteLength(): number {
    return BYTES;
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
}

/** @internal Sets `attaching` for a `from()` call. */
function attach(handle: SharedResetEventHandle): void {
  checkHandleName(handle);
  checkRegion(handle, 'handle', BYTES, 4);
  attaching = handle;
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
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;

  /**
   * Bytes the event occupies.
   * @returns 8
   * @example `SharedManualResetEvent.byteLength()`
   */
  static byteLength(): number {
    return BYTES;
  }

  /**
   * Rebuilds the event from its handle, e.g. in a worker.
   * @param handle - `event.handle` as posted
   * @returns an event on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const go = SharedManualResetEvent.from(workerData.go)`
   */
  static from(handle: SharedResetEventHandle): SharedManualResetEvent {
    attach(handle);
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
    return blockUntil(() => Atomics.load(this.words, STATE) === 1, this.events, blockingTimeout(timeout));
  }

  /**
   * Waits without blocking until the event is set.
   * @param options - `timeout` and `signal`
   * @returns resolves once set
   * @throws rejects with `TimeoutError`, `signal.reason`, or TypeError / RangeError for bad options
   * @example `await go.wait({ timeout: 1_000 })`
   */
  wait(options?: AcquireOptions): Promise<void> {
    return waitUntil(() => Atomics.load(this.words, STATE) === 1, this.events, options, this.name);
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
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;

  /**
   * Bytes the event occupies.
   * @returns 8
   * @example `SharedAutoResetEvent.byteLength()`
   */
  static byteLength(): number {
    return BYTES;
  }

  /**
   * Rebuilds the event from its handle, e.g. in a worker.
   * @param handle - `event.handle` as posted
   * @returns an event on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const work = SharedAutoResetEvent.from(workerData.work)`
   */
  static from(handle: SharedResetEventHandle): SharedAutoResetEvent {
    attach(handle);
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
    return blockUntil(() => this.#take(), this.events, blockingTimeout(timeout));
  }

  /**
   * Waits without blocking until this caller takes a `set()`.
   * @param options - `timeout` and `signal`
   * @returns resolves once taken
   * @throws rejects with `TimeoutError`, `signal.reason`, or TypeError / RangeError for bad options
   * @example `await work.wait({ signal })`
   */
  wait(options?: AcquireOptions): Promise<void> {
    return waitUntil(() => this.#take(), this.events, options, this.name);
  }

  #take(): boolean {
    return Atomics.compareExchange(this.words, STATE, 1, 0) === 1;
  }
}
