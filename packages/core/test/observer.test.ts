import {
  addObserver,
  emit,
  isInvalidArgumentError,
  type LockEvent,
  observing,
  resolveOwner,
  setOwnerResolver,
  WaitQueue,
} from '@cf/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rejectionOf, TestLease } from './helpers.js';

const stops: Array<() => void> = [];
function observe(observer: (event: LockEvent) => void): () => void {
  const stop = addObserver(observer);
  stops.push(stop);
  return stop;
}

afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  setOwnerResolver(undefined);
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const event = (type: LockEvent['type']): LockEvent => ({
  type,
  resource: 'r',
  mode: 'exclusive',
  lock: {},
  owner: undefined,
  timestamp: 1,
});

describe('observer registry', () => {
  it('observing follows registrations, and unregistering restores false', () => {
    expect(observing).toBe(false);
    const stopA = observe(() => {});
    expect(observing).toBe(true);
    const stopB = observe(() => {});
    stopA();
    expect(observing).toBe(true);
    stopB();
    expect(observing).toBe(false);
  });

  it('delivers each event to every observer in registration order', () => {
    const seen: string[] = [];
    observe((e) => seen.push(`a:${e.type}`));
    observe((e) => seen.push(`b:${e.type}`));
    emit(event('wait'));
    emit(event('acquired'));
    expect(seen).toEqual(['a:wait', 'b:wait', 'a:acquired', 'b:acquired']);
  });

  it('treats each registration separately: a stale unregister never removes a later one', () => {
    const seen: string[] = [];
    const observer = (e: LockEvent) => seen.push(e.type);
    const first = observe(observer);
    const second = observe(observer);
    emit(event('wait'));
    expect(seen).toEqual(['wait', 'wait']);
    first();
    first();
    emit(event('released'));
    expect(seen).toEqual(['wait', 'wait', 'released']);
    expect(observing).toBe(true);
    second();
    expect(observing).toBe(false);
    emit(event('lost'));
    expect(seen).toHaveLength(3);
  });

  it('changes made while an event is delivered take effect from the next event', () => {
    const seen: string[] = [];
    let stopSelf: () => void = () => {};
    stopSelf = observe((e) => {
      seen.push(`self:${e.type}`);
      stopSelf();
      observe((late) => seen.push(`late:${late.type}`));
    });
    observe((e) => seen.push(`other:${e.type}`));
    emit(event('wait'));
    emit(event('timeout'));
    expect(seen).toEqual(['self:wait', 'other:wait', 'other:timeout', 'late:timeout']);
  });

  it('rejects a non-function observer with a typed error and stays usable', () => {
    for (const bad of [undefined, null, 'fn', {}, 1]) {
      let caught: unknown;
      try {
        addObserver(bad as never);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TypeError);
      expect(isInvalidArgumentError(caught)).toBe(true);
      expect((caught as Error).message).toMatch(/^Invalid observer: received .*; expected a function\.$/);
    }
    expect(observing).toBe(false);
  });

  it('a throwing observer neither stops other observers nor disturbs the queue; its error is rethrown later', async () => {
    const rethrown: Array<() => void> = [];
    vi.stubGlobal('queueMicrotask', (callback: () => void) => rethrown.push(callback));
    const bug = new Error('observer bug');
    const seen: string[] = [];
    observe(() => {
      throw bug;
    });
    observe((e) => seen.push(e.type));
    const queue = new WaitQueue<number, string>({ resource: 'q', lock: {} });
    const granted = queue.enqueue(1);
    const aborted = new AbortController();
    const cancelled = queue.enqueue(2, { signal: aborted.signal });
    aborted.abort(new Error('stop'));
    expect(queue.grant(queue.first!, 'ok')).toBe(true);
    const lease = new TestLease('q', 1, { lock: queue, mode: 'exclusive', owner: 'me', waitStart: 0 });
    void lease.release();
    vi.unstubAllGlobals();
    expect(queue.size).toBe(0);
    await expect(granted).resolves.toBe('ok');
    expect(((await rejectionOf(cancelled)) as Error).message).toBe('stop');
    expect(lease.holdReleases).toBe(1);
    expect(seen).toEqual(['wait', 'wait', 'aborted', 'acquired', 'released']);
    expect(rethrown).toHaveLength(5);
    for (const callback of rethrown) expect(callback).toThrow(bug);
  });
});

describe('owner resolution', () => {
  it('prefers the explicit owner, then the installed resolver', () => {
    expect(resolveOwner(undefined)).toBeUndefined();
    expect(resolveOwner('explicit')).toBe('explicit');
    const task = { id: 7 };
    setOwnerResolver(() => task);
    expect(resolveOwner(undefined)).toBe(task);
    expect(resolveOwner(0)).toBe(0);
    expect(resolveOwner(null)).toBeNull();
    setOwnerResolver(undefined);
    expect(resolveOwner(undefined)).toBeUndefined();
  });

  it('reaches waiters and events', async () => {
    const seen: unknown[] = [];
    observe((e) => seen.push(e.owner));
    setOwnerResolver(() => 'context-owner');
    const queue = new WaitQueue<undefined, number>({ resource: 'q', lock: {} });
    const a = queue.enqueue(undefined);
    const b = queue.enqueue(undefined, { owner: 'explicit-owner' });
    expect([...queue].map((w) => w.owner)).toEqual(['context-owner', 'explicit-owner']);
    queue.rejectAll(new Error('done'));
    await Promise.allSettled([a, b]);
    expect(seen).toEqual(['context-owner', 'explicit-owner']);
  });

  it('rejects a resolver that is not a function', () => {
    for (const bad of [null, 'owner', 1, {}]) {
      expect(() => setOwnerResolver(bad as never)).toThrow(TypeError);
    }
    expect(resolveOwner(undefined)).toBeUndefined();
  });
});
