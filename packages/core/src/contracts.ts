/**
 * Waiting priorities: lower numbers are served first. Any integer from 0 to 1000 is accepted;
 * these names cover the usual cases.
 *
 * @example
 * ```ts
 * await lock.acquire({ priority: Priority.HIGH });
 * ```
 */
export const Priority: { readonly CRITICAL: 0; readonly HIGH: 1; readonly NORMAL: 2; readonly LOW: 3 } = Object.freeze({
  CRITICAL: 0,
  HIGH: 1,
  NORMAL: 2,
  LOW: 3,
});

/**
 * One of the named priorities, or any integer from 0 (most urgent) to 1000.
 * @example
 * ```ts
 * const background: PriorityLevel = Priority.LOW + 10;
 * ```
 */
export type PriorityLevel = number;

/**
 * How long and how urgently a caller is willing to wait.
 *
 * @example
 * ```ts
 * const lease = await lock.acquire({ timeout: 500, signal: request.signal, priority: Priority.HIGH });
 * ```
 */
export interface AcquireOptions {
  /** Stop waiting when this signal aborts; the promise rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Milliseconds to wait before rejecting with `TimeoutError`; `0` means "only if free now". */
  timeout?: number | undefined;
  /** Lower is more urgent: `Priority.CRITICAL` (0) to `Priority.LOW` (3); default `Priority.NORMAL`. */
  priority?: number | undefined;
  /**
   * Who is asking: any value that identifies the task (an object, string or symbol). Reentrant
   * locks use it to recognise their holder; observers (deadlock detection, monitoring) see it.
   */
  owner?: unknown;
}

/**
 * Proof of holding a lock or permits. Ending it (release, expiry, loss) aborts `signal`.
 *
 * @example
 * ```ts
 * await using lease = await lock.acquire();
 * await write(lease.token, data);   // fenced write
 * ```
 */
export interface Lease extends AsyncDisposable {
  /** The name of what is held. */
  readonly resource: string;
  /** Fencing token: strictly increasing per resource. */
  readonly token: bigint;
  /** Aborts when the lease ends: released, expired or lost. */
  readonly signal: AbortSignal;
  /** `true` once `release()` has been called or the lease was lost. */
  readonly released: boolean;
  /** Ends the lease. Idempotent; never releases another holder's lease. */
  release(): Promise<void>;
}

/**
 * Mutual exclusion with leases: the contract every lock in @cf implements, in-process or distributed.
 *
 * @example
 * ```ts
 * const lease = await lock.acquire({ timeout: 1000 });
 * try { await critical(); } finally { await lease.release(); }
 * ```
 */
export interface Lock {
  /** Waits until the lock is held. Rejects with `TimeoutError` or `signal.reason`. */
  acquire(options?: AcquireOptions): Promise<Lease>;
  /** Takes the lock only if that needs no waiting; resolves `undefined` otherwise. */
  tryAcquire(): Promise<Lease | undefined>;
}

/**
 * Many readers or one writer.
 * @example
 * ```ts
 * await withLock(rw.read, () => readConfig());
 * await withLock(rw.write, () => writeConfig(next));
 * ```
 */
export interface ReadWriteLock {
  /** Shared side: any number of readers hold it together while no writer does. */
  readonly read: Lock;
  /** Exclusive side. */
  readonly write: Lock;
}

/**
 * A counting, weighted semaphore: a lease holds `permits` until released.
 *
 * @example
 * ```ts
 * await using lease = await semaphore.acquire(2, { timeout: 100 });
 * ```
 */
export interface Semaphore {
  /** Waits for `permits` (default 1). */
  acquire(permits?: number, options?: AcquireOptions): Promise<Lease>;
  /** Takes `permits` only if available now. */
  tryAcquire(permits?: number): Promise<Lease | undefined>;
}

/**
 * Leader election: at most one campaigner holds leadership at a time.
 *
 * @example
 * ```ts
 * const lease = await election.campaign('node-a');
 * lease.signal.addEventListener('abort', () => stopLeading());
 * ```
 */
export interface Election {
  /** Resolves when `value` becomes leader; the lease's `signal` aborts when leadership is lost. */
  campaign(value: string, options?: AcquireOptions): Promise<Lease>;
  /** The current leader's value, or `undefined` when there is none. */
  leader(): Promise<string | undefined>;
  /** Yields the leader's value each time it changes. */
  observe(options?: { signal?: AbortSignal | undefined }): AsyncIterable<string | undefined>;
}
