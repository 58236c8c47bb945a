import { isInvalidArgumentError } from '@cf/core';
import { LockManager } from '@cf/locks';
import { describe, expect, it } from 'vitest';
import {
  EtcdBarrier,
  EtcdDoubleBarrier,
  EtcdElection,
  EtcdLock,
  EtcdReadWriteLock,
  EtcdSemaphore,
  Session,
} from '../src/index.js';
import { freshName, useEtcd } from './helpers.js';

const env = useEtcd();

function expectInvalid(fn: () => unknown, kind: typeof TypeError | typeof RangeError, argument: string): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(isInvalidArgumentError(error), `expected ${argument} to be rejected`).toBe(true);
  expect(error).toBeInstanceOf(kind);
  expect((error as Error).message).toContain(argument);
}

const NOT_CLIENTS: unknown[] = [
  undefined,
  null,
  42,
  'localhost:2379',
  {},
  [],
  new Map(),
  { kv: {}, leaseClient: {}, watchClient: {} },
];
const BAD_NAME_TYPES: unknown[] = [undefined, null, 7, Symbol('x'), {}, ['a']];
const BAD_NAME_VALUES = ['', 'x'.repeat(1025), 'a/b', '/locks', 'a\0b'];
const BAD_TTL_TYPES: unknown[] = ['1000', null, {}, 10n];
const BAD_TTL_VALUES = [0, -1, 1, 500, 999, 999.9, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31];

type Factory = (client: unknown, name: unknown, options?: unknown) => unknown;
const FACTORIES: Array<[string, Factory]> = [
  ['EtcdLock', (c, n, o) => new EtcdLock(c as never, n as never, o as never)],
  ['EtcdElection', (c, n, o) => new EtcdElection(c as never, n as never, o as never)],
  ['EtcdReadWriteLock', (c, n, o) => new EtcdReadWriteLock(c as never, n as never, o as never)],
  ['EtcdSemaphore', (c, n, o) => new EtcdSemaphore(c as never, n as never, 2, o as never)],
  ['EtcdDoubleBarrier', (c, n, o) => new EtcdDoubleBarrier(c as never, n as never, 2, o as never)],
];

describe('bad input: typed errors naming the argument, and the primitives stay usable', () => {
  it.each(FACTORIES)('%s rejects non-clients, bad names and bad options', async (_, create) => {
    const client = env.client();
    for (const value of NOT_CLIENTS) expectInvalid(() => create(value, 'ok'), TypeError, 'client');
    for (const value of BAD_NAME_TYPES) expectInvalid(() => create(client, value), TypeError, 'name');
    for (const value of BAD_NAME_VALUES) expectInvalid(() => create(client, value), RangeError, 'name');
    for (const value of BAD_TTL_TYPES)
      expectInvalid(() => create(client, 'ok', { ttl: value }), TypeError, 'options.ttl');
    for (const value of BAD_TTL_VALUES)
      expectInvalid(() => create(client, 'ok', { ttl: value }), RangeError, 'options.ttl');
    for (const value of [null, 'fast', 3]) expectInvalid(() => create(client, 'ok', value), TypeError, 'options');
    expectInvalid(() => create(client, 'ok', { prefix: 'a\0' }), RangeError, 'options.prefix');
    expectInvalid(() => create(client, 'ok', { prefix: 5 }), TypeError, 'options.prefix');
    expectInvalid(() => create(client, 'ok', { session: {} }), TypeError, 'options.session');
    const session = await Session.create(client, { ttl: 5000 });
    expectInvalid(() => create(client, 'ok', { session, ttl: 5000 }), TypeError, 'options.ttl');
    expectInvalid(() => create(env.client(), 'ok', { session }), TypeError, 'options.session');
    // Fractional milliseconds above one second are rounded up to whole seconds, not refused.
    expect(() => create(client, 'ok', { ttl: 1000.5 })).not.toThrow();
    await session.close();
  });

  it('Session.create, EtcdBarrier, semaphore permits, barrier counts and campaign values are checked too', async () => {
    const client = env.client();
    for (const value of NOT_CLIENTS)
      await expect(Session.create(value as never)).rejects.toSatisfy(isInvalidArgumentError);
    for (const value of BAD_TTL_VALUES)
      await expect(Session.create(client, { ttl: value })).rejects.toSatisfy(isInvalidArgumentError);
    for (const value of NOT_CLIENTS) expectInvalid(() => new EtcdBarrier(value as never, 'ok'), TypeError, 'client');
    for (const value of BAD_NAME_VALUES) expectInvalid(() => new EtcdBarrier(client, value), RangeError, 'name');
    for (const value of [0, -1, 1.5, 2 ** 31, Number.NaN])
      expectInvalid(() => new EtcdSemaphore(client, 'ok', value), RangeError, 'permits');
    expectInvalid(() => new EtcdSemaphore(client, 'ok', '2' as never), TypeError, 'permits');
    for (const value of [0, -1, 1.5, Number.NaN])
      expectInvalid(() => new EtcdDoubleBarrier(client, 'ok', value), RangeError, 'count');
    const election = new EtcdElection(client, freshName('bad'));
    for (const value of [undefined, 5, null, {}])
      await expect(election.campaign(value as never)).rejects.toSatisfy(isInvalidArgumentError);
    await expect(election.campaign('x'.repeat((1 << 20) + 1))).rejects.toSatisfy(isInvalidArgumentError);
    expect(() => election.observe({ signal: 'no' as never })).toThrow(TypeError);
    await expect(new EtcdBarrier(client, 'ok').wait({ timeout: -1 })).rejects.toSatisfy(isInvalidArgumentError);
    // Still usable after all that.
    const lease = await election.campaign('fine');
    expect(await election.leader()).toBe('fine');
    await lease.release();
  });

  it('acquire rejects bad options without taking or queueing anything', async () => {
    const client = env.client();
    const lock = new EtcdLock(client, freshName('bad'));
    for (const options of [null, 'x', { timeout: -1 }, { timeout: Number.NaN }, { priority: 1.5 }, { signal: {} }]) {
      await expect(lock.acquire(options as never)).rejects.toSatisfy(isInvalidArgumentError);
    }
    const lease = await lock.tryAcquire();
    expect(lease).toBeDefined();
    await lease!.release();
  });
});

describe('LockManager from @cf/locks with etcd locks through createLock', () => {
  it('serialises exclusive holders across two managers (two processes) and shares readers', async () => {
    const [a, b] = [env.client(), env.client()];
    const managers = [a, b].map(
      (client) => new LockManager({ createLock: (name) => new EtcdReadWriteLock(client, name) }),
    );
    const name = freshName('manager');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        managers[i % 2]!.withLock(name, async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((resolve) => setTimeout(resolve, 3));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    const readers = await Promise.all(managers.map((m) => m.acquire(name, { mode: 'shared', timeout: 5000 })));
    expect(await managers[0]!.tryAcquire(name)).toBeUndefined();
    for (const lease of readers) await lease.release();
    const plain = new LockManager({ createLock: (n) => new EtcdLock(a, n) });
    const lease = await plain.acquire(name, { timeout: 5000 });
    expect(lease.token > 0n).toBe(true);
    expect(await managers[1]!.tryAcquire(name)).toBeUndefined();
    await lease.release();
  });
});
