// Real worker_threads against the BUILT packages (the worker scripts import @cf/sync, @cf/locks
// and @cf/atomics from dist): build core, atomics, locks and sync first.
import { describe, expect, it } from 'vitest';
import { pause, sharedCell, workerScripts } from '../../../atomics/test/support/workers.js';
import { SharedBarrier } from '../../src/shared/shared-barrier.js';
import { SharedCondition } from '../../src/shared/shared-condition.js';
import { SharedCountDownLatch } from '../../src/shared/shared-count-down-latch.js';
import { SharedAutoResetEvent, SharedManualResetEvent } from '../../src/shared/shared-reset-events.js';
import { SharedSemaphore } from '../../src/shared/shared-semaphore.js';
import { semaphoreLock } from './semaphore-lock.js';

const startWorker = workerScripts(import.meta.url);

const WORKERS = 4;

// A SharedSemaphore(1) with the lock shape SharedCondition needs (as a SharedMutex of @cf/locks has).
const ITERATIONS = 1_000_000;

describe('shared coordination primitives across worker threads', () => {
  it(`SharedSemaphore(1) keeps ${WORKERS} x ${ITERATIONS} non-atomic increments exact`, async () => {
    const semaphore = new SharedSemaphore(1);
    const counter = sharedCell();
    const workers = Array.from({ length: WORKERS }, () =>
      startWorker('increment.mjs', { handle: semaphore.handle, counter: counter.handle, iterations: ITERATIONS }),
    );
    await Promise.all(workers.map((worker) => worker.next()));
    expect(counter.view[0]).toBe(WORKERS * ITERATIONS);
    expect(semaphore.availablePermits).toBe(1);
  }, 60_000);

  it('SharedCountDownLatch opens after every worker counted down, for async waiters too', async () => {
    const latch = new SharedCountDownLatch(WORKERS);
    const waiter = startWorker('scenario.mjs', { scenario: 'latch-wait-async', latch: latch.handle });
    const opened = latch.wait({ timeout: 10_000 });
    expect(await waiter.next()).toEqual({ waiting: true });
    await pause(200);
    expect(waiter.hasExited).toBe(false); // its pending async wait keeps it alive
    for (let i = 0; i < WORKERS; i++)
      startWorker('scenario.mjs', { scenario: 'latch-count-down', latch: latch.handle });
    await opened;
    expect(latch.count).toBe(0);
    expect(await waiter.next()).toEqual({ passed: true });
  }, 30_000);

  it('SharedBarrier releases a round only when every party arrived, round after round', async () => {
    const parties = 3;
    const barrier = new SharedBarrier(parties);
    const cells = { buffer: new SharedArrayBuffer(4 * parties), byteOffset: 0 };
    const workers = Array.from({ length: parties }, (_, index) =>
      startWorker('scenario.mjs', {
        scenario: 'barrier-rounds',
        barrier: barrier.handle,
        cells,
        parties,
        index,
        rounds: 200,
      }),
    );
    const results = await Promise.all(workers.map((worker) => worker.next<{ ok: boolean }>()));
    expect(results.every((result) => result.ok)).toBe(true);
    expect(barrier.isBroken).toBe(false);
  }, 30_000);

  it('SharedBarrier: a party that times out breaks the round for the others', async () => {
    const barrier = new SharedBarrier(3);
    const patient = startWorker('scenario.mjs', {
      scenario: 'barrier-timeout',
      barrier: barrier.handle,
      timeout: 10_000,
    });
    await pause(50);
    const impatient = startWorker('scenario.mjs', {
      scenario: 'barrier-timeout',
      barrier: barrier.handle,
      timeout: 100,
    });
    expect(await impatient.next()).toEqual({ outcome: 'TimeoutError' });
    expect(await patient.next()).toEqual({ outcome: 'BrokenBarrierError' });
    expect(barrier.isBroken).toBe(true);
    await expect(barrier.wait()).rejects.toMatchObject({ code: 'ERR_CF_BROKEN' });
    barrier.reset();
    expect(barrier.isBroken).toBe(false);
  }, 30_000);

  it('SharedCondition hands every item to exactly one consumer', async () => {
    const semaphore = new SharedSemaphore(1);
    const mutex = semaphoreLock(semaphore);
    const condition = new SharedCondition(mutex);
    const queue = { buffer: new SharedArrayBuffer(8), byteOffset: 0 };
    const items = new Int32Array(queue.buffer);
    const consumers = Array.from({ length: 3 }, () =>
      startWorker('scenario.mjs', {
        scenario: 'condition-consumer',
        mutex: semaphore.handle,
        condition: condition.handle,
        queue,
      }),
    );
    const ITEMS = 3000;
    for (let i = 0; i < ITEMS; i++) {
      const lease = await mutex.acquire();
      items[0] = items[0]! + 1;
      condition.notify();
      await lease.release();
      if (i % 100 === 0) await pause(1);
    }
    // Wait until everything was taken, then tell the consumers to stop.
    for (;;) {
      const lease = await mutex.acquire();
      const drained = items[0] === 0;
      if (drained) {
        items[0] = -1;
        condition.notifyAll();
      }
      await lease.release();
      if (drained) break;
      await pause(5);
    }
    const results = await Promise.all(consumers.map((worker) => worker.next<{ taken: number }>()));
    expect(results.reduce((sum, { taken }) => sum + taken, 0)).toBe(ITEMS);
    expect(items[1]).toBe(ITEMS);
  }, 30_000);

  it('SharedAutoResetEvent lets exactly one wait pass per set()', async () => {
    const event = new SharedAutoResetEvent();
    const done = new SharedManualResetEvent();
    const count = sharedCell();
    const consumers = Array.from({ length: 3 }, () =>
      startWorker('scenario.mjs', {
        scenario: 'auto-event-consumer',
        event: event.handle,
        done: done.handle,
        count: count.handle,
      }),
    );
    const SETS = 200;
    for (let i = 0; i < SETS; i++) {
      event.set();
      // The next set() only after this one was consumed, so none is absorbed by an already-set event.
      while (Atomics.load(count.view, 0) < i + 1) await pause(0);
    }
    done.set();
    const results = await Promise.all(consumers.map((worker) => worker.next<{ passes: number }>()));
    expect(results.reduce((sum, { passes }) => sum + passes, 0)).toBe(SETS);
    expect(event.isSet).toBe(false);
  }, 30_000);

  it('a worker waiting in SharedSemaphore.acquire() stays alive until permits come back', async () => {
    const semaphore = new SharedSemaphore(2);
    const held = await semaphore.acquire(2);
    const worker = startWorker('scenario.mjs', { scenario: 'semaphore-wait-async', semaphore: semaphore.handle });
    expect(await worker.next()).toEqual({ waiting: true });
    await pause(300);
    expect(worker.hasExited).toBe(false);
    await held.release();
    const result = await worker.next<{ permits: number; token: bigint }>();
    expect(result.permits).toBe(2);
    expect(result.token).toBeGreaterThan(held.token);
    await worker.exited;
    expect(semaphore.availablePermits).toBe(2);
  }, 30_000);
});
