import {
  type AcquireOptions,
  BackendError,
  checkAcquireOptions,
  emit,
  isConcurrencyError,
  type LeaseTrace,
  type Lock,
  observing,
  resolveOwner,
  TimeoutError,
  type Waiter,
  WaitQueue,
} from '@cf/core';
import type { RedisLease } from '../redis-lease.js';
import type { Wake } from './subscriber.js';
import { randomToken } from './token.js';

/** The Redis side of one primitive, as the acquirer drives it. */
export interface Contender<R> {
  /**
   * One atomic attempt. Resolves to the fence (> 0) when granted, or to minus a hint in ms of
   * when trying again may succeed. `register` asks a fair primitive to queue this process on the
   * server. Rejects with a `ConcurrencyError` or the client's error.
   */
  attempt(request: R, token: string, register: boolean): Promise<number>;
  /** Builds the lease for a granted attempt. */
  lease(
    request: R,
    token: string,
    fence: number,
    sentAt: number,
    onEnd: () => void,
    trace: LeaseTrace | undefined,
  ): RedisLease;
  /** Gives back a hold whose waiter left while the attempt was in flight. */
  discard(request: R, token: string): void;
  /** Leaves the server-side queue joined by `attempt(…, true)`. */
  withdraw?(): void;
}

/** How an acquirer is set up. */
export interface AcquirerOptions<R> {
  readonly resource: string;
  /** The public primitive, reported as `lock` in events. */
  readonly lock: object;
  readonly mode: string;
  /** `true` for holds that exclude each other: while one of ours is held, nobody of ours tries. */
  readonly exclusive: boolean;
  /** Longest pause between attempts while waiting, in ms (the fallback for missed messages). */
  readonly pollInterval: number;
  /** Subscribes `wake` to release announcements; returns the unsubscribe function. */
  readonly listen: (wake: Wake) => () => void;
  readonly contender: Contender<R>;
  /** Permits of a request, for events. */
  readonly permitsOf?: (request: R) => number;
}

/**
 * Waits for a Redis hold on behalf of every local caller of one primitive: callers queue in
 * core's `WaitQueue` (priority, then FIFO; timeouts and aborts handled there), and at most one
 * attempt is in flight at a time, always for the first waiter. Attempts are triggered by a local
 * release, a release announcement on the resource's channel, or a jittered poll bounded by
 * `pollInterval` (and by the current holder's remaining time), so each release costs each
 * waiting process about one attempt.
 */
