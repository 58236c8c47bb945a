import { describe, expect, it } from 'vitest';
import { RedisElection, RedisLock, RedisReadWriteLock, RedisSemaphore, Redlock } from '../src/index.js';
import { useServers } from './helpers.js';

const fx = useServers(1);

const invalid = { code: 'ERR_CF_INVALID_ARG' };

describe('bad input', () => {
  const hostile = [
    '*',
    'a?b[c]',
    'line\nbreak\r\n',
    '{}',
    '}{',
    '{{tag}}',
    `"; redis.call('FLUSHALL') --`,
    ']] .. redis.call("DEL", KEYS[1]) .. [[',
    '\u0000nul',
    'emoji \u{1F512}',
  ];

  it('rejects non-strings, empty, over-long (1 MB) and ill-formed names, writing nothing', async () => {
    const client = fx.client();
    const huge = 'x'.repeat(1024 * 1024);
    for (const name of [undefined, 42, null, {}, '', huge, 'x'.repeat(1025), '\uD800lone']) {
      for (const make of [
        () => new RedisLock(client, name as string),
        () => new Redlock([client], name as string),
        () => new RedisSemaphore(client, name as string, 1),
        () => new RedisReadWriteLock(client, name as string),
        () => new RedisElection(client, name as string),
      ]) {
        expect(make).toThrow(expect.objectContaining(invalid));
      }
    }
    expect(() => new RedisLock(client, huge)).toThrow(/1048576 characters/);
    expect(await fx.dbsize()).toBe(0);
  });

  it('treats hostile names as data: exact keys, no injection, no glob matching', async () => {
    const client = fx.client();
    await client.set('bystander', 'safe');
    for (const name of hostile) {
      const lock = new RedisLock(client, name);
      const lease = await lock.acquire({ timeout: 1000 });
      expect(await client.exists(lock.keys.lock)).toBe(1);
      expect(lock.keys.lock).toBe(`cf:lock:{${name}}:lock`);
      // Another hostile name is another lock.
      expect(await new RedisLock(client, `${name}x`).tryAcquire().then((l) => l?.release().then(() => true))).toBe(
        true,
      );
      await lease.release();
      const semaphore = new RedisSemaphore(client, name, 2);
      await (await semaphore.acquire(2)).release();
      const rw = new RedisReadWriteLock(client, name);
      await (await rw.write.acquire()).release();
    }
    expect(await client.get('bystander')).toBe('safe');
    // Only fence counters remain (plus the bystander), no held keys.
    const keys = await client.keys('*');
    expect(keys.filter((k) => !k.endsWith(':fence') && k !== 'bystander')).toEqual([]);
  });

  it('rejects bad ttl and other options before anything is sent', async () => {
    const client = fx.client();
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1.5, 5, 2 ** 31, '1000', null]) {
      expect(() => new RedisLock(client, 'x', { ttl: ttl as number })).toThrow(expect.objectContaining(invalid));
      expect(() => new RedisSemaphore(client, 'x', 1, { ttl: ttl as number })).toThrow(
        expect.objectContaining(invalid),
      );
      expect(() => new Redlock([client], 'x', { ttl: ttl as number })).toThrow(expect.objectContaining(invalid));
    }
    expect(() => new RedisLock(client, 'x', { ttl: Number.NaN })).toThrow(/options\.ttl.*NaN/);
    expect(() => new RedisLock(client, 'x', { prefix: 7 as unknown as string })).toThrow(
      expect.objectContaining(invalid),
    );
    expect(() => new RedisLock(client, 'x', { watchdog: 'yes' as unknown as boolean })).toThrow(
      expect.objectContaining(invalid),
    );
    expect(() => new RedisLock(client, 'x', { ttl: 1000, extendInterval: 1000 })).toThrow(
      expect.objectContaining(invalid),
    );
    expect(() => new RedisLock(client, 'x', { pollInterval: 0 })).toThrow(expect.objectContaining(invalid));
    expect(() => new RedisLock(client, 'x', { driftFactor: 1 })).toThrow(expect.objectContaining(invalid));
    expect(() => new RedisLock(client, 'x', [] as never)).toThrow(expect.objectContaining(invalid));
    expect(() => new RedisLock({} as never, 'x')).toThrow(expect.objectContaining(invalid));
    expect(() => new Redlock([client, client], 'x')).toThrow(expect.objectContaining(invalid));
    expect(() => new Redlock([], 'x')).toThrow(expect.objectContaining(invalid));
    expect(() => new Redlock('nope' as never, 'x')).toThrow(expect.objectContaining(invalid));
    expect(() => new Redlock([client], 'x', { instanceTimeout: 0 })).toThrow(expect.objectContaining(invalid));
    for (const permits of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '2']) {
      expect(() => new RedisSemaphore(client, 'x', permits as number)).toThrow(expect.objectContaining(invalid));
    }
    expect(await fx.dbsize()).toBe(0);
  });

  it('rejects bad acquire options and permits with typed errors; the primitive stays usable', async () => {
    const client = fx.client();
    const lock = new RedisLock(client, 'usable');
    for (const options of [{ timeout: -1 }, { timeout: Number.NaN }, { priority: 1.5 }, { signal: 'x' }, 'opts']) {
      await expect(lock.acquire(options as never)).rejects.toMatchObject(invalid);
    }
    const semaphore = new RedisSemaphore(client, 'usable', 3);
    for (const permits of [0, 4, 1.5, Number.NaN, '1']) {
      await expect(semaphore.acquire(permits as number)).rejects.toMatchObject(invalid);
      await expect(semaphore.tryAcquire(permits as number)).rejects.toMatchObject(invalid);
    }
    const election = new RedisElection(client, 'usable');
    await expect(election.campaign(5 as never)).rejects.toMatchObject(invalid);
    expect(() => election.observe({ signal: 'x' as never })).toThrow(expect.objectContaining(invalid));
    expect(await fx.dbsize()).toBe(0);
    await (await lock.acquire()).release();
    await (await semaphore.acquire(3)).release();
  });
});
