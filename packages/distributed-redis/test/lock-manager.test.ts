import { LockManager } from '@cf/locks';
import { describe, expect, it } from 'vitest';
import { RedisLock, RedisReadWriteLock } from '../src/index.js';
import { sleep, useServers } from './helpers.js';

const fx = useServers(1);

describe('LockManager over Redis', () => {
  it('excludes across managers (processes) through createLock', async () => {
    const managers = Array.from({ length: 3 }, () => {
      const client = fx.client();
      return new LockManager({ createLock: (name) => new RedisLock(client, name, { ttl: 5000 }) });
    });
    let inside = 0;
    let overlaps = 0;
    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const lease = await managers[i % 3]!.acquire('account:7', { timeout: 20_000 });
        if (++inside > 1) overlaps++;
        await sleep(1);
        inside--;
        await lease.release();
      }),
    );
    expect(overlaps).toBe(0);
    expect(await fx.client().exists(new RedisLock(fx.client(), 'account:7').keys.lock)).toBe(0);
  });

  it('shared mode maps onto RedisReadWriteLock', async () => {
    const client = fx.client();
    const manager = new LockManager({ createLock: (name) => new RedisReadWriteLock(client, name) });
    const other = new RedisReadWriteLock(fx.client(), 'catalog');
    const a = await manager.acquire('catalog', { mode: 'shared' });
    const b = await manager.acquire('catalog', { mode: 'shared' });
    expect(await other.write.tryAcquire()).toBeUndefined();
    await a.release();
    await b.release();
    const w = await manager.acquire('catalog', { timeout: 2000 });
    expect(await other.read.tryAcquire()).toBeUndefined();
    await w.release();
  });
});
