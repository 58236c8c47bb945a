import { type AcquireOptions, isInvalidArgumentError, isTimeoutError, MAX_PRIORITY, MAX_TIMEOUT } from '@cf/core';
import { BASE, type CaseContext, call, describeOutcome, yieldTurns } from '../context.js';
import type { CaseDefinition } from './types.js';

async function releaseIdempotent(ctx: CaseContext): Promise<void> {
  const [h1, h2, h3] = await ctx.handles(3);
  const first = await ctx.acquire(h1!);
  await ctx.within(Promise.all([first.release(), first.release()]), BASE.deadline, 'two concurrent release() calls');
  ctx.check(first.released, 'lease.released is false after release()');
  const second = await ctx.acquire(h2!, undefined, 'acquire() after release()');
  await ctx.release(first, 'release() of a lease already released');
  await ctx.release(first, 'a third release() of the same lease');
  ctx.check(!second.released, 'the current holder’s lease reports released after an old lease was released again');
  const third = await ctx.tryAcquire(h3!, 'tryAcquire() while the second holder holds the lock');
  ctx.check(third === undefined, 'releasing an old lease again released the current holder’s lock');
  const waited = await ctx.rejection(
    call(() => h3!.acquire({ timeout: ctx.ms(BASE.short) })),
    BASE.short + BASE.deadline,
    'acquire({ timeout }) while the second holder holds the lock',
  );
  ctx.check(
    isTimeoutError(waited),
    `acquire({ timeout }) rejected with ${describeOutcome(waited)}, not a TimeoutError`,
  );
  await ctx.release(second);
  const last = await ctx.acquire(h3!, undefined, 'acquire() after the second holder released');
  await ctx.release(last);
}

async function leaseSignal(ctx: CaseContext): Promise<void> {
  const [a, b] = await ctx.handles(2);
  const lease = await ctx.acquire(a!);
  const signal = lease.signal;
  ctx.check(
    typeof signal === 'object' && signal !== null && typeof signal.addEventListener === 'function',
    'lease.signal is not an AbortSignal',
  );
  ctx.check(lease.signal === signal, 'lease.signal returns a different signal on each read');
  let aborts = 0;
  signal.addEventListener('abort', () => aborts++);
  await yieldTurns();
  ctx.check(!signal.aborted, 'lease.signal aborted while the lease was held');
  // A waiter's lease obtained by handoff must behave the same.
  const waiting = call(() => b!.acquire());
  waiting.then(
    (next) => ctx.track(next),
    () => {},
  );
  await ctx.release(lease);
  ctx.check(signal.aborted, 'lease.signal did not abort when the lease was released');
  ctx.check(aborts === 1, `lease.signal fired ${aborts} abort events on release, not 1`);
  await ctx.release(lease, 'a second release()');
  ctx.check(aborts === 1, 'a second release() fired the abort event again');
  const next = await ctx.within(waiting, BASE.deadline, 'the waiting acquire() after release');
  await ctx.release(next);
  ctx.check(next.signal.aborted, 'lease.signal read only after release() is not aborted');
}

async function awaitUsing(ctx: CaseContext): Promise<void> {
  const [a, b] = await ctx.handles(2);
  {
    await using lease = await ctx.acquire(a!);
    ctx.check(typeof lease[Symbol.asyncDispose] === 'function', 'the lease has no [Symbol.asyncDispose] method');
    const inside = await ctx.tryAcquire(b!, 'tryAcquire() inside the await using scope');
    ctx.check(inside === undefined, 'another handle took the lock inside the await using scope');
  }
  const after = await ctx.tryAcquire(b!, 'tryAcquire() after the await using scope ended');
  ctx.check(after !== undefined, 'the lock was still held after the await using scope ended');
  await ctx.release(after);
  const failure = new Error('conformance: the scope throws');
  try {
    await using _lease = await ctx.acquire(a!);
    throw failure;
  } catch (error) {
    ctx.check(error === failure, `the throwing scope ended with ${describeOutcome(error)} instead of its own error`);
  }
  const afterThrow = await ctx.tryAcquire(b!, 'tryAcquire() after a throwing await using scope');
  ctx.check(afterThrow !== undefined, 'the lock was still held after an await using scope that threw');
  await ctx.release(afterThrow);
}

