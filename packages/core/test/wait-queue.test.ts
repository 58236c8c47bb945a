import { addObserver, type LockEvent, Priority, TimeoutError, type Waiter, WaitQueue } from '@cf/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rejectionOf, stateOf } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

function makeQueue(onCancel?: (waiter: Waiter<string, string>) => void): WaitQueue<string, string> {
  return new WaitQueue<string, string>({ resource: 'res', lock: {}, ...(onCancel ? { onCancel } : {}) });
}

/** Grants every waiter in service order and returns the requests in the order served. */
async function drain(queue: WaitQueue<string, string>, promises: Promise<string>[]): Promise<string[]> {
  const served: string[] = [];
  for (let waiter = queue.first; waiter !== undefined; waiter = queue.first) {
    served.push(waiter.request);
    queue.grant(waiter, waiter.request);
  }
  await Promise.all(promises);
  return served;
}

describe('WaitQueue order', () => {
  it('serves by priority, then FIFO within a priority', async () => {
    const queue = makeQueue();
    const plan: Array<[string, number | undefined]> = [
      ['low-1', Priority.LOW],
      ['normal-1', undefined],
      ['high-1', Priority.HIGH],
      ['low-2', Priority.LOW],
      ['critical-1', Priority.CRITICAL],
      ['normal-2', Priority.NORMAL],
      ['high-2', Priority.HIGH],
      ['p1000', 1000],
      ['critical-2', 0],
    ];
    const promises = plan.map(([name, priority]) =>
      queue.enqueue(name, priority === undefined ? undefined : { priority }),
    );
    expect(queue.size).toBe(plan.length);
    expect([...queue].map((w) => w.request)).toEqual([
      'critical-1',
      'critical-2',
      'high-1',
      'high-2',
      'normal-1',
      'normal-2',
      'low-1',
      'low-2',
      'p1000',
    ]);
    expect(queue.first?.priority).toBe(0);
    expect(await drain(queue, promises)).toEqual([
      'critical-1',
      'critical-2',
      'high-1',
      'high-2',
      'normal-1',
      'normal-2',
      'low-1',
      'low-2',
      'p1000',
    ]);
    expect(queue.size).toBe(0);
    expect(queue.first).toBeUndefined();
  });

  it('keeps order when waiters leave from the middle, head and tail', async () => {
    const queue = makeQueue();
    const controllers = Array.from({ length: 6 }, () => new AbortController());
    const promises = controllers.map((c, i) => queue.enqueue(`w${i}`, { signal: c.signal, priority: i % 2 }));
    controllers[2]!.abort();
    controllers[0]!.abort();
    controllers[5]!.abort();
    expect(queue.size).toBe(3);
    const remaining = [promises[1]!, promises[3]!, promises[4]!];
    expect(await drain(queue, remaining)).toEqual(['w4', 'w1', 'w3']);
    await Promise.allSettled(promises);
  });

  it('a bucket that empties and refills keeps its place in the priority order', async () => {
    const queue = makeQueue();
    const a = queue.enqueue('normal-a');
    const b = queue.enqueue('high-a', { priority: Priority.HIGH });
    queue.grant(queue.first!, 'x');
    const c = queue.enqueue('high-b', { priority: Priority.HIGH });
    const d = queue.enqueue('critical', { priority: Priority.CRITICAL });
    expect(await drain(queue, [a, c, d])).toEqual(['critical', 'high-b', 'normal-a']);
    await b;
  });

  it('iteration goes on when the primitive grants or rejects waiters while iterating', async () => {
    const queue = makeQueue();
    const names = ['r1', 'r2', 'w1', 'r3', 'x', 'r4'];
    const promises = names.map((name, i) => queue.enqueue(name, { priority: i < 4 ? 1 : 2 }));
    const visited: string[] = [];
    for (const waiter of queue) {
      visited.push(waiter.request);
      if (waiter.request.startsWith('r')) queue.grant(waiter, waiter.request);
      if (waiter.request === 'w1') queue.reject(queue.first!.next ?? waiter, new Error('skip'));
    }
    expect(visited).toEqual(['r1', 'r2', 'w1', 'x', 'r4']);
    expect([...queue].map((w) => w.request)).toEqual(['w1', 'x']);
    queue.rejectAll(new Error('end'));
    const outcomes = await Promise.allSettled(promises);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
  });

  it('iteration skips a waiter rejected ahead of the current one, and visits later buckets', async () => {
    const queue = makeQueue();
    const promises = ['a', 'b', 'c', 'd'].map((name) => queue.enqueue(name));
    const later = queue.enqueue('low', { priority: Priority.LOW });
    const visited: string[] = [];
    for (const waiter of queue) {
      visited.push(waiter.request);
      if (waiter.request === 'a') {
        const all = [...queue];
        queue.reject(all[1]!, new Error('b out'));
        queue.reject(all[2]!, new Error('c out'));
        queue.grant(waiter, 'a');
      }
    }
    expect(visited).toEqual(['a', 'd', 'low']);
    expect([...queue].map((w) => w.request)).toEqual(['d', 'low']);
    queue.rejectAll(new Error('end'));
    await Promise.allSettled([...promises, later]);
  });
});

