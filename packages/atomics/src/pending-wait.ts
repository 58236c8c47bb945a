import { holdEventLoop, releaseEventLoop } from './internal/keep-alive.js';

// Atomics.waitAsync is ES2024; the repository's lib setting is ES2023, so type it locally rather
// than augmenting the global type for every consumer.
interface WaitAsyncResult {
  readonly async: boolean;
  readonly value: 'not-equal' | 'timed-out' | Promise<'ok' | 'timed-out'>;
}
const waitAsync = (
  Atomics as unknown as {
    waitAsync(array: Int32Array, index: number, value: number, timeout?: number): WaitAsyncResult;
  }
).waitAsync;

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
  #onDone: (() => void) | undefined;

  /**
   * Starts the wait. Primitives create these through `Futex.park`; the constructor is public
   * for structures that keep their own wait words.
   * @param array - an Int32Array over shared memory
   * @param index - the waited-on element
   * @param expected - wait only while the element holds this value
   * @param timeout - milliseconds, or Infinity
   * @param abandonedIndex - the element counting abandoned waiters of this address, or -1 for an
   *   address that is only ever notified with "wake all" (nothing to account for)
   * @param onDone - called exactly once, when the wait settles or is cancelled (whichever is first)
   * @example `const wait = new PendingWait(words, 0, observed, Infinity, 1)`
   */
  constructor(
    array: Int32Array,
    index: number,
    expected: number,
    timeout: number,
    abandonedIndex: number,
    onDone?: () => void,
  ) {
    this.#array = array;
    this.#index = index;
    this.#abandonedIndex = abandonedIndex;
    this.#onDone = onDone;
    const result = waitAsync(array, index, expected, timeout);
    if (!result.async) {
      this.#state = 1;
      onDone?.();
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

  /**
   * Gives the wait up: this thread stops waiting and no wake-up is lost to it. The promise still
   * settles later (when V8 lets the waiter go); do not act on it.
   * @example `if (queue.size === 0) wait.cancel()`
   */
  cancel(): void {
    if (this.#state !== 0) return;
    this.#state = 2;
    releaseEventLoop();
    this.#onDone?.();
    if (this.#abandonedIndex < 0) return;
    const array = this.#array;
    const abandoned = Atomics.add(array, this.#abandonedIndex, 1) + 1;
    Atomics.notify(array, this.#index, 1 + abandoned);
  }

  #settle(value: 'ok' | 'timed-out'): WaitResult {
    if (this.#state === 2) {
      if (this.#abandonedIndex >= 0) Atomics.sub(this.#array, this.#abandonedIndex, 1);
    } else {
      releaseEventLoop();
      this.#onDone?.();
    }
    this.#state = 1;
    return value;
  }
}
