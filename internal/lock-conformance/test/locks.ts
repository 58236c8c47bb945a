import {
  type AcquireOptions,
  BaseLease,
  checkAcquireOptions,
  type Lease,
  type Lock,
  TimeoutError,
  WaitQueue,
} from '@cf/core';

// A tiny correct lock, written the way a primitive package writes one: core's WaitQueue and BaseLease.

class ReferenceCore {
  locked = false;
  fence = 0;
  readonly queue: WaitQueue<undefined, Lease>;
  constructor(readonly name: string) {
    this.queue = new WaitQueue<undefined, Lease>({ resource: name, lock: this });
  }
  lease(): Lease {
    return new ReferenceLease(this, ++this.fence);
  }
  unlock(): void {
    const next = this.queue.first;
    if (next === undefined) this.locked = false;
    else this.queue.grant(next, this.lease());
  }
}

class ReferenceLease extends BaseLease {
  readonly #core: ReferenceCore;
  constructor(core: ReferenceCore, fence: number) {
    super(core.name, fence);
    this.#core = core;
  }
  protected releaseHold(): void {
    this.#core.unlock();
  }
}

class ReferenceHandle implements Lock {
  readonly #core: ReferenceCore;
  constructor(core: ReferenceCore) {
    this.#core = core;
  }
  acquire(options?: AcquireOptions): Promise<Lease> {
    checkAcquireOptions(options);
    const core = this.#core;
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    if (!core.locked) {
      core.locked = true;
      return Promise.resolve(core.lease());
    }
    return core.queue.enqueue(undefined, options);
  }
  tryAcquire(): Promise<Lease | undefined> {
    const core = this.#core;
    if (core.locked) return Promise.resolve(undefined);
    core.locked = true;
    return Promise.resolve(core.lease());
  }
}

/** `createLock` for the reference lock: every call for one resource returns a new handle on the same lock. */
export function referenceLocks(): (resource: string) => Lock {
  const cores = new Map<string, ReferenceCore>();
  return (resource) => {
    let core = cores.get(resource);
    if (core === undefined) cores.set(resource, (core = new ReferenceCore(resource)));
    return new ReferenceHandle(core);
  };
}

/** Ways a lock can break the contract; each is the kind of bug the suite exists to catch. */
export interface Flaws {
  /** Checks `locked`, awaits, then takes it: two tasks get in together. */
  readonly checkThenAwait?: boolean;
  /** acquire() grants at once even when held. */
  readonly neverWaits?: boolean;
  /** A second release() of a lease releases again (the next holder's hold). */
  readonly releaseNotIdempotent?: boolean;
  /** tryAcquire() waits like acquire(). */
  readonly tryAcquireWaits?: boolean;
  /** tryAcquire() takes the lock even when held. */
  readonly tryAcquireIgnoresHolder?: boolean;
  /** The timeout option is ignored. */
  readonly ignoresTimeout?: boolean;
  /** Times out after a tenth of the timeout. */
  readonly timeoutTooEarly?: boolean;
  /** timeout 0 means "no limit". */
  readonly timeoutZeroWaits?: boolean;
  /** A timed-out waiter is rejected but stays queued, and later takes the lock for nobody. */
  readonly timedOutStaysQueued?: boolean;
  /** The signal option is ignored. */
  readonly ignoresAbort?: boolean;
  /** An aborted waiter is rejected but stays queued. */
  readonly abortedStaysQueued?: boolean;
  /** Rejects with a new error instead of signal.reason. */
  readonly wrongAbortReason?: boolean;
  /** Only listens for 'abort', so an already-aborted signal is not noticed. */
  readonly ignoresPreAborted?: boolean;
  /** The acquire signal aborting after the grant releases the lease. */
  readonly abortAfterGrantReleases?: boolean;
  /** Abort listeners are never removed. */
  readonly leaksListeners?: boolean;
  /** lease.signal never aborts. */
  readonly signalNeverAborts?: boolean;
  /** [Symbol.asyncDispose] does nothing. */
  readonly noAsyncDispose?: boolean;
  /** Each handle counts its own tokens. */
  readonly perHandleTokens?: boolean;
  /** Every resource is the same lock. */
  readonly sharedAcrossResources?: boolean;
  /** Serves the newest waiter first. */
  readonly lifo?: boolean;
  /** Treats every priority as NORMAL. */
  readonly ignoresPriority?: boolean;
  /** Every fourth release forgets to wake the next waiter. */
  readonly dropsWaiters?: boolean;
  /** Accepts any options. */
  readonly noValidation?: boolean;
}

interface Queued {
  readonly priority: number;
  readonly seq: number;
  readonly signal: AbortSignal | undefined;
  resolve(lease: Lease): void;
  cleanup(): void;
}

class FlawedCore {
  locked = false;
  fence = 0;
  seq = 0;
  releases = 0;
  queue: Queued[] = [];
  constructor(
    readonly name: string,
    readonly flaws: Flaws,
  ) {}

