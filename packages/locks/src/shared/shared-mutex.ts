import {
  checkRegion,
  Futex,
  type PendingWait,
  type Placement,
  placeRegion,
  ThreadRegistry,
  type ThreadRegistryHandle,
  WaitLane,
} from '@cf/atomics';
import type { Lease, LeaseTrace, Lock } from '@cf/core';
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
  checkRegistry,
  checkSharedAcquireOptions,
  lockName,
  type SharedLockAcquireOptions,
  type SharedLockHandleBase,
} from './options.js';
import { LIVENESS_INTERVAL } from './region.js';

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

// Words of the region: the lock word (holder << 1 | waiters bit; 0 when free), the futex's count
// of abandoned async waits, and the fencing counter (low and high 32 bits, written under the lock).
const STATE = 0;
const TOKEN_LOW = 2;
const TOKEN_HIGH = 3;
const BYTES = 16;
const WAITERS = 1;
// The holder word of a mutex without a registry: every thread writes the same id.
const ANONYMOUS = 1 << 1;

let releaseLease: (mutex: SharedMutex, serial: number) => void;

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

let attaching: SharedMutexHandle | undefined;

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
export class SharedMutex implements Lock {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;
  /** The resource name, the same in every thread. */
  readonly name: string;
  readonly #handle: SharedMutexHandle;
  readonly #words: Int32Array;
  readonly #futex: Futex;
  readonly #registry: ThreadRegistry | undefined;
  #lane: WaitLane<number, SharedMutexLease> | undefined = undefined;
  // This handle's hold: its holder word (without the waiters bit), 0 when not holding; the serial of the lease
  // holding it (0 for lockSync); whether it was taken over from a dead owner; its token.
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
    return BYTES;
  }

  /**
   * Rebuilds the mutex from its handle, e.g. in a worker.
   * @param handle - `mutex.handle` as posted
   * @returns a mutex on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const mutex = SharedMutex.from(workerData.mutex)`
   */
  static from(handle: SharedMutexHandle): SharedMutex {
    checkHandleFields(handle);
    checkRegion(handle, 'handle', BYTES, 4);
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
    const attached = attaching;
    attaching = undefined;
    let handle: SharedMutexHandle;
    if (attached === undefined) {
      const name = lockName(options, 'shared-mutex');
      const registry = checkRegistry(options?.registry, 'options.registry');
      const region = placeRegion(options, BYTES, 4);
      handle = { ...region, name, ...(registry === undefined ? {} : { registry: registry.handle }) };
      new Int32Array(region.buffer, region.byteOffset, BYTES / 4).fill(0);
      this.#registry = registry;
    } else {
      handle = attached;
      this.#registry = attached.registry === undefined ? undefined : ThreadRegistry.from(attached.registry);
    }
    this.name = handle.name;
    this.#handle = handle;
    this.#words = new Int32Array(handle.buffer, handle.byteOffset, BYTES / 4);
    this.#futex = Futex.from({ buffer: handle.buffer, byteOffset: handle.byteOffset });
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): SharedMutexHandle {
    return this.#handle;
  }

  /** Bytes this mutex occupies (16). */
  get byteLength(): number {
    return BYTES;
  }

  /** `true` while any thread holds the mutex. */
  get isLocked(): boolean {
    return Atomics.load(this.#words, STATE) !== 0;
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
    if (Atomics.compareExchange(this.#words, STATE, 0, owner) === 0) {
      this.#took(owner, false, 0);
      return true;
    }
    return this.#lockSlow(owner, limit);
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
    if (Atomics.compareExchange(this.#words, STATE, 0, owner) !== 0) return this.#takeContended(owner, 0);
    this.#took(owner, false, 0);
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
      if (Atomics.compareExchange(this.#words, STATE, 0, owner) === 0) {
        this.#took(owner, false, ++this.#serial);
        return Promise.resolve(this.#lease(holdTimeout, observing ? resolveOwner(options?.owner) : undefined, 0));
      }
    }
    return this.#waitLane().enqueue(holdTimeout, options);
  }

  /**
   * Holds the mutex if it is free now; never waits.
   * @returns a promise of the lease, or of `undefined` when the mutex is held
   * @example `const lease = await mutex.tryAcquire()`
   */
  tryAcquire(): Promise<SharedMutexLease | undefined> {
    return Promise.resolve(this.tryAcquireSync());
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
    if (Atomics.compareExchange(this.#words, STATE, 0, owner) === 0) this.#took(owner, false, serial);
    else if (!this.#takeContended(owner, serial)) return undefined;
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
    if (!this.#lockSlow(owner, limit)) {
      throw new TimeoutError(`Timed out after ${limit} ms waiting for ${this.name}`, limit);
    }
    this.#leaseSerial = ++this.#serial;
    return this.#lease(0, undefined, 0);
  }

  /**
   * Runs `fn` while holding the mutex and releases it however `fn` ends.
   * @param fn - the critical section; receives the lease
   * @param options - as for {@link SharedMutex.acquire}
   * @returns what `fn` returns
   * @throws what `acquire` or `fn` throws
   * @example `await mutex.withLock(() => { shared[0]++; })`
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

  #selfDeadlock(): DeadlockError {
    return new DeadlockError(`${this.name} is already held by this handle; waiting would never end`, [this.name]);
  }

  #lease(holdTimeout: number, owner: unknown, waitStart: number): SharedMutexLease {
    const trace = observing ? { lock: this, mode: 'exclusive', owner, waitStart } : undefined;
    return new SharedMutexLease(this, this.#leaseSerial, this.#takeToken(), this.#ownerDied, holdTimeout, trace);
  }

  #took(owner: number, ownerDied: boolean, serial: number): void {
    this.#heldAs = owner;
    this.#ownerDied = ownerDied;
    this.#leaseSerial = serial;
    this.#fence = 0;
  }

  // The next fencing token, taken under the lock: leases take one at once; a lockSync hold takes
  // one when `token` is first read (untouched counters keep contended lockSync/unlock lean).
  #takeToken(): number {
    const words = this.#words;
    const low = (words[TOKEN_LOW]! + 1) | 0;
    words[TOKEN_LOW] = low;
    if (low === 0) words[TOKEN_HIGH] = (words[TOKEN_HIGH]! + 1) | 0;
    return (this.#fence = words[TOKEN_HIGH]! * 0x100000000 + (low >>> 0));
  }

  // One attempt by a thread that may have waited: takes a free lock with the waiters bit set
  // (other sleepers may exist), or takes it over from a holder reported dead.
  #takeContended(owner: number, serial: number): boolean {
    const words = this.#words;
    const state = Atomics.load(words, STATE);
    if (state === 0) {
      if (Atomics.compareExchange(words, STATE, 0, owner | WAITERS) !== 0) return false;
      this.#took(owner, false, serial);
      return true;
    }
    if (this.#registry === undefined || this.#holderAlive(state)) return false;
    if (Atomics.compareExchange(words, STATE, state, owner | (state & WAITERS)) !== state) return false;
    this.#took(owner, true, serial);
    return true;
  }

  #holderAlive(state: number): boolean {
    const holder = state >>> 1;
    return holder === ANONYMOUS >>> 1 || this.#registry!.isOwnerAlive(holder);
  }

  #lockSlow(owner: number, timeout: number): boolean {
    const words = this.#words;
    // No spinning before parking: with short critical sections the releasing thread takes the
    // lock straight back, so a spinner mostly loses the race and slows the holder down (measured
    // on 2 cores: a spin of 10-100 rounds cost 25-60% of contended throughput).
    if (Atomics.compareExchange(words, STATE, 0, owner) === 0) {
      this.#took(owner, false, 0);
      return true;
    }
    const deadline = timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout;
    const slice = this.#registry === undefined ? Number.POSITIVE_INFINITY : LIVENESS_INTERVAL;
    for (;;) {
      if (this.#takeContended(owner, 0)) return true;
      const state = Atomics.load(words, STATE);
      if (state === 0) continue;
      if ((state & WAITERS) === 0 && Atomics.compareExchange(words, STATE, state, state | WAITERS) !== state) continue;
      if (deadline === Number.POSITIVE_INFINITY) {
        Atomics.wait(words, STATE, state | WAITERS, slice);
        continue;
      }
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(words, STATE, state | WAITERS, Math.min(left, slice));
    }
  }

  #waitLane(): WaitLane<number, SharedMutexLease> {
    return (this.#lane ??= new WaitLane<number, SharedMutexLease>({
      resource: this.name,
      lock: this,
      tryTake: (waiter) => this.#takeForWaiter(waiter),
      park: () => this.#park(),
    }));
  }

  #takeForWaiter(waiter: Waiter<number, SharedMutexLease>): SharedMutexLease | undefined {
    if (this.#heldAs !== 0) return undefined;
    const owner = this.#registry === undefined ? ANONYMOUS : this.#registry.currentOwnerId() << 1;
    if (!this.#takeContended(owner, ++this.#serial)) return undefined;
    return this.#lease(waiter.request, waiter.owner, waiter.enqueuedAt);
  }

  #park(): PendingWait | undefined {
    const words = this.#words;
    const state = Atomics.load(words, STATE);
    if (state === 0 || (this.#registry !== undefined && !this.#holderAlive(state))) return undefined;
    if ((state & WAITERS) === 0 && Atomics.compareExchange(words, STATE, state, state | WAITERS) !== state)
      return undefined;
    return this.#futex.park(
      state | WAITERS,
      this.#registry === undefined ? Number.POSITIVE_INFINITY : LIVENESS_INTERVAL,
    );
  }

  #releaseLease(serial: number): void {
    // A lease whose hold was already ended (or replaced) must not release someone else's.
    if (this.#heldAs !== 0 && this.#leaseSerial === serial) this.#release();
  }

  #release(): void {
    const words = this.#words;
    const heldAs = this.#heldAs;
    this.#heldAs = 0;
    // The fast path matches only a lock word without the waiters bit; with it, someone must be woken.
    if (Atomics.compareExchange(words, STATE, heldAs, 0) !== heldAs) this.#releaseContended(heldAs);
    const lane = this.#lane;
    if (lane !== undefined && lane.size > 0) lane.pump();
  }

  #releaseContended(heldAs: number): void {
    const words = this.#words;
    for (;;) {
      const state = Atomics.load(words, STATE);
      // Taken over by a waiter that believed this thread dead: the hold is no longer ours.
      if (state >>> 1 !== heldAs >>> 1) return;
      if (Atomics.compareExchange(words, STATE, state, 0) === state) {
        if ((state & WAITERS) !== 0) this.#futex.notify(1);
        return;
      }
    }
  }
}
