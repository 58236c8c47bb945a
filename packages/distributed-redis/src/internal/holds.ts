import type { LeaseTiming } from '../redis-lease.js';
import { type HoldBackend, RedisLease } from '../redis-lease.js';
import { Acquirer, type Contender } from './acquirer.js';
import { isOne, type RedisClient } from './client.js';
import type { ResolvedOptions } from './options.js';
import { lockAcquire, lockExtend, lockRelease } from './scripts.js';
import { Subscriber } from './subscriber.js';

function ignore(): void {}

/**
 * The backend of a hold that is one string key holding the holder's token (locks, elections, the
 * write side of a read-write lock): extension and release compare the token first, and a release
 * is announced on `channel`.
 * @param client - the client
 * @param key - the key
 * @param ttl - hold lifetime in ms
 * @param channel - where releases are announced
 */
export function keyHold(client: RedisClient, key: string, ttl: number, channel: string): HoldBackend {
  return {
    extend: (token) => lockExtend.run(client, [key, token, ttl]).then(isOne),
    release: (token) => lockRelease.run(client, [key, token, channel]).then(isOne),
  };
}

/**
 * A contender whose grants become {@link RedisLease}s on `backend`. Only `attempt` (and, for fair
 * primitives, `withdraw`) differ between primitives; a hold whose waiter left during the attempt
 * is given back through the same backend.
 * @param resource - the name leases report
 * @param timing - ttl, drift and watchdog period of the leases
 * @param backend - extension and release
 * @param attempt - one atomic attempt, see {@link Contender.attempt}
 * @param withdraw - leaves a server-side queue, see {@link Contender.withdraw}
 */
export function contender<R>(
  resource: string,
  timing: LeaseTiming,
  backend: HoldBackend,
  attempt: Contender<R>['attempt'],
  withdraw?: () => void,
): Contender<R> {
  return {
    attempt,
    lease: (_request, token, fence, sentAt, onEnd, trace) =>
      new RedisLease(resource, fence, token, backend, timing, sentAt, onEnd, trace),
    discard: (_request, token) => void backend.release(token).catch(ignore),
    ...(withdraw === undefined ? {} : { withdraw }),
  };
}

/**
 * The acquirer of a single-server exclusive hold on one string key (`RedisLock`,
 * `RedisElection`): the acquire script takes the key and the fence, releases are announced on
 * `channel`, and waiters listen there.
 * @param lock - the public primitive, reported in events
 * @param client - the client
 * @param resource - the name leases report
 * @param keys - the hold's key, the fence counter and the channel
 * @param options - the primitive's validated options
 * @param value - what the key stores for a request, after the token (`''` for a lock)
 * @param announce - whether an acquisition is announced too (elections: observers follow it)
 */
export function keyAcquirer<R>(
  lock: object,
  client: RedisClient,
  resource: string,
  keys: { readonly key: string; readonly fence: string; readonly channel: string },
  options: ResolvedOptions,
  value: (request: R) => string,
  announce: boolean,
): Acquirer<R> {
  const { ttl, timing, pollInterval } = options;
  const { key, fence, channel } = keys;
  return new Acquirer<R>({
    resource,
    lock,
    mode: 'exclusive',
    exclusive: true,
    pollInterval,
    listen: (wake) => Subscriber.of(client).listen(channel, wake),
    contender: contender(
      resource,
      timing,
      keyHold(client, key, ttl, channel),
      (request, token) =>
        lockAcquire.run(client, [key, fence, token + value(request), ttl, announce ? channel : '']) as Promise<number>,
    ),
  });
}
