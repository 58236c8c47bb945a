import { BackendError, BaseLease, LeaseLostError, type LeaseTrace, NotHeldError } from '@cf/core';
import { type TimerEntry, type TimerList, timerListFor } from './internal/timer-list.js';

/** How a lease talks to its backend (one server, or a Redlock quorum). */
export interface HoldBackend {
  /** Resolves `true` while the hold is still ours and was extended, `false` when it is gone; rejects on transport failure. */
  extend(token: string): Promise<boolean>;
  /** Resolves `true` when the hold was still ours when deleted, `false` when it had already expired or been taken; rejects on transport failure. */
  release(token: string): Promise<boolean>;
}

/** Validity bookkeeping shared by every lease of one primitive. */
export interface LeaseTiming {
  /** Time to live of the hold on the server, in ms. */
  readonly ttl: number;
  /** Safety margin for clock drift and timer lateness, in ms: validity ends `drift` before the server expires the key. */
  readonly drift: number;
  /** Watchdog period in ms; 0 disables automatic extension. */
  readonly extendInterval: number;
}

enum Phase {
  Held = 0,
  Extending = 1,
  Ended = 2,
}

// The lease's place in a shared timer list (a separate object keeps the list links off the public lease).
class Due implements TimerEntry {
  due = 0;
  previous: TimerEntry | undefined = undefined;
  next: TimerEntry | undefined = undefined;
  list: TimerList | undefined = undefined;
  readonly #lease: RedisLease;
  constructor(lease: RedisLease) {
    this.#lease = lease;
  }
  fire(now: number): void {
    this.#lease.tick(now);
  }
}

/**
 * A lease on a Redis hold. Validity is tracked on the monotonic clock from the moment before the
 * request that took (or last extended) the hold was sent: `validUntil = sentAt + ttl - drift`.
 * The server cannot expire the key before `sentAt + ttl` (given clock rates within `drift`), so
 * aborting `signal` at `validUntil` happens before any other client can take the key. While the
 * watchdog runs, the hold is extended every `extendInterval`; a refused extension, or validity
 * running out while Redis does not answer, aborts `signal` with `LeaseLostError`.
 *
 * @example
 * ```ts
 * const lease = await lock.acquire();
 * await storage.write(data, { fence: lease.token, signal: lease.signal });
 * console.log(lease.validity, 'ms left');
 * await lease.release();
 * ```
 */
export class RedisLease extends BaseLease {
  readonly #token: string;
  readonly #backend: HoldBackend;
  readonly #timing: LeaseTiming;
  readonly #onEnd: () => void;
  readonly #due: Due;
  readonly #list: TimerList;
  #validUntil: number;
  #guard: ReturnType<typeof setTimeout> | undefined = undefined;
  #phase = Phase.Held;
  #endReported = false;
  #lostBeforeRelease = false;

  /**
   * @param resource - the name of what is held
   * @param fence - the fencing token from the server
   * @param token - the random value that identifies this hold on the server
   * @param backend - extension and release
   * @param timing - ttl, drift and watchdog period
   * @param sentAt - `performance.now()` just before the acquire request was sent
   * @param onEnd - called once when the hold ends locally (released or lost)
   * @param trace - holder details, only while observers are registered
   */
  constructor(
    resource: string,
    fence: number | bigint,
    token: string,
    backend: HoldBackend,
    timing: LeaseTiming,
    sentAt: number,
    onEnd: () => void,
    trace?: LeaseTrace,
  ) {
    super(resource, fence, trace);
    this.#token = token;
    this.#backend = backend;
    this.#timing = timing;
    this.#onEnd = onEnd;
    this.#validUntil = sentAt + timing.ttl - timing.drift;
    this.#due = new Due(this);
    // With a watchdog the next event is the next extension, without one the end of validity.
    const delay = timing.extendInterval > 0 ? timing.extendInterval : timing.ttl - timing.drift;
    this.#list = timerListFor(delay);
    this.#list.add(this.#due, sentAt + delay);
  }

