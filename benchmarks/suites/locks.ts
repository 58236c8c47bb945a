/**
 * @cf/locks' in-process locks against the floors and against async-mutex, await-lock, async-sema
 * and @esfx, in one process run (issue 3).
 *
 * - uncontended: `const lease = await mutex.acquire(); lease.release()` on a mutex nobody else
 *   uses, next to one awaited resolved promise and a minimal lease-returning lock written here;
 * - tryAcquireSync: the synchronous fast path with its lease, next to a boolean check-and-set;
 * - contended: 100 tasks share one lock, each cycle is acquire, `await null`, release, next to the
 *   same 100 tasks with no lock and a minimal hand-written lock (no priorities, no cancellation);
 * - read-write: both sides of ReadWriteLock uncontended, next to the Mutex of the same run;
 * - LockManager: a named acquire+release, uncontended, informational;
 * - observers: the Mutex with one observer registered, informational (the cost of instrumentation).
 *
 * `teardown` also measures heap bytes (idle Mutex, a held LockManager name, an idle name) with a
 * real garbage collector and prints them.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { addObserver } from '@cf/core';
import { LockManager, Mutex, ReadWriteLock } from '@cf/locks';
import { AsyncMutex } from '@esfx/async-mutex';
import { AsyncReaderWriterLock } from '@esfx/async-readerwriterlock';
import { Mutex as AsyncMutexMutex } from 'async-mutex';
import { Sema } from 'async-sema';
import AwaitLock from 'await-lock';
import { defineSuite, floorTasks } from '../harness.ts';
import { CONTENDED_CYCLES as CYCLES, contend, CONTENDED_ROUNDS as ROUNDS } from '../lib/contention.ts';

const UNCONTENDED = 'uncontended acquire+release';
const TRY = 'tryAcquireSync+release (sync)';
const CONTENDED = 'one lock, 100 tasks';
const READ_WRITE = 'ReadWriteLock uncontended';
const MANAGER = 'LockManager uncontended';
const OBSERVED = 'Mutex with an observer';

const BATCH = 1000;

/** The smallest lock that still returns a lease object per acquisition (no queue features). */
class MinimalLease {
  #lock: MinimalLock | undefined;
  constructor(lock: MinimalLock) {
    this.#lock = lock;
  }
  release(): void {
    const lock = this.#lock;
    if (lock === undefined) return;
    this.#lock = undefined;
    lock.unlock();
  }
}

class MinimalLock {
  #held = false;
  #waiters: ((lease: MinimalLease) => void)[] = [];
  #head = 0;
  acquire(): Promise<MinimalLease> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(new MinimalLease(this));
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  unlock(): void {
    if (this.#head < this.#waiters.length) {
      const next = this.#waiters[this.#head]!;
      this.#waiters[this.#head++] = undefined as never;
      if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
        this.#waiters = this.#waiters.slice(this.#head);
        this.#head = 0;
      }
      next(new MinimalLease(this));
      return;
    }
    this.#held = false;
  }
}

const mutex = new Mutex();
const minimal = new MinimalLock();
const asyncMutex = new AsyncMutexMutex();
const awaitLock = new AwaitLock();
const sema = new Sema(1);
const esfxMutex = new AsyncMutex();
const rw = new ReadWriteLock();
const esfxRw = new AsyncReaderWriterLock();
const manager = new LockManager();
const observedMutex = new Mutex();

const mutexC = new Mutex();
const minimalC = new MinimalLock();
const asyncMutexC = new AsyncMutexMutex();
const awaitLockC = new AwaitLock();
const semaC = new Sema(1);
const esfxMutexC = new AsyncMutex();

let stopObserving: (() => void) | undefined;

function heapAfterGc(gc: () => void): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Heap bytes per object: `count` objects made by `make`, measured after full collections. */
async function bytesPer(count: number, make: (i: number) => unknown, gc: () => void): Promise<number> {
  const keep: unknown[] = new Array(count).fill(undefined);
  const before = heapAfterGc(gc);
  for (let i = 0; i < count; i++) keep[i] = await make(i);
  const after = heapAfterGc(gc);
  return (after - before) / keep.length;
}

