import { describe, expect, it } from 'vitest';
import { RedisReadWriteLock } from '../src/index.js';
import { sleep, useServers } from './helpers.js';

const fx = useServers(1);

describe('RedisReadWriteLock', () => {
  it('lets readers share and keeps writers out', async () => {
    const a = new RedisReadWriteLock(fx.client(), 'doc');
    const b = new RedisReadWriteLock(fx.client(), 'doc');
    const r1 = await a.read.acquire();
    const r2 = await b.read.acquire();
    expect(await b.write.tryAcquire()).toBeUndefined();
    await r1.release();
    expect(await b.write.tryAcquire()).toBeUndefined();
    await r2.release();
    const w = await b.write.acquire({ timeout: 1000 });
    expect(await a.read.tryAcquire()).toBeUndefined();
    expect(w.token).toBeGreaterThan(r2.token);
    await w.release();
  });

  it('prefers a waiting writer over new readers', async () => {
    const a = new RedisReadWriteLock(fx.client(), 'pref');
    const b = new RedisReadWriteLock(fx.client(), 'pref');
    const c = new RedisReadWriteLock(fx.client(), 'pref');
    const reader = await a.read.acquire();
    const order: string[] = [];
    const writer = b.write.acquire({ timeout: 10_000 }).then((l) => {
      order.push('writer');
      return l;
    });
    await sleep(50);
    // A new reader now waits behind the registered writer.
    const lateReader = c.read.acquire({ timeout: 10_000 }).then((l) => {
      order.push('reader');
      return l;
    });
    await sleep(50);
    expect(order).toEqual([]);
    await reader.release();
    const w = await writer;
    await sleep(30);
    expect(order).toEqual(['writer']);
    await w.release();
    await (await lateReader).release();
    expect(order).toEqual(['writer', 'reader']);
  });

  it('a writer that gives up stops holding readers back', async () => {
    const a = new RedisReadWriteLock(fx.client(), 'giveup');
    const b = new RedisReadWriteLock(fx.client(), 'giveup');
    const reader = await a.read.acquire();
    await b.write.acquire({ timeout: 100 }).catch(() => undefined);
    await sleep(30);
    const second = await a.read.acquire({ timeout: 1000 });
    await second.release();
    await reader.release();
  });

  it('expires a dead reader and a dead writer', async () => {
    const dead = new RedisReadWriteLock(fx.client(), 'dead', { ttl: 200, watchdog: false });
    const live = new RedisReadWriteLock(fx.client(), 'dead');
    await dead.read.acquire();
    const w = await live.write.acquire({ timeout: 5000 });
    await w.release();
    await dead.write.acquire();
    const r = await live.read.acquire({ timeout: 5000 });
    await r.release();
  });

  it('extends both sides with the watchdog', async () => {
    const rw = new RedisReadWriteLock(fx.client(), 'dog', { ttl: 150 });
    const r = await rw.read.acquire();
    await sleep(500);
    expect(r.signal.aborted).toBe(false);
    await r.release();
    const w = await rw.write.acquire();
    await sleep(500);
    expect(w.signal.aborted).toBe(false);
    expect(await new RedisReadWriteLock(fx.client(), 'dog').read.tryAcquire()).toBeUndefined();
    await w.release();
  });
});
