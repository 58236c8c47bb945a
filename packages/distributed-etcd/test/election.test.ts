import { isLeaseLostError, isNotHeldError, isTimeoutError, type Lease } from '@cf/core';
import { describe, expect, it } from 'vitest';
import { EtcdElection, Session } from '../src/index.js';
import { eventually, freshName, sleep, useEtcd } from './helpers.js';

const env = useEtcd();

const keys = async (client: ReturnType<typeof env.client>, name: string): Promise<string[]> =>
  client.getAll().prefix(`${name}/`).keys();

describe('EtcdElection: the Go concurrency.Election layout and algorithm', () => {
  it('campaigns with <name>/<lease hex> = value on the session lease; one leader at a time, in campaign order', async () => {
    const [a, b] = [env.client(), env.client()];
    const session = await Session.create(a, { ttl: 5000 });
    const name = freshName('elect');
    const first = new EtcdElection(a, name, { session });
    const leadership = await first.campaign('node-a');
    const kv = (await a.kv.range({ key: Buffer.from(`${name}/${session.leaseHex}`) })).kvs[0]!;
    expect(kv.value.toString()).toBe('node-a');
    expect(kv.lease).toBe(session.leaseId);
    expect(leadership.token).toBe(BigInt(kv.create_revision));

    let second: Lease | undefined;
    const campaigning = new EtcdElection(b, name).campaign('node-b').then((l) => (second = l));
    await eventually(async () => (await keys(a, name)).length === 2, 5000, 'second campaigning');
    await sleep(100);
    expect(second).toBeUndefined();
    expect(await first.leader()).toBe('node-a');
    const signal = leadership.signal;
    await first.resign();
    expect(signal.aborted).toBe(true);
    await campaigning;
    expect(await first.leader()).toBe('node-b');
    expect(second!.token > leadership.token).toBe(true);
    await second!.release();
    expect(await first.leader()).toBeUndefined();
    await session.close();
  });

  it('proclaims a new value while leading; NotHeldError when not leading or when the key was deleted', async () => {
    const client = env.client();
    const name = freshName('proclaim');
    const election = new EtcdElection(client, name);
    await expect(election.proclaim('x')).rejects.toSatisfy(isNotHeldError);
    const leadership = await election.campaign('v1');
    await election.proclaim('v2');
    expect(await election.leader()).toBe('v2');
    await client.delete().key(leadership.key);
    const error = await election.proclaim('v3').catch((e: unknown) => e);
    expect(isNotHeldError(error)).toBe(true);
    expect(isLeaseLostError(leadership.signal.reason)).toBe(true);
    await leadership.release();
  });

  it('observe() yields undefined, each leader and each proclamation, then ends on abort without leaking a watch', async () => {
    const [a, b] = [env.client(), env.client()];
    const name = freshName('observe');
    const observer = new EtcdElection(a, name);
    const controller = new AbortController();
    const seen: (string | undefined)[] = [];
    const observing = (async () => {
      for await (const leader of observer.observe({ signal: controller.signal })) seen.push(leader);
    })();
    await eventually(() => seen.length === 1, 5000, 'the first observation');
    const one = new EtcdElection(b, name);
    const lease = await one.campaign('one');
    await eventually(() => seen.at(-1) === 'one', 5000, 'one');
    await one.proclaim('one+');
    await eventually(() => seen.at(-1) === 'one+', 5000, 'one+');
    const two = new EtcdElection(env.client(), name).campaign('two');
    await eventually(async () => (await keys(a, name)).length === 2, 5000, 'two campaigning');
    await lease.release();
    const second = await two;
    await eventually(() => seen.at(-1) === 'two', 5000, 'two');
    await second.release();
    await eventually(() => seen.at(-1) === undefined && seen.length > 4, 5000, 'no leader');
    controller.abort();
    await observing;
    expect(seen).toEqual([undefined, 'one', 'one+', 'two', undefined]);
    await eventually(() => a.streams.watch === 0, 2000, 'watch stream closed');
  });

  it('a campaign that times out deletes its key; a session lost while leading aborts the leadership', async () => {
    const [a, b] = [env.client(), env.client()];
    const name = freshName('lose');
    const session = await Session.create(a, { ttl: 3000 });
    const leadership = await new EtcdElection(a, name, { session }).campaign('a');
    const error = await new EtcdElection(b, name).campaign('b', { timeout: 200 }).catch((e: unknown) => e);
    expect(isTimeoutError(error)).toBe(true);
    await eventually(async () => (await keys(a, name)).length === 1, 5000, 'timed-out key deleted');
    await env.etcd.etcdctl(['lease', 'revoke', session.leaseHex]);
    await eventually(() => leadership.signal.aborted, session.ttl, 'leadership lost');
    expect(isLeaseLostError(leadership.signal.reason)).toBe(true);
    expect(await new EtcdElection(b, name).leader()).toBeUndefined();
  });
});
