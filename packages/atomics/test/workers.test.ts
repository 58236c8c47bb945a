// Real worker_threads against the BUILT package (the scripts import @cf/atomics from dist):
// build core and atomics first.
import { describe, expect, it } from 'vitest';
import { AtomicInt32 } from '../src/atomic-int32.js';
import { ByteChannel } from '../src/byte-channel.js';
import { MpmcQueue } from '../src/mpmc-queue.js';
import { SpscQueue } from '../src/spsc-queue.js';
import { StripedCounter } from '../src/striped-counter.js';
import { TreiberStack } from '../src/treiber-stack.js';
import { workerScripts } from './support/workers.js';
// @ts-expect-error: a plain .mjs helper shared with the worker script
import { messageFor } from './workers/scenario-data.mjs';

const startWorker = workerScripts(import.meta.url);

function seenRegion(length: number): { buffer: SharedArrayBuffer; byteOffset: number; length: number } {
  return { buffer: new SharedArrayBuffer(length), byteOffset: 0, length };
}

describe('MpmcQueue across worker threads', () => {
  it('delivers 1,000,000 items from 2 producers (one single, one bulk) to 2 consumers exactly once', async () => {
    const ITEMS = 1_000_000;
    const queue = new MpmcQueue('uint32', 1024);
    const seen = seenRegion(ITEMS);
    const consumers = [0, 1].map(() =>
      startWorker('scenario.mjs', { scenario: 'mpmc-consume', queue: queue.handle, seen }),
    );
    const producers = [0, 1].map((i) =>
      startWorker('scenario.mjs', {
        scenario: 'mpmc-produce',
        queue: queue.handle,
        start: (i * ITEMS) / 2,
        count: ITEMS / 2,
        bulk: i === 1,
      }),
    );
    await Promise.all(producers.map((worker) => worker.next()));
    queue.close();
    const results = await Promise.all(consumers.map((worker) => worker.next<{ count: number; sum: number }>()));
    expect(results.reduce((total, { count }) => total + count, 0)).toBe(ITEMS);
    expect(results.reduce((total, { sum }) => total + sum, 0)).toBe((ITEMS * (ITEMS - 1)) / 2);
    const view = new Uint8Array(seen.buffer);
    expect(view.every((times) => times === 1)).toBe(true);
    expect(queue.size).toBe(0);
  }, 60_000);
});

describe('SpscQueue and ByteChannel across worker threads', () => {
  it('SpscQueue keeps order, loses nothing, and close() drains what remains', async () => {
    const COUNT = 500_000;
    const queue = new SpscQueue('int32', 256);
    const consumer = startWorker('scenario.mjs', { scenario: 'spsc-consume-async', queue: queue.handle });
    const producer = startWorker('scenario.mjs', { scenario: 'spsc-produce', queue: queue.handle, count: COUNT });
    expect(await producer.next()).toEqual({ pushed: COUNT });
    expect(await consumer.next()).toEqual({ count: COUNT, inOrder: true });
  }, 60_000);

  it('a producer blocked on a full SpscQueue pushes when one slot frees, and close() ends its wait', async () => {
    const queue = new SpscQueue('int32', 256);
    const producer = startWorker('scenario.mjs', { scenario: 'spsc-fill-blocking', queue: queue.handle });
    while (queue.size < queue.capacity) await new Promise((resolve) => setTimeout(resolve, 1));
    // One slot, fewer than the run a spinning push waits for: the push must still land.
    expect(queue.tryPop()).toBe(0);
    expect(await producer.next()).toEqual({ pushed: 257 });
    expect(queue.size).toBe(256);
    await new Promise((resolve) => setTimeout(resolve, 20));
    queue.close();
    expect(await producer.next()).toEqual({ closed: true });
    for (let expected = 1; expected <= 256; expected++) expect(queue.tryPop()).toBe(expected);
    expect(queue.tryPop()).toBeUndefined();
  }, 60_000);

  it.each([
    ['a consumer that keeps running dry', { pauseEvery: 37, pauseMs: 0.05 }, { pauseEvery: 0, pauseMs: 0 }],
    ['a producer that keeps finding the ring full', { pauseEvery: 0, pauseMs: 0 }, { pauseEvery: 37, pauseMs: 0.05 }],
  ])(
    'SpscQueue wakes %s, every time (no lost wake-up)',
    async (_, pushPace, popPace) => {
      const COUNT = 30_000;
      const queue = new SpscQueue('int32', 8);
      const consumer = startWorker('scenario.mjs', {
        scenario: 'spsc-pop',
        queue: queue.handle,
        count: COUNT,
        ...popPace,
      });
      const producer = startWorker('scenario.mjs', {
        scenario: 'spsc-push',
        queue: queue.handle,
        count: COUNT,
        ...pushPace,
      });
      expect(await producer.next()).toEqual({ pushed: COUNT });
      expect(await consumer.next()).toEqual({ count: COUNT, inOrder: true });
      expect(queue.size).toBe(0);
    },
    60_000,
  );

  it('ByteChannel delivers variable-length messages in order, then ends at close()', async () => {
    const COUNT = 20_000;
    const channel = new ByteChannel(4096);
    const producer = startWorker('scenario.mjs', {
      scenario: 'channel-produce',
      channel: channel.handle,
      count: COUNT,
    });
    let index = 0;
    let intact = true;
    for await (const message of channel) {
      const expected: Uint8Array = messageFor(index++);
      if (message.length !== expected.length || message.some((byte, i) => byte !== expected[i])) intact = false;
    }
    expect(index).toBe(COUNT);
    expect(intact).toBe(true);
    await producer.next();
  }, 60_000);
});

