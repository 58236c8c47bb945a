import { getEventListeners } from 'node:events';
import { type AcquireOptions, BaseLease, checkAcquireOptions, type Lease, type Lock, WaitQueue } from '@cf/core';

/** Settlement state of a promise, observed without waiting for it: an already-settled promise wins the race. */
export async function stateOf(promise: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  const pending = Symbol('pending');
  try {
    const value = await Promise.race([promise, Promise.resolve(pending)]);
    return value === pending ? 'pending' : 'fulfilled';
  } catch {
    return 'rejected';
  }
}

/** Abort listeners currently registered on `signal`. */
export function abortListeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

/** Catches what `promise` rejects with (fails if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** A lease whose hooks are visible to tests. */
export class TestLease extends BaseLease {
  holdReleases = 0;
  releaseHoldImpl: () => void | Promise<void> = () => undefined;
  protected releaseHold(): void | Promise<void> {
    this.holdReleases++;
    return this.releaseHoldImpl();
  }
  lose(reason?: unknown): void {
    this.markLost(reason);
  }
  limit(ms: number): void {
    this.limitHoldTime(ms);
  }
}

class RefLease extends BaseLease {
  readonly #lock: RefLock;
  constructor(lock: RefLock, fence: number) {
    super(lock.name, fence);
    this.#lock = lock;
  }
  protected releaseHold(): void {
    this.#lock.unlock();
  }
}

/** A tiny correct mutex on core's WaitQueue and BaseLease, as a primitive package would write it. */
export class RefLock implements Lock {
  readonly name: string;
  locked = false;
  #fence = 0;
  readonly queue: WaitQueue<undefined, Lease>;
  constructor(name = 'ref') {
    this.name = name;
    this.queue = new WaitQueue<undefined, Lease>({ resource: name, lock: this });
  }
  acquire(options?: AcquireOptions): Promise<Lease> {
    checkAcquireOptions(options);
    if (!this.locked && this.queue.size === 0) {
      this.locked = true;
      return Promise.resolve(new RefLease(this, ++this.#fence));
    }
    return this.queue.enqueue(undefined, options);
  }
  tryAcquire(): Promise<Lease | undefined> {
    if (this.locked) return Promise.resolve(undefined);
    this.locked = true;
    return Promise.resolve(new RefLease(this, ++this.#fence));
  }
  unlock(): void {
    const next = this.queue.first;
    if (next === undefined) this.locked = false;
    else this.queue.grant(next, new RefLease(this, ++this.#fence));
  }
}
