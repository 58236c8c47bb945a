import type { AcquireOptions } from '@cf/core';
import { checkAcquireOptions, checkDuration, checkName, checkOptionsObject } from '@cf/core';

/**
 * Options of one acquisition of an in-process lock: the core `AcquireOptions` plus a hold-time limit.
 *
 * @example
 * ```ts
 * const lease = await mutex.acquire({ timeout: 100, holdTimeout: 5_000 });
 * lease.signal.addEventListener('abort', () => console.warn('held too long'));
 * ```
 */
export interface LockAcquireOptions extends AcquireOptions {
  /**
   * Milliseconds the lease may be held before its `signal` aborts with a `TimeoutError` (and a
   * `timeout` event is reported). The hold is not taken away: the holder must stop on its own.
   * `Infinity` disables a default limit for this acquisition.
   */
  holdTimeout?: number | undefined;
}

/**
 * Options of the in-process lock constructors.
 *
 * @example
 * ```ts
 * const mutex = new Mutex({ name: 'accounts', defaultHoldTimeout: 10_000 });
 * ```
 */
export interface LockOptions {
  /** The resource name reported in leases, errors and events (default: a generated `mutex#1`-style name). */
  name?: string | undefined;
  /** Hold-time limit applied to every acquisition that does not set `holdTimeout` itself. */
  defaultHoldTimeout?: number | undefined;
}

/** A queued request that carries its own hold-time limit (0: none); `undefined` means "the default". */
export interface HoldRequest {
  readonly holdTimeout: number;
}

/**
 * Checks a hold-time limit: `undefined`, `Infinity`, or a duration in (0, MAX_TIMEOUT].
 * @returns the limit in ms, 0 for none, or `undefined` when not given
 */
export function checkHoldTimeout(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (value === Number.POSITIVE_INFINITY) return 0;
  return checkDuration(value, name);
}

/** Validates `LockAcquireOptions`; returns the hold limit (see {@link checkHoldTimeout}). */
export function checkLockAcquireOptions(options: unknown, name = 'options'): number | undefined {
  checkAcquireOptions(options, name);
  if (options === undefined) return undefined;
  return checkHoldTimeout((options as LockAcquireOptions).holdTimeout, `${name}.holdTimeout`);
}

/** Validates constructor options; returns the name (or `undefined`) and the default hold limit (0: none). */
export function checkLockOptions(options: unknown): { name: string | undefined; holdTimeout: number } {
  checkOptionsObject(options, 'options');
  if (options === undefined) return { name: undefined, holdTimeout: 0 };
  const { name, defaultHoldTimeout } = options as LockOptions;
  if (name !== undefined) checkName(name, 'options.name');
  return { name, holdTimeout: checkHoldTimeout(defaultHoldTimeout, 'options.defaultHoldTimeout') ?? 0 };
}

/** The hold limit of a queued request. */
export function holdRequest(holdTimeout: number | undefined): HoldRequest | undefined {
  return holdTimeout === undefined ? undefined : { holdTimeout };
}

let generated = 0;

/** A process-unique id for naming unnamed primitives lazily (`mutex#3`). */
export function nextId(): number {
  return ++generated;
}
