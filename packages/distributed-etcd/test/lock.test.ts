import { addObserver, isLeaseLostError, isTimeoutError, type Lease, type LockEvent } from '@cf/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EtcdLock, Session } from '../src/index.js';
import { eventually, freshName, sleep, useEtcd } from './helpers.js';

const env = useEtcd();

/** Keys under `<name>/`, in create order. */
async function keysOf(client: ReturnType<typeof env.client>, name: string): Promise<string[]> {
  const response = await client.kv.range({
    key: Buffer.from(`${name}/`),
    range_end: Buffer.from(`${name}0`),
    sort_order: 1,
    sort_target: 2,
  });
  return response.kvs.map((kv) => kv.key.toString());
}

/** Counts kv RPCs a client sends. */
function countTxns(client: ReturnType<typeof env.client>): { count: number } {
  const counter = { count: 0 };
  const kv = client.kv as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const method of ['txn', 'range']) {
    const original = kv[method]!.bind(kv);
    kv[method] = (...args: unknown[]) => {
      counter.count++;
      return original(...args);
    };
  }
  return counter;
}

describe('EtcdLock: the Go concurrency.Mutex layout and algorithm', () => {
  it('holds the key <name>/<session lease hex> with an empty value on the session lease; token = create revision', async () => {
    const client = env.client();
    const session = await Session.create(client, { ttl: 5000 });
    const name = freshName();
    const lease = await new EtcdLock(client, name, { session }).acquire();
    const response = await client.kv.range({ key: Buffer.from(`${name}/${session.leaseHex}`) });
    const kv = response.kvs[0]!;
    expect(kv.key.toString()).toBe(`${name}/${session.leaseHex}`);
    expect(lease.key).toBe(`${name}/${session.leaseHex}`);
    expect(kv.value.length).toBe(0);
    expect(kv.lease).toBe(session.leaseId);
    expect(lease.token).toBe(BigInt(kv.create_revision));
    expect(session.leaseHex).toBe(BigInt(session.leaseId).toString(16));
    await lease.release();
    expect(await keysOf(client, name)).toEqual([]);
    await session.close();
  });

  it('excludes across clients; the waiter gets the lock when the holder releases, with a larger token', async () => {
    const [a, b] = [env.client(), env.client()];
    const name = freshName();
    const held = await new EtcdLock(a, name, { ttl: 5000 }).acquire();
    let granted: Lease | undefined;
    const waiting = new EtcdLock(b, name, { ttl: 5000 }).acquire().then((l) => (granted = l));
    await eventually(async () => (await keysOf(a, name)).length === 2, 5000, 'the waiter key');
    await sleep(100);
    expect(granted).toBeUndefined();
    await held.release();
    const next = await waiting;
    expect(next.token > held.token).toBe(true);
    await next.release();
  });

  it('two EtcdLock objects on one name and one session exclude each other (the same-session pitfall)', async () => {
    const client = env.client();
    const session = await Session.create(client, { ttl: 5000 });
    const name = freshName();
    const [x, y] = [new EtcdLock(client, name, { session }), new EtcdLock(client, name, { session })];
    const first = await x.acquire();
    expect(await y.tryAcquire()).toBeUndefined();
    let second: Lease | undefined;
    const waiting = y.acquire().then((l) => (second = l));
    await sleep(100);
    expect(second).toBeUndefined();
    expect(await keysOf(client, name)).toHaveLength(1);
    await first.release();
    await waiting;
    expect(second!.token > first.token).toBe(true);
    await second!.release();
    await session.close();
  });

  it('tryAcquire takes a free lock; on a held one it deletes its key again and resolves undefined', async () => {
    const [a, b] = [env.client(), env.client()];
    const name = freshName();
    const held = await new EtcdLock(a, name).tryAcquire();
    expect(held).toBeDefined();
    expect(await new EtcdLock(b, name).tryAcquire()).toBeUndefined();
    expect(await keysOf(a, name)).toHaveLength(1);
    await held!.release();
    const again = await new EtcdLock(b, name).tryAcquire();
    expect(again).toBeDefined();
    await again!.release();
  });

  it('an aborted or timed-out waiter deletes its key and does not delay the next waiter', async () => {
    const [a, b, c] = [env.client(), env.client(), env.client()];
    const name = freshName();
    const held = await new EtcdLock(a, name).acquire();
    const controller = new AbortController();
    const aborted = new EtcdLock(b, name).acquire({ signal: controller.signal });
    const timedOut = new EtcdLock(c, name).acquire({ timeout: 300 });
    await eventually(async () => (await keysOf(a, name)).length === 3, 5000, 'three keys');
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    const error = await timedOut.catch((e: unknown) => e);
    expect(isTimeoutError(error)).toBe(true);
    await eventually(async () => (await keysOf(a, name)).length === 1, 5000, 'waiter keys deleted');
    const d = env.client();
    const next = new EtcdLock(d, name).acquire();
    await held.release();
    await (await next).release();
  });

  it('wakes only the waiter whose predecessor left (no herd): other waiters send no request', async () => {
    const name = freshName();
    const holderClient = env.client();
    const held = await new EtcdLock(holderClient, name).acquire();
    const clients = Array.from({ length: 5 }, () => env.client());
    const counters = clients.map(countTxns);
    const leases: Promise<Lease>[] = [];
    for (const client of clients) {
      leases.push(new EtcdLock(client, name).acquire());
      const expected = leases.length + 1;
      await eventually(async () => (await keysOf(holderClient, name)).length === expected, 5000, 'queued');
    }
    await sleep(50);
    const before = counters.map((c) => c.count);
    await held.release();
    const first = await leases[0]!;
    await sleep(100);
    const after = counters.map((c, i) => c.count - before[i]!);
    // The next waiter had the holder as its only predecessor: the deletion alone hands over.
    expect(after).toEqual([0, 0, 0, 0, 0]);
    // Each waiter watches one key: one watch stream per waiting client, one watch each.
    expect(clients.slice(1).map((c) => c.streams.watch)).toEqual([1, 1, 1, 1]);
    await first.release();
    for (const lease of leases.slice(1)) await (await lease).release();
  });

  it('re-reads when a predecessor that was not alone leaves (a waiter in the middle aborted)', async () => {
    const name = freshName();
    const [a, b, c] = [env.client(), env.client(), env.client()];
    const held = await new EtcdLock(a, name).acquire();
    const controller = new AbortController();
    const middle = new EtcdLock(b, name).acquire({ signal: controller.signal });
    await eventually(async () => (await keysOf(a, name)).length === 2, 5000, 'middle queued');
    const last = new EtcdLock(c, name).acquire();
    await eventually(async () => (await keysOf(a, name)).length === 3, 5000, 'last queued');
    controller.abort(new Error('leave'));
    await middle.catch(() => {});
    await eventually(async () => (await keysOf(a, name)).length === 2, 5000, 'middle gone');
    let done = false;
    void last.then(() => (done = true));
    await sleep(150);
    expect(done).toBe(false);
    await held.release();
    await (await last).release();
  });

  it('a timeout racing a release never leaves two holders nor a stuck lock', async () => {
    const name = freshName();
    const [a, b] = [env.client(), env.client()];
    const [la, lb] = [new EtcdLock(a, name), new EtcdLock(b, name)];
    for (let round = 0; round < 12; round++) {
      const held = await la.acquire();
      const contender = lb.acquire({ timeout: 20 }).then(
        (lease) => lease,
        (error: unknown) => error,
      );
      await sleep(15 + (round % 5) * 3);
      await held.release();
      const outcome = await contender;
      if (outcome instanceof Error) expect(isTimeoutError(outcome)).toBe(true);
      else await (outcome as Lease).release();
      const again = await la.acquire({ timeout: 5000 });
      await again.release();
    }
    await eventually(async () => (await keysOf(a, name)).length === 0, 5000, 'no keys left');
  });

  it('property: random acquire / timeout / abort / release across three clients keeps one holder and growing tokens', async () => {
    const clients = [env.client(), env.client(), env.client()];
    const op = fc.record({
      client: fc.integer({ min: 0, max: 2 }),
      kind: fc.constantFrom('wait', 'timeout', 'abort', 'try'),
      hold: fc.integer({ min: 0, max: 15 }),
      delay: fc.integer({ min: 0, max: 15 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 3, maxLength: 8 }), async (ops) => {
        const name = freshName('prop');
        let inside = 0;
        let violations = 0;
        let lastToken = 0n;
        const run = async (o: (typeof ops)[number]): Promise<void> => {
          await sleep(o.delay);
          const lock = new EtcdLock(clients[o.client]!, name);
          const controller = new AbortController();
          if (o.kind === 'abort') setTimeout(() => controller.abort(new Error('abort')), o.hold);
          let lease: Lease | undefined;
          try {
            lease =
              o.kind === 'try'
                ? await lock.tryAcquire()
                : await lock.acquire(o.kind === 'timeout' ? { timeout: o.hold + 1 } : { signal: controller.signal });
          } catch (error) {
            if (!isTimeoutError(error) && !(error instanceof Error && error.message === 'abort')) throw error;
          }
          if (lease === undefined) return;
          inside++;
          if (inside > 1) violations++;
          if (lease.token <= lastToken) violations++;
          lastToken = lease.token;
          await sleep(o.hold);
          inside--;
          await lease.release();
        };
        await Promise.all(ops.map(run));
        expect(violations).toBe(0);
        await eventually(async () => (await keysOf(clients[0]!, name)).length === 0, 5000, 'all keys deleted');
      }),
      { numRuns: 8 },
    );
  });

  it('leaks no watch or keep-alive stream', async () => {
    const client = env.client();
    const other = env.client();
    const name = freshName();
    const held = await new EtcdLock(other, name).acquire();
    const waiters = Array.from({ length: 4 }, () => new EtcdLock(client, name).acquire({ timeout: 5000 }));
    await eventually(async () => (await keysOf(client, name)).length === 2, 5000, 'one local waiter in etcd');
    expect(client.streams.watch).toBe(1);
    await held.release();
    for (const w of waiters) await (await w).release();
    await eventually(() => client.streams.watch === 0, 2000, 'watch stream closed');
    expect(client.streams.keepAlive).toBe(1);
    await Session.closeShared(client);
    await Session.closeShared(other);
    await eventually(() => client.streams.keepAlive === 0 && other.streams.keepAlive === 0, 2000, 'keep-alive closed');
  });

  it('a lease is lost when its session is closed; an explicit closed session rejects acquire with ClosedError', async () => {
    const client = env.client();
    const session = await Session.create(client, { ttl: 5000 });
    const lock = new EtcdLock(client, freshName(), { session });
    const lease = await lock.acquire();
    const signal = lease.signal;
    await session.close();
    expect(signal.aborted).toBe(true);
    expect(isLeaseLostError(signal.reason)).toBe(true);
    await lease.release();
    await expect(lock.acquire()).rejects.toMatchObject({ code: 'ERR_CF_CLOSED' });
  });

  it('reports wait, acquired, released and timeout events to observers', async () => {
    const [a, b] = [env.client(), env.client()];
    const name = freshName('observed');
    const events: LockEvent[] = [];
    const stop = addObserver((event) => {
      if (event.resource === name) events.push(event);
    });
    try {
      const [la, lb] = [new EtcdLock(a, name), new EtcdLock(b, name)];
      const held = await la.acquire({ owner: 'a' });
      await lb.acquire({ timeout: 150, owner: 'b' }).catch(() => {});
      await held.release();
      const summary = events.map(
        (e) => `${e.type}:${String(e.owner)}:${e.lock === la ? 'la' : e.lock === lb ? 'lb' : '?'}`,
      );
      expect(summary).toEqual(['acquired:a:la', 'wait:b:lb', 'timeout:b:lb', 'released:a:la']);
      expect(events[0]!.token).toBe(held.token);
      expect(events[2]!.waitTime).toBeGreaterThanOrEqual(140);
    } finally {
      stop();
    }
  });
});
