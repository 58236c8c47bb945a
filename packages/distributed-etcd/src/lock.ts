import type { AcquireOptions, Lock } from '@cf/core';
import type { EtcdClient } from './internal/client.js';
import { checkPrimitiveName, EMPTY, primitivePrefix } from './internal/keys.js';
import { acquireOrdered, type OrderedKind, sessionKeyKind, tryOrdered } from './internal/ordered-lock.js';
import { type EtcdOptions, SessionSource } from './internal/source.js';
import type { EtcdLease } from './lease.js';

/**
 * A distributed mutex with the algorithm and key layout of etcd's Go `concurrency.Mutex`, so
 * `etcdctl lock <name>` and Go services using `concurrency.Mutex` on the same name exclude our
 * clients, and ours exclude them.
 *
 * Each request puts the key `<prefix><name>/<session lease ID in lowercase hex>` with an empty
 * value on the session's lease; the key with the lowest create revision under `<name>/` holds
 * the lock; a waiter watches only the key just ahead of it. The fencing token is the key's create
 * revision. Requests of one process that share a session queue locally first (priority, then
 * FIFO), because they would share one key.
 *
 * @example
 * ```ts
 * const lock = new EtcdLock(client, 'nightly-report', { ttl: 10_000 });
 * await using lease = await lock.acquire({ timeout: 5000 });
 * await writeReport({ fence: lease.token, signal: lease.signal });
 * ```
 */
export class EtcdLock implements Lock {
  /** The lock's name. */
  readonly name: string;
  readonly #source: SessionSource;
  readonly #kind: OrderedKind;

  /**
   * @param client - an etcd3 `Etcd3` client (or a namespace of one)
   * @param name - the lock's name: non-empty, at most 1024 characters, no `/` or NUL
   * @param options - `ttl` (ms, default 60000) of the shared session, or an explicit `session`; `prefix`
   * @throws TypeError / RangeError (`ERR_CF_INVALID_ARG`) for a bad client, name or option
   */
  constructor(client: EtcdClient, name: string, options?: EtcdOptions) {
    this.name = checkPrimitiveName(name);
    this.#source = new SessionSource(client, options);
    this.#kind = sessionKeyKind(this, name, primitivePrefix(this.#source.raw, this.#source.prefix, name));
  }

  /**
   * Waits until the lock is held.
   * @param options - `timeout` (ms), `signal`, `priority` (among this process's waiters), `owner`
   * @returns the lease; its `token` is the key's create revision
   * @throws TimeoutError, `signal.reason`, LeaseLostError / ClosedError when the session ends
   *   while waiting, BackendError when etcd fails for good
   * @example
   * ```ts
   * const lease = await lock.acquire({ timeout: 1000 });
   * try { await work(); } finally { await lease.release(); }
   * ```
   */
  acquire(options?: AcquireOptions): Promise<EtcdLease> {
    return acquireOrdered(this.#source, this.#kind, EMPTY, options);
  }

  /**
   * Takes the lock if nobody holds or waits for it (etcd's `TryLock`): creates the key, and
   * deletes it again when another key is ahead. Never waits for a holder.
   * @returns the lease, or `undefined`
   * @throws BackendError when etcd fails for good; LeaseLostError / ClosedError for an ended session
   * @example
   * ```ts
   * const lease = await lock.tryAcquire();
   * if (lease === undefined) return 'busy';
   * ```
   */
  tryAcquire(): Promise<EtcdLease | undefined> {
    return tryOrdered(this.#source, this.#kind, EMPTY);
  }
}
