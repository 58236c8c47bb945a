import type { Lease, Lock } from '@cf/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LockManager, Mutex, ReadWriteLock, ReentrantMutex } from '../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

interface Plan {
  readonly priority: number;
  readonly abort: boolean;
  readonly timeout: number | undefined;
  readonly holdSteps: number;
  readonly releaseTwice: boolean;
}

const planArb: fc.Arbitrary<Plan> = fc.record({
  priority: fc.integer({ min: 0, max: 3 }),
  abort: fc.boolean(),
  timeout: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  holdSteps: fc.integer({ min: 0, max: 4 }),
  releaseTwice: fc.boolean(),
});

interface Outcome {
  granted: number;
  failed: number;
  maxExclusive: number;
  violations: string[];
  tokens: bigint[];
}

/**
 * Runs one task per plan against `take`, with every step (start, abort, clock tick, each step of
 * holding, release) ordered by the fast-check scheduler, so aborts race grants, timeouts race
 * releases, and releases race new arrivals in every order the scheduler picks.
 */
async function runTasks(
  s: fc.Scheduler,
  plans: readonly Plan[],
  take: (plan: Plan, signal: AbortSignal) => Promise<{ lease: Lease; exclusive: boolean }>,
  state: { exclusive: number; shared: number },
  invariant: () => string | undefined = () => undefined,
): Promise<Outcome> {
  const outcome: Outcome = { granted: 0, failed: 0, maxExclusive: 0, violations: [], tokens: [] };
  const tasks = plans.map(async (plan, index) => {
    await s.schedule(Promise.resolve(`start ${index}`));
    const controller = new AbortController();
    if (plan.abort)
      void s.schedule(Promise.resolve(`abort ${index}`)).then(() => controller.abort(new Error(`abort ${index}`)));
    let held: { lease: Lease; exclusive: boolean };
    try {
      held = await take(plan, controller.signal);
    } catch {
      outcome.failed++;
      return;
    }
    outcome.granted++;
    outcome.tokens.push(held.lease.token);
    if (held.exclusive) state.exclusive++;
    else state.shared++;
    outcome.maxExclusive = Math.max(outcome.maxExclusive, state.exclusive);
    if (state.exclusive > 1) outcome.violations.push(`two exclusive holders (task ${index})`);
    if (state.exclusive > 0 && state.shared > 0) outcome.violations.push(`reader beside a writer (task ${index})`);
    for (let step = 0; step < plan.holdSteps; step++) {
      await s.schedule(Promise.resolve(`hold ${index}.${step}`));
      const broken = invariant();
      if (broken !== undefined) outcome.violations.push(broken);
    }
    if (held.exclusive) state.exclusive--;
    else state.shared--;
    await held.lease.release();
    if (plan.releaseTwice) await s.schedule(Promise.resolve(`release again ${index}`)).then(() => held.lease.release());
  });
  // The clock: each tick is one scheduled step, so timeouts fire between any two other steps.
  let running = true;
  const clock = (async () => {
    while (running) {
      await s.schedule(Promise.resolve('tick'));
      // Every step has run to completion here: nobody may wait for a lock that nobody blocks.
      const broken = invariant();
      if (broken !== undefined) outcome.violations.push(broken);
      await vi.advanceTimersByTimeAsync(1);
    }
  })();
  const all = Promise.all(tasks).finally(() => {
    running = false;
  });
  await s.waitFor(all);
  await s.waitFor(clock);
  return outcome;
}

function checkOutcome(outcome: Outcome, plans: readonly Plan[]): void {
  expect(outcome.violations).toEqual([]);
  // No waiter lost (every task finished) and none granted twice (granted + failed = tasks).
  expect(outcome.granted + outcome.failed).toBe(plans.length);
  expect(new Set(outcome.tokens).size).toBe(outcome.tokens.length);
}

const settings = { numRuns: 150 };

