import type { Lease } from '@cf/core';
import { BaseLease } from '@cf/core';

/**
 * A lease made of other leases (several names of `acquireAll`, or a lock from a `createLock`
 * factory): releasing it releases them all, and it is lost when any of them is lost. It links
 * to their signals only once its own `signal` is read, so it costs nothing when unobserved.
 */
export class LinkedLease extends BaseLease {
  /** The leases held, in acquisition order. */
  readonly leases: readonly Lease[];
  readonly #onRelease: (() => void) | undefined;
  #linked = false;

  /**
   * @param resource - the name reported
   * @param leases - the leases held (at least one)
   * @param holdTimeout - hold limit in ms (0: none)
   * @param onRelease - called once, when this lease is released
   */
  constructor(resource: string, leases: readonly Lease[], holdTimeout: number, onRelease: (() => void) | undefined) {
    super(resource, leases[leases.length - 1]!.token);
    this.leases = leases;
    this.#onRelease = onRelease;
    if (holdTimeout !== 0) this.limitHoldTime(holdTimeout);
  }

  override get signal(): AbortSignal {
    const signal = super.signal;
    if (!this.#linked) {
      this.#linked = true;
      for (const lease of this.leases) {
        const inner = lease.signal;
        if (inner.aborted) this.#innerEnded(inner);
        else inner.addEventListener('abort', () => this.#innerEnded(inner), { once: true });
      }
    }
    return signal;
  }

  #innerEnded(inner: AbortSignal): void {
    // Our own release aborts the inner signals too; markLost ignores a lease that has ended.
    this.markLost(inner.reason);
  }

  protected releaseHold(): Promise<void> {
    this.#onRelease?.();
    const leases = this.leases;
    if (leases.length === 1) return leases[0]!.release();
    // Release in reverse order of acquisition; all are attempted even if one fails.
    const releases: Promise<void>[] = [];
    for (let i = leases.length - 1; i >= 0; i--) releases.push(leases[i]!.release());
    return Promise.all(releases).then(() => undefined);
  }
}
