import { type AcquireOptions, invalidArgument, type Lock, QuorumError } from '@cf/core';
import { Acquirer } from './internal/acquirer.js';
import { checkClient, type RedisClient } from './internal/client.js';
import { contender } from './internal/holds.js';
import { checkResourceName, lockKeys } from './internal/keys.js';
import { type CommonOptions, resolveOptions } from './internal/options.js';
import { isSilent, outcomes, type Reply, round, type Tally } from './internal/quorum.js';
import { fenceRaise, lockAcquire, lockExtend, lockRelease } from './internal/scripts.js';
import { Subscriber } from './internal/subscriber.js';
import type { HoldBackend, RedisLease } from './redis-lease.js';
import type { RedisLockKeys } from './redis-lock.js';

/** Options of {@link Redlock}. */
export interface RedlockOptions extends CommonOptions {
  /**
   * How long to wait for one instance's answer, in ms (default `max(50, ttl / 100)`): an instance
   * that is down must not eat the validity. Must be shorter than the validity `ttl - drift`.
   */
  readonly instanceTimeout?: number | undefined;
}

function ignore(): void {}

const isGrant = (value: number): boolean => value > 0;

// First pause after an attempt refused by a majority; doubled with each further refusal, up to
// BACKOFF_MS * 2 ** (MAX_DOUBLINGS - 1) = 200 ms. Split votes among contenders (each holding a
// minority) are broken by the random pause; a longer cap would let a few unlucky refusals use up
// a caller's whole timeout while the lock is free, as seen with two of five servers down.
const BACKOFF_MS = 25;
const MAX_DOUBLINGS = 4;

// A round can stop early once more answers cannot change what the caller will decide: granted,
// refused by reachable members, or short of reachable members.
function decided(tally: Tally, quorum: number): boolean {
  if (tally.granted >= quorum) return true;
  if (tally.granted + tally.pending >= quorum) return false;
  const reachable = tally.granted + tally.refused;
  return reachable >= quorum || reachable + tally.pending < quorum;
}

/**
 * The Redlock algorithm over N independent Redis servers (not replicas of each other).
 *
 * An attempt sends the single-instance acquire script to every server at once with one random
 * token. It succeeds when a majority (`N / 2 + 1`) granted it and the remaining validity
 * `ttl - elapsed - drift` is positive; otherwise the partial holds are deleted on every server.
 * When fewer than a majority of servers answer at all, acquiring fails with `QuorumError`
 * listing each server's outcome instead of waiting. Extension needs a majority too; release goes
 * to every server.
 *
 * `lease.token` is the highest fence counter among the granting servers. Before the lease is
 * returned, a majority of servers must hold at least that value: granting servers that returned
 * less, and servers whose grant came after the majority's, are raised to it (one more parallel
 * round trip, only when the counters disagree, counted toward the validity). If fewer than a
 * majority confirm, the attempt is cleaned up and retried; it fails with `QuorumError` only when
 * fewer than a majority of servers can still answer.
 * The next holder's majority overlaps that one, so its token is larger, as long as no server
 * loses its data (restart without persistence). Read docs/distributed-redis.md before relying on
 * it for safety.
 *
 * @example
 * ```ts
 * const lock = new Redlock([redisA, redisB, redisC], 'report', { ttl: 10_000 });
 * await using lease = await lock.acquire({ timeout: 2000 });
 * ```
 */
export class Redlock implements Lock {
  /** The resource name. */
  readonly name: string;
  /** Keys and channel, identical on every server. */
  readonly keys: RedisLockKeys;
  /** Servers that must agree: `floor(N / 2) + 1`. */
  readonly quorum: number;
  readonly #acquirer: Acquirer<undefined>;

