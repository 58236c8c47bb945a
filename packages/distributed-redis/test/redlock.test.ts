import { isQuorumError, type QuorumError } from '@cf/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redlock } from '../src/index.js';
import { Fixture, sleep } from './helpers.js';

const fx = new Fixture();
beforeAll(async () => {
  await fx.start(5);
});
afterAll(async () => {
  await fx.stop();
});
beforeEach(async () => {
  await fx.flush();
});

const clientsOf = (count = 5) => Array.from({ length: count }, (_, i) => fx.client(i));

describe('Redlock', () => {
  it('holds a majority and deletes on every server when released', async () => {
    const clients = clientsOf();
    const lock = new Redlock(clients, 'r');
    expect(lock.quorum).toBe(3);
    const lease = await lock.acquire();
    // The lease is granted once a majority answered; the others may still be on their way.
    const values = (await Promise.all(clients.map((c) => c.get(lock.keys.lock)))).filter((v) => v !== null);
    expect(values.length).toBeGreaterThanOrEqual(3);
    expect(new Set(values).size).toBe(1);
    await lease.release();
    expect(await Promise.all(clients.map((c) => c.exists(lock.keys.lock)))).toEqual([0, 0, 0, 0, 0]);
  });

  it('takes the highest counter as the token and raises the lower ones', async () => {
    const clients = clientsOf();
    const lock = new Redlock(clients, 'fence');
    // Four servers are ahead, so every majority contains at least two of them.
    await Promise.all(clients.map((c, i) => c.set(lock.keys.fence, i < 4 ? '6000' : '5000')));
    const second = await lock.acquire();
    expect(second.token).toBe(6001n);
    await sleep(20);
    // Every server of the granting majority is at the token now; none is above it.
    const counters = (await Promise.all(clients.map((c) => c.get(lock.keys.fence)))).map((v) => BigInt(v ?? '0'));
    expect(counters.filter((v) => v === second.token).length).toBeGreaterThanOrEqual(lock.quorum);
    expect(counters.every((v) => v <= second.token)).toBe(true);
    await second.release();
  });

  it('does not grant when a majority is held elsewhere, and cleans up its partial holds', async () => {
    const clients = clientsOf();
    const lock = new Redlock(clients, 'split');
    // Three servers held by someone else.
    await Promise.all([0, 1, 2].map((i) => clients[i]!.set(lock.keys.lock, 'other', 'PX', 60_000)));
    expect(await lock.tryAcquire()).toBeUndefined();
    await sleep(20);
    expect(await clients[3]!.exists(lock.keys.lock)).toBe(0);
    expect(await clients[4]!.exists(lock.keys.lock)).toBe(0);
  });

  it('fails with QuorumError listing each server when a majority cannot be reached', async () => {
    const clients = clientsOf(3);
    // Two clients point at nothing: a closed port answers with an error at once.
    clients[0]!.disconnect();
    clients[1]!.disconnect();
    const lock = new Redlock(clients, 'down', { instanceTimeout: 200 });
    const error = (await lock.acquire({ timeout: 5000 }).catch((e: unknown) => e)) as QuorumError;
    expect(isQuorumError(error)).toBe(true);
    expect(error.quorum).toBe(2);
    expect(error.outcomes).toHaveLength(3);
    const failed = error.outcomes.filter((o) => !o.ok && o.error instanceof Error);
    expect(failed.map((o) => o.member)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^0:/), expect.stringMatching(/^1:/)]),
    );
    // The partial hold on the one reachable server was cleaned up.
    await sleep(30);
    expect(await clients[2]!.exists(lock.keys.lock)).toBe(0);
  });

  it('keeps exclusion among many contenders on five servers', async () => {
    const locks = Array.from({ length: 4 }, () => new Redlock(clientsOf(), 'busy', { ttl: 2000 }));
    let inside = 0;
    let overlaps = 0;
    let last = 0n;
    let increasing = true;
    await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const lease = await locks[i % locks.length]!.acquire({ timeout: 30_000 });
        if (++inside > 1) overlaps++;
        if (lease.token <= last) increasing = false;
        last = lease.token;
        await sleep(1);
        inside--;
        await lease.release();
      }),
    );
    expect(overlaps).toBe(0);
    expect(increasing).toBe(true);
  });
});
