import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EtcdElection, type EtcdLease, EtcdLock } from '../src/index.js';
import { eventually, freshName, sleep, useEtcd } from './helpers.js';

const env = useEtcd();

/** Collects a child's stdout lines and tells when a line matching `pattern` appeared. */
function lines(child: ChildProcess): {
  readonly all: string[];
  waitFor(pattern: RegExp, ms?: number): Promise<number>;
} {
  const all: string[] = [];
  const seen: number[] = [];
  let rest = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    rest += chunk;
    const parts = rest.split('\n');
    rest = parts.pop()!;
    for (const line of parts) {
      all.push(line);
      seen.push(performance.now());
    }
  });
  return {
    all,
    async waitFor(pattern, ms = 10_000) {
      let index = -1;
      await eventually(() => (index = all.findIndex((l) => pattern.test(l))) >= 0, ms, `etcdctl printing ${pattern}`);
      return seen[index]!;
    },
  };
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

describe('interoperation with etcdctl (ETCDCTL_API=3)', () => {
  it('while `etcdctl lock` holds, our acquire waits, and gets the lock right after the command exits', async () => {
    const name = freshName('ctl-lock');
    const ctl = env.etcd.spawnEtcdctl([
      'lock',
      name,
      '--',
      'sh',
      '-c',
      'echo "locked $ETCD_LOCK_REV"; sleep 0.8; echo done',
    ]);
    const out = lines(ctl);
    await out.waitFor(/^locked/);
    const theirRevision = BigInt(out.all[0]!.split(' ')[1]!);
    let grantedAt = 0;
    const acquiring = new EtcdLock(env.client(), name).acquire().then((lease) => {
      grantedAt = performance.now();
      return lease;
    });
    const doneAt = await out.waitFor(/^done$/);
    const lease = await acquiring;
    expect(grantedAt).toBeGreaterThan(doneAt);
    expect(grantedAt - doneAt).toBeLessThan(1000);
    expect(lease.token > theirRevision).toBe(true);
    await lease.release();
    await exited(ctl);
  });

  it('while we hold, `etcdctl lock` waits until we release', async () => {
    const name = freshName('ctl-lock');
    const lease = await new EtcdLock(env.client(), name).acquire();
    const ctl = env.etcd.spawnEtcdctl(['lock', name, '--', 'echo', 'got']);
    const out = lines(ctl);
    await sleep(700);
    expect(out.all).toEqual([]);
    const releasedAt = performance.now();
    await lease.release();
    const gotAt = await out.waitFor(/^got$/);
    expect(gotAt - releasedAt).toBeLessThan(2000);
    await exited(ctl);
  });

  it('`etcdctl elect` and EtcdElection agree on the leader sequence', async () => {
    const name = freshName('ctl-elect');
    const [a, b] = [env.client(), env.client()];
    const observer = new EtcdElection(a, name);
    const controller = new AbortController();
    const seen: (string | undefined)[] = [];
    const observing = (async () => {
      for await (const leader of observer.observe({ signal: controller.signal })) seen.push(leader);
    })();

    const first = new EtcdElection(a, name);
    const firstLease = await first.campaign('ours-1');
    const ctl = env.etcd.spawnEtcdctl(['elect', name, 'theirs']);
    const out = lines(ctl);
    await eventually(
      async () => (await a.getAll().prefix(`${name}/`).keys()).length === 2,
      5000,
      'etcdctl campaigning',
    );
    let secondLease: EtcdLease | undefined;
    const second = new EtcdElection(b, name);
    const campaigning = second.campaign('ours-2').then((l) => (secondLease = l));
    await eventually(async () => (await a.getAll().prefix(`${name}/`).keys()).length === 3, 5000, 'second campaigning');
    expect(await observer.leader()).toBe('ours-1');

    await firstLease.release();
    await out.waitFor(/^theirs$/);
    expect(await observer.leader()).toBe('theirs');
    await sleep(200);
    expect(secondLease).toBeUndefined();

    ctl.kill('SIGINT'); // etcdctl resigns on SIGINT
    await campaigning;
    expect(await observer.leader()).toBe('ours-2');
    await eventually(() => seen.at(-1) === 'ours-2', 5000, 'observer catching up');
    expect(
      seen.filter((v) => v !== undefined),
      JSON.stringify(seen),
    ).toEqual(['ours-1', 'theirs', 'ours-2']);
    await secondLease!.release();
    controller.abort();
    await observing;
    await exited(ctl);
  });

  it('`etcdctl elect -l` observes the values we proclaim', async () => {
    const name = freshName('ctl-listen');
    const election = new EtcdElection(env.client(), name);
    const lease = await election.campaign('v1');
    const ctl = env.etcd.spawnEtcdctl(['elect', '-l', name]);
    const out = lines(ctl);
    await out.waitFor(/^v1$/);
    await election.proclaim('v2');
    await out.waitFor(/^v2$/);
    await election.proclaim('v3');
    await out.waitFor(/^v3$/);
    expect(out.all.filter((l) => /^v\d$/.test(l))).toEqual(['v1', 'v2', 'v3']);
    expect(out.all[0]).toBe(lease.key);
    await election.resign();
    ctl.kill('SIGINT');
    await exited(ctl);
  });
});
