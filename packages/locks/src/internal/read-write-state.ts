import type { Lease, LeaseTrace, Waiter } from '@cf/core';
import { BaseLease, NotHeldError, observing, resolveOwner, WaitQueue } from '@cf/core';
import type { LockAcquireOptions } from './options.js';

/**
 * Who goes first when readers and writers wait with the same priority:
 * `'write-preferring'` (a waiting writer stops new readers), `'read-preferring'` (readers join
 * while any reader holds), `'fair'` (arrival order, so readers are admitted in phases).
 */
export type ReadWritePolicy = 'write-preferring' | 'read-preferring' | 'fair';

/** The policies, for validation. */
export const POLICIES: readonly ReadWritePolicy[] = ['write-preferring', 'read-preferring', 'fair'];

interface Request {
  /** Arrival order, compared under the fair policy. */
  readonly seq: number;
  /** The request's own hold limit (0: none), or `undefined` for the default. */
  readonly holdTimeout: number | undefined;
}

type Queue = WaitQueue<Request, Lease>;
type QueuedRequest = Waiter<Request, Lease>;

const enum Policy {
  WritePreferring = 0,
  ReadPreferring = 1,
  Fair = 2,
}

let releaseRead: (state: ReadWriteState) => void;
let releaseWrite: (state: ReadWriteState, downgraded: boolean) => void;
let downgrade: (state: ReadWriteState, lease: WriteLease) => Lease;

class ReadLease extends BaseLease {
  readonly #state: ReadWriteState;

  constructor(state: ReadWriteState, fence: number, holdTimeout: number, trace: LeaseTrace | undefined) {
    super(state.resource, fence, trace);
    this.#state = state;
    if (holdTimeout !== 0) this.limitHoldTime(holdTimeout);
  }

  protected releaseHold(): void {
    releaseRead(this.#state);
  }
}

/**
 * A lease on the write side of a read-write lock; it can be turned into a read lease.
 *
 * @example
 * ```ts
 * const write = await rw.write.acquire();
 * table.rebuild();
 * const read = write.downgrade();   // no writer can get in between
 * await publish(table);
 * read.release();
 * ```
 */
export interface WriteLease extends Lease {
  /**
   * Turns this write lease into a read lease in one step: no writer can take the lock in
   * between, and readers waiting behind may now join. This lease ends (its `signal` aborts);
   * the new read lease gets the lock's default hold limit.
   * @returns the read lease
   * @throws NotHeldError when this lease was already released or downgraded
   */
  downgrade(): Lease;
}

class WriteLeaseImpl extends BaseLease implements WriteLease {
  readonly #state: ReadWriteState;
  #downgraded = false;

  constructor(state: ReadWriteState, fence: number, holdTimeout: number, trace: LeaseTrace | undefined) {
    super(state.resource, fence, trace);
    this.#state = state;
    if (holdTimeout !== 0) this.limitHoldTime(holdTimeout);
  }

  downgrade(): Lease {
    if (this.released) throw new NotHeldError(`The write lease on ${this.resource} has already ended`, this.resource);
    this.#downgraded = true;
    return downgrade(this.#state, this);
  }

  protected releaseHold(): void {
    releaseWrite(this.#state, this.#downgraded);
  }
}

/**
 * The state machine behind `ReadWriteLock` and each busy `LockManager` name: who holds, who
 * waits, and who goes next under the policy. Callers validate options before calling in.
 *
 * Invariants: `writer` implies `readers === 0`; when nobody holds, nobody waits (every change
 * of state ends in `dispatch`), so a free lock can be taken without looking at the queues.
 */
export class ReadWriteState {
  writer = false;
  readers = 0;
  acquisitions = 0;
  contended = 0;
  timeouts = 0;
  aborts = 0;
  readonly resource: string;
  readonly #lock: object;
  readonly #policy: Policy;
  readonly #holdTimeout: number;
  #fence: { value: number };
  #seq = 0;
  #readQueue: Queue | undefined = undefined;
  #writeQueue: Queue | undefined = undefined;

  static {
    releaseRead = (state) => state.#releaseRead();
    releaseWrite = (state, downgraded) => state.#releaseWrite(downgraded);
    downgrade = (state, lease) => state.#downgrade(lease);
  }

  /**
   * @param resource - the name in leases and events
   * @param lock - the object reported as `lock` in events
   * @param policy - a validated policy
   * @param holdTimeout - default hold limit (0: none)
   * @param fence - the fencing counter (shared by a manager's names, so tokens never go back)
   */
  constructor(resource: string, lock: object, policy: ReadWritePolicy, holdTimeout: number, fence: { value: number }) {
    this.resource = resource;
    this.#lock = lock;
    this.#policy =
      policy === 'write-preferring' ? Policy.WritePreferring : policy === 'fair' ? Policy.Fair : Policy.ReadPreferring;
    this.#holdTimeout = holdTimeout;
    this.#fence = fence;
  }

  /** Nobody holds and nobody waits. */
  get idle(): boolean {
    return !this.writer && this.readers === 0 && this.waitingReaders === 0 && this.waitingWriters === 0;
  }

  get waitingReaders(): number {
    return this.#readQueue?.size ?? 0;
  }

  get waitingWriters(): number {
    return this.#writeQueue?.size ?? 0;
  }

  /** Called when the state becomes idle after a release or a cancelled wait. */
  protected onIdle(): void {}

  /** Acquires the read side; `holdTimeout` is the validated option (undefined: default). */
  read(options: LockAcquireOptions | undefined, holdTimeout: number | undefined): Promise<Lease> {
    const signal = options?.signal;
    if (signal?.aborted) return this.#rejectNow(this.#queue(false), options!);
    const priority = options?.priority ?? 2;
    if (!this.writer && this.#readerMayEnter(priority)) {
      const owner = observing ? resolveOwner(options?.owner) : undefined;
      return Promise.resolve(this.#readLease(holdTimeout ?? this.#holdTimeout, owner, 0));
    }
    return this.#enqueue(this.#queue(false), options, holdTimeout);
  }

  /** Acquires the write side. */
  write(options: LockAcquireOptions | undefined, holdTimeout: number | undefined): Promise<Lease> {
    const signal = options?.signal;
    if (signal?.aborted) return this.#rejectNow(this.#queue(true), options!);
    if (!this.writer && this.readers === 0) {
      const owner = observing ? resolveOwner(options?.owner) : undefined;
      return Promise.resolve(this.#writeLease(holdTimeout ?? this.#holdTimeout, owner, 0));
    }
    return this.#enqueue(this.#queue(true), options, holdTimeout);
  }

  /** Read lease if no waiting is needed. */
  tryRead(holdTimeout: number | undefined, owner: unknown): Lease | undefined {
    if (this.writer || !this.#readerMayEnter(2)) return undefined;
    return this.#readLease(holdTimeout ?? this.#holdTimeout, observing ? resolveOwner(owner) : undefined, 0);
  }

  /** Write lease if no waiting is needed. */
  tryWrite(holdTimeout: number | undefined, owner: unknown): Lease | undefined {
    if (this.writer || this.readers !== 0) return undefined;
    return this.#writeLease(holdTimeout ?? this.#holdTimeout, observing ? resolveOwner(owner) : undefined, 0);
  }

  #queue(write: boolean): Queue {
    if (write) {
      return (this.#writeQueue ??= new WaitQueue<Request, Lease>({
        resource: this.resource,
        lock: this.#lock,
        mode: 'exclusive',
        onCancel: (_waiter, cause) => this.#cancelled(cause),
      }));
    }
    return (this.#readQueue ??= new WaitQueue<Request, Lease>({
      resource: this.resource,
      lock: this.#lock,
      mode: 'shared',
      onCancel: (_waiter, cause) => this.#cancelled(cause),
    }));
  }

