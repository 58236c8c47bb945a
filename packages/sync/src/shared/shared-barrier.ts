import { checkRegion, EventCount, type Placement, placeRegion } from '@cf/atomics';
import type { AcquireOptions } from '@cf/core';
import { BrokenBarrierError, checkAcquireOptions, checkInteger, TimeoutError } from '@cf/core';
import { blockingTimeout, checkHandleName, primitiveName, type SharedPrimitiveHandle } from './options.js';

/** A `SharedBarrier` as posted to a worker. */
export interface SharedBarrierHandle extends SharedPrimitiveHandle {}

/** Options of the `SharedBarrier` constructor. */
export interface SharedBarrierOptions extends Placement {
  /** The resource name (default `shared-barrier#<n>`). */
  name?: string | undefined;
}

// Words: parties, arrivals in the current round, the round word (round << 1 | broken), then an
// EventCount. A round ends one of three ways: tripped (round + 1), broken (broken bit set), or
// reset (round + 2, which a waiter of the old round also reads as broken).
const PARTIES = 0;
const ARRIVED = 1;
const ROUND = 2;
const EVENTS_OFFSET = 12;
const BYTES = 16;
const BROKEN = 1;
const MAX_PARTIES = 2 ** 30;

let attaching: SharedBarrierHandle | undefined;

/**
 * A cyclic barrier in shared memory: `parties` threads wait for each other at `wait()` /
 * `waitSync()`, all are released when the last arrives, and the barrier is ready for the next
 * round. A party that times out or aborts breaks the round for everyone (they reject with
 * `BrokenBarrierError`) until `reset()`. There is no barrier action (a function cannot cross
 * threads): the party whose arrival index is 0 arrived last and can run one.
 *
 * Layout: 16 bytes, 4-aligned (parties, arrivals, round word, event count).
 *
 * @example
 * ```ts
 * const step = new SharedBarrier(4);
 * // in each of 4 workers: for (;;) { compute(); SharedBarrier.from(h).waitSync(); }
 * ```
 */
export class SharedBarrier {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;
  /** The resource name. */
  readonly name: string;
  readonly #handle: SharedBarrierHandle;
  readonly #words: Int32Array;
  readonly #events: EventCount;

  /**
   * Bytes a `SharedBarrier` occupies.
   * @returns 16
   * @example `SharedBarrier.byteLength()`
   */
  static byteLength(): number {
    return BYTES;
  }

  /**
   * Rebuilds the barrier from its handle, e.g. in a worker.
   * @param handle - `barrier.handle` as posted
   * @returns a barrier on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const step = SharedBarrier.from(workerData.step)`
   */
  static from(handle: SharedBarrierHandle): SharedBarrier {
    checkHandleName(handle);
    checkRegion(handle, 'handle', BYTES, 4);
    attaching = handle;
    return new SharedBarrier(1);
  }