describe('WaitQueue settlement', () => {
  it('grant resolves with the value exactly once; later grant/reject return false', async () => {
    const queue = makeQueue();
    const promise = queue.enqueue('a');
    const waiter = queue.first!;
    expect(waiter.pending).toBe(true);
    expect(queue.grant(waiter, 'first')).toBe(true);
    expect(waiter.pending).toBe(false);
    expect(queue.grant(waiter, 'second')).toBe(false);
    expect(queue.reject(waiter, new Error('late'))).toBe(false);
    await expect(promise).resolves.toBe('first');
    expect(queue.size).toBe(0);
  });

  it('reject rejects with the reason exactly once and does not call onCancel', async () => {
    const onCancel = vi.fn();
    const queue = makeQueue(onCancel);
    const promise = queue.enqueue('a');
    const waiter = queue.first!;
    const reason = new Error('closed');
    expect(queue.reject(waiter, reason)).toBe(true);
    expect(queue.reject(waiter, new Error('again'))).toBe(false);
    expect(queue.grant(waiter, 'late')).toBe(false);
    expect(await rejectionOf(promise)).toBe(reason);
    expect(onCancel).not.toHaveBeenCalled();
  });

  it('a waiter of another queue is not granted', async () => {
    const one = makeQueue();
    const two = makeQueue();
    const promise = one.enqueue('a');
    expect(two.grant(one.first!, 'x')).toBe(false);
    expect(two.reject(one.first!, new Error('x'))).toBe(false);
    expect(one.size).toBe(1);
    one.grant(one.first!, 'ok');
    await expect(promise).resolves.toBe('ok');
  });

  it('rejectAll rejects every pending waiter with the reason, without onCancel', async () => {
    const onCancel = vi.fn();
    const queue = makeQueue(onCancel);
    const promises = [0, 1, 2, 3].map((p) => queue.enqueue(`w${p}`, { priority: p }));
    const reason = new Error('closed');
    queue.rejectAll(reason);
    expect(queue.size).toBe(0);
    for (const p of promises) expect(await rejectionOf(p)).toBe(reason);
    expect(onCancel).not.toHaveBeenCalled();
    queue.rejectAll(new Error('nothing left'));
    const after = queue.enqueue('after');
    queue.grant(queue.first!, 'fine');
    await expect(after).resolves.toBe('fine');
  });

  it('abort rejects with signal.reason, removes the waiter and calls onCancel after the rejection', async () => {
    const calls: Array<{ size: number; pending: boolean; request: string }> = [];
    const queue = makeQueue((w) => calls.push({ size: queue.size, pending: w.pending, request: w.request }));
    const controller = new AbortController();
    const reason = { custom: 'reason' };
    const kept = queue.enqueue('kept');
    const aborted = queue.enqueue('aborted', { signal: controller.signal });
    controller.abort(reason);
    expect(await rejectionOf(aborted)).toBe(reason);
    expect(calls).toEqual([{ size: 1, pending: false, request: 'aborted' }]);
    expect(queue.grant(queue.first!, 'ok')).toBe(true);
    await expect(kept).resolves.toBe('ok');
  });

  it('abort without a reason rejects with the platform AbortError', async () => {
    const queue = makeQueue();
    const controller = new AbortController();
    const promise = queue.enqueue('a', { signal: controller.signal });
    controller.abort();
    const error = await rejectionOf(promise);
    expect(error).toBe(controller.signal.reason);
    expect((error as DOMException).name).toBe('AbortError');
  });

  it('timeout rejects with TimeoutError naming resource and limit, then calls onCancel', async () => {
    vi.useFakeTimers();
    const onCancel = vi.fn();
    const queue = makeQueue(onCancel);
    const promise = queue.enqueue('a', { timeout: 250 });
    vi.advanceTimersByTime(249);
    expect(await stateOf(promise)).toBe('pending');
    vi.advanceTimersByTime(1);
    const error = await rejectionOf(promise);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeout).toBe(250);
    expect((error as TimeoutError).message).toContain('res');
    expect((error as TimeoutError).message).toContain('250');
    expect(onCancel).toHaveBeenCalledTimes(1);
    expect(queue.size).toBe(0);
  });

  it('onCancel is not called after a grant, even if the signal aborts or the time passes later', async () => {
    vi.useFakeTimers();
    const onCancel = vi.fn();
    const queue = makeQueue(onCancel);
    const controller = new AbortController();
    const promise = queue.enqueue('a', { signal: controller.signal, timeout: 10 });
    expect(queue.grant(queue.first!, 'won')).toBe(true);
    controller.abort();
    vi.advanceTimersByTime(100);
    await expect(promise).resolves.toBe('won');
    expect(onCancel).not.toHaveBeenCalled();
  });

  it('grant after the waiter was cancelled returns false and changes nothing', async () => {
    const queue = makeQueue();
    const controller = new AbortController();
    const promise = queue.enqueue('a', { signal: controller.signal });
    const waiter = queue.first!;
    controller.abort(new Error('gone'));
    expect(queue.grant(waiter, 'too late')).toBe(false);
    expect(((await rejectionOf(promise)) as Error).message).toBe('gone');
  });

  it('timeout 0 and an already-aborted signal reject at once, without queueing, timer or listener', async () => {
    vi.useFakeTimers();
    const onCancel = vi.fn();
    const queue = makeQueue(onCancel);
    const zero = queue.enqueue('a', { timeout: 0 });
    expect(queue.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(await stateOf(zero)).toBe('rejected');
    const error = await rejectionOf(zero);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeout).toBe(0);
    const reason = new Error('already');
    const signal = AbortSignal.abort(reason);
    const add = vi.spyOn(signal, 'addEventListener');
    const aborted = queue.enqueue('b', { signal, timeout: 100 });
    expect(queue.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(add).not.toHaveBeenCalled();
    expect(await stateOf(aborted)).toBe('rejected');
    expect(await rejectionOf(aborted)).toBe(reason);
    // Abort wins over timeout 0: the caller asked to stop.
    expect(await rejectionOf(queue.enqueue('c', { signal, timeout: 0 }))).toBe(reason);
    expect(onCancel).not.toHaveBeenCalled();
  });

  it('timeout Infinity waits without a timer', async () => {
    vi.useFakeTimers();
    const queue = makeQueue();
    const promise = queue.enqueue('a', { timeout: Number.POSITIVE_INFINITY });
    expect(vi.getTimerCount()).toBe(0);
    queue.grant(queue.first!, 'ok');
    await expect(promise).resolves.toBe('ok');
  });
});

