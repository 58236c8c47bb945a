import type { AcquireOptions, Lease, Lock } from '@cf/core';
import {
  checkFunction,
  checkName,
  checkOptionsObject,
  checkTimeout,
  invalidArgument,
  MAX_TIMEOUT,
  TimeoutError,
} from '@cf/core';
import { type CreatedLock, checkCreatedLock, ExternalEntry } from './internal/external-entry.js';
import { LinkedLease } from './internal/linked-lease.js';
import type {
  LockManagerAcquireOptions,
  LockManagerOptions,
  LockManagerStats,
  LockMode,
  LockStats,
} from './internal/manager-options.js';
import { checkHoldTimeout, checkLockAcquireOptions, type LockAcquireOptions } from './internal/options.js';
import { POLICIES, ReadWriteState, type SharedSettings } from './internal/read-write-state.js';

type Entry = ReadWriteState | ExternalEntry;

function checkMode(mode: unknown, name: string): boolean {
  if (mode === undefined || mode === 'exclusive') return false;
  if (mode === 'shared') return true;
  throw invalidArgument(typeof mode === 'string' ? 'range' : 'type', name, mode, "'exclusive' or 'shared'");
}

function counters(entry: Entry): LockStats {
  const { acquisitions, contended, timeouts, aborts } = entry;
  if (entry instanceof ExternalEntry) {
    return { acquisitions, contended, timeouts, aborts, holders: entry.holders, waiters: entry.waiters };
  }
  const holders = entry.writer ? 1 : entry.readers;
  return { acquisitions, contended, timeouts, aborts, holders, waiters: entry.waitingReaders + entry.waitingWriters };
}

/**
 * Locks by name, created when a name is first used and forgotten when it is idle again: a
 * million distinct names acquired and released leave the manager empty. Each name can be held
 * exclusively or shared (readers/writer), with `timeout`, `signal`, `priority` and `holdTimeout`.
 * `acquireAll` takes several names in one global order, so overlapping `acquireAll` calls cannot
 * deadlock each other.
 *
 * @example
 * ```ts
 * const manager = new LockManager({ defaultTimeout: 1000 });
 * await manager.withLock(`user:${id}`, async () => { await saveProfile(id); });
 * const both = await manager.acquireAll([`account:${from}`, `account:${to}`]);
 * try { transfer(from, to); } finally { both.release(); }
 * ```
 */
export class LockManager {
  readonly #entries = new Map<string, Entry>();
  readonly #shared: SharedSettings;
  readonly #defaultTimeout: number | undefined;
  readonly #createLock: ((name: string) => CreatedLock) | undefined;
  readonly #totals = { acquisitions: 0, contended: 0, timeouts: 0, aborts: 0 };
  readonly #remove = (entry: Entry): void => {
    const name = entry instanceof ExternalEntry ? entry.name : entry.resource;
    if (this.#entries.get(name) !== entry) return;
    this.#entries.delete(name);
    const totals = this.#totals;
    totals.acquisitions += entry.acquisitions;
    totals.contended += entry.contended;
    totals.timeouts += entry.timeouts;
    totals.aborts += entry.aborts;
  };

  /**
   * @param options - `defaultTimeout`, `defaultHoldTimeout`, `policy`, `createLock`
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad option
   */
  constructor(options?: LockManagerOptions) {
    checkOptionsObject(options, 'options');
    checkTimeout(options?.defaultTimeout, 'options.defaultTimeout');
    this.#defaultTimeout = options?.defaultTimeout;
    const holdTimeout = checkHoldTimeout(options?.defaultHoldTimeout, 'options.defaultHoldTimeout') ?? 0;
    const policy = options?.policy ?? 'write-preferring';
    if (!POLICIES.includes(policy)) {
      const allowed = POLICIES.map((p) => `'${p}'`).join(', ');
      throw invalidArgument(typeof policy === 'string' ? 'range' : 'type', 'options.policy', policy, allowed);
    }
    this.#shared = { lock: this, policy, holdTimeout, fence: 0, seq: 0, onIdle: this.#remove };
    if (options?.createLock !== undefined) checkFunction(options.createLock, 'options.createLock');
    this.#createLock = options?.createLock;
  }

