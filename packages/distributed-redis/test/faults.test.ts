import { isBackendError, isLeaseLostError, isQuorumError, isTimeoutError, type QuorumError } from '@cf/core';
import { describe, expect, it } from 'vitest';
import { type RedisLease, RedisLock, Redlock } from '../src/index.js';
import { sleep, useServers } from './helpers.js';

describe('Redlock while servers die', () => {
  const fx = useServers(5, { flush: false });

  it('continues with one and two of five down, fails cleanly with three down, never two holders', async () => {
    const contenders = Array.from(
      { length: 3 },
      () =>
        new Redlock(
          fx.servers.map((_, i) => fx.client(i)),
          'dying',
          { ttl: 10_000, instanceTimeout: 2000 },
        ),
    );
    let inside = 0;
    let overlaps = 0;
    const tokens: { token: bigint; down: number }[] = [];
    const acquiredWith = [0, 0, 0, 0];
    let down = 0;
    const errors: { error: unknown; down: number }[] = [];
    let stop = false;
    const run = async (lock: Redlock): Promise<void> => {
      while (!stop) {
        let lease: RedisLease;
        try {
          lease = await lock.acquire({ timeout: 10_000 });
        } catch (error) {
          errors.push({ error, down });
          if (down >= 3) return;
          continue;
        }
        if (++inside > 1) overlaps++;
        tokens.push({ token: lease.token, down });
        acquiredWith[down]!++;
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
      await until(() => acquiredWith[down]! >= 10);
      await fx.server(victim).kill();
      down++;
    }
    await until(() => errors.some((e) => e.down === 3));
    stop = true;
    await Promise.all(running);
    expect(overlaps).toBe(0);
    const backwards = tokens.filter((t, i) => i > 0 && t.token <= tokens[i - 1]!.token);
    expect(backwards).toEqual([]);
    expect(
      acquiredWith.slice(0, 3).every((n) => n >= 10),
      `acquisitions per phase: ${acquiredWith}`,
    ).toBe(true);
    expect(acquiredWith[3]).toBe(0);
    // With three servers down every failure is a QuorumError naming the dead ones. With one or two
    // down, acquisitions continue (checked above), and an attempt may still fail cleanly: rarely
    // (about one run in fifteen, while servers are being killed) a live server does not confirm the
    // fencing token in time and the attempt ends with a QuorumError. That is an open question
    // (see docs/distributed-redis.md), not a safety one: no overlap, no token going backwards.
    // Anything but a clean TimeoutError/QuorumError before three are down fails the test.
    expect(errors.filter((e) => e.down < 3 && !isTimeoutError(e.error) && !isQuorumError(e.error))).toEqual([]);
    for (const { error } of errors.filter((e) => e.down === 3)) expect(isQuorumError(error)).toBe(true);
    const outcomes = (errors.at(-1)!.error as QuorumError).outcomes;
    expect(outcomes.filter((o) => !o.ok).length).toBeGreaterThanOrEqual(3);
  }, 90_000);
});

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
