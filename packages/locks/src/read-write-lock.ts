import type { Lease, Lock, ReadWriteLock as ReadWriteLockContract } from '@cf/core';
import { checkFunction, invalidArgument } from '@cf/core';
import {
  checkLockAcquireOptions,
  checkLockOptions,
  type LockAcquireOptions,
  type LockOptions,
  nextId,
} from './internal/options.js';
import { POLICIES, type ReadWritePolicy, ReadWriteState, type WriteLease } from './internal/read-write-state.js';

/**
 * Options of {@link ReadWriteLock}.
 *
 * @example
 * ```ts
 * const rw = new ReadWriteLock({ policy: 'fair', name: 'config', defaultHoldTimeout: 5_000 });
 * ```
 */
export interface ReadWriteLockOptions extends LockOptions {
  /** Who goes first among equally urgent readers and writers (default `'write-preferring'`). */
  policy?: ReadWritePolicy | undefined;
}

/**
 * One side of a {@link ReadWriteLock}: a `Lock` with a synchronous `tryAcquireSync` and `withLock`.
 *
 * @example
 * ```ts
 * const side: ReadWriteLockSide = rw.read;
 * const lease = side.tryAcquireSync();
 * ```
 */
export interface ReadWriteLockSide<L extends Lease = Lease> extends Lock {
  /**
   * Waits for this side.
   * @param options - `signal`, `timeout`, `priority`, `owner`, `holdTimeout`
   * @returns the lease
   * @throws rejects with `TimeoutError`, `signal.reason`, or a TypeError/RangeError
   *   (code `ERR_CF_INVALID_ARG`) for bad options
   * @example `const lease = await rw.read.acquire({ timeout: 100 })`
   */
  acquire(options?: LockAcquireOptions): Promise<L>;
  /**
   * Takes this side if no waiting is needed.
   * @returns the lease, or `undefined`
   * @example `const lease = await rw.write.tryAcquire()`
   */
  tryAcquire(): Promise<L | undefined>;
  /**
   * Synchronous `tryAcquire`.
   * @returns the lease, or `undefined`
   * @example `const lease = rw.read.tryAcquireSync()`
   */
  tryAcquireSync(): L | undefined;
  /**
   * Runs `fn` holding this side, and releases it however `fn` ends.
   * @param fn - the critical section; receives the lease
   * @param options - as for `acquire`
   * @returns what `fn` returns
   * @throws what `acquire` or `fn` throws; TypeError if `fn` is not a function
   * @example `const rows = await rw.read.withLock(() => table.rows.length)`
   */
  withLock<T>(fn: (lease: L) => T | Promise<T>, options?: LockAcquireOptions): Promise<Awaited<T>>;
}

class Side<L extends Lease> implements ReadWriteLockSide<L> {
  readonly #state: ReadWriteState;
  readonly #write: boolean;

  constructor(state: ReadWriteState, write: boolean) {
    this.#state = state;
    this.#write = write;
  }

  acquire(options?: LockAcquireOptions): Promise<L> {
    let holdTimeout: number | undefined;
    if (options !== undefined) {
      try {
        holdTimeout = checkLockAcquireOptions(options);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const state = this.#state;
    return (this.#write ? state.write(options, holdTimeout) : state.read(options, holdTimeout)) as Promise<L>;
  }

  tryAcquire(): Promise<L | undefined> {
    return Promise.resolve(this.tryAcquireSync());
  }

  tryAcquireSync(): L | undefined {
    const state = this.#state;
    return (this.#write ? state.tryWrite(undefined, undefined) : state.tryRead(undefined, undefined)) as L | undefined;
  }

  async withLock<T>(fn: (lease: L) => T | Promise<T>, options?: LockAcquireOptions): Promise<Awaited<T>> {
    checkFunction(fn, 'fn');
    const lease = await this.acquire(options);
    try {
      return await fn(lease);
    } finally {
      lease.release();
    }
  }
}

/**
 * Many readers or one writer. `read` and `write` are ordinary `Lock`s; both take `signal`,
 * `timeout`, `priority` and `holdTimeout`. Among waiters, priority decides first; between a
 * reader and a writer of equal priority the `policy` decides:
 *
 * - `'write-preferring'` (default): a waiting writer stops new readers; writers go before readers.
 * - `'read-preferring'`: readers enter whenever no writer holds; writers may starve under constant reads.
 * - `'fair'`: arrival order; consecutive readers are admitted together as one phase.
 *
 * A queued writer that times out or is aborted lets in the readers it was holding back.
 * A write lease can be turned into a read lease with `downgrade()` without a writer getting in between.
 *
 * @example
 * ```ts
 * const rw = new ReadWriteLock();
 * const snapshot = await rw.read.withLock(() => structuredClone(config));
 * await rw.write.withLock(() => { config.version++; });
 * ```
 */
export class ReadWriteLock implements ReadWriteLockContract {
  /** The shared side. */
  readonly read: ReadWriteLockSide;
  /** The exclusive side; its leases can `downgrade()`. */
  readonly write: ReadWriteLockSide<WriteLease>;
  /** The policy in force. */
  readonly policy: ReadWritePolicy;
  readonly #state: ReadWriteState;

  /**
   * @param options - `policy`, `name`, `defaultHoldTimeout`
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad option
   */
  constructor(options?: ReadWriteLockOptions) {
    const { name, holdTimeout } = checkLockOptions(options);
    const policy = options?.policy ?? 'write-preferring';
    if (!POLICIES.includes(policy)) {
      throw invalidArgument(
        typeof policy === 'string' ? 'range' : 'type',
        'options.policy',
        policy,
        POLICIES.map((p) => `'${p}'`).join(', '),
      );
    }
    this.policy = policy;
    this.#state = new ReadWriteState(name ?? `read-write-lock#${nextId()}`, {
      lock: this,
      policy,
      holdTimeout,
      fence: 0,
      seq: 0,
      onIdle: undefined,
    });
    this.read = new Side(this.#state, false);
    this.write = new Side<WriteLease>(this.#state, true);
  }

  /** The resource name. */
  get name(): string {
    return this.#state.resource;
  }

  /** Number of read leases held now. */
  get readersCount(): number {
    return this.#state.readers;
  }

  /** `true` while a write lease is held. */
  get isWriteLocked(): boolean {
    return this.#state.writer;
  }

  /** `true` while any lease (read or write) is held. */
  get isLocked(): boolean {
    return this.#state.writer || this.#state.readers > 0;
  }

  /** Number of waiting readers and writers. */
  get waitersCount(): { readonly readers: number; readonly writers: number } {
    return { readers: this.#state.waitingReaders, writers: this.#state.waitingWriters };
  }
}
