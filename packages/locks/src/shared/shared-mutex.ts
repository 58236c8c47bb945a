import {
  blockingTimeout,
  checkNamedRegion,
  type Placement,
  placeNamedRegion,
  ThreadRegistry,
  type ThreadRegistryHandle,
  WaitLane,
} from '@cf/atomics';
import type { LeaseTrace } from '@cf/core';
import { BaseLease, DeadlockError, NotHeldError, observing, resolveOwner, TimeoutError, type Waiter } from '@cf/core';
import { ANONYMOUS, MUTEX_BYTES, MutexWords, type Take } from './mutex-words.js';
import {
  checkRegistry,
  checkRegistryHandle,
  checkSharedAcquireOptions,
  type LockRequest,
  lockRequest,
  type SharedLockAcquireOptions,
  type SharedLockHandleBase,
} from './options.js';
import { SharedLock } from './shared-lock.js';

/** A `SharedMutex` as posted to a worker. */
export interface SharedMutexHandle extends SharedLockHandleBase {
  /** The liveness registry of a robust mutex. */
  readonly registry?: ThreadRegistryHandle | undefined;
}

/** Options of the `SharedMutex` constructor. */
export interface SharedMutexOptions extends Placement {
  /** The resource name reported in leases, errors and events (default `shared-mutex#<n>`). */
  name?: string | undefined;
  /**
   * Makes the mutex robust: holders are recorded by their registry owner id, and when a holder's
   * thread is reported dead (`registry.watch(worker, slot)` or `markDead`) the next waiter takes
   * the lock over and its lease says `ownerDied`.
   */
  registry?: ThreadRegistry | undefined;
}

let releaseLease: (mutex: SharedMutex, serial: number) => void;
let attaching: SharedMutexHandle | undefined;

/**
 * A lease on a {@link SharedMutex}.
 *
 * @example
 * ```ts
 * await using lease = await mutex.acquire();
 * if (lease.ownerDied) repair(state);
 * ```
 */
export class SharedMutexLease extends BaseLease {
  /**
   * `true` when the previous holder's thread died holding the mutex (like `EOWNERDEAD` of a
   * robust pthread mutex): the state it protects may be half-updated; check or repair it.
   */
  readonly ownerDied: boolean;
  readonly #mutex: SharedMutex;
  readonly #serial: number;

  /** @internal */
  constructor(
    mutex: SharedMutex,
    serial: number,
    fence: number,
    ownerDied: boolean,
    holdTimeout: number,
    trace: LeaseTrace | undefined,
  ) {
    super(mutex.name, fence, trace);
    this.#mutex = mutex;
    this.#serial = serial;
    this.ownerDied = ownerDied;
    if (holdTimeout !== 0) this.limitHoldTime(holdTimeout);
  }

  protected releaseHold(): void {
    releaseLease(this.#mutex, this.#serial);
  }
}

/**
 * A mutual-exclusion lock in shared memory for worker threads: a three-state futex (free, held,
 * held with sleepers) whose lock word also records the holder. Uncontended `lockSync()` +
 * `unlock()` is two compare-and-swaps; contended callers sleep in `Atomics.wait` (blocking, for
 * workers) or `Atomics.waitAsync`
 * (`acquire()`, so the main thread never blocks). Async waiters of one handle queue locally by
 * priority, then arrival order, with timeouts and abort signals (see `WaitLane` of @cf/atomics).
 *
 * Fencing tokens come from a counter stored next to the lock word and incremented under the lock:
 * `lease.token` strictly increases per mutex, across all threads and handles.
 *
 * With `registry`, the mutex is robust: a thread that dies holding it is detected by its waiters
 * (within 50 ms of being reported dead), which take the lock over; the next lease says
 * `ownerDied`. See docs/shared-memory.md for the design and its limits.
 *
 * Layout: 16 bytes, 4-aligned (lock word, abandoned async waits, fencing counter).
 *
 * @example
 * ```ts
 * const mutex = new SharedMutex({ name: 'ledger' });
 * new Worker(url, { workerData: mutex.handle });   // worker: const m = SharedMutex.from(workerData);
 * // worker: m.lockSync(); try { update(); } finally { m.unlock(); }
 * await using lease = await mutex.acquire({ timeout: 1000 });
 * ```
 */
export class SharedMutex extends SharedLock<SharedMutexLease> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;
  /** The resource name, the same in every thread. */
  readonly name: string;
  readonly #handle: SharedMutexHandle;
  readonly #state: Int32Array;
  readonly #words: MutexWords;
  readonly #registry: ThreadRegistry | undefined;
  #lane: WaitLane<LockRequest, SharedMutexLease> | undefined = undefined;
  // This handle's hold: its holder word (without the waiters bit), 0 when not holding; the serial
  // of the lease holding it (0 for lockSync); whether it was taken over from a dead owner; its token.
  #heldAs = 0;
  #serial = 0;
  #leaseSerial = 0;
  #ownerDied = false;
  #fence = 0;

