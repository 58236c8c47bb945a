import { blockingTimeout, EventCount, type NamedPlacement, placeNamedRegion } from '@cf/atomics';
import type { AcquireOptions } from '@cf/core';
import { BrokenBarrierError, checkAcquireOptions, checkInteger, observing, resolveOwner, TimeoutError } from '@cf/core';
import type { SharedPrimitiveHandle } from './options.js';
import { attachPrimitive, SharedPrimitive, takeAttachedPrimitive } from './shared-primitive.js';
import { type Observed, reportGaveUp, reportPassed, reportWait } from './waiting.js';

/** A `SharedBarrier` as posted to a worker. */
export interface SharedBarrierHandle extends SharedPrimitiveHandle {}

/** Options of the `SharedBarrier` constructor: `name` (default `shared-barrier#<n>`) and placement. */
export interface SharedBarrierOptions extends NamedPlacement {}

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

/**
 * A cyclic barrier in shared memory: `parties` threads wait for each other at `wait()` /
 * `waitSync()`, all are released when the last arrives, and the barrier is ready for the next
 * round. A party that times out or aborts breaks the round for everyone (they reject with
 * `BrokenBarrierError`) until `reset()`. There is no barrier action (a function cannot cross
 * threads): the party whose arrival index is 0 arrived last and can run one.
 *
 * Waits are reported to core's observers (mode `'barrier'`): a party that has to wait reports
 * `wait`; passing reports `acquired` then `released`; leaving early reports `timeout` or
 * `aborted`, and a party released by a broken round reports `aborted` with the
 * `BrokenBarrierError`.
 *
 * Layout: 16 bytes, 4-aligned (parties, arrivals, round word, event count).
 *
 * @example
 * ```ts
 * const step = new SharedBarrier(4);
 * // in each of 4 workers: for (;;) { compute(); SharedBarrier.from(h).waitSync(); }
 * ```
 */
export class SharedBarrier extends SharedPrimitive<SharedBarrierHandle> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;
  readonly #words: Int32Array;
  readonly #events: EventCount;
  readonly #observed: Observed = { primitive: this, mode: 'barrier' };

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
    attachPrimitive(handle, BYTES, 4);
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
    const attached = takeAttachedPrimitive<SharedBarrierHandle>();
    if (attached === undefined) checkInteger(parties, 'parties', 1, MAX_PARTIES);
    super(attached ?? placeNamedRegion(options, 'shared-barrier', BYTES, 4), BYTES);
    const { buffer, byteOffset } = this.handle;
    this.#words = new Int32Array(buffer, byteOffset, 3);
    const events = { buffer, byteOffset: byteOffset + EVENTS_OFFSET };
    if (attached === undefined) {
      this.#events = new EventCount(events);
      Atomics.store(this.#words, PARTIES, parties);
    } else {
      this.#events = EventCount.from(events);
    }
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
    const owner = observing ? resolveOwner(undefined) : undefined;
    const { round, index } = this.#arrive(owner);
    if (index === 0) return 0;
    const waitStart = observing ? reportWait(this.#observed, owner) : 0;
    const deadline = limit === Number.POSITIVE_INFINITY ? limit : performance.now() + limit;
    for (;;) {
      const key = this.#events.prepareWait();
      if (this.#ended(round)) return this.#outcome(round, index, owner, waitStart);
      const left = deadline - performance.now();
      if (left <= 0) {
        const error = new TimeoutError(`Timed out after ${limit} ms waiting at ${this.name}`, limit);
        this.#leave(round, 'timeout', owner, waitStart, error);
        throw error;
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
    const owner = observing ? resolveOwner(options?.owner) : undefined;
    const { round, index } = this.#arrive(owner);
    if (index === 0) return 0;
    const waitStart = observing ? reportWait(this.#observed, owner) : 0;
    const deadline = timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout;
    for (;;) {
      const key = this.#events.prepareWait();
      if (this.#ended(round)) return this.#outcome(round, index, owner, waitStart);
      const left = deadline - performance.now();
      if (left <= 0 || signal?.aborted) {
        const aborted = signal?.aborted === true;
        const error = aborted
          ? signal.reason
          : new TimeoutError(`Timed out after ${timeout} ms waiting at ${this.name}`, timeout);
        this.#leave(round, aborted ? 'aborted' : 'timeout', owner, waitStart, error);
        throw error;
      }
      try {
        await this.#events.waitAsync(key, { timeout: left, ...(signal === undefined ? {} : { signal }) });
      } catch (reason) {
        this.#leave(round, 'aborted', owner, waitStart, reason);
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

  #arrive(owner: unknown): { round: number; index: number } {
    const words = this.#words;
    const round = Atomics.load(words, ROUND);
    if ((round & BROKEN) !== 0) throw this.#broken(`${this.name} is broken`, owner, 0);
    const parties = Atomics.load(words, PARTIES);
    const arrived = Atomics.add(words, ARRIVED, 1) + 1;
    const index = parties - arrived;
    if (index === 0) {
      // Last to arrive: no one else can arrive in this round, so resetting the count is safe.
      Atomics.store(words, ARRIVED, 0);
      const tripped = Atomics.compareExchange(words, ROUND, round, ((round >> 1) + 1) << 1) === round;
      this.#events.notify();
      if (!tripped) throw this.#broken(`${this.name} was broken before the last party arrived`, owner, 0);
      if (observing) reportPassed(this.#observed, owner, 0);
    }
    return { round, index };
  }

  #ended(round: number): boolean {
    return Atomics.load(this.#words, ROUND) !== round;
  }

  #outcome(round: number, index: number, owner: unknown, waitStart: number): number {
    const now = Atomics.load(this.#words, ROUND);
    const tripped = ((round >> 1) + 1) << 1;
    // Tripped, possibly followed by a break of the next round, which this party is not part of.
    if (now === tripped || now === (tripped | BROKEN)) {
      if (observing) reportPassed(this.#observed, owner, waitStart);
      return index;
    }
    throw this.#broken(`${this.name} was broken while this party waited`, owner, waitStart);
  }

  // A party that gives up breaks the round for everyone.
  #leave(round: number, type: 'timeout' | 'aborted', owner: unknown, waitStart: number, error: unknown): void {
    if (observing) reportGaveUp(type, this.#observed, owner, waitStart, error);
    if (Atomics.compareExchange(this.#words, ROUND, round, round | BROKEN) === round) this.#events.notify();
  }

  #broken(message: string, owner: unknown, waitStart: number): BrokenBarrierError {
    const error = new BrokenBarrierError(message);
    if (observing) reportGaveUp('aborted', this.#observed, owner, waitStart, error);
    return error;
  }
}
