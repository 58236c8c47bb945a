import {
  type AcquireOptions,
  checkOptionsObject,
  checkSignal,
  type Election,
  invalidArgument,
  LeaseLostError,
  NotHeldError,
} from '@cf/core';
import type { IRangeResponse } from 'etcd3';
import {
  backendError,
  createdAt,
  deadline,
  type EtcdClient,
  isTransient,
  SORT_ASCEND,
  SORT_BY_CREATE,
} from './internal/client.js';
import { KeyWait } from './internal/key-wait.js';
import { checkPrimitiveName, primitivePrefix, rangeEnd } from './internal/keys.js';
import { acquireOrdered, type OrderedKind, sessionKeyKind } from './internal/ordered-lock.js';
import { type EtcdOptions, SessionSource } from './internal/source.js';
import { WatchHub } from './internal/watch-hub.js';
import { type EtcdLease, loseLease } from './lease.js';
import type { SessionCore } from './session.js';

/** Largest campaign value accepted, in characters (etcd's default request limit is 1.5 MiB). */
const MAX_VALUE_LENGTH = 1 << 20;
/** Deadline of the reads of `leader()` and `observe()`, which need no session. */
const READ_MS = 5000;

function checkValue(value: unknown, name = 'value'): Buffer {
  if (typeof value !== 'string')
    throw invalidArgument('type', name, value, `a string of at most ${MAX_VALUE_LENGTH} characters`);
  if (value.length > MAX_VALUE_LENGTH)
    throw invalidArgument('range', name, value, `a string of at most ${MAX_VALUE_LENGTH} characters`);
  return Buffer.from(value, 'utf8');
}

interface Leadership {
  readonly lease: EtcdLease;
  readonly key: Buffer;
  readonly revision: bigint;
  readonly core: SessionCore;
}

/**
 * Leader election with the algorithm and key layout of etcd's Go `concurrency.Election`, so it
 * takes part in the same elections as `etcdctl elect <name>` and Go services.
 *
 * A campaign puts `<prefix><name>/<session lease hex>` with the proposal as value on the
 * session's lease; the key with the lowest create revision is the leader, and its value is the
 * leader's proclamation. A campaigner watches only the key just ahead of it.
 *
 * @example
 * ```ts
 * const election = new EtcdElection(client, 'scheduler', { ttl: 5000 });
 * const leadership = await election.campaign('node-a');
 * leadership.signal.addEventListener('abort', () => stopScheduling());
 * for await (const leader of election.observe({ signal })) console.log('leader:', leader);
 * ```
 */
export class EtcdElection implements Election {
  /** The election's name. */
  readonly name: string;
  readonly #source: SessionSource;
  readonly #prefix: Buffer;
  readonly #kind: OrderedKind;
  #leadership: Leadership | undefined = undefined;

  /**
   * @param client - an etcd3 `Etcd3` client (or a namespace of one)
   * @param name - non-empty, at most 1024 characters, no `/` or NUL
   * @param options - `ttl` (ms) of the shared session, or `session`; `prefix`
   * @throws TypeError / RangeError (`ERR_CF_INVALID_ARG`) for a bad client, name or option
   */
  constructor(client: EtcdClient, name: string, options?: EtcdOptions) {
    this.name = checkPrimitiveName(name);
    this.#source = new SessionSource(client, options);
    this.#prefix = primitivePrefix(this.#source.raw, this.#source.prefix, name);
    this.#kind = sessionKeyKind(this, name, this.#prefix);
  }

