import { ClosedError, TimeoutError } from '@cf/core';
import { type EventCount, eventCountInternals } from '../event-count.js';
import { deadlineOf, remaining } from './async-wait.js';

// Attempts before registering as a waiter: a registration makes the other side pay for a
// wake-up (a compare-and-swap and an Atomics.notify) on its next step, which costs more than
// retrying for a few microseconds while that side is running anyway. Between attempts the thread
// backs off without touching shared memory: an attempt reads the other side's index, and reading
// it on every iteration steals that cache line from the thread writing it (measured on an SPSC
// ring: about 100 ns per element without the pause, 35 ns with it).
const SPIN_ATTEMPTS = 64;
const BACKOFF = 256;
let sink = 0;

function pause(iterations: number): void {
  let value = sink;
  for (let i = 0; i < iterations; i++) value = (value + i) | 0;
  sink = value;
}

/** The error of an operation on a closed structure. */
export function closedError(name: string): ClosedError {
  return new ClosedError(`The ${name} is closed`);
}

/** The error of an async wait that ran out of time. */
export function timeoutError(timeout: number | undefined, what: string): TimeoutError {
  return new TimeoutError(`Timed out after ${timeout} ms waiting for ${what}`, timeout ?? 0);
}

/** Returned by an attempt that could not complete yet (a full or empty structure). */
export const NOT_YET: unique symbol = Symbol('not yet');
/** The result type of an attempt. */
export type Attempt<T> = T | typeof NOT_YET;

/**
 * Blocks until `attempt` completes, with the event-count protocol: try, register, try again,
 * sleep. `attempt` throws to end the wait (a `ClosedError`).
 * @param whileSpinning - the attempt of the spinning phase, when it should ask for more than
 *   `attempt` (room for a run rather than one element); the sleeping phase uses `attempt`
 * @returns the attempt's result, or `NOT_YET` when `timeout` passed
 */
export function blockUntil<T>(
  attempt: () => Attempt<T>,
  events: EventCount,
  timeout: number,
  whileSpinning: () => Attempt<T> = attempt,
): Attempt<T> {
  const { waitSync } = eventCountInternals;
  // The caller has just failed once: pause before each retry.
  for (let i = 0; i < SPIN_ATTEMPTS; i++) {
    pause(BACKOFF);
    const result = whileSpinning();
    if (result !== NOT_YET) return result;
  }
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
