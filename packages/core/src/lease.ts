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

// Lease states, as number literals in the code below: TypeScript emits an enum here as an object
// (isolatedModules), and one property load per check costs 15% of an uncontended
// tryAcquireSync() + release(); module-level constants measured even slower.
// 0: held, 1: lost, 2: released.
type State = 0 | 1 | 2;

// What a lease needs only sometimes (a signal someone read, observers, a hold limit, a loss, an
// asynchronous release) lives in one object created on demand, so that the common lease is three
// fields and its release a single check. Always made by newExtra(), so all have one shape.
interface Extra {
  state: State;
  // Created when someone reads `signal`, or at a loss or hold timeout (with its reason).
  controller: AbortController | undefined;
  holdTimer: TimerHandle | undefined;
  trace: LeaseTrace | undefined;
  acquiredAt: number;
  // The first release()'s promise when releaseHold() was asynchronous, so that later calls wait for it too.
  releasing: Promise<void> | undefined;
}

function newExtra(state: State, trace: LeaseTrace | undefined, acquiredAt: number): Extra {
  return { state, controller: undefined, holdTimer: undefined, trace, acquiredAt, releasing: undefined };
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
  // Fields are declared without initialisers and set in the constructor: on Node 20 (V8 11), any
  // field definition or private-name member in a base class makes every subclass's `super()`
  // about twice as slow, which would double the cost of an uncontended tryAcquireSync()/release().
  declare private __resource: string;
  declare private __fence: number | bigint;
  // undefined: held, with nothing else to remember; null: released, nobody having read `signal`
  // (its reason is built if it is ever read); otherwise the state and everything rare. Literals
  // as markers: a module-level symbol would cost a load (and a hole check) in every release.
  declare private __rare: Extra | null | undefined;

  /**
   * @param resource - the name of what is held
   * @param fence - the fencing token (a number is converted to `bigint` only when read)
   * @param trace - holder details, given only while `observing`; emits `acquired`
   */
  constructor(resource: string, fence: number | bigint, trace?: LeaseTrace) {
    this.__resource = resource;
    this.__fence = fence;
    this.__rare = undefined;
    // The traced case is a separate method so that this constructor stays small enough to be
    // inlined into every subclass's constructor and their callers.
    if (trace !== undefined) this.traceAcquired(trace);
  }

  /**
   * Makes a lease of a subclass without running a constructor: an object created from
   * `prototype` with the base state set, which the subclass's own factory then completes. For
   * the leases of hot in-process paths: on Node 20 (V8 11), `await`ing an already-resolved
   * promise of an object made with `new` costs about 15 ns more than one of an object made with
   * `Object.create` of a prototype known when compiling, because only for the latter does
   * TurboFan prove that the object has no `then` and skip the lookup along its prototype chain
   * (measured: an uncontended mutex at 1.6x an awaited resolved promise with `new`, 1.3x with
   * this).
   *
   * Such an object has room for four fields before V8 allocates a separate property store (which
   * costs more than all of the above saves). This sets two (the token and the state), so a made
   * lease has two of its own, always set in the same order right after this call, and it must
   * override `resource` (a getter reading its lock's name, say) since no name is stored. Call
   * {@link BaseLease.finishMake} once its fields are set. Pass the
   * prototype from a module-level constant: loaded from a class inside a method it is not known
   * when compiling, and the gain is lost.
   * @param prototype - the subclass's `prototype` (or a {@link BaseLease.handedPrototype} of it)
   * @param fence - the fencing token
   * @returns the new lease
   * @example
   * ```ts
   * class MyLease extends BaseLease {
   *   declare private lock: MyLock;
   *   static of(prototype: MyLease, lock: MyLock, fence: number, trace: LeaseTrace | undefined): MyLease {
   *     const lease = BaseLease.make(prototype, fence);
   *     lease.lock = lock;
   *     BaseLease.finishMake(lease, trace, 0);
   *     return lease;
   *   }
   *   override get resource(): string { return this.lock.name; }
   *   protected releaseHold(): void { this.lock.unlock(); }
   * }
   * const MY_LEASE: MyLease = MyLease.prototype;
   * ```
   */
  protected static make<L extends BaseLease>(prototype: L, fence: number | bigint): L {
    const lease = Object.create(prototype) as L;
    lease.__fence = fence;
    lease.__rare = undefined;
    return lease;
  }

  /**
   * Completes a lease from {@link BaseLease.make} once its own fields are set: emits `acquired`
   * when there is a trace, then starts the hold limit when `holdTimeout` is not 0. Static, so
   * that the common case (neither) costs a call to one known function, not a method lookup on
   * leases of several prototypes (measured as an instance method: a read lease 1.76x the mutex
   * instead of 1.08x).
   * @param lease - the lease from {@link BaseLease.make}
   * @param trace - holder details, only while observing
   * @param holdTimeout - the hold limit in milliseconds (already validated); 0 for none
   * @example `BaseLease.finishMake(lease, trace, holdTimeout)`
   */
  protected static finishMake(lease: BaseLease, trace: LeaseTrace | undefined, holdTimeout: number): void {
    if (trace !== undefined) lease.traceAcquired(trace);
    if (holdTimeout !== 0) lease.limitHoldTime(holdTimeout);
  }

  /**
   * A second prototype for the leases of `prototype` that are handed to waiters, with an inert
   * `then: undefined` on it. Such a lease reaches its waiter through the waiter's promise resolve
   * function, which looks `then` up along the lease's whole prototype chain (about 12 ns a
   * hand-off on Node 20); the inert `then` ends that lookup at the first step. Leases returned at
   * once (`Promise.resolve(lease)` in an uncontended acquire) must keep `prototype` itself, which
   * has no `then` anywhere on its chain: TurboFan then skips the lookup altogether (see
   * {@link BaseLease.make}). `then` is not a function, so no lease is a thenable and
   * `await lease` gives the lease; `'then' in lease` is `true` for handed leases.
   * @param prototype - the subclass's `prototype`
   * @returns a prototype inheriting from `prototype`, for {@link BaseLease.make}
   * @example
   * ```ts
   * const HANDED: MyLease = BaseLease.handedPrototype(MyLease.prototype);
   * ```
   */
  static handedPrototype<L extends BaseLease>(prototype: L): L {
    // An inert `then` is the point here; it is not a function, so nothing treats a lease as a promise.
    // biome-ignore lint/suspicious/noThenProperty: deliberate, see above
    return Object.create(prototype, { then: { value: undefined } }) as L;
  }

  /** The name of what is held. */
  get resource(): string {
    return this.__resource;
  }

  /** Fencing token: strictly increasing per resource. */
  get token(): bigint {
    const fence = this.__fence;
    return typeof fence === 'bigint' ? fence : BigInt(fence);
  }

  /** `true` once released or lost. */
  get released(): boolean {
    const rare = this.__rare;
    return rare !== undefined && (rare === null || rare.state !== 0) /* not held */;
  }

  /** `true` when the lease ended because it was lost rather than released. */
  get lost(): boolean {
    const rare = this.__rare;
    return rare !== undefined && rare !== null && rare.state === 1 /* lost */;
  }

  /** Aborts when the lease ends (released, lost) or exceeds its hold-time limit. */
  get signal(): AbortSignal {
    const extra = this.__extraFor();
    let controller = extra.controller;
    if (controller === undefined) {
      controller = new AbortController();
      extra.controller = controller;
      // A lost lease got its controller when it was lost, so this one was released.
      if (extra.state !== 0 /* held */) controller.abort(releasedReason(this.resource));
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
    // The common case, a held lease with nothing rare, is one check; the rest is in other
    // methods so that this one is inlined where it is called.
    const rare = this.__rare;
    if (rare !== undefined) return this.__releaseRare(rare);
    this.__rare = null;
    return this.__releaseHold();
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
    const rare = this.__rare;
    if (rare === null || (rare !== undefined && rare.state !== 0) /* held */) return;
    const extra = this.__extraFor();
    extra.state = 1 /* lost */;
    this.__clearHoldTimer(extra);
    const error = reason ?? new LeaseLostError(`The lease on ${this.resource} was lost`, this.resource);
    if (extra.trace !== undefined && observing) this.__emit(extra, 'lost', performance.now(), { error });
    this.__abort(extra, error);
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
    const extra = this.__extraFor();
    this.__clearHoldTimer(extra);
    if (extra.state !== 0 /* held */) return;
    // unref: a forgotten lease must not keep the process alive just to report that it was forgotten.
    extra.holdTimer = startTimer(
      () => {
        extra.holdTimer = undefined;
        if (extra.state !== 0 /* held */) return;
        const error = new TimeoutError(`Held ${this.resource} for longer than ${ms} ms`, ms);
        if (extra.trace !== undefined && observing) this.__emit(extra, 'timeout', performance.now(), { error });
        this.__abort(extra, error);
      },
      ms,
      undefined,
      true,
    );
  }

  /**
   * Emits `acquired` for a lease made while observers were registered. The constructor calls it
   * when given a trace; a lease from {@link BaseLease.make} calls it through
   * {@link BaseLease.finishMake}.
   * @param trace - holder details
   * @example
   * ```ts
   * if (trace !== undefined) lease.traceAcquired(trace);
   * ```
   */
  protected traceAcquired(trace: LeaseTrace): void {
    const now = performance.now();
    const extra = newExtra(0 /* held */, trace, now);
    this.__rare = extra;
    this.__emit(extra, 'acquired', now, { waitTime: trace.waitStart === 0 ? 0 : now - trace.waitStart });
  }

  // release() of a lease that has an Extra, or was released before.
  private __releaseRare(rare: Extra | null): Promise<void> {
    if (rare === null) return RESOLVED;
    const state = rare.state;
    if (state === 2 /* released */) return rare.releasing ?? RESOLVED;
    rare.state = 2 /* released */;
    this.__clearHoldTimer(rare);
    // A lost lease reported its end and aborted its signal already; it still gives up its hold.
    if (state === 0 /* held */) {
      if (rare.trace !== undefined && observing) this.__emit(rare, 'released', performance.now(), {});
      this.__abort(rare, undefined);
    }
    return this.__releaseHold();
  }

  // Runs releaseHold() (once, after the state changed) and turns its outcome into release()'s promise.
  private __releaseHold(): Promise<void> {
    let result: void | Promise<void>;
    try {
      result = this.releaseHold();
    } catch (error) {
      // The contract returns a promise; a subclass that throws must not turn that into a synchronous throw.
      result = Promise.reject(error);
    }
    if (result === undefined) return RESOLVED;
    this.__extraFor().releasing = result;
    return result;
  }

  // The Extra, created (with the current state) if the lease has none yet.
  private __extraFor(): Extra {
    const rare = this.__rare;
    if (rare !== undefined && rare !== null) return rare;
    const extra = newExtra(rare === null ? 2 /* released */ : 0 /* held */, undefined, 0);
    this.__rare = extra;
    return extra;
  }

  private __clearHoldTimer(extra: Extra): void {
    if (extra.holdTimer !== undefined) {
      stopTimer(extra.holdTimer);
      extra.holdTimer = undefined;
    }
  }

  // Ends `signal` once: with `reason`, or (undefined) because the lease was released.
  private __abort(extra: Extra, reason: unknown): void {
    const controller = extra.controller;
    if (controller === undefined) {
      // Nobody read `signal` and the lease was released: the state says so, and `signal` builds the reason if read.
      if (reason === undefined) return;
      // A loss or hold timeout before anyone read `signal` (rare): keep the reason in an aborted controller.
      const aborted = new AbortController();
      extra.controller = aborted;
      aborted.abort(reason);
      return;
    }
    if (controller.signal.aborted) return;
    controller.abort(reason ?? releasedReason(this.resource));
  }

  private __emit(
    extra: Extra,
    type: 'acquired' | 'released' | 'lost' | 'timeout',
    timestamp: number,
    details: object,
  ): void {
    const trace = extra.trace!;
    emit({
      type,
      resource: this.resource,
      mode: trace.mode,
      lock: trace.lock,
      owner: trace.owner,
      timestamp,
      token: this.token,
      ...(type === 'acquired' ? {} : { holdTime: timestamp - extra.acquiredAt }),
      ...(trace.permits === undefined ? {} : { permits: trace.permits }),
      ...details,
    });
  }
}

function releasedReason(resource: string): DOMException {
  return new DOMException(`The lease on ${resource} was released`, 'AbortError');
}
