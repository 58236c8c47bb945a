import { holdEventLoop, releaseEventLoop } from './keep-alive.js';

// Atomics.waitAsync is ES2024; the repository's lib setting is ES2023, so type it locally rather
// than augmenting the global type for every consumer.
interface WaitAsyncResult {
  readonly async: boolean;
  readonly value: 'not-equal' | 'timed-out' | Promise<'ok' | 'timed-out'>;
}
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number, timeout?: number): WaitAsyncResult;
}).waitAsync;

/** How a wait ended: woken by a notify, the value differed at once, or the time limit passed. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

/**
 * One `Atomics.waitAsync` in flight, which the thread can give up.
 *
 * Giving up is the delicate part: V8 cannot remove a pending async waiter, and it counts for
 * `Atomics.notify` like any other, in FIFO order. An abandoned waiter would swallow a wake-up
 * meant for a live one. So each wait address has a companion "abandoned" counter in shared
 * memory: notifiers wake `count + abandoned` waiters, and `cancel()` increments it and then wakes
 * once more itself (the waiter may already have swallowed a wake-up before it was counted). The
 * abandoned waiter decrements the counter when V8 finally resolves it (a notify or its time limit);
 * if its thread is terminated first, V8 drops it and the counter stays one too high, which costs
 * an extra wake-up per notify, never a lost one.
 */
export class PendingWait {
  /** Settles with the result; never rejects. */
  readonly promise: Promise<WaitResult>;
  #array: Int32Array;
  #index: number;
  #abandonedIndex: number;
  #state: 0 | 1 | 2 = 0; // pending, settled, abandoned

  /**
   * @param array - an Int32Array over shared memory
   * @param index - the waited-on element
   * @param expected - wait only while the element holds this value
   * @param timeout - milliseconds, or Infinity
   * @param abandonedIndex - the element counting abandoned waiters of this address
   */
  constructor(array: Int32Array, index: number, expected: number, timeout: number, abandonedIndex: number) {
    this.#array = array;
    this.#index = index;
    this.#abandonedIndex = abandonedIndex;
    const result = waitAsync(array, index, expected, timeout);
    if (!result.async) {
      this.#state = 1;
      this.promise = Promise.resolve(result.value as 'not-equal' | 'timed-out');
      return;
    }
    holdEventLoop();
    this.promise = (result.value as Promise<'ok' | 'timed-out'>).then((value) => this.#settle(value));
  }

  /** `true` until the wait settles or is cancelled. */
  get pending(): boolean {
    return this.#state === 0;
  }

  /** Gives the wait up: this thread stops waiting and no wake-up is lost to it. */
  cancel(): void {
    if (this.#state !== 0) return;
    this.#state = 2;
    releaseEventLoop();
    const array = this.#array;
    const abandoned = Atomics.add(array, this.#abandonedIndex, 1) + 1;
    Atomics.notify(array, this.#index, 1 + abandoned);
  }

  #settle(value: 'ok' | 'timed-out'): WaitResult {
    if (this.#state === 2) Atomics.sub(this.#array, this.#abandonedIndex, 1);
    else releaseEventLoop();
    this.#state = 1;
    return value;
  }
}

/**
 * Wakes waiters of `array[index]`, counting abandoned async waiters (see {@link PendingWait}).
 * @returns the number of waiters woken
 */
export function notifyWaiters(array: Int32Array, index: number, abandonedIndex: number, count: number): number {
  if (count === Number.POSITIVE_INFINITY) return Atomics.notify(array, index);
  return Atomics.notify(array, index, count + Atomics.load(array, abandonedIndex));
}

/**
 * Blocks the thread until `array[index]` is woken, the value differs or `timeout` passes,
 * spinning briefly first because a wake-up that arrives while parked costs microseconds.
 * @returns how the wait ended
 * @throws TypeError where blocking is not allowed (a browser's main thread)
 */
export function waitBlocking(array: Int32Array, index: number, expected: number, timeout: number, spins: number): WaitResult {
  for (let i = 0; i < spins; i++) {
    if (Atomics.load(array, index) !== expected) return 'not-equal';
  }
  return Atomics.wait(array, index, expected, timeout);
}

/** Milliseconds left until `deadline` (a `performance.now()` time), never negative. */
export function remaining(deadline: number): number {
  if (deadline === Number.POSITIVE_INFINITY) return deadline;
  const left = deadline - performance.now();
  return left > 0 ? left : 0;
}

/** The `performance.now()` time at which a wait of `timeout` ms ends. */
export function deadlineOf(timeout: number | undefined): number {
  if (timeout === undefined || timeout === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  return performance.now() + timeout;
}

/**
 * Races a pending wait against `signal`: on abort the wait is cancelled (no wake-up lost) and
 * the promise rejects with `signal.reason`; the listener is removed however the wait ends.
 */
export function withSignal(wait: PendingWait, signal: AbortSignal | undefined): Promise<WaitResult> {
  if (signal === undefined || !wait.pending) return wait.promise;
  return new Promise<WaitResult>((resolve, reject) => {
    const onAbort = (): void => {
      wait.cancel();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    wait.promise.then((result) => {
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    });
  });
}
