import { getEventListeners, setMaxListeners } from 'node:events';
import { isTimeoutError, type Lease } from '@cf/core';
import { BASE, type CaseContext, call, delay, describeOutcome, settle, yieldTurns } from '../context.js';
import type { CaseDefinition } from './types.js';

function trackLate(ctx: CaseContext, promise: Promise<Lease>): Promise<Lease> {
  promise.then(
    (lease) => ctx.track(lease),
    () => {},
  );
  return promise;
}

async function timeout(ctx: CaseContext): Promise<void> {
  const [a, b, c] = await ctx.handles(3);
  const limit = ctx.ms(BASE.short);
  const free = await ctx.acquire(b!, { timeout: limit }, `acquire({ timeout: ${limit} }) on a free lock`);
  await ctx.release(free);
  const held = await ctx.acquire(a!);
  // A patient waiter queued first must be unaffected by the timeout of the one behind it.
  const patient = trackLate(
    ctx,
    call(() => c!.acquire()),
  );
  const start = performance.now();
  const error = await ctx.rejection(
    call(() => b!.acquire({ timeout: limit })),
    BASE.short + BASE.deadline,
    `acquire({ timeout: ${limit} }) while the lock is held`,
  );
  const elapsed = performance.now() - start;
  ctx.check(
    isTimeoutError(error),
    `acquire({ timeout }) rejected with ${describeOutcome(error)}, not a TimeoutError (code ERR_CF_TIMEOUT)`,
  );
  // Timers are scheduled from the event loop's cached clock, which can lag a few ms behind
  // performance.now() on a busy machine: allow a quarter of the limit, not an early rejection.
  ctx.check(
    elapsed >= limit * 0.75 - 1,
    `acquire({ timeout: ${limit} }) rejected after ${elapsed.toFixed(1)} ms, before its timeout`,
  );
  await ctx.release(held);
  const next = await ctx.within(patient, BASE.deadline, 'the waiter queued before the timed-out one, after release');
  ctx.checkLease(next, 'the waiter queued before the timed-out one');
  await ctx.release(next);
  const again = await ctx.acquire(b!, undefined, 'acquire() after a timeout (the lock must stay usable)');
  await ctx.release(again);
}

async function timeoutZero(ctx: CaseContext): Promise<void> {
  const [a, b] = await ctx.handles(2);
  const free = await ctx.acquire(b!, { timeout: 0 }, 'acquire({ timeout: 0 }) on a free lock');
  await ctx.release(free);
  const held = await ctx.acquire(a!);
  const error = await ctx.rejection(
    call(() => b!.acquire({ timeout: 0 })),
    BASE.watch * 5,
    'acquire({ timeout: 0 }) while held',
  );
  ctx.check(
    isTimeoutError(error),
    `acquire({ timeout: 0 }) rejected with ${describeOutcome(error)}, not a TimeoutError`,
  );
  await ctx.release(held);
  const again = await ctx.tryAcquire(b!, 'tryAcquire() after acquire({ timeout: 0 }) failed and the holder released');
  ctx.check(
    again !== undefined,
    'the lock stayed held after acquire({ timeout: 0 }) was rejected and the holder released',
  );
  await ctx.release(again);
}

async function timeoutRace(ctx: CaseContext): Promise<void> {
  const resource = ctx.resource();
  const [a, b] = await ctx.handles(2, resource);
  for (let round = 0; round < 10; round++) {
    const held = await ctx.acquire(a!, undefined, `round ${round}: acquire()`);
    const limit = ctx.ms(4);
    const contender = settle(call(() => b!.acquire({ timeout: limit })));
    // Release around the moment the contender times out: before, at, or after it.
    await delay(limit + (round % 3) - 1);
    await ctx.release(held);
    const outcome = await ctx.within(contender, BASE.deadline, `round ${round}: acquire({ timeout }) racing a release`);
    if ('value' in outcome) {
      ctx.checkLease(outcome.value, `round ${round}: acquire({ timeout }) racing a release`);
      ctx.track(outcome.value);
      await ctx.release(outcome.value);
    } else {
      ctx.check(
        isTimeoutError(outcome.reason),
        `round ${round}: rejected with ${describeOutcome(outcome.reason)}, not a TimeoutError`,
      );
    }
    const after = await ctx.acquire(
      a!,
      { timeout: ctx.ms(BASE.deadline) },
      `round ${round}: acquire() after a timeout raced a release`,
    );
    await ctx.release(after);
  }
}

async function abort(ctx: CaseContext): Promise<void> {
  const [a, b, c] = await ctx.handles(3);
  const held = await ctx.acquire(a!);
  const controller = new AbortController();
  const reason = new Error('conformance: abort while waiting');
  const waiting = trackLate(
    ctx,
    call(() => b!.acquire({ signal: controller.signal })),
  );
  await ctx.pending(waiting, BASE.watch, 'acquire({ signal }) while the lock is held');
  controller.abort(reason);
  const error = await ctx.rejection(waiting, BASE.deadline, 'acquire({ signal }) after the signal aborted');
  ctx.check(error === reason, `acquire({ signal }) rejected with ${describeOutcome(error)}, not with signal.reason`);
  await ctx.release(held);
  const free = await ctx.tryAcquire(c!, 'tryAcquire() after the only waiter aborted and the holder released');
  ctx.check(free !== undefined, 'the lock is still held after the holder released: the aborted waiter was not removed');
  await ctx.release(free);
}