  /** Number of names held or waited for now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Waits for `name` in `mode`, then holds it.
   * @param name - any non-empty string of at most 1024 characters
   * @param options - `mode`, `timeout` (default: the manager's), `signal`, `priority`, `owner`, `holdTimeout`
   * @returns the lease
   * @throws rejects with `TimeoutError`, `signal.reason`, or a TypeError/RangeError
   *   (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example
   * ```ts
   * const lease = await manager.acquire('report', { mode: 'shared', timeout: 500 });
   * ```
   */
  acquire(name: string, options?: LockManagerAcquireOptions): Promise<Lease> {
    let holdTimeout: number | undefined;
    let shared: boolean;
    let entry: Entry;
    try {
      checkName(name, 'name');
      holdTimeout = checkLockAcquireOptions(options);
      shared = checkMode(options?.mode, 'options.mode');
      entry = this.#entry(name);
    } catch (error) {
      return Promise.reject(error);
    }
    let waitOptions: AcquireOptions | undefined = options;
    const defaultTimeout = this.#defaultTimeout;
    if (defaultTimeout !== undefined && options?.timeout === undefined)
      waitOptions = { ...options, timeout: defaultTimeout };
    if (entry instanceof ExternalEntry) return this.#acquireExternal(entry, shared, waitOptions, holdTimeout);
    const promise = shared ? entry.read(waitOptions, holdTimeout) : entry.write(waitOptions, holdTimeout);
    // A new name whose request failed at once (pre-aborted signal) must not stay in the map.
    if (entry.idle) this.#remove(entry);
    return promise;
  }