  /**
   * Campaigns with `value` and resolves once it leads. Releasing the lease resigns.
   * @param value - the proposal, visible to observers while leading (any string up to 1 MiB)
   * @param options - `timeout`, `signal`, `priority` (among this process's campaigns), `owner`
   * @returns the leadership lease; its `signal` aborts when leadership is lost
   * @throws TimeoutError, `signal.reason`, LeaseLostError / ClosedError, BackendError
   * @example
   * ```ts
   * await using leadership = await election.campaign('node-a', { signal });
   * ```
   */
  async campaign(value: string, options?: AcquireOptions): Promise<EtcdLease> {
    const buffer = checkValue(value);
    return acquireOrdered(this.#source, this.#kind, buffer, options, (lease, core, key) => {
      this.#leadership = { lease, key, revision: lease.token, core };
    });
  }

  /**
   * Announces a new value while leading, without a new election (etcd's `Proclaim`).
   * @param value - the new proclamation
   * @returns resolves once written
   * @throws NotHeldError when this object does not lead (any more); BackendError
   * @example
   * ```ts
   * await election.proclaim('node-a:draining');
   * ```
   */
  async proclaim(value: string): Promise<void> {
    const buffer = checkValue(value);
    const leadership = this.#leadership;
    if (leadership === undefined || leadership.lease.released) {
      throw new NotHeldError(`Cannot proclaim in ${this.name}: not the leader`, this.name);
    }
    const { core, key, revision } = leadership;
    let response: Awaited<ReturnType<SessionCore['raw']['kv']['txn']>>;
    try {
      response = await core.raw.kv.txn(
        {
          compare: [createdAt(key, revision)],
          success: [{ request_put: { key, value: buffer, lease: core.leaseId } }],
        },
        deadline(core.rpcMs),
      );
    } catch (error) {
      throw backendError('proclaim', error);
    }
    if (!response.succeeded) {
      loseLease(
        leadership.lease,
        new LeaseLostError(`Leadership of ${this.name} was lost: its key is gone`, this.name),
      );
      if (this.#leadership === leadership) this.#leadership = undefined;
      throw new NotHeldError(`Cannot proclaim in ${this.name}: leadership was lost`, this.name);
    }
  }

  /**
   * Gives up leadership (deletes the key) so the next campaigner leads. Does nothing when not leading.
   * @returns resolves when the key is deleted
   * @throws BackendError
   * @example
   * ```ts
   * await election.resign();
   * ```
   */
  async resign(): Promise<void> {
    const leadership = this.#leadership;
    this.#leadership = undefined;
    await leadership?.lease.release();
  }

  /**
   * The current leader's value (the lowest create revision's), or `undefined` when nobody leads.
   * @returns the value
   * @throws BackendError
   * @example
   * ```ts
   * console.log(await election.leader());
   * ```
   */
  async leader(): Promise<string | undefined> {
    const response = await this.#readLeader();
    return response.kvs[0]?.value.toString('utf8');
  }

  /**
   * Yields the leader's value now and each time it changes (a new leader or a proclamation),
   * and `undefined` when nobody leads; ends when `signal` aborts. Like etcd's `Observe`, it may
   * skip intermediate values but always delivers the latest.
   * @param options - `signal` to stop observing
   * @returns an async iterable of leader values
   * @throws TypeError (`ERR_CF_INVALID_ARG`) for bad options; BackendError when etcd fails for good
   * @example
   * ```ts
   * for await (const leader of election.observe({ signal })) render(leader);
   * ```
   */
  observe(options?: { signal?: AbortSignal | undefined }): AsyncIterable<string | undefined> {
    checkOptionsObject(options, 'options');
    checkSignal(options?.signal, 'options.signal');
    return this.#observe(options?.signal);
  }

  async #readLeader(): Promise<IRangeResponse> {
    try {
      return await this.#source.raw.kv.range(
        {
          key: this.#prefix,
          range_end: rangeEnd(this.#prefix),
          sort_order: SORT_ASCEND,
          sort_target: SORT_BY_CREATE,
          limit: 1,
        },
        deadline(READ_MS),
      );
    } catch (error) {
      throw backendError('read leader', error);
    }
  }

  async *#observe(signal: AbortSignal | undefined): AsyncGenerator<string | undefined> {
    const hub = WatchHub.of(this.#source.raw);
    const aborted = new Promise<'aborted'>((resolve) => {
      if (signal === undefined) return;
      if (signal.aborted) resolve('aborted');
      else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    const INITIAL = Symbol('initial');
    let last: string | undefined | typeof INITIAL = INITIAL;
    let delay = 20;
    while (!isAborted(signal)) {
      let response: IRangeResponse;
      try {
        response = await this.#readLeader();
        delay = 20;
      } catch (error) {
        if (!isTransient((error as Error).cause)) throw error;
        if ((await Promise.race([aborted, sleep(delay)])) === 'aborted') return;
        delay = Math.min(delay * 2, 1000);
        continue;
      }
      let kv = response.kvs[0];
      let from = BigInt(response.header.revision) + 1n;
      if (kv === undefined) {
        if (last !== undefined) {
          last = undefined;
          yield undefined;
          if (isAborted(signal)) return;
        }
        // Nobody leads: the first key put under the prefix is the next leader (as Go's Observe).
        const wait = new KeyWait(hub, this.#prefix, rangeEnd(this.#prefix), from, false);
        try {
          while (kv === undefined) {
            const outcome = await Promise.race([aborted, wait.next(READ_MS)]);
            if (outcome === 'aborted') return;
            if (outcome !== 'changed') break;
            kv = wait.take().find((event) => String(event.type).toUpperCase() === 'PUT')?.kv;
          }
        } finally {
          wait.close();
        }
        if (kv === undefined) continue;
        from = BigInt(kv.mod_revision) + 1n;
      }
      const current = kv.value.toString('utf8');
      if (current !== last) {
        last = current;
        yield current;
        if (isAborted(signal)) return;
      }
      // Follow the leader's key: puts are proclamations, a deletion ends its leadership.
      const wait = new KeyWait(hub, kv.key, undefined, from, false);
      try {
        for (;;) {
          const outcome = await Promise.race([aborted, wait.next(READ_MS)]);
          if (outcome === 'aborted') return;
          if (outcome !== 'changed') break;
          let deleted = false;
          for (const event of wait.take()) {
            if (String(event.type).toUpperCase() === 'DELETE') {
              deleted = true;
              break;
            }
            const value = event.kv.value.toString('utf8');
            if (value !== last) {
              last = value;
              yield value;
              if (isAborted(signal)) return;
            }
          }
          if (deleted) break;
        }
      } finally {
        wait.close();
      }
    }
  }
}

const sleep = (ms: number): Promise<'slept'> => new Promise((resolve) => setTimeout(() => resolve('slept'), ms));

const isAborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true;
