import { checkRegion, type Placement, placeRegion, WaitLane } from '@cf/atomics';
import type { Lease, LeaseTrace, Lock, ReadWriteLock } from '@cf/core';
import {
  BaseLease,
  checkFunction,
  DeadlockError,
  NotHeldError,
  observing,
  resolveOwner,
  TimeoutError,
  type Waiter,
} from '@cf/core';
import {
  blockingTimeout,
  checkHandleFields,
  checkSharedAcquireOptions,
  lockName,
  type SharedLockAcquireOptions,
  type SharedLockHandleBase,
} from './options.js';
import { READ_WRITE_BYTES, ReadWriteWords } from './read-write-state.js';

/** A `SharedReadWriteLock` as posted to a worker. */
export interface SharedReadWriteLockHandle extends SharedLockHandleBase {}

/** Options of the `SharedReadWriteLock` constructor. */
export interface SharedReadWriteLockOptions extends Placement {
  /** The resource name reported in leases, errors and events (default `shared-read-write-lock#<n>`). */
  name?: string | undefined;
}

/** Whether a lease or side is the shared (`'read'`) or exclusive (`'write'`) one. */
export type SharedLockMode = 'read' | 'write';

let endHold: (side: SharedReadWriteLockSide, serial: number) => void;

/**
 * A lease on one side of a {@link SharedReadWriteLock}.
 *
 * @example
 * ```ts
 * await using lease = await rw.read.acquire();
 * console.log(lease.mode, lease.token);
 * ```
 */
export class SharedReadWriteLease extends BaseLease {
  /** `'read'` or `'write'`. */
  readonly mode: SharedLockMode;
  readonly #side: SharedReadWriteLockSide;
  readonly #serial: number;

  /** @internal */
  constructor(
    side: SharedReadWriteLockSide,
    serial: number,
    fence: bigint,
    holdTimeout: number,
    trace: LeaseTrace | undefined,
  ) {
    super(side.name, fence, trace);
    this.mode = side.mode;
    this.#side = side;
    this.#serial = serial;
    if (holdTimeout !== 0) this.limitHoldTime(holdTimeout);
  }

  protected releaseHold(): void {
    endHold(this.#side, this.#serial);
  }
}

/** Per-handle bookkeeping shared by the two sides of one handle. */
interface HandleHolds {
  write: number; // 0: not held; -1: held through lockSync; else the lease serial
  rawReads: number;
  leaseReads: number;
  serial: number;
}

/**
 * One side of a {@link SharedReadWriteLock}: a `Lock` with blocking forms for workers.
 *
 * @example
 * ```ts
 * rw.write.lockSync();
 * try { table.set(key, value); } finally { rw.write.unlock(); }
 * ```
 */
export class SharedReadWriteLockSide implements Lock {
  /** `'read'` or `'write'`. */
  readonly mode: SharedLockMode;
  /** The resource name. */
  readonly name: string;
  readonly #words: ReadWriteWords;
  readonly #holds: HandleHolds;
  readonly #lock: SharedReadWriteLock;
  #lane: WaitLane<number, SharedReadWriteLease> | undefined = undefined;
  #other: SharedReadWriteLockSide | undefined = undefined;

  static {
    endHold = (side, serial) => side.#endLease(serial);
  }

  /** @internal */
  constructor(lock: SharedReadWriteLock, mode: SharedLockMode, words: ReadWriteWords, holds: HandleHolds) {
    this.#lock = lock;
    this.mode = mode;
    this.name = lock.name;
    this.#words = words;
    this.#holds = holds;
  }

  /** @internal */
  pairWith(other: SharedReadWriteLockSide): void {
    this.#other = other;
  }

  /** Number of callers waiting in `acquire()` on this side of this handle. */
  get waitersCount(): number {
    return this.#lane?.size ?? 0;
  }

