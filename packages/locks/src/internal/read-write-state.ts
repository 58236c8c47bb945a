import type { Lease, LeaseTrace, Waiter } from '@cf/core';
import { BaseLease, NotHeldError, observing, resolveOwner, WaitQueue } from '@cf/core';
import type { LockAcquireOptions } from './options.js';

/**
 * Who goes first when readers and writers wait with the same priority:
 * `'write-preferring'` (a waiting writer stops new readers), `'read-preferring'` (readers join
 * while any reader holds), `'fair'` (arrival order, so readers are admitted in phases).
 * @example `const policy: ReadWritePolicy = 'fair'`
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

let releaseRead: (state: ReadWriteState) => void;
let releaseWrite: (state: ReadWriteState, downgraded: boolean) => void;
let downgrade: (state: ReadWriteState, lease: WriteLease) => Lease;

// Both lease classes are made by BaseLease.make (no constructor runs, see there), from the class's
// prototype for a lease returned at once and from a handed prototype for one granted to a waiter.
class ReadLease extends BaseLease {
  declare private state: ReadWriteState;

  static of(
    prototype: ReadLease,
    state: ReadWriteState,
    fence: number,
    holdTimeout: number,
    trace: LeaseTrace | undefined,
  ): Lease {
    const lease = BaseLease.make(prototype, fence);
    lease.state = state;
    BaseLease.finishMake(lease, trace, holdTimeout);
    return lease;
  }

  override get resource(): string {
    return this.state.resource;
  }

  protected releaseHold(): void {
    releaseRead(this.state);
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
   * @example `const read = write.downgrade()`
   */
  downgrade(): Lease;
}

class WriteLeaseImpl extends BaseLease implements WriteLease {
  declare private state: ReadWriteState;
  declare private downgraded: boolean;

  static of(
    prototype: WriteLeaseImpl,
    state: ReadWriteState,
    fence: number,
    holdTimeout: number,
    trace: LeaseTrace | undefined,
  ): Lease {
    const lease = BaseLease.make(prototype, fence);
    lease.state = state;
    lease.downgraded = false;
    BaseLease.finishMake(lease, trace, holdTimeout);
    return lease;
  }

  override get resource(): string {
    return this.state.resource;
  }

  downgrade(): Lease {
    if (this.released) throw new NotHeldError(`The write lease on ${this.resource} has already ended`, this.resource);
    this.downgraded = true;
    return downgrade(this.state, this);
  }

  protected releaseHold(): void {
    releaseWrite(this.state, this.downgraded);
  }
}

// Module constants: see BaseLease.make.
const FREE_READ: ReadLease = ReadLease.prototype;
const HANDED_READ: ReadLease = BaseLease.handedPrototype(FREE_READ);
const FREE_WRITE: WriteLeaseImpl = WriteLeaseImpl.prototype;
const HANDED_WRITE: WriteLeaseImpl = BaseLease.handedPrototype(FREE_WRITE);

/** What every state of one owner (a `ReadWriteLock`, or all names of a `LockManager`) shares. */
export interface SharedSettings {
  /** The object reported as `lock` in events. */
  readonly lock: object;
  readonly policy: ReadWritePolicy;
  /** Default hold limit (0: none). */
  readonly holdTimeout: number;
  /** Last fencing token handed out: shared, so a name's tokens keep rising after it was forgotten. */
  fence: number;
  /** Last arrival number, compared under the fair policy. */
  seq: number;
  /** Called when a state becomes idle after a release or a cancelled wait. */
  readonly onIdle: ((state: ReadWriteState) => void) | undefined;
}

// Only states that ever had to make someone wait carry queues and the rare counters.
interface Waiting {
  read: Queue | undefined;
  write: Queue | undefined;
  contended: number;
  timeouts: number;
  aborts: number;
}

const WRITER = -1;

/**
 * The state machine behind `ReadWriteLock` and each busy `LockManager` name: who holds, who
 * waits, and who goes next under the policy. Callers validate options before calling in.
 *
 * Invariants: when nobody holds, nobody waits (every change of state ends in `dispatch`), so a
 * free lock can be taken without looking at the queues. Five fields, so that a `LockManager`
 * name costs little while held.
 */
