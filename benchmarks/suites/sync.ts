/**
 * @cf/sync's in-process Semaphore against the floors and against async-sema and async-mutex's
 * Semaphore, in one process run.
 *
 * - uncontended: `const lease = await semaphore.acquire(); lease.release()` on a Semaphore(10)
 *   nobody else uses, next to one awaited resolved promise;
 * - try-acquire: the synchronous fast path, next to a boolean check-and-set;
 * - contended: 100 tasks share a Semaphore(10), each cycle is acquire, `await null`, release
 *   (the shape of issue 3's target), next to the same 100 tasks with no semaphore at all and a
 *   minimal hand-written semaphore (no priorities, no cancellation, no leases);
 * - weighted: the same, each task asking for 1 to 3 permits (async-mutex is the peer with weights);
 * - barrier: 10 tasks meeting at a CyclicBarrier, per party and round, informational.
 */
import { CyclicBarrier, Semaphore } from '@cf/sync';
import { Semaphore as AsyncMutexSemaphore } from 'async-mutex';
import { Sema } from 'async-sema';
import { defineSuite, floorTasks } from '../harness.ts';
import { CONTENDED_CYCLES as CYCLES, contend, CONTENDED_ROUNDS as ROUNDS } from '../lib/contention.ts';

const UNCONTENDED = 'uncontended acquire+release';
const TRY = 'tryAcquire+release (sync)';
const CONTENDED = 'Semaphore(10), 100 tasks';
const WEIGHTED = 'weighted Semaphore(10), 100 tasks, 1-3 permits';
const BARRIER = 'CyclicBarrier, 10 tasks';

const BATCH = 1000;

