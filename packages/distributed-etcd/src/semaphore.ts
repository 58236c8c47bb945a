import {
  type AcquireOptions,
  checkAcquireOptions,
  checkInteger,
  LeaseLostError,
  type LeaseTrace,
  observing,
  resolveOwner,
  type Semaphore,
  TimeoutError,
} from '@cf/core';
import type { IKeyValue, ITxnResponse } from 'etcd3';
import { Attempt, txn } from './internal/attempt.js';
import { createdAt, deadline, type EtcdClient, SORT_ASCEND, SORT_BY_CREATE } from './internal/client.js';
import { KeyWait } from './internal/key-wait.js';
import { checkPrimitiveName, join, primitivePrefix, rangeEnd, showKey } from './internal/keys.js';
import { deleteKey, keyOrNothing } from './internal/ordered.js';
import { type EtcdOptions, SessionSource } from './internal/source.js';
import { EtcdLease } from './lease.js';
import type { SessionCore } from './session.js';

const MAX_PERMITS = 2_147_483_647;

/** Where a request stands: held, or what to watch. */
type Standing =
  | { readonly held: true; readonly behind: boolean }
  | { readonly held: false; readonly watch: Buffer; readonly range: boolean; readonly readAt: bigint };

const weightOf = (kv: IKeyValue): number => {
  const weight = Number(kv.value.toString('latin1'));
  return Number.isInteger(weight) && weight > 0 ? weight : 1;
};

/**
 * A distributed counting semaphore with weighted requests, first come first served.
 *
 * Layout: each request puts `<prefix><name>/<session lease hex>-<n>` with the number of permits
 * it wants as value, on the session lease. A request holds when its permits plus those of every
 * key with a lower create revision fit into `permits` (so nobody overtakes a waiting request).
 * No herd: the first waiting request watches the deletions under the prefix (only releases can
 * let it in); every later one watches only the key just ahead of it, which it re-reads when that
 * key is deleted or touched (a request that gets its permits after waiting rewrites its key once
 * to wake its successor). Every participant must be created with the same `permits`.
 *
 * @example
 * ```ts
 * const pool = new EtcdSemaphore(client, 'gpu-slots', 4);
 * await using slots = await pool.acquire(2, { timeout: 30_000 });
 * await train({ signal: slots.signal });
 * ```
 */
export class EtcdSemaphore implements Semaphore {
  /** The semaphore's name. */
  readonly name: string;
  /** Total permits. */
  readonly permits: number;
  readonly #source: SessionSource;
  readonly #prefix: Buffer;

  /**
   * @param client - an etcd3 `Etcd3` client (or a namespace of one)
   * @param name - non-empty, at most 1024 characters, no `/` or NUL
   * @param permits - total permits, an integer from 1 to 2^31-1
   * @param options - `ttl` (ms) of the shared session, or `session`; `prefix`
   * @throws TypeError / RangeError (`ERR_CF_INVALID_ARG`) for a bad argument
   */
  constructor(client: EtcdClient, name: string, permits: number, options?: EtcdOptions) {
    this.name = checkPrimitiveName(name);
    this.permits = checkInteger(permits, 'permits', 1, MAX_PERMITS);
    this.#source = new SessionSource(client, options);
    this.#prefix = primitivePrefix(this.#source.raw, this.#source.prefix, name);
  }