  static {
    releaseLease = (mutex, serial) => mutex.#releaseLease(serial);
  }

  /**
   * Bytes a `SharedMutex` occupies.
   * @returns 16
   * @example `const buffer = new SharedArrayBuffer(SharedMutex.byteLength() * 4)`
   */
  static byteLength(): number {
    return MUTEX_BYTES;
  }

  /**
   * Rebuilds the mutex from its handle, e.g. in a worker.
   * @param handle - `mutex.handle` as posted
   * @returns a mutex on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const mutex = SharedMutex.from(workerData.mutex)`
   */
  static from(handle: SharedMutexHandle): SharedMutex {
    checkNamedRegion(handle, MUTEX_BYTES, 4);
    checkRegistryHandle(handle.registry);
    attaching = handle;
    return new SharedMutex();
  }

  /**
   * Creates a free mutex in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param options - `name`, `registry` (robustness) and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad option
   * @example `const mutex = new SharedMutex({ registry })`
   */
  constructor(options?: SharedMutexOptions) {
    super();
    const attached = attaching;
    attaching = undefined;
    let handle: SharedMutexHandle;
    if (attached === undefined) {
      const registry = checkRegistry(options?.registry, 'options.registry');
      const region = placeNamedRegion(options, 'shared-mutex', MUTEX_BYTES, 4);
      handle = registry === undefined ? region : { ...region, registry: registry.handle };
      this.#registry = registry;
    } else {
      handle = attached;
      this.#registry = attached.registry === undefined ? undefined : ThreadRegistry.from(attached.registry);
    }
    this.name = handle.name;
    this.#handle = handle;
    this.#words = new MutexWords(handle.buffer, handle.byteOffset, this.#registry);
    this.#state = this.#words.state;
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): SharedMutexHandle {
    return this.#handle;
  }

  /** Bytes this mutex occupies (16). */
  get byteLength(): number {
    return MUTEX_BYTES;
  }

  /** `true` while any thread holds the mutex. */
  get isLocked(): boolean {
    return this.#words.locked;
  }

  /** `true` while this handle holds the mutex. */
  get isHeld(): boolean {
    return this.#heldAs !== 0;
  }

  /** Number of callers waiting in `acquire()` on this handle. */
  get waitersCount(): number {
    return this.#lane?.size ?? 0;
  }

  /** For the hold this handle has: whether it was taken over from a thread that died holding it. */
  get ownerDied(): boolean {
    return this.#heldAs !== 0 && this.#ownerDied;
  }