async function fencingTokens(ctx: CaseContext): Promise<void> {
  const handles = await ctx.handles(3);
  let previous: bigint | undefined;
  for (let i = 0; i < 20; i++) {
    const lease = await ctx.acquire(handles[i % 3]!, undefined, `acquire() #${i}`);
    const token = lease.token;
    ctx.check(lease.token === token, 'lease.token changed between two reads');
    ctx.check(
      previous === undefined || token > previous,
      `fencing token ${token} came after ${previous} on the same resource`,
    );
    previous = token;
    await ctx.release(lease);
  }
  const held = await ctx.acquire(handles[0]!);
  const waiting = call(() => handles[1]!.acquire());
  waiting.then(
    (lease) => ctx.track(lease),
    () => {},
  );
  await ctx.release(held);
  const next = await ctx.within(waiting, BASE.deadline, 'a waiting acquire()');
  ctx.check(next.token > held.token, `a waiter got token ${next.token} after the holder's ${held.token}`);
  await ctx.release(next);
}

const BAD_OPTIONS: ReadonlyArray<readonly [string, unknown]> = [
  ['null', null],
  ['"fast"', 'fast'],
  ['{ timeout: -1 }', { timeout: -1 }],
  ['{ timeout: NaN }', { timeout: Number.NaN }],
  ['{ timeout: "10" }', { timeout: '10' }],
  [`{ timeout: ${MAX_TIMEOUT + 1} }`, { timeout: MAX_TIMEOUT + 1 }],
  ['{ priority: -1 }', { priority: -1 }],
  ['{ priority: 1.5 }', { priority: 1.5 }],
  [`{ priority: ${MAX_PRIORITY + 1} }`, { priority: MAX_PRIORITY + 1 }],
  ['{ priority: "high" }', { priority: 'high' }],
  ['{ signal: {} }', { signal: {} }],
  ['{ signal: "abort" }', { signal: 'abort' }],
];

async function invalidOptions(ctx: CaseContext): Promise<void> {
  const [a, b] = await ctx.handles(2);
  const tryAll = async (state: string): Promise<void> => {
    for (const [label, options] of BAD_OPTIONS) {
      const what = `acquire(${label}) on a ${state} lock`;
      const error = await ctx.rejection(
        call(() => a!.acquire(options as AcquireOptions)),
        BASE.watch * 5,
        what,
      );
      ctx.check(
        isInvalidArgumentError(error) && (error instanceof TypeError || error instanceof RangeError),
        `${what} rejected with ${describeOutcome(error)}, not a TypeError/RangeError with code ERR_CF_INVALID_ARG`,
      );
    }
  };
  await tryAll('free');
  const held = await ctx.tryAcquire(b!, 'tryAcquire() after invalid acquire() calls');
  ctx.check(held !== undefined, 'an invalid acquire() call took the lock');
  await tryAll('held');
  await ctx.release(held);
  const usable = await ctx.tryAcquire(a!, 'tryAcquire() after invalid acquire() calls on a held lock');
  ctx.check(usable !== undefined, 'an invalid acquire() call stayed queued and took the lock on release');
  await ctx.release(usable);
}

/** Lease behaviour, tokens and argument validation. */
export const leaseCases: readonly CaseDefinition[] = [
  {
    id: 'release-idempotent',
    group: 'release',
    title: 'release() is idempotent and never releases another holder’s lease',
    budget: 4000,
    body: releaseIdempotent,
  },
  {
    id: 'lease-signal',
    group: 'release',
    title: 'lease.signal aborts once on release, whether read before or after',
    budget: 3000,
    body: leaseSignal,
  },
  {
    id: 'await-using',
    group: 'release',
    title: 'await using releases on scope exit, also when the scope throws',
    budget: 3000,
    body: awaitUsing,
  },
  {
    id: 'fencing-tokens',
    group: 'fencing tokens',
    title: 'tokens are bigints that strictly increase per resource, across handles and handoffs',
    budget: 5000,
    body: fencingTokens,
  },
  {
    id: 'invalid-options',
    group: 'arguments',
    title: 'invalid options reject with ERR_CF_INVALID_ARG, take nothing and leave the lock usable',
    budget: 4000,
    body: invalidOptions,
  },
];
