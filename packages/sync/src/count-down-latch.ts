import { checkInteger, observing, resolveOwner, WaitQueue } from '@cf/core';
import {
  checkPrimitiveOptions,
  grantAll,
  MAX_COUNT,
  nextId,
  type PrimitiveOptions,
  rejectBadWaitOptions,
  reportPass,
  type WaitOptions,
} from './internal/options.js';

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A one-shot gate: waiters are held until `countDown()` has been called `count` times, then all
 * of them (and every later waiter) pass. It cannot be reset; use a {@link CyclicBarrier} or a
 * {@link Phaser} for repeated rounds.
 *
 * @example
 * ```ts
 * const ready = new CountDownLatch(3);
 * for (const worker of workers) worker.start().then(() => ready.countDown());
 * await ready.wait({ timeout: 5_000 });   // all three started
 * ```
 */
export class CountDownLatch {
  #count: number;
  readonly #name: string;
  #queue: WaitQueue<undefined, void> | undefined = undefined;

  /**
   * @param count - how many `countDown()` steps open the latch, an integer from 0 (open at once) to 2^31 - 1
   * @param options - `name`
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example
   * ```ts
   * const done = new CountDownLatch(jobs.length, { name: 'jobs' });
   * ```
   */
  constructor(count: number, options?: PrimitiveOptions) {
    checkInteger(count, 'count', 0, MAX_COUNT);
    this.#name = checkPrimitiveOptions(options) ?? `latch#${nextId()}`;
    this.#count = count;
  }

  /** The resource name reported in errors and events. */
  get name(): string {
    return this.#name;
  }

  /** Steps still needed before the latch opens; 0 once open. */
  get count(): number {
    return this.#count;
  }

  /** Number of callers waiting in `wait()`. */
  get waitersCount(): number {
    return this.#queue?.size ?? 0;
  }

  /**
   * Takes `n` steps off the count (never below 0). Reaching 0 releases every waiter. Does nothing
   * once the latch is open.
   * @param n - steps, an integer from 1 to 2^31 - 1 (default 1)
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument; the count is unchanged
   * @example
   * ```ts
   * latch.countDown();      // one task done
   * latch.countDown(5);     // a batch of five done
   * ```
   */
  countDown(n = 1): void {
    if (n !== 1) checkInteger(n, 'n', 1, MAX_COUNT);
    if (this.#count === 0) return;
    this.#count = n >= this.#count ? 0 : this.#count - n;
    if (this.#count === 0 && this.#queue !== undefined) grantAll(this.#queue, undefined, this, 'latch');
  }

  /**
   * Waits until the count reaches 0; resolves at once if it already has.
   * @param options - `signal`, `timeout` (0: only if open now), `priority` (order in which
   *   released waiters resume), `owner`
   * @returns resolves when the latch is open
   * @throws rejects with `TimeoutError`, with `signal.reason` on abort, or with a
   *   TypeError/RangeError (code `ERR_CF_INVALID_ARG`) for bad options
   * @example
   * ```ts
   * await latch.wait({ signal: AbortSignal.timeout(1_000) });
   * ```
   */
  wait(options?: WaitOptions): Promise<void> {
    const bad = rejectBadWaitOptions(options);
    if (bad !== undefined) return bad;
    // A pre-aborted signal fails even when the latch is open; the queue rejects it and reports it.
    if (this.#count !== 0 || options?.signal?.aborted) {
      return (this.#queue ??= new WaitQueue({ resource: this.#name, lock: this, mode: 'latch' })).enqueue(
        undefined,
        options,
      );
    }
    if (observing) reportPass(this, this.#name, 'latch', resolveOwner(options?.owner), 0);
    return RESOLVED;
  }
}
