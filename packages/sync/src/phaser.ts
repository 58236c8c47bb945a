import {
  ClosedError,
  checkFunction,
  checkInteger,
  invalidArgument,
  NotHeldError,
  observing,
  resolveOwner,
  WaitQueue,
} from '@cf/core';
import {
  checkPrimitiveOptions,
  grantAll,
  MAX_COUNT,
  nextId,
  rejectBadWaitOptions,
  reportPass,
  type WaitOptions,
} from './internal/options.js';

/**
 * Decides, each time a phase completes, whether the phaser terminates.
 * @param phase - the phase that just completed
 * @param registeredParties - parties registered for the next phase
 * @returns `true` to terminate the phaser
 */
export type PhaserAdvanceHook = (phase: number, registeredParties: number) => boolean;

/**
 * Options of {@link Phaser}.
 *
 * @example
 * ```ts
 * const phaser = new Phaser(3, { onAdvance: (phase) => phase >= 9 });   // ten phases
 * ```
 */
export interface PhaserOptions {
  /** The resource name reported in errors and events (default: a generated `phaser#1`-style name). */
  name?: string | undefined;
  /**
   * Runs synchronously when a phase completes, before waiters are released; returning `true`
   * terminates the phaser. Default: terminate when no party is registered any more. If it
   * throws, the phaser terminates and waiters reject with a `ClosedError` whose `cause` is the
   * exception.
   */
  onAdvance?: PhaserAdvanceHook | undefined;
}

const MAX_PHASE = Number.MAX_SAFE_INTEGER;

/**
 * A reusable barrier with a changing number of parties and numbered phases, modelled on
 * java.util.concurrent.Phaser (without tiering). Parties `register()`, then each phase they
 * `arrive()` (and go on) or `arriveAndAwaitAdvance()` (and wait for the others); a party that is
 * done calls `arriveAndDeregister()`. When the last registered party of a phase arrives, the
 * phase number goes up by one, `onAdvance` runs, and every waiter of the phase is released.
 *
 * Waiting does not arrive and leaving does not un-arrive: a party whose
 * `arriveAndAwaitAdvance()` is aborted or times out has still arrived for that phase, and stays
 * registered. Unlike a {@link CyclicBarrier}, nothing breaks.
 *
 * @example
 * ```ts
 * const phaser = new Phaser(1);   // the coordinator
 * for (const task of tasks) {
 *   phaser.register();
 *   void (async () => {
 *     await task.load(); await phaser.arriveAndAwaitAdvance();
 *     await task.run(); phaser.arriveAndDeregister();
 *   })();
 * }
 * await phaser.arriveAndAwaitAdvance();   // every task loaded
 * phaser.arriveAndDeregister();
 * ```
 */
export class Phaser {
  #phase = 0;
  #registered: number;
  #unarrived: number;
  #terminated = false;
  readonly #onAdvance: PhaserAdvanceHook | undefined;
  readonly #name: string;
  #queue: WaitQueue<undefined, number> | undefined = undefined;

  /**
   * @param parties - parties registered from the start, an integer from 0 to 2^31 - 1 (default 0)
   * @param options - `name`, `onAdvance`
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example
   * ```ts
   * const phaser = new Phaser(workers.length, { name: 'pipeline' });
   * ```
   */
  constructor(parties = 0, options?: PhaserOptions) {
    checkInteger(parties, 'parties', 0, MAX_COUNT);
    this.#name = checkPrimitiveOptions(options) ?? `phaser#${nextId()}`;
    const onAdvance = options?.onAdvance;
    if (onAdvance !== undefined) checkFunction(onAdvance, 'options.onAdvance');
    this.#onAdvance = onAdvance;
    this.#registered = parties;
    this.#unarrived = parties;
  }

  /** The resource name reported in errors and events. */
  get name(): string {
    return this.#name;
  }

  /** The current phase number: 0 at first, one more after each advance. Frozen once terminated. */
  get phase(): number {
    return this.#phase;
  }

  /** Parties registered. */
  get registeredParties(): number {
    return this.#registered;
  }

  /** Registered parties that have arrived in the current phase. */
  get arrivedParties(): number {
    return this.#registered - this.#unarrived;
  }

  /** Registered parties that have not arrived in the current phase. */
  get unarrivedParties(): number {
    return this.#unarrived;
  }

  /** `true` once `onAdvance` returned `true` (or threw) or `forceTermination()` was called. */
  get isTerminated(): boolean {
    return this.#terminated;
  }

  /** Number of callers waiting for the current phase to complete. */
  get waitersCount(): number {
    return this.#queue?.size ?? 0;
  }

  /**
   * Adds `parties` unarrived parties to the current phase.
   * @param parties - how many, an integer from 1 to 2^31 - 1 (default 1)
   * @returns the current phase number, the first one the new parties arrive in
   * @throws RangeError (code `ERR_CF_INVALID_ARG`) for a bad count or one that would exceed 2^31 - 1
   *   registered parties; `ClosedError` once terminated
   * @example
   * ```ts
   * const phase = phaser.register();
   * ```
   */
  register(parties = 1): number {
    if (parties !== 1) checkInteger(parties, 'parties', 1, MAX_COUNT);
    if (this.#registered + parties > MAX_COUNT) {
      const allowed = `an integer from 1 to ${MAX_COUNT - this.#registered} (at most ${MAX_COUNT} registered parties)`;
      throw invalidArgument('range', 'parties', parties, allowed);
    }
    this.#checkOpen();
    this.#registered += parties;
    this.#unarrived += parties;
    return this.#phase;
  }

