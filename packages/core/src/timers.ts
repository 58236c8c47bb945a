// Timer handles are numbers in browsers and objects in Node; this keeps one type for both.

/**
 * An opaque timer handle from {@link startTimer}: a number in browsers, an object in Node.
 * @example
 * ```ts
 * let timer: TimerHandle | undefined = startTimer(expire, 1000, lease);
 * ```
 */
export type TimerHandle = { readonly __timer: unique symbol } | number;

/**
 * Starts a one-shot timer that works the same in Node, browsers and workers.
 * @param callback - what to run
 * @param ms - delay in milliseconds; the caller has validated it (at most `MAX_TIMEOUT`: Node turns
 *   larger delays into 1 ms)
 * @param argument - passed to `callback` (avoids allocating a closure per timer)
 * @param unref - `true` so that the timer alone does not keep a Node process alive (for timers
 *   that only report, such as a hold-time limit); ignored where timers have no `unref`
 * @returns the handle, for {@link stopTimer}
 * @example
 * ```ts
 * const timer = startTimer(expire, 1000, lease);
 * stopTimer(timer);
 * ```
 */
export function startTimer<A>(callback: (argument: A) => void, ms: number, argument: A, unref = false): TimerHandle {
  const timer = setTimeout(callback, ms, argument) as unknown as { unref?: () => void };
  if (unref) timer.unref?.();
  return timer as unknown as TimerHandle;
}

/**
 * Cancels a timer started with {@link startTimer}. Harmless on a timer that already fired.
 * @param timer - the handle
 * @example
 * ```ts
 * stopTimer(timer);
 * ```
 */
export function stopTimer(timer: TimerHandle): void {
  clearTimeout(timer as number);
}
