import {
  BrokenBarrierError,
  checkFunction,
  checkInteger,
  observing,
  resolveOwner,
  TimeoutError,
  WaitQueue,
} from '@cf/core';
import {
  checkPrimitiveOptions,
  grantAll,
  MAX_COUNT,
  nextId,
  type PrimitiveOptions,
  rejectBadWaitOptions,
  reportLeft,
  reportPass,
  type WaitOptions,
} from './internal/options.js';

/**
 * What the last party runs before the others are released. It may return a promise; the parties
 * are released when it settles. If it throws or rejects, the barrier breaks.
 */
export type BarrierAction = () => unknown;

// One round of the barrier. Parties of a round wait in its own queue, so a round whose async
// action is still running never mixes with the next round's arrivals.
class Generation {
  arrived = 0;
  broken: BrokenBarrierError | undefined = undefined;
  readonly queue: WaitQueue<undefined, void>;
  /** The `reset()` count when the round began: a round from before a reset never breaks the barrier. */
  readonly epoch: number;

  constructor(
    barrier: CyclicBarrier,
    resource: string,
    epoch: number,
    onLeave: (generation: Generation, reason: unknown) => void,
  ) {
    this.epoch = epoch;
    this.queue = new WaitQueue({
      resource,
      lock: barrier,
      mode: 'barrier',
      onCancel: (_waiter, _cause, reason) => onLeave(this, reason),
    });
  }
}

/**
 * A reusable rendezvous for a fixed number of parties: each `wait()` blocks until `parties`
 * callers have arrived; the last one runs the optional barrier action, then all are released and
 * the barrier is ready for the next round.
 *
 * Broken-barrier semantics (as in java.util.concurrent): when a waiting party leaves early
 * (abort, timeout) or the action throws, the barrier breaks. The leaving party rejects with its
 * own reason; every other waiting party rejects with one shared `BrokenBarrierError` whose
 * `cause` is that reason, and later arrivals reject with it at once until `reset()`.
 *
 * @example
 * ```ts
 * const barrier = new CyclicBarrier(3, () => console.log('round done'));
 * await Promise.all([0, 1, 2].map(async (id) => {
 *   for (let round = 0; round < 5; round++) { await step(id, round); await barrier.wait(); }
 * }));
 * ```
 */
