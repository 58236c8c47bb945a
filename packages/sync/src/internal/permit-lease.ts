import type { LeaseTrace } from '@cf/core';
import { BaseLease } from '@cf/core';
import type { Semaphore, SemaphoreLease } from '../semaphore.js';

// The Semaphore's leases: two classes with one body, because a lease handed to a waiter and one
// returned at once are resolved by different engine paths (see HandedPermitLease).

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
 * The lease that acquire() and tryAcquire() return when they need not wait.
 * @example
 * ```ts
 * return new PermitLease(this, this.name, ++this.#fence, 1, 0, undefined);
 * ```
 */
export class PermitLease extends BaseLease implements SemaphoreLease {
  // Private, so that no caller can change what the release gives back.
  readonly #permits: number;
  readonly #semaphore: Semaphore;

  constructor(
    semaphore: Semaphore,
    resource: string,
    fence: number,
    permits: number,
    holdTimeout: number,
    trace: LeaseTrace | undefined,
  ) {
    super(resource, fence, trace);
    this.#semaphore = semaphore;
    this.#permits = permits;
    if (holdTimeout !== 0) this.limitHoldTime(holdTimeout);
  }

  /** How many permits this lease holds and returns, once, when released. */
  get permits(): number {
    return this.#permits;
  }

  protected releaseHold(): void {
    returnPermits(this.#semaphore, this.#permits);
  }
}

/**
 * The same lease, for a waiter. It reaches the waiter through the waiter's resolve function, which
 * looks `then` up along the lease's whole prototype chain (about 12 ns a grant on Node 20); an
 * inert `then: undefined` on the first prototype ends that lookup there. PermitLease, which an
 * uncontended acquire() returns, must not have it: TurboFan compiles Promise.resolve(lease) to a
 * plain fulfilment, without any lookup, only while no prototype has a `then` at all (with it, an
 * uncontended acquire+release measured 20-25% slower). A sibling class with its own code rather
 * than a subclass (one more constructor call per grant). `then` is not a function, so no lease is
 * a thenable: `await lease` gives the lease.
 * @example
 * ```ts
 * queue.grant(waiter, new HandedPermitLease(this, this.name, ++this.#fence, permits, 0, undefined));
 * ```
 */
export class HandedPermitLease extends BaseLease implements SemaphoreLease {
  static {
    // Inert: not a function (see above).
    Object.defineProperty(HandedPermitLease.prototype, 'then', { value: undefined });
  }

  readonly #permits: number;
  readonly #semaphore: Semaphore;

  constructor(
    semaphore: Semaphore,
    resource: string,
    fence: number,
    permits: number,
    holdTimeout: number,
    trace: LeaseTrace | undefined,
  ) {
    super(resource, fence, trace);
    this.#semaphore = semaphore;
    this.#permits = permits;
    if (holdTimeout !== 0) this.limitHoldTime(holdTimeout);
  }

  /** How many permits this lease holds and returns, once, when released. */
  get permits(): number {
    return this.#permits;
  }

  protected releaseHold(): void {
    returnPermits(this.#semaphore, this.#permits);
  }
}