export class Acquirer<R> {
  readonly #options: AcquirerOptions<R>;
  readonly #queue: WaitQueue<R, RedisLease>;
  #attempting = false;
  #dirty = false;
  #held = 0;
  #registered = false;
  #cancelScheduled = false;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #unlisten: (() => void) | undefined = undefined;
  readonly #wake: Wake = () => {
    this.#dirty = true;
    this.#pump();
  };
  readonly #pollNow = (): void => {
    this.#timer = undefined;
    this.#pump();
  };

  constructor(options: AcquirerOptions<R>) {
    this.#options = options;
    this.#queue = new WaitQueue<R, RedisLease>({
      resource: options.resource,
      lock: options.lock,
      mode: options.mode,
      onCancel: () => this.#afterCancel(),
    });
  }

  /** Callers waiting in this process. */
  get waiting(): number {
    return this.#queue.size;
  }

  /**
   * Queues `request` and resolves with a lease; rejects at once when `options` are invalid.
   */
  acquire(request: R, options: AcquireOptions | undefined): Promise<RedisLease> {
    try {
      checkAcquireOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    // `timeout: 0` means "only if free now": one attempt, not an instant rejection.
    if (options?.timeout === 0 && options.signal?.aborted !== true) return this.#acquireNow(request, options);
    const promise = this.#queue.enqueue(request, options);
    this.#pump();
    return promise;
  }

  async #acquireNow(request: R, options: AcquireOptions): Promise<RedisLease> {
    const lease = await this.tryAcquire(request);
    if (lease !== undefined) return lease;
    const { resource, lock, mode } = this.#options;
    const error = new TimeoutError(`${resource} is not available now (timeout 0)`, 0);
    if (observing) {
      const owner = resolveOwner(options.owner);
      emit({ type: 'timeout', resource, mode, lock, owner, timestamp: performance.now(), waitTime: 0, error });
    }
    throw error;
  }

  /** One attempt if nobody of ours waits or holds exclusively; never queues on the server. */
  async tryAcquire(request: R): Promise<RedisLease | undefined> {
    if (this.#attempting || this.#queue.size > 0 || (this.#options.exclusive && this.#held > 0)) return undefined;
    this.#attempting = true;
    const token = randomToken();
    const sentAt = performance.now();
    let result: number;
    try {
      result = await this.#options.contender.attempt(request, token, false);
    } catch (error) {
      throw this.#wrap(error);
    } finally {
      this.#attempting = false;
    }
    if (result <= 0) {
      this.#pump();
      return undefined;
    }
    const trace = observing ? this.#trace(request, undefined) : undefined;
    const lease = this.#grantLease(request, token, result, sentAt, trace);
    this.#pump();
    return lease;
  }

  #grantLease(request: R, token: string, fence: number, sentAt: number, trace: LeaseTrace | undefined): RedisLease {
    this.#held++;
    let ended = false;
    return this.#options.contender.lease(
      request,
      token,
      fence,
      sentAt,
      () => {
        if (ended) return;
        ended = true;
        this.#held--;
        this.#dirty = true;
        this.#pump();
      },
      trace,
    );
  }

  #trace(request: R, waiter: Waiter<R, RedisLease> | undefined): LeaseTrace {
    const permits = this.#options.permitsOf?.(request);
    return {
      lock: this.#options.lock,
      mode: this.#options.mode,
      owner: waiter?.owner,
      waitStart: waiter?.enqueuedAt ?? 0,
      ...(permits === undefined ? {} : { permits }),
    };
  }

  #pump(): void {
    if (this.#attempting) return;
    const waiter = this.#queue.first;
    if (waiter === undefined) return;
    if (this.#options.exclusive && this.#held > 0) return;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#attempting = true;
    this.#dirty = false;
    const token = randomToken();
    const sentAt = performance.now();
    const request = waiter.request;
    this.#options.contender.attempt(request, token, true).then(
      (result) => this.#settle(waiter, request, token, sentAt, result),
      (error: unknown) => this.#fail(error),
    );
  }

  #settle(waiter: Waiter<R, RedisLease>, request: R, token: string, sentAt: number, result: number): void {
    this.#attempting = false;
    if (result > 0) {
      this.#registered = false;
      let target: Waiter<R, RedisLease> | undefined = waiter;
      if (!waiter.pending) {
        // The waiter left during the round trip; hand the hold to the next one asking the same.
        const next = this.#queue.first;
        target = next !== undefined && next.request === request ? next : undefined;
      }
      if (target === undefined) {
        this.#options.contender.discard(request, token);
        this.#settled();
        return;
      }
      const lease = this.#grantLease(
        request,
        token,
        result,
        sentAt,
        observing ? this.#trace(request, target) : undefined,
      );
      this.#queue.grant(target, lease);
      this.#settled();
      if (!this.#options.exclusive) this.#pump();
      return;
    }
    this.#registered = true;
    if (this.#queue.size === 0) {
      this.#settled();
      return;
    }
    if (this.#unlisten === undefined) this.#unlisten = this.#options.listen(this.#wake);
    if (this.#dirty) {
      this.#pump();
      return;
    }
    const base = Math.min(-result, this.#options.pollInterval);
    const delay = base + Math.random() * Math.min(base * 0.2 + 1, 50);
    this.#timer = setTimeout(this.#pollNow, delay);
  }

  #fail(error: unknown): void {
    this.#attempting = false;
    // A broken connection must not leave callers waiting for a wake-up that may never come.
    this.#queue.rejectAll(this.#wrap(error));
    this.#settled();
  }

  #wrap(error: unknown): unknown {
    if (isConcurrencyError(error)) return error;
    return new BackendError(`Redis failed while acquiring ${this.#options.resource}`, { cause: error });
  }

  // Deferred: when one signal aborts many waiters, they all leave before anything is retried.
  #afterCancel(): void {
    if (this.#cancelScheduled) return;
    this.#cancelScheduled = true;
    queueMicrotask(() => {
      this.#cancelScheduled = false;
      if (this.#queue.size === 0) this.#settled();
      else this.#pump();
    });
  }

  // Stops waiting machinery once no caller of ours waits any more.
  #settled(): void {
    if (this.#queue.size > 0) return;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#unlisten !== undefined) {
      this.#unlisten();
      this.#unlisten = undefined;
    }
    if (this.#registered && !this.#attempting) {
      this.#registered = false;
      this.#options.contender.withdraw?.();
    }
  }
}

/**
 * The `Lock` surface over an acquirer: what `RedisReadWriteLock.read` and `.write` are.
 * @example
 * ```ts
 * const side = new AcquirerLock(acquirer);
 * await using lease = await side.acquire({ timeout: 1000 });
 * ```
 */
export class AcquirerLock implements Lock {
  readonly #acquirer: Acquirer<undefined>;

  /** @param acquirer - the acquirer of one kind of hold */
  constructor(acquirer: Acquirer<undefined>) {
    this.#acquirer = acquirer;
  }

  /**
   * Waits until held.
   * @param options - `signal`, `timeout` (ms), `priority` among this process's waiters, `owner`
   * @returns the lease
   * @throws TimeoutError; `signal.reason`; BackendError
   */
  acquire(options?: AcquireOptions): Promise<RedisLease> {
    return this.#acquirer.acquire(undefined, options);
  }

  /**
   * One attempt; never waits.
   * @returns the lease, or `undefined` when not available now
   * @throws BackendError
   */
  tryAcquire(): Promise<RedisLease | undefined> {
    return this.#acquirer.tryAcquire(undefined);
  }

  /** Callers currently waiting in this process. */
  get waitersCount(): number {
    return this.#acquirer.waiting;
  }
}
