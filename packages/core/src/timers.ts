// Timer handles are numbers in browsers and objects in Node; this keeps one type for both.

/** An opaque timer handle. */
export type TimerHandle = { readonly __timer: unique symbol } | number;

/**
 * Starts a timer that does not keep a Node process alive on its own.
 * @param callback - what to run
 * @param ms - delay in milliseconds
 * @param argument - passed to `callback` (avoids allocating a closure per timer)
 * @returns the handle
 * @example `const timer = startTimer(expire, 1000, lease)`
 */
export function startTimer<A>(callback: (argument: A) => void, ms: number, argument: A, unref = false): TimerHandle {
  const timer = setTimeout(callback, ms, argument) as unknown as { unref?: () => void };
  if (unref) timer.unref?.();
  return timer as unknown as TimerHandle;
}

/**
 * Cancels a timer started with {@link startTimer}.
 * @param timer - the handle
 * @example `stopTimer(timer)`
 */
export function stopTimer(timer: TimerHandle): void {
  clearTimeout(timer as number);
}
