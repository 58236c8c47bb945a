import type { LockEvent } from '@cf/core';
import { addObserver, isTimeoutError } from '@cf/core';
import { Semaphore } from '@cf/sync';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { drain, FAKE_TIMERS, step } from './helpers.js';

const MAX = 4;

const taskArbitrary = fc.record({
  permits: fc.integer({ min: 1, max: MAX }),
  priority: fc.integer({ min: 0, max: 3 }),
  cancel: fc.constantFrom('none', 'abort', 'timeout', 'pre-aborted'),
  timeout: fc.integer({ min: 0, max: 3 }),
  releaseTwice: fc.boolean(),
});
type Task = typeof taskArbitrary extends fc.Arbitrary<infer T> ? T : never;

afterEach(() => {
  vi.useRealTimers();
});

describe('Semaphore under arbitrary interleavings', () => {
  it('never has more permits out than its size, loses no waiter, grants none twice, and (strict) never skips the head', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 0, max: MAX }),
        fc.array(taskArbitrary, { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: MAX }), { maxLength: 3 }),
        fc.integer({ min: 0, max: 4 }),
        fc.boolean(),
        async (scheduler, size, tasks, resizes, ticks, barging) => {
          vi.useFakeTimers(FAKE_TIMERS);
          const semaphore = new Semaphore(size, { maxPermits: MAX, barging });
          const violations: string[] = [];
          let out = 0;
          // Queued waiters by owner (task index) with their place in service order.
          const pending = new Map<number, { priority: number; sequence: number }>();
          const grants = new Map<number, number>();
          let sequence = 0;
          const stop = addObserver((event: LockEvent) => {
            if (event.lock !== semaphore) return;
            const owner = event.owner as number;
            const task = tasks[owner]!;
            if (event.type === 'wait') pending.set(owner, { priority: task.priority, sequence: sequence++ });
            if (event.type === 'timeout' || event.type === 'aborted') pending.delete(owner);
            if (event.type === 'acquired') {
              grants.set(owner, (grants.get(owner) ?? 0) + 1);
              if (grants.get(owner)! > 1) violations.push(`task ${owner} granted twice`);
              out += event.permits!;
              if (out > semaphore.permits) violations.push(`${out} permits out of ${semaphore.permits}`);
              if (semaphore.availablePermits !== semaphore.permits - out) violations.push('available != size - out');
              const mine = pending.get(owner);
              pending.delete(owner);
              if (!barging) {
                for (const [other, place] of pending) {
                  const ahead =
                    mine === undefined ||
                    place.priority < mine.priority ||
                    (place.priority === mine.priority && place.sequence < mine.sequence);
                  if (ahead) violations.push(`task ${owner} granted before task ${other} ahead of it`);
                }
              }
            }
            if (event.type === 'released') out -= event.permits!;
          });
          const outcomes: ('granted' | 'rejected')[] = [];
          const run = async (task: Task, index: number): Promise<void> => {
            await step(scheduler, `start ${index}`);
            const controller = new AbortController();
            const reason = new Error(`abort ${index}`);
            if (task.cancel === 'pre-aborted') controller.abort(reason);
            if (task.cancel === 'abort') void step(scheduler, `abort ${index}`).then(() => controller.abort(reason));
            let lease: Awaited<ReturnType<Semaphore['acquire']>>;
            try {
              lease = await semaphore.acquire(task.permits, {
                priority: task.priority,
                owner: index,
                signal: controller.signal,
                timeout: task.cancel === 'timeout' ? task.timeout : undefined,
              });
            } catch (error) {
              if (outcomes[index] !== undefined) violations.push(`task ${index} settled twice`);
              outcomes[index] = 'rejected';
              const expected = task.cancel === 'timeout' ? isTimeoutError(error) : error === reason;
              if (!expected || task.cancel === 'none') violations.push(`task ${index} rejected with ${String(error)}`);
              return;
            }
            outcomes[index] = 'granted';
            if (lease.permits !== task.permits) violations.push(`task ${index} got ${lease.permits} permits`);
            await step(scheduler, `hold ${index}`);
            await lease.release();
            if (task.releaseTwice) await lease.release();
          };
          try {
            const runs = tasks.map(run);
            for (const permits of resizes)
              void step(scheduler, `resize ${permits}`).then(() => semaphore.resize(permits));
            for (let tick = 0; tick < ticks; tick++) void step(scheduler, 'tick').then(() => vi.advanceTimersByTime(1));
            await drain(scheduler);
            // Full size: every waiter that is still queued can now be served.
            semaphore.resize(MAX);
            await drain(scheduler);
            expect(violations).toEqual([]);
            // A lost waiter would leave its run pending forever: check before awaiting the runs.
            expect(outcomes.filter((o) => o !== undefined)).toHaveLength(tasks.length);
            await Promise.all(runs);
            tasks.forEach((task, index) => {
              if (task.cancel === 'none') expect(outcomes[index]).toBe('granted');
              if (task.cancel === 'pre-aborted') expect(outcomes[index]).toBe('rejected');
            });
            expect(out).toBe(0);
            expect(semaphore.waitersCount).toBe(0);
            expect(semaphore.availablePermits).toBe(MAX);
          } finally {
            stop();
            vi.useRealTimers();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
