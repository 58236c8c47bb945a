import { semaphoreAsLock } from '@cf/core';
import { describeLockConformance, lockConformanceCases } from '@cf/lock-conformance';
import { type RedisServerGroup, startRedisServers } from '@cf/test-servers/redis';
import { Redis } from 'ioredis';
import { afterAll, describe, it } from 'vitest';
import { RedisLock, RedisReadWriteLock, RedisSemaphore, Redlock } from '../src/index.js';

// One set of three servers for the whole file: the suites' own hooks only start it, the file's
// afterAll stops it. Handles on one resource alternate between two sets of clients (two
// "processes"), so exclusion is checked between connections as well as within one.
let group: RedisServerGroup | undefined;
let sets: Redis[][] = [];
let next = 0;

const setup = async (): Promise<void> => {
  if (group !== undefined) return;
  group = await startRedisServers(3);
  sets = [0, 1].map(() => group!.servers.map((s) => new Redis(s.port, s.host)));
};
afterAll(async () => {
  for (const set of sets) for (const c of set) c.disconnect();
  await group?.stop();
});
const clients = (): Redis[] => sets[next++ % sets.length]!;
const client = (): Redis => clients()[0]!;
const shared = { setup, timing: { scale: 10 } };
const ttl = 5000;

describeLockConformance('RedisLock', {
  ...shared,
  createLock: (resource) => new RedisLock(client(), resource, { ttl }),
});

describeLockConformance('Redlock (3 servers)', {
  ...shared,
  createLock: (resource) => new Redlock(clients(), resource, { ttl }),
});

describeLockConformance('RedisSemaphore(1) as a lock', {
  ...shared,
  createLock: (resource) => semaphoreAsLock(new RedisSemaphore(client(), resource, 1, { ttl })),
});

describeLockConformance('RedisReadWriteLock.write', {
  ...shared,
  createLock: (resource) => new RedisReadWriteLock(client(), resource, { ttl }).write,
});

// Readers share the lock by design, so the cases that need one handle to block another
// (exclusion, waiting, order, timeouts) cannot apply to the read side on its own; reader/writer
// exclusion is tested in redis-read-write-lock.test.ts. These cases check the rest for readers.
const READ_SIDE = [
  'resources-independent',
  'lease-signal',
  'fencing-tokens',
  'invalid-options',
  'timeout-race',
  'pre-aborted',
  'signal-listeners',
];
describe('RedisReadWriteLock.read: Lock conformance (cases that apply to a shared lock)', () => {
  const cases = lockConformanceCases({
    timing: { scale: 10 },
    createLock: (resource) => new RedisReadWriteLock(client(), resource, { ttl }).read,
  }).filter((c) => READ_SIDE.includes(c.id));
  it('covers every listed case', () => {
    if (cases.length !== READ_SIDE.length) throw new Error(`found ${cases.map((c) => c.id).join(', ')}`);
  });
  for (const c of cases) {
    it(
      c.title,
      async () => {
        await setup();
        await c.run();
      },
      c.timeout + 30_000,
    );
  }
});
