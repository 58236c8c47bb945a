import { type Lease, Priority } from '@cf/core';
import { BASE, type CaseContext, call, yieldTurns } from '../context.js';
import type { CaseDefinition } from './types.js';

/** Queues `plan` on one handle behind a holder, releases, and returns the labels in the order served. */
async function serveOrder(
  ctx: CaseContext,
  plan: ReadonlyArray<readonly [string, number | undefined]>,
): Promise<string[]> {
  const [handle] = await ctx.handles(1);
  const held = await ctx.acquire(handle!);
  const served: string[] = [];
  const waiters = plan.map(([label, priority]) =>
    call(() => handle!.acquire(priority === undefined ? undefined : { priority })).then(async (lease: Lease) => {
      ctx.track(lease);
      served.push(label);
      await yieldTurns();
      await lease.release();
    }),
  );
  await ctx.pending(Promise.race(waiters), BASE.watch, 'one of the queued acquire() calls');
  await ctx.release(held);
  await ctx.within(Promise.all(waiters), BASE.deadline * 2, `serving ${plan.length} queued waiters`);
  return served;
}

async function fifo(ctx: CaseContext): Promise<void> {
  const plan = Array.from({ length: 6 }, (_, i) => [`w${i}`, undefined] as const);
  const served = await serveOrder(ctx, plan);
  const expected = plan.map(([label]) => label);
  ctx.check(
    served.join() === expected.join(),
    `waiters of equal priority were served as ${served.join(', ')}, not in arrival order`,
  );
}

async function priority(ctx: CaseContext): Promise<void> {
  const plan = [
    ['low', Priority.LOW],
    ['normal', Priority.NORMAL],
    ['high-1', Priority.HIGH],
    ['critical', Priority.CRITICAL],
    ['high-2', Priority.HIGH],
    ['normal-default', undefined],
  ] as const;
  const served = await serveOrder(ctx, plan);
  const rank = new Map<string, number>(plan.map(([label, p]) => [label, p ?? Priority.NORMAL]));
  if (ctx.options.fifo) {
    const expected = ['critical', 'high-1', 'high-2', 'normal', 'normal-default', 'low'];
    ctx.check(
      served.join() === expected.join(),
      `served ${served.join(', ')}; expected ${expected.join(', ')} (priority, then arrival)`,
    );
  } else {
    for (let i = 1; i < served.length; i++) {
      ctx.check(
        rank.get(served[i]!)! >= rank.get(served[i - 1]!)!,
        `served ${served.join(', ')}: a less urgent waiter went first`,
      );
    }
  }
}

/** Service order. */
export const orderCases: readonly CaseDefinition[] = [
  {
    id: 'order-fifo',
    group: 'order',
    title: 'waiters of one handle with equal priority are served in arrival order',
    budget: 3000,
    when: (options) => options.fifo,
    body: fifo,
  },
  {
    id: 'order-priority',
    group: 'order',
    title: 'more urgent waiters (lower priority number) are served first',
    budget: 3000,
    when: (options) => options.priorities,
    body: priority,
  },
];
