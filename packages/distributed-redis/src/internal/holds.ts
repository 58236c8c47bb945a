import type { LeaseTiming } from '../redis-lease.js';
import { type HoldBackend, RedisLease } from '../redis-lease.js';
import type { Contender } from './acquirer.js';
import { isOne, type RedisClient } from './client.js';
import { lockExtend, lockRelease } from './scripts.js';

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