  /**
   * Waits for `permits` permits.
   * @param permits - how many, from 1 to the semaphore's total (default 1)
   * @param options - `timeout`, `signal`, `owner` (`priority` is accepted; order is first come first served)
   * @returns a lease holding the permits; `token` is the key's create revision
   * @throws TimeoutError, `signal.reason`, LeaseLostError / ClosedError, BackendError
   * @example
   * ```ts
   * const lease = await semaphore.acquire(1, { signal });
   * ```
   */
  async acquire(permits = 1, options?: AcquireOptions): Promise<EtcdLease> {
    const weight = checkInteger(permits, 'permits', 1, this.permits);
    checkAcquireOptions(options);
    const signal = options?.signal;
    if (signal?.aborted) throw signal.reason;
    const timeout = options?.timeout;
    if (timeout === 0) {
      const lease = await this.tryAcquire(weight);
      if (lease === undefined) throw new TimeoutError(`${this.name} has no ${weight} permits free now (timeout 0)`, 0);
      return lease;
    }
    const limited = timeout !== undefined && timeout !== Number.POSITIVE_INFINITY;
    const started = limited || observing ? performance.now() : 0;
    const core = await this.#source.current(this.name);
    const attempt = new Attempt(
      core,
      this.name,
      signal,
      timeout,
      limited ? timeout - (performance.now() - started) : undefined,
    );
    const myKey = join(this.#prefix, `${core.leaseHex}-${(++core.seq).toString(16)}`);
    const revision = await keyOrNothing(core, attempt, myKey, async (onCreated) => {
      const created = await this.#create(core, myKey, weight, attempt);
      onCreated(created.revision);
      attempt.check();
      await this.#wait(core, attempt, myKey, weight, created.revision, created.standing);
      return created.revision;
    });
    return this.#lease(core, myKey, revision, weight, options?.owner, started);
  }

  /**
   * Takes `permits` permits only if they are free and nobody waits.
   * @param permits - how many (default 1)
   * @returns the lease, or `undefined`
   * @throws BackendError; LeaseLostError / ClosedError for an ended session
   * @example
   * ```ts
   * const lease = await semaphore.tryAcquire(2);
   * ```
   */
  async tryAcquire(permits = 1): Promise<EtcdLease | undefined> {
    const weight = checkInteger(permits, 'permits', 1, this.permits);
    const core = await this.#source.current(this.name);
    const myKey = join(this.#prefix, `${core.leaseHex}-${(++core.seq).toString(16)}`);
    const created = await this.#create(core, myKey, weight);
    if (created.standing.held) return this.#lease(core, myKey, created.revision, weight, undefined, 0);
    await deleteKey(core, myKey, created.revision);
    return undefined;
  }

  #lease(
    core: SessionCore,
    myKey: Buffer,
    revision: bigint,
    weight: number,
    owner: unknown,
    started: number,
  ): EtcdLease {
    const trace: LeaseTrace | undefined = observing
      ? { lock: this, mode: 'permits', owner: resolveOwner(owner), waitStart: started, permits: weight }
      : undefined;
    const release = async (): Promise<void> => {
      if (core.ended === undefined) await deleteKey(core, myKey, revision);
    };
    return new EtcdLease(this.name, myKey, revision, core, release, trace);
  }

  async #create(
    core: SessionCore,
    myKey: Buffer,
    weight: number,
    attempt?: Attempt,
  ): Promise<{ revision: bigint; standing: Standing }> {
    const response = await txn(
      core,
      'create key',
      {
        compare: [createdAt(myKey, 0)],
        success: [
          { request_range: this.#all() },
          { request_put: { key: myKey, value: Buffer.from(String(weight)), lease: core.leaseId } },
        ],
      },
      attempt,
    );
    if (!response.succeeded) throw new LeaseLostError(`The key ${showKey(myKey)} already exists`, this.name);
    const revision = BigInt(response.header.revision);
    return { revision, standing: this.#standing(keysOf(response), revision, weight, revision) };
  }

  #all(): { key: Buffer; range_end: Buffer; sort_order: number; sort_target: number } {
    return {
      key: this.#prefix,
      range_end: rangeEnd(this.#prefix),
      sort_order: SORT_ASCEND,
      sort_target: SORT_BY_CREATE,
    };
  }

  /** Decides from the keys (ascending create revision) whether ours holds, and what to watch if not. */
  #standing(kvs: readonly IKeyValue[], revision: bigint, weight: number, readAt: bigint): Standing {
    let ahead = 0;
    let behind = false;
    let previous: IKeyValue | undefined;
    let previousHolds = false;
    for (const kv of kvs) {
      const created = BigInt(kv.create_revision);
      if (created === revision) continue;
      if (created > revision) {
        behind = true;
        continue;
      }
      const w = weightOf(kv);
      previousHolds = ahead + w <= this.permits;
      ahead += w;
      previous = kv;
    }
    if (previous === undefined || ahead + weight <= this.permits) return { held: true, behind };
    // First waiter: only a release can let it in. Later waiters: the key ahead, which is
    // touched when it gets its permits and deleted when it leaves.
    return previousHolds
      ? { held: false, watch: this.#prefix, range: true, readAt }
      : { held: false, watch: previous.key, range: false, readAt };
  }

  async #wait(
    core: SessionCore,
    attempt: Attempt,
    myKey: Buffer,
    weight: number,
    revision: bigint,
    first: Standing,
  ): Promise<void> {
    let standing = first;
    let waited = false;
    let wait: KeyWait | undefined;
    try {
      while (!standing.held) {
        waited = true;
        wait = standing.range
          ? new KeyWait(core.hub, this.#prefix, rangeEnd(this.#prefix), standing.readAt + 1n, true)
          : new KeyWait(core.hub, standing.watch, undefined, standing.readAt + 1n, false);
        const outcome = await attempt.race(wait.next(core.recheckMs));
        wait.close();
        wait = undefined;
        const response = await attempt.race(
          txn(
            core,
            'read waiters',
            { compare: [createdAt(myKey, revision)], success: [{ request_range: this.#all() }] },
            attempt,
          ),
        );
        if (!response.succeeded)
          throw new LeaseLostError(`The key ${showKey(myKey)} disappeared while waiting`, this.name);
        const previous = standing;
        standing = this.#standing(keysOf(response), revision, weight, BigInt(response.header.revision));
        if (outcome === 'timeout' && (standing.held || !standing.watch.equals(previous.watch)))
          core.hub.suspect(core.recheckMs);
      }
    } finally {
      wait?.close();
    }
    // Wake the request behind ours: it watches our key, not the release that let us in.
    if (waited && standing.behind) {
      void core.raw.kv
        .txn(
          {
            compare: [createdAt(myKey, revision)],
            success: [{ request_put: { key: myKey, value: Buffer.from(String(weight)), lease: core.leaseId } }],
          },
          deadline(core.rpcMs),
        )
        .catch(() => {});
    }
  }
}

function keysOf(response: ITxnResponse): IKeyValue[] {
  return response.responses[0]?.response_range.kvs ?? [];
}
