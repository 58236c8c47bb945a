import { isInvalidArgumentError, isTimeoutError, type Lease } from '@cf/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EtcdSemaphore } from '../src/index.js';
import { eventually, freshName, sleep, useEtcd } from './helpers.js';

const env = useEtcd();

const keys = async (client: ReturnType<typeof env.client>, name: string): Promise<string[]> =>
  client.getAll().prefix(`${name}/`).keys();

describe('EtcdSemaphore', () => {
  it('keys hold their permits as value; weighted requests fit, and a waiting request is never overtaken', async () => {
    const [a, b, c, d] = [env.client(), env.client(), env.client(), env.client()];
    const name = freshName('sem');
    const two = await new EtcdSemaphore(a, name, 3).acquire(2);
    const value = await a.get(two.key).string();
    expect(value).toBe('2');
    const one = await new EtcdSemaphore(b, name, 3).acquire(1);
    let big: Lease | undefined;
    const bigWaiting = new EtcdSemaphore(c, name, 3).acquire(2).then((l) => (big = l));
    await eventually(async () => (await keys(a, name)).length === 3, 5000, 'big queued');
    // One permit would be free after `one` leaves, but the waiting request of 2 comes first.
    let small: Lease | undefined;
    const smallWaiting = new EtcdSemaphore(d, name, 3).acquire(1).then((l) => (small = l));
    await eventually(async () => (await keys(a, name)).length === 4, 5000, 'small queued');
    await one.release();
    await sleep(150);
    expect(big).toBeUndefined();
    expect(small).toBeUndefined();
    await two.release();
    await bigWaiting;
    await smallWaiting;
    await big!.release();
    await small!.release();
  });

  it('one release lets in every waiter that now fits, each woken by the one ahead of it (no herd)', async () => {
    const name = freshName('sem');
    const holder = await new EtcdSemaphore(env.client(), name, 3).acquire(3);
    const clients = [env.client(), env.client(), env.client()];
    const waiting: Promise<Lease>[] = [];
    for (const client of clients) {
      waiting.push(new EtcdSemaphore(client, name, 3).acquire(1));
      const count = waiting.length + 1;
      await eventually(async () => (await keys(clients[0]!, name)).length === count, 5000, 'queued');
    }
    // Each waiter has one watch: the first on the prefix's deletions, the others on one key each.
    await eventually(() => clients.every((c) => c.streams.watch === 1), 5000, 'one watch stream each');
    await holder.release();
    const leases = await Promise.all(waiting);
    expect(leases).toHaveLength(3);
    for (const lease of leases) await lease.release();
  });

  it('times out and aborts cleanly, and rejects bad permits', async () => {
    const [a, b] = [env.client(), env.client()];
    const name = freshName('sem');
    const semaphore = new EtcdSemaphore(a, name, 2);
    const all = await semaphore.acquire(2);
    const error = await new EtcdSemaphore(b, name, 2).acquire(1, { timeout: 200 }).catch((e: unknown) => e);
    expect(isTimeoutError(error)).toBe(true);
    expect(await new EtcdSemaphore(b, name, 2).tryAcquire()).toBeUndefined();
    expect(await new EtcdSemaphore(b, name, 2).acquire(1, { timeout: 0 }).catch((e: unknown) => e)).toSatisfy(
      isTimeoutError,
    );
    await eventually(async () => (await keys(a, name)).length === 1, 5000, 'waiter keys deleted');
    for (const bad of [0, 3, 1.5, Number.NaN, '1', -1]) {
      await expect(semaphore.acquire(bad as number)).rejects.toSatisfy(isInvalidArgumentError);
      await expect(semaphore.tryAcquire(bad as number)).rejects.toSatisfy(isInvalidArgumentError);
    }
    await all.release();
    const again = await semaphore.tryAcquire(2);
    expect(again).toBeDefined();
    await again!.release();
  });

  it('property: concurrent weighted requests of three processes never exceed the permits', async () => {
    const clients = [env.client(), env.client(), env.client()];
    const op = fc.record({
      client: fc.integer({ min: 0, max: 2 }),
      permits: fc.integer({ min: 1, max: 3 }),
      hold: fc.integer({ min: 0, max: 10 }),
      delay: fc.integer({ min: 0, max: 10 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 2, maxLength: 8 }), async (ops) => {
        const name = freshName('semprop');
        let used = 0;
        let most = 0;
        await Promise.all(
          ops.map(async (o) => {
            await sleep(o.delay);
            const lease = await new EtcdSemaphore(clients[o.client]!, name, 3).acquire(o.permits, { timeout: 10_000 });
            used += o.permits;
            most = Math.max(most, used);
            await sleep(o.hold);
            used -= o.permits;
            await lease.release();
          }),
        );
        expect(most).toBeLessThanOrEqual(3);
      }),
      { numRuns: 8 },
    );
  });
});