export class ReadWriteState {
  /** `-1` while a writer holds, otherwise the number of readers holding. */
  holders = 0;
  /** Leases granted. */
  acquisitions = 0;
  readonly resource: string;
  private readonly shared: SharedSettings;
  private waiting: Waiting | undefined = undefined;

  static {
    releaseRead = (state) => state.releaseRead();
    releaseWrite = (state, downgraded) => state.releaseWrite(downgraded);
    downgrade = (state, lease) => state.downgrade(lease);
  }

  /**
   * @param resource - the name in leases and events
   * @param shared - settings shared with the owner's other states
   */
  constructor(resource: string, shared: SharedSettings) {
    this.resource = resource;
    this.shared = shared;
  }

  get writer(): boolean {
    return this.holders === WRITER;
  }

  get readers(): number {
    return Math.max(this.holders, 0);
  }

  get contended(): number {
    return this.waiting?.contended ?? 0;
  }

  get timeouts(): number {
    return this.waiting?.timeouts ?? 0;
  }

  get aborts(): number {
    return this.waiting?.aborts ?? 0;
  }

  /** Nobody holds and nobody waits. */
  get idle(): boolean {
    return this.holders === 0 && this.waitingReaders === 0 && this.waitingWriters === 0;
  }

  get waitingReaders(): number {
    return this.waiting?.read?.size ?? 0;
  }

  get waitingWriters(): number {
    return this.waiting?.write?.size ?? 0;
  }

  /** Acquires the read side; `holdTimeout` is the validated option (undefined: default). */
  read(options: LockAcquireOptions | undefined, holdTimeout: number | undefined): Promise<Lease> {
    if (options?.signal?.aborted) return this.rejectNow(false, options);
    if (this.holders !== WRITER && this.readerMayEnter(options?.priority ?? 2)) {
      const owner = observing ? resolveOwner(options?.owner) : undefined;
      return Promise.resolve(this.readLease(holdTimeout, owner, 0, false));
    }
    return this.enqueue(false, options, holdTimeout);
  }

  /** Acquires the write side. */
  write(options: LockAcquireOptions | undefined, holdTimeout: number | undefined): Promise<Lease> {
    if (options?.signal?.aborted) return this.rejectNow(true, options);
    if (this.holders === 0) {
      const owner = observing ? resolveOwner(options?.owner) : undefined;
      return Promise.resolve(this.writeLease(holdTimeout, owner, 0, false));
    }
    return this.enqueue(true, options, holdTimeout);
  }

  /** Read lease if no waiting is needed. */
  tryRead(holdTimeout: number | undefined, owner: unknown): Lease | undefined {
    if (this.holders === WRITER || !this.readerMayEnter(2)) return undefined;
    return this.readLease(holdTimeout, observing ? resolveOwner(owner) : undefined, 0, false);
  }

  /** Write lease if no waiting is needed. */
  tryWrite(holdTimeout: number | undefined, owner: unknown): Lease | undefined {
    if (this.holders !== 0) return undefined;
    return this.writeLease(holdTimeout, observing ? resolveOwner(owner) : undefined, 0, false);
  }

  private queue(write: boolean): Queue {
    const waiting = (this.waiting ??= { read: undefined, write: undefined, contended: 0, timeouts: 0, aborts: 0 });
    const existing = write ? waiting.write : waiting.read;
    if (existing !== undefined) return existing;
    const queue = new WaitQueue<Request, Lease>({
      resource: this.resource,
      lock: this.shared.lock,
      mode: write ? 'exclusive' : 'shared',
      onCancel: (_waiter, cause) => this.cancelled(cause),
    });
    if (write) waiting.write = queue;
    else waiting.read = queue;
    return queue;
  }

  private rejectNow(write: boolean, options: LockAcquireOptions): Promise<Lease> {
    const queue = this.queue(write);
    this.waiting!.aborts++;
    // The queue rejects a pre-aborted signal at once and reports the `aborted` event.
    return queue.enqueue({ seq: 0, holdTimeout: undefined }, options);
  }

