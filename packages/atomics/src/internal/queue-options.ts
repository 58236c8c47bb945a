import { checkInteger } from '@cf/core';

/** Options of an async push or pop: the core wait options without priority. */
export interface QueueWaitOptions {
  /** Milliseconds to wait before rejecting with `TimeoutError` (default: no limit). */
  timeout?: number | undefined;
  /** Stop waiting: the promise rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

/** Checks `[start, end)` within an array of `length`. */
export function checkRange(length: number, start: unknown, end: unknown): void {
  if ((start as number) >>> 0 === start && (end as number) >>> 0 === end && start <= end && end <= length) return;
  checkInteger(start, 'start', 0, length);
  checkInteger(end, 'end', start as number, length);
}
