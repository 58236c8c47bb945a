import { type AcquireOptions, BackendError, checkName, checkOptionsObject, checkSignal, type Election } from '@cf/core';
import type { Acquirer } from './internal/acquirer.js';
import { checkClient, type RedisClient } from './internal/client.js';
import { keyAcquirer } from './internal/holds.js';
import { checkResourceName, resourceBase } from './internal/keys.js';
import { type CommonOptions, resolveOptions } from './internal/options.js';
import { lockRead } from './internal/scripts.js';
import { Subscriber } from './internal/subscriber.js';
import { TOKEN_LENGTH } from './internal/token.js';
import type { RedisLease } from './redis-lease.js';

/** Options of {@link RedisElection}. */
export interface RedisElectionOptions extends CommonOptions {}

/** Where a {@link RedisElection} keeps its state. */
export interface RedisElectionKeys {
  /** String: the leader's 32-character token followed by its campaign value; TTL = the hold's expiry. */
  readonly leader: string;
  /** Counter for fencing tokens (terms). */
  readonly fence: string;
  /** Pub/sub channel announcing a new leader and a resignation. */
  readonly channel: string;
}

/** Longest campaign value accepted, in characters. */
export const MAX_CAMPAIGN_VALUE = 65_536;

/**
 * Leader election in Redis: at most one campaigner is leader at a time. `campaign` resolves when
 * the caller becomes leader; its lease's `token` is the term (strictly increasing) and its
 * `signal` aborts when leadership can no longer be guaranteed. Resign by releasing the lease.
 * `observe` yields the leader's value whenever it changes, woken by announcements on the
 * election's channel (a leader that dies without resigning is noticed when its hold expires).
 *
 * @example
 * ```ts
 * const election = new RedisElection(redis, 'scheduler', { ttl: 5000 });
 * const lease = await election.campaign('node-a');
 * lease.signal.addEventListener('abort', () => stopScheduling());
 * ```
 */
export class RedisElection implements Election {
  /** The election's name. */
  readonly name: string;
  /** Keys and channel. */
  readonly keys: RedisElectionKeys;
  readonly #client: RedisClient;
  readonly #pollInterval: number;
  readonly #acquirer: Acquirer<string>;

  /**
   * @param client - an ioredis `Redis` or `Cluster`
   * @param name - the election's name (1 to 1024 well-formed characters, passed only as data)
   * @param options - ttl, prefix, watchdog, driftFactor, pollInterval
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   */
  constructor(client: RedisClient, name: string, options?: RedisElectionOptions) {
    this.#client = checkClient(client, 'client');
    this.name = checkResourceName(name, 'name');
    const resolved = resolveOptions(options);
    this.#pollInterval = resolved.pollInterval;
    const base = resourceBase(resolved.prefix, 'election', name);
    const keys: RedisElectionKeys = Object.freeze({
      leader: `${base}:leader`,
      fence: `${base}:fence`,
      channel: `${base}:released`,
    });
    this.keys = keys;
    // The value follows the fixed-length token, so release and extension compare by prefix; a
    // new leader is announced, so observers look again.
    const { leader: key, fence, channel } = keys;
    this.#acquirer = keyAcquirer<string>(this, client, name, { key, fence, channel }, resolved, (value) => value, true);
  }

  /**
   * Waits until `value` is leader.
   * @param value - what `leader()` and `observe()` report while this campaign leads (1 to 65536 characters)
   * @param options - `signal`, `timeout` (ms), `priority` among this process's campaigns, `owner`
   * @returns the lease: `token` is the term, `signal` aborts on loss, `release()` resigns
   * @throws TimeoutError; `signal.reason`; BackendError
   * @example
   * ```ts
   * await using lease = await election.campaign('node-a', { signal });
   * ```
   */
  campaign(value: string, options?: AcquireOptions): Promise<RedisLease> {
    try {
      checkName(value, 'value', MAX_CAMPAIGN_VALUE);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#acquirer.acquire(value, options);
  }

  /**
   * The current leader's value.
   * @returns the value, or `undefined` when nobody leads
   * @throws BackendError when Redis fails
   * @example
   * ```ts
   * console.log(await election.leader());
   * ```
   */
  async leader(): Promise<string | undefined> {
    return (await this.#read()).value;
  }

  async #read(): Promise<{ value: string | undefined; left: number }> {
    let reply: unknown;
    try {
      reply = await lockRead.run(this.#client, [this.keys.leader]);
    } catch (error) {
      throw new BackendError(`Redis failed while reading the leader of ${this.name}`, { cause: error });
    }
    const [left, stored] = reply as [number, string | undefined];
    return { value: typeof stored === 'string' ? stored.slice(TOKEN_LENGTH) : undefined, left };
  }

  /**
   * Yields the leader's value now and each time it changes (`undefined` while nobody leads).
   * @param options - `signal` ends the iteration (the pending `next()` rejects with its reason)
   * @returns an async iterable; breaking out of the loop stops observing
   * @throws BackendError when Redis fails
   * @example
   * ```ts
   * for await (const leader of election.observe({ signal })) console.log('leader:', leader);
   * ```
   */
  observe(options?: { signal?: AbortSignal | undefined }): AsyncIterable<string | undefined> {
    checkOptionsObject(options, 'options');
    checkSignal(options?.signal, 'options.signal');
    return this.#observe(options?.signal);
  }

  async *#observe(signal: AbortSignal | undefined): AsyncGenerator<string | undefined> {
    let dirty = true;
    let resume: (() => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wake = (): void => {
      dirty = true;
      resume?.();
    };
    const stop = Subscriber.of(this.#client).listen(this.keys.channel, wake);
    signal?.addEventListener('abort', wake);
    let last: string | undefined | null = null;
    try {
      for (;;) {
        if (signal?.aborted) throw signal.reason;
        if (!dirty) {
          await new Promise<void>((resolve) => {
            resume = resolve;
          });
          resume = undefined;
          continue;
        }
        dirty = false;
        const { value, left } = await this.#read();
        if (timer !== undefined) clearTimeout(timer);
        // A leader that dies without resigning sends nothing: look again when its hold expires.
        timer = setTimeout(wake, left > 0 ? Math.min(left + 1, this.#pollInterval) : this.#pollInterval);
        if (value !== last) {
          last = value;
          yield value;
        }
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', wake);
      stop();
    }
  }
}
