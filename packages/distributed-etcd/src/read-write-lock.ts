import type { AcquireOptions, Lock, ReadWriteLock } from '@cf/core';
import type { EtcdClient } from './internal/client.js';
import { checkPrimitiveName, EMPTY, join, primitivePrefix } from './internal/keys.js';
import { acquireOrdered, type OrderedKind, tryOrdered } from './internal/ordered-lock.js';
import { type EtcdOptions, SessionSource } from './internal/source.js';
import type { EtcdLease } from './lease.js';
import type { SessionCore } from './session.js';

/** One side of an {@link EtcdReadWriteLock}: a `Lock` whose leases are {@link EtcdLease}s. */
export interface EtcdLockSide extends Lock {
  /** Waits for this side; see {@link EtcdLock.acquire}. */
  acquire(options?: AcquireOptions): Promise<EtcdLease>;
  /** Takes this side only if nothing is ahead; see {@link EtcdLock.tryAcquire}. */
  tryAcquire(): Promise<EtcdLease | undefined>;
}

/**
 * A distributed readers-writer lock, fair across processes (first come, first served by create
 * revision; a waiting writer holds back later readers).
 *
 * Layout under `<prefix><name>/`: a reader puts `read/<lease hex>-<n>`, a writer
 * `write/<lease hex>-<n>` (`<n>` counts requests within the session, in hex), empty values, on the
 * session lease. A reader holds when no `write/` key has a lower create revision and watches only
 * the last such writer; a writer holds when no key at all has a lower create revision and watches
 * only the key just ahead of it. Readers and writers of one process meet in a local gate first
 * (priority, then FIFO). Tokens are create revisions.
 *
 * @example
 * ```ts
 * const rw = new EtcdReadWriteLock(client, 'catalog');
 * await using reading = await rw.read.acquire();
 * const catalog = await load();
 * ```
 */
export class EtcdReadWriteLock implements ReadWriteLock {
  /** The lock's name. */
  readonly name: string;
  /** The shared side. */
  readonly read: EtcdLockSide;
  /** The exclusive side. */
  readonly write: EtcdLockSide;

  /**
   * @param client - an etcd3 `Etcd3` client (or a namespace of one)
   * @param name - non-empty, at most 1024 characters, no `/` or NUL
   * @param options - `ttl` (ms) of the shared session, or `session`; `prefix`
   * @throws TypeError / RangeError (`ERR_CF_INVALID_ARG`) for a bad client, name or option
   */
  constructor(client: EtcdClient, name: string, options?: EtcdOptions) {
    this.name = checkPrimitiveName(name);
    const source = new SessionSource(client, options);
    const prefix = primitivePrefix(source.raw, source.prefix, name);
    const gateKey = prefix.toString('latin1');
    const unique = (side: string) => (core: SessionCore) =>
      join(prefix, `${side}/${core.leaseHex}-${(++core.seq).toString(16)}`);
    const side = (kind: OrderedKind): EtcdLockSide => ({
      acquire: (acquireOptions) => acquireOrdered(source, kind, EMPTY, acquireOptions),
      tryAcquire: () => tryOrdered(source, kind, EMPTY),
    });
    this.read = side({
      lock: this,
      resource: name,
      mode: 'shared',
      gateKey,
      myKey: unique('read'),
      blockPrefix: join(prefix, 'write/'),
    });
    this.write = side({
      lock: this,
      resource: name,
      mode: 'exclusive',
      gateKey,
      myKey: unique('write'),
      blockPrefix: prefix,
    });
  }
}