  #rejectNow(queue: Queue, options: LockAcquireOptions): Promise<Lease> {
    this.aborts++;
    // The queue rejects a pre-aborted signal at once and reports the `aborted` event.
    return queue.enqueue({ seq: 0, holdTimeout: undefined }, options);
  }

  #enqueue(queue: Queue, options: LockAcquireOptions | undefined, holdTimeout: number | undefined): Promise<Lease> {
    if (options?.timeout === 0) this.timeouts++;
    else this.contended++;
    return queue.enqueue({ seq: ++this.#seq, holdTimeout }, options);
  }

  #cancelled(cause: 'aborted' | 'timeout'): void {
    if (cause === 'timeout') this.timeouts++;
    else this.aborts++;
    // A queued writer that leaves may have been the only thing keeping queued readers out.
    this.#dispatch();
  }

  // A new reader may enter unless a waiting request with the same or more urgency goes first.
  #readerMayEnter(priority: number): boolean {
    const reader = this.#readQueue?.first;
    if (reader !== undefined && reader.priority <= priority) return false;
    const writer = this.#writeQueue?.first;
    if (writer === undefined || priority < writer.priority) return true;
    return priority === writer.priority && this.#policy === Policy.ReadPreferring;
  }

  #writerFirst(writer: QueuedRequest, reader: QueuedRequest): boolean {
    if (writer.priority !== reader.priority) return writer.priority < reader.priority;
    if (this.#policy === Policy.WritePreferring) return true;
    if (this.#policy === Policy.ReadPreferring) return false;
    return writer.request.seq < reader.request.seq;
  }

  // Serves waiters while the state allows; every change of state ends here.
  #dispatch(): void {
    while (!this.writer) {
      const writer = this.#writeQueue?.first;
      const reader = this.#readQueue?.first;
      if (reader === undefined || (writer !== undefined && this.#writerFirst(writer, reader))) {
        if (writer !== undefined && this.readers === 0) {
          const holdTimeout = writer.request.holdTimeout ?? this.#holdTimeout;
          this.#writeQueue!.grant(writer, this.#writeLease(holdTimeout, writer.owner, writer.enqueuedAt));
        }
        break;
      }
      const holdTimeout = reader.request.holdTimeout ?? this.#holdTimeout;
      this.#readQueue!.grant(reader, this.#readLease(holdTimeout, reader.owner, reader.enqueuedAt));
    }
    if (!this.writer && this.readers === 0) this.onIdle();
  }

  #readLease(holdTimeout: number, owner: unknown, waitStart: number): Lease {
    this.readers++;
    this.acquisitions++;
    const trace = observing ? { lock: this.#lock, mode: 'shared', owner, waitStart } : undefined;
    return new ReadLease(this, ++this.#fence.value, holdTimeout, trace);
  }

  #writeLease(holdTimeout: number, owner: unknown, waitStart: number): Lease {
    this.writer = true;
    this.acquisitions++;
    const trace = observing ? { lock: this.#lock, mode: 'exclusive', owner, waitStart } : undefined;
    return new WriteLeaseImpl(this, ++this.#fence.value, holdTimeout, trace);
  }

  #releaseRead(): void {
    if (--this.readers === 0) this.#dispatch();
  }

  #releaseWrite(downgraded: boolean): void {
    if (downgraded) return;
    this.writer = false;
    this.#dispatch();
  }

  #downgrade(lease: WriteLease): Lease {
    // Take the read hold before the write hold ends, so the lock is never free in between.
    const read = this.#readLease(this.#holdTimeout, undefined, 0);
    this.acquisitions--;
    this.writer = false;
    lease.release();
    this.#dispatch();
    return read;
  }
}