  /**
   * Creates a barrier in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param parties - threads per round, 1 to 2^30
   * @param options - `name` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const step = new SharedBarrier(workers.length)`
   */
  constructor(parties: number, options?: SharedBarrierOptions) {
    const attached = attaching;
    attaching = undefined;
    let handle: SharedBarrierHandle;
    if (attached === undefined) {
      checkInteger(parties, 'parties', 1, MAX_PARTIES);
      const name = primitiveName(options, 'shared-barrier');
      handle = { ...placeRegion(options, BYTES, 4), name };
    } else {
      handle = attached;
    }
    this.name = handle.name;
    this.#handle = handle;
    this.#words = new Int32Array(handle.buffer, handle.byteOffset, 3);
    const events = { buffer: handle.buffer, byteOffset: handle.byteOffset + EVENTS_OFFSET };
    if (attached === undefined) {
      this.#words.fill(0);
      this.#events = new EventCount(events);
      Atomics.store(this.#words, PARTIES, parties);
    } else {
      this.#events = EventCount.from(events);
    }
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): SharedBarrierHandle {
    return this.#handle;
  }

  /** Bytes this barrier occupies (16). */
  get byteLength(): number {
    return BYTES;
  }

  /** Threads per round. */
  get parties(): number {
    return Atomics.load(this.#words, PARTIES);
  }

  /** Parties that arrived in the current round and are waiting. */
  get numberWaiting(): number {
    return Atomics.load(this.#words, ARRIVED);
  }

  /** `true` when a party left the current round early; `reset()` repairs it. */
  get isBroken(): boolean {
    return (Atomics.load(this.#words, ROUND) & BROKEN) !== 0;
  }

  /**
   * Arrives and blocks until the round completes. For workers.
   * @param timeout - milliseconds (default: no limit); passing it breaks the round
   * @returns the arrival index: `parties - 1` for the first to arrive, 0 for the last
   * @throws BrokenBarrierError when the round breaks or was broken; TimeoutError when this party
   *   timed out (and broke the round); TypeError / RangeError for a bad timeout
   * @example `const index = barrier.waitSync()`
   */
  waitSync(timeout?: number): number {
    const limit = blockingTimeout(timeout);
    const { round, index } = this.#arrive();
    if (index === 0) return 0;
    const deadline = limit === Number.POSITIVE_INFINITY ? limit : performance.now() + limit;
    for (;;) {
      const key = this.#events.prepareWait();
      if (this.#ended(round)) {
        return this.#outcome(round, index);
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        this.#leave(round);
        throw new TimeoutError(`Timed out after ${limit} ms waiting at ${this.name}`, limit);
      }
      this.#events.waitSync(key, left);
    }
  }

  /**
   * Arrives and waits without blocking until the round completes.
   * @param options - `timeout` and `signal` (leaving early breaks the round)
   * @returns the arrival index: `parties - 1` for the first to arrive, 0 for the last
   * @throws rejects with `BrokenBarrierError`, `TimeoutError`, `signal.reason`, or TypeError /
   *   RangeError for bad options (which neither arrive nor break anything)
   * @example `const index = await barrier.wait({ timeout: 1_000 })`
   */
  async wait(options?: AcquireOptions): Promise<number> {
    checkAcquireOptions(options);
    const signal = options?.signal;
    const timeout = options?.timeout ?? Number.POSITIVE_INFINITY;
    const { round, index } = this.#arrive();
    if (index === 0) return 0;
    const deadline = timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout;
    for (;;) {
      const key = this.#events.prepareWait();
      if (this.#ended(round)) {
        return this.#outcome(round, index);
      }
      const left = deadline - performance.now();
      if (left <= 0 || signal?.aborted) {
        this.#leave(round);
        throw signal?.aborted
          ? signal.reason
          : new TimeoutError(`Timed out after ${timeout} ms waiting at ${this.name}`, timeout);
      }
      try {
        await this.#events.waitAsync(key, { timeout: left, ...(signal === undefined ? {} : { signal }) });
      } catch (reason) {
        this.#leave(round);
        throw reason;
      }
    }
  }

  /**
   * Starts a fresh round: parties waiting in the current one reject with `BrokenBarrierError`;
   * a broken barrier becomes usable again.
   * @example `if (barrier.isBroken) barrier.reset()`
   */
  reset(): void {
    const words = this.#words;
    const round = Atomics.load(words, ROUND) >> 1;
    Atomics.store(words, ARRIVED, 0);
    Atomics.store(words, ROUND, (round + 2) << 1);
    this.#events.notify();
  }

  #arrive(): { round: number; index: number } {
    const words = this.#words;
    const round = Atomics.load(words, ROUND);
    if ((round & BROKEN) !== 0) throw new BrokenBarrierError(`${this.name} is broken`);
    const parties = Atomics.load(words, PARTIES);
    const arrived = Atomics.add(words, ARRIVED, 1) + 1;
    const index = parties - arrived;
    if (index === 0) {
      // Last to arrive: no one else can arrive in this round, so resetting the count is safe.
      Atomics.store(words, ARRIVED, 0);
      const tripped = Atomics.compareExchange(words, ROUND, round, ((round >> 1) + 1) << 1) === round;
      this.#events.notify();
      if (!tripped) throw new BrokenBarrierError(`${this.name} was broken before the last party arrived`);
    }
    return { round, index };
  }

  #ended(round: number): boolean {
    return Atomics.load(this.#words, ROUND) !== round;
  }

  #outcome(round: number, index: number): number {
    const now = Atomics.load(this.#words, ROUND);
    const tripped = ((round >> 1) + 1) << 1;
    // Tripped, possibly followed by a break of the next round, which this party is not part of.
    if (now === tripped || now === (tripped | BROKEN)) return index;
    throw new BrokenBarrierError(`${this.name} was broken while this party waited`);
  }

  #leave(round: number): void {
    if (Atomics.compareExchange(this.#words, ROUND, round, round | BROKEN) === round) this.#events.notify();
  }
}
