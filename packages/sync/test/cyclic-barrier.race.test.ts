import { isBrokenBarrierError, isTimeoutError } from '@cf/core';
import { CyclicBarrier } from '@cf/sync';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { drain, FAKE_TIMERS, step, track } from './helpers.js';

const partyArbitrary = fc.record({
  leave: fc.constantFrom('none', 'none', 'abort', 'timeout', 'pre-aborted'),
  timeout: fc.integer({ min: 0, max: 3 }),
});

afterEach(() => {
  vi.useRealTimers();
});

describe('CyclicBarrier under arbitrary interleavings', () => {
  it('a round either releases every party with distinct indices, or fails them all with one broken-barrier error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(partyArbitrary, { minLength: 1, maxLength: 5 }),
        fc.constantFrom('none', 'sync', 'async', 'throws', 'rejects'),
        fc.integer({ min: 0, max: 4 }),
        async (scheduler, parties, actionKind, ticks) => {
          vi.useFakeTimers(FAKE_TIMERS);
          try {
            let actionRuns = 0;
            const actionError = new Error('action failed');
            const action =
              actionKind === 'none'
                ? undefined
                : () => {
                    actionRuns++;
                    if (actionKind === 'throws') throw actionError;
                    if (actionKind === 'async') return step(scheduler, 'action');
                    if (actionKind === 'rejects')
                      return step(scheduler, 'action').then(() => Promise.reject(actionError));
                    return undefined;
                  };
            const barrier = new CyclicBarrier(parties.length, action);
            const reasons = parties.map((_, index) => new Error(`party ${index} left`));
            const runs = parties.map(async (party, index) => {
              await step(scheduler, `arrive ${index}`);
              const controller = new AbortController();
              if (party.leave === 'pre-aborted') controller.abort(reasons[index]);
              if (party.leave === 'abort')
                void step(scheduler, `abort ${index}`).then(() => controller.abort(reasons[index]));
              return barrier.wait({
                signal: controller.signal,
                timeout: party.leave === 'timeout' ? party.timeout : undefined,
              });
            });
            for (let tick = 0; tick < ticks; tick++) void step(scheduler, 'tick').then(() => vi.advanceTimersByTime(1));
            const tracked = runs.map(track);
            await drain(scheduler);
            // A party left waiting forever is a lost waiter.
            expect(tracked.filter((t) => !t.settled)).toHaveLength(0);
            const results = await Promise.allSettled(runs);
            expect(barrier.numberWaiting).toBe(0);

            const fulfilled = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
            if (fulfilled.length === parties.length) {
              expect([...fulfilled].sort()).toEqual(parties.map((_, i) => i));
              expect(actionRuns).toBe(action === undefined ? 0 : 1);
              expect(barrier.isBroken).toBe(false);
            } else {
              // All or nothing: no party passes a broken round.
              expect(fulfilled).toEqual([]);
              const errors = results.map((r) => (r as PromiseRejectedResult).reason as unknown);
              const own = errors.filter((error, index) => error === reasons[index] || isTimeoutError(error));
              const broken = errors.filter((error) => isBrokenBarrierError(error));
              expect(own.length + broken.length).toBe(parties.length);
              // At most one party broke it; the rest share one error whose cause is what broke it.
              expect(own.length).toBeLessThanOrEqual(1);
              expect(new Set(broken).size).toBeLessThanOrEqual(1);
              const cause = own.length === 1 ? own[0] : actionError;
              if (broken.length > 0) expect((broken[0] as Error).cause).toBe(cause);
              if (own.length === 0) expect(actionRuns).toBe(1);
              expect(barrier.isBroken).toBe(true);
            }

            // Usable again after reset: a clean round completes (or fails only through its action).
            barrier.reset();
            const clean = Promise.allSettled(parties.map(() => barrier.wait()));
            await drain(scheduler);
            const again = await clean;
            if (actionKind === 'throws' || actionKind === 'rejects') {
              for (const r of again) expect((r as PromiseRejectedResult).reason?.cause).toBe(actionError);
            } else {
              const indices = again.map((r) => (r as PromiseFulfilledResult<number>).value);
              expect(indices.sort()).toEqual(parties.map((_, i) => i));
            }
          } finally {
            vi.useRealTimers();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