  /** Milliseconds for which this lease is still guaranteed (0 once ended or expired). */
  get validity(): number {
    if (this.#phase === Phase.Ended) return 0;
    return Math.max(0, this.#validUntil - performance.now());
  }

  /**
   * `true` when `release()` found the hold already gone on the server (it had expired or been
   * taken), so the work done under this lease may have overlapped another holder's.
   */
  get lostBeforeRelease(): boolean {
    return this.#lostBeforeRelease;
  }

  /**
   * Extends the hold by the primitive's ttl now, as the watchdog does.
   * @returns resolves when extended
   * @throws NotHeldError when the lease already ended; LeaseLostError when the hold was gone (the lease is then lost); BackendError when Redis failed
   * @example
   * ```ts
   * if (lease.validity < 1000) await lease.extend();
   * ```
   */
  async extend(): Promise<void> {
    if (this.#phase === Phase.Ended) throw new NotHeldError(`The lease on ${this.resource} has ended`, this.resource);
    const sentAt = performance.now();
    let extended: boolean;
    try {
      extended = await this.#backend.extend(this.#token);
    } catch (error) {
      throw new BackendError(`Redis failed while extending ${this.resource}`, { cause: error });
    }
    // The lease may have ended during the round trip.
    if ((this.#phase as Phase) === Phase.Ended)
      throw new NotHeldError(`The lease on ${this.resource} has ended`, this.resource);
    const validUntil = sentAt + this.#timing.ttl - this.#timing.drift;
    if (!extended || validUntil <= performance.now()) {
      const error = new LeaseLostError(
        `The hold on ${this.resource} expired or was taken before it could be extended`,
        this.resource,
      );
      this.#lose(error);
      throw error;
    }
    if (validUntil > this.#validUntil) this.#validUntil = validUntil;
    if (this.#phase === Phase.Held && this.#timing.extendInterval === 0) {
      this.#list.remove(this.#due);
      this.#list.add(this.#due, this.#validUntil);
    }
  }

  protected releaseHold(): Promise<void> {
    const wasLost = this.#phase === Phase.Ended;
    this.#stop();
    return this.#backend.release(this.#token).then(
      (stillOurs) => {
        this.#lostBeforeRelease = wasLost || !stillOurs;
        this.#reportEnd();
      },
      (error: unknown) => {
        this.#reportEnd();
        // The hold expires on its own after ttl; the caller should know it was not deleted.
        throw new BackendError(`Redis failed while releasing ${this.resource}; the hold expires after its ttl`, {
          cause: error,
        });
      },
    );
  }

  #stop(): void {
    this.#phase = Phase.Ended;
    this.#list.remove(this.#due);
    if (this.#guard !== undefined) {
      clearTimeout(this.#guard);
      this.#guard = undefined;
    }
  }

  #reportEnd(): void {
    if (this.#endReported) return;
    this.#endReported = true;
    this.#onEnd();
  }

  #lose(reason: LeaseLostError): void {
    if (this.#phase === Phase.Ended) return;
    this.#stop();
    this.markLost(reason);
    this.#reportEnd();
  }

  /** @internal Runs when the next watchdog tick, the end of validity or a retry is due. */
  tick(now: number, fromGuard = false): void {
    if (fromGuard) this.#guard = undefined;
    if (this.#phase === Phase.Ended) return;
    if (now >= this.#validUntil || this.#timing.extendInterval === 0) {
      this.#lose(new LeaseLostError(`The hold on ${this.resource} reached the end of its validity`, this.resource));
      return;
    }
    // While an extension is in flight the guard only watches the end of validity.
    if (this.#phase === Phase.Extending) {
      this.#arm(this.#validUntil - now);
      return;
    }
    this.#phase = Phase.Extending;
    this.#arm(this.#validUntil - now);
    this.#backend.extend(this.#token).then(
      (extended) => this.#extended(now, extended),
      () => this.#extensionFailed(),
    );
  }

  #extended(sentAt: number, extended: boolean): void {
    if (this.#phase !== Phase.Extending) return;
    this.#phase = Phase.Held;
    if (!extended) {
      this.#lose(new LeaseLostError(`The hold on ${this.resource} expired or was taken`, this.resource));
      return;
    }
    const validUntil = sentAt + this.#timing.ttl - this.#timing.drift;
    if (validUntil <= performance.now()) {
      this.#lose(new LeaseLostError(`Extending ${this.resource} took longer than its validity`, this.resource));
      return;
    }
    if (this.#guard !== undefined) {
      clearTimeout(this.#guard);
      this.#guard = undefined;
    }
    if (validUntil > this.#validUntil) this.#validUntil = validUntil;
    this.#list.add(this.#due, sentAt + this.#timing.extendInterval);
  }

  // Transport failure: keep the validity already earned and try again soon; the end of validity
  // still ends the lease in time if Redis stays unreachable.
  #extensionFailed(): void {
    if (this.#phase !== Phase.Extending) return;
    this.#phase = Phase.Held;
    const left = this.#validUntil - performance.now();
    this.#arm(Math.min(Math.max(10, this.#timing.extendInterval / 4), left));
  }

  #arm(delay: number): void {
    if (this.#guard !== undefined) clearTimeout(this.#guard);
    this.#guard = setTimeout(onGuard, Math.max(0, delay), this);
    this.#guard.unref?.();
  }
}

function onGuard(lease: RedisLease): void {
  lease.tick(performance.now(), true);
}
