import type { AcquireOptions, Lease, Semaphore as SemaphoreContract, Waiter } from '@cf/core';
import { checkAcquireOptions, checkInteger, invalidArgument, observing, resolveOwner, WaitQueue } from '@cf/core';
import { checkBoolean, checkHoldTimeout, checkPrimitiveOptions, MAX_COUNT, nextId } from './internal/options.js';
import { FREE_PERMITS, HANDED_PERMITS, PermitLease, setReturnPermits } from './internal/permit-lease.js';

/**
 * Options of {@link Semaphore}.
 *
 * @example
 * ```ts
 * const pool = new Semaphore(4, { name: 'db-connections', maxPermits: 16, defaultHoldTimeout: 30_000 });
 * ```
 */
export interface SemaphoreOptions {
  /** The resource name reported in leases, errors and events (default: a generated `semaphore#1`-style name). */
  name?: string | undefined;
  /**
   * The most permits one `acquire` may ask for and the largest size `resize` accepts. Default: the
   * initial `permits` (at least 1). A request above it could never be served, so it is refused at once.
   */
  maxPermits?: number | undefined;
  /**
   * `false` (default): strict order. A waiter at the head that needs more permits than are free
   * blocks everyone behind it, and new requests queue behind it even when they would fit, so a
   * heavy request is never starved by a stream of light ones. `true`: free permits go to any
   * waiter (in service order) or new caller they suffice for, which keeps permits busy but can
   * starve heavy requests.
   */
  barging?: boolean | undefined;
  /** Hold-time limit applied to every lease that does not set `holdTimeout` itself (see {@link SemaphoreAcquireOptions}). */
  defaultHoldTimeout?: number | undefined;
}

/**
 * Options of one {@link Semaphore.acquire}: the core `AcquireOptions` plus a hold-time limit.
 *
 * @example
 * ```ts
 * const lease = await pool.acquire(2, { timeout: 100, holdTimeout: 5_000 });
 * lease.signal.addEventListener('abort', () => console.warn('held too long'));
 * ```
 */
export interface SemaphoreAcquireOptions extends AcquireOptions {
  /**
   * Milliseconds the lease may be held before its `signal` aborts with a `TimeoutError` (and a
   * `timeout` event is reported). The permits are not taken back: the holder must stop on its own.
   * `Infinity` disables a default limit for this acquisition.
   */
  holdTimeout?: number | undefined;
}

/**
 * A lease on some permits of a {@link Semaphore}.
 *
 * @example
 * ```ts
 * await using lease = await pool.acquire(3);
 * console.log(lease.permits); // 3
 * ```
 */
export interface SemaphoreLease extends Lease {
  /** How many permits this lease holds and returns, once, when released. */
  readonly permits: number;
}

// A queued request is its permit count, or an object when it carries its own hold-time limit.
interface PermitRequest {
  readonly permits: number;
  readonly holdTimeout: number;
}
type Request = number | PermitRequest;
type Queue = WaitQueue<Request, SemaphoreLease>;

/**
 * A counting, weighted semaphore with priorities. Each lease holds some permits and returns
 * exactly those, once, when released; there is no free-standing `release()`, so a caller can
 * never return permits it does not hold. Waiters are served by priority, then in arrival order,
 * and released permits are handed straight to them.
 *
 * `resize()` changes the number of permits at run time. Shrinking below what is held is
 * allowed: `availablePermits` goes negative and nobody new gets permits until enough leases
 * have been released.
 *
 * @example
 * ```ts
 * const downloads = new Semaphore(3);
 * await Promise.all(urls.map(async (url) => {
 *   await using lease = await downloads.acquire(1, { timeout: 10_000 });
 *   return fetch(url);
 * }));
 * ```
 */
export class Semaphore implements SemaphoreContract {
  #available: number;
  #size: number;
  readonly #maxPermits: number;
  readonly #barging: boolean;
  readonly #holdTimeout: number;
  #name: string | undefined;
  #fence = 0;
  // Created at the first contention: an idle semaphore stays a handful of fields.
  #queue: Queue | undefined = undefined;

