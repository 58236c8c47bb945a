import { notifyWaiters } from './internal/async-wait.js';
import { attachNext } from './internal/attach.js';
import { checkCount, checkInt32 } from './internal/checks.js';
import type { TimedWaitOptions } from './internal/wait-options.js';
import { WaitWord } from './internal/wait-word.js';
import { PendingWait, type WaitResult } from './pending-wait.js';
import { checkRegion, type Placement, type RegionHandle } from './region.js';

/** A `Futex` as posted to a worker. */
export interface FutexHandle extends RegionHandle {}

/** Options of {@link Futex.waitAsync}: `timeout` (then it resolves `'timed-out'`) and `signal`. */
export type FutexWaitOptions = TimedWaitOptions;

const VALUE = 0;
const ABANDONED = 1;
const BYTES = 8;
/** Spins before parking a blocking wait; a wake-up that finds the thread still spinning costs nothing. */
export const DEFAULT_SPINS = 100;

/**
 * A 32-bit cell threads can wait on: the futex of Linux, in shared memory. `waitSync` blocks
 * the thread (workers, or Node's main thread), `waitAsync` waits without blocking (use it on a
 * browser's or Node's main thread), and `notify` wakes waiters. Waits come back when woken, when
 * the value no longer equals `expected`, or at their time limit; a caller always re-checks its
 * condition in a loop.
 *
 * Layout: 8 bytes, 4-aligned: the value, then a count of abandoned async waiters (see
 * {@link PendingWait}), which keeps a cancelled `waitAsync` from swallowing a wake-up.
 *
 * @example
 * ```ts
 * const ready = new Futex(0);
 * worker.postMessage(ready.handle);          // worker: Futex.from(h).store(1); Futex.from(h).notify();
 * while (ready.load() === 0) await ready.waitAsync(0, { timeout: 1000 });
 * ```
 */
export class Futex extends WaitWord<FutexHandle> {
  /**
   * Bytes a `Futex` occupies.
   * @returns 8
   * @example `const buffer = new SharedArrayBuffer(Futex.byteLength() * 2)`
   */
  static byteLength(): number {
    return BYTES;
  }

  /**
   * Rebuilds a futex from its handle, e.g. in a worker.
   * @param handle - `futex.handle` as posted
   * @returns a futex on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const futex = Futex.from(workerData.futex)`
   */
  static from(handle: FutexHandle): Futex {
    attachNext(checkRegion(handle, 'handle', BYTES, 4));
    return new Futex();
  }

  /**
   * Creates a futex in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param initial - the initial value (default 0)
   * @param options - where to place it
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example `const futex = new Futex(0)`
   */
  constructor(initial = 0, options?: Placement) {
    super(BYTES, checkInt32(initial, 'initial'), options);
  }

  /**
   * Reads the value.
   * @returns the current value
   * @example `if (futex.load() === 0) ...`
   */
  load(): number {
    return Atomics.load(this.words, VALUE);
  }

  /**
   * Writes the value (waiters are not woken: call `notify`).
   * @param value - an int32
   * @throws TypeError / RangeError for a non-int32
   * @example `futex.store(1); futex.notify();`
   */
  store(value: number): void {
    Atomics.store(this.words, VALUE, checkInt32(value, 'value'));
  }

  /**
   * Writes the value and returns the previous one, atomically.
   * @param value - an int32
   * @returns the previous value
   * @throws TypeError / RangeError for a non-int32
   * @example `const previous = futex.exchange(0)`
   */
  exchange(value: number): number {
    return Atomics.exchange(this.words, VALUE, checkInt32(value, 'value'));
  }

  /**
   * Replaces the value with `replacement` if it equals `expected`, atomically.
   * @param expected - the value to find
   * @param replacement - the value to store
   * @returns the value found (equal to `expected` when the swap happened)
   * @throws TypeError / RangeError for a non-int32
   * @example `if (futex.compareExchange(0, 1) === 0) ownIt()`
   */
  compareExchange(expected: number, replacement: number): number {
    const found = checkInt32(expected, 'expected');
    return Atomics.compareExchange(this.words, VALUE, found, checkInt32(replacement, 'replacement'));
  }

  /**
   * Adds `delta` (wrapping at 32 bits), atomically.
   * @param delta - an int32
   * @returns the previous value
   * @throws TypeError / RangeError for a non-int32
   * @example `futex.add(1); futex.notifyAll();`
   */
  add(delta: number): number {
    return Atomics.add(this.words, VALUE, checkInt32(delta, 'delta'));
  }

  /**
   * Blocks this thread while the value equals `expected`, spinning briefly first.
   * @param expected - wait only while the value is this
   * @param timeout - milliseconds (default: no limit)
   * @returns `'ok'` when woken, `'not-equal'` when the value differed, `'timed-out'`
   * @throws TypeError where blocking is not allowed (a browser's main thread); TypeError /
   *   RangeError (code `ERR_CF_INVALID_ARG`) for bad arguments
   * @example `while (futex.load() === 0) futex.waitSync(0, 100);`
   */
  waitSync(expected: number, timeout: number = Number.POSITIVE_INFINITY): WaitResult {
    return this.blockWhile(expected, 'expected', timeout, DEFAULT_SPINS);
  }

  /**
   * Waits without blocking while the value equals `expected`. The thread's event loop is kept
   * alive while the wait is pending (a bare `Atomics.waitAsync` does not do that in Node).
   * @param expected - wait only while the value is this
   * @param options - `timeout` (ms) and `signal`
   * @returns `'ok'`, `'not-equal'` or `'timed-out'`
   * @throws rejects with `signal.reason` on abort; TypeError / RangeError for bad arguments
   * @example `await futex.waitAsync(0, { timeout: 1000, signal })`
   */
  waitAsync(expected: number, options?: FutexWaitOptions): Promise<WaitResult> {
    return this.waitWhile(expected, 'expected', options);
  }

  /**
   * Starts an async wait that the caller can cancel without losing anyone's wake-up: the
   * building block for primitives that keep their own queue of waiters.
   * @param expected - wait only while the value is this
   * @param timeout - milliseconds (default: no limit); not validated, pass a checked value
   * @returns the pending wait; `cancel()` gives it up
   * @example
   * ```ts
   * const wait = futex.park(0);
   * wait.promise.then(retry);
   * // later, if nobody needs it any more: wait.cancel();
   * ```
   */
  park(expected: number, timeout: number = Number.POSITIVE_INFINITY): PendingWait {
    return new PendingWait(this.words, VALUE, expected, timeout, ABANDONED);
  }

  /**
   * Wakes up to `count` waiters (blocking and async alike).
   * @param count - how many (default 1; `Infinity` for all)
   * @returns how many were woken (abandoned async waits included)
   * @throws TypeError / RangeError for a bad count
   * @example `futex.store(1); futex.notify(Infinity);`
   */
  notify(count = 1): number {
    return notifyWaiters(this.words, VALUE, ABANDONED, checkCount(count));
  }
}
