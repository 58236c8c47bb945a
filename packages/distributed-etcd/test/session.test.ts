import { isBackendError, isClosedError, isLeaseLostError, type Lease } from '@cf/core';
import { freePort } from '@cf/test-servers/ports';
import { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { EtcdElection, EtcdLock, Session } from '../src/index.js';
import { eventually, freshName, sleep, useEtcd } from './helpers.js';

const env = useEtcd();

describe('Session', () => {
  it('grants one lease with the ttl rounded up to whole seconds (default 60 s) and one keep-alive stream', async () => {
    const client = env.client();
    const session = await Session.create(client, { ttl: 2500 });
    expect(session.ttl).toBe(3000);
    await eventually(() => client.streams.keepAlive === 1, 2000, 'keep-alive stream open');
    const byDefault = await Session.create(client);
    expect(byDefault.ttl).toBe(60_000);
    await byDefault.close();
    await session.close();
    await eventually(() => client.streams.keepAlive === 0, 2000, 'keep-alive streams closed');
  });

  it('keeps its lease alive across several ttls', async () => {
    const client = env.client();
    const session = await Session.create(client, { ttl: 2000 });
    const name = freshName();
    const lease = await new EtcdLock(client, name, { session }).acquire();
    await sleep(session.ttl * 2.5);
    expect(session.active).toBe(true);
    expect(lease.signal.aborted).toBe(false);
    const response = await client.kv.range({ key: Buffer.from(lease.key) });
    expect(response.kvs).toHaveLength(1);
    await lease.release();
    await session.close();
  });

  it('revoked from outside (`etcdctl lease revoke`): the session and its leases are lost together within the ttl; other sessions proceed', async () => {
    const [a, b, c] = [env.client(), env.client(), env.client()];
    const session = await Session.create(a, { ttl: 3000 });
    const name = freshName();
    const other = freshName();
    const lease = await new EtcdLock(a, name, { session }).acquire();
    const blocker = await new EtcdLock(c, other).acquire();
    // A waiter of the revoked session, queued behind another session's holder.
    const doomed = new EtcdLock(a, other, { session }).acquire();
    doomed.catch(() => {});
    // A waiter of another session, queued behind the revoked session's holder.
    let next: Lease | undefined;
    const waiting = new EtcdLock(b, name).acquire().then((l) => (next = l));
    await eventually(async () => (await a.getAll().prefix(`${name}/`).keys()).length === 2, 5000, 'waiter queued');

    let leaseAbortedFirst: boolean | undefined;
    session.signal.addEventListener('abort', () => {
      leaseAbortedFirst = lease.signal.aborted;
    });
    const revokedAt = performance.now();
    const result = await env.etcd.etcdctl(['lease', 'revoke', session.leaseHex]);
    expect(result.code).toBe(0);
    await waiting;
    expect(next).toBeDefined();
    await eventually(() => session.signal.aborted, session.ttl, 'session.signal aborted');
    expect(performance.now() - revokedAt).toBeLessThan(session.ttl);
    expect(isLeaseLostError(session.signal.reason)).toBe(true);
    expect(leaseAbortedFirst).toBe(true);
    expect(isLeaseLostError(lease.signal.reason)).toBe(true);
    expect(next!.token > lease.token).toBe(true);
    expect(isLeaseLostError(await doomed.catch((e: unknown) => e))).toBe(true);
    await lease.release();
    await next!.release();
    await blocker.release();
    await expect(new EtcdLock(a, name, { session }).acquire()).rejects.toMatchObject({ code: 'ERR_CF_LEASE_LOST' });
    await eventually(() => a.streams.keepAlive === 0, 2000, 'keep-alive stream of the lost session closed');
  });

  it('close() revokes the lease: keys vanish, leases are lost, waiters reject with ClosedError', async () => {
    const [a, b] = [env.client(), env.client()];
    const session = await Session.create(a, { ttl: 5000 });
    const name = freshName();
    const lease = await new EtcdLock(a, name, { session }).acquire();
    const blocker = await new EtcdLock(b, freshName()).acquire();
    const waiter = new EtcdLock(a, blocker.resource, { session }).acquire();
    waiter.catch(() => {});
    await eventually(
      async () => (await a.getAll().prefix(`${blocker.resource}/`).keys()).length === 2,
      5000,
      'waiter queued',
    );
    await session.close();
    await session.close();
    expect(isClosedError(session.signal.reason)).toBe(true);
    expect(isLeaseLostError(lease.signal.reason)).toBe(true);
    expect(isClosedError(await waiter.catch((e: unknown) => e))).toBe(true);
    expect(await a.getAll().prefix(`${name}/`).keys()).toEqual([]);
    expect(await a.getAll().prefix(`${blocker.resource}/`).keys()).toHaveLength(1);
    await blocker.release();
  });

  it('shared sessions: one per client and ttl, replaced after it ended', async () => {
    const client = env.client();
    const first = await Session.shared(client, { ttl: 4000 });
    expect(await Session.shared(client, { ttl: 4000 })).toBe(first);
    expect(await Session.shared(client, { ttl: 5000 })).not.toBe(first);
    await first.close();
    const second = await Session.shared(client, { ttl: 4000 });
    expect(second).not.toBe(first);
    expect(second.active).toBe(true);
    // A lock without an explicit session moves on to the new shared session.
    const lease = await new EtcdLock(client, freshName(), { ttl: 4000 }).acquire();
    expect(lease.key.endsWith(second.leaseHex)).toBe(true);
    await lease.release();
    await Session.closeShared(client);
    expect(second.active).toBe(false);
  });

  it('a closed client ends the session (lost, not hung) and leaves no stream or timer behind', async () => {
    const client = env.client();
    const session = await Session.create(client, { ttl: 2000 });
    const lease = await new EtcdLock(client, freshName(), { session }).acquire();
    client.close();
    // Detected at the next keep-alive (every ttl/3).
    await eventually(() => !session.active, session.ttl, 'session ended');
    expect(isLeaseLostError(session.signal.reason)).toBe(true);
    expect(lease.signal.aborted).toBe(true);
    expect(client.streams.keepAlive).toBe(0);
    await lease.release();
  });

  it('an unreachable etcd gives BackendError with the client error as cause, not a hang', async () => {
    const dead = new Etcd3({ hosts: `127.0.0.1:${await freePort()}` });
    try {
      const grant = await Session.create(dead, { ttl: 2000 }).catch((e: unknown) => e);
      expect(isBackendError(grant)).toBe(true);
      expect((grant as Error).cause).toBeInstanceOf(Error);
      const read = await new EtcdElection(dead, 'x').leader().catch((e: unknown) => e);
      expect(isBackendError(read)).toBe(true);
      const acquire = await new EtcdLock(dead, 'x', { ttl: 2000 }).acquire().catch((e: unknown) => e);
      expect(isBackendError(acquire)).toBe(true);
    } finally {
      dead.close();
    }
  });
});
