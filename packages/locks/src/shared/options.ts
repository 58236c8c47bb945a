import { type NamedRegionHandle, ThreadRegistry, type ThreadRegistryHandle } from '@cf/atomics';
import type { AcquireOptions } from '@cf/core';
import { checkAcquireOptions, checkDuration, invalidArgument } from '@cf/core';

/**
 * Options of one acquisition of a shared-memory lock: the core `AcquireOptions` plus a
 * hold-time limit.
 *
 * @example
 * ```ts
 * const lease = await mutex.acquire({ timeout: 100, holdTimeout: 5_000 });
 * ```
 */
export interface SharedLockAcquireOptions extends AcquireOptions {
  /**
   * Milliseconds the lease may be held before its `signal` aborts with a `TimeoutError`. The hold
   * is not taken away: the holder must stop on its own.
   */
  holdTimeout?: number | undefined;
}

/** What every shared-memory lock handle carries: its region and its resource name. */
export interface SharedLockHandleBase extends NamedRegionHandle {}

/**
 * What an async lock waiter asks for: a hold-time limit (0: none). An object, not the number
 * itself: core's wait queue reports a numeric request as `permits` in its events.
 */
export interface LockRequest {
  readonly holdTimeout: number;
}

/** The request of a waiter without a hold-time limit (shared: most waiters have none). */
export const UNLIMITED: LockRequest = Object.freeze({ holdTimeout: 0 });

/** The request for a hold limit of `holdTimeout` ms (0: none). */
export function lockRequest(holdTimeout: number): LockRequest {
  return holdTimeout === 0 ? UNLIMITED : { holdTimeout };
}

/** Validates `SharedLockAcquireOptions`; returns the hold limit in ms (0: none). */
export function checkSharedAcquireOptions(options: unknown): number {
  checkAcquireOptions(options);
  const holdTimeout = (options as SharedLockAcquireOptions | undefined)?.holdTimeout;
  if (holdTimeout === undefined || holdTimeout === Number.POSITIVE_INFINITY) return 0;
  return checkDuration(holdTimeout, 'options.holdTimeout');
}

/** Checks the `registry` option: a `ThreadRegistry` or `undefined`. */
export function checkRegistry(registry: unknown, name: string): ThreadRegistry | undefined {
  if (registry === undefined) return undefined;
  if (!(registry instanceof ThreadRegistry))
    throw invalidArgument('type', name, registry, 'a ThreadRegistry or undefined');
  return registry;
}

/** Checks the `registry` field of a handle posted from another thread: a registry's handle or `undefined`. */
export function checkRegistryHandle(registry: unknown): ThreadRegistryHandle | undefined {
  if (registry !== undefined && (typeof registry !== 'object' || registry === null)) {
    throw invalidArgument('type', 'handle.registry', registry, 'the handle of a ThreadRegistry or undefined');
  }
  return registry as ThreadRegistryHandle | undefined;
}
