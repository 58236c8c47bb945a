import { describe, expect, it } from 'vitest';
import { BaseLease, TimeoutError, WaitQueue } from '@cf/core';

class TestLease extends BaseLease {
  released_count = 0;
  protected releaseHold(): void {
    this.released_count++;
  }
}

describe('smoke', () => {
  it('queues by priority and times out', async () => {
    const lock = {};
    const queue = new WaitQueue<string, string>({ resource: 'r', lock });
    const order: string[] = [];
    const a = queue.enqueue('a', { priority: 2 }).then((v) => order.push(v));
    const b = queue.enqueue('b', { priority: 1 }).then((v) => order.push(v));
    const c = queue.enqueue('c', { timeout: 5 });
    await expect(c).rejects.toBeInstanceOf(TimeoutError);
    queue.grant(queue.first!, 'b');
    queue.grant(queue.first!, 'a');
    await Promise.all([a, b]);
    expect(order).toEqual(['b', 'a']);
    const lease = new TestLease('r', 1);
    const signal = lease.signal;
    await lease.release();
    await lease.release();
    expect(lease.released_count).toBe(1);
    expect(signal.aborted).toBe(true);
    expect(lease.token).toBe(1n);
  });
});
