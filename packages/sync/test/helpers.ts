import type fc from 'fast-check';

/** Lets every promise reaction queued so far run (setImmediate is never faked by these tests). */
export const flush = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Fake only the timers the primitives use, so `flush()` keeps working. */
export const FAKE_TIMERS = { toFake: ['setTimeout', 'clearTimeout'] as ('setTimeout' | 'clearTimeout')[] };

/** The observable state of a promise. */
export interface Tracked<T> {
  readonly settled: boolean;
  readonly value?: T;
  readonly error?: unknown;
}

/** Records how `promise` settles, without awaiting it. */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

/** A scheduled step: resolves when the fast-check scheduler decides to run it. */
export function step(scheduler: fc.Scheduler, label: string): Promise<void> {
  return scheduler.schedule(Promise.resolve(), label).then(() => {});
}

/**
 * Runs the scheduler until nothing is scheduled any more and every promise queued in between has
 * run, so work started by a scheduled step (which may schedule more steps) is not cut short.
 */
export async function drain(scheduler: fc.Scheduler): Promise<void> {
  for (let round = 0; round < 1000; round++) {
    await flush();
    if (scheduler.count() === 0) return;
    await scheduler.waitAll();
  }
  throw new Error('the scheduler never ran dry');
}
