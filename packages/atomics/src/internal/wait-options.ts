import { checkInteger } from '@cf/core';

/**
 * Options of an async wait (of a futex, an event count, a queue): how long, and a signal to stop
 * waiting. Each method says what it returns or throws when the time is up.
 */
export interface TimedWaitOptions {
  /** Milliseconds to wait (default: no limit). */
  timeout?: number | undefined;
  /** Stop waiting: the promise rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

/** Options of an async push or pop: `timeout` (then it rejects with `TimeoutError`) and `signal`. */
export type QueueWaitOptions = TimedWaitOptions;

/** Checks `[start, end)` within an array of `length`. */
export function checkRange(length: number, start: unknown, end: unknown): void {
  if ((start as number) >>> 0 === start && (end as number) >>> 0 === end && start <= end && end <= length) return;
  checkInteger(start, 'start', 0, length);
  checkInteger(end, 'end', start as number, length);
}
