import type { AcquireOptions } from '@cf/core';
import { type Waiter, WaitQueue } from '@cf/core';
import type { PendingWait } from './pending-wait.js';

/** How a {@link WaitLane} takes what its waiters ask for and sleeps until it may be available. */
export interface WaitLaneOptions<R, V> {
  /** Resource name for errors and observer events. */
  readonly resource: string;
  /** The primitive, reported as `lock` in events. */
  readonly lock: object;
  /** Event mode of the waiters (default `'exclusive'`). */
  readonly mode?: string | ((request: R) => string);
  /**
   * Tries to take what `waiter` asks for, in shared memory, without waiting.
   * @returns what the waiter receives, or `undefined` when it is not available
   */
  readonly tryTake: (waiter: Waiter<R, V>) => V | undefined;
  /**
   * Registers a wait for a change that may make the first waiter's request available.
   * @returns the wait, or `undefined` when the state already changed (the lane retries at once)
   */
  readonly park: (waiter: Waiter<R, V>) => PendingWait | undefined;
}

/**
 * The async waiters one thread has on one shared-memory primitive. Waiters queue locally (core's
 * `WaitQueue`: priority, then FIFO; timeouts and abort signals), and only the first one is
 * served: the lane tries to take it, and otherwise parks one `Atomics.waitAsync` (a
 * {@link PendingWait}) until the shared state changes. So a thousand async waiters cost one
 * parked wait, the event loop stays alive exactly while someone waits, and a waiter that times
 * out or aborts simply leaves the local queue (the parked wait is cancelled without losing a
 * wake-up when nobody is left).
 *
 * @typeParam R - what a waiter asks for
 * @typeParam V - what a served waiter receives (a lease)
 * @example
 * ```ts
 * const lane = new WaitLane<number, Lease>({ resource: 'pool', lock: this,
 *   tryTake: (w) => this.#tryTake(w.request), park: () => this.#park() });
 * const lease = await lane.enqueue(2, { timeout: 100 });
 * ```
 */
export class WaitLane<R, V> {
  readonly #queue: WaitQueue<R, V>;
  readonly #tryTake: (waiter: Waiter<R, V>) => V | undefined;
  readonly #park: (waiter: Waiter<R, V>) => PendingWait | undefined;
  #parked: PendingWait | undefined = undefined;
  #pumping = false;

  /**
   * @param options - resource name, primitive, and the take and park functions
   */
  constructor(options: WaitLaneOptions<R, V>) {
    this.#tryTake = options.tryTake;
    this.#park = options.park;
    this.#queue = new WaitQueue<R, V>({
      resource: options.resource,
      lock: options.lock,
      ...(options.mode === undefined ? {} : { mode: options.mode }),
      // A waiter that left may have been the one blocking the others (or the last one).
      onCancel: () => this.pump(),
    });
  }

  /** Number of waiting callers. */
  get size(): number {
    return this.#queue.size;
  }

  /**
   * Queues a request (options already validated) and serves the queue.
   * @param request - what is asked for
   * @param options - signal, timeout, priority, owner
   * @returns settles with what `tryTake` returned, or rejects on timeout or abort
   * @example `return lane.enqueue(undefined, options)`
   */
  enqueue(request: R, options?: AcquireOptions): Promise<V> {
    const promise = this.#queue.enqueue(request, options);
    this.pump();
    return promise;
  }

  /**
   * Serves waiters now: call it after this thread released something a local waiter may take.
   * @example `lane.pump()`
   */
  pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      this.#serve();
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Rejects every waiter with `reason` (e.g. the primitive was closed).
   * @param reason - the rejection
   * @example `lane.rejectAll(new ClosedError('closed'))`
   */
  rejectAll(reason: unknown): void {
    this.#queue.rejectAll(reason);
    this.pump();
  }

  #serve(): void {
    const queue = this.#queue;
    for (;;) {
      const first = queue.first;
      if (first === undefined) {
        this.#parked?.cancel();
        this.#parked = undefined;
        return;
      }
      const value = this.#tryTake(first);
      if (value !== undefined) {
        queue.grant(first, value);
        continue;
      }
      if (this.#parked !== undefined) return;
      const wait = this.#park(first);
      if (wait === undefined || !wait.pending) continue;
      this.#parked = wait;
      wait.promise.then(() => {
        if (this.#parked !== wait) return;
        this.#parked = undefined;
        this.pump();
      });
      return;
    }
  }
}
