import { isTimeoutError } from '@cf/core';
import { describe, expect, it } from 'vitest';
import { RedisSemaphore } from '../src/index.js';
import { sleep, useServers } from './helpers.js';

const fx = useServers(1);

describe('RedisSemaphore', () => {
  it('counts weighted permits across clients', async () => {
    const a = new RedisSemaphore(fx.client(), 'pool', 3);
    const b = new RedisSemaphore(fx.client(), 'pool', 3);
    const two = await a.acquire(2);
    const one = await b.acquire(1);
    expect(await b.tryAcquire(1)).toBeUndefined();
    expect(one.token).toBeGreaterThan(two.token);
    await two.release();
    const again = await b.tryAcquire(2);
    expect(again).toBeDefined();
    await again?.release();
    await one.release();
    // An idle semaphore leaves only its fence counter behind.
    expect(await fx.client().exists(a.keys.weights, a.keys.holders, a.keys.queue, a.keys.queueExpiry)).toBe(0);
  });

  it('never lets holders exceed the permits under concurrency', async () => {
    const handles = Array.from({ length: 4 }, () => new RedisSemaphore(fx.client(), 'bounded', 3));
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const permits = (i % 3) + 1;
        const lease = await handles[i % handles.length]!.acquire(permits, { timeout: 20_000 });
        inside += permits;
        most = Math.max(most, inside);
        await sleep(2);
        inside -= permits;
        await lease.release();
      }),
    );
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThan(1);
  });

  it('serves processes in arrival order: a large request is not starved by small ones', async () => {
    const holder = new RedisSemaphore(fx.client(), 'fair', 3);
    const big = new RedisSemaphore(fx.client(), 'fair', 3);
    const small = new RedisSemaphore(fx.client(), 'fair', 3);
    const all = await holder.acquire(3);
    const order: string[] = [];
    const bigWait = big.acquire(3, { timeout: 10_000 }).then((l) => {
      order.push('big');
      return l;
    });
    await sleep(50);
    const smallWait = small.acquire(1, { timeout: 10_000 }).then((l) => {
      order.push('small');
      return l;
    });
    await sleep(50);
    await all.release();
    const bigLease = await bigWait;
    await sleep(50);
    expect(order).toEqual(['big']);
    await bigLease.release();
    await (await smallWait).release();
    expect(order).toEqual(['big', 'small']);
  });

  it('gives a dead holder’s permits back after ttl', async () => {
    const dead = new RedisSemaphore(fx.client(), 'dead', 2, { ttl: 300, watchdog: false });
    await dead.acquire(2);
    const live = new RedisSemaphore(fx.client(), 'dead', 2);
    const started = performance.now();
    const lease = await live.acquire(2, { timeout: 5000 });
    expect(performance.now() - started).toBeGreaterThan(200);
    await lease.release();
  });

  it('keeps permits past ttl with the watchdog, and a timed-out waiter leaves the queue', async () => {
    const a = new RedisSemaphore(fx.client(), 'kept', 1, { ttl: 200 });
    const b = new RedisSemaphore(fx.client(), 'kept', 1, { ttl: 200 });
    const lease = await a.acquire();
    const error = await b.acquire(1, { timeout: 600 }).catch((e: unknown) => e);
    expect(isTimeoutError(error)).toBe(true);
    expect(lease.signal.aborted).toBe(false);
    await sleep(50);
    expect(await fx.client().zcard(b.keys.queue)).toBe(0);
    await lease.release();
    const next = await b.tryAcquire();
    expect(next).toBeDefined();
    await next?.release();
  });

  it('refuses permits above the total with a RangeError and writes nothing', async () => {
    const semaphore = new RedisSemaphore(fx.client(), 'limit', 2);
    await expect(semaphore.acquire(3)).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_CF_INVALID_ARG' });
    await expect(semaphore.tryAcquire(0)).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_CF_INVALID_ARG' });
    await expect(semaphore.acquire(1.5)).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
    expect(await fx.dbsize()).toBe(0);
    const lease = await semaphore.acquire(2);
    await lease.release();
  });
});
