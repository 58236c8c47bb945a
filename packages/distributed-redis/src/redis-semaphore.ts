import { type AcquireOptions, checkInteger, type Semaphore } from '@cf/core';
import { Acquirer } from './internal/acquirer.js';
import { checkClient, isOne, type RedisClient } from './internal/client.js';
import { contender } from './internal/holds.js';
import { checkResourceName, resourceBase } from './internal/keys.js';
import { type CommonOptions, resolveOptions } from './internal/options.js';
import { entryExtend, queueWithdraw, semaphoreAcquire, semaphoreRelease } from './internal/scripts.js';
import { Subscriber } from './internal/subscriber.js';
import { randomToken } from './internal/token.js';
import type { HoldBackend, RedisLease } from './redis-lease.js';

/** Options of {@link RedisSemaphore}. */
export interface RedisSemaphoreOptions extends CommonOptions {}

/** Where a {@link RedisSemaphore} keeps its state. */
export interface RedisSemaphoreKeys {
  /** Sorted set: holder token -> expiry (server time, ms since the epoch). */
  readonly holders: string;
  /** Hash: holder token -> permits held, plus the field `used` (permits in use). */
  readonly weights: string;
  /** Sorted set: waiting process id -> ticket; the lowest ticket is served first. */
  readonly queue: string;
  /** Sorted set: waiting process id -> expiry of its place in the queue. */
  readonly queueExpiry: string;
  /** Counter for fencing tokens and queue tickets. */
  readonly fence: string;
  /** Pub/sub channel announcing released permits. */
  readonly channel: string;
}

/** The largest number of permits a semaphore may have. */
export const MAX_PERMITS: number = 2 ** 31 - 1;

function ignore(): void {}

/**
 * A counting, weighted semaphore in Redis: at most `permits` permits are held at once across all
 * clients. Each holder's permits expire after `ttl` unless the watchdog extends them, so a dead
 * holder's permits come back. Waiting is fair across processes: each waiting process takes a
 * ticket in a queue on the server and only the head of the queue may take permits, so a large
 * request is not starved by small ones. A release announces itself on the resource's channel.
 *
 * Every handle on one name must use the same `permits`.
 *
 * @example
 * ```ts
 * const pool = new RedisSemaphore(redis, 'api-quota', 10, { ttl: 30_000 });
 * await using lease = await pool.acquire(2, { timeout: 5000 });
 * ```
 */
export class RedisSemaphore implements Semaphore {
  /** The resource name. */
  readonly name: string;
  /** Permits in total. */
  readonly permits: number;
  /** Keys and channel. */
  readonly keys: RedisSemaphoreKeys;
  readonly #acquirer: Acquirer<number>;

  /**
   * @param client - an ioredis `Redis` or `Cluster`
   * @param name - the resource name (1 to 1024 well-formed characters, passed only as data)
   * @param permits - permits in total, an integer from 1 to 2^31 - 1
   * @param options - ttl, prefix, watchdog, driftFactor, pollInterval
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   */
  constructor(client: RedisClient, name: string, permits: number, options?: RedisSemaphoreOptions) {
    checkClient(client, 'client');
    this.name = checkResourceName(name, 'name');
    this.permits = checkInteger(permits, 'permits', 1, MAX_PERMITS);
    const { ttl, prefix, timing, pollInterval } = resolveOptions(options);
    const base = resourceBase(prefix, 'semaphore', name);
    const keys: RedisSemaphoreKeys = Object.freeze({
      holders: `${base}:holders`,
      weights: `${base}:weights`,
      queue: `${base}:queue`,
      queueExpiry: `${base}:queue-expiry`,
      fence: `${base}:fence`,
      channel: `${base}:released`,
    });
    this.keys = keys;
    // Identifies this handle's place in the server-side queue.
    const waiterId = randomToken();
    const backend: HoldBackend = {
      extend: (token) => entryExtend.run(client, [keys.holders, keys.weights, token, ttl]).then(isOne),
      release: (token) => semaphoreRelease.run(client, [keys.holders, keys.weights, token, keys.channel]).then(isOne),
    };
    this.#acquirer = new Acquirer<number>({
      resource: name,
      lock: this,
      mode: 'permits',
      exclusive: false,
      // The queue place expires after ttl unless refreshed by the next attempt.
      pollInterval: Math.min(pollInterval, Math.max(1, Math.floor(ttl / 3))),
      permitsOf: (request) => request,
      listen: (wake) => Subscriber.of(client).listen(keys.channel, wake),
      contender: contender(
        name,
        timing,
        backend,
        (request, token, register) =>
          semaphoreAcquire.run(client, [
            keys.holders,
            keys.weights,
            keys.queue,
            keys.queueExpiry,
            keys.fence,
            token,
            request,
            this.permits,
            ttl,
            register ? waiterId : '',
            keys.channel,
          ]) as Promise<number>,
        () => void queueWithdraw.run(client, [keys.queue, keys.queueExpiry, waiterId, keys.channel]).catch(ignore),
      ),
    });
  }

  /**
   * Waits for `permits` permits.
   * @param permits - how many, an integer from 1 to the semaphore's total (default 1)
   * @param options - `signal`, `timeout` (ms), `priority` among this process's waiters, `owner`
   * @returns the lease; its `token` is a fencing token, strictly increasing per semaphore
   * @throws RangeError when `permits` exceeds the total; TimeoutError; `signal.reason`; BackendError
   * @example
   * ```ts
   * const lease = await semaphore.acquire(3, { timeout: 1000 });
   * ```
   */
  acquire(permits = 1, options?: AcquireOptions): Promise<RedisLease> {
    try {
      checkInteger(permits, 'permits', 1, this.permits);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#acquirer.acquire(permits, options);
  }

  /**
   * Takes `permits` only if they are free now and nobody queues before us; never waits.
   * @param permits - how many (default 1)
   * @returns the lease, or `undefined`
   * @throws RangeError when `permits` exceeds the total; BackendError
   * @example
   * ```ts
   * const lease = await semaphore.tryAcquire();
   * ```
   */
  tryAcquire(permits = 1): Promise<RedisLease | undefined> {
    try {
      checkInteger(permits, 'permits', 1, this.permits);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#acquirer.tryAcquire(permits);
  }

  /** Callers of this object currently waiting. */
  get waitersCount(): number {
    return this.#acquirer.waiting;
  }
}
