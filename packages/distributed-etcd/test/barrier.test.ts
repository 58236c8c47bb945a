import { isBrokenBarrierError, isTimeoutError } from '@cf/core';
import { describe, expect, it } from 'vitest';
import { EtcdBarrier, EtcdDoubleBarrier } from '../src/index.js';
import { eventually, freshName, sleep, useEtcd } from './helpers.js';

const env = useEtcd();

describe('EtcdBarrier', () => {
  it('holds while its key exists; wait() resolves on release, at once when down, or times out', async () => {
    const [a, b] = [env.client(), env.client()];
    const name = freshName('barrier');
    const coordinator = new EtcdBarrier(a, name);
    await new EtcdBarrier(b, name).wait();
    expect(await coordinator.hold()).toBe(true);
    expect(await coordinator.hold()).toBe(false);
    expect(await a.get(name).string()).toBe('');
    let passed = 0;
    const waiters = [b, env.client()].map((c) => new EtcdBarrier(c, name).wait().then(() => passed++));
    const timed = await new EtcdBarrier(b, name).wait({ timeout: 150 }).catch((e: unknown) => e);
    expect(isTimeoutError(timed)).toBe(true);
    await sleep(100);
    expect(passed).toBe(0);
    await coordinator.release();
    await Promise.all(waiters);
    expect(passed).toBe(2);
    await eventually(() => b.streams.watch === 0, 2000, 'watches closed');
  });
});

describe('EtcdDoubleBarrier', () => {
  it('enter() resolves when all parties entered, leave() when all left; a fourth party is refused', async () => {
    const name = freshName('double');
    const clients = [env.client(), env.client(), env.client()];
    const waiters = `${name}/waiters/`;
    let entered = 0;
    const entering = clients.slice(0, 2).map((c) =>
      new EtcdDoubleBarrier(c, name, 3).enter().then((p) => {
        entered++;
        return p;
      }),
    );
    await eventually(async () => (await clients[0]!.getAll().prefix(waiters).keys()).length === 2, 5000, 'two inside');
    await sleep(100);
    expect(entered).toBe(0);
    const third = await new EtcdDoubleBarrier(clients[2]!, name, 3).enter();
    const parties = [...(await Promise.all(entering)), third];
    expect(entered).toBe(2);
    const fourth = await new EtcdDoubleBarrier(env.client(), name, 3).enter().catch((e: unknown) => e);
    expect(isBrokenBarrierError(fourth)).toBe(true);
    let left = 0;
    const leaving = parties.slice(0, 2).map((p) => p.leave().then(() => left++));
    await sleep(200);
    expect(left).toBe(0);
    await parties[2]!.leave();
    await Promise.all(leaving);
    expect(left).toBe(2);
    expect(await clients[0]!.getAll().prefix(`${name}/`).keys()).toEqual([]);
  });

  it('a party that times out entering withdraws its key', async () => {
    const name = freshName('double');
    const client = env.client();
    const error = await new EtcdDoubleBarrier(client, name, 2).enter({ timeout: 200 }).catch((e: unknown) => e);
    expect(isTimeoutError(error)).toBe(true);
    await eventually(async () => (await client.getAll().prefix(`${name}/`).keys()).length === 0, 5000, 'key withdrawn');
    const [x, y] = await Promise.all([
      new EtcdDoubleBarrier(client, name, 2).enter(),
      new EtcdDoubleBarrier(env.client(), name, 2).enter(),
    ]);
    await Promise.all([x.leave(), y.leave()]);
  });
});
