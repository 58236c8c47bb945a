import { BaseLease, LeaseLostError, type LeaseTrace } from '@cf/core';
import type { SessionCore } from './session.js';

let lose: (lease: EtcdLease, reason: LeaseLostError) => void;

/**
 * Marks `lease` lost (etcd shows its key is gone); not part of the public API.
 * @param lease - the lease
 * @param reason - the `LeaseLostError`
 */
export function loseLease(lease: EtcdLease, reason: LeaseLostError): void {
  lose(lease, reason);
}

/**
 * A hold on an etcd primitive: a key on the session's lease. `token` is the key's create
 * revision, which only grows per primitive (and across the whole cluster). `signal` aborts with
 * `LeaseLostError` the moment the session is lost, and when the lease is released.
 *
 * @example
 * ```ts
 * await using lease = await lock.acquire();
 * console.log(lease.key, lease.token);   // e.g. "jobs/694d7a2c1f0e3b04" 42n
 * await storage.write(data, { fence: lease.token, signal: lease.signal });
 * ```
 */
export class EtcdLease extends BaseLease {
  /** The etcd key that represents this hold (UTF-8). */
  readonly key: string;
  readonly #core: SessionCore;
  readonly #onSessionEnd: (reason: unknown) => void;
  readonly #release: () => Promise<void>;

  /**
   * @param resource - the primitive's name
   * @param key - the key held
   * @param revision - its create revision (the fencing token)
   * @param core - the session
   * @param release - deletes the key and lets the next local request in
   * @param trace - holder details while observers are registered
   */
  constructor(
    resource: string,
    key: Buffer,
    revision: bigint,
    core: SessionCore,
    release: () => Promise<void>,
    trace?: LeaseTrace,
  ) {
    super(resource, revision, trace);
    this.key = key.toString('utf8');
    this.#core = core;
    this.#release = release;
    this.#onSessionEnd = (reason) =>
      this.markLost(new LeaseLostError(`Lost ${resource}: its etcd session ended`, resource, { cause: reason }));
    if (core.ended !== undefined) this.#onSessionEnd(core.ended);
    else core.listeners.add(this.#onSessionEnd);
  }

  static {
    lose = (lease, reason) => lease.markLost(reason);
  }

  /** Deletes the key (once). */
  protected releaseHold(): Promise<void> {
    this.#core.listeners.delete(this.#onSessionEnd);
    return this.#release();
  }
}