async function measureHeap(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const count = 100_000;
  const idleMutex = await bytesPer(count, () => new Mutex(), gc);
  const usedMutex = await bytesPer(
    count,
    () => {
      const m = new Mutex();
      m.tryAcquireSync()?.release();
      return m;
    },
    gc,
  );
  const asyncMutexIdle = await bytesPer(count, () => new AsyncMutexMutex(), gc);
  const esfxIdle = await bytesPer(count, () => new AsyncMutex(), gc);
  const heldManager = new LockManager();
  const names = Array.from({ length: count }, (_, i) => `name-${i}`);
  const heldName = await bytesPer(count, (i) => heldManager.acquire(names[i]!), gc);
  const idleManager = new LockManager();
  for (let i = 0; i < 10_000; i++) (await idleManager.acquire(`warm-${i}`)).release();
  const before = heapAfterGc(gc);
  for (let i = 0; i < 1_000_000; i++) (await idleManager.acquire(`idle-${i}`)).release();
  const idleGrowth = heapAfterGc(gc) - before;
  console.log('\nlocks: heap bytes per object (100,000 each, after full GCs; Node 20 has no pointer compression)');
  console.log(`  idle Mutex, never acquired          ${idleMutex.toFixed(1)}`);
  console.log(`  idle Mutex after one acquisition    ${usedMutex.toFixed(1)} (its generated name included)`);
  console.log(`  idle async-mutex Mutex              ${asyncMutexIdle.toFixed(1)}`);
  console.log(`  idle @esfx/async-mutex AsyncMutex   ${esfxIdle.toFixed(1)}`);
  console.log(`  LockManager held name, with lease   ${heldName.toFixed(1)} (${heldManager.size} names)`);
  console.log(`  LockManager after 1,000,000 names   ${idleGrowth} bytes of heap growth (${idleManager.size} left)`);
}

