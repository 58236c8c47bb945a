import type { IEvent } from 'etcd3';
import type { Watch, WatchHub } from './watch-hub.js';

/** How a wait on a key ended. */
export type KeyWaitOutcome = 'changed' | 'reset' | 'timeout';

/**
 * Waits for the first change of a key or range after a revision, through the client's shared
 * watch stream. `next(ms)` also returns after `ms`, so the waiter can re-read the state now and
 * then in case a member stopped answering on the stream.
 */
export class KeyWait {
  readonly key: Buffer;
  readonly #hub: WatchHub;
  readonly #watch: Watch;
  #outcome: KeyWaitOutcome | undefined = undefined;
  #events: IEvent[] = [];
  #wake: ((outcome: KeyWaitOutcome) => void) | undefined = undefined;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;

  /**
   * @param hub - the client's watch hub
   * @param key - key or range start
   * @param end - range end, or `undefined` for one key
   * @param from - first revision of interest
   * @param deletesOnly - report only deletions
   */
  constructor(hub: WatchHub, key: Buffer, end: Buffer | undefined, from: bigint, deletesOnly: boolean) {
    this.key = key;
    this.#hub = hub;
    this.#watch = hub.watch(key, end, from, deletesOnly, (events) => {
      if (events === undefined) this.#fire('reset');
      else {
        this.#events.push(...events);
        this.#fire('changed');
      }
    });
  }

  /** Events received so far (for waits that look at values). */
  take(): IEvent[] {
    const events = this.#events;
    this.#events = [];
    return events;
  }

  /**
   * Resolves with `changed` or `reset` as soon as one happened (at once if it already did), or
   * with `timeout` after `ms`. A `timeout` leaves the watch running.
   * @param ms - how long to wait at most
   */
  next(ms: number): Promise<KeyWaitOutcome> {
    if (this.#outcome !== undefined) {
      const outcome = this.#outcome;
      if (outcome === 'changed') this.#outcome = undefined;
      return Promise.resolve(outcome);
    }
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#wake = undefined;
        resolve('timeout');
      }, ms);
    });
  }

  /** Stops watching. */
  close(): void {
    this.#hub.cancel(this.#watch);
    this.#clearTimer();
    this.#wake = undefined;
  }

  #fire(outcome: KeyWaitOutcome): void {
    if (this.#outcome !== 'reset') this.#outcome = outcome;
    const wake = this.#wake;
    if (wake === undefined) return;
    this.#wake = undefined;
    this.#clearTimer();
    if (outcome === 'changed') this.#outcome = undefined;
    wake(outcome);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}
