import type { EventCount } from '@cf/atomics';
import type { AcquireOptions } from '@cf/core';
import { checkAcquireOptions, emit, observing, resolveOwner, TimeoutError } from '@cf/core';
import { reportPass } from '../internal/options.js';

/**
 * A primitive whose waits are reported to core's observers, and the event mode (`'latch'`,
 * `'barrier'`, `'condition'`, `'event'`). Waiters pass a coordination point rather than hold
 * something, so a successful wait is reported as `acquired` followed at once by `released`
 * (as the in-process primitives do); a wait that sleeps first reports `wait`, and one that gives
 * up `timeout` or `aborted`.
 */
export interface Observed {
  /** The primitive, reported as `lock`. */
  readonly primitive: { readonly name: string };
  /** The event mode. */
  readonly mode: string;
}

/**
 * Reports that a wait starts sleeping. Call only when `observing`.
 * @returns the wait's start time, for the event that ends it
 */
export function reportWait(observed: Observed, owner: unknown): number {
  const timestamp = performance.now();
  const { primitive, mode } = observed;
  emit({ type: 'wait', resource: primitive.name, mode, lock: primitive, owner, timestamp });
  return timestamp;
}

/** Reports a successful wait (`waitStart` 0: it did not sleep). Call only when `observing`. */
export function reportPassed(observed: Observed, owner: unknown, waitStart: number): void {
  reportPass(observed.primitive, observed.primitive.name, observed.mode, owner, waitStart);
}

/** Reports a wait that gave up. Call only when `observing`. */
export function reportGaveUp(
  type: 'timeout' | 'aborted',
  observed: Observed,
  owner: unknown,
  waitStart: number,
  error: unknown,
): void {
  const timestamp = performance.now();
  const { primitive, mode } = observed;
  const waitTime = waitStart === 0 ? 0 : timestamp - waitStart;
  emit({ type, resource: primitive.name, mode, lock: primitive, owner, timestamp, waitTime, error });
}

/**
 * Blocks until `ready()` returns true, sleeping on `events` between checks (register, re-check,
 * sleep: no wake-up is lost). Reports to observers when `observed` is given.
 * @returns `false` when `timeout` passed first
 */
export function blockUntil(
  ready: () => boolean,
  events: EventCount,
  timeout: number,
  observed: Observed | undefined,
): boolean {
  const owner = observing && observed !== undefined ? resolveOwner(undefined) : undefined;
  if (ready()) {
    if (observing && observed !== undefined) reportPassed(observed, owner, 0);
    return true;
  }
  const waitStart = observing && observed !== undefined ? reportWait(observed, owner) : 0;
  const deadline = timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout;
  for (;;) {
    const key = events.prepareWait();
    if (ready()) break;
    const left = deadline - performance.now();
    if (left <= 0) {
      if (observing && observed !== undefined) reportGaveUp('timeout', observed, owner, waitStart, undefined);
      return false;
    }
    events.waitSync(key, left);
    if (ready()) break;
  }
  if (observing && observed !== undefined) reportPassed(observed, owner, waitStart);
  return true;
}

/**
 * Waits without blocking until `ready()` returns true; the thread stays alive meanwhile.
 * Reports to observers.
 * @throws rejects with `TimeoutError` or `signal.reason`, or TypeError / RangeError for bad options
 */
export async function waitUntil(
  ready: () => boolean,
  events: EventCount,
  options: AcquireOptions | undefined,
  observed: Observed,
): Promise<void> {
  checkAcquireOptions(options);
  const signal = options?.signal;
  const timeout = options?.timeout ?? Number.POSITIVE_INFINITY;
  const owner = observing ? resolveOwner(options?.owner) : undefined;
  if (signal?.aborted) {
    if (observing) reportGaveUp('aborted', observed, owner, 0, signal.reason);
    throw signal.reason;
  }
  if (ready()) {
    if (observing) reportPassed(observed, owner, 0);
    return;
  }
  const waitStart = observing ? reportWait(observed, owner) : 0;
  const deadline = timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout;
  for (;;) {
    const key = events.prepareWait();
    if (ready()) break;
    const left = deadline - performance.now();
    if (left <= 0) {
      const error = new TimeoutError(`Timed out after ${timeout} ms waiting for ${observed.primitive.name}`, timeout);
      if (observing) reportGaveUp('timeout', observed, owner, waitStart, error);
      throw error;
    }
    try {
      await events.waitAsync(key, { timeout: left, ...(signal === undefined ? {} : { signal }) });
    } catch (reason) {
      if (observing) reportGaveUp('aborted', observed, owner, waitStart, reason);
      throw reason;
    }
    if (ready()) break;
  }
  if (observing) reportPassed(observed, owner, waitStart);
}
