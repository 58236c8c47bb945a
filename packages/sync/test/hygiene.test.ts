import { getEventListeners } from 'node:events';
import type { LockEvent } from '@cf/core';
import { addObserver } from '@cf/core';
import { AutoResetEvent, Condition, CountDownLatch, CyclicBarrier, ManualResetEvent, Phaser } from '@cf/sync';
import { describe, expect, it } from 'vitest';

describe('a long-lived signal passed to many waits collects no listeners', () => {
  it('for every primitive', async () => {
    const controller = new AbortController();
    const signal = controller.signal;
    for (let i = 0; i < 200; i++) {
      const latch = new CountDownLatch(1);
      const latchWait = latch.wait({ signal });
      latch.countDown();
      await latchWait;

      const manual = new ManualResetEvent();
      const manualWait = manual.wait({ signal, timeout: 1_000 });
      manual.set();
      await manualWait;

      const auto = new AutoResetEvent();
      const autoWait = auto.wait({ signal });
      auto.set();
      await autoWait;

      const barrier = new CyclicBarrier(2);
      await Promise.all([barrier.wait({ signal }), barrier.wait({ signal })]);

      const phaser = new Phaser(2);
      await Promise.all([phaser.arriveAndAwaitAdvance({ signal }), phaser.arriveAndAwaitAdvance({ signal })]);

      const condition = new Condition();
      const waiting = condition.wait(await condition.lock.acquire(), { signal, timeout: 1_000 });
      condition.notify();
      await (await waiting).release();
    }
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});

describe('observer events of the barrier, phaser and events', () => {
  it('report waits, passes and early departures with their mode', async () => {
    const events: LockEvent[] = [];
    const stop = addObserver((event) => events.push(event));
    try {
      const barrier = new CyclicBarrier(2, undefined, { name: 'b' });
      await Promise.all([barrier.wait({ owner: 1 }), barrier.wait({ owner: 2 })]);
      await expect(barrier.wait({ owner: 3, signal: AbortSignal.abort('x') })).rejects.toBe('x');
      const phaser = new Phaser(1, { name: 'p' });
      await phaser.arriveAndAwaitAdvance({ owner: 4 });
      const event = new ManualResetEvent(false, { name: 'e' });
      const waiting = event.wait({ owner: 5 });
      event.set();
      await waiting;
      const summary = events
        .filter((e) => ['b', 'p', 'e'].includes(e.resource))
        .map((e) => `${e.resource}:${e.mode}:${e.type}:${String(e.owner)}`);
      expect(summary).toEqual([
        'b:barrier:wait:1',
        'b:barrier:acquired:2',
        'b:barrier:released:2',
        'b:barrier:acquired:1',
        'b:barrier:released:1',
        'b:barrier:aborted:3',
        'p:phaser:acquired:4',
        'p:phaser:released:4',
        'e:event:wait:5',
        'e:event:acquired:5',
        'e:event:released:5',
      ]);
    } finally {
      stop();
    }
  });
});