  remove(waiter: Queued): void {
    this.queue = this.queue.filter((w) => w !== waiter);
  }

  pick(): Queued | undefined {
    if (this.queue.length === 0) return undefined;
    if (this.flaws.lifo) return this.queue[this.queue.length - 1];
    return [...this.queue].sort((a, b) => a.priority - b.priority || a.seq - b.seq)[0];
  }

  unlock(handle: FlawedHandle): void {
    const next = this.pick();
    if (next === undefined || (this.flaws.dropsWaiters && ++this.releases % 4 === 0)) {
      this.locked = false;
      return;
    }
    this.remove(next);
    next.cleanup();
    next.resolve(handle.lease(next.signal));
  }
}

class FlawedLease implements Lease {
  released = false;
  #controller: AbortController | undefined;
  constructor(
    readonly core: FlawedCore,
    readonly handle: FlawedHandle,
    readonly token: bigint,
  ) {}
  get resource(): string {
    return this.core.name;
  }
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.released && !this.core.flaws.signalNeverAborts) this.#controller.abort();
    }
    return this.#controller.signal;
  }
  release(): Promise<void> {
    if (this.released && !this.core.flaws.releaseNotIdempotent) return Promise.resolve();
    this.released = true;
    if (!this.core.flaws.signalNeverAborts) this.#controller?.abort();
    this.core.unlock(this.handle);
    return Promise.resolve();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.core.flaws.noAsyncDispose ? Promise.resolve() : this.release();
  }
}

class FlawedHandle implements Lock {
  #tokens = 0;
  constructor(readonly core: FlawedCore) {}

  lease(signal: AbortSignal | undefined): Lease {
    const { core } = this;
    const lease = new FlawedLease(core, this, BigInt(core.flaws.perHandleTokens ? ++this.#tokens : ++core.fence));
    if (core.flaws.abortAfterGrantReleases) signal?.addEventListener('abort', () => void lease.release());
    return lease;
  }

  acquire(options?: AcquireOptions): Promise<Lease> {
    const { core } = this;
    const { flaws } = core;
    if (!flaws.noValidation) checkAcquireOptions(options);
    const signal = flaws.ignoresAbort ? undefined : options?.signal;
    let timeout = flaws.ignoresTimeout ? undefined : options?.timeout;
    if (flaws.timeoutZeroWaits && timeout === 0) timeout = undefined;
    if (signal?.aborted && !flaws.ignoresPreAborted) return Promise.reject(signal.reason);
    if (flaws.checkThenAwait && !core.locked) {
      return (async () => {
        await Promise.resolve();
        core.locked = true;
        return this.lease(signal);
      })();
    }
    if (!core.locked || flaws.neverWaits) {
      core.locked = true;
      return Promise.resolve(this.lease(signal));
    }
    if (timeout === 0) return Promise.reject(new TimeoutError(`${core.name} is held`, 0));
    return new Promise<Lease>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => {
        if (!flaws.abortedStaysQueued) core.remove(waiter);
        waiter.cleanup();
        reject(flaws.wrongAbortReason ? new Error('aborted') : signal!.reason);
      };
      const waiter: Queued = {
        priority: flaws.ignoresPriority ? 2 : (options?.priority ?? 2),
        seq: ++core.seq,
        signal,
        resolve,
        cleanup: () => {
          clearTimeout(timer);
          if (!flaws.leaksListeners) signal?.removeEventListener('abort', onAbort);
        },
      };
      core.queue.push(waiter);
      if (timeout !== undefined && timeout !== Number.POSITIVE_INFINITY) {
        timer = setTimeout(
          () => {
            if (!flaws.timedOutStaysQueued) core.remove(waiter);
            waiter.cleanup();
            reject(new TimeoutError(`timed out on ${core.name}`, timeout));
          },
          flaws.timeoutTooEarly ? timeout / 10 : timeout,
        );
      }
      signal?.addEventListener('abort', onAbort);
    });
  }

  tryAcquire(): Promise<Lease | undefined> {
    const { core } = this;
    if (core.flaws.tryAcquireWaits) return this.acquire();
    if (core.locked && !core.flaws.tryAcquireIgnoresHolder) return Promise.resolve(undefined);
    core.locked = true;
    return Promise.resolve(this.lease(undefined));
  }
}

/** `createLock` for a lock with the given flaws (none: it passes the suite too). */
export function flawedLocks(flaws: Flaws): (resource: string) => Lock {
  const cores = new Map<string, FlawedCore>();
  return (resource) => {
    const key = flaws.sharedAcrossResources ? 'shared' : resource;
    let core = cores.get(key);
    if (core === undefined) cores.set(key, (core = new FlawedCore(resource, flaws)));
    return new FlawedHandle(core);
  };
}
