import type { CreatedLock } from './external-entry.js';
import type { LockAcquireOptions } from './options.js';
import type { ReadWritePolicy } from './read-write-state.js';

/**
 * How a name is held: alone (`'exclusive'`) or together with other shared holders (`'shared'`).
 * @example `await manager.acquire('report', { mode: 'shared' satisfies LockMode })`
 */
export type LockMode = 'exclusive' | 'shared';

/**
 * Options of one `LockManager` acquisition.
 *
 * @example
 * ```ts
 * await manager.acquire('invoice:42', { mode: 'shared', timeout: 250, priority: Priority.HIGH });
 * ```
 */
export interface LockManagerAcquireOptions extends LockAcquireOptions {
  /** `'exclusive'` (default) or `'shared'`. */
  mode?: LockMode | undefined;
}

/**
 * Options of a {@link LockManager}.
 *
 * @example
 * ```ts
 * const manager = new LockManager({ defaultTimeout: 5_000, policy: 'fair' });
 * ```
 */
export interface LockManagerOptions {
  /** Wait limit for acquisitions that set no `timeout` (default: none). */
  defaultTimeout?: number | undefined;
  /** Hold limit for acquisitions that set no `holdTimeout` (default: none). */
  defaultHoldTimeout?: number | undefined;
  /** Policy between shared and exclusive waiters of one name (default `'write-preferring'`). */
  policy?: ReadWritePolicy | undefined;
  /**
   * Makes the lock for a name instead of the built-in in-process one (for example a Redis or
   * etcd lock). Called when a name becomes busy; the result is reused while this manager holds or
   * waits for the name. Return a `Lock` for exclusive mode only, or a `ReadWriteLock`
   * (`{ read, write }`) to allow shared mode as well. `priority` is passed through.
   */
  createLock?: ((name: string) => CreatedLock) | undefined;
}

/**
 * Counters of a name (or, from `stats()`, of the whole manager). The cumulative counters of a
 * name start when the name becomes busy and are folded into the manager's totals when it
 * becomes idle, so an idle name costs no memory.
 * @example
 * ```ts
 * const { contended, acquisitions } = manager.stats('hot-row');
 * if (contended / acquisitions > 0.5) console.warn('hot-row is contended');
 * ```
 */
export interface LockStats {
  /** Leases granted. */
  readonly acquisitions: number;
  /** Requests that had to queue, whatever their outcome (granted, timed out or aborted later). */
  readonly contended: number;
  /** Waits that ended with `TimeoutError` (including `timeout: 0` on a busy name). */
  readonly timeouts: number;
  /** Waits ended by `signal`. */
  readonly aborts: number;
  /** Leases held now. */
  readonly holders: number;
  /** Callers waiting now. */
  readonly waiters: number;
}

/**
 * Manager-wide counters, plus the number of busy names.
 * @example `const { names, waiters } = manager.stats()`
 */
export interface LockManagerStats extends LockStats {
  /** Names held or waited for now. */
  readonly names: number;
}
