import { isBackendError, isLeaseLostError, isTimeoutError, withLock } from '@cf/core';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisLock } from '../src/index.js';
import { sleep, useServers } from './helpers.js';

const fx = useServers(1);

/** Counts the commands a client sends (MONITOR-free). */
function countCommands(client: Redis): { readonly count: number } {
  const counter = { count: 0 };
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], stream?: unknown) => {
    counter.count++;
    return send(command, stream as never);
  }) as Redis['sendCommand'];
  return counter;
}

describe('RedisLock', () => {
  it('acquires with a fence from INCR and releases only its own key', async () => {
    const client = fx.client();
    const lock = new RedisLock(client, 'a');
    const lease = await lock.acquire();
    expect(await client.get(lock.keys.lock)).toMatch(/^[0-9a-f]{32}$/);
    expect(await client.get(lock.keys.fence)).toBe(String(lease.token));
    await lease.release();
    expect(await client.exists(lock.keys.lock)).toBe(0);
    const second = await lock.acquire();
    expect(second.token).toBe(lease.token + 1n);
    await second.release();
  });

  it('uses the documented key layout', () => {
    const lock = new RedisLock(fx.client(), 'orders', { prefix: 'app:' });
    expect(lock.keys).toEqual({
      lock: 'app:lock:{orders}:lock',
      fence: 'app:lock:{orders}:fence',
      channel: 'app:lock:{orders}:released',
    });
  });

  it('hands over to a waiter on another client through the release message', async () => {
    const a = new RedisLock(fx.client(), 'handoff');
    // A long poll interval: only the message can explain a fast handoff.
    const b = new RedisLock(fx.client(), 'handoff', { pollInterval: 60_000 });
    const held = await a.acquire();
    const waiting = b.acquire({ timeout: 5000 });
    while (b.waitersCount === 0) await sleep(1);
    await sleep(50);
    const started = performance.now();
    await held.release();
    const next = await waiting;
    expect(next.token).toBeGreaterThan(held.token);
    expect(performance.now() - started).toBeLessThan(200);
    await next.release();
  });

  it('falls back to polling when the release message is lost', async () => {
    const client = fx.client();
    const lock = new RedisLock(client, 'lost-message', { pollInterval: 100 });
    await client.set(lock.keys.lock, 'someone-else', 'PX', 60_000);
    const waiting = lock.acquire({ timeout: 5000 });
    await sleep(30);
    // Deleted behind the lock's back: no announcement.
    await client.del(lock.keys.lock);
    const lease = await waiting;
    await lease.release();
  });

  it('takes over an abandoned hold when it expires, with a larger token', async () => {
    const a = new RedisLock(fx.client(), 'abandoned', { ttl: 300, watchdog: false });
    const b = new RedisLock(fx.client(), 'abandoned', { pollInterval: 60_000 });
    const first = await a.acquire();
    const started = performance.now();
    const second = await b.acquire({ timeout: 5000 });
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThan(200);
    expect(waited).toBeLessThan(1500);
    expect(second.token).toBeGreaterThan(first.token);
    expect(first.signal.aborted).toBe(true);
    await second.release();
    await first.release();
    expect(first.lostBeforeRelease).toBe(true);
  });

  it('times out and stays usable', async () => {
    const a = new RedisLock(fx.client(), 't');
    const b = new RedisLock(fx.client(), 't');
    const held = await a.acquire();
    const error = await b.acquire({ timeout: 100 }).catch((e: unknown) => e);
    expect(isTimeoutError(error)).toBe(true);
    expect(b.waitersCount).toBe(0);
    await held.release();
    const lease = await b.acquire({ timeout: 1000 });
    await lease.release();
  });

  it('removes an aborted waiter and rejects with the reason', async () => {
    const a = new RedisLock(fx.client(), 'abort');
    const b = new RedisLock(fx.client(), 'abort');
    const held = await a.acquire();
    const controller = new AbortController();
    const waiting = b.acquire({ signal: controller.signal });
    await sleep(20);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(b.waitersCount).toBe(0);
    await held.release();
    expect(await b.tryAcquire()).toBeDefined();
  });

  it('release twice is a no-op and never deletes a later holder', async () => {
    const client = fx.client();
    const lock = new RedisLock(client, 'twice', { ttl: 200, watchdog: false });
    const first = await lock.acquire();
    await sleep(300);
    const other = new RedisLock(fx.client(), 'twice');
    const second = await other.acquire();
    await first.release();
    await first.release();
    expect(first.lostBeforeRelease).toBe(true);
    expect(await client.get(lock.keys.lock)).not.toBeNull();
    await second.release();
    expect(second.lostBeforeRelease).toBe(false);
  });

  it('signals loss before the key expires when there is no watchdog', async () => {
    const client = fx.client();
    // A wide drift margin (200 ms) so that a loaded machine's late timer and the PTTL round trip
    // still land before the key's expiry; the margin arithmetic itself is what is under test.
    const lock = new RedisLock(client, 'expiry', { ttl: 1000, driftFactor: 0.2, watchdog: false });
    const lease = await lock.acquire();
    const signal = lease.signal;
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    expect(isLeaseLostError(signal.reason)).toBe(true);
    expect(await client.pttl(lock.keys.lock)).toBeGreaterThan(0);
    await lease.release();
  });

  it('keeps the hold past its ttl with the watchdog', async () => {
    const client = fx.client();
    const lock = new RedisLock(client, 'watchdog', { ttl: 200 });
    const lease = await lock.acquire();
    await sleep(700);
    expect(lease.signal.aborted).toBe(false);
    expect(lease.validity).toBeGreaterThan(0);
    expect(await client.pttl(lock.keys.lock)).toBeGreaterThan(0);
    await lease.release();
    expect(lease.lostBeforeRelease).toBe(false);
  });

  it('aborts the signal with LeaseLostError when the key is taken behind its back', async () => {
    const client = fx.client();
    const lock = new RedisLock(client, 'stolen', { ttl: 300 });
    const lease = await lock.acquire();
    await client.set(lock.keys.lock, 'intruder', 'PX', 10_000);
    await new Promise((resolve) => lease.signal.addEventListener('abort', resolve));
    expect(isLeaseLostError(lease.signal.reason)).toBe(true);
    await lease.release();
    expect(await client.get(lock.keys.lock)).toBe('intruder');
  });

  it('reloads its scripts after SCRIPT FLUSH (NOSCRIPT)', async () => {
    const client = fx.client();
    const lock = new RedisLock(client, 'noscript');
    (await lock.acquire()).release();
    await fx.server().command('SCRIPT', 'FLUSH');
    const lease = await lock.acquire();
    await lease.release();
    expect(lease.lostBeforeRelease).toBe(false);
  });

  it('hands withLock the lease and its signal', async () => {
    const lock = new RedisLock(fx.client(), 'with-lock');
    const seen = await withLock(lock, (lease) => ({ aborted: lease.signal.aborted, token: lease.token }));
    expect(seen.aborted).toBe(false);
    expect(seen.token).toBeGreaterThan(0n);
  });

  it('ends a wait with BackendError when the connection is closed', async () => {
    const holder = new RedisLock(fx.client(), 'closed');
    const held = await holder.acquire();
    const client = fx.client();
    const lock = new RedisLock(client, 'closed', { pollInterval: 50 });
    const waiting = lock.acquire();
    await sleep(20);
    client.disconnect();
    const error = await waiting.catch((e: unknown) => e);
    expect(isBackendError(error)).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(Error);
    await held.release();
  });

  it('a waiting process sends a couple of commands, not a retry loop', async () => {
    const client = fx.client();
    const lock = new RedisLock(client, 'quiet');
    await fx.client().set(lock.keys.lock, 'someone-else', 'PX', 60_000);
    const counter = countCommands(client);
    const waiting = lock.acquire({ timeout: 3000 }).catch((e: unknown) => e);
    expect(isTimeoutError(await waiting)).toBe(true);
    // First attempt, one more when the subscription is confirmed; the next poll would be 5 s later.
    expect(counter.count).toBeLessThanOrEqual(3);
    expect(counter.count).toBeGreaterThanOrEqual(1);
  });

  it('local waiters queue in process: one release, one attempt', async () => {
    const client = fx.client();
    const lock = new RedisLock(client, 'herd', { pollInterval: 60_000 });
    const holder = await new RedisLock(fx.client(), 'herd').acquire();
    const waiters = Array.from({ length: 20 }, () => lock.acquire({ timeout: 10_000 }));
    await sleep(50);
    const counter = countCommands(client);
    await holder.release();
    const order: number[] = [];
    for (const [index, waiter] of waiters.entries()) {
      const lease = await waiter;
      order.push(index);
      await lease.release();
    }
    expect(order).toEqual([...order].sort((x, y) => x - y));
    // 20 acquisitions and 20 releases, nothing else.
    expect(counter.count).toBeLessThanOrEqual(40);
  });
});
