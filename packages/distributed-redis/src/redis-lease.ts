import { BackendError, BaseLease, LeaseLostError, type LeaseTrace, NotHeldError } from '@cf/core';

/** How a lease talks to its backend (one server, or a Redlock quorum). */
export interface HoldBackend {
  /** Resolves `true` while the hold is still ours and was extended, `false` when it is gone; rejects on transport failure. */
  extend(token: string): Promise<boolean>;
  /** Resolves `true` when the hold was still ours when deleted, `false` when it had already expired or been taken. */
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

const enum Phase {
  Held = 0,
  Extending = 1,
  Ended = 2,
}

/**
 * A lease on a Redis hold. Validity is tracked on the monotonic clock from the moment before the
 * request that took (or last extended) the hold was sent: `validUntil = sentAt + ttl - drift`.
 * The server cannot expire the key before `sentAt + ttl` (given clock rates within `drift`), so
 * aborting `signal` at `validUntil` happens before any other client can take the key.
 */
export class RedisLease extends BaseLease {
  readonly #token: string;
  readonly #backend: HoldBackend;
  readonly #timing: LeaseTiming;
  readonly #onEnd: () => void;
  #validUntil: number;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
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
    this.#schedule(performance.now());
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
    if ((this.#phase as Phase) === Phase.Ended) throw new NotHeldError(`The lease on ${this.resource} has ended`, this.resource);
    if (!extended || sentAt + this.#timing.ttl - this.#timing.drift <= performance.now()) {
      const error = new LeaseLostError(`The hold on ${this.resource} expired or was taken before it could be extended`, this.resource);
      this.#lose(error);
      throw error;
    }
    this.#validUntil = sentAt + this.#timing.ttl - this.#timing.drift;
    this.#schedule(performance.now());
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
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
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

  // One timer per lease: the next watchdog tick, or the end of validity, whichever is first.
  #schedule(now: number): void {
    const interval = this.#timing.extendInterval;
    const until = this.#validUntil - now;
    this.#arm(interval > 0 ? Math.min(interval, until) : until);
  }

  /** @internal */
  tick(): void {
    this.#timer = undefined;
    if (this.#phase === Phase.Ended) return;
    const now = performance.now();
    if (now >= this.#validUntil) {
      this.#lose(new LeaseLostError(`The hold on ${this.resource} reached the end of its validity`, this.resource));
      return;
    }
    // While an extension is in flight the timer only guards the end of validity.
    if (this.#phase === Phase.Extending || this.#timing.extendInterval === 0) {
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
    const after = performance.now();
    if (!extended) {
      this.#lose(new LeaseLostError(`The hold on ${this.resource} expired or was taken`, this.resource));
      return;
    }
    const validUntil = sentAt + this.#timing.ttl - this.#timing.drift;
    if (validUntil <= after) {
      this.#lose(new LeaseLostError(`Extending ${this.resource} took longer than its validity`, this.resource));
      return;
    }
    this.#validUntil = validUntil;
    this.#schedule(after);
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
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(onTimer, Math.max(0, delay), this);
    this.#timer.unref?.();
  }
}

function onTimer(lease: RedisLease): void {
  lease.tick();
}