  /**
   * The fencing token of this handle's current hold (a `lockSync` hold takes its token from the
   * shared counter when this is first read, still under the lock, so tokens keep increasing in
   * the order of the holds that read them).
   * @throws NotHeldError when this handle does not hold the mutex
   */
  get token(): bigint {
    if (this.#heldAs === 0) throw new NotHeldError(`${this.name} is not held by this handle`, this.name);
    return BigInt(this.#fence === 0 ? this.#takeToken() : this.#fence);
  }

  /**
   * Takes the mutex, blocking the thread until it is free (workers, or Node's main thread).
   * @param timeout - milliseconds (default: no limit)
   * @returns `false` when the time limit passed first
   * @throws DeadlockError when this handle already holds the mutex; TypeError / RangeError for a
   *   bad timeout; TypeError where blocking is not allowed (a browser's main thread)
   * @example
   * ```ts
   * mutex.lockSync();
   * try { counter[0]++; } finally { mutex.unlock(); }
   * ```
   */
  lockSync(timeout?: number): boolean {
    const limit = timeout === undefined ? Number.POSITIVE_INFINITY : blockingTimeout(timeout);
    if (this.#heldAs !== 0) throw this.#selfDeadlock();
    const owner = this.#registry === undefined ? ANONYMOUS : this.#registry.currentOwnerId() << 1;
    if (Atomics.compareExchange(this.#state, 0, 0, owner) === 0) {
      this.#took(owner, 1, 0);
      return true;
    }
    return this.#took(owner, this.#words.lockBlocking(owner, limit), 0);
  }

  /**
   * Takes the mutex if it is free now; never waits.
   * @returns whether this handle now holds it
   * @throws DeadlockError when this handle already holds the mutex
   * @example `if (mutex.tryLockSync()) { try { work(); } finally { mutex.unlock(); } }`
   */
  tryLockSync(): boolean {
    if (this.#heldAs !== 0) throw this.#selfDeadlock();
    const owner = this.#registry === undefined ? ANONYMOUS : this.#registry.currentOwnerId() << 1;
    if (Atomics.compareExchange(this.#state, 0, 0, owner) !== 0) {
      return this.#took(owner, this.#words.takeContended(owner), 0);
    }
    this.#took(owner, 1, 0);
    return true;
  }

  /**
   * Releases a hold taken with `lockSync` / `tryLockSync` and wakes a waiter.
   * @throws NotHeldError when this handle holds no such hold (leases release themselves)
   * @example `mutex.unlock()`
   */
  unlock(): void {
    if (this.#heldAs === 0 || this.#leaseSerial !== 0) {
      throw new NotHeldError(`${this.name} is not held by this handle through lockSync()`, this.name);
    }
    this.#release();
  }

  /**
   * Waits without blocking until the mutex is free, then holds it.
   * @param options - `signal`, `timeout` (0: only if free now), `priority`, `owner`, `holdTimeout`
   * @returns the lease; release it once (further releases do nothing)
   * @throws rejects with `TimeoutError`, `signal.reason`, or TypeError / RangeError for bad options
   * @example `const lease = await mutex.acquire({ timeout: 1000 })`
   */
  acquire(options?: SharedLockAcquireOptions): Promise<SharedMutexLease> {
    let holdTimeout = 0;
    let owner = ANONYMOUS;
    try {
      if (options !== undefined) holdTimeout = checkSharedAcquireOptions(options);
      // Entering the registry (first use in this thread) may fail when it is full: fail here,
      // before queueing, rather than inside the lane.
      if (this.#registry !== undefined) owner = this.#registry.currentOwnerId() << 1;
    } catch (error) {
      return Promise.reject(error);
    }
    const lane = this.#lane;
    if ((lane === undefined || lane.size === 0) && options?.signal?.aborted !== true) {
      if (Atomics.compareExchange(this.#state, 0, 0, owner) === 0) {
        this.#took(owner, 1, ++this.#serial);
        return Promise.resolve(this.#lease(holdTimeout, observing ? resolveOwner(options?.owner) : undefined, 0));
      }
    }
    return this.#waitLane().enqueue(lockRequest(holdTimeout), options);
  }

  /**
   * Holds the mutex if it is free now, synchronously; never waits.
   * @returns the lease, or `undefined` when the mutex is held
   * @example `const lease = mutex.tryAcquireSync()`
   */
  tryAcquireSync(): SharedMutexLease | undefined {
    if (this.#heldAs !== 0 || (this.#lane?.size ?? 0) > 0) return undefined;
    const owner = this.#registry === undefined ? ANONYMOUS : this.#registry.currentOwnerId() << 1;
    const serial = ++this.#serial;
    if (Atomics.compareExchange(this.#state, 0, 0, owner) === 0) this.#took(owner, 1, serial);
    else if (!this.#took(owner, this.#words.takeContended(owner), serial)) return undefined;
    return this.#lease(0, undefined, 0);
  }

  /**
   * Holds the mutex, blocking the thread while it is held elsewhere. For workers.
   * @param timeout - milliseconds (default: no limit)
   * @returns the lease
   * @throws TimeoutError when the time limit passes; DeadlockError when this handle holds the mutex
   * @example `const lease = mutex.acquireSync(100)`
   */
  acquireSync(timeout?: number): SharedMutexLease {
    if (this.#heldAs !== 0) throw this.#selfDeadlock();
    const limit = blockingTimeout(timeout);
    const owner = this.#registry === undefined ? ANONYMOUS : this.#registry.currentOwnerId() << 1;
    if (!this.#took(owner, this.#words.lockBlocking(owner, limit), ++this.#serial)) {
      throw new TimeoutError(`Timed out after ${limit} ms waiting for ${this.name}`, limit);
    }
    return this.#lease(0, undefined, 0);
  }

  #selfDeadlock(): DeadlockError {
    return new DeadlockError(`${this.name} is already held by this handle; waiting would never end`, [this.name]);
  }

  #lease(holdTimeout: number, owner: unknown, waitStart: number): SharedMutexLease {
    const trace = observing ? { lock: this, mode: 'exclusive', owner, waitStart } : undefined;
    return new SharedMutexLease(this, this.#leaseSerial, this.#takeToken(), this.#ownerDied, holdTimeout, trace);
  }

  // Records this handle's hold after an attempt that ended with `took`; `false` when not taken.
  #took(owner: number, took: Take, serial: number): boolean {
    if (took === 0) return false;
    this.#heldAs = owner;
    this.#ownerDied = took === 2;
    this.#leaseSerial = serial;
    this.#fence = 0;
    return true;
  }

  // The next fencing token, taken under the lock: leases take one at once; a lockSync hold takes
  // one when `token` is first read (untouched counters keep contended lockSync/unlock lean).
  #takeToken(): number {
    return (this.#fence = this.#words.nextToken());
  }

  #waitLane(): WaitLane<LockRequest, SharedMutexLease> {
    return (this.#lane ??= new WaitLane<LockRequest, SharedMutexLease>({
      resource: this.name,
      lock: this,
      tryTake: (waiter) => this.#takeForWaiter(waiter),
      park: () => this.#words.park(),
    }));
  }

  #takeForWaiter(waiter: Waiter<LockRequest, SharedMutexLease>): SharedMutexLease | undefined {
    if (this.#heldAs !== 0) return undefined;
    const owner = this.#registry === undefined ? ANONYMOUS : this.#registry.currentOwnerId() << 1;
    if (!this.#took(owner, this.#words.takeContended(owner), ++this.#serial)) return undefined;
    return this.#lease(waiter.request.holdTimeout, waiter.owner, waiter.enqueuedAt);
  }

  #releaseLease(serial: number): void {
    // A lease whose hold was already ended (or replaced) must not release someone else's.
    if (this.#heldAs !== 0 && this.#leaseSerial === serial) this.#release();
  }

  #release(): void {
    const heldAs = this.#heldAs;
    this.#heldAs = 0;
    if (Atomics.compareExchange(this.#state, 0, heldAs, 0) !== heldAs) this.#words.unlockContended(heldAs);
    const lane = this.#lane;
    if (lane !== undefined && lane.size > 0) lane.pump();
  }
}
