import { waitBlocking } from './internal/async-wait.js';
import { attachNext } from './internal/attach.js';
import type { TimedWaitOptions } from './internal/wait-options.js';
import { WaitWord } from './internal/wait-word.js';
import { PendingWait } from './pending-wait.js';
import type { Placement, RegionHandle } from './placement.js';
import { checkRegion } from './region.js';

/** An `EventCount` as posted to a worker. */
export interface EventCountHandle extends RegionHandle {}

/** Options of {@link EventCount.waitAsync}: `timeout` (then it resolves `false`) and `signal`. */
export type EventWaitOptions = TimedWaitOptions;

const STATE = 0;
const WAITING = 1;
const BYTES = 4;
// A notify usually lands within a few hundred nanoseconds of a producer's next step: spin that
// long before paying for a park and a wake-up.
const SPINS = 200;

/** Unchecked entry points for this package's structures, which validate at their own boundary. */
export interface EventCountInternals {
  waitSync(events: EventCount, key: number, timeout: number): boolean;
  waitAsync(events: EventCount, key: number, timeout: number, signal: AbortSignal | undefined): Promise<boolean>;
  notify(events: EventCount): number;
}
/** Not exported from the package entry. */
export let eventCountInternals: EventCountInternals;

/**
 * An event count: lets threads sleep until "something changed" without a lock, and lets the
 * side that changes things skip the wake-up entirely while nobody sleeps (one shared read). The
 * waiting side registers, re-checks its condition, and only then sleeps:
 *
 * ```ts
 * for (;;) {
 *   if (tryTake()) break;
 *   const key = events.prepareWait();
 *   if (tryTake()) break;
 *   events.waitSync(key);            // or: await events.waitAsync(key)
 * }
 * // the other side: publish(); events.notify();
 * ```
 *
 * A notify that lands between `prepareWait` and the wait makes the wait return at once, so no
 * wake-up is lost. `notify()` wakes every thread registered before it, with one compare-and-swap
 * and one `Atomics.notify` however many notifies follow until someone registers again.
 *
 * Layout: one 32-bit word, 4-aligned: `epoch << 1 | someone waiting`.
 *
 * @example
 * ```ts
 * const events = new EventCount();
 * worker.postMessage(events.handle);   // worker: EventCount.from(h)
 * ```
 */
export class EventCount extends WaitWord<EventCountHandle> {
  static {
    eventCountInternals = {
      waitSync: (events, key, timeout) => events.#waitSync(key, timeout),
      waitAsync: (events, key, timeout, signal) => events.#waitAsync(key, timeout, signal),
      notify: (events) => events.#notify(),
    };
  }

  /**
   * Bytes an `EventCount` occupies.
   * @returns 4
   * @example `const bytes = EventCount.byteLength()`
   */
  static byteLength(): number {
    return BYTES;
  }

  /**
   * Rebuilds an event count from its handle, e.g. in a worker.
   * @param handle - `events.handle` as posted
   * @returns an event count on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const events = EventCount.from(workerData.events)`
   */
  static from(handle: EventCountHandle): EventCount {
    attachNext(checkRegion(handle, 'handle', BYTES, 4));
    return new EventCount();
  }

  /**
   * Creates an event count in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad placement
   * @example `const events = new EventCount()`
   */
  constructor(options?: Placement) {
    super(BYTES, 0, options);
  }

  /** `true` while some thread registered with `prepareWait()` and no notify followed. */
  get hasWaiters(): boolean {
    return (Atomics.load(this.words, STATE) & WAITING) !== 0;
  }

  /**
   * Registers this thread as about to wait. Re-check the condition after this call; then wait
   * with the returned key, or simply do not wait (the registration costs at most one wake-up).
   * @returns the key to pass to `waitSync` / `waitAsync`
   * @example `const key = events.prepareWait()`
   */
  prepareWait(): number {
    return Atomics.or(this.words, STATE, WAITING) | WAITING;
  }

  /**
   * Blocks until a notify after `prepareWait()` (returns at once if one already happened) or
   * `timeout`, spinning briefly first.
   * @param key - from `prepareWait()`
   * @param timeout - milliseconds (default: no limit)
   * @returns `false` when the time limit passed, `true` otherwise (re-check the condition)
   * @throws TypeError where blocking is not allowed; TypeError / RangeError for bad arguments
   * @example `events.waitSync(key, 100)`
   */
  waitSync(key: number, timeout: number = Number.POSITIVE_INFINITY): boolean {
    return this.blockWhile(key, 'key', timeout, SPINS) !== 'timed-out';
  }

  /**
   * Waits without blocking until a notify after `prepareWait()` or the time limit. The event
   * loop is kept alive while the wait is pending.
   * @param key - from `prepareWait()`
   * @param options - `timeout` (ms) and `signal`
   * @returns `false` when the time limit passed, `true` otherwise
   * @throws rejects with `signal.reason` on abort; TypeError / RangeError for bad arguments
   * @example `await events.waitAsync(key, { signal })`
   */
  waitAsync(key: number, options?: EventWaitOptions): Promise<boolean> {
    return this.waitWhile(key, 'key', options).then(notTimedOut);
  }

  /**
   * Starts an async wait the caller can cancel (the building block for primitives that keep
   * their own queue of waiters). Every notify wakes every waiter, so a cancelled wait cannot
   * swallow anyone's wake-up.
   * @param key - from `prepareWait()`
   * @param timeout - milliseconds (default: no limit); not validated, pass a checked value
   * @returns the pending wait
   * @example
   * ```ts
   * const wait = events.park(events.prepareWait());
   * wait.promise.then(retry);
   * ```
   */
  park(key: number, timeout: number = Number.POSITIVE_INFINITY): PendingWait {
    return new PendingWait(this.words, STATE, key, timeout, -1);
  }

  /**
   * Wakes every thread registered before this call; costs one shared read when nobody is.
   * @returns how many threads were woken
   * @example `queue.publish(item); events.notify();`
   */
  notify(): number {
    return this.#notify();
  }

  #waitSync(key: number, timeout: number): boolean {
    return waitBlocking(this.words, STATE, key, timeout, SPINS) !== 'timed-out';
  }

  #waitAsync(key: number, timeout: number, signal: AbortSignal | undefined): Promise<boolean> {
    return this.parkWhile(key, timeout, signal).then(notTimedOut);
  }

  #notify(): number {
    const array = this.words;
    const state = Atomics.load(array, STATE);
    if ((state & WAITING) === 0) return 0;
    // Odd + 1: the next epoch, nobody registered. A failed swap means another notifier did it.
    if (Atomics.compareExchange(array, STATE, state, state + 1) !== state) return 0;
    return Atomics.notify(array, STATE);
  }
}

const notTimedOut = (result: string): boolean => result !== 'timed-out';
