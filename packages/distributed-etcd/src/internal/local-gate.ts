import { type AcquireOptions, WaitQueue } from '@cf/core';

/**
 * Orders the requests of one process that share a session's keys under one prefix, before they
 * reach etcd. The Go recipe keys a lock by session (`<name>/<lease>`), so two holders in one
 * session would hold the same key and both believe they own the lock; here they queue locally
 * instead (priority, then FIFO), and only the request at the front talks to etcd.
 *
 * Exclusive entries exclude everything; shared entries (readers) exclude only exclusive ones.
 */
export class LocalGate {
  readonly #queue: WaitQueue<boolean, void>;
  readonly #onIdle: (gate: LocalGate) => void;
  #exclusive = false;
  #shared = 0;

  /**
   * @param resource - name for messages and events
   * @param lock - the primitive reported in events
   * @param onIdle - called when nobody holds or waits, so the owner can forget the gate
   */
  constructor(resource: string, lock: object, onIdle: (gate: LocalGate) => void) {
    this.#onIdle = onIdle;
    this.#queue = new WaitQueue<boolean, void>({
      resource,
      lock,
      mode: (exclusive) => (exclusive ? 'exclusive' : 'shared'),
      onCancel: () => {
        this.#dispatch();
        this.#checkIdle();
      },
    });
  }

  /**
   * Enters at once when nothing is in the way (and nobody queues ahead).
   * @param exclusive - exclusive or shared entry
   * @returns whether it entered
   */
  tryEnter(exclusive: boolean): boolean {
    if (this.#queue.size > 0 || this.#exclusive || (exclusive && this.#shared > 0)) return false;
    if (exclusive) this.#exclusive = true;
    else this.#shared++;
    return true;
  }

  /**
   * Waits to enter; call after `tryEnter` returned `false`.
   * @param exclusive - exclusive or shared entry
   * @param options - signal, timeout, priority, owner (validated)
   */
  enter(exclusive: boolean, options: AcquireOptions | undefined): Promise<void> {
    return this.#queue.enqueue(exclusive, options);
  }

  /**
   * Leaves the gate and lets the next requests in.
   * @param exclusive - how it was entered
   */
  leave(exclusive: boolean): void {
    if (exclusive) this.#exclusive = false;
    else this.#shared--;
    this.#dispatch();
    this.#checkIdle();
  }

  #checkIdle(): void {
    if (!this.#exclusive && this.#shared === 0 && this.#queue.size === 0) this.#onIdle(this);
  }

  /**
   * Rejects every queued request (the session ended).
   * @param reason - the rejection
   */
  rejectAll(reason: unknown): void {
    this.#queue.rejectAll(reason);
  }

  #dispatch(): void {
    for (let waiter = this.#queue.first; waiter !== undefined; waiter = this.#queue.first) {
      if (waiter.request) {
        if (this.#exclusive || this.#shared > 0) return;
        this.#exclusive = true;
      } else {
        if (this.#exclusive) return;
        this.#shared++;
      }
      this.#queue.grant(waiter, undefined);
    }
  }
}

/**
 * The gate of `key` in `gates`, created on first use and removed when idle.
 * @param gates - a session's gates
 * @param key - the primitive's key prefix as a string
 * @param resource - name for messages
 * @param lock - primitive reported in events
 */
export function gateFor(gates: Map<string, LocalGate>, key: string, resource: string, lock: object): LocalGate {
  let gate = gates.get(key);
  if (gate === undefined) {
    gate = new LocalGate(resource, lock, (idle) => {
      if (gates.get(key) === idle) gates.delete(key);
    });
    gates.set(key, gate);
  }
  return gate;
}
