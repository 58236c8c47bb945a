import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isBackendError, isLeaseLostError, isTimeoutError, type Lease } from '@cf/core';
import { describe, expect, it } from 'vitest';
import { EtcdLock, Session } from '../src/index.js';
import { eventually, freshName, sleep, useEtcd } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('faults on a single member', () => {
  const env = useEtcd();

  it('kill -9 of a child process holding a lock: the next holder proceeds after the ttl, with a larger token', async () => {
    const name = freshName('killed');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/hold-lock.ts', env.etcd.endpoints.join(','), name, '2000'],
      {
        cwd: root,
        env: { ...process.env, TSX_TSCONFIG_PATH: 'test/fixtures/tsconfig.json' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    try {
      await eventually(() => output.includes('held'), 20_000, 'the child holding the lock');
      const childToken = BigInt(output.trim().split(' ')[1]!);
      let granted: Lease | undefined;
      const waiting = new EtcdLock(env.client(), name).acquire().then((l) => (granted = l));
      await sleep(300);
      expect(granted).toBeUndefined();
      const killedAt = performance.now();
      child.kill('SIGKILL');
      const lease = await waiting;
      const elapsed = performance.now() - killedAt;
      // The child's lease expires between ttl - ttl/3 (its last keep-alive) and ttl after the kill.
      expect(elapsed).toBeGreaterThan(1000);
      expect(elapsed).toBeLessThan(2000 + 1500);
      expect(lease.token > childToken).toBe(true);
      await lease.release();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.each([
    ['a deletion made while the stream was down', false],
    ['a deletion compacted away while the stream was down', true],
  ])('a waiter survives a watch-stream break: %s', async (_, compact) => {
    const name = freshName('break');
    const [a, b] = [env.client(), env.client()];
    const held = await new EtcdLock(a, name).acquire();
    let granted: Lease | undefined;
    const waiting = new EtcdLock(b, name).acquire().then((l) => (granted = l));
    await eventually(() => b.streams.watchStreams.size === 1, 5000, 'the waiter watching');
    let open!: () => void;
    b.streams.gate = new Promise((resolve) => (open = resolve));
    for (const stream of b.streams.watchStreams) stream.cancel();
    await held.release();
    if (compact) {
      for (let i = 0; i < 3; i++) await a.put(`${name}-filler`).value(String(i));
      const revision = (await a.kv.range({ key: Buffer.from(`${name}-filler`) })).header.revision;
      await a.kv.compact({ revision, physical: true });
      await a.delete().key(`${name}-filler`);
    }
    await sleep(300);
    expect(granted).toBeUndefined();
    const openedAt = performance.now();
    b.streams.gate = undefined;
    open();
    const lease = await waiting;
    // Resumed by the watch, not by the periodic re-read (every 5 s with the default 60 s ttl).
    expect(performance.now() - openedAt).toBeLessThan(2000);
    expect(lease.token > held.token).toBe(true);
    await lease.release();
  });
});

describe('a lost cluster while waiting', () => {
  const env = useEtcd();

  it('ends each wait with its timeout or with LeaseLostError within the ttl, never a hang', async () => {
    const name = freshName('lost');
    const [a, b, c] = [env.client(), env.client(), env.client()];
    const held = await new EtcdLock(a, name, { ttl: 2000 }).acquire();
    const timed = new EtcdLock(b, name, { ttl: 2000 }).acquire({ timeout: 1500 }).catch((e: unknown) => e);
    const untimed = new EtcdLock(c, name, { ttl: 2000 }).acquire().catch((e: unknown) => e);
    await eventually(async () => (await a.getAll().prefix(`${name}/`).keys()).length === 3, 5000, 'waiters queued');
    const killedAt = performance.now();
    await env.etcd.kill(0);
    expect(isTimeoutError(await timed)).toBe(true);
    const error = await untimed;
    expect(isLeaseLostError(error) || isBackendError(error)).toBe(true);
    expect(performance.now() - killedAt).toBeLessThan(2000 + 1000);
    await eventually(() => held.signal.aborted, 2000, 'the holder learning its lease is lost');
    expect(isLeaseLostError(held.signal.reason)).toBe(true);
    await held.release();
  });
});

describe('a 3-member cluster: the leader stopped, then killed, while locks are contended', () => {
  const env = useEtcd({ members: 3 });

  it('work continues after each re-election and no two holders ever overlap (fenced log)', async () => {
    const name = freshName('cluster');
    let highest = 0n;
    let writes = 0;
    let stale = 0;
    const write = (token: bigint): void => {
      if (token < highest) stale++;
      else highest = token;
      writes++;
    };
    const intervals: Array<[number, number, bigint]> = [];
    const unexpected: unknown[] = [];
    let stop = false;
    let sections = 0;
    const worker = async (): Promise<void> => {
      const client = env.client();
      const lock = new EtcdLock(client, name, { ttl: 2000 });
      while (!stop) {
        let lease: Lease;
        try {
          lease = await lock.acquire({ timeout: 6000 });
        } catch (error) {
          if (!isTimeoutError(error) && !isLeaseLostError(error) && !isBackendError(error)) unexpected.push(error);
          await sleep(20);
          continue;
        }
        const start = performance.now();
        let end = Number.POSITIVE_INFINITY;
        lease.signal.addEventListener('abort', () => (end = Math.min(end, performance.now())));
        for (let i = 0; i < 3 && !lease.signal.aborted; i++) {
          write(lease.token);
          await sleep(5);
        }
        if (!lease.signal.aborted) sections++;
        end = Math.min(end, performance.now());
        intervals.push([start, end, lease.token]);
        await lease.release().catch(() => {});
      }
      await Session.closeShared(client).catch(() => {});
    };
    const workers = Array.from({ length: 4 }, () => worker());
    const progress = async (what: string): Promise<void> => {
      const before = sections;
      await eventually(() => sections >= before + 5, 20_000, `progress ${what}`);
    };
    try {
      await progress('before the faults');
      const first = await env.etcd.leader();
      await env.etcd.pause(first);
      await progress('with the leader stopped (SIGSTOP)');
      await env.etcd.resume(first);
      await env.etcd.waitHealthy();
      const second = await env.etcd.leader();
      await env.etcd.kill(second);
      await progress('with the new leader killed');
    } finally {
      stop = true;
      await Promise.all(workers);
    }
    expect(unexpected).toEqual([]);
    expect(stale).toBe(0);
    expect(writes).toBeGreaterThan(0);
    intervals.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < intervals.length; i++) {
      const [start, , token] = intervals[i]!;
      const [, previousEnd, previousToken] = intervals[i - 1]!;
      expect(start, `holder ${token} started before holder ${previousToken} ended`).toBeGreaterThanOrEqual(previousEnd);
      expect(token > previousToken).toBe(true);
    }
  }, 90_000);
});