  private enqueue(
    write: boolean,
    options: LockAcquireOptions | undefined,
    holdTimeout: number | undefined,
  ): Promise<Lease> {
    const queue = this.queue(write);
    if (options?.timeout === 0) this.waiting!.timeouts++;
    else this.waiting!.contended++;
    return queue.enqueue({ seq: ++this.shared.seq, holdTimeout }, options);
  }

  private cancelled(cause: 'aborted' | 'timeout'): void {
    if (cause === 'timeout') this.waiting!.timeouts++;
    else this.waiting!.aborts++;
    // A queued writer that leaves may have been the only thing keeping queued readers out.
    this.dispatch();
  }

  // A new reader may enter unless a waiting request with the same or more urgency goes first.
  private readerMayEnter(priority: number): boolean {
    const waiting = this.waiting;
    if (waiting === undefined) return true;
    const reader = waiting.read?.first;
    if (reader !== undefined && reader.priority <= priority) return false;
    const writer = waiting.write?.first;
    if (writer === undefined || priority < writer.priority) return true;
    return priority === writer.priority && this.shared.policy === 'read-preferring';
  }

  private writerFirst(writer: QueuedRequest, reader: QueuedRequest): boolean {
    if (writer.priority !== reader.priority) return writer.priority < reader.priority;
    const policy = this.shared.policy;
    if (policy === 'write-preferring') return true;
    if (policy === 'read-preferring') return false;
    return writer.request.seq < reader.request.seq;
  }

  // Serves waiters while the state allows; every change of state ends here.
  private dispatch(): void {
    const waiting = this.waiting;
    if (waiting !== undefined) {
      while (this.holders !== WRITER) {
        const writer = waiting.write?.first;
        const reader = waiting.read?.first;
        if (reader === undefined || (writer !== undefined && this.writerFirst(writer, reader))) {
          if (writer !== undefined && this.holders === 0) {
            const lease = this.writeLease(writer.request.holdTimeout, writer.owner, writer.enqueuedAt, true);
            waiting.write!.grant(writer, lease);
          }
          break;
        }
        waiting.read!.grant(reader, this.readLease(reader.request.holdTimeout, reader.owner, reader.enqueuedAt, true));
      }
    }
    if (this.holders === 0) this.shared.onIdle?.(this);
  }

  // `waitStart` is 0 for a lease returned at once, and when the waiter was queued otherwise.
  private readLease(holdTimeout: number | undefined, owner: unknown, waitStart: number, handed: boolean): Lease {
    this.holders++;
    this.acquisitions++;
    const shared = this.shared;
    const trace = observing ? { lock: shared.lock, mode: 'shared', owner, waitStart } : undefined;
    const prototype = handed ? HANDED_READ : FREE_READ;
    return ReadLease.of(prototype, this, ++shared.fence, holdTimeout ?? shared.holdTimeout, trace);
  }

  private writeLease(holdTimeout: number | undefined, owner: unknown, waitStart: number, handed: boolean): Lease {
    this.holders = WRITER;
    this.acquisitions++;
    const shared = this.shared;
    const trace = observing ? { lock: shared.lock, mode: 'exclusive', owner, waitStart } : undefined;
    const prototype = handed ? HANDED_WRITE : FREE_WRITE;
    return WriteLeaseImpl.of(prototype, this, ++shared.fence, holdTimeout ?? shared.holdTimeout, trace);
  }

  private releaseRead(): void {
    if (--this.holders === 0) this.dispatch();
  }

  private releaseWrite(downgraded: boolean): void {
    if (downgraded) return;
    this.holders = 0;
    this.dispatch();
  }

  private downgrade(lease: WriteLease): Lease {
    // The read hold replaces the write hold in one step, so the lock is never free in between.
    this.holders = 0;
    const read = this.readLease(undefined, undefined, 0, false);
    this.acquisitions--;
    lease.release();
    this.dispatch();
    return read;
  }
}
