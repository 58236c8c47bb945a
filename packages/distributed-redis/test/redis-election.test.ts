import { isLeaseLostError } from '@cf/core';
import { describe, expect, it } from 'vitest';
import { RedisElection } from '../src/index.js';
import { sleep, useServers } from './helpers.js';

const fx = useServers(1);

async function take<T>(iterator: AsyncIterator<T>): Promise<T> {
  const result = await iterator.next();
  if (result.done === true) throw new Error('iteration ended');
  return result.value;
}

describe('RedisElection', () => {
  it('elects one leader at a time; resigning hands over with a larger term', async () => {
    const a = new RedisElection(fx.client(), 'sched');
    const b = new RedisElection(fx.client(), 'sched');
    expect(await a.leader()).toBeUndefined();
    const first = await a.campaign('node-a');
    expect(await b.leader()).toBe('node-a');
    const second = b.campaign('node-b', { timeout: 5000 });
    await sleep(30);
    await first.release();
    const lease = await second;
    expect(lease.token).toBeGreaterThan(first.token);
    expect(await a.leader()).toBe('node-b');
    await lease.release();
    expect(await a.leader()).toBeUndefined();
  });

  it('observe yields each change, including a leader that dies without resigning', async () => {
    const watcher = new RedisElection(fx.client(), 'obs', { pollInterval: 5000 });
    const controller = new AbortController();
    const iterator = watcher.observe({ signal: controller.signal })[Symbol.asyncIterator]();
    expect(await take(iterator)).toBeUndefined();
    const mortal = new RedisElection(fx.client(), 'obs', { ttl: 300, watchdog: false });
    const lease = await mortal.campaign('short-lived');
    expect(await take(iterator)).toBe('short-lived');
    // No resignation: the hold just expires, and the observer looks again when it does.
    expect(await take(iterator)).toBeUndefined();
    expect(isLeaseLostError(lease.signal.reason)).toBe(true);
    const next = new RedisElection(fx.client(), 'obs');
    const other = await next.campaign('next-one');
    expect(await take(iterator)).toBe('next-one');
    const pending = iterator.next();
    const reason = new Error('done');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await other.release();
  });

  it('accepts values with any characters and reports them verbatim', async () => {
    const election = new RedisElection(fx.client(), 'values');
    const value = "a\nb {x} * \"; redis.call('FLUSHALL') --";
    const lease = await election.campaign(value);
    expect(await election.leader()).toBe(value);
    await lease.release();
    await expect(election.campaign('')).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
  });
});
