import type { AcquireOptions, Lock } from '@cf/core';
import type { Acquirer } from './internal/acquirer.js';
import { checkClient, type RedisClient } from './internal/client.js';
import { keyAcquirer } from './internal/holds.js';
import { checkResourceName, lockKeys } from './internal/keys.js';
import { type CommonOptions, resolveOptions } from './internal/options.js';
import type { RedisLease } from './redis-lease.js';

/** Options of {@link RedisLock}. */
export interface RedisLockOptions extends CommonOptions {}

/** Where a {@link RedisLock} keeps its state, for inspection with `redis-cli`. */
export interface RedisLockKeys {
  /** String key holding the holder's random token, with the hold's expiry as its TTL. */
  readonly lock: string;
  /** Counter incremented by every acquisition; its value is the lease's fencing token. Never expires. */
  readonly fence: string;
  /** Pub/sub channel on which releases are announced. */
  readonly channel: string;
}

/**
 * A mutual-exclusion lock on one Redis server (or one Redis Cluster slot).
 *
 * Acquiring runs one Lua script: `SET lock <128-bit random token> NX PX ttl` and, in the same
 * atomic step, `INCR` of the resource's fence counter, whose value becomes `lease.token`
 * (strictly increasing per resource, across clients and client restarts; a server restart
 * without persistence resets it, see docs). Release and extension compare the token first, so
 * they never touch another holder's key. Waiting callers are woken by the release announcement
 * on the resource's channel, with a jittered poll as a fallback; callers of one `RedisLock`
 * queue locally, so one release costs this process one attempt. While held, the lease is
 * extended every `ttl / 3`, and its `signal` aborts with `LeaseLostError` before another client
 * could take the key if an extension fails.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const lock = new RedisLock(new Redis(), 'invoice:42', { ttl: 10_000 });
 * await using lease = await lock.acquire({ timeout: 5_000 });
 * await db.update(invoice, { fence: lease.token, signal: lease.signal });
 * ```
 */
export class RedisLock implements Lock {
  /** The resource name. */
  readonly name: string;
  /** The keys and channel of this lock. */
  readonly keys: RedisLockKeys;
  readonly #acquirer: Acquirer<undefined>;

  /**
   * @param client - an ioredis `Redis` or `Cluster`
   * @param name - the resource name: any well-formed string of 1 to 1024 characters (passed to Redis only as data)
   * @param options - ttl, prefix, watchdog, driftFactor, pollInterval
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument; nothing is sent to Redis then
   */
  constructor(client: RedisClient, name: string, options?: RedisLockOptions) {
    checkClient(client, 'client');
    this.name = checkResourceName(name, 'name');
    const resolved = resolveOptions(options);
    const keys = lockKeys(resolved.prefix, name);
    this.keys = keys;
    const { lock: key, fence, channel } = keys;
    this.#acquirer = keyAcquirer<undefined>(this, client, name, { key, fence, channel }, resolved, () => '', false);
  }

  /**
   * Waits until the lock is held.
   * @param options - `signal`, `timeout` (ms), `priority` among this process's waiters, `owner`
   * @returns the lease: `token` is the fencing token, `signal` aborts when the hold ends or can no longer be guaranteed
   * @throws TimeoutError after `timeout`; `signal.reason` on abort; BackendError (with the client's error as `cause`) when Redis fails
   * @example
   * ```ts
   * const lease = await lock.acquire({ timeout: 1000 });
   * try { await work(lease.signal); } finally { await lease.release(); }
   * ```
   */
  acquire(options?: AcquireOptions): Promise<RedisLease> {
    return this.#acquirer.acquire(undefined, options);
  }

  /**
   * Takes the lock only if it is free now: one round trip, never waits.
   * @returns the lease, or `undefined` when the lock is held (or callers of this process are waiting for it)
   * @throws BackendError when Redis fails
   * @example
   * ```ts
   * const lease = await lock.tryAcquire();
   * if (lease === undefined) return 'busy';
   * ```
   */
  tryAcquire(): Promise<RedisLease | undefined> {
    return this.#acquirer.tryAcquire(undefined);
  }

  /** Callers of this object currently waiting. */
  get waitersCount(): number {
    return this.#acquirer.waiting;
  }
}
