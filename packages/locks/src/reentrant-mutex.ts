import type { AcquireOptions, Lease, LeaseTrace, Lock, Waiter } from '@cf/core';
import { BaseLease, checkFunction, invalidArgument, observing, resolveOwner, WaitQueue } from '@cf/core';
import {
  checkLockAcquireOptions,
  checkLockOptions,
  type HoldRequest,
  holdRequest,
  type LockAcquireOptions,
  type LockOptions,
  nextId,
} from './internal/options.js';

let releaseLevel: (mutex: ReentrantMutex) => void;

class ReentrantLease extends BaseLease {
  readonly #mutex: ReentrantMutex;

  constructor(mutex: ReentrantMutex, fence: number, holdTimeout: number, trace: LeaseTrace | undefined) {
    super(mutex.name, fence, trace);
    this.#mutex = mutex;
    if (holdTimeout !== 0) this.limitHoldTime(holdTimeout);
  }

  protected releaseHold(): void {
    releaseLevel(this.#mutex);
  }
}

type Queue = WaitQueue<HoldRequest | undefined, Lease>;

function isOptionsObject(value: unknown): value is LockAcquireOptions {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const OWNER_REQUIRED =
  'an owner: options.owner (any value but undefined), or a call inside runAsOwner() from @cf/locks/node';

/**
 * A mutex its holder may acquire again without waiting. Each acquisition returns its own lease
 * and each lease releases one level; the mutex is free when every level is released. Because
 * levels are leases, nobody but a holder can release one.
 *
 * "The same holder" is the `owner` of the acquisition: `options.owner` when given, otherwise the
 * owner of the current async context as set by `runAsOwner()` from `@cf/locks/node`. An
 * acquisition with no owner at all is refused (an anonymous caller could never re-enter, so
 * the nested acquire would wait for itself forever).
 *
 * @example
 * ```ts
 * const mutex = new ReentrantMutex();
 * const me = Symbol('request-42');
 * await using outer = await mutex.acquire({ owner: me });
 * await using inner = await mutex.acquire({ owner: me });   // does not wait
 * ```
 */
export class ReentrantMutex implements Lock {
  #holder: unknown = undefined;
  #depth = 0;
  #fence = 0;
  #name: string | undefined;
  #holdTimeout: number;
  #queue: Queue | undefined = undefined;

  static {
    releaseLevel = (mutex) => mutex.#releaseLevel();
  }

  /**
   * @param options - `name` and `defaultHoldTimeout`
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad option
   */
  constructor(options?: LockOptions) {
    const checked = checkLockOptions(options);
    this.#name = checked.name;
    this.#holdTimeout = checked.holdTimeout;
  }

  /** The resource name: `options.name`, or a generated `reentrant-mutex#<n>`. */
  get name(): string {
    return (this.#name ??= `reentrant-mutex#${nextId()}`);
  }

  /** `true` while some owner holds at least one level. */
  get isLocked(): boolean {
    return this.#depth > 0;
  }

  /** How many levels the current holder holds (0 when free). */
  get holdCount(): number {
    return this.#depth;
  }

  /** Number of callers waiting in `acquire()`. */
  get waitersCount(): number {
    return this.#queue?.size ?? 0;
  }

  /**
   * Whether `owner` (default: the current async context's owner) holds the mutex.
   * @param owner - the owner to ask about
   * @returns `true` if it holds at least one level
   * @example `if (!mutex.isHeldBy(me)) throw new Error('expected to hold the lock')`
   */
  isHeldBy(owner?: unknown): boolean {
    const resolved = resolveOwner(owner);
    return this.#depth > 0 && resolved !== undefined && this.#holder === resolved;
  }

  /**
   * Acquires one level: at once when the owner already holds the mutex, otherwise after the
   * current holder has released every level.
   * @param options - `owner`, `signal`, `timeout`, `priority`, `holdTimeout`
   * @returns a lease on one level
   * @throws rejects with a TypeError (code `ERR_CF_INVALID_ARG`) when no owner is known, with
   *   `TimeoutError`, or with `signal.reason`
   * @example
   * ```ts
   * const lease = await mutex.acquire({ owner: job, timeout: 500 });
   * ```
   */
  acquire(options?: LockAcquireOptions): Promise<Lease> {
    let holdTimeout: number | undefined;
    let owner: unknown;
    try {
      holdTimeout = checkLockAcquireOptions(options);
      owner = this.#owner(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const signal = options?.signal;
    if (signal?.aborted) return this.#waitQueue().enqueue(undefined, { signal, owner });
    if (this.#depth === 0 || this.#holder === owner) {
      return Promise.resolve(this.#enter(owner, holdTimeout ?? this.#holdTimeout, 0));
    }
    const queued: AcquireOptions = { owner };
    if (signal !== undefined) queued.signal = signal;
    if (options?.timeout !== undefined) queued.timeout = options.timeout;
    if (options?.priority !== undefined) queued.priority = options.priority;
    return this.#waitQueue().enqueue(holdRequest(holdTimeout), queued);
  }

  /**
   * Acquires one level if that needs no waiting.
   * @param options - `owner` (default: the async context's owner) and `holdTimeout`
   * @returns the lease, or `undefined` when another owner holds the mutex
   * @throws rejects with a TypeError when no owner is known
   * @example `const lease = await mutex.tryAcquire({ owner: me })`
   */
  tryAcquire(options?: Pick<LockAcquireOptions, 'owner' | 'holdTimeout'>): Promise<Lease | undefined> {
    try {
      return Promise.resolve(this.tryAcquireSync(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Synchronous {@link ReentrantMutex.tryAcquire}.
   * @param options - `owner` and `holdTimeout`
   * @returns the lease, or `undefined` when another owner holds the mutex
   * @throws TypeError (code `ERR_CF_INVALID_ARG`) when no owner is known or an option is bad
   * @example `const lease = mutex.tryAcquireSync({ owner: me })`
   */
  tryAcquireSync(options?: Pick<LockAcquireOptions, 'owner' | 'holdTimeout'>): Lease | undefined {
    const holdTimeout = checkLockAcquireOptions(options);
    const owner = this.#owner(options);
    if (this.#depth !== 0 && this.#holder !== owner) return undefined;
    return this.#enter(owner, holdTimeout ?? this.#holdTimeout, 0);
  }

  /**
   * A `Lock` view whose acquisitions all belong to `owner`: for code written against the
   * plain `Lock` contract (`withLock`, a `LockManager` factory, the conformance suite).
   * @param owner - the owner token (any value but `undefined`)
   * @returns a `Lock` acquiring this mutex as `owner`
   * @throws TypeError (code `ERR_CF_INVALID_ARG`) when `owner` is `undefined`
   * @example
   * ```ts
   * await withLock(mutex.forOwner(job), () => step(job));
   * ```
   */
  forOwner(owner: unknown): Lock {
    if (owner === undefined) throw invalidArgument('type', 'owner', owner, 'any value but undefined');
    return {
      // Anything but an options object is passed on unchanged, so that it is rejected as invalid.
      acquire: (options?: LockAcquireOptions) =>
        this.acquire(isOptionsObject(options) ? { ...options, owner } : options === undefined ? { owner } : options),
      tryAcquire: () => this.tryAcquire({ owner }),
    };
  }

  /**
   * Runs `fn` holding one level, and releases that level however `fn` ends.
   * @param fn - the critical section
   * @param options - as for {@link ReentrantMutex.acquire}
   * @returns what `fn` returns
   * @throws what `acquire` or `fn` throws
   * @example
   * ```ts
   * await mutex.withLock(() => mutex.withLock(() => nested(), { owner: me }), { owner: me });
   * ```
   */
  async withLock<T>(fn: (lease: Lease) => T | Promise<T>, options?: LockAcquireOptions): Promise<Awaited<T>> {
    checkFunction(fn, 'fn');
    const lease = await this.acquire(options);
    try {
      return await fn(lease);
    } finally {
      lease.release();
    }
  }

  #owner(options: LockAcquireOptions | undefined): unknown {
    const owner = resolveOwner(options?.owner);
    if (owner === undefined) throw invalidArgument('type', 'options.owner', undefined, OWNER_REQUIRED);
    return owner;
  }

  #waitQueue(): Queue {
    return (this.#queue ??= new WaitQueue({ resource: this.name, lock: this }));
  }

  #enter(owner: unknown, holdTimeout: number, waitStart: number): Lease {
    this.#holder = owner;
    this.#depth++;
    const trace = observing ? { lock: this, mode: 'exclusive', owner, waitStart } : undefined;
    return new ReentrantLease(this, ++this.#fence, holdTimeout, trace);
  }

  #releaseLevel(): void {
    if (--this.#depth > 0) return;
    this.#holder = undefined;
    const queue = this.#queue;
    const waiter = queue?.first;
    if (waiter === undefined) return;
    const owner = waiter.owner;
    this.#grant(queue!, waiter);
    // Other requests of the new holder (concurrent tasks sharing one owner) would not have waited
    // had they arrived now, so they enter too.
    if (queue!.size === 0) return;
    for (const other of queue!) if (other.owner === owner) this.#grant(queue!, other);
  }

  #grant(queue: Queue, waiter: Waiter<HoldRequest | undefined, Lease>): void {
    const request = waiter.request;
    const holdTimeout = request === undefined ? this.#holdTimeout : request.holdTimeout;
    queue.grant(waiter, this.#enter(waiter.owner, holdTimeout, waiter.enqueuedAt));
  }
}
