import { ThreadRegistry, type ThreadRegistryHandle } from '@cf/atomics';
import type { AcquireOptions } from '@cf/core';
import { checkAcquireOptions, checkDuration, checkName, checkOptionsObject, invalidArgument } from '@cf/core';

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

/** What every shared-memory lock handle carries besides its region. */
export interface SharedLockHandleBase {
  /** The shared memory. */
  readonly buffer: SharedArrayBuffer;
  /** Start of the lock's region in `buffer`. */
  readonly byteOffset: number;
  /** The resource name, the same in every thread. */
  readonly name: string;
}

/** Validates `SharedLockAcquireOptions`; returns the hold limit in ms (0: none). */
export function checkSharedAcquireOptions(options: unknown): number {
  checkAcquireOptions(options);
  const holdTimeout = (options as SharedLockAcquireOptions | undefined)?.holdTimeout;
  if (holdTimeout === undefined || holdTimeout === Number.POSITIVE_INFINITY) return 0;
  return checkDuration(holdTimeout, 'options.holdTimeout');
}

let generated = 0;

/** The name of a new shared lock: `options.name`, or `<kind>#<n>` (unique in the creating thread). */
export function lockName(options: unknown, kind: string): string {
  checkOptionsObject(options, 'options');
  const name = (options as { name?: unknown } | undefined)?.name;
  if (name === undefined) return `${kind}#${++generated}`;
  return checkName(name, 'options.name');
}

/** Checks the `registry` option: a `ThreadRegistry` or `undefined`. */
export function checkRegistry(registry: unknown, name: string): ThreadRegistry | undefined {
  if (registry === undefined) return undefined;
  if (!(registry instanceof ThreadRegistry))
    throw invalidArgument('type', name, registry, 'a ThreadRegistry or undefined');
  return registry;
}

/** Checks the `name` and `registry` fields of a handle posted from another thread. */
export function checkHandleFields(handle: unknown): {
  readonly name: string;
  readonly registry: ThreadRegistryHandle | undefined;
} {
  if (typeof handle !== 'object' || handle === null) {
    throw invalidArgument('type', 'handle', handle, 'the handle of a shared lock ({ buffer, byteOffset, name })');
  }
  const { name, registry } = handle as { name?: unknown; registry?: unknown };
  checkName(name, 'handle.name');
  if (registry !== undefined && (typeof registry !== 'object' || registry === null)) {
    throw invalidArgument('type', 'handle.registry', registry, 'the handle of a ThreadRegistry or undefined');
  }
  return { name: name as string, registry: registry as ThreadRegistryHandle | undefined };
}

/** Checks a blocking wait's timeout and returns it (default: no limit). */
export function blockingTimeout(timeout: unknown): number {
  if (timeout === undefined || timeout === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (typeof timeout !== 'number') {
    throw invalidArgument('type', 'timeout', timeout, 'a number of milliseconds from 0, or Infinity');
  }
  if (!(timeout >= 0))
    throw invalidArgument('range', 'timeout', timeout, 'a number of milliseconds from 0, or Infinity');
  return timeout;
}
