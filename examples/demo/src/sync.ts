// @cf/sync at work: worker tasks computing in lockstep phases through a CyclicBarrier whose
// action merges each phase, then a Semaphore-limited fan-out. Every claim printed is checked;
// a broken invariant throws.
import { CyclicBarrier, Semaphore } from '@cf/sync';

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`sync demo: ${message}`);
}

const WORKERS = 4;
const PHASES = 3;
const JOBS = 24;

/** Lets other tasks run, so the workers really interleave. */
const yieldToOthers = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function barrierOfWorkers(): Promise<void> {
  // Each phase, every worker adds its slice of 1..100 scaled by the phase number; the barrier
  // action (run by the last worker to arrive, before anyone is released) merges the slices.
  const partial = new Array<number>(WORKERS).fill(0);
  const totals: number[] = [];
  const events: string[] = [];
  let phase = 0;
  const barrier = new CyclicBarrier(
    WORKERS,
    () => {
      totals.push(partial.reduce((sum, value) => sum + value, 0));
      events.push(`merge ${phase}`);
      phase++;
    },
    { name: 'phases' },
  );

  const lastArrivals: number[] = [];
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, worker) => {
      for (let round = 0; round < PHASES; round++) {
        events.push(`start ${round}`);
        let sum = 0;
        for (let n = worker + 1; n <= 100; n += WORKERS) {
          sum += n * (round + 1);
          if (n % 7 === 0) await yieldToOthers();
        }
        partial[worker] = sum;
        const index = await barrier.wait({ timeout: 5_000 });
        if (index === 0) lastArrivals.push(worker);
      }
    }),
  );

  // Lockstep: no worker starts phase k+1 before phase k was merged, and each merge saw all slices.
  for (let round = 0; round < PHASES; round++) {
    const merged = events.indexOf(`merge ${round}`);
    check(merged !== -1, `phase ${round} was merged`);
    check(events.filter((e) => e === `start ${round}`).length === WORKERS, `every worker started phase ${round}`);
    check(events.lastIndexOf(`start ${round}`) < merged, `phase ${round} merged after every worker started it`);
    if (round + 1 < PHASES) {
      check(
        events.indexOf(`start ${round + 1}`) > merged,
        `phase ${round + 1} started only after phase ${round} merged`,
      );
    }
    check(totals[round] === 5050 * (round + 1), `phase ${round} total ${totals[round]} is ${5050 * (round + 1)}`);
  }
  check(lastArrivals.length === PHASES, 'exactly one last arrival (index 0) per phase');
  check(!barrier.isBroken && barrier.numberWaiting === 0, 'the barrier is intact and empty');
  console.log(`  CyclicBarrier: ${WORKERS} workers, ${PHASES} phases in lockstep; merged totals ${totals.join(', ')}`);
}

async function limitedFanOut(): Promise<void> {
  const limit = new Semaphore(3, { name: 'fan-out' });
  let running = 0;
  let peak = 0;
  let permitsOut = 0;
  const results = await Promise.all(
    Array.from({ length: JOBS }, async (_, job) => {
      // Every sixth job is heavy and needs two of the three permits.
      const permits = job % 6 === 5 ? 2 : 1;
      await using lease = await limit.acquire(permits, { timeout: 5_000 });
      running++;
      permitsOut += lease.permits;
      peak = Math.max(peak, running);
      check(permitsOut <= limit.permits, `at most ${limit.permits} permits out (saw ${permitsOut})`);
      await yieldToOthers();
      running--;
      permitsOut -= lease.permits;
      return job * job;
    }),
  );
  check(results.length === JOBS && results[JOBS - 1] === (JOBS - 1) ** 2, 'every job finished');
  check(peak >= 2 && peak <= 3, `between 2 and 3 jobs ran at once (saw ${peak})`);
  check(limit.availablePermits === 3 && limit.waitersCount === 0, 'every permit came back, nobody waits');
  console.log(
    `  Semaphore(3): ${JOBS} jobs, at most ${peak} at once, heavy jobs holding 2 permits; all permits returned`,
  );
}

/**
 * Prints a short, self-checking demonstration of @cf/sync: worker tasks in lockstep phases through
 * a CyclicBarrier with a merging action, then a weighted Semaphore limiting a fan-out.
 * @throws Error when an invariant does not hold
 * @example
 * ```ts
 * await runSyncDemo();
 * ```
 */
export async function runSyncDemo(): Promise<void> {
  console.log('@cf/sync');
  await barrierOfWorkers();
  await limitedFanOut();
}
