import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Acquirer } from '../src/internal/acquirer.js';
import { type HoldBackend, RedisLease } from '../src/redis-lease.js';

// The acquirer against an in-memory model of the server, with every network hop (request,
// reply, message delivery) scheduled by fast-check, so the property explores the interleavings of
// attempts, releases, release messages, aborts and waiters leaving mid-attempt.

class ModelServer {
  holder: string | undefined = undefined;
  fence = 0;
  readonly listeners = new Set<() => void>();
}

const planArb = fc.record({ handle: fc.nat(2), abort: fc.boolean(), priority: fc.integer({ min: 0, max: 3 }) });

function acquirerOn(server: ModelServer, s: fc.Scheduler): Acquirer<undefined> {
  // A request reaches the server, runs atomically, and its reply comes back: two scheduled hops.
  const hop = <T>(run: () => T): Promise<T> =>
    s.schedule(Promise.resolve()).then(() => {
      const result = run();
      return s.schedule(Promise.resolve(result));
    });
  const backend: HoldBackend = {
    extend: (token) => hop(() => server.holder === token),
    release: (token) =>
      hop(() => {
        if (server.holder !== token) return false;
        server.holder = undefined;
        for (const wake of server.listeners) void s.schedule(Promise.resolve()).then(wake);
        return true;
      }),
  };
  return new Acquirer<undefined>({
    resource: 'model',
    lock: {},
    mode: 'exclusive',
    exclusive: true,
    pollInterval: 1e8,
    listen: (wake) => {
      server.listeners.add(wake);
      void s.schedule(Promise.resolve()).then(wake);
      return () => server.listeners.delete(wake);
    },
    contender: {
      attempt: (_request, token) =>
        hop(() => {
          if (server.holder !== undefined) return -1000;
          server.holder = token;
          return ++server.fence;
        }),
      lease: (_request, token, fence, sentAt, onEnd) =>
        new RedisLease('model', fence, token, backend, { ttl: 1e8, drift: 10, extendInterval: 0 }, sentAt, onEnd),
      discard: (_request, token) => void backend.release(token),
    },
  });
}

async function drain(s: fc.Scheduler): Promise<void> {
  for (let round = 0; round < 1000; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    if (s.count() === 0) return;
    await s.waitAll();
  }
}

describe('Acquirer under scheduled interleavings', () => {
  it('never two holders, tokens increase, every waiter settles, and a free lock is left free', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(planArb, { minLength: 1, maxLength: 7 }), async (s, plans) => {
        const server = new ModelServer();
        const handles = [0, 1, 2].map(() => acquirerOn(server, s));
        let holders = 0;
        const violations: string[] = [];
        const tokens: bigint[] = [];
        let settled = 0;
        const tasks = plans.map(async (plan) => {
          const controller = new AbortController();
          if (plan.abort) void s.schedule(Promise.resolve()).then(() => controller.abort(new Error('aborted')));
          try {
            const lease = await handles[plan.handle]!.acquire(undefined, {
              signal: controller.signal,
              priority: plan.priority,
            });
            if (++holders > 1) violations.push('two holders');
            if (tokens.length > 0 && lease.token <= tokens.at(-1)!) violations.push('token went backwards');
            tokens.push(lease.token);
            await s.schedule(Promise.resolve());
            holders--;
            await lease.release();
          } catch (error) {
            if ((error as Error).message !== 'aborted') violations.push(`unexpected ${String(error)}`);
          } finally {
            settled++;
          }
        });
        await drain(s);
        expect(violations).toEqual([]);
        // A waiter still pending here would have lost its wake-up (the poll is far away).
        expect(settled).toBe(plans.length);
        await Promise.all(tasks);
        await drain(s);
        expect(server.holder).toBeUndefined();
        expect(handles.map((h) => h.waiting)).toEqual([0, 0, 0]);
        expect(server.listeners.size).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
