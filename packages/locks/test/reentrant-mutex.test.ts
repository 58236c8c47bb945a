import { isTimeoutError, setOwnerResolver } from '@cf/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ReentrantMutex } from '../src/index.js';
import { currentOwner, runAsOwner } from '../src/node.js';
import { expectInvalidAsync, flush, rejectionOf, stateOf } from './helpers.js';

afterEach(() => {
  // runAsOwner installs core's owner resolver; other files must not inherit it.
  setOwnerResolver(undefined);
});

describe('ReentrantMutex with explicit owners', () => {
  it('lets the holder re-enter without waiting; each lease releases one level', async () => {
    const mutex = new ReentrantMutex({ name: 'tree' });
    const me = Symbol('me');
    const outer = await mutex.acquire({ owner: me });
    const inner = await mutex.acquire({ owner: me });
    expect(mutex.holdCount).toBe(2);
    expect(mutex.isHeldBy(me)).toBe(true);
    const other = mutex.acquire({ owner: 'other' });
    outer.release();
    outer.release();
    expect(mutex.holdCount).toBe(1);
    expect(await stateOf(other)).toBe('pending');
    inner.release();
    const otherLease = await other;
    expect(mutex.isHeldBy('other')).toBe(true);
    expect(mutex.isHeldBy(me)).toBe(false);
    otherLease.release();
    expect(mutex.isLocked).toBe(false);
  });

  it('refuses an acquisition without any owner, and stays usable', async () => {
    const mutex = new ReentrantMutex();
    await expectInvalidAsync(() => mutex.acquire(), 'type', 'options.owner');
    expect(() => mutex.tryAcquireSync()).toThrow(TypeError);
    await expectInvalidAsync(() => mutex.tryAcquire(), 'type', 'options.owner');
    (await mutex.acquire({ owner: 1 })).release();
    expect(mutex.isLocked).toBe(false);
  });

  it('tryAcquireSync re-enters for the holder and refuses others', () => {
    const mutex = new ReentrantMutex();
    const a = mutex.tryAcquireSync({ owner: 'a' })!;
    const again = mutex.tryAcquireSync({ owner: 'a' })!;
    expect(mutex.tryAcquireSync({ owner: 'b' })).toBeUndefined();
    again.release();
    a.release();
    const b = mutex.tryAcquireSync({ owner: 'b' });
    expect(b).toBeDefined();
    b!.release();
  });

  it('grants every queued request of the new holder together', async () => {
    const mutex = new ReentrantMutex();
    const a = await mutex.acquire({ owner: 'a' });
    const b1 = mutex.acquire({ owner: 'b' });
    const c = mutex.acquire({ owner: 'c' });
    const b2 = mutex.acquire({ owner: 'b' });
    a.release();
    const [lease1, lease2] = await Promise.all([b1, b2]);
    expect(mutex.holdCount).toBe(2);
    expect(await stateOf(c)).toBe('pending');
    lease1.release();
    lease2.release();
    (await c).release();
    expect(mutex.isLocked).toBe(false);
  });

  it('times out and aborts foreign waiters without disturbing the holder', async () => {
    const mutex = new ReentrantMutex();
    const holder = await mutex.acquire({ owner: 'a' });
    expect(isTimeoutError(await rejectionOf(mutex.acquire({ owner: 'b', timeout: 5 })))).toBe(true);
    const controller = new AbortController();
    const aborted = mutex.acquire({ owner: 'c', signal: controller.signal });
    controller.abort('gone');
    expect(await rejectionOf(aborted)).toBe('gone');
    expect(mutex.waitersCount).toBe(0);
    expect(mutex.holdCount).toBe(1);
    holder.release();
    expect(mutex.isLocked).toBe(false);
  });

  it('a pre-aborted signal rejects even for the holder', async () => {
    const mutex = new ReentrantMutex();
    const holder = await mutex.acquire({ owner: 'a' });
    expect(await rejectionOf(mutex.acquire({ owner: 'a', signal: AbortSignal.abort('no') }))).toBe('no');
    expect(mutex.holdCount).toBe(1);
    holder.release();
  });

  it('forOwner gives a plain Lock whose acquisitions belong to that owner', async () => {
    const mutex = new ReentrantMutex();
    const mine = mutex.forOwner('me');
    const theirs = mutex.forOwner('them');
    const l1 = await mine.acquire();
    const l2 = await mine.acquire({ timeout: 0 });
    expect(await theirs.tryAcquire()).toBeUndefined();
    l1.release();
    l2.release();
    const l3 = await theirs.tryAcquire();
    expect(l3).toBeDefined();
    l3!.release();
    expect(() => mutex.forOwner(undefined)).toThrow(TypeError);
  });

  it('withLock nests for the same owner', async () => {
    const mutex = new ReentrantMutex();
    const result = await mutex.withLock(() => mutex.withLock(() => mutex.holdCount, { owner: 'x' }), { owner: 'x' });
    expect(result).toBe(2);
    expect(mutex.isLocked).toBe(false);
  });
});

describe('ReentrantMutex with async-context owners (@cf/locks/node)', () => {
  it('treats everything inside one runAsOwner as the same owner, across awaits and timers', async () => {
    const mutex = new ReentrantMutex();
    await runAsOwner(async () => {
      const outer = await mutex.acquire();
      await flush();
      const inner = await new Promise<Awaited<ReturnType<typeof mutex.acquire>>>((resolve) => {
        setTimeout(() => resolve(mutex.acquire()), 1);
      });
      expect(mutex.holdCount).toBe(2);
      expect(mutex.isHeldBy()).toBe(true);
      inner.release();
      outer.release();
    });
    expect(mutex.isLocked).toBe(false);
  });

  it('excludes separate runAsOwner scopes from each other', async () => {
    const mutex = new ReentrantMutex();
    let inside = 0;
    let maxInside = 0;
    const task = () =>
      runAsOwner(async () => {
        const lease = await mutex.acquire();
        const nested = await mutex.acquire();
        inside++;
        maxInside = Math.max(maxInside, inside);
        await flush(3);
        inside--;
        nested.release();
        lease.release();
      });
    await Promise.all([task(), task(), task(), task()]);
    expect(maxInside).toBe(1);
  });

  it('a nested runAsOwner is a different owner', async () => {
    const mutex = new ReentrantMutex();
    await runAsOwner(async () => {
      const outerOwner = currentOwner();
      const lease = await mutex.acquire();
      const nested = runAsOwner(async () => {
        expect(currentOwner()).not.toBe(outerOwner);
        return mutex.acquire({ timeout: 0 });
      });
      expect(isTimeoutError(await rejectionOf(nested))).toBe(true);
      lease.release();
    });
  });

  it('accepts an explicit owner token, and options.owner still wins', async () => {
    const mutex = new ReentrantMutex();
    const token = { request: 7 };
    await runAsOwner(async () => {
      expect(currentOwner()).toBe(token);
      const a = await mutex.acquire();
      expect(mutex.isHeldBy(token)).toBe(true);
      expect(await mutex.tryAcquire({ owner: 'someone-else' })).toBeUndefined();
      a.release();
    }, token);
    expect(currentOwner()).toBeUndefined();
    expect(() => runAsOwner(() => 1, null)).toThrow(TypeError);
    expect(() => runAsOwner('x' as never)).toThrow(TypeError);
  });
});