  /**
   * Takes this side, blocking the thread until it is available. For workers.
   * @param timeout - milliseconds (default: no limit)
   * @returns `false` when the time limit passed first
   * @throws DeadlockError when waiting could never end (a write hold while this handle holds the
   *   lock); TypeError / RangeError for a bad timeout
   * @example `if (rw.read.lockSync(100)) try { read(); } finally { rw.read.unlock(); }`
   */
  lockSync(timeout?: number): boolean {
    this.#checkNoSelfDeadlock();
    const limit = blockingTimeout(timeout);
    if (!this.#take() && !this.#takeBlocking(limit)) return false;
    if (this.mode === 'write') this.#holds.write = -1;
    else this.#holds.rawReads++;
    return true;
  }

  /**
   * Takes this side if that needs no waiting.
   * @returns whether it was taken
   * @example `if (rw.write.tryLockSync()) try { write(); } finally { rw.write.unlock(); }`
   */
  tryLockSync(): boolean {
    if (this.mode === 'write' && this.#holds.write !== 0) return false;
    if (!this.#take()) return false;
    if (this.mode === 'write') this.#holds.write = -1;
    else this.#holds.rawReads++;
    return true;
  }

  /**
   * Releases a hold taken with `lockSync` / `tryLockSync`.
   * @throws NotHeldError when this handle holds no such hold on this side
   * @example `rw.read.unlock()`
   */
  unlock(): void {
    const holds = this.#holds;
    if (this.mode === 'write') {
      if (holds.write !== -1)
        throw new NotHeldError(`${this.name} is not write-locked by this handle through lockSync()`, this.name);
      holds.write = 0;
      this.#words.unlockWrite();
    } else {
      if (holds.rawReads === 0)
        throw new NotHeldError(`${this.name} is not read-locked by this handle through lockSync()`, this.name);
      holds.rawReads--;
      this.#words.unlockRead();
    }
    this.#pumpBoth();
  }

  /**
   * Waits without blocking until this side is available, then holds it.
   * @param options - `signal`, `timeout`, `priority`, `owner`, `holdTimeout`
   * @returns the lease
   * @throws rejects with `TimeoutError`, `signal.reason`, or TypeError / RangeError for bad options
   * @example `const lease = await rw.write.acquire({ timeout: 500 })`
   */
  acquire(options?: SharedLockAcquireOptions): Promise<SharedReadWriteLease> {
    let holdTimeout = 0;
    if (options !== undefined) {
      try {
        holdTimeout = checkSharedAcquireOptions(options);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const lane = this.#lane;
    const free = this.mode === 'read' || this.#holds.write === 0;
    if (free && (lane === undefined || lane.size === 0) && options?.signal?.aborted !== true && this.#take()) {
      return Promise.resolve(this.#lease(holdTimeout, observing ? resolveOwner(options?.owner) : undefined, 0));
    }
    return this.#waitLane().enqueue(holdTimeout, options);
  }

  /**
   * Holds this side if that needs no waiting.
   * @returns a promise of the lease, or of `undefined`
   * @example `const lease = await rw.read.tryAcquire()`
   */
  tryAcquire(): Promise<SharedReadWriteLease | undefined> {
    return Promise.resolve(this.tryAcquireSync());
  }

  /**
   * Holds this side if that needs no waiting, synchronously.
   * @returns the lease, or `undefined`
   * @example `const lease = rw.read.tryAcquireSync()`
   */
  tryAcquireSync(): SharedReadWriteLease | undefined {
    if ((this.#lane?.size ?? 0) > 0 || (this.mode === 'write' && this.#holds.write !== 0)) return undefined;
    return this.#take() ? this.#lease(0, undefined, 0) : undefined;
  }

  /**
   * Holds this side, blocking the thread while it is unavailable. For workers.
   * @param timeout - milliseconds (default: no limit)
   * @returns the lease
   * @throws TimeoutError when the time limit passes; DeadlockError as for `lockSync`
   * @example `const lease = rw.read.acquireSync(100)`
   */
  acquireSync(timeout?: number): SharedReadWriteLease {
    this.#checkNoSelfDeadlock();
    const limit = blockingTimeout(timeout);
    if (!this.#take() && !this.#takeBlocking(limit)) {
      throw new TimeoutError(`Timed out after ${limit} ms waiting to ${this.mode}-lock ${this.name}`, limit);
    }
    return this.#lease(0, undefined, 0);
  }

  /**
   * Runs `fn` while holding this side and releases it however `fn` ends.
   * @param fn - receives the lease
   * @param options - as for `acquire`
   * @returns what `fn` returns
   * @throws what `acquire` or `fn` throws
   * @example `const value = await rw.read.withLock(() => table.get(key))`
   */
  async withLock<T>(fn: (lease: Lease) => T | Promise<T>, options?: SharedLockAcquireOptions): Promise<Awaited<T>> {
    checkFunction(fn, 'fn');
    const lease = await this.acquire(options);
    try {
      return await fn(lease);
    } finally {
      await lease.release();
    }
  }

  #take(): boolean {
    return this.mode === 'write' ? this.#words.tryWrite() : this.#words.tryRead();
  }

  #takeBlocking(timeout: number): boolean {
    const deadline = timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout;
    return this.mode === 'write' ? this.#words.writeSync(deadline) : this.#words.readSync(deadline);
  }

  #checkNoSelfDeadlock(): void {
    const holds = this.#holds;
    const reads = holds.rawReads + holds.leaseReads;
    if (holds.write !== 0 || (this.mode === 'write' && reads > 0)) {
      throw new DeadlockError(
        `${this.name} is already held by this handle; waiting to ${this.mode}-lock it would never end`,
        [this.name],
      );
    }
  }

  #lease(holdTimeout: number, owner: unknown, waitStart: number): SharedReadWriteLease {
    const holds = this.#holds;
    const serial = ++holds.serial;
    if (this.mode === 'write') holds.write = serial;
    else holds.leaseReads++;
    const trace = observing
      ? { lock: this.#lock, mode: this.mode === 'write' ? 'exclusive' : 'shared', owner, waitStart }
      : undefined;
    return new SharedReadWriteLease(this, serial, this.#words.nextToken(), holdTimeout, trace);
  }

  #endLease(serial: number): void {
    const holds = this.#holds;
    if (this.mode === 'write') {
      if (holds.write !== serial) return;
      holds.write = 0;
      this.#words.unlockWrite();
    } else {
      holds.leaseReads--;
      this.#words.unlockRead();
    }
    this.#pumpBoth();
  }

  #pumpBoth(): void {
    if ((this.#lane?.size ?? 0) > 0) this.#lane!.pump();
    this.#other?.pumpLocal();
  }

  /** @internal Serves this side's local waiters after the other side released. */
  pumpLocal(): void {
    if ((this.#lane?.size ?? 0) > 0) this.#lane!.pump();
  }

  #waitLane(): WaitLane<number, SharedReadWriteLease> {
    const write = this.mode === 'write';
    return (this.#lane ??= new WaitLane<number, SharedReadWriteLease>({
      resource: this.name,
      lock: this.#lock,
      mode: write ? 'exclusive' : 'shared',
      tryTake: (waiter) => this.#takeForWaiter(waiter),
      park: () => (write ? this.#words.parkWriter() : this.#words.parkReader()),
    }));
  }

  #takeForWaiter(waiter: Waiter<number, SharedReadWriteLease>): SharedReadWriteLease | undefined {
    if (this.mode === 'write') {
      if (this.#holds.write !== 0 || !this.#words.takeWriteContended()) return undefined;
    } else if (!this.#words.takeReadContended()) {
      return undefined;
    }
    return this.#lease(waiter.request, waiter.owner, waiter.enqueuedAt);
  }
}

let attaching: SharedReadWriteLockHandle | undefined;

/**
 * Many readers or one writer, in shared memory for worker threads (the futex read-write lock of
 * Rust's standard library): write-preferring, so a waiting writer stops new readers and writers
 * do not starve. `read` and `write` are `Lock`s with the same blocking and async forms as
 * {@link SharedMutex}. Fencing tokens come from one 64-bit counter per lock, shared by both sides.
 * A thread must not take a second read hold while a writer may be waiting (the writer waits for
 * the first hold, the second hold for the writer).
 *
 * Layout: 24 bytes, 8-aligned (state, writer notification counter, their abandoned-wait counts,
 * fencing counter).
 *
 * @example
 * ```ts
 * const rw = new SharedReadWriteLock({ name: 'config' });
 * const snapshot = await rw.read.withLock(() => readConfig(shared));
 * ```
 */
export class SharedReadWriteLock implements ReadWriteLock {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 8;
  /** The resource name, the same in every thread. */
  readonly name: string;
  /** The shared side. */
  readonly read: SharedReadWriteLockSide;
  /** The exclusive side. */
  readonly write: SharedReadWriteLockSide;
  readonly #handle: SharedReadWriteLockHandle;
  readonly #words: ReadWriteWords;

  /**
   * Bytes a `SharedReadWriteLock` occupies.
   * @returns 24
   * @example `SharedReadWriteLock.byteLength()`
   */
  static byteLength(): number {
    return READ_WRITE_BYTES;
  }

  /**
   * Rebuilds the lock from its handle, e.g. in a worker.
   * @param handle - `lock.handle` as posted
   * @returns a lock on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const rw = SharedReadWriteLock.from(workerData.rw)`
   */
  static from(handle: SharedReadWriteLockHandle): SharedReadWriteLock {
    checkHandleFields(handle);
    checkRegion(handle, 'handle', READ_WRITE_BYTES, 8);
    attaching = handle;
    return new SharedReadWriteLock();
  }

  /**
   * Creates a free lock in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param options - `name` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad option
   * @example `const rw = new SharedReadWriteLock()`
   */
  constructor(options?: SharedReadWriteLockOptions) {
    const attached = attaching;
    attaching = undefined;
    let handle: SharedReadWriteLockHandle;
    if (attached === undefined) {
      const name = lockName(options, 'shared-read-write-lock');
      const region = placeRegion(options, READ_WRITE_BYTES, 8);
      new Int32Array(region.buffer, region.byteOffset, READ_WRITE_BYTES / 4).fill(0);
      handle = { ...region, name };
    } else {
      handle = attached;
    }
    this.name = handle.name;
    this.#handle = handle;
    this.#words = new ReadWriteWords(handle.buffer, handle.byteOffset);
    const holds: HandleHolds = { write: 0, rawReads: 0, leaseReads: 0, serial: 0 };
    this.read = new SharedReadWriteLockSide(this, 'read', this.#words, holds);
    this.write = new SharedReadWriteLockSide(this, 'write', this.#words, holds);
    this.read.pairWith(this.write);
    this.write.pairWith(this.read);
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): SharedReadWriteLockHandle {
    return this.#handle;
  }

  /** Bytes this lock occupies (24). */
  get byteLength(): number {
    return READ_WRITE_BYTES;
  }

  /** Number of read holds now, across all threads. */
  get readersCount(): number {
    return this.#words.readers;
  }

  /** `true` while a writer holds the lock. */
  get isWriteLocked(): boolean {
    return this.#words.writeLocked;
  }

  /** `true` while any hold exists. */
  get isLocked(): boolean {
    return this.#words.writeLocked || this.#words.readers > 0;
  }
}
