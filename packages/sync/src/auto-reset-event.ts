import { observing, resolveOwner, WaitQueue } from '@cf/core';
import {
  checkBoolean,
  checkPrimitiveOptions,
  nextId,
  type PrimitiveOptions,
  rejectBadWaitOptions,
  reportPass,
  type WaitOptions,
} from './internal/options.js';

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A gate that lets exactly one waiter through per `set()`: it releases the first waiter (by
 * priority, then arrival) and stays unset, or, with nobody waiting, stays set until the next
 * `wait()` passes and resets it. Several `set()` calls with nobody waiting count as one.
 *
 * @example
 * ```ts
 * const workAvailable = new AutoResetEvent();
 * queue.on('push', () => workAvailable.set());
 * for (;;) { await workAvailable.wait({ signal }); drain(queue); }
 * ```
 */
export class AutoResetEvent {
  #isSet: boolean;
  readonly #name: string;
  #queue: WaitQueue<undefined, void> | undefined = undefined;

  /**
   * @param initialState - `true` to start set (the first `wait()` passes); default `false`
   * @param options - `name`
   * @throws TypeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example
   * ```ts
   * const turn = new AutoResetEvent(true, { name: 'turn' });
   * ```
   */
  constructor(initialState = false, options?: PrimitiveOptions) {
    this.#isSet = checkBoolean(initialState, 'initialState');
    this.#name = checkPrimitiveOptions(options) ?? `auto-reset-event#${nextId()}`;
  }

  /** The resource name reported in errors and events. */
  get name(): string {
    return this.#name;
  }

  /** `true` while the event is set and nobody has consumed it. */
  get isSet(): boolean {
    return this.#isSet;
  }

  /** Number of callers waiting in `wait()`. */
  get waitersCount(): number {
    return this.#queue?.size ?? 0;
  }

  /**
   * Releases exactly one waiter, or leaves the event set when nobody waits.
   * @returns `true` when a waiter was released, `false` when the event was left set
   * @example
   * ```ts
   * event.set();
   * ```
   */
  set(): boolean {
    const queue = this.#queue;
    const waiter = queue?.first;
    if (waiter === undefined) {
      this.#isSet = true;
      return false;
    }
    if (observing) reportPass(this, this.#name, 'event', waiter.owner, waiter.enqueuedAt);
    queue!.grant(waiter, undefined);
    return true;
  }

  /**
   * Clears the event without releasing anyone.
   * @example
   * ```ts
   * event.reset();
   * ```
   */
  reset(): void {
    this.#isSet = false;
  }

  /**
   * Waits for a `set()`; passes at once, resetting the event, if it is set.
   * @param options - `signal`, `timeout` (0: only if set now), `priority`, `owner`
   * @returns resolves when this caller consumed a `set()`
   * @throws rejects with `TimeoutError`, with `signal.reason` on abort, or with a
   *   TypeError/RangeError (code `ERR_CF_INVALID_ARG`) for bad options
   * @example
   * ```ts
   * await event.wait({ timeout: 1_000 });
   * ```
   */
  wait(options?: WaitOptions): Promise<void> {
    const bad = rejectBadWaitOptions(options);
    if (bad !== undefined) return bad;
    // A pre-aborted signal fails without consuming the set state; the queue rejects it and reports it.
    if (!this.#isSet || options?.signal?.aborted) {
      return (this.#queue ??= new WaitQueue({ resource: this.#name, lock: this, mode: 'event' })).enqueue(
        undefined,
        options,
      );
    }
    this.#isSet = false;
    if (observing) reportPass(this, this.#name, 'event', resolveOwner(options?.owner), 0);
    return RESOLVED;
  }
}