describe('races explored by fast-check scheduler', () => {
  it('Mutex: aborts and timeouts racing releases never break exclusion nor lose a waiter', async () => {
    vi.useFakeTimers();
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(planArb, { minLength: 1, maxLength: 8 }), async (s, plans) => {
        const mutex = new Mutex();
        const state = { exclusive: 0, shared: 0 };
        const outcome = await runTasks(
          s,
          plans,
          async (plan, signal) => ({
            lease: await mutex.acquire({ signal, priority: plan.priority, timeout: plan.timeout }),
            exclusive: true,
          }),
          state,
          () => (!mutex.isLocked && mutex.waitersCount > 0 ? 'waiter left behind a free mutex' : undefined),
        );
        checkOutcome(outcome, plans);
        expect(mutex.isLocked).toBe(false);
        expect(mutex.waitersCount).toBe(0);
      }),
      settings,
    );
  });

  it('ReentrantMutex: distinct owners stay exclusive under races', async () => {
    vi.useFakeTimers();
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(planArb, { minLength: 1, maxLength: 8 }), async (s, plans) => {
        const mutex = new ReentrantMutex();
        const state = { exclusive: 0, shared: 0 };
        const outcome = await runTasks(
          s,
          plans,
          async (plan, signal) => ({
            lease: await mutex.acquire({ owner: plan, signal, priority: plan.priority, timeout: plan.timeout }),
            exclusive: true,
          }),
          state,
        );
        checkOutcome(outcome, plans);
        expect(mutex.isLocked).toBe(false);
        expect(mutex.waitersCount).toBe(0);
      }),
      settings,
    );
  });

  for (const policy of ['write-preferring', 'read-preferring', 'fair'] as const) {
    it(`ReadWriteLock (${policy}): never a reader beside a writer, nor two writers`, async () => {
      vi.useFakeTimers();
      await fc.assert(
        fc.asyncProperty(
          fc.scheduler(),
          fc.array(fc.tuple(planArb, fc.boolean()), { minLength: 1, maxLength: 8 }),
          async (s, entries) => {
            const rw = new ReadWriteLock({ policy });
            const writes = new Map(entries.map(([plan, write]) => [plan, write]));
            const plans = entries.map(([plan]) => plan);
            const state = { exclusive: 0, shared: 0 };
            const outcome = await runTasks(
              s,
              plans,
              async (plan, signal) => {
                const exclusive = writes.get(plan)!;
                const side: Lock = exclusive ? rw.write : rw.read;
                return {
                  lease: await side.acquire({ signal, priority: plan.priority, timeout: plan.timeout }),
                  exclusive,
                };
              },
              state,
              () => {
                const { readers, writers } = rw.waitersCount;
                if (!rw.isLocked && readers + writers > 0) return 'waiter left behind a free lock';
                if (!rw.isWriteLocked && writers === 0 && readers > 0) return 'reader waiting for nobody';
                return undefined;
              },
            );
            checkOutcome(outcome, plans);
            expect(rw.isLocked).toBe(false);
            expect(rw.waitersCount).toEqual({ readers: 0, writers: 0 });
          },
        ),
        settings,
      );
    });
  }

  it('ReadWriteLock: downgrade racing aborts never lets a writer beside the downgraded reader', async () => {
    vi.useFakeTimers();
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(planArb, { minLength: 1, maxLength: 6 }), async (s, plans) => {
        const rw = new ReadWriteLock();
        const state = { exclusive: 0, shared: 0 };
        const overlaps: string[] = [];
        const outcome = await runTasks(
          s,
          plans,
          async (plan, signal) => {
            if (plan.priority % 2 === 1)
              return { lease: await rw.read.acquire({ signal, timeout: plan.timeout }), exclusive: false };
            const write = await rw.write.acquire({ signal, timeout: plan.timeout });
            // Hold as a writer for one scheduled step, then downgrade.
            state.exclusive++;
            if (state.exclusive > 1 || state.shared > 0) overlaps.push('writer beside another holder');
            await s.schedule(Promise.resolve('before downgrade'));
            state.exclusive--;
            return { lease: write.downgrade(), exclusive: false };
          },
          state,
          () =>
            !rw.isLocked && rw.waitersCount.readers + rw.waitersCount.writers > 0
              ? 'waiter behind a free lock'
              : undefined,
        );
        checkOutcome(outcome, plans);
        expect(overlaps).toEqual([]);
        expect(rw.isLocked).toBe(false);
      }),
      settings,
    );
  });

  it('LockManager: shared/exclusive names and acquireAll under races, and every name is forgotten', async () => {
    vi.useFakeTimers();
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.tuple(planArb, fc.subarray(['a', 'b', 'c'], { minLength: 1 }), fc.boolean()), {
          minLength: 1,
          maxLength: 7,
        }),
        async (s, entries) => {
          const manager = new LockManager();
          const plans = entries.map(([plan]) => plan);
          const byPlan = new Map(entries.map(([plan, names, shared]) => [plan, { names, shared }]));
          // One state per name, so overlapping name sets are checked name by name.
          const perName = new Map(['a', 'b', 'c'].map((n) => [n, { exclusive: 0, shared: 0 }]));
          const violations: string[] = [];
          const summary = { exclusive: 0, shared: 0 };
          const outcome = await runTasks(
            s,
            plans,
            async (plan, signal) => {
              const { names, shared } = byPlan.get(plan)!;
              const options = {
                signal,
                priority: plan.priority,
                timeout: plan.timeout,
                mode: shared ? 'shared' : 'exclusive',
              } as const;
              const lease =
                names.length === 1
                  ? await manager.acquire(names[0]!, options)
                  : await manager.acquireAll(names, options);
              for (const name of names) {
                const counts = perName.get(name)!;
                if (shared) counts.shared++;
                else counts.exclusive++;
                if (counts.exclusive > 1 || (counts.exclusive > 0 && counts.shared > 0)) violations.push(name);
              }
              const release = lease.release.bind(lease);
              let done = false;
              // Undo the per-name counts when the task releases.
              Object.defineProperty(lease, 'release', {
                value: () => {
                  if (!done) {
                    done = true;
                    for (const name of names) {
                      const counts = perName.get(name)!;
                      if (shared) counts.shared--;
                      else counts.exclusive--;
                    }
                  }
                  return release();
                },
              });
              return { lease, exclusive: false };
            },
            summary,
            () => {
              for (const name of ['a', 'b', 'c']) {
                const { holders, waiters } = manager.stats(name);
                if (holders === 0 && waiters > 0) return `waiter left behind free name ${name}`;
              }
              return undefined;
            },
          );
          expect(outcome.violations).toEqual([]);
          expect(violations).toEqual([]);
          expect(outcome.granted + outcome.failed).toBe(plans.length);
          expect(manager.size).toBe(0);
          expect(manager.stats()).toMatchObject({ holders: 0, waiters: 0, names: 0 });
        },
      ),
      settings,
    );
  });
});
