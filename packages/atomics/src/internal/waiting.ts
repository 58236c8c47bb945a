import { type EventCount, eventCountInternals } from '../event-count.js';
import { deadlineOf, remaining } from './async-wait.js';

/** Returned by an attempt that could not complete yet (a full or empty structure). */
export const NOT_YET: unique symbol = Symbol('not yet');
/** The result type of an attempt. */
export type Attempt<T> = T | typeof NOT_YET;

/**
 * Blocks until `attempt` completes, with the event-count protocol: try, register, try again,
 * sleep. `attempt` throws to end the wait (a `ClosedError`).
 * @returns the attempt's result, or `NOT_YET` when `timeout` passed
 */
export function blockUntil<T>(attempt: () => Attempt<T>, events: EventCount, timeout: number): Attempt<T> {
  const { waitSync } = eventCountInternals;
  const deadline = deadlineOf(timeout);
  for (;;) {
    let result = attempt();
    if (result !== NOT_YET) return result;
    const left = remaining(deadline);
    if (left === 0) return NOT_YET;
    const key = events.prepareWait();
    result = attempt();
    if (result !== NOT_YET) return result;
    waitSync(events, key, left);
  }
}

/**
 * Waits without blocking until `attempt` completes; the event loop stays alive meanwhile.
 * @returns the attempt's result, or `NOT_YET` when `timeout` passed
 * @throws rejects with `signal.reason` on abort, or with what `attempt` throws
 */
export async function waitUntil<T>(
  attempt: () => Attempt<T>,
  events: EventCount,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<Attempt<T>> {
  const { waitAsync } = eventCountInternals;
  const deadline = deadlineOf(timeout);
  for (;;) {
    if (signal?.aborted) throw signal.reason;
    let result = attempt();
    if (result !== NOT_YET) return result;
    const left = remaining(deadline);
    if (left === 0) return NOT_YET;
    const key = events.prepareWait();
    result = attempt();
    if (result !== NOT_YET) return result;
    await waitAsync(events, key, left, signal);
  }
}