export class CyclicBarrier {
  readonly #parties: number;
  readonly #action: BarrierAction | undefined;
  readonly #name: string;
  #generation: Generation;
  #broken: BrokenBarrierError | undefined = undefined;
  #epoch = 0;
  readonly #onLeave = (generation: Generation, reason: unknown): void => {
    this.#break(generation, reason);
  };

  /**
   * @param parties - how many `wait()` calls trip the barrier, an integer from 1 to 2^31 - 1
   * @param action - run by the last arriving party before the others are released (optional)
   * @param options - `name`
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example
   * ```ts
   * const barrier = new CyclicBarrier(workers.length, () => mergeResults(), { name: 'merge' });
   * ```
   */
  constructor(parties: number, action?: BarrierAction, options?: PrimitiveOptions) {
    checkInteger(parties, 'parties', 1, MAX_COUNT);
    if (action !== undefined) checkFunction(action, 'action');
    this.#name = checkPrimitiveOptions(options) ?? `barrier#${nextId()}`;
    this.#parties = parties;
    this.#action = action;
    this.#generation = this.#newGeneration();
  }

  /** The resource name reported in errors and events. */
  get name(): string {
    return this.#name;
  }

  /** How many parties trip the barrier. */
  get parties(): number {
    return this.#parties;
  }

  /** Parties waiting in the current round. */
  get numberWaiting(): number {
    return this.#generation.queue.size;
  }

  /** `true` after a party left early or the action threw, until `reset()`. */
  get isBroken(): boolean {
    return this.#broken !== undefined;
  }

  /**
   * Arrives and waits for the other parties of this round.
   *
   * An already-aborted signal, or `timeout: 0` when the round is not complete, breaks the barrier
   * like a waiting party that leaves. The last party to arrive is not queued: it runs the action
   * (its own `signal` and `timeout` no longer apply) and settles with the round.
   * @param options - `signal`, `timeout`, `priority` (order in which released parties resume), `owner`
   * @returns the arrival index: `parties - 1` for the first to arrive, 0 for the last (as in Java)
   * @throws rejects with `signal.reason` or `TimeoutError` when this party leaves early; with the
   *   round's `BrokenBarrierError` when the barrier breaks or is broken; with a TypeError/RangeError
   *   (code `ERR_CF_INVALID_ARG`) for bad options, which neither arrives nor breaks anything
   * @example
   * ```ts
   * const index = await barrier.wait({ timeout: 1_000 });
   * if (index === 0) console.log('I arrived last');
   * ```
   */
  wait(options?: WaitOptions): Promise<number> {
    const bad = rejectBadWaitOptions(options);
    if (bad !== undefined) return bad;
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    const generation = this.#generation;
    const index = this.#parties - 1 - generation.arrived;
    const signal = options?.signal;
    if (signal?.aborted || (index !== 0 && options?.timeout === 0)) {
      const reason = signal?.aborted
        ? signal.reason
        : new TimeoutError(`${this.#name} was not complete (timeout 0)`, 0);
      if (observing) {
        const type = signal?.aborted ? 'aborted' : 'timeout';
        reportLeft(type, this, this.#name, 'barrier', resolveOwner(options?.owner), reason);
      }
      this.#break(generation, reason);
      return Promise.reject(reason);
    }
    generation.arrived++;
    if (index === 0) {
      if (observing) reportPass(this, this.#name, 'barrier', resolveOwner(options?.owner), 0);
      return this.#trip(generation);
    }
    return generation.queue.enqueue(undefined, options).then(() => index);
  }

  /**
   * Starts a fresh round. Parties waiting in the current round reject with a
   * `BrokenBarrierError`; a broken barrier becomes usable again. A round whose action is running
   * finishes normally.
   * @example
   * ```ts
   * if (barrier.isBroken) barrier.reset();
   * ```
   */
  reset(): void {
    const generation = this.#generation;
    if (generation.queue.size > 0) {
      const error = new BrokenBarrierError(`${this.#name} was reset while ${generation.queue.size} parties waited`);
      generation.broken = error;
      generation.queue.rejectAll(error);
    }
    this.#broken = undefined;
    this.#epoch++;
    this.#generation = this.#newGeneration();
  }

  #newGeneration(): Generation {
    return new Generation(this, this.#name, this.#epoch, this.#onLeave);
  }

  #trip(generation: Generation): Promise<number> {
    // From here on, arrivals belong to the next round.
    this.#generation = this.#newGeneration();
    const action = this.#action;
    let result: unknown;
    if (action !== undefined) {
      try {
        result = action();
      } catch (error) {
        return Promise.reject(this.#break(generation, error));
      }
    }
    if (result === undefined || typeof (result as PromiseLike<unknown>)?.then !== 'function') {
      return this.#release(generation);
    }
    return Promise.resolve(result).then(
      () => this.#release(generation),
      (error: unknown) => {
        throw this.#break(generation, error);
      },
    );
  }

  #release(generation: Generation): Promise<number> {
    // A party that left while an async action ran broke this round.
    if (generation.broken !== undefined) return Promise.reject(generation.broken);
    grantAll(generation.queue, undefined, this, 'barrier');
    return Promise.resolve(0);
  }

  // Breaks `generation` (once) and the barrier, and rejects every party still waiting in either
  // the broken round or the current one with the same error.
  #break(generation: Generation, reason: unknown): BrokenBarrierError {
    if (generation.broken !== undefined) return generation.broken;
    const error = new BrokenBarrierError(`${this.#name} was broken`, { cause: reason });
    generation.broken = error;
    generation.queue.rejectAll(error);
    if (this.#broken === undefined && generation.epoch === this.#epoch) {
      this.#broken = error;
      const current = this.#generation;
      if (current !== generation) {
        current.broken = error;
        current.queue.rejectAll(error);
      }
    }
    return error;
  }
}
