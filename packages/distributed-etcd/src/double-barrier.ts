import { BrokenBarrierError, checkInteger } from '@cf/core';
import { type BarrierWaitOptions, checkWaitOptions, waitForKey } from './barrier.js';
import { Attempt, retrying, txn } from './internal/attempt.js';
import { createdAt, deadline, type EtcdClient, SORT_ASCEND, SORT_BY_CREATE } from './internal/client.js';
import { KeyWait } from './internal/key-wait.js';
import { checkPrimitiveName, EMPTY, join, primitivePrefix, rangeEnd } from './internal/keys.js';
import { deleteKey } from './internal/ordered.js';
import { type EtcdOptions, SessionSource } from './internal/source.js';
import type { SessionCore } from './session.js';

/** A party inside an {@link EtcdDoubleBarrier}, returned by `enter()`. */
export interface DoubleBarrierParty {
  /** This party's key. */
  readonly key: string;
  /**
   * Leaves the barrier and waits until every party has left.
   * @param options - `signal`, `timeout`
   */
  leave(options?: BarrierWaitOptions): Promise<void>;
}

const MAX_PARTIES = 1_000_000;

function attemptFor(core: SessionCore, resource: string, options: BarrierWaitOptions | undefined): Attempt {
  const timeout = options?.timeout;
  const limited = timeout !== undefined && timeout !== Number.POSITIVE_INFINITY;
  return new Attempt(core, resource, options?.signal, timeout, limited ? timeout : undefined);
}

/**
 * A double barrier as etcd's Go `recipe.DoubleBarrier`: `enter()` resolves once `count` parties
 * have entered, and each party's `leave()` resolves once all of them have left.
 *
 * Layout under `<prefix><name>/`: each party puts `waiters/<session lease hex>-<n>` on its session
 * lease (a crashed party's key disappears after the ttl, so the others are not stuck forever);
 * the party that completes the count puts `ready` (no lease), which the entering parties watch.
 * On leaving, the party with the lowest create revision watches the highest and every other
 * party deletes its key and watches the lowest; the last one deletes `ready`.
 *
 * @example
 * ```ts
 * const barrier = new EtcdDoubleBarrier(client, 'batch-42', 3);
 * const party = await barrier.enter({ timeout: 30_000 });
 * await compute();
 * await party.leave();
 * ```
 */
export class EtcdDoubleBarrier {
  /** The barrier's name. */
  readonly name: string;
  /** Parties needed. */
  readonly count: number;
  readonly #source: SessionSource;
  readonly #waiters: Buffer;
  readonly #ready: Buffer;

  /**
   * @param client - an etcd3 `Etcd3` client (or a namespace of one)
   * @param name - non-empty, at most 1024 characters, no `/` or NUL
   * @param count - parties needed, an integer from 1 to 1000000
   * @param options - `ttl` (ms) of the shared session, or `session`; `prefix`
   * @throws TypeError / RangeError (`ERR_CF_INVALID_ARG`) for a bad argument
   */
  constructor(client: EtcdClient, name: string, count: number, options?: EtcdOptions) {
    this.name = checkPrimitiveName(name);
    this.count = checkInteger(count, 'count', 1, MAX_PARTIES);
    this.#source = new SessionSource(client, options);
    const prefix = primitivePrefix(this.#source.raw, this.#source.prefix, name);
    this.#waiters = join(prefix, 'waiters/');
    this.#ready = join(prefix, 'ready');
  }

  /**
   * Enters and waits until `count` parties have entered.
   * @param options - `signal`, `timeout`; on either, this party's key is deleted
   * @returns this party, to `leave()` later
   * @throws BrokenBarrierError when `count` parties are already inside; TimeoutError,
   *   `signal.reason`, LeaseLostError / ClosedError, BackendError
   * @example
   * ```ts
   * const party = await barrier.enter({ signal });
   * ```
   */
  async enter(options?: BarrierWaitOptions): Promise<DoubleBarrierParty> {
    checkWaitOptions(options);
    if (options?.signal?.aborted) throw options.signal.reason;
    const core = await this.#source.current(this.name);
    const attempt = attemptFor(core, this.name, options);
    const key = join(this.#waiters, `${core.leaseHex}-${(++core.seq).toString(16)}`);
    let revision: bigint | undefined;
    try {
      const response = await attempt.race(
        txn(
          core,
          'enter barrier',
          {
            compare: [createdAt(key, 0)],
            success: [
              { request_put: { key, value: EMPTY, lease: core.leaseId } },
              { request_range: { key: this.#waiters, range_end: rangeEnd(this.#waiters), count_only: true } },
            ],
          },
          attempt,
        ),
      );
      revision = BigInt(response.header.revision);
      const inside = Number(response.responses[1]?.response_range.count ?? 0);
      if (inside > this.count) throw new BrokenBarrierError(`${this.name} already has its ${this.count} parties`);
      if (inside === this.count) {
        await attempt.race(
          txn(core, 'open barrier', { success: [{ request_put: { key: this.#ready, value: EMPTY } }] }, attempt),
        );
      } else {
        const from = revision;
        await waitForKey(
          core.raw,
          core,
          attempt,
          this.#ready,
          (kv) => kv !== undefined && BigInt(kv.mod_revision) > from,
        );
      }
      attempt.dispose();
    } catch (error) {
      attempt.cancel(error);
      if (revision !== undefined) void deleteKey(core, key, revision).catch(() => {});
      throw attempt.reason;
    }
    return { key: key.toString('utf8'), leave: (leaveOptions) => this.#leave(core, key, revision, leaveOptions) };
  }

  async #leave(
    core: SessionCore,
    myKey: Buffer,
    revision: bigint,
    options: BarrierWaitOptions | undefined,
  ): Promise<void> {
    checkWaitOptions(options);
    if (options?.signal?.aborted) throw options.signal.reason;
    const attempt = attemptFor(core, this.name, options);
    let wait: KeyWait | undefined;
    try {
      for (;;) {
        const response = await attempt.race(
          retrying(
            core,
            'read barrier',
            () =>
              core.raw.kv.range(
                {
                  key: this.#waiters,
                  range_end: rangeEnd(this.#waiters),
                  sort_order: SORT_ASCEND,
                  sort_target: SORT_BY_CREATE,
                  keys_only: true,
                },
                deadline(core.rpcMs),
              ),
            attempt,
          ),
        );
        const kvs = response.kvs;
        const lowest = kvs[0];
        const highest = kvs[kvs.length - 1];
        if (lowest === undefined || highest === undefined) break;
        const isLowest = lowest.key.equals(myKey);
        if (kvs.length === 1 && isLowest) {
          await attempt.race(
            txn(
              core,
              'leave barrier',
              { success: [{ request_delete_range: { key: this.#ready } }, { request_delete_range: { key: myKey } }] },
              attempt,
            ),
          );
          break;
        }
        if (!isLowest && kvs.some((kv) => kv.key.equals(myKey))) await attempt.race(deleteKey(core, myKey, revision));
        // The lowest waits for the others (the highest first); the others wait for the lowest.
        wait = new KeyWait(
          core.hub,
          isLowest ? highest.key : lowest.key,
          undefined,
          BigInt(response.header.revision) + 1n,
          true,
        );
        await attempt.race(wait.next(core.recheckMs));
        wait.close();
        wait = undefined;
      }
      attempt.dispose();
    } catch (error) {
      attempt.cancel(error);
      throw attempt.reason;
    } finally {
      wait?.close();
    }
  }
}
