import type { PendingWait, WaitResult } from '../pending-wait.js';

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
export function waitBlocking(
  array: Int32Array,
  index: number,
  expected: number,
  timeout: number,
  spins: number,
): WaitResult {
  for (let i = 0; i < spins; i++) {
    if (Atomics.load(array, index) !== expected) return 'not-equal';
  }
  return Atomics.wait(array, index, expected, timeout);
}

/** Milliseconds left until `deadline` (a `performance.now()` time), never negative. */
export function remaining(deadline: number): number {
  if (deadline === Number.POSITIVE_INFINITY) return deadline;
  const left = deadline - performance.now();
  return Math.max(left, 0);
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