async function preAborted(ctx: CaseContext): Promise<void> {
  const [a, b] = await ctx.handles(2);
  const reason = new Error('conformance: already aborted');
  const signal = AbortSignal.abort(reason);
  const onFree = await ctx.rejection(
    call(() => b!.acquire({ signal })),
    BASE.watch,
    'acquire({ signal: aborted }) on a free lock',
  );
  ctx.check(
    onFree === reason,
    `acquire({ signal: aborted }) on a free lock rejected with ${describeOutcome(onFree)}, not signal.reason`,
  );
  const held = await ctx.tryAcquire(a!, 'tryAcquire() after acquire({ signal: aborted })');
  ctx.check(held !== undefined, 'acquire({ signal: aborted }) took the lock although it rejected');
  const onHeld = await ctx.rejection(
    call(() => b!.acquire({ signal })),
    BASE.watch,
    'acquire({ signal: aborted }) on a held lock',
  );
  ctx.check(
    onHeld === reason,
    `acquire({ signal: aborted }) on a held lock rejected with ${describeOutcome(onHeld)}, not signal.reason`,
  );
  await ctx.release(held);
  const free = await ctx.tryAcquire(b!, 'tryAcquire() after the holder released');
  ctx.check(free !== undefined, 'an already-aborted acquire() stayed queued and took the lock on release');
  await ctx.release(free);
}

async function abortAfterGrant(ctx: CaseContext): Promise<void> {
  const [a, b] = await ctx.handles(2);
  const controller = new AbortController();
  const lease = await ctx.acquire(a!, { signal: controller.signal }, 'acquire({ signal })');
  controller.abort(new Error('conformance: abort after grant'));
  await yieldTurns();
  ctx.check(!lease.released, 'aborting the acquire signal after the lease was granted ended the lease');
  const other = await ctx.tryAcquire(b!, 'tryAcquire() after the holder’s acquire signal aborted');
  ctx.check(other === undefined, 'aborting the acquire signal after the grant released the lock');
  await ctx.release(lease);
}

async function bulkAbort(ctx: CaseContext): Promise<void> {
  const handles = await ctx.handles(3);
  const held = await ctx.acquire(handles[0]!);
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const reason = new Error('conformance: bulk abort');
  const waiters = Array.from({ length: 50 }, (_, i) =>
    trackLate(
      ctx,
      call(() =>
        handles[i % 3]!.acquire({ signal: controller.signal, ...(ctx.options.priorities ? { priority: i % 4 } : {}) }),
      ),
    ),
  );
  await ctx.pending(Promise.race(waiters), BASE.watch, 'one of 50 waiters queued behind a holder');
  controller.abort(reason);
  const outcomes = await ctx.within(
    Promise.all(waiters.map(settle)),
    BASE.deadline,
    '50 waiters after their shared signal aborted',
  );
  const wrong = outcomes.filter((o) => !('reason' in o) || o.reason !== reason).length;
  ctx.check(wrong === 0, `${wrong} of 50 aborted waiters did not reject with signal.reason`);
  await ctx.release(held);
  const free = await ctx.tryAcquire(handles[1]!, 'tryAcquire() after 50 waiters aborted and the holder released');
  ctx.check(free !== undefined, 'the lock is still held after every waiter aborted and the holder released');
  await ctx.release(free);
}

async function signalListeners(ctx: CaseContext): Promise<void> {
  const [a, b] = await ctx.handles(2);
  const { signal } = new AbortController();
  setMaxListeners(0, signal);
  for (let i = 0; i < 25; i++) {
    const lease = await ctx.acquire(a!, { signal }, `round ${i}: acquire({ signal }) on a free lock`);
    const waiting = trackLate(
      ctx,
      call(() => b!.acquire({ signal })),
    );
    const timedOut = settle(call(() => b!.acquire({ signal, timeout: 0 })));
    await ctx.release(lease);
    const next = await ctx.within(waiting, BASE.deadline, `round ${i}: a waiting acquire({ signal })`);
    await ctx.release(next);
    await timedOut;
  }
  const left = getEventListeners(signal, 'abort').length;
  ctx.check(left === 0, `${left} abort listeners are left on a long-lived signal after 75 settled acquire() calls`);
}

/** Timeouts and cancellation. */
export const waitingCases: readonly CaseDefinition[] = [
  {
    id: 'timeout',
    group: 'timeout',
    title: 'acquire({ timeout }) rejects with TimeoutError once the time passed, and the lock stays usable',
    budget: 4000,
    body: timeout,
  },
  {
    id: 'timeout-zero',
    group: 'timeout',
    title: 'timeout 0 takes a free lock and rejects at once with TimeoutError when it is held',
    budget: 3000,
    body: timeoutZero,
  },
  {
    id: 'timeout-race',
    group: 'timeout',
    title: 'a timeout racing a release either gets the lock or a TimeoutError, and never leaks the lock',
    budget: 6000,
    body: timeoutRace,
  },
  {
    id: 'abort',
    group: 'abort',
    title: 'abort while waiting rejects with signal.reason and removes the waiter',
    budget: 3000,
    body: abort,
  },
  {
    id: 'pre-aborted',
    group: 'abort',
    title: 'an already-aborted signal rejects at once with its reason, on a free or a held lock',
    budget: 3000,
    body: preAborted,
  },
  {
    id: 'abort-after-grant',
    group: 'abort',
    title: 'aborting the signal after the grant does not end the lease',
    budget: 3000,
    body: abortAfterGrant,
  },
  {
    id: 'bulk-abort',
    group: 'abort',
    title: '50 waiters aborted by one signal all reject with its reason and none takes the lock',
    budget: 4000,
    body: bulkAbort,
  },
  {
    id: 'signal-listeners',
    group: 'abort',
    title: 'a long-lived signal passed to many acquire() calls keeps no listener once they settled',
    budget: 6000,
    body: signalListeners,
  },
];
