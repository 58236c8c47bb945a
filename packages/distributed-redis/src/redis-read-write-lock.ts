import type { Lock, ReadWriteLock } from '@cf/core';
import { Acquirer, AcquirerLock } from './internal/acquirer.js';
import { checkClient, isOne, type RedisClient } from './internal/client.js';
import { contender, keyHold } from './internal/holds.js';
import { checkResourceName, resourceBase } from './internal/keys.js';
import { type CommonOptions, resolveOptions } from './internal/options.js';
import { entryExtend, readAcquire, readRelease, writeAcquire, writerWithdraw } from './internal/scripts.js';
import { Subscriber } from './internal/subscriber.js';
import { randomToken } from './internal/token.js';
import type { HoldBackend } from './redis-lease.js';

/** Options of {@link RedisReadWriteLock}. */
export interface RedisReadWriteLockOptions extends CommonOptions {}

/** Where a {@link RedisReadWriteLock} keeps its state. */
export interface RedisReadWriteLockKeys {
  /** String: the writer's token, with the hold's expiry as TTL. */
  readonly writer: string;
  /** Sorted set: reader token -> expiry (server time, ms). */
  readonly readers: string;
  /** Sorted set: waiting writer id -> expiry; while not empty, new readers wait. */
  readonly waitingWriters: string;
  /** Counter for fencing tokens, shared by both sides. */
  readonly fence: string;
  /** Pub/sub channel announcing releases. */
  readonly channel: string;
}

function ignore(): void {}

/**
 * Many readers or one writer, in Redis, with writer preference: a writer that has to wait
 * registers on the server, and from then on new readers wait until it has had its turn (its
 * registration expires after `ttl` if its process dies). Both sides' holds expire after `ttl`
 * unless the watchdog extends them; releases are announced on the resource's channel.
 *
 * @example
 * ```ts
 * const rw = new RedisReadWriteLock(redis, 'catalog', { ttl: 10_000 });
 * await withLock(rw.read, () => readCatalog());
 * await withLock(rw.write, (lease) => writeCatalog(lease.token));
 * ```
 */
export class RedisReadWriteLock implements ReadWriteLock {
  /** The resource name. */
  readonly name: string;
  /** Keys and channel. */
  readonly keys: RedisReadWriteLockKeys;
  /** The shared side: leases hold the lock together with other readers. */
  readonly read: Lock & { readonly waitersCount: number };
  /** The exclusive side. */
  readonly write: Lock & { readonly waitersCount: number };

  /**
   * @param client - an ioredis `Redis` or `Cluster`
   * @param name - the resource name (1 to 1024 well-formed characters, passed only as data)
   * @param options - ttl, prefix, watchdog, driftFactor, pollInterval
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument
   */
  constructor(client: RedisClient, name: string, options?: RedisReadWriteLockOptions) {
    checkClient(client, 'client');
    this.name = checkResourceName(name, 'name');
    const { ttl, prefix, timing, pollInterval } = resolveOptions(options);
    const base = resourceBase(prefix, 'rwlock', name);
    const keys: RedisReadWriteLockKeys = Object.freeze({
      writer: `${base}:writer`,
      readers: `${base}:readers`,
      waitingWriters: `${base}:waiting-writers`,
      fence: `${base}:fence`,
      channel: `${base}:released`,
    });
    this.keys = keys;
    const waiterId = randomToken();
    const all = [keys.writer, keys.readers, keys.waitingWriters, keys.fence];
    const listen = (wake: () => void): (() => void) => Subscriber.of(client).listen(keys.channel, wake);
    // Registrations must be refreshed before they expire.
    const poll = Math.min(pollInterval, Math.max(1, Math.floor(ttl / 3)));

    const readBackend: HoldBackend = {
      extend: (token) => entryExtend.run(client, [keys.readers, keys.readers, token, ttl]).then(isOne),
      release: (token) => readRelease.run(client, [keys.readers, token, keys.channel]).then(isOne),
    };
    const reading = contender<undefined>(
      name,
      timing,
      readBackend,
      (_request, token) => readAcquire.run(client, [...all, token, ttl]) as Promise<number>,
    );
    const writing = contender<undefined>(
      name,
      timing,
      keyHold(client, keys.writer, ttl, keys.channel),
      (_request, token, register) =>
        writeAcquire.run(client, [...all, token, ttl, register ? waiterId : '']) as Promise<number>,
      () => void writerWithdraw.run(client, [keys.waitingWriters, waiterId, keys.channel]).catch(ignore),
    );
    this.read = new AcquirerLock(
      new Acquirer({
        resource: name,
        lock: this,
        mode: 'shared',
        exclusive: false,
        pollInterval: poll,
        listen,
        contender: reading,
      }),
    );
    this.write = new AcquirerLock(
      new Acquirer({
        resource: name,
        lock: this,
        mode: 'exclusive',
        exclusive: true,
        pollInterval: poll,
        listen,
        contender: writing,
      }),
    );
  }
}
