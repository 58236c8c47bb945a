import type { Lease } from './contracts.js';
import { LeaseLostError, TimeoutError } from './errors.js';
import { emit, observing } from './observer.js';
import { startTimer, stopTimer, type TimerHandle } from './timers.js';

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Who holds a lease, for the `acquired` / `released` / `lost` events. Build it only while
 * `observing` is `true`: without one a lease reports nothing and costs nothing extra.
 * @example
 * ```ts
 * const trace = observing ? { lock: this, mode: 'exclusive', owner, waitStart: 0 } : undefined;
 * return new MutexLease(this, ++this.fence, trace);
 * ```
 */
export interface LeaseTrace {
  /** The primitive. */
  readonly lock: object;
  /** `'exclusive'`, `'shared'`, `'permits'`, ... */
  readonly mode: string;
  /** The holder. */
  readonly owner: unknown;
  /** `performance.now()` when waiting began, or 0 when the lease was taken without waiting. */
  readonly waitStart: number;
  /** Permits held, for weighted primitives. */
  readonly permits?: number;
}

enum State {
  Held = 0,
  Lost = 1,
  Released = 2,
}

/**
 * Base class of every lease in @cf. It implements the contract once: an idempotent
 * `release()`, a lazily created `signal` (an AbortController costs 50-200x an uncontended
 * acquire, so it exists only if someone reads `signal`), `await using`, a hold-time limit,
 * loss, and the `acquired` / `released` / `lost` events.
 *
 * Subclasses implement `releaseHold()`, which runs exactly once.
 *
 * @example
 * ```ts
 * class MyLease extends BaseLease {
 *   constructor(private readonly lock: MyLock, fence: number) { super('my-lock', fence); }
 *   protected releaseHold(): void { this.lock.unlock(); }
 * }
 * ```
 */
export abstract class BaseLease implements Lease {
  /** The name of what is held. */
  readonly resource: string;
  #fence: number | bigint;
  #state: State = State.Held;
  #controller: AbortController | undefined = undefined;
  #abortReason: unknown = undefined;
  #holdTimer: TimerHandle | undefined = undefined;
  #trace: LeaseTrace | undefined;
  #acquiredAt = 0;
  // The first release()'s promise when releaseHold() was asynchronous, so that later calls wait for it too.
  #releasing: Promise<void> | undefined = undefined;

  /**
   * @param resource - the name of what is held
   * @param fence - the fencing token (a number is converted to `bigint` only when read)
   * @param trace - holder details, given only while `observing`; emits `acquired`
   */
  constructor(resource: string, fence: number | bigint, trace?: LeaseTrace) {
    this.resource = resource;
    this.#fence = fence;
    this.#trace = trace;
    if (trace !== undefined) {
      const now = performance.now();
      this.#acquiredAt = now;
      this.#emit('acquired', now, { waitTime: trace.waitStart === 0 ? 0 : now - trace.waitStart });
    }
  }

  /** Fencing token: strictly increasing per resource. */
  get token(): bigint {
    const fence = this.#fence;
    return typeof fence === 'bigint' ? fence : BigInt(fence);
  }

  /** `true` once released or lost. */
  get released(): boolean {
    return this.#state !== State.Held;
  }

  /** `true` when the lease ended because it was lost rather than released. */
  get lost(): boolean {
    return this.#state === State.Lost;
  }