export default defineSuite({
  name: 'locks',
  title: 'In-process locks (@cf/locks)',
  description:
    'Mutex, ReadWriteLock and LockManager acquire+release, uncontended and with 100 tasks contending, against ' +
    'awaited-promise floors, minimal hand-written locks, async-mutex 0.5.0 (ESM build), await-lock 3.0.0, ' +
    'async-sema 3.1.1 (Sema(1)), @esfx/async-mutex 1.0.0 and @esfx/async-readerwriterlock 1.0.0-pre.8. ' +
    'Contended tasks run 100 workers x 20 cycles of acquire, `await null`, release.',
  // Measured after the timings: a million lock names of garbage must not slow the tasks down.
  teardown: async () => {
    stopObserving?.();
    await measureHeap();
  },
  tasks: [
    ...floorTasks(UNCONTENDED, BATCH).filter((task) => task.name === 'await resolved promise'),
    {
      group: UNCONTENDED,
      kind: 'floor',
      name: 'minimal lease-returning lock',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const lease = await minimal.acquire();
          lease.release();
        }
      },
    },
    {
      group: UNCONTENDED,
      kind: 'ours',
      name: '@cf/locks Mutex',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const lease = await mutex.acquire();
          lease.release();
        }
      },
    },
    {
      group: UNCONTENDED,
      kind: 'peer',
      name: 'async-mutex Mutex',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const release = await asyncMutex.acquire();
          release();
        }
      },
    },
    {
      group: UNCONTENDED,
      kind: 'peer',
      name: 'await-lock',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          await awaitLock.acquireAsync();
          awaitLock.release();
        }
      },
    },
    {
      group: UNCONTENDED,
      kind: 'peer',
      name: 'async-sema Sema(1)',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          await sema.acquire();
          sema.release();
        }
      },
    },
    {
      group: UNCONTENDED,
      kind: 'peer',
      name: '@esfx/async-mutex',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const handle = await esfxMutex.lock();
          handle.unlock();
        }
      },
    },

    ...floorTasks(TRY, BATCH).filter((task) => task.name === 'sync boolean flag check+set'),
    {
      group: TRY,
      kind: 'ours',
      name: '@cf/locks Mutex tryAcquireSync',
      batch: BATCH * 10,
      fn: () => {
        let taken = 0;
        for (let i = 0; i < BATCH * 10; i++) {
          const lease = mutex.tryAcquireSync();
          if (lease !== undefined) {
            taken++;
            lease.release();
          }
        }
        return taken;
      },
    },
    {
      group: TRY,
      kind: 'peer',
      name: 'await-lock tryAcquire',
      batch: BATCH * 10,
      fn: () => {
        let taken = 0;
        for (let i = 0; i < BATCH * 10; i++) {
          if (awaitLock.tryAcquire()) {
            taken++;
            awaitLock.release();
          }
        }
        return taken;
      },
    },

    {
      group: CONTENDED,
      kind: 'floor',
      name: 'no lock',
      batch: CYCLES,
      fn: () =>
        contend(async () => {
          for (let round = 0; round < ROUNDS; round++) {
            await null;
          }
        }),
      async: true,
    },
    {
      group: CONTENDED,
      kind: 'floor',
      name: 'minimal hand-written lock',
      batch: CYCLES,
      fn: () =>
        contend(async () => {
          for (let round = 0; round < ROUNDS; round++) {
            const lease = await minimalC.acquire();
            await null;
            lease.release();
          }
        }),
      async: true,
    },
    {
      group: CONTENDED,
      kind: 'ours',
      name: '@cf/locks Mutex',
      batch: CYCLES,
      fn: () =>
        contend(async () => {
          for (let round = 0; round < ROUNDS; round++) {
            const lease = await mutexC.acquire();
            await null;
            lease.release();
          }
        }),
      async: true,
    },
    {
      group: CONTENDED,
      kind: 'peer',
      name: 'async-sema Sema(1)',
      batch: CYCLES,
      fn: () =>
        contend(async () => {
          for (let round = 0; round < ROUNDS; round++) {
            await semaC.acquire();
            await null;
            semaC.release();
          }
        }),
      async: true,
    },
    {
      group: CONTENDED,
      kind: 'peer',
      name: 'await-lock',
      batch: CYCLES,
      fn: () =>
        contend(async () => {
          for (let round = 0; round < ROUNDS; round++) {
            await awaitLockC.acquireAsync();
            await null;
            awaitLockC.release();
          }
        }),
      async: true,
    },
    {
      group: CONTENDED,
      kind: 'peer',
      name: 'async-mutex Mutex',
      batch: CYCLES,
      fn: () =>
        contend(async () => {
          for (let round = 0; round < ROUNDS; round++) {
            const release = await asyncMutexC.acquire();
            await null;
            release();
          }
        }),
      async: true,
    },
    {
      group: CONTENDED,
      kind: 'peer',
      name: '@esfx/async-mutex',
      batch: CYCLES,
      fn: () =>
        contend(async () => {
          for (let round = 0; round < ROUNDS; round++) {
            const handle = await esfxMutexC.lock();
            await null;
            handle.unlock();
          }
        }),
      async: true,
    },

    {
      group: READ_WRITE,
      kind: 'floor',
      name: '@cf/locks Mutex',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const lease = await mutex.acquire();
          lease.release();
        }
      },
    },
    {
      group: READ_WRITE,
      kind: 'ours',
      name: '@cf/locks ReadWriteLock read',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const lease = await rw.read.acquire();
          lease.release();
        }
      },
    },
    {
      group: READ_WRITE,
      kind: 'ours',
      name: '@cf/locks ReadWriteLock write',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const lease = await rw.write.acquire();
          lease.release();
        }
      },
    },
    {
      group: READ_WRITE,
      kind: 'peer',
      name: '@esfx/async-readerwriterlock read',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const handle = await esfxRw.read();
          handle.unlock();
        }
      },
    },
    {
      group: READ_WRITE,
      kind: 'peer',
      name: '@esfx/async-readerwriterlock write',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const handle = await esfxRw.write();
          handle.unlock();
        }
      },
    },

    {
      group: MANAGER,
      kind: 'floor',
      name: '@cf/locks Mutex',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const lease = await mutex.acquire();
          lease.release();
        }
      },
    },
    {
      group: MANAGER,
      kind: 'ours',
      name: '@cf/locks LockManager acquire (one name)',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const lease = await manager.acquire('hot');
          lease.release();
        }
      },
    },

    {
      group: OBSERVED,
      kind: 'floor',
      name: '@cf/locks Mutex, no observer',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const lease = await mutex.acquire();
          lease.release();
        }
      },
    },
    {
      group: OBSERVED,
      kind: 'ours',
      name: '@cf/locks Mutex, one observer',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const lease = await observedMutex.acquire();
          lease.release();
        }
      },
      beforeAll: () => {
        stopObserving ??= addObserver(() => {});
      },
      afterAll: () => {
        stopObserving?.();
        stopObserving = undefined;
      },
    },
  ],
  targets: [
    { task: '@cf/locks Mutex', vs: 'await resolved promise', group: UNCONTENDED, atMost: 1.5, note: 'issue 3' },
    {
      task: '@cf/locks Mutex',
      vs: 'async-mutex Mutex',
      group: UNCONTENDED,
      atMost: 1 / 8,
      note: 'issue 3: >= 8x faster',
    },
    { task: '@cf/locks Mutex', vs: '@esfx/async-mutex', group: UNCONTENDED, atMost: 1, note: 'issue 3: faster' },
    { task: '@cf/locks Mutex', vs: 'no lock', group: CONTENDED, atMost: 3, note: 'issue 3' },
    {
      task: '@cf/locks Mutex',
      vs: 'async-sema Sema(1)',
      group: CONTENDED,
      atMost: 1 / 1.2,
      note: 'issue 3: >= 1.2x async-sema throughput',
    },
    { task: '@cf/locks ReadWriteLock read', vs: '@cf/locks Mutex', group: READ_WRITE, atMost: 2, note: 'issue 3' },
    { task: '@cf/locks ReadWriteLock write', vs: '@cf/locks Mutex', group: READ_WRITE, atMost: 2, note: 'issue 3' },
  ],
});