describe('WaitQueue events', () => {
  it('reports wait, timeout and aborted with resource, mode, lock, owner, permits and wait time', async () => {
    vi.useFakeTimers();
    // The fake clock starts at 0, which a wait start of 0 would mean "did not wait".
    vi.advanceTimersByTime(1);
    const events: LockEvent[] = [];
    const stop = addObserver((e) => events.push(e));
    try {
      const lock = {};
      const queue = new WaitQueue<number, string>({ resource: 'pool', lock, mode: (n) => (n > 1 ? 'bulk' : 'single') });
      const timedOut = queue.enqueue(2, { timeout: 30, owner: 'task-a' });
      const controller = new AbortController();
      const aborted = queue.enqueue(1, { signal: controller.signal, owner: 'task-b' });
      vi.advanceTimersByTime(30);
      controller.abort();
      const immediate = queue.enqueue(1, { timeout: 0, owner: 'task-c' });
      await Promise.allSettled([timedOut, aborted, immediate]);
      expect(events.map((e) => `${e.type}:${e.owner}:${e.mode}:${e.permits}`)).toEqual([
        'wait:task-a:bulk:2',
        'wait:task-b:single:1',
        'timeout:task-a:bulk:2',
        'aborted:task-b:single:1',
        'timeout:task-c:single:1',
      ]);
      for (const e of events) expect(e).toMatchObject({ resource: 'pool', lock });
      expect(events[2]!.waitTime).toBeGreaterThanOrEqual(30);
      expect(events[2]!.error).toBeInstanceOf(TimeoutError);
      expect(events[3]!.error).toBe(controller.signal.reason);
      expect(events[4]!.waitTime).toBe(0);
      expect(events[0]!.waitTime).toBeUndefined();
    } finally {
      stop();
    }
  });

  it('reports nothing for a request that is not a number of permits, and defaults mode to exclusive', async () => {
    const events: LockEvent[] = [];
    const stop = addObserver((e) => events.push(e));
    try {
      const queue = makeQueue();
      const p = queue.enqueue('a');
      queue.grant(queue.first!, 'a');
      await p;
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'wait', mode: 'exclusive' });
      expect('permits' in events[0]!).toBe(false);
    } finally {
      stop();
    }
  });
});