  /**
   * @param clients - one ioredis client per independent server (at least 1, no client twice)
   * @param name - the resource name (1 to 1024 well-formed characters, passed only as data)
   * @param options - ttl, prefix, watchdog, driftFactor, pollInterval, instanceTimeout
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad argument; nothing is sent to Redis then
   */
  constructor(clients: readonly RedisClient[], name: string, options?: RedlockOptions) {
    if (!Array.isArray(clients)) throw invalidArgument('type', 'clients', clients, 'an array of ioredis clients');
    if (clients.length === 0 || clients.length > 99) {
      throw invalidArgument('range', 'clients', clients, 'an array of 1 to 99 ioredis clients');
    }
    for (const [index, client] of clients.entries()) checkClient(client, `clients[${index}]`);
    if (new Set(clients).size !== clients.length) {
      throw invalidArgument('range', 'clients', clients, 'distinct clients (one per independent server)');
    }
    const members = clients.slice();
    this.name = checkResourceName(name, 'name');
    const { ttl, prefix, timing, pollInterval } = resolveOptions(options);
    const validity = ttl - timing.drift;
    const rawTimeout = (options as RedlockOptions | undefined)?.instanceTimeout;
    let instanceTimeout = Math.min(Math.max(50, Math.round(ttl / 100)), Math.max(1, validity - 1));
    if (rawTimeout !== undefined) {
      const allowed = `a number of milliseconds from 1 to ${Math.max(1, validity - 1)} (shorter than the validity ttl - drift)`;
      if (typeof rawTimeout !== 'number') throw invalidArgument('type', 'options.instanceTimeout', rawTimeout, allowed);
      if (!(rawTimeout >= 1 && rawTimeout < validity))
        throw invalidArgument('range', 'options.instanceTimeout', rawTimeout, allowed);
      instanceTimeout = rawTimeout;
    }
    const quorum = Math.floor(members.length / 2) + 1;
    this.quorum = quorum;
    const keys = lockKeys(prefix, name);
    this.keys = keys;

    const done = (tally: Tally): boolean => decided(tally, quorum);
    // Sent to every server; resolves once a majority confirmed (or cannot), the rest finish in the
    // background. Only a real holder's release is announced: announcing the clean-up of a failed
    // attempt would wake every waiter at once, into another split vote.
    const releaseEverywhere = (token: string, announce: boolean) =>
      round(
        members,
        (c) => lockRelease.run(c, [keys.lock, token, announce ? keys.channel : '']),
        instanceTimeout,
        isGrant,
        done,
        quorum,
      );
    // The highest token this object has seen, sent with each attempt so the servers' counters stay in step.
    let seen = 0;
    // Attempts refused by a majority since the last grant or announcement (see `attempt`).
    let contention = 0;

    const backend: HoldBackend = {
      extend: async (token) => {
        const { replies, tally } = await round(
          members,
          (c) => lockExtend.run(c, [keys.lock, token, ttl]),
          instanceTimeout,
          isGrant,
          done,
          quorum,
        );
        if (tally.granted >= quorum) return true;
        if (tally.granted + tally.refused >= quorum) return false;
        throw new QuorumError(
          `Could not reach a majority of servers to extend ${name}`,
          quorum,
          outcomes(members, replies, isGrant),
        );
      },
      release: async (token) => {
        const { replies, tally } = await releaseEverywhere(token, true);
        if (tally.granted >= quorum) return true;
        if (tally.granted + tally.refused >= quorum) return false;
        throw new QuorumError(
          `Could not reach a majority of servers to release ${name}`,
          quorum,
          outcomes(members, replies, isGrant),
        );
      },
    };

    const raise = (token: string, fence: number) => (client: RedisClient) =>
      fenceRaise.run(client, [keys.lock, keys.fence, token, fence]);
    // Makes `fence` stick on a majority before the lease is handed out. Members of the granting
    // majority that returned at least `fence` already hold it; the others are raised to it, and a
    // raise counts only while our hold is still there. Any later majority overlaps the confirmed
    // one, so its INCR there yields more than `fence`. Members that had not answered when the
    // majority granted are asked too: a raise counts only where it finds our hold, so a late
    // grant counts like any other, and a granting member that dies between its grant and the
    // raise does not sink the attempt while another can stand in for it.
    // Resolves `undefined` once a majority holds `fence`, else the acquire replies with the raise
    // replies in place, and which members were asked to raise.
    const confirmFence = async (
      token: string,
      fence: number,
      replies: readonly Reply[],
    ): Promise<{ replies: Reply[]; asked: ReadonlySet<number> } | undefined> => {
      let confirmed = 0;
      const lower: number[] = [];
      const late: number[] = [];
      replies.forEach((reply, index) => {
        if (reply.kind === 'pending') late.push(index);
        else if (reply.kind === 'value' && reply.value > 0) {
          if (reply.value >= fence) confirmed++;
          else lower.push(index);
        }
      });
      const call = raise(token, fence);
      if (confirmed >= quorum) {
        // Not needed for this token; keeps the counters in step so that later majorities agree
        // at once and skip the extra round trip.
        for (const index of lower) call(members[index]!).catch(ignore);
        return undefined;
      }
      const need = quorum - confirmed;
      const asked = [...lower, ...late];
      const { replies: raised, tally } = await round(
        asked.map((index) => members[index]!),
        call,
        instanceTimeout,
        isGrant,
        (t) => t.granted >= need || t.granted + t.pending < need,
        need,
      );
      if (tally.granted >= need) return undefined;
      const merged = replies.slice();
      asked.forEach((index, i) => {
        merged[index] = raised[i]!;
      });
      return { replies: merged, asked: new Set(asked) };
    };
    // How many members may still answer after a failed confirmation: those whose last reply was
    // an answer, and those not waited for that have not missed a timeout. Only when that is short
    // of a majority is the failure a QuorumError; otherwise a member died or fell silent between
    // its grant and the raise, and the next attempt leaves it out once it has missed a timeout.
    const reachable = (replies: readonly Reply[]): number => {
      let count = 0;
      replies.forEach((reply, index) => {
        if (reply.kind === 'value' || (reply.kind === 'pending' && !isSilent(members[index]!))) count++;
      });
      return count;
    };
    const confirmOutcomes = (replies: readonly Reply[], asked: ReadonlySet<number>) => {
      const acquired = outcomes(members, replies, isGrant);
      const raised = outcomes(members, replies, isGrant, 'did not hold our lock when the fencing token was raised');
      return acquired.map((outcome, index) => (asked.has(index) ? raised[index]! : outcome));
    };
    // A split vote or a slow round: retry after a random pause so contenders fall out of step.
    const pause = (): number => -(1 + Math.random() * Math.min(50, ttl / 10));

    const attempt = async (token: string): Promise<number> => {
      const sentAt = performance.now();
      const { replies, tally } = await round(
        members,
        (c) => lockAcquire.run(c, [keys.lock, keys.fence, token, ttl, '', seen]),
        instanceTimeout,
        isGrant,
        done,
        quorum,
      );
      if (tally.granted >= quorum && ttl - (performance.now() - sentAt) - timing.drift > 0) {
        let fence = 0;
        for (const reply of replies) if (reply.kind === 'value' && reply.value > fence) fence = reply.value;
        if (fence > seen) seen = fence;
        const unconfirmed = await confirmFence(token, fence, replies);
        // The raise counts toward the validity like the acquisition itself.
        if (unconfirmed === undefined && ttl - (performance.now() - sentAt) - timing.drift > 0) {
          contention = 0;
          return fence;
        }
        releaseEverywhere(token, false).catch(ignore);
        if (unconfirmed !== undefined) {
          const answering = reachable(unconfirmed.replies);
          if (answering < quorum) {
            throw new QuorumError(
              `Only ${answering} of ${members.length} servers answered while the fencing token for ${name} was confirmed; ${quorum} are needed`,
              quorum,
              confirmOutcomes(unconfirmed.replies, unconfirmed.asked),
            );
          }
        }
        return pause();
      }
      // Partial holds (including late answers from silent servers) must not linger until their ttl.
      releaseEverywhere(token, false).catch(ignore);
      if (tally.granted + tally.refused < quorum) {
        throw new QuorumError(
          `Only ${tally.granted + tally.refused} of ${members.length} servers answered for ${name}; ${quorum} are needed`,
          quorum,
          outcomes(members, replies, isGrant),
        );
      }
      if (tally.refused >= quorum) {
        let hint = Number.POSITIVE_INFINITY;
        for (const reply of replies)
          if (reply.kind === 'value' && reply.value <= 0) hint = Math.min(hint, -reply.value);
        // A majority of refusals may come from other contenders' partial holds, which they
        // delete without announcing; if every contender then waited for an announcement, all
        // would wait for the poll. So retry after a random pause that doubles with each refusal
        // since the last grant or announcement, up to 200 ms and the holder's remaining time.
        contention = Math.min(contention + 1, MAX_DOUBLINGS);
        return -(1 + Math.random() * Math.min(Math.max(1, hint), BACKOFF_MS * 2 ** (contention - 1)));
      }
      return pause();
    };

    this.#acquirer = new Acquirer<undefined>({
      resource: name,
      lock: this,
      mode: 'exclusive',
      exclusive: true,
      pollInterval,
      listen: (wake) => {
        const announced = (): void => {
          contention = 0;
          wake();
        };
        const stops = members.map((c) => Subscriber.of(c).listen(keys.channel, announced));
        return () => {
          for (const stop of stops) stop();
        };
      },
      contender: contender(name, timing, backend, (_request, token) => attempt(token)),
    });
  }

  /**
   * Waits until a majority of the servers grant the lock.
   * @param options - `signal`, `timeout` (ms), `priority` among this process's waiters, `owner`
   * @returns the lease; `token` is the highest fence counter of the majority
   * @throws QuorumError when fewer than a majority of servers answer (also while the fencing token is confirmed); TimeoutError; `signal.reason`
   * @example
   * ```ts
   * const lease = await redlock.acquire({ timeout: 1000 });
   * ```
   */
  acquire(options?: AcquireOptions): Promise<RedisLease> {
    return this.#acquirer.acquire(undefined, options);
  }

  /**
   * One attempt on all servers; never waits for a holder.
   * @returns the lease, or `undefined` when a majority could not be obtained now: held elsewhere, a split vote,
   *   or a granting server that stopped answering before the fencing token was confirmed
   * @throws QuorumError when fewer than a majority of servers answer (also while the fencing token is confirmed)
   * @example
   * ```ts
   * const lease = await redlock.tryAcquire();
   * ```
   */
  tryAcquire(): Promise<RedisLease | undefined> {
    return this.#acquirer.tryAcquire(undefined);
  }

  /** Callers of this object currently waiting. */
  get waitersCount(): number {
    return this.#acquirer.waiting;
  }
}
