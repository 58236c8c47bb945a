import type { AcquireOptions, WaitQueue } from '@cf/core';
import {
  checkAcquireOptions,
  checkDuration,
  checkName,
  checkOptionsObject,
  emit,
  invalidArgument,
  observing,
} from '@cf/core';

/**
 * The largest count of permits, parties or latch steps a primitive accepts (2^31 - 1).
 * @example
 * ```ts
 * const unbounded = new Semaphore(0, { maxPermits: MAX_COUNT });
 * ```
 */
export const MAX_COUNT = 2_147_483_647;

/**
 * Options every in-process coordination primitive accepts.
 *
 * @example
 * ```ts
 * const latch = new CountDownLatch(3, { name: 'workers-ready' });
 * ```
 */
export interface PrimitiveOptions {
  /** The resource name reported in errors and observer events (default: a generated `latch#1`-style name). */
  name?: string | undefined;
}

let generated = 0;

/**
 * A process-unique id for naming unnamed primitives (`semaphore#3`).
 * @returns the next id
 */
export function nextId(): number {
  return ++generated;
}

/**
 * Validates the options object and its `name`.
 * @returns the name, or `undefined` when not given
 */
export function checkPrimitiveOptions(options: unknown): string | undefined {
  checkOptionsObject(options, 'options');
  const name = (options as PrimitiveOptions | undefined)?.name;
  if (name !== undefined) checkName(name, 'options.name');
  return name;
}

/**
 * Checks a hold-time limit: `undefined`, `Infinity` (no limit), or a duration in (0, MAX_TIMEOUT].
 * @returns the limit in ms, 0 for none, or `undefined` when not given
 */
export function checkHoldTimeout(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (value === Number.POSITIVE_INFINITY) return 0;
  return checkDuration(value, name);
}

/**
 * Checks a boolean argument.
 * @returns `value`, typed
 */
export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgument('type', name, value, 'a boolean');
  return value;
}

/**
 * Checks the options of a wait (`signal`, `timeout`, `priority`) and turns a bad one into a rejection.
 * @returns a rejected promise for a bad argument, or `undefined` when the options are valid
 */
export function rejectBadWaitOptions(options: unknown): Promise<never> | undefined {
  if (options === undefined) return undefined;
  try {
    checkAcquireOptions(options);
    return undefined;
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Reports that a waiter passed a coordination point (a latch, barrier, event or condition). There is
 * no lease to release later, so `acquired` is followed at once by `released`: a wait-for graph
 * built from these events never keeps a holder that does not exist.
 */
export function reportPass(lock: object, resource: string, mode: string, owner: unknown, waitStart: number): void {
  const timestamp = performance.now();
  emit({
    type: 'acquired',
    resource,
    mode,
    lock,
    owner,
    timestamp,
    waitTime: waitStart === 0 ? 0 : timestamp - waitStart,
  });
  emit({ type: 'released', resource, mode, lock, owner, timestamp, holdTime: 0 });
}

/** Reports a wait that failed before it was queued (a barrier party with `timeout: 0`, say). */
export function reportLeft(
  type: 'timeout' | 'aborted',
  lock: object,
  resource: string,
  mode: string,
  owner: unknown,
  error: unknown,
): void {
  emit({ type, resource, mode, lock, owner, timestamp: performance.now(), waitTime: 0, error });
}

/**
 * Grants every pending waiter of `queue` with `value`, in service order, reporting each pass.
 * Granting only resolves promises, so no caller code runs before the loop ends.
 */
export function grantAll<R, V>(queue: WaitQueue<R, V>, value: V, lock: object, mode: string): void {
  for (let waiter = queue.first; waiter !== undefined; waiter = queue.first) {
    if (observing) reportPass(lock, queue.resource, mode, waiter.owner, waiter.enqueuedAt);
    queue.grant(waiter, value);
  }
}

/**
 * The options of a wait (`signal`, `timeout`, `priority`, `owner`), as the core contract defines them.
 * @example
 * ```ts
 * await latch.wait({ timeout: 1_000, signal: request.signal, priority: Priority.HIGH });
 * ```
 */
export type WaitOptions = AcquireOptions;
