import { setMaxListeners } from 'node:events';
import { TimeoutError, type Waiter, WaitQueue } from '@cf/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { abortListeners } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

type SignalKind = 'none' | 'own' | 'shared';
type Command =
  | {
      readonly kind: 'enqueue';
      readonly priority: number;
      readonly timeout: number | undefined;
      readonly signal: SignalKind;
    }
  | { readonly kind: 'abortOwn'; readonly pick: number }
  | { readonly kind: 'abortShared' }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'grantFirst' }
  | { readonly kind: 'rejectFirst' }
  | { readonly kind: 'grantAt'; readonly pick: number }
  | { readonly kind: 'settleAgain'; readonly pick: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('enqueue' as const),
      priority: fc.integer({ min: 0, max: 4 }),
      timeout: fc.option(fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constant(Number.POSITIVE_INFINITY)), {
        nil: undefined,
      }),
      signal: fc.constantFrom<SignalKind>('none', 'own', 'shared'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abortOwn' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'abortShared' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 15 }) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'grantFirst' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'rejectFirst' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('grantAt' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('settleAgain' as const), pick: fc.nat() }) },
);

type Status = 'pending' | 'granted' | 'rejected' | 'aborted' | 'timeout' | 'closed';

interface ModelWaiter {
  readonly id: number;
  readonly priority: number;
  readonly deadline: number;
  readonly controller: AbortController | undefined;
  readonly promise: Promise<number>;
  status: Status;
  reason?: unknown;
  waiter?: Waiter<number, number> | undefined;
}

/** Service order: priority, then arrival. */
const byServiceOrder = (a: ModelWaiter, b: ModelWaiter) => a.priority - b.priority || a.id - b.id;

