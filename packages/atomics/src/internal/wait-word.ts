import { checkAcquireOptions, checkTimeout } from '@cf/core';
import type { PendingWait, WaitResult } from '../pending-wait.js';
import type { Placement, RegionHandle } from '../placement.js';
import { placeRegion } from '../region.js';
import { waitBlocking, withSignal } from './async-wait.js';
import { takeAttached } from './attach.js';
import { checkInt32 } from './checks.js';
import type { TimedWaitOptions } from './wait-options.js';

/**
 * An int32 word in shared memory that threads wait on (word 0 of the region), blocking or async:
 * what `Futex` and `EventCount` share. The subclass decides what a wait expects and who notifies.
 *
 * @typeParam H - the handle type
 * @example
 * ```ts
 * const futex = new Futex(0);
 * await futex.waitAsync(0, { timeout: 10 });
 * ```
 */
export abstract class WaitWord<H extends RegionHandle = RegionHandle> {
  /** Required alignment of a region's `byteOffset`, in bytes. */
  static readonly alignment: number = 4;
  /** The region's words; word 0 is the one waited on. */
  protected readonly words: Int32Array;
  readonly #handle: H;

  /**
   * Attaches to the region `from()` handed over, or builds a new one with `initial` in word 0
   * (every other word zero).
   * @param bytes - the region's size
   * @param initial - word 0 of a new region
   * @param options - where to place a new region
   */
  protected constructor(bytes: number, initial: number, options: Placement | undefined) {
    const attached = takeAttached();
    const region = attached ?? placeRegion(options, bytes, 4);
    this.#handle = { buffer: region.buffer, byteOffset: region.byteOffset } as H;
    this.words = new Int32Array(region.buffer, region.byteOffset, bytes / 4);
    if (attached !== undefined) return;
    for (let i = 1; i < this.words.length; i++) Atomics.store(this.words, i, 0);
    Atomics.store(this.words, 0, initial);
  }

  /** The structured-clone-safe handle to post to a worker. */
  get handle(): H {
    return this.#handle;
  }

  /** Bytes this structure occupies. */
  get byteLength(): number {
    return this.words.byteLength;
  }

  /**
   * Starts an async wait that the caller can cancel (see `Futex.park`, `EventCount.park`).
   * @param expected - wait only while word 0 holds this value
   * @param timeout - milliseconds (default: no limit); not validated, pass a checked value
   * @returns the pending wait
   * @example `const wait = futex.park(0); wait.promise.then(retry);`
   */
  abstract park(expected: number, timeout?: number): PendingWait;

  /**
   * A checked blocking wait while word 0 equals `expected`.
   * @throws TypeError where blocking is not allowed; TypeError / RangeError for bad arguments
   */
  protected blockWhile(expected: number, name: string, timeout: number, spins: number): WaitResult {
    checkInt32(expected, name);
    checkTimeout(timeout, 'timeout');
    return waitBlocking(this.words, 0, expected, timeout, spins);
  }

  /**
   * A checked async wait while word 0 equals `expected`.
   * @returns rejects with `signal.reason` on abort, or with TypeError / RangeError for bad arguments
   */
  protected waitWhile(expected: number, name: string, options: TimedWaitOptions | undefined): Promise<WaitResult> {
    try {
      checkInt32(expected, name);
      checkAcquireOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.parkWhile(expected, options?.timeout ?? Number.POSITIVE_INFINITY, options?.signal);
  }

  /**
   * An unchecked async wait while word 0 equals `expected`, given up on abort.
   * @returns rejects with `signal.reason` on abort
   */
  protected parkWhile(expected: number, timeout: number, signal: AbortSignal | undefined): Promise<WaitResult> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return withSignal(this.park(expected, timeout), signal);
  }
}
