import { isNotHeldError, isTimeoutError, type Lease, Priority } from '@cf/core';
import { describe, expect, it } from 'vitest';
import { ReadWriteLock, type ReadWritePolicy } from '../src/index.js';
import { flush, rejectionOf, stateOf } from './helpers.js';

describe('ReadWriteLock', () => {
  it('lets readers share and keeps writers exclusive', async () => {
    const rw = new ReadWriteLock({ name: 'table' });
    const r1 = await rw.read.acquire();
    const r2 = await rw.read.acquire();
    expect(rw.readersCount).toBe(2);
    expect(rw.write.tryAcquireSync()).toBeUndefined();
    const writer = rw.write.acquire();
    r1.release();
    expect(await stateOf(writer)).toBe('pending');
    r2.release();
    const w = await writer;
    expect(rw.isWriteLocked).toBe(true);
    expect(rw.read.tryAcquireSync()).toBeUndefined();
    expect(w.resource).toBe('table');
    w.release();
    expect(rw.isLocked).toBe(false);
  });

  it('leases returned at once, granted after a wait and downgraded all name the lock and release once', async () => {
    const rw = new ReadWriteLock({ name: 'ledger', policy: 'fair' });
    const freeWrite = await rw.write.acquire();
    const queuedRead = rw.read.acquire();
    const queuedWrite = rw.write.acquire();
    await freeWrite.release();
    const grantedRead = await queuedRead;
    await grantedRead.release();
    const grantedWrite = await queuedWrite;
    const downgraded = grantedWrite.downgrade();
    const syncRead = rw.read.tryAcquireSync()!;
    const leases = [freeWrite, grantedRead, grantedWrite, downgraded, syncRead];
    expect(leases.map((lease) => lease.resource)).toEqual(Array(5).fill('ledger'));
    expect(leases.map((lease) => lease.token)).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(grantedWrite.released).toBe(true);
    expect(rw.readersCount).toBe(2);
    // Stale releases of ended leases change nothing.
    await Promise.all([freeWrite.release(), grantedRead.release(), grantedWrite.release()]);
    expect(rw.readersCount).toBe(2);
    await Promise.all([downgraded.release(), syncRead.release(), syncRead.release()]);
    expect(rw.isLocked).toBe(false);
  });

  it('defaults to write-preferring: a waiting writer stops new readers', async () => {
    const rw = new ReadWriteLock();
    expect(rw.policy).toBe('write-preferring');
    const r1 = await rw.read.acquire();
    const writer = rw.write.acquire();
    const r2 = rw.read.acquire();
    expect(rw.read.tryAcquireSync()).toBeUndefined();
    expect(rw.waitersCount).toEqual({ readers: 1, writers: 1 });
    r1.release();
    const w = await writer;
    expect(await stateOf(r2)).toBe('pending');
    w.release();
    (await r2).release();
    expect(rw.isLocked).toBe(false);
  });

  it('read-preferring lets readers join while a writer waits', async () => {
    const rw = new ReadWriteLock({ policy: 'read-preferring' });
    const r1 = await rw.read.acquire();
    const writer = rw.write.acquire();
    const r2 = await rw.read.acquire();
    const r3 = rw.read.tryAcquireSync();
    expect(r3).toBeDefined();
    r1.release();
    r2.release();
    expect(await stateOf(writer)).toBe('pending');
    r3!.release();
    (await writer).release();
  });

  it('read-preferring: all waiting readers go before waiting writers', async () => {
    const rw = new ReadWriteLock({ policy: 'read-preferring' });
    const w1 = await rw.write.acquire();
    const order: string[] = [];
    const track = (name: string, p: Promise<Lease>) =>
      p.then((l) => {
        order.push(name);
        return l;
      });
    const w2 = track('w2', rw.write.acquire());
    const r1 = track('r1', rw.read.acquire());
    const r2 = track('r2', rw.read.acquire());
    w1.release();
    const [l1, l2] = await Promise.all([r1, r2]);
    expect(await stateOf(w2)).toBe('pending');
    l1.release();
    l2.release();
    (await w2).release();
    expect(order).toEqual(['r1', 'r2', 'w2']);
  });

  it('fair admits in arrival order, consecutive readers together as a phase', async () => {
    const rw = new ReadWriteLock({ policy: 'fair' });
    const w0 = await rw.write.acquire();
    const order: string[] = [];
    const held = new Map<string, Lease>();
    const track = (name: string, p: Promise<Lease>) =>
      p.then((l) => {
        order.push(name);
        held.set(name, l);
      });
    const all = [
      track('r1', rw.read.acquire()),
      track('r2', rw.read.acquire()),
      track('w1', rw.write.acquire()),
      track('r3', rw.read.acquire()),
    ];
    w0.release();
    await flush();
    expect(order).toEqual(['r1', 'r2']);
    held.get('r1')!.release();
    held.get('r2')!.release();
    await flush();
    expect(order).toEqual(['r1', 'r2', 'w1']);
    held.get('w1')!.release();
    await Promise.all(all);
    expect(order).toEqual(['r1', 'r2', 'w1', 'r3']);
    held.get('r3')!.release();
    expect(rw.isLocked).toBe(false);
  });

  it('priority decides before the policy, on both sides', async () => {
    const rw = new ReadWriteLock();
    const holder = await rw.write.acquire();
    const order: string[] = [];
    const track = (name: string, p: Promise<Lease>) =>
      p.then((l) => {
        order.push(name);
        l.release();
      });
    const all = [
      track('writer-low', rw.write.acquire({ priority: Priority.LOW })),
      track('reader-high', rw.read.acquire({ priority: Priority.HIGH })),
      track('writer-critical', rw.write.acquire({ priority: Priority.CRITICAL })),
    ];
    holder.release();
    await Promise.all(all);
    expect(order).toEqual(['writer-critical', 'reader-high', 'writer-low']);
  });

  it('a more urgent reader passes a waiting writer while readers hold', async () => {
    const rw = new ReadWriteLock();
    const r1 = await rw.read.acquire();
    const writer = rw.write.acquire();
    const urgent = await rw.read.acquire({ priority: Priority.CRITICAL, timeout: 0 });
    r1.release();
    urgent.release();
    (await writer).release();
  });

  for (const policy of ['write-preferring', 'fair'] as ReadWritePolicy[]) {
    it(`${policy}: an aborted queued writer lets the readers behind it in`, async () => {
      const rw = new ReadWriteLock({ policy });
      const r1 = await rw.read.acquire();
      const controller = new AbortController();
      const writer = rw.write.acquire({ signal: controller.signal });
      const r2 = rw.read.acquire();
      const r3 = rw.read.acquire();
      expect(await stateOf(r2)).toBe('pending');
      controller.abort(new Error('writer gave up'));
      await rejectionOf(writer);
      const [l2, l3] = await Promise.all([r2, r3]);
      expect(rw.readersCount).toBe(3);
      r1.release();
      l2.release();
      l3.release();
      expect(rw.isLocked).toBe(false);
      expect(rw.waitersCount).toEqual({ readers: 0, writers: 0 });
    });

    it(`${policy}: a timed-out queued writer lets the readers behind it in`, async () => {
      const rw = new ReadWriteLock({ policy });
      const r1 = await rw.read.acquire();
      const writer = rw.write.acquire({ timeout: 5 });
      const r2 = rw.read.acquire();
      expect(isTimeoutError(await rejectionOf(writer))).toBe(true);
      (await r2).release();
      r1.release();
      expect(rw.isLocked).toBe(false);
    });
  }

  it('downgrade turns a write lease into a read lease with no writer in between', async () => {
    const rw = new ReadWriteLock();
    const w = await rw.write.acquire();
    const otherWriter = rw.write.acquire();
    const reader = rw.read.acquire({ priority: Priority.HIGH });
    const signal = w.signal;
    const read = w.downgrade();
    expect(signal.aborted).toBe(true);
    expect(w.released).toBe(true);
    expect(rw.isWriteLocked).toBe(false);
    expect(read.token > w.token).toBe(true);
    // The more urgent reader may join; the writer may not.
    const r2 = await reader;
    expect(rw.readersCount).toBe(2);
    expect(await stateOf(otherWriter)).toBe('pending');
    w.release();
    expect(rw.readersCount).toBe(2);
    read.release();
    r2.release();
    (await otherWriter).release();
    expect(rw.isLocked).toBe(false);
  });

  it('downgrade of an ended lease throws NotHeldError', async () => {
    const rw = new ReadWriteLock();
    const w = await rw.write.acquire();
    const read = w.downgrade();
    expect(
      isNotHeldError(
        (() => {
          try {
            w.downgrade();
          } catch (e) {
            return e;
          }
        })(),
      ),
    ).toBe(true);
    read.release();
    const w2 = await rw.write.acquire();
    w2.release();
    expect(() => w2.downgrade()).toThrow(/already ended/);
    expect(rw.isLocked).toBe(false);
  });

  it('release twice on either side never frees another holder', async () => {
    const rw = new ReadWriteLock();
    const r = await rw.read.acquire();
    const w = rw.write.acquire();
    r.release();
    const wl = await w;
    r.release();
    expect(rw.isWriteLocked).toBe(true);
    wl.release();
    wl.release();
    const r2 = await rw.read.acquire();
    wl.release();
    expect(rw.readersCount).toBe(1);
    r2.release();
  });

  it('timeouts and aborts on the read side leave the lock consistent', async () => {
    const rw = new ReadWriteLock();
    const w = await rw.write.acquire();
    expect(isTimeoutError(await rejectionOf(rw.read.acquire({ timeout: 1 })))).toBe(true);
    expect(await rejectionOf(rw.read.acquire({ signal: AbortSignal.abort('pre') }))).toBe('pre');
    expect(rw.waitersCount).toEqual({ readers: 0, writers: 0 });
    w.release();
    expect(rw.isLocked).toBe(false);
  });

  it('withLock on both sides, and tryAcquire', async () => {
    const rw = new ReadWriteLock();
    const value = await rw.read.withLock(async () => {
      expect(await rw.write.tryAcquire()).toBeUndefined();
      return rw.readersCount;
    });
    expect(value).toBe(1);
    await rw.write.withLock((lease) => {
      expect(lease.downgrade).toBeTypeOf('function');
    });
    expect(rw.isLocked).toBe(false);
  });

  it('never lets a reader beside a writer under a random workload', async () => {
    for (const policy of ['write-preferring', 'read-preferring', 'fair'] as const) {
      const rw = new ReadWriteLock({ policy });
      let readers = 0;
      let writers = 0;
      let violations = 0;
      await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          for (let k = 0; k < 10; k++) {
            if ((i + k) % 3 === 0) {
              const lease = await rw.write.acquire({ priority: k % 4 });
              writers++;
              if (writers > 1 || readers > 0) violations++;
              await flush(2);
              writers--;
              lease.release();
            } else {
              const lease = await rw.read.acquire({ priority: (k + i) % 4 });
              readers++;
              if (writers > 0) violations++;
              await flush(1);
              readers--;
              lease.release();
            }
          }
        }),
      );
      expect(violations).toBe(0);
      expect(rw.isLocked).toBe(false);
    }
  });
});
