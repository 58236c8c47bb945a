import { checkNamedRegion, type Placement, placeNamedRegion } from '@cf/atomics';
import type { ReadWriteLock } from '@cf/core';
import type { SharedLockHandleBase } from './options.js';
import { READ_WRITE_BYTES, ReadWriteWords } from './read-write-state.js';
import { type HandleHolds, SharedReadWriteLockSide } from './shared-read-write-lock-side.js';

export type { SharedLockMode } from './shared-read-write-lock-side.js';
export { SharedReadWriteLease, SharedReadWriteLockSide } from './shared-read-write-lock-side.js';

/** A `SharedReadWriteLock` as posted to a worker. */
export interface SharedReadWriteLockHandle extends SharedLockHandleBase {}

/** Options of the `SharedReadWriteLock` constructor. */
export interface SharedReadWriteLockOptions extends Placement {
  /** The resource name reported in leases, errors and events (default `shared-read-write-lock#<n>`). */
  name?: string | undefined;
}

let attaching: SharedReadWriteLockHandle | undefined;

/**
 * Many readers or one writer, in shared memory for worker threads (the futex read-write lock of
 * Rust's standard library): write-preferring, so a waiting writer stops new readers and writers
 * do not starve. `read` and `write` are `Lock`s with the same blocking and async forms as
 * {@link SharedMutex}. Fencing tokens come from one 64-bit counter per lock, shared by both sides.
 * A thread must not take a second read hold while a writer may be waiting (the writer waits for
 * the first hold, the second hold for the writer).
 *
 * Layout: 24 bytes, 8-aligned (state, writer notification counter, their abandoned-wait counts,
 * fencing counter).
 *
 * @example
 * ```ts
 * const rw = new SharedReadWriteLock({ name: 'config' });
 * const snapshot = await rw.read.withLock(() => readConfig(shared));
 * ```
 */
export class SharedReadWriteLock implements ReadWriteLock {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 8;
  /** The resource name, the same in every thread. */
  readonly name: string;
  /** The shared side. */
  readonly read: SharedReadWriteLockSide;
  /** The exclusive side. */
  readonly write: SharedReadWriteLockSide;
  readonly #handle: SharedReadWriteLockHandle;
  readonly #words: ReadWriteWords;

  /**
   * Bytes a `SharedReadWriteLock` occupies.
   * @returns 24
   * @example `SharedReadWriteLock.byteLength()`
   */
  static byteLength(): number {
    return READ_WRITE_BYTES;
  }

  /**
   * Rebuilds the lock from its handle, e.g. in a worker.
   * @param handle - `lock.handle` as posted
   * @returns a lock on the same memory
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad handle
   * @example `const rw = SharedReadWriteLock.from(workerData.rw)`
   */
  static from(handle: SharedReadWriteLockHandle): SharedReadWriteLock {
    checkNamedRegion(handle, READ_WRITE_BYTES, 8);
    attaching = handle;
    return new SharedReadWriteLock();
  }

  /**
   * Creates a free lock in a new buffer, or at `options.buffer`/`options.byteOffset`.
   * @param options - `name` and placement
   * @throws TypeError / RangeError (code `ERR_CF_INVALID_ARG`) for a bad option
   * @example `const rw = new SharedReadWriteLock()`
   */
  constructor(options?: SharedReadWriteLockOptions) {
    const attached = attaching;
    attaching = undefined;
    const handle = attached ?? placeNamedRegion(options, 'shared-read-write-lock', READ_WRITE_BYTES, 8);
    this.name = handle.name;
    this.#handle = handle;
    this.#words = new ReadWriteWords(handle.buffer, handle.byteOffset);
    const holds: HandleHolds = { write: 0, rawReads: 0, leaseReads: 0, serial: 0 };
    this.read = new SharedReadWriteLockSide(this, this.name, 'read', this.#words, holds);
    this.write = new SharedReadWriteLockSide(this, this.name, 'write', this.#words, holds);
    this.read.pairWith(this.write);
    this.write.pairWith(this.read);
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): SharedReadWriteLockHandle {
    return this.#handle;
  }

  /** Bytes this lock occupies (24). */
  get byteLength(): number {
    return READ_WRITE_BYTES;
  }

  /** Number of read holds now, across all threads. */
  get readersCount(): number {
    return this.#words.readers;
  }

  /** `true` while a writer holds the lock. */
  get isWriteLocked(): boolean {
    return this.#words.writeLocked;
  }

  /** `true` while any hold exists. */
  get isLocked(): boolean {
    return this.#words.writeLocked || this.#words.readers > 0;
  }
}