describe('WaitQueue properties', () => {
  it('random mixes of enqueue, abort, timeout, grant and reject: every waiter settles exactly once, in priority-then-FIFO order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { maxLength: 60 }), async (commands) => {
        vi.useFakeTimers();
        try {
          let clock = 0;
          const cancelled: number[] = [];
          const queue: WaitQueue<number, number> = new WaitQueue<number, number>({
            resource: 'model',
            lock: {},
            onCancel: (waiter) => {
              // Called after the waiter left: it is no longer pending and no longer counted.
              expect(waiter.pending).toBe(false);
              expect([...queue]).not.toContain(waiter);
              cancelled.push(waiter.request);
            },
          });
          const shared = new AbortController();
          setMaxListeners(0, shared.signal);
          const all: ModelWaiter[] = [];
          const expectedCancelled: number[] = [];
          const pending = () => all.filter((w) => w.status === 'pending').sort(byServiceOrder);

          for (const command of commands) {
            switch (command.kind) {
              case 'enqueue': {
                const id = all.length;
                const controller = command.signal === 'own' ? new AbortController() : undefined;
                const signal = command.signal === 'shared' ? shared.signal : controller?.signal;
                const promise = queue.enqueue(id, {
                  priority: command.priority,
                  ...(command.timeout === undefined ? {} : { timeout: command.timeout }),
                  ...(signal === undefined ? {} : { signal }),
                });
                promise.catch(() => {});
                const entry: ModelWaiter = {
                  id,
                  priority: command.priority,
                  deadline: command.timeout === undefined ? Number.POSITIVE_INFINITY : clock + command.timeout,
                  controller,
                  promise,
                  status: 'pending',
                };
                all.push(entry);
                if (signal?.aborted) {
                  entry.status = 'aborted';
                  entry.reason = signal.reason;
                } else if (command.timeout === 0) {
                  entry.status = 'timeout';
                } else {
                  entry.waiter = [...queue].find((w) => w.request === id);
                  expect(entry.waiter).toBeDefined();
                }
                break;
              }
              case 'abortOwn': {
                const owners = all.filter((w) => w.controller !== undefined);
                const target = owners[command.pick % Math.max(1, owners.length)];
                if (target === undefined) break;
                const reason = new Error(`abort ${target.id}`);
                if (target.status === 'pending') {
                  target.status = 'aborted';
                  target.reason = reason;
                  expectedCancelled.push(target.id);
                }
                target.controller!.abort(reason);
                break;
              }
              case 'abortShared': {
                if (shared.signal.aborted) break;
                const reason = new Error('shared abort');
                // Listeners run in registration order, which is arrival order.
                for (const w of all.filter(
                  (x) => x.status === 'pending' && x.controller === undefined && x.waiter?.signal === shared.signal,
                )) {
                  w.status = 'aborted';
                  w.reason = reason;
                  expectedCancelled.push(w.id);
                }
                shared.abort(reason);
                break;
              }
              case 'advance': {
                const until = clock + command.ms;
                const expiring = all
                  .filter((w) => w.status === 'pending' && w.deadline <= until)
                  .sort((a, b) => a.deadline - b.deadline || a.id - b.id);
                for (const w of expiring) {
                  w.status = 'timeout';
                  expectedCancelled.push(w.id);
                }
                vi.advanceTimersByTime(command.ms);
                clock = until;
                break;
              }
              case 'grantFirst':
              case 'rejectFirst': {
                const best = pending()[0];
                expect(queue.first?.request).toBe(best?.id);
                if (best === undefined) break;
                if (command.kind === 'grantFirst') {
                  expect(queue.grant(queue.first!, best.id * 10)).toBe(true);
                  best.status = 'granted';
                } else {
                  best.reason = new Error(`reject ${best.id}`);
                  expect(queue.reject(queue.first!, best.reason)).toBe(true);
                  best.status = 'rejected';
                }
                break;
              }
              case 'grantAt': {
                const list = pending();
                const target = list[command.pick % Math.max(1, list.length)];
                if (target === undefined) break;
                expect(queue.grant(target.waiter!, target.id * 10)).toBe(true);
                target.status = 'granted';
                break;
              }
              case 'settleAgain': {
                const settled = all.filter((w) => w.status !== 'pending' && w.waiter !== undefined);
                const target = settled[command.pick % Math.max(1, settled.length)];
                if (target === undefined) break;
                expect(queue.grant(target.waiter!, -1)).toBe(false);
                expect(queue.reject(target.waiter!, new Error('again'))).toBe(false);
                break;
              }
            }
            const expected = pending();
            expect(queue.size).toBe(expected.length);
            expect([...queue].map((w) => w.request)).toEqual(expected.map((w) => w.id));
            for (const w of all) if (w.waiter !== undefined) expect(w.waiter.pending).toBe(w.status === 'pending');
            expect(cancelled).toEqual(expectedCancelled);
          }

          const closed = new Error('closed');
          for (const w of pending()) {
            w.status = 'closed';
            w.reason = closed;
          }
          queue.rejectAll(closed);
          expect(queue.size).toBe(0);
          expect(vi.getTimerCount()).toBe(0);
          expect(abortListeners(shared.signal)).toBe(0);
          for (const w of all) if (w.controller) expect(abortListeners(w.controller.signal)).toBe(0);

          const outcomes = await Promise.allSettled(all.map((w) => w.promise));
          outcomes.forEach((outcome, i) => {
            const w = all[i]!;
            if (w.status === 'granted') {
              expect(outcome).toEqual({ status: 'fulfilled', value: w.id * 10 });
            } else if (w.status === 'timeout') {
              expect(outcome.status).toBe('rejected');
              expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(TimeoutError);
            } else {
              expect(outcome).toEqual({ status: 'rejected', reason: w.reason });
            }
          });
          expect(cancelled).toEqual(expectedCancelled);
        } finally {
          vi.useRealTimers();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('abort racing grant (fc.scheduler): a waiter is granted or aborted, never both, and holders never overlap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.record({ priority: fc.integer({ min: 0, max: 2 }), abort: fc.boolean() }), {
          minLength: 1,
          maxLength: 8,
        }),
        async (s, specs) => {
          let cancels = 0;
          const queue = new WaitQueue<number, number>({ resource: 'race', lock: {}, onCancel: () => cancels++ });
          let holder: number | undefined = -1;
          let holders = 1;
          let maxHolders = 1;
          const handOver = () => {
            holders--;
            const next = queue.first;
            if (next === undefined) {
              holder = undefined;
              return;
            }
            for (const other of queue) {
              expect(other.priority).toBeGreaterThanOrEqual(next.priority);
            }
            holder = next.request;
            holders++;
            maxHolders = Math.max(maxHolders, holders);
            expect(queue.grant(next, next.request)).toBe(true);
          };
          const outcome = new Map<number, 'granted' | 'aborted'>();
          const abortedBeforeGrant = new Set<number>();
          const controllers = specs.map(() => new AbortController());
          const waits = specs.map((spec, i) => {
            const reason = new Error(`abort ${i}`);
            const waited = queue.enqueue(i, { signal: controllers[i]!.signal, priority: spec.priority }).then(
              async (value) => {
                expect(value).toBe(i);
                expect(holder).toBe(i);
                expect(outcome.has(i)).toBe(false);
                outcome.set(i, 'granted');
                await s.schedule(Promise.resolve(), `release ${i}`);
                handOver();
              },
              (error: unknown) => {
                expect(error).toBe(reason);
                expect(outcome.has(i)).toBe(false);
                outcome.set(i, 'aborted');
              },
            );
            const aborting = spec.abort
              ? s.schedule(Promise.resolve(), `abort ${i}`).then(() => {
                  if (holder !== i && !outcome.has(i) && [...queue].some((w) => w.request === i))
                    abortedBeforeGrant.add(i);
                  controllers[i]!.abort(reason);
                })
              : Promise.resolve();
            return Promise.all([waited, aborting]);
          });
          const initialRelease = s.schedule(Promise.resolve(), 'release initial holder').then(handOver);
          // waitFor keeps releasing scheduled tasks until these settle, including the releases that
          // granted waiters schedule later on.
          await s.waitFor(Promise.all([...waits, initialRelease]));

          expect(maxHolders).toBe(1);
          expect(holder).toBeUndefined();
          expect(outcome.size).toBe(specs.length);
          specs.forEach((spec, i) => {
            if (!spec.abort) expect(outcome.get(i)).toBe('granted');
            if (abortedBeforeGrant.has(i)) expect(outcome.get(i)).toBe('aborted');
          });
          expect(cancels).toBe([...outcome.values()].filter((o) => o === 'aborted').length);
          for (const c of controllers) expect(abortListeners(c.signal)).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
