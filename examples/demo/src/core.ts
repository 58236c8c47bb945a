// The contracts of @cf/core at work: a tiny lock built from WaitQueue and BaseLease, then
// priorities, a timeout and an abort. Every claim printed is checked; a broken invariant throws.
import {
  type AcquireOptions,
  BaseLease,
  checkAcquireOptions,
  isTimeoutError,
  type Lease,
  type Lock,
  Priority,
  WaitQueue,
} from '@cf/core';

class DemoLease extends BaseLease {
  readonly #lock: DemoLock;
  constructor(lock: DemoLock, fence: number) {
    super(lock.name, fence);
    this.#lock = lock;
  }
  protected releaseHold(): void {
    this.#lock.handOver();
  }
}

/** A complete mutex in 30 lines: the queue does priorities, FIFO, timeouts and aborts. */
class DemoLock implements Lock {
  readonly name: string;
  readonly queue: WaitQueue<undefined, Lease>;
  #locked = false;
  #fence = 0;
  constructor(name: string) {
    this.name = name;
    this.queue = new WaitQueue<undefined, Lease>({ resource: name, lock: this });
  }
  acquire(options?: AcquireOptions): Promise<Lease> {
    checkAcquireOptions(options);
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    if (this.#locked) return this.queue.enqueue(undefined, options);
    this.#locked = true;
    return Promise.resolve(new DemoLease(this, ++this.#fence));
  }
  tryAcquire(): Promise<Lease | undefined> {
    if (this.#locked) return Promise.resolve(undefined);
    this.#locked = true;
    return Promise.resolve(new DemoLease(this, ++this.#fence));
  }
  handOver(): void {
    const next = this.queue.first;
    if (next === undefined) this.#locked = false;
    else this.queue.grant(next, new DemoLease(this, ++this.#fence));
  }
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`core demo: ${message}`);
}

/**
 * Prints a short, self-checking demonstration of @cf/core: priority order, a timeout, an abort,
 * lease signals and fencing tokens.
 * @throws Error if any invariant shown does not hold
 */
export async function runCoreDemo(): Promise<void> {
  const log = (line: string): void => console.log(`[core] ${line}`);
  const lock = new DemoLock('printer');
  // A function, so that TypeScript does not narrow the size after a check.
  const queued = (): number => lock.queue.size;

  // Priorities: a LOW waiter queued before a HIGH one is served after it.
  const first = await lock.acquire();
  const served: string[] = [];
  const tokens: bigint[] = [first.token];
  const waiter = (label: string, priority: number) =>
    lock.acquire({ priority }).then(async (lease) => {
      served.push(label);
      tokens.push(lease.token);
      await lease.release();
    });
  const low = waiter('LOW', Priority.LOW);
  const high = waiter('HIGH', Priority.HIGH);
  check(queued() === 2, `expected 2 queued waiters, found ${queued()}`);
  const firstSignal = first.signal;
  await first.release();
  await Promise.all([low, high]);
  check(served.join() === 'HIGH,LOW', `served ${served.join(', ')} instead of HIGH, LOW`);
  check(firstSignal.aborted, 'lease.signal did not abort on release');
  log('LOW queued before HIGH; served: HIGH, then LOW');
  log(`fencing tokens in grant order: ${tokens.join(' < ')}; the first lease's signal aborted on release`);
  check(
    tokens.every((token, i) => i === 0 || token > tokens[i - 1]!),
    'fencing tokens did not increase',
  );

  // A timeout: the waiter gives up, the lock stays usable.
  const held = await lock.acquire();
  const start = performance.now();
  const timedOut = await lock.acquire({ timeout: 50 }).then(
    () => undefined,
    (error: unknown) => error,
  );
  const waited = performance.now() - start;
  check(isTimeoutError(timedOut), `expected a TimeoutError, got ${String(timedOut)}`);
  check(waited >= 40, `timed out after ${waited.toFixed(0)} ms, before the 50 ms limit`);
  check(queued() === 0, 'the timed-out waiter is still queued');
  log(
    `acquire({ timeout: 50 }) on a held lock: TimeoutError (${(timedOut as Error).message}) after ${waited.toFixed(0)} ms`,
  );

  // An abort: the waiter leaves the queue at once and rejects with the signal's reason.
  const controller = new AbortController();
  const aborted = lock.acquire({ signal: controller.signal }).then(
    () => undefined,
    (error: unknown) => error,
  );
  check(queued() === 1, 'the waiter was not queued');
  controller.abort(new Error('user cancelled'));
  check(queued() === 0, 'the aborted waiter is still queued');
  check((await aborted) === controller.signal.reason, 'the abort did not reject with signal.reason');
  log('abort while waiting: removed from the queue at once, rejected with signal.reason ("user cancelled")');

  await held.release();
  await held.release();
  const free = await lock.tryAcquire();
  check(free !== undefined, 'the lock is not free after everything was released');
  await free.release();
  log('release() twice is harmless; the lock is free again');
}
