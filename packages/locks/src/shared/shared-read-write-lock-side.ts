import { blockingTimeout, WaitLane } from '@cf/atomics';
import type { LeaseTrace } from '@cf/core';
import { BaseLease, DeadlockError, NotHeldError, observing, resolveOwner, TimeoutError, type Waiter } from '@cf/core';
import { checkSharedAcquireOptions, type LockRequest, lockRequest, type SharedLockAcquireOptions } from './options.js';
import type { ReadWriteWords } from './read-write-state.js';
import { SharedLock } from './shared-lock.js';

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
export interface HandleHolds {
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
export class SharedReadWriteLockSide extends SharedLock<SharedReadWriteLease> {
  /** `'read'` or `'write'`. */
  readonly mode: SharedLockMode;
  /** The resource name. */
  readonly name: string;
  readonly #words: ReadWriteWords;
  readonly #holds: HandleHolds;
  readonly #lock: object;
  #lane: WaitLane<LockRequest, SharedReadWriteLease> | undefined = undefined;
  #other: SharedReadWriteLockSide | undefined = undefined;

  static {
    endHold = (side, serial) => side.#endLease(serial);
  }

  /** @internal */
  constructor(lock: object, name: string, mode: SharedLockMode, words: ReadWriteWords, holds: HandleHolds) {
    super();
    this.#lock = lock;
    this.mode = mode;
    this.name = name;
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
    return this.#waitLane().enqueue(lockRequest(holdTimeout), options);
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

  #waitLane(): WaitLane<LockRequest, SharedReadWriteLease> {
    const write = this.mode === 'write';
    return (this.#lane ??= new WaitLane<LockRequest, SharedReadWriteLease>({
      resource: this.name,
      lock: this.#lock,
      mode: write ? 'exclusive' : 'shared',
      tryTake: (waiter) => this.#takeForWaiter(waiter),
      park: () => (write ? this.#words.parkWriter() : this.#words.parkReader()),
    }));
  }

  #takeForWaiter(waiter: Waiter<LockRequest, SharedReadWriteLease>): SharedReadWriteLease | undefined {
    if (this.mode === 'write') {
      if (this.#holds.write !== 0 || !this.#words.takeWriteContended()) return undefined;
    } else if (!this.#words.takeReadContended()) {
      return undefined;
    }
    return this.#lease(waiter.request.holdTimeout, waiter.owner, waiter.enqueuedAt);
  }
}
