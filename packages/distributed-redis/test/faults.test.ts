import { isBackendError, isLeaseLostError, isQuorumError, isTimeoutError, type QuorumError } from '@cf/core';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { type RedisLease, RedisLock, Redlock } from '../src/index.js';
import { aroundScripts, isAcquire, sleep, useServers } from './helpers.js';

describe('Redlock while servers die', () => {
  const fx = useServers(5, { flush: false });

  it('continues with one and two of five down, fails cleanly with three down, never two holders', async () => {
    const ttl = 5000;
    const contenders = Array.from(
      { length: 3 },
      () =>
        new Redlock(
          fx.servers.map((_, i) => fx.client(i)),
          'dying',
          { ttl, instanceTimeout: 1000 },
        ),
    );
    let inside = 0;
    let overlaps = 0;
    const tokens: bigint[] = [];
    // Acquisitions by the number of servers dead when they were granted, and by the number dead
    // when the caller started asking (none may start after the third is dead and still succeed).
    const acquiredWith = [0, 0, 0, 0];
    let startedWithThreeDown = 0;
    // `down` counts servers known dead; `killed` also the one being killed, so that an error is
    // never blamed on a phase with fewer servers dying than there were.
    let down = 0;
    let killed = 0;
    const errors: { error: unknown; killed: number }[] = [];
    // Each caller runs until it fails with three servers dying or dead.
    const run = async (lock: Redlock): Promise<void> => {
      for (;;) {
        const downAtStart = down;
        let lease: RedisLease;
        try {
          // Generous: with a majority alive every acquisition must succeed well within it.
          lease = await lock.acquire({ timeout: 4 * ttl });
        } catch (error) {
          errors.push({ error, killed });
          if (killed >= 3) return;
          continue;
        }
        if (++inside > 1) overlaps++;
        tokens.push(lease.token);
        acquiredWith[down]!++;
        if (downAtStart === 3) startedWithThreeDown++;
        await sleep(1);
        inside--;
        await lease.release().catch(() => undefined);
      }
    };
    const running = contenders.map(run);
    const until = async (condition: () => boolean): Promise<void> => {
      const deadline = Date.now() + 15_000;
      while (!condition() && Date.now() < deadline) await sleep(5);
    };
    for (const victim of [0, 1, 2]) {
      // Enough acquisitions in this phase before the next server dies.
      await until(() => acquiredWith[down]! >= 10 || errors.length > 0);
      killed++;
      await fx.server(victim).kill();
      down++;
    }
    await Promise.all(running);
    expect(overlaps).toBe(0);
    const backwards = tokens.filter((token, i) => i > 0 && token <= tokens[i - 1]!);
    expect(backwards).toEqual([]);
    // With at most two of five down, no acquisition failed (QuorumError, TimeoutError or other)...
    expect(errors.filter((e) => e.killed < 3).map((e) => String(e.error))).toEqual([]);
    // ...and each phase made progress.
    expect(
      acquiredWith.slice(0, 3).every((n) => n >= 10),
      `acquisitions per phase: ${acquiredWith}`,
    ).toBe(true);
    expect(startedWithThreeDown).toBe(0);
    // With three down every caller fails, with a QuorumError naming the dead servers.
    expect(errors).toHaveLength(contenders.length);
    for (const { error } of errors) {
      expect(isQuorumError(error), String(error)).toBe(true);
      const outcomes = (error as QuorumError).outcomes;
      expect(outcomes.slice(0, 3).map((o) => o.ok)).toEqual([false, false, false]);
    }
  }, 60_000);
});

describe('Redlock when a granting server is killed before the fencing token is raised', () => {
  const fx = useServers(5);

  it('retries without the dead server instead of failing with QuorumError', async () => {
    const clients = fx.servers.map((_, i) => fx.client(i));
    const lock = new Redlock(
      clients.map((c, i) => (i === 1 ? killedAfterGrant(c, () => fx.server(1).kill()) : c)),
      'killed',
      {
        ttl: 5000,
        instanceTimeout: 300,
      },
    );
    // Server 0 is ahead, and 3 and 4 are held elsewhere for a while: the first attempt's majority
    // is exactly 0, 1, 2, and its token (1001) needs raises on 1 and 2. Server 1 dies in between.
    await Promise.all(clients.map((c, i) => c.set(lock.keys.fence, i === 0 ? '1000' : '10')));
    await Promise.all([3, 4].map((i) => clients[i]!.set(lock.keys.lock, 'other', 'PX', 400)));
    const lease = await lock.acquire({ timeout: 20_000 });
    expect(fx.server(1).running).toBe(false);
    expect(lease.token).toBeGreaterThan(1001n);
    await lease.release();
  }, 30_000);
});

/** Runs `kill` after the server first grants a lock, and only then passes the grant on. */
function killedAfterGrant(client: Redis, kill: () => Promise<void>): Redis {
  let killed = false;
  return aroundScripts(client, async (call, args) => {
    const reply = await call();
    if (isAcquire(args) && !killed && typeof reply === 'number' && reply > 0) {
      killed = true;
      await kill();
    }
    return reply;
  });
}

describe('a single server that restarts or stalls', () => {
  const fx = useServers(1, { flush: false });

  it('restart mid-hold: the lease is reported lost, nothing hangs, later tokens are still larger', async () => {
    const lock = new RedisLock(fx.client(), 'restart', { ttl: 600 });
    const lease = await lock.acquire();
    const lost = new Promise<unknown>((resolve) =>
      lease.signal.addEventListener('abort', () => resolve(lease.signal.reason)),
    );
    await fx.server().restart();
    expect(isLeaseLostError(await lost)).toBe(true);
    await lease.release().catch(() => undefined);
    const next = await lock.acquire({ timeout: 5000 });
    // The fence counter was lost with the data; it restarts from the server clock, above any earlier value.
    expect(next.token).toBeGreaterThan(lease.token);
    await next.release();
  }, 20_000);

  it('a stalled server (SIGSTOP) ends waits with the timeout and holds with loss', async () => {
    const holderLock = new RedisLock(fx.client(), 'stall', { ttl: 600 });
    const lease = await holderLock.acquire();
    const waiter = new RedisLock(fx.client(), 'stall', { pollInterval: 100 });
    const waiting = waiter.acquire({ timeout: 800 }).catch((e: unknown) => e);
    await sleep(50);
    fx.server().pause();
    try {
      const lost = new Promise<unknown>((resolve) =>
        lease.signal.addEventListener('abort', () => resolve(lease.signal.reason)),
      );
      expect(isLeaseLostError(await lost)).toBe(true);
      expect(isTimeoutError(await waiting)).toBe(true);
    } finally {
      fx.server().resume();
    }
    await lease.release().catch(() => undefined);
    const next = await waiter.acquire({ timeout: 5000 });
    await next.release();
  }, 20_000);

  it('a wait ends with BackendError when the client gives up reconnecting', async () => {
    const holder = await new RedisLock(fx.client(), 'gone').acquire();
    const client = fx.client(0, { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    const lock = new RedisLock(client, 'gone', { pollInterval: 100 });
    const waiting = lock.acquire().catch((e: unknown) => e);
    await sleep(30);
    await fx.server().kill();
    const error = await waiting;
    expect(isBackendError(error)).toBe(true);
    await fx.server().restart();
    await holder.release().catch(() => undefined);
  }, 20_000);
});
