import type { AcquireOptions, Lease, Lock, ReadWriteLock } from '@cf/core';
import { invalidArgument, isTimeoutError } from '@cf/core';
import { LinkedLease } from './linked-lease.js';

/**
 * What a `createLock` factory may return: a `Lock`, or a read-write lock for shared mode too.
 * @example
 * ```ts
 * const createLock = (name: string): CreatedLock => new RedisReadWriteLock(redis, name, { ttl: 10_000 });
 * ```
 */
export type CreatedLock = Lock | ReadWriteLock;

function isLock(value: unknown): value is Lock {
  return typeof value === 'object' && value !== null && typeof (value as Lock).acquire === 'function';
}

/**
 * Checks what a `createLock` factory returned.
 * @throws TypeError (code `ERR_CF_INVALID_ARG`) naming the factory
 */
export function checkCreatedLock(value: unknown, name: string): CreatedLock {
  if (isLock(value)) return value;
  if (typeof value === 'object' && value !== null) {
    const { read, write } = value as ReadWriteLock;
    if (isLock(read) && isLock(write)) return value as ReadWriteLock;
  }
  throw invalidArgument(
    'type',
    `options.createLock(${JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name)}) result`,
    value,
    'a Lock (an object with acquire()) or a ReadWriteLock ({ read, write })',
  );
}

/**
 * A busy name of a `LockManager` whose locks come from a `createLock` factory. The factory's lock
 * is kept while this manager holds or waits for the name, so concurrent callers share it.
 */
export class ExternalEntry {
  readonly name: string;
  readonly lock: CreatedLock;
  holders = 0;
  waiters = 0;
  acquisitions = 0;
  contended = 0;
  timeouts = 0;
  aborts = 0;
  readonly #onIdle: (entry: ExternalEntry) => void;

  constructor(name: string, lock: CreatedLock, onIdle: (entry: ExternalEntry) => void) {
    this.name = name;
    this.lock = lock;
    this.#onIdle = onIdle;
  }

  get idle(): boolean {
    return this.holders === 0 && this.waiters === 0;
  }

  /**
   * The side to acquire for `mode`.
   * @throws RangeError (code `ERR_CF_INVALID_ARG`) for shared mode on a plain `Lock`
   */
  side(shared: boolean): Lock {
    const lock = this.lock;
    const isReadWrite = 'write' in lock && isLock(lock.write);
    if (!shared) return isReadWrite ? (lock as ReadWriteLock).write : (lock as Lock);
    if (isReadWrite) return (lock as ReadWriteLock).read;
    throw invalidArgument(
      'range',
      'options.mode',
      'shared',
      `'exclusive': createLock(${JSON.stringify(this.name.slice(0, 40))}) returned a Lock without a read side (return { read, write } to allow shared mode)`,
    );
  }

  /** Acquires `side` and wraps the lease so the manager knows when the name is idle again. */
  async acquire(side: Lock, options: AcquireOptions, holdTimeout: number): Promise<Lease> {
    if (!this.idle) this.contended++;
    this.waiters++;
    let inner: Lease;
    try {
      inner = await side.acquire(options);
    } catch (error) {
      if (isTimeoutError(error)) this.timeouts++;
      else if (options.signal?.aborted) this.aborts++;
      this.waiters--;
      if (this.idle) this.#onIdle(this);
      throw error;
    }
    this.waiters--;
    return this.wrap(inner, holdTimeout);
  }

  /** Wraps a lease obtained from the factory's lock. */
  wrap(inner: Lease, holdTimeout: number): Lease {
    this.holders++;
    this.acquisitions++;
    return new LinkedLease(this.name, [inner], holdTimeout, () => {
      if (--this.holders === 0 && this.waiters === 0) this.#onIdle(this);
    });
  }

  /** Called after a failed `tryAcquire` on a fresh entry. */
  releaseIfIdle(): void {
    if (this.idle) this.#onIdle(this);
  }
}