// A minimal semaphore: a counter and a FIFO of resolvers with a moving head. It is what a
// contended cycle costs without priorities, cancellation, weights or leases.
class MinimalSemaphore {
  #free: number;
  #waiters: (() => void)[] = [];
  #head = 0;
  constructor(permits: number) {
    this.#free = permits;
  }
  acquire(): Promise<void> {
    if (this.#free > 0 && this.#head === this.#waiters.length) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
  release(): void {
    if (this.#head < this.#waiters.length) {
      const next = this.#waiters[this.#head]!;
      this.#waiters[this.#head++] = undefined as never;
      if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
        this.#waiters = this.#waiters.slice(this.#head);
        this.#head = 0;
      }
      next();
      return;
    }
    this.#free++;
  }
}

const ours = new Semaphore(10);
const sema = new Sema(10);
const asyncMutex = new AsyncMutexSemaphore(10);
const oursContended = new Semaphore(10);
const semaContended = new Sema(10);
const asyncMutexContended = new AsyncMutexSemaphore(10);
const minimalContended = new MinimalSemaphore(10);
const oursWeighted = new Semaphore(10);
const asyncMutexWeighted = new AsyncMutexSemaphore(10);
const barrier = new CyclicBarrier(10);
const BARRIER_ROUNDS = 100;

export default defineSuite({
  name: 'sync',
  title: 'In-process coordination (@cf/sync)',
  description:
    'Semaphore acquire+release, uncontended and with 100 tasks contending, against awaited-promise floors, ' +
    'a minimal hand-written semaphore, async-sema 3.1.1 and async-mutex 0.5.0 (its ESM build); plus a ' +
    'CyclicBarrier round. Contended tasks run 100 workers x 20 cycles of acquire, `await null`, release.',
  tasks: [
    ...floorTasks(UNCONTENDED, BATCH),
    {
      group: UNCONTENDED,
      kind: 'ours',
      name: '@cf/sync Semaphore',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const lease = await ours.acquire();
          lease.release();
        }
      },
    },
    {
      group: UNCONTENDED,
      kind: 'peer',
      name: 'async-sema Sema',
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
      name: 'async-mutex Semaphore',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const [, release] = await asyncMutex.acquire();
          release();
        }
      },
    },
    ...floorTasks(TRY, BATCH).filter((task) => task.name === 'sync boolean flag check+set'),
    {
      group: TRY,
      kind: 'ours',
      name: '@cf/sync Semaphore tryAcquireSync',
      batch: BATCH * 10,
      fn: () => {
        let permits = 0;
        for (let i = 0; i < BATCH * 10; i++) {
          const lease = ours.tryAcquireSync();
          if (lease !== undefined) {
            permits += lease.permits;
            lease.release();
          }
        }
        return permits;
      },
    },
    {
      group: TRY,
      kind: 'peer',
      name: 'async-sema tryAcquire',
      batch: BATCH * 10,
      fn: () => {
        let taken = 0;
        for (let i = 0; i < BATCH * 10; i++) {
          if (sema.tryAcquire() !== undefined) {
            taken++;
            sema.release();
          }
        }
        return taken;
      },
    },
    {
      group: CONTENDED,
      kind: 'floor',
      name: 'no semaphore',
      batch: CYCLES,
      fn: () =>
        contend(async () => {
          for (let round = 0; round < ROUNDS; round++) await null;
        }),
      async: true,
    },
    {
      group: CONTENDED,
      kind: 'floor',
      name: 'minimal hand-written semaphore',
      batch: CYCLES,
      fn: () =>
        contend(async () => {
          for (let round = 0; round < ROUNDS; round++) {
            await minimalContended.acquire();
            await null;
            minimalContended.release();
          }
        }),
      async: true,
    },
    {
      group: CONTENDED,
      kind: 'ours',
      name: '@cf/sync Semaphore',
      batch: CYCLES,
      fn: () =>
        contend(async () => {
          for (let round = 0; round < ROUNDS; round++) {
            const lease = await oursContended.acquire();
            await null;
            lease.release();
          }
        }),
      async: true,
    },
    {
      group: CONTENDED,
      kind: 'peer',
      name: 'async-sema Sema',
      batch: CYCLES,
      fn: () =>
        contend(async () => {
          for (let round = 0; round < ROUNDS; round++) {
            await semaContended.acquire();
            await null;
            semaContended.release();
          }
        }),
      async: true,
    },
    {
      group: CONTENDED,
      kind: 'peer',
      name: 'async-mutex Semaphore',
      batch: CYCLES,
      fn: () =>
        contend(async () => {
          for (let round = 0; round < ROUNDS; round++) {
            const [, release] = await asyncMutexContended.acquire();
            await null;
            release();
          }
        }),
      async: true,
    },
    {
      group: WEIGHTED,
      kind: 'ours',
      name: '@cf/sync Semaphore',
      batch: CYCLES,
      fn: () =>
        contend(async (task) => {
          const permits = (task % 3) + 1;
          for (let round = 0; round < ROUNDS; round++) {
            const lease = await oursWeighted.acquire(permits);
            await null;
            lease.release();
          }
        }),
      async: true,
    },
    {
      group: WEIGHTED,
      kind: 'peer',
      name: 'async-mutex Semaphore',
      batch: CYCLES,
      fn: () =>
        contend(async (task) => {
          const permits = (task % 3) + 1;
          for (let round = 0; round < ROUNDS; round++) {
            const [, release] = await asyncMutexWeighted.acquire(permits);
            await null;
            release();
          }
        }),
      async: true,
    },
    {
      group: BARRIER,
      kind: 'floor',
      name: 'Promise.all of 10 awaited promises',
      batch: 10 * BARRIER_ROUNDS,
      fn: async () => {
        for (let round = 0; round < BARRIER_ROUNDS; round++) {
          await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(async () => {}));
        }
      },
    },
    {
      group: BARRIER,
      kind: 'ours',
      name: '@cf/sync CyclicBarrier wait',
      batch: 10 * BARRIER_ROUNDS,
      fn: () => {
        const parties: Promise<void>[] = [];
        for (let party = 0; party < 10; party++) {
          parties.push(
            (async () => {
              for (let round = 0; round < BARRIER_ROUNDS; round++) await barrier.wait();
            })(),
          );
        }
        return Promise.all(parties);
      },
      async: true,
    },
  ],
  targets: [
    {
      task: '@cf/sync Semaphore',
      vs: 'async-sema Sema',
      group: CONTENDED,
      atMost: 1 / 1.2,
      note: 'issue 3: >= 1.2x async-sema',
    },
  ],
});
