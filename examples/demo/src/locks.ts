// @cf/locks at work: a bank-transfer race that loses money without a lock and stays exact with
// one, then a LockManager serving urgent work first and giving up on a wait that takes too long.
// Every claim printed is checked; a broken invariant throws.
import { isTimeoutError, type Lease, Priority } from '@cf/core';
import { LockManager, Mutex } from '@cf/locks';

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`locks demo: ${message}`);
}

const ACCOUNTS = 5;
const START = 1_000;
const TRANSFERS = 400;

/** A tiny in-memory ledger whose reads and writes take a turn of the event loop, like a database. */
class Ledger {
  readonly #balances = new Array<number>(ACCOUNTS).fill(START);
  async read(account: number): Promise<number> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return this.#balances[account]!;
  }
  async write(account: number, balance: number): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#balances[account] = balance;
  }
  get total(): number {
    return this.#balances.reduce((sum, balance) => sum + balance, 0);
  }
}

/** The same pseudo-random transfers for both runs: [from, to, amount]. */
function transfers(): [number, number, number][] {
  let seed = 42;
  const next = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed;
  };
  return Array.from({ length: TRANSFERS }, () => {
    const from = next() % ACCOUNTS;
    const to = (from + 1 + (next() % (ACCOUNTS - 1))) % ACCOUNTS;
    return [from, to, 1 + (next() % 50)];
  });
}

async function transfer(ledger: Ledger, from: number, to: number, amount: number): Promise<void> {
  const fromBalance = await ledger.read(from);
  await ledger.write(from, fromBalance - amount);
  const toBalance = await ledger.read(to);
  await ledger.write(to, toBalance + amount);
}

async function bankRace(): Promise<void> {
  const expected = ACCOUNTS * START;

  // Without a lock: concurrent read-modify-write sequences overwrite each other's updates.
  const unsafe = new Ledger();
  await Promise.all(transfers().map(([from, to, amount]) => transfer(unsafe, from, to, amount)));
  console.log(
    `  without a lock: total ${unsafe.total} (expected ${expected}): ${unsafe.total - expected} appeared or vanished`,
  );
  check(unsafe.total !== expected, 'the unguarded run should have lost updates (the race did not happen)');

  // With one Mutex around each transfer: the same transfers, the total stays exact.
  const safe = new Ledger();
  const mutex = new Mutex({ name: 'ledger' });
  let inside = 0;
  let maxInside = 0;
  await Promise.all(
    transfers().map(([from, to, amount]) =>
      mutex.withLock(async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await transfer(safe, from, to, amount);
        inside--;
      }),
    ),
  );
  console.log(`  with a Mutex:   total ${safe.total}, at most ${maxInside} transfer inside at a time`);
  check(safe.total === expected, `the guarded total is ${safe.total}, expected ${expected}`);
  check(maxInside === 1, 'two transfers ran inside the lock at once');
  check(!mutex.isLocked && mutex.waitersCount === 0, 'the mutex is free at the end');

  // Per-account locks through a LockManager: unrelated transfers run in parallel, and acquireAll
  // takes both accounts in one global order, so opposite transfers cannot deadlock.
  const parallel = new Ledger();
  const accounts = new LockManager({ defaultTimeout: 10_000 });
  await Promise.all(
    transfers().map(async ([from, to, amount]) => {
      const lease = await accounts.acquireAll([`account:${from}`, `account:${to}`]);
      try {
        await transfer(parallel, from, to, amount);
      } finally {
        await lease.release();
      }
    }),
  );
  const stats = accounts.stats();
  console.log(
    `  per-account locks (acquireAll): total ${parallel.total}, ${stats.acquisitions} name acquisitions, ` +
      `${stats.contended} waited, ${accounts.size} names left in the manager`,
  );
  check(parallel.total === expected, `the per-account total is ${parallel.total}, expected ${expected}`);
  check(accounts.size === 0, 'idle names were removed from the manager');
}

async function prioritiesAndTimeout(): Promise<void> {
  const manager = new LockManager();
  const holder = await manager.acquire('report');
  const served: string[] = [];
  const take = (who: string, priority: number): Promise<void> =>
    manager.acquire('report', { priority }).then(async (lease: Lease) => {
      served.push(who);
      await lease.release();
    });
  // Queued in this order, served by priority (FIFO within one priority).
  const queued = [
    take('batch job', Priority.LOW),
    take('user request A', Priority.NORMAL),
    take('health check', Priority.CRITICAL),
    take('user request B', Priority.NORMAL),
  ];
  const impatient = manager.acquire('report', { timeout: 20 });
  let timedOut = false;
  try {
    await impatient;
  } catch (error) {
    timedOut = isTimeoutError(error);
  }
  console.log(`  a caller with timeout 20 ms gave up: ${timedOut ? 'TimeoutError' : 'no'}`);
  check(timedOut, 'the impatient caller should have timed out while the lock was held');
  await holder.release();
  await Promise.all(queued);
  console.log(`  served in order: ${served.join(' -> ')}`);
  check(
    served.join(',') === 'health check,user request A,user request B,batch job',
    `waiters were served as ${served.join(', ')}`,
  );
  const stats = manager.stats();
  console.log(`  stats: ${stats.acquisitions} acquisitions, ${stats.contended} waited, ${stats.timeouts} timed out`);
  check(stats.timeouts === 1 && stats.acquisitions === 5, 'the statistics match what happened');
  check(manager.size === 0, 'the manager forgot the idle name');
}

/** Runs the @cf/locks section of the demo. */
export async function runLocksDemo(): Promise<void> {
  console.log('Bank transfers between 5 accounts, 400 concurrent transfers:');
  await bankRace();
  console.log('A LockManager with priorities and a timeout:');
  await prioritiesAndTimeout();
}
