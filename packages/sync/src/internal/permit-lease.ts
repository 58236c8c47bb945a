import type { LeaseTrace } from '@cf/core';
import { BaseLease } from '@cf/core';
import type { Semaphore, SemaphoreLease } from '../semaphore.js';

// Lets the lease reach the semaphore's private return path without exposing it on the public class.
let returnPermits: (semaphore: Semaphore, permits: number) => void;

/**
 * Called once, by the Semaphore class: how a lease gives its permits back.
 * @param fn - returns `permits` to `semaphore` and serves its waiters
 * @example
 * ```ts
 * static { setReturnPermits((semaphore, permits) => semaphore.#return(permits)); }
 * ```
 */
export function setReturnPermits(fn: (semaphore: Semaphore, permits: number) => void): void {
  returnPermits = fn;
}

/**
 * The Semaphore's lease. Made by `PermitLease.of` through BaseLease.make (no constructor runs,
 * see there), from `FREE_PERMITS` for a lease returned at once or `HANDED_PERMITS` for one handed
 * to a waiter (see BaseLease.handedPrototype).
 * @example
 * ```ts
 * return PermitLease.of(FREE_PERMITS, this, ++this.#fence, 1, 0, undefined);
 * ```
 */
export class PermitLease extends BaseLease implements SemaphoreLease {
  // Private to TypeScript only: `#` fields need a constructor to run, which BaseLease.make skips.
  // They are not on the public `SemaphoreLease` type; what a release gives back is `held`.
  declare private semaphore: Semaphore;
  declare private held: number;

  /**
   * A lease for a synchronous caller (`tryAcquireSync`), untraced and without a hold limit: there
   * `new` is the faster way (see BaseLease.make); every other lease comes from `of`.
   * @param semaphore - the semaphore the permits return to
   * @param fence - the fencing token
   * @param permits - permits held
   */
  constructor(semaphore: Semaphore, fence: number, permits: number) {
    super('', fence);
    this.semaphore = semaphore;
    this.held = permits;
  }

  /**
   * Makes a lease.
   * @param prototype - `FREE_PERMITS` or `HANDED_PERMITS`
   * @param semaphore - the semaphore the permits return to
   * @param fence - the fencing token
   * @param permits - permits held
   * @param holdTimeout - hold-time limit in ms, 0 for none
   * @param trace - holder details, only while observing
   * @returns the lease
   * @example `PermitLease.of(FREE_PERMITS, semaphore, 1, 1, 0, undefined)`
   */
  static of(
    prototype: PermitLease,
    semaphore: Semaphore,
    fence: number,
    permits: number,
    holdTimeout: number,
    trace: LeaseTrace | undefined,
  ): SemaphoreLease {
    const lease = BaseLease.make(prototype, fence);
    lease.semaphore = semaphore;
    lease.held = permits;
    BaseLease.finishMake(lease, trace, holdTimeout);
    return lease;
  }

  /** The semaphore's name. */
  override get resource(): string {
    return this.semaphore.name;
  }

  /** Permits this lease holds. */
  get permits(): number {
    return this.held;
  }

  protected releaseHold(): void {
    returnPermits(this.semaphore, this.held);
  }
}

// Module constants: see BaseLease.make.
/** Prototype of a lease returned without waiting. */
export const FREE_PERMITS: PermitLease = PermitLease.prototype;
/** Prototype of a lease handed to a waiter. */
export const HANDED_PERMITS: PermitLease = BaseLease.handedPrototype(FREE_PERMITS);
