import { observing, resolveOwner, WaitQueue } from '@cf/core';
import {
  checkBoolean,
  checkPrimitiveOptions,
  grantAll,
  nextId,
  type PrimitiveOptions,
  rejectBadWaitOptions,
  reportPass,
  type WaitOptions,
} from './internal/options.js';

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A gate that stays open once set: `set()` releases every waiter and lets later ones pass at once
 * until `reset()` closes it again.
 *
 * @example
 * ```ts
 * const started = new ManualResetEvent();
 * server.on('listening', () => started.set());
 * await started.wait({ timeout: 5_000 });
 * ```
 */
export class ManualResetEvent {
  #isSet: boolean;
  readonly #name: string;
  #queue: WaitQueue<undefined, void> | undefined = undefined;

  /**
   * @param initialState - `true` to start set (open); default `false`
   * @param options - `name`
   * @throws TypeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example
   * ```ts
   * const paused = new ManualResetEvent(true, { name: 'not-paused' });
   * ```
   */
  constructor(initialState = false, options?: PrimitiveOptions) {
    this.#isSet = checkBoolean(initialState, 'initialState');
    this.#name = checkPrimitiveOptions(options) ?? `manual-reset-event#${nextId()}`;
  }

  /** The resource name reported in errors and events. */
  get name(): string {
    return this.#name;
  }

  /** `true` while the event is set (waiters pass at once). */
  get isSet(): boolean {
    return this.#isSet;
  }

  /** Number of callers waiting in `wait()`. */
  get waitersCount(): number {
    return this.#queue?.size ?? 0;
  }

  /**
   * Sets the event: releases every waiter, and later waiters pass until `reset()`.
   * @example
   * ```ts
   * event.set();
   * ```
   */
  set(): void {
    this.#isSet = true;
    if (this.#queue !== undefined) grantAll(this.#queue, undefined, this, 'event');
  }

  /**
   * Clears the event: later waiters wait for the next `set()`.
   * @example
   * ```ts
   * event.reset();
   * ```
   */
  reset(): void {
    this.#isSet = false;
  }

  /**
   * Waits until the event is set; resolves at once if it is.
   * @param options - `signal`, `timeout` (0: only if set now), `priority` (order in which
   *   released waiters resume), `owner`
   * @returns resolves when the event is set
   * @throws rejects with `TimeoutError`, with `signal.reason` on abort, or with a
   *   TypeError/RangeError (code `ERR_CF_INVALID_ARG`) for bad options
   * @example
   * ```ts
   * await event.wait({ signal });
   * ```
   */
  wait(options?: WaitOptions): Promise<void> {
    const bad = rejectBadWaitOptions(options);
    if (bad !== undefined) return bad;
    // A pre-aborted signal fails even when the event is set; the queue rejects it and reports it.
    if (!this.#isSet || options?.signal?.aborted) {
      return (this.#queue ??= new WaitQueue({ resource: this.#name, lock: this, mode: 'event' })).enqueue(
        undefined,
        options,
      );
    }
    if (observing) reportPass(this, this.#name, 'event', resolveOwner(options?.owner), 0);
    return RESOLVED;
  }
}