  /**
   * Arrives without waiting. The last arrival of the phase advances it.
   * @returns the phase number arrived at
   * @throws `NotHeldError` when every registered party has already arrived in this phase;
   *   `ClosedError` once terminated, or when `onAdvance` throws
   * @example
   * ```ts
   * produce(batch); phaser.arrive();   // signal and move on
   * ```
   */
  arrive(): number {
    return this.#arrive(false);
  }

  /**
   * Arrives and deregisters one party. If it was the last unarrived one, the phase advances (and
   * with the default `onAdvance`, the phaser terminates when no party is left).
   * @returns the phase number arrived at
   * @throws as {@link Phaser.arrive}
   * @example
   * ```ts
   * phaser.arriveAndDeregister();   // this task is done for good
   * ```
   */
  arriveAndDeregister(): number {
    return this.#arrive(true);
  }

  /**
   * Arrives and waits until the phase completes. An already-aborted signal rejects without
   * arriving; otherwise the arrival counts even if the wait is then aborted or times out.
   * @param options - `signal`, `timeout` (0: reject at once unless this arrival completes the
   *   phase), `priority` (order in which released waiters resume), `owner`
   * @returns the new phase number
   * @throws rejects with `TimeoutError`, `signal.reason`, `NotHeldError` (nothing left to arrive),
   *   `ClosedError` (terminated, now or while waiting, by `forceTermination()` or a throwing
   *   `onAdvance`), or a TypeError/RangeError (code `ERR_CF_INVALID_ARG`) for bad options
   * @example
   * ```ts
   * for (let step = 0; step < 10; step++) { await compute(step); await phaser.arriveAndAwaitAdvance(); }
   * ```
   */
  arriveAndAwaitAdvance(options?: WaitOptions): Promise<number> {
    const bad = rejectBadWaitOptions(options);
    if (bad !== undefined) return bad;
    if (options?.signal?.aborted) return this.#waitQueue().enqueue(undefined, options);
    let phase: number;
    try {
      phase = this.#arrive(false);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#awaitPhase(phase, options);
  }

  /**
   * Waits, without arriving, until phase `phase` completes. Returns at once when the current
   * phase is already past `phase`.
   * @param phase - a phase number, usually the result of `arrive()` or `register()`
   * @param options - `signal`, `timeout`, `priority`, `owner`
   * @returns the phase number after the wait (the current phase, if `phase` was not current)
   * @throws rejects with `TimeoutError`, `signal.reason`, `ClosedError` when the phaser is or
   *   becomes terminated while `phase` is current, or a TypeError/RangeError
   *   (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example
   * ```ts
   * const phase = phaser.arrive();
   * await doOtherWork();
   * await phaser.awaitAdvance(phase, { timeout: 1_000 });
   * ```
   */
  awaitAdvance(phase: number, options?: WaitOptions): Promise<number> {
    try {
      checkInteger(phase, 'phase', 0, MAX_PHASE);
    } catch (error) {
      return Promise.reject(error);
    }
    const bad = rejectBadWaitOptions(options);
    if (bad !== undefined) return bad;
    return this.#awaitPhase(phase, options);
  }

  /**
   * Terminates the phaser now. Waiters reject with a `ClosedError`; later arrivals and
   * registrations throw it. Does nothing if already terminated.
   * @param reason - becomes the `ClosedError`'s `cause` (optional)
   * @example
   * ```ts
   * signal.addEventListener('abort', () => phaser.forceTermination(signal.reason));
   * ```
   */
  forceTermination(reason?: unknown): void {
    if (this.#terminated) return;
    this.#terminate(reason);
  }

  #arrive(deregister: boolean): number {
    this.#checkOpen();
    if (this.#unarrived === 0) {
      throw new NotHeldError(
        `No party of ${this.#name} is left to arrive in phase ${this.#phase} (${this.#registered} registered)`,
        this.#name,
      );
    }
    const phase = this.#phase;
    this.#unarrived--;
    if (deregister) this.#registered--;
    if (this.#unarrived === 0) this.#advance();
    return phase;
  }

  #advance(): void {
    const phase = this.#phase;
    let terminate: boolean;
    try {
      terminate =
        this.#onAdvance === undefined ? this.#registered === 0 : this.#onAdvance(phase, this.#registered) === true;
    } catch (error) {
      throw this.#terminate(error);
    }
    this.#phase = phase === MAX_PHASE ? 0 : phase + 1;
    this.#unarrived = this.#registered;
    if (terminate) this.#terminated = true;
    if (this.#queue !== undefined) grantAll(this.#queue, this.#phase, this, 'phaser');
  }

  #awaitPhase(phase: number, options: WaitOptions | undefined): Promise<number> {
    if (phase !== this.#phase) {
      if (observing) reportPass(this, this.#name, 'phaser', resolveOwner(options?.owner), 0);
      return Promise.resolve(this.#phase);
    }
    if (this.#terminated) return Promise.reject(this.#closed(undefined));
    return this.#waitQueue().enqueue(undefined, options);
  }

  #terminate(reason: unknown): ClosedError {
    this.#terminated = true;
    const error = this.#closed(reason);
    this.#queue?.rejectAll(error);
    return error;
  }

  #closed(reason: unknown): ClosedError {
    return new ClosedError(
      `${this.#name} is terminated (phase ${this.#phase})`,
      reason === undefined ? undefined : { cause: reason },
    );
  }

  #checkOpen(): void {
    if (this.#terminated) throw this.#closed(undefined);
  }

  #waitQueue(): WaitQueue<undefined, number> {
    return (this.#queue ??= new WaitQueue({ resource: this.#name, lock: this, mode: 'phaser' }));
  }
}