  static {
    setReturnPermits((semaphore, permits) => semaphore.#return(permits));
  }

  /**
   * @param permits - the initial number of permits, an integer from 0 to `maxPermits`
   * @param options - `name`, `maxPermits`, `barging`, `defaultHoldTimeout`
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example
   * ```ts
   * const semaphore = new Semaphore(10, { maxPermits: 100 });
   * ```
   */
  constructor(permits: number, options?: SemaphoreOptions) {
    checkInteger(permits, 'permits', 0, MAX_COUNT);
    this.#name = checkPrimitiveOptions(options);
    const max = options?.maxPermits;
    this.#maxPermits = max === undefined ? Math.max(permits, 1) : checkInteger(max, 'options.maxPermits', 1, MAX_COUNT);
    if (permits > this.#maxPermits) {
      throw invalidArgument(
        'range',
        'permits',
        permits,
        `an integer from 0 to ${this.#maxPermits} (options.maxPermits)`,
      );
    }
    this.#barging = options?.barging === undefined ? false : checkBoolean(options.barging, 'options.barging');
    this.#holdTimeout = checkHoldTimeout(options?.defaultHoldTimeout, 'options.defaultHoldTimeout') ?? 0;
    this.#size = permits;
    this.#available = permits;
  }

  /** The resource name: `options.name`, or a generated `semaphore#<n>`. */
  get name(): string {
    return (this.#name ??= `semaphore#${nextId()}`);
  }

  /** The current number of permits (held plus free), as last set by the constructor or `resize`. */
  get permits(): number {
    return this.#size;
  }

  /** The most permits one acquisition may ask for, and the largest size `resize` accepts. */
  get maxPermits(): number {
    return this.#maxPermits;
  }

  /** Permits free now: `permits` minus those held. Negative after shrinking below what is held. */
  get availablePermits(): number {
    return this.#available;
  }

  /** Number of callers waiting in `acquire()`. */
  get waitersCount(): number {
    return this.#queue?.size ?? 0;
  }

  /**
   * Waits until `permits` permits are free (and, unless `barging`, every earlier or more urgent
   * waiter has been served), then holds them.
   * @param permits - how many, an integer from 1 to `maxPermits` (default 1)
   * @param options - `signal`, `timeout` (0: only if free now), `priority`, `owner`, `holdTimeout`
   * @returns the lease; releasing it returns exactly its permits, once
   * @throws rejects with `TimeoutError`, with `signal.reason` on abort, or with a
   *   TypeError/RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example
   * ```ts
   * const lease = await semaphore.acquire(2, { priority: Priority.HIGH, timeout: 500 });
   * try { await work(); } finally { lease.release(); }
   * ```
   */
  acquire(permits = 1, options?: SemaphoreAcquireOptions): Promise<SemaphoreLease> {
    // The two common shapes, one permit without options, free or contended, skip all checks.
    if (options === undefined && permits === 1) {
      const queue = this.#queue;
      if (this.#available > 0) {
        if (queue === undefined || queue.size === 0 || this.#barging) {
          this.#available--;
          return Promise.resolve(this.#lease(1, this.#holdTimeout, observing ? resolveOwner(undefined) : undefined, 0));
        }
      } else if (queue !== undefined) {
        return queue.enqueue(1, undefined);
      }
    }
    return this.#acquireSlow(permits, options);
  }

  /**
   * Holds `permits` permits if that needs no waiting; never waits.
   * @param permits - how many, an integer from 1 to `maxPermits` (default 1)
   * @returns a promise of the lease, or of `undefined` when the permits are not free now (or,
   *   unless `barging`, when others are already waiting)
   * @throws rejects with a TypeError/RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example
   * ```ts
   * const lease = await semaphore.tryAcquire(2);
   * if (lease === undefined) return 'busy';
   * ```
   */
  tryAcquire(permits = 1): Promise<SemaphoreLease | undefined> {
    try {
      return Promise.resolve(this.tryAcquireSync(permits));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Holds `permits` permits if that needs no waiting, synchronously.
   * @param permits - how many, an integer from 1 to `maxPermits` (default 1)
   * @returns the lease, or `undefined` when the permits are not free now (or, unless `barging`,
   *   when others are already waiting)
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example
   * ```ts
   * const lease = semaphore.tryAcquireSync();
   * if (lease !== undefined) { try { step(); } finally { lease.release(); } }
   * ```
   */
  tryAcquireSync(permits = 1): SemaphoreLease | undefined {
    if (permits !== 1) this.#checkPermits(permits);
    if (this.#available < permits || !(this.#idle() || this.#barging)) return undefined;
    this.#available -= permits;
    if (!observing && this.#holdTimeout === 0) return new PermitLease(this, ++this.#fence, permits);
    return this.#lease(permits, this.#holdTimeout, observing ? resolveOwner(undefined) : undefined, 0);
  }

  /**
   * Changes the number of permits. Growing serves waiters at once. Shrinking below what is held
   * takes nothing back: `availablePermits` goes negative and new grants wait until enough leases
   * have been released.
   * @param permits - the new size, an integer from 0 to `maxPermits`
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument; the size is unchanged
   * @example
   * ```ts
   * semaphore.resize(semaphore.permits * 2);   // more capacity under low latency
   * ```
   */
  resize(permits: number): void {
    if (typeof permits !== 'number' || !Number.isInteger(permits) || permits < 0 || permits > this.#maxPermits) {
      throw invalidArgument(
        typeof permits === 'number' ? 'range' : 'type',
        'permits',
        permits,
        `an integer from 0 to ${this.#maxPermits} (maxPermits)`,
      );
    }
    this.#available += permits - this.#size;
    this.#size = permits;
    if (this.#available > 0 && !this.#idle()) this.#dispatch();
  }

  #acquireSlow(permits: number, options: SemaphoreAcquireOptions | undefined): Promise<SemaphoreLease> {
    let holdTimeout: number | undefined;
    try {
      if (permits !== 1) this.#checkPermits(permits);
      if (options !== undefined) {
        checkAcquireOptions(options);
        holdTimeout = checkHoldTimeout(options.holdTimeout, 'options.holdTimeout');
      }
    } catch (error) {
      return Promise.reject(error);
    }
    // A pre-aborted signal fails even when permits are free; the queue rejects it and reports it.
    if (options?.signal?.aborted) return this.#waitQueue().enqueue(permits, options);
    if (this.#available >= permits && (this.#idle() || this.#barging)) {
      this.#available -= permits;
      const owner = observing ? resolveOwner(options?.owner) : undefined;
      return Promise.resolve(this.#lease(permits, holdTimeout ?? this.#holdTimeout, owner, 0));
    }
    const queue = this.#waitQueue();
    const promise = queue.enqueue(holdTimeout === undefined ? permits : { permits, holdTimeout }, options);
    // A more urgent request may have gone ahead of a head that the free permits do not suffice for.
    if (this.#available > 0) this.#dispatch();
    return promise;
  }

  #checkPermits(permits: unknown): void {
    if (typeof permits !== 'number' || !Number.isInteger(permits) || permits < 1 || permits > this.#maxPermits) {
      throw invalidArgument(
        typeof permits === 'number' ? 'range' : 'type',
        'permits',
        permits,
        `an integer from 1 to ${this.#maxPermits} (maxPermits)`,
      );
    }
  }

  #idle(): boolean {
    return this.#queue === undefined || this.#queue.size === 0;
  }

  #waitQueue(): Queue {
    return (this.#queue ??= new WaitQueue<Request, SemaphoreLease>({
      resource: this.name,
      lock: this,
      mode: 'permits',
      // A heavy head that leaves may unblock lighter waiters behind it.
      onCancel: () => {
        if (this.#available > 0) this.#dispatch();
      },
    }));
  }

  #lease(permits: number, holdTimeout: number, owner: unknown, waitStart: number): SemaphoreLease {
    const trace = observing ? { lock: this, mode: 'permits', owner, waitStart, permits } : undefined;
    return PermitLease.of(FREE_PERMITS, this, ++this.#fence, permits, holdTimeout, trace);
  }

  // A lease for a waiter (see BaseLease.handedPrototype).
  #handedLease(permits: number, holdTimeout: number, owner: unknown, waitStart: number): SemaphoreLease {
    const trace = observing ? { lock: this, mode: 'permits', owner, waitStart, permits } : undefined;
    return PermitLease.of(HANDED_PERMITS, this, ++this.#fence, permits, holdTimeout, trace);
  }

  #return(permits: number): void {
    this.#available += permits;
    if (this.#queue !== undefined && this.#queue.size !== 0) this.#dispatch();
  }

  // Hands free permits to waiters in service order; stops at the first one they do not suffice
  // for, unless barging lets later waiters go past it.
  #dispatch(): void {
    const queue = this.#queue!;
    let waiter = queue.first;
    while (waiter !== undefined && this.#grant(queue, waiter)) {
      if (this.#available <= 0) return;
      waiter = queue.first;
    }
    if (waiter === undefined || !this.#barging) return;
    for (const candidate of queue) {
      if (this.#available <= 0) return;
      this.#grant(queue, candidate);
    }
  }

  #grant(queue: Queue, waiter: Waiter<Request, SemaphoreLease>): boolean {
    const request = waiter.request;
    const permits = typeof request === 'number' ? request : request.permits;
    if (permits > this.#available) return false;
    this.#available -= permits;
    const holdTimeout = typeof request === 'number' ? this.#holdTimeout : request.holdTimeout;
    queue.grant(waiter, this.#handedLease(permits, holdTimeout, waiter.owner, waiter.enqueuedAt));
    return true;
  }
}
