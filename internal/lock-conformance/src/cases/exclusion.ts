import type { Lease } from '@cf/core';
import { BASE, type CaseContext, call, yieldTurns } from '../context.js';
import type { CaseDefinition } from './types.js';

const TASKS = 100;
const HANDLES = 4;

async function mutualExclusion(ctx: CaseContext): Promise<void> {
  const handles = await ctx.handles(HANDLES);
  let counter = 0;
  let inside = 0;
  let maxInside = 0;
  const tokens: bigint[] = [];
  const task = async (i: number): Promise<void> => {
    const lease = ctx.track(await call(() => handles[i % HANDLES]!.acquire()));
    inside++;
    maxInside = Math.max(maxInside, inside);
    tokens.push(lease.token);
    // Read, let every other task run, then write: a second holder would lose an update.
    const read = counter;
    await yieldTurns();
    counter = read + 1;
    inside--;
    await lease.release();
  };
  await ctx.within(
    Promise.all(Array.from({ length: TASKS }, (_, i) => task(i))),
    BASE.deadline * 10,
    `${TASKS} concurrent acquire/release tasks on ${HANDLES} handles`,
  );
  ctx.check(maxInside === 1, `${maxInside} tasks held the lock at the same time`);
  ctx.check(counter === TASKS, `lost updates: the counter is ${counter} after ${TASKS} increments under the lock`);
  for (let i = 1; i < tokens.length; i++) {
    ctx.check(tokens[i]! > tokens[i - 1]!, `fencing token ${tokens[i]} was granted after ${tokens[i - 1]}`);
  }
}

async function acquireWaits(ctx: CaseContext): Promise<void> {
  const [a, b] = await ctx.handles(2);
  const held = await ctx.acquire(a!);
  const waiting = call(() => b!.acquire());
  waiting.then(
    (lease) => ctx.track(lease),
    () => {},
  );
  await ctx.pending(waiting, BASE.watch, 'acquire() on a second handle while the first holds the lock');
  ctx.check(!held.released, 'the first lease reports released while nobody released it');
  await ctx.release(held);
  const next = await ctx.within(waiting, BASE.deadline, 'a waiting acquire() after the holder released');
  ctx.checkLease(next, 'a waiting acquire()');
  await ctx.release(next);
}

async function tryAcquire(ctx: CaseContext): Promise<void> {
  const [a, b] = await ctx.handles(2);
  const first = await ctx.tryAcquire(a!, 'tryAcquire() on a free lock');
  ctx.check(first !== undefined, 'tryAcquire() on a free lock resolved undefined');
  const second = await ctx.tryAcquire(b!, 'tryAcquire() while another handle holds the lock (it must not wait)');
  ctx.check(second === undefined, 'tryAcquire() took a lock that another handle holds');
  const waiting = call(() => b!.acquire());
  waiting.then(
    (lease) => ctx.track(lease),
    () => {},
  );
  const third = await ctx.tryAcquire(
    b!,
    'tryAcquire() while the lock is held and a waiter is queued (it must not wait)',
  );
  ctx.check(third === undefined, 'tryAcquire() took a held lock ahead of a queued waiter');
  await ctx.release(first);
  const queued = await ctx.within(waiting, BASE.deadline, 'the queued acquire() after release');
  await ctx.release(queued);
  const again = await ctx.tryAcquire(b!, 'tryAcquire() on a lock free again');
  ctx.check(again !== undefined, 'tryAcquire() on a lock free again resolved undefined');
  await ctx.release(again);
}

async function independentResources(ctx: CaseContext): Promise<void> {
  const [a] = await ctx.handles(1);
  const [b] = await ctx.handles(1);
  const held = await ctx.acquire(a!);
  const other = await ctx.tryAcquire(b!, 'tryAcquire() on another resource');
  ctx.check(other !== undefined, 'holding one resource made tryAcquire() on another resource fail');
  await ctx.release(other);
  const waited = await ctx.acquire(b!, undefined, 'acquire() on another resource while the first is held');
  await ctx.release(waited);
  await ctx.release(held);
}

async function handoff(ctx: CaseContext): Promise<void> {
  const handles = await ctx.handles(3);
  const held = await ctx.acquire(handles[0]!);
  const served: number[] = [];
  let inside = 0;
  let maxInside = 0;
  const waiters = Array.from({ length: 10 }, (_, i) =>
    call(() => handles[i % 3]!.acquire(ctx.options.priorities ? { priority: i % 4 } : undefined)).then(
      async (lease: Lease) => {
        ctx.track(lease);
        inside++;
        maxInside = Math.max(maxInside, inside);
        served.push(i);
        await yieldTurns();
        inside--;
        await lease.release();
      },
    ),
  );
  await ctx.pending(Promise.race(waiters), BASE.watch, 'one of 10 acquire() calls queued behind a holder');
  await ctx.release(held);
  await ctx.within(Promise.all(waiters), BASE.deadline * 3, 'serving 10 queued waiters after the holder released');
  ctx.check(maxInside === 1, `${maxInside} queued waiters held the lock at the same time`);
  ctx.check(
    new Set(served).size === 10 && served.length === 10,
    `waiters served: ${served.join(', ')}; expected each of 10 once`,
  );
}

/** Exclusion, waiting and handoff. */
export const exclusionCases: readonly CaseDefinition[] = [
  {
    id: 'mutual-exclusion',
    group: 'mutual exclusion',
    title: `at most one holder among ${TASKS} concurrent tasks on ${HANDLES} handles; no lost update; tokens increase`,
    budget: 15_000,
    body: mutualExclusion,
  },
  {
    id: 'acquire-waits',
    group: 'mutual exclusion',
    title: 'acquire() waits while another handle holds the lock and gets it on release',
    budget: 3000,
    body: acquireWaits,
  },
  {
    id: 'handoff',
    group: 'mutual exclusion',
    title: 'every queued waiter is served once, one at a time, after the holder releases',
    budget: 5000,
    body: handoff,
  },
  {
    id: 'resources-independent',
    group: 'mutual exclusion',
    title: 'different resources are independent locks',
    budget: 3000,
    body: independentResources,
  },
  {
    id: 'try-acquire',
    group: 'tryAcquire',
    title: 'tryAcquire() takes a free lock and resolves undefined at once when it is held, never waiting',
    budget: 5000,
    body: tryAcquire,
  },
];
