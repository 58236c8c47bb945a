// Real worker_threads against the BUILT packages (the worker scripts import @cf/locks and
// @cf/atomics from dist): build core, atomics and locks first.
import { ThreadRegistry } from '@cf/atomics';
import { isTimeoutError } from '@cf/core';
import { describe, expect, it } from 'vitest';
import { pause, sharedCell, workerScripts } from '../../../atomics/test/support/workers.js';
import { SharedMutex } from '../../src/shared/shared-mutex.js';
import { SharedReadWriteLock } from '../../src/shared/shared-read-write-lock.js';

const startWorker = workerScripts(import.meta.url);

const WORKERS = 4;
// The figure: 4 workers x 1,000,000 increments each (about 1-2 s on 2 cores).
const ITERATIONS = 1_000_000;

async function incrementUnder(kind: 'mutex' | 'write', handle: object): Promise<number> {
  const counter = sharedCell();
  const workers = Array.from({ length: WORKERS }, () =>
    startWorker('increment.mjs', { kind, handle, counter: counter.handle, iterations: ITERATIONS }),
  );
  await Promise.all(workers.map((worker) => worker.next()));
  await Promise.all(workers.map((worker) => worker.exited));
  return counter.view[0]!;
}

describe('SharedMutex across worker threads', () => {
  it(`keeps ${WORKERS} x ${ITERATIONS} non-atomic increments exact`, async () => {
    expect(await incrementUnder('mutex', new SharedMutex().handle)).toBe(WORKERS * ITERATIONS);
  }, 60_000);

  it(`keeps ${WORKERS} x ${ITERATIONS} increments exact under the write side of SharedReadWriteLock`, async () => {
    expect(await incrementUnder('write', new SharedReadWriteLock().handle)).toBe(WORKERS * ITERATIONS);
  }, 60_000);

  it('hands the lock of a terminated holder to the next waiter, whose lease says ownerDied', async () => {
    const registry = new ThreadRegistry({ slots: 4 });
    const mutex = new SharedMutex({ registry });
    const counter = sharedCell();
    const slot = registry.reserve();
    const holder = startWorker('scenario.mjs', {
      scenario: 'hold-then-hang',
      mutex: mutex.handle,
      registry: registry.handle,
      slot,
      counter: counter.handle,
    });
    registry.watch(holder.worker, slot);
    const { token: heldToken } = await holder.next<{ token: bigint }>();
    const waiting = mutex.acquire({ timeout: 10_000 });
    await pause(100);
    expect(mutex.isLocked).toBe(true);
    await holder.terminate();
    const lease = await waiting;
    expect(lease.ownerDied).toBe(true);
    expect(lease.token).toBeGreaterThan(heldToken);
    expect(counter.view[0]).toBe(-1); // the half-done update is visible for repair
    counter.view[0] = 0;
    await lease.release();
    // Recovered for good: the next acquisition is an ordinary one.
    const next = await mutex.acquire({ timeout: 1000 });
    expect(next.ownerDied).toBe(false);
    await next.release();
  }, 30_000);

  it('recovers from a holder that ends without unlocking, for a blocking waiter in another worker', async () => {
    const registry = new ThreadRegistry({ slots: 4 });
    const mutex = new SharedMutex({ registry });
    const holderSlot = registry.reserve();
    const holder = startWorker('scenario.mjs', {
      scenario: 'hold-then-exit',
      mutex: mutex.handle,
      registry: registry.handle,
      slot: holderSlot,
    });
    registry.watch(holder.worker, holderSlot);
    await holder.next();
    await holder.exited;
    const waiterSlot = registry.reserve();
    const waiter = startWorker('scenario.mjs', {
      scenario: 'blocking-acquire',
      mutex: mutex.handle,
      registry: registry.handle,
      slot: waiterSlot,
    });
    registry.watch(waiter.worker, waiterSlot);
    const result = await waiter.next<{ ownerDied: boolean }>();
    expect(result.ownerDied).toBe(true);
    await waiter.exited;
    expect(mutex.isLocked).toBe(false);
  }, 30_000);

  it('never recovers a lock whose holder is alive (a robust mutex is still a mutex)', async () => {
    const registry = new ThreadRegistry({ slots: 4 });
    const mutex = new SharedMutex({ registry });
    const lease = await mutex.acquire();
    const slot = registry.reserve();
    const waiter = startWorker('scenario.mjs', {
      scenario: 'lock-with-timeout',
      mutex: mutex.handle,
      registry: registry.handle,
      slot,
      timeout: 300,
    });
    const result = await waiter.next<{ locked: boolean; elapsed: number }>();
    expect(result.locked).toBe(false);
    expect(result.elapsed).toBeGreaterThanOrEqual(290);
    await lease.release();
  }, 30_000);

  it('fires timeouts under contention, blocking and async, and stays usable', async () => {
    const mutex = new SharedMutex();
    const holder = await mutex.acquire();
    const blocked = startWorker('scenario.mjs', {
      scenario: 'lock-with-timeout',
      mutex: mutex.handle,
      timeout: 100,
    });
    const started = performance.now();
    const error = await mutex.acquire({ timeout: 100 }).catch((e: unknown) => e);
    expect(isTimeoutError(error)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    const result = await blocked.next<{ locked: boolean; elapsed: number }>();
    expect(result.locked).toBe(false);
    expect(result.elapsed).toBeGreaterThanOrEqual(95);
    await holder.release();
    const again = await mutex.acquire({ timeout: 1000 });
    await again.release();
  }, 30_000);

  it('lets async acquire() on the main thread progress while workers hammer the lock', async () => {
    const mutex = new SharedMutex();
    const counter = sharedCell();
    const stop = sharedCell();
    const hammers = Array.from({ length: 2 }, () =>
      startWorker('scenario.mjs', {
        scenario: 'hammer',
        mutex: mutex.handle,
        counter: counter.handle,
        stop: stop.handle,
      }),
    );
    await Promise.all(hammers.map((worker) => worker.next()));
    const MAIN = 200;
    const started = performance.now();
    for (let i = 0; i < MAIN; i++) {
      const lease = await mutex.acquire({ timeout: 10_000 });
      counter.view[0] = counter.view[0]! + 1;
      await lease.release();
    }
    const mainElapsed = performance.now() - started;
    Atomics.store(stop.view, 0, 1);
    const counts = await Promise.all(hammers.map((worker) => worker.next<{ count: number }>()));
    const workerTotal = counts.reduce((sum, { count }) => sum + count, 0);
    expect(workerTotal).toBeGreaterThan(0);
    expect(counter.view[0]).toBe(workerTotal + MAIN);
    expect(mainElapsed).toBeLessThan(10_000);
  }, 30_000);
});

describe('async waits keep their thread alive', () => {
  it('a worker waiting in acquire() stays alive until it gets the lock', async () => {
    const mutex = new SharedMutex();
    const lease = await mutex.acquire();
    const worker = startWorker('scenario.mjs', { scenario: 'async-acquire', mutex: mutex.handle });
    expect(await worker.next()).toEqual({ waiting: true });
    await pause(300);
    expect(worker.hasExited).toBe(false);
    await lease.release();
    const result = await worker.next<{ acquired: boolean; token: bigint }>();
    expect(result.acquired).toBe(true);
    expect(result.token).toBeGreaterThan(lease.token);
    expect(await worker.exited).toBe(0);
  }, 30_000);

  it('(control) a bare Atomics.waitAsync lets the worker exit mid-wait', async () => {
    const mutex = new SharedMutex();
    const lease = await mutex.acquire();
    const worker = startWorker('scenario.mjs', { scenario: 'bare-wait-async', mutex: mutex.handle });
    await worker.next();
    await worker.exited;
    await lease.release();
  }, 30_000);
});