describe('ByteChannel sleep and wake-up', () => {
  it.each([
    ['a receiver that keeps running dry', { pauseEvery: 23, pauseMs: 0.05 }, { pauseEvery: 0, pauseMs: 0 }],
    ['a sender that keeps finding the ring full', { pauseEvery: 0, pauseMs: 0 }, { pauseEvery: 23, pauseMs: 0.05 }],
  ])(
    'wakes %s, every time (no lost wake-up)',
    async (_, sendPace, receivePace) => {
      const COUNT = 10_000;
      const channel = new ByteChannel(512);
      const receiver = startWorker('scenario.mjs', {
        scenario: 'channel-consume',
        channel: channel.handle,
        ...receivePace,
      });
      const sender = startWorker('scenario.mjs', {
        scenario: 'channel-produce',
        channel: channel.handle,
        count: COUNT,
        ...sendPace,
      });
      expect(await sender.next()).toEqual({ sent: COUNT });
      expect(await receiver.next()).toEqual({ count: COUNT, intact: true });
    },
    60_000,
  );
});

describe('TreiberStack across worker threads', () => {
  it('never loses or duplicates an element while 3 workers push and pop concurrently', async () => {
    const PER_WORKER = 50_000;
    const stack = new TreiberStack('uint32', 64);
    const seen = seenRegion(PER_WORKER * 3);
    const workers = [0, 1, 2].map((i) =>
      startWorker('scenario.mjs', {
        scenario: 'stack-churn',
        stack: stack.handle,
        seen,
        start: i * PER_WORKER,
        count: PER_WORKER,
      }),
    );
    await Promise.all(workers.map((worker) => worker.next()));
    const view = new Uint8Array(seen.buffer);
    for (let value = stack.tryPop(); value !== undefined; value = stack.tryPop()) view[value]!++;
    expect(view.every((times) => times === 1)).toBe(true);
    // Every node went back to the pool: the full capacity can be pushed again.
    for (let i = 0; i < 64; i++) expect(stack.tryPush(i)).toBe(true);
    expect(stack.tryPush(64)).toBe(false);
  }, 60_000);
});

describe('counters across worker threads', () => {
  it('StripedCounter and a contended AtomicInt32 both count every increment', async () => {
    const COUNT = 500_000;
    const counter = new StripedCounter({ cells: 4 });
    const atomic = new AtomicInt32();
    const workers = [0, 1].flatMap(() => [
      startWorker('scenario.mjs', { scenario: 'striped-increment', counter: counter.handle, count: COUNT }),
      startWorker('scenario.mjs', { scenario: 'atomic-increment', atomic: atomic.handle, count: COUNT }),
    ]);
    await Promise.all(workers.map((worker) => worker.next()));
    expect(counter.sum()).toBe(2 * COUNT);
    expect(atomic.get()).toBe(2 * COUNT);
  }, 60_000);
});