  /**
   * Holds `name` if that needs no waiting.
   * @param name - the name
   * @param options - `mode`, `owner`, `holdTimeout`
   * @returns the lease, or `undefined` when the name is busy
   * @throws rejects with a TypeError/RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example
   * ```ts
   * const lease = await manager.tryAcquire('cron:nightly');
   * if (!lease) return;   // another run is in progress
   * ```
   */
  async tryAcquire(
    name: string,
    options?: Pick<LockManagerAcquireOptions, 'mode' | 'owner' | 'holdTimeout'>,
  ): Promise<Lease | undefined> {
    checkName(name, 'name');
    checkOptionsObject(options, 'options');
    const holdTimeout = checkHoldTimeout(options?.holdTimeout, 'options.holdTimeout');
    const shared = checkMode(options?.mode, 'options.mode');
    const entry = this.#entry(name);
    if (entry instanceof ExternalEntry) {
      try {
        const inner = await entry.side(shared).tryAcquire();
        return inner === undefined ? undefined : entry.wrap(inner, holdTimeout ?? this.#shared.holdTimeout);
      } finally {
        entry.releaseIfIdle();
      }
    }
    return shared ? entry.tryRead(holdTimeout, options?.owner) : entry.tryWrite(holdTimeout, options?.owner);
  }

  /**
   * Runs `fn` holding `name`, and releases it however `fn` ends.
   * @param name - the name
   * @param fn - the critical section; receives the lease
   * @param options - as for {@link LockManager.acquire}
   * @returns what `fn` returns
   * @throws what `acquire` or `fn` throws
   * @example
   * ```ts
   * const balance = await manager.withLock(`account:${id}`, () => ledger.balance(id), { timeout: 100 });
   * ```
   */
  async withLock<T>(
    name: string,
    fn: (lease: Lease) => T | Promise<T>,
    options?: LockManagerAcquireOptions,
  ): Promise<Awaited<T>> {
    checkFunction(fn, 'fn');
    const lease = await this.acquire(name, options);
    try {
      return await fn(lease);
    } finally {
      await lease.release();
    }
  }

  /**
   * Holds every name of `names` (duplicates count once), taking them in sorted order: two
   * `acquireAll` calls that share names can never each hold what the other waits for. If any
   * acquisition fails, those already taken are released before the promise rejects.
   * `timeout` bounds the whole call, not each name.
   * @param names - the names (an array of 1 to 10,000 names)
   * @param options - as for {@link LockManager.acquire}; `mode` applies to every name
   * @returns one lease over all names; `leases` lists the parts in acquisition order
   * @throws rejects with the first failure (`TimeoutError`, `signal.reason`, invalid argument)
   * @example
   * ```ts
   * const lease = await manager.acquireAll(['account:b', 'account:a'], { timeout: 1000 });
   * try { move(100, 'account:a', 'account:b'); } finally { lease.release(); }
   * ```
   */
  async acquireAll(
    names: readonly string[],
    options?: LockManagerAcquireOptions,
  ): Promise<Lease & { readonly leases: readonly Lease[] }> {
    if (!Array.isArray(names)) throw invalidArgument('type', 'names', names, 'an array of names');
    if (names.length === 0 || names.length > 10_000) {
      throw invalidArgument('range', 'names', names, 'an array of 1 to 10000 names');
    }
    for (let index = 0; index < names.length; index++) checkName(names[index], `names[${index}]`);
    const holdTimeout = checkLockAcquireOptions(options);
    checkMode(options?.mode, 'options.mode');
    const sorted = [...new Set(names)].sort();
    const timeout = options?.timeout ?? this.#defaultTimeout;
    const deadline = timeout === undefined || timeout === Number.POSITIVE_INFINITY ? undefined : Date.now() + timeout;
    const leases: Lease[] = [];
    try {
      for (const name of sorted) {
        const part: LockManagerAcquireOptions = { ...options, holdTimeout: Number.POSITIVE_INFINITY };
        if (deadline !== undefined) part.timeout = Math.min(MAX_TIMEOUT, Math.max(0, deadline - Date.now()));
        leases.push(await this.#acquirePart(name, part, timeout));
      }
    } catch (error) {
      await Promise.allSettled(leases.map((lease) => lease.release()));
      throw error;
    }
    return new LinkedLease(sorted.join(', '), leases, holdTimeout ?? this.#shared.holdTimeout, undefined);
  }

  /**
   * A `Lock` view of one name, for code written against the `Lock` contract.
   * @param name - the name
   * @param options - `mode` of every acquisition through the view (default `'exclusive'`)
   * @returns a `Lock` on `name`
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   * @example
   * ```ts
   * await withLock(manager.lock('settings'), () => reload());
   * ```
   */
  lock(name: string, options?: { readonly mode?: LockMode | undefined }): Lock {
    checkName(name, 'name');
    checkOptionsObject(options, 'options');
    const mode: LockMode = checkMode(options?.mode, 'options.mode') ? 'shared' : 'exclusive';
    return {
      acquire: (acquireOptions?: LockAcquireOptions) =>
        this.acquire(
          name,
          acquireOptions === undefined
            ? { mode }
            : typeof acquireOptions === 'object' && acquireOptions !== null
              ? { ...acquireOptions, mode }
              : acquireOptions,
        ),
      tryAcquire: () => this.tryAcquire(name, { mode }),
    };
  }

  /**
   * Counters and current holders/waiters of one name, or of the whole manager.
   * @param name - a name; omit it for manager-wide totals
   * @returns the counters (all zero for an idle name)
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad name
   * @example
   * ```ts
   * const { contended, acquisitions } = manager.stats('hot-row');
   * ```
   */
  stats(): LockManagerStats;
  stats(name: string): LockStats;
  stats(name?: string): LockStats | LockManagerStats {
    if (name !== undefined) {
      checkName(name, 'name');
      const entry = this.#entries.get(name);
      if (entry === undefined) return { acquisitions: 0, contended: 0, timeouts: 0, aborts: 0, holders: 0, waiters: 0 };
      return counters(entry);
    }
    let { acquisitions, contended, timeouts, aborts } = this.#totals;
    let holders = 0;
    let waiters = 0;
    for (const entry of this.#entries.values()) {
      const part = counters(entry);
      acquisitions += part.acquisitions;
      contended += part.contended;
      timeouts += part.timeouts;
      aborts += part.aborts;
      holders += part.holders;
      waiters += part.waiters;
    }
    return { acquisitions, contended, timeouts, aborts, holders, waiters, names: this.#entries.size };
  }

  async #acquirePart(name: string, options: LockManagerAcquireOptions, timeout: number | undefined): Promise<Lease> {
    try {
      return await this.acquire(name, options);
    } catch (error) {
      // Report the caller's whole budget, not the remainder left for this name.
      if (error instanceof TimeoutError && timeout !== undefined) {
        throw new TimeoutError(`Timed out after ${timeout} ms waiting for ${name} (acquireAll)`, timeout, {
          cause: error,
        });
      }
      throw error;
    }
  }

  #entry(name: string): Entry {
    let entry = this.#entries.get(name);
    if (entry === undefined) {
      const createLock = this.#createLock;
      if (createLock === undefined) {
        entry = new ReadWriteState(name, this.#shared);
      } else {
        entry = new ExternalEntry(name, checkCreatedLock(createLock(name), name), this.#remove);
      }
      this.#entries.set(name, entry);
    }
    return entry;
  }

  async #acquireExternal(
    entry: ExternalEntry,
    shared: boolean,
    options: AcquireOptions | undefined,
    holdTimeout: number | undefined,
  ): Promise<Lease> {
    let side: Lock;
    try {
      side = entry.side(shared);
    } catch (error) {
      entry.releaseIfIdle();
      throw error;
    }
    const waitOptions: AcquireOptions = {};
    if (options?.signal !== undefined) waitOptions.signal = options.signal;
    if (options?.timeout !== undefined) waitOptions.timeout = options.timeout;
    if (options?.priority !== undefined) waitOptions.priority = options.priority;
    if (options?.owner !== undefined) waitOptions.owner = options.owner;
    return entry.acquire(side, waitOptions, holdTimeout ?? this.#shared.holdTimeout);
  }
}

let defaultManager: LockManager | undefined;

/**
 * The process-wide `LockManager` (one per loaded copy of this package), created on first use
 * with default options.
 * @returns the shared manager
 * @example
 * ```ts
 * await getDefaultLockManager().withLock('migrations', runMigrations);
 * ```
 */
export function getDefaultLockManager(): LockManager {
  return (defaultManager ??= new LockManager());
}