  /** Aborts when the lease ends (released, lost) or exceeds its hold-time limit. */
  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = this.#controller = new AbortController();
      const reason = this.#abortReason;
      if (reason !== undefined) controller.abort(reason === RELEASED ? releasedReason(this.resource) : reason);
    }
    return controller.signal;
  }

  /**
   * Ends the lease: aborts `signal` (if anyone read it), then gives up the hold. Idempotent:
   * later calls release nothing and return the first call's outcome.
   * @returns resolves when the hold is given up (at once for in-process locks); rejects if
   *   giving it up failed (a backend error, for instance)
   * @example
   * ```ts
   * const lease = await lock.acquire();
   * try { await work(); } finally { await lease.release(); }
   * ```
   */
  release(): Promise<void> {
    if (this.#state === State.Released) return this.#releasing ?? RESOLVED;
    const wasHeld = this.#state === State.Held;
    this.#state = State.Released;
    this.#clearHoldTimer();
    if (wasHeld) {
      if (this.#trace !== undefined && observing) this.#emit('released', performance.now(), {});
      this.#abort(undefined);
    }
    let result: void | Promise<void>;
    try {
      result = this.releaseHold();
    } catch (error) {
      // The contract returns a promise; a subclass that throws must not turn that into a synchronous throw.
      result = Promise.reject(error);
    }
    if (result === undefined) return RESOLVED;
    this.#releasing = result;
    return result;
  }

  /**
   * Releases the lease; used by `await using`.
   * @returns what `release()` returns
   * @example
   * ```ts
   * { await using lease = await lock.acquire(); await work(); } // released here, also on throw
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /**
   * Gives up the hold. Runs exactly once, on the first `release()`, after `signal` aborted; it
   * also runs when the lease was lost first (a distributed lease then deletes its key if it is
   * still its own).
   * @returns nothing for a synchronous release, or a promise that settles when the hold is given up
   */
  protected abstract releaseHold(): void | Promise<void>;

  /**
   * Marks the lease lost (expiry, failed extension, session gone): `signal` aborts with
   * `reason` and a `lost` event is reported. `release()` still runs `releaseHold()` once.
   * Does nothing once the lease was released or lost.
   * @param reason - usually a `LeaseLostError`; `undefined` or `null` becomes one
   * @example
   * ```ts
   * if (!(await this.extend())) this.markLost(new LeaseLostError('extension failed', this.resource));
   * ```
   */
  protected markLost(reason: unknown): void {
    if (this.#state !== State.Held) return;
    this.#state = State.Lost;
    this.#clearHoldTimer();
    const error = reason ?? new LeaseLostError(`The lease on ${this.resource} was lost`, this.resource);
    if (this.#trace !== undefined && observing) this.#emit('lost', performance.now(), { error });
    this.#abort(error);
  }

  /**
   * Aborts `signal` with a `TimeoutError` if the lease is still held after `ms`; the hold itself
   * is kept (force-releasing would break exclusion), so the holder must stop on its own. A second
   * call replaces the first limit; a call on an ended lease does nothing.
   * @param ms - the hold-time limit in milliseconds, already validated (e.g. with `checkDuration`)
   * @example
   * ```ts
   * constructor(lock: MyLock, fence: number, maxHold?: number) {
   *   super(lock.name, fence);
   *   if (maxHold !== undefined) this.limitHoldTime(maxHold);
   * }
   * ```
   */
  protected limitHoldTime(ms: number): void {
    this.#clearHoldTimer();
    if (this.#state !== State.Held) return;
    // unref: a forgotten lease must not keep the process alive just to report that it was forgotten.
    this.#holdTimer = startTimer(
      () => {
        this.#holdTimer = undefined;
        if (this.#state !== State.Held) return;
        const error = new TimeoutError(`Held ${this.resource} for longer than ${ms} ms`, ms);
        if (this.#trace !== undefined && observing) this.#emit('timeout', performance.now(), { error });
        this.#abort(error);
      },
      ms,
      undefined,
      true,
    );
  }

  #clearHoldTimer(): void {
    if (this.#holdTimer !== undefined) {
      stopTimer(this.#holdTimer);
      this.#holdTimer = undefined;
    }
  }

  #abort(reason: unknown): void {
    if (this.#abortReason !== undefined) return;
    const controller = this.#controller;
    if (controller === undefined && reason === undefined) {
      // Nobody read `signal`: remember only that it ended, and build the reason if it is ever read.
      this.#abortReason = RELEASED;
      return;
    }
    this.#abortReason = reason ?? releasedReason(this.resource);
    controller?.abort(this.#abortReason);
  }

  #emit(type: 'acquired' | 'released' | 'lost' | 'timeout', timestamp: number, extra: object): void {
    const trace = this.#trace!;
    emit({
      type,
      resource: this.resource,
      mode: trace.mode,
      lock: trace.lock,
      owner: trace.owner,
      timestamp,
      token: this.token,
      ...(type === 'acquired' ? {} : { holdTime: timestamp - this.#acquiredAt }),
      ...(trace.permits === undefined ? {} : { permits: trace.permits }),
      ...extra,
    });
  }
}

const RELEASED = Symbol('released');

function releasedReason(resource: string): DOMException {
  return new DOMException(`The lease on ${resource} was released`, 'AbortError');
}
