import type { Lease, LockEvent } from '@cf/core';
import { addObserver, isTimeoutError, semaphoreAsLock } from '@cf/core';
import { Condition, Semaphore } from '@cf/sync';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { drain, FAKE_TIMERS, step, track } from './helpers.js';

const waiterArbitrary = fc.record({
  leave: fc.constantFrom('none', 'timeout', 'timeout', 'abort'),
  timeout: fc.integer({ min: 1, max: 3 }),
  priority: fc.integer({ min: 0, max: 2 }),
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Condition under arbitrary interleavings', () => {
  it('notify racing timeout: no notification lost or doubled, exclusion kept, nothing held after a rejection', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(waiterArbitrary, { minLength: 1, maxLength: 5 }),
        fc.array(fc.constantFrom('notify', 'notify', 'notifyAll'), { maxLength: 4 }),
        fc.integer({ min: 0, max: 4 }),
        async (scheduler, waiters, notifications, ticks) => {
          vi.useFakeTimers(FAKE_TIMERS);
          const semaphore = new Semaphore(1);
          const lock = semaphoreAsLock(semaphore);
          const condition = new Condition(lock);
          const violations: string[] = [];
          const passes = new Map<number, number>();
          const stop = addObserver((event: LockEvent) => {
            if (event.lock !== condition || event.type !== 'acquired') return;
            const owner = event.owner as number;
            passes.set(owner, (passes.get(owner) ?? 0) + 1);
            if (passes.get(owner)! > 1) violations.push(`waiter ${owner} notified twice`);
          });
          let holders = 0;
          const hold = async (label: string, lease: Lease): Promise<void> => {
            holders++;
            if (holders > 1) violations.push(`two holders (${label})`);
            await step(scheduler, `hold ${label}`);
            holders--;
            await lease.release();
          };
          try {
            const reasons = waiters.map((_, index) => new Error(`waiter ${index} left`));
            const outcomes: ('woken' | 'left')[] = [];
            const runs = waiters.map(async (waiter, index) => {
              await step(scheduler, `start ${index}`);
              const controller = new AbortController();
              if (waiter.leave === 'abort')
                void step(scheduler, `abort ${index}`).then(() => controller.abort(reasons[index]));
              const lease = await lock.acquire();
              let next: Lease;
              try {
                next = await condition.wait(lease, {
                  owner: index,
                  priority: waiter.priority,
                  signal: controller.signal,
                  timeout: waiter.leave === 'timeout' ? waiter.timeout : undefined,
                });
              } catch (error) {
                outcomes[index] = 'left';
                if (isTimeoutError(error)) {
                  if (passes.has(index)) violations.push(`waiter ${index} timed out after being notified`);
                } else if (error !== reasons[index]) {
                  violations.push(`waiter ${index} rejected with ${String(error)}`);
                }
                return;
              }
              outcomes[index] = 'woken';
              if (!passes.has(index)) violations.push(`waiter ${index} woke without a notification`);
              await hold(`waiter ${index}`, next);
            });
            const notifiers = notifications.map(async (kind, index) => {
              await step(scheduler, `${kind} ${index}`);
              const lease = await lock.acquire();
              if (kind === 'notify') condition.notify();
              else condition.notifyAll();
              await hold(`notifier ${index}`, lease);
            });
            for (let tick = 0; tick < ticks; tick++) void step(scheduler, 'tick').then(() => vi.advanceTimersByTime(1));
            await drain(scheduler);
            // Wake whoever still waits, so every waiter settles.
            while (condition.notifyAll() > 0) await drain(scheduler);
            await drain(scheduler);
            const settled = runs.map(track);
            await drain(scheduler);
            expect(settled.filter((s) => !s.settled)).toHaveLength(0);
            await Promise.all([...runs, ...notifiers]);
            expect(violations).toEqual([]);
            waiters.forEach((waiter, index) => {
              if (waiter.leave === 'none') expect(outcomes[index]).toBe('woken');
            });
            expect(condition.waitersCount).toBe(0);
            expect(semaphore.availablePermits).toBe(1);
            expect(holders).toBe(0);
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
