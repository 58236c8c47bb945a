import { setImmediate as immediate } from 'node:timers/promises';
import type { AcquireOptions, Lease, Lock } from '@cf/core';
import type { ResolvedOptions } from './options.js';

/**
 * Why a lock failed a conformance check. The message says what the contract required and what
 * the lock did instead.
 * @example
 * ```ts
 * await expect(cases.find((c) => c.id === 'mutual-exclusion')!.run()).rejects.toThrow(ConformanceFailure);
 * ```
 */
export class ConformanceFailure extends Error {
  /** Always `'ConformanceFailure'`. */
  override name = 'ConformanceFailure' as const;
  /** The id of the case that failed. */
  readonly caseId: string;
  /**
   * @param caseId - the case
   * @param message - what went wrong
   */
  constructor(caseId: string, message: string) {
    super(`[${caseId}] ${message}`);
    this.caseId = caseId;
  }
}

/** Base durations in milliseconds, multiplied by `timing.scale`. */
export const BASE = {
  /** A wait or timeout meant to elapse. */
  short: 30,
  /** How long a promise that must be pending is watched. */
  watch: 20,
  /** How long something that must happen promptly may take before the check fails. */
  deadline: 1000,
} as const;

let runCounter = 0;

/** Per-case helpers: fresh resource names, scaled timing, deadlines and clean-up of leftover leases. */
export class CaseContext {
  readonly #options: ResolvedOptions;
  readonly #caseId: string;
  readonly #prefix: string;
  #resources = 0;
  readonly #leases = new Set<Lease>();
  #closed = false;

  constructor(options: ResolvedOptions, caseId: string) {
    this.#options = options;
    this.#caseId = caseId;
    // Unique per run, so distributed backends shared between runs never see a stale key.
    this.#prefix = `cf-conformance-${Date.now().toString(36)}-${process.pid}-${++runCounter}-${caseId}`;
  }

  /** The suite's flags. */
  get options(): ResolvedOptions {
    return this.#options;
  }

  /** `base` milliseconds, scaled. */
  ms(base: number): number {
    return base * this.#options.scale;
  }

  /** A fresh resource name. */
  resource(): string {
    return `${this.#prefix}-${++this.#resources}`;
  }

  /** `count` handles on the same resource (a fresh one unless given). */
  async handles(count: number, resource: string = this.resource()): Promise<Lock[]> {
    const handles: Lock[] = [];
    for (let i = 0; i < count; i++) handles.push(await this.#options.createLock(resource));
    return handles;
  }

  /** Throws a `ConformanceFailure` unless `condition` holds. */
  check(condition: unknown, message: string): asserts condition {
    if (!condition) throw new ConformanceFailure(this.#caseId, message);
  }

  /** Fails the case. */
  fail(message: string): never {
    throw new ConformanceFailure(this.#caseId, message);
  }

  /** Records a lease so that clean-up releases it if the case ends early; after clean-up, releases it at once. */
  track<T extends Lease | undefined>(lease: T): T {
    if (lease === undefined || !isLease(lease)) return lease;
    // A lease that arrives after the case ended (a waiter granted late) must not stay held.
    if (this.#closed) void call(() => lease.release()).catch(() => {});
    else this.#leases.add(lease);
    return lease;
  }

  /** Acquires through `lock` (it must succeed within the deadline), checks the lease's shape, and tracks it. */
  async acquire(lock: Lock, options?: AcquireOptions, what = 'acquire()'): Promise<Lease> {
    const outcome = await this.within(settle(call(() => lock.acquire(options))), BASE.deadline, what);
    if ('reason' in outcome) this.fail(`${what} rejected with ${describeOutcome(outcome.reason)}`);
    this.checkLease(outcome.value, what);
    return this.track(outcome.value);
  }

  /** `tryAcquire()` through `lock`: it must settle within the deadline; a lease is checked and tracked. */
  async tryAcquire(lock: Lock, what: string): Promise<Lease | undefined> {
    const outcome = await this.within(settle(call(() => lock.tryAcquire())), BASE.deadline, what);
    if ('reason' in outcome) this.fail(`${what} rejected with ${describeOutcome(outcome.reason)}`);
    if (outcome.value === undefined) return undefined;
    this.checkLease(outcome.value, what);
    return this.track(outcome.value);
  }

  /** Releases `lease`; it must resolve within the deadline. */
  async release(lease: Lease, what = 'release()'): Promise<void> {
    const outcome = await this.within(settle(call(() => lease.release())), BASE.deadline, what);
    if ('reason' in outcome) this.fail(`${what} rejected with ${describeOutcome(outcome.reason)}`);
  }

  /** Fails unless `value` is a lease with the contract's fields. */
  checkLease(value: unknown, what: string): asserts value is Lease {
    this.check(isLease(value), `${what} resolved with ${describeOutcome(value)}, not a Lease`);
    this.check(typeof value.token === 'bigint', `${what}: lease.token is ${typeof value.token}, not a bigint`);
    this.check(
      typeof value.resource === 'string' && value.resource.length > 0,
      `${what}: lease.resource is not a non-empty string`,
    );
    this.check(value.released === false, `${what}: a new lease reports released === true`);
  }

  /** Resolves with what `promise` settles to, or fails if it takes longer than `base` (scaled) ms. */
  async within<T>(promise: Promise<T>, base: number, what: string): Promise<T> {
    const limit = this.ms(base);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = Symbol('expired');
    const deadline = new Promise<typeof expired>((resolve) => {
      timer = setTimeout(resolve, limit, expired);
    });
    try {
      const winner = await Promise.race([promise, deadline]);
      if (winner === expired) {
        // Whatever it resolves to later (a lease, usually) must not stay held.
        promise.then(
          (late) => this.track(isLease(late) ? late : undefined),
          () => {},
        );
        this.fail(`${what} did not settle within ${limit} ms`);
      }
      return winner as T;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The reason `promise` rejects with; fails if it resolves, or does not settle within `base` ms. */
  async rejection(promise: Promise<unknown>, base: number, what: string): Promise<unknown> {
    const outcome = await this.within(settle(promise), base, what);
    if ('value' in outcome) {
      this.track(isLease(outcome.value) ? outcome.value : undefined);
      this.fail(`${what} resolved (with ${describeOutcome(outcome.value)}) but had to reject`);
    }
    return outcome.reason;
  }

  /** Fails if `promise` settles within `base` (scaled) ms. */
  async pending(promise: Promise<unknown>, base: number, what: string): Promise<void> {
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await delay(this.ms(base));
    this.check(!settled, `${what} settled within ${this.ms(base)} ms but had to wait`);
  }

  /** Releases every tracked lease still held; errors are ignored (the case already failed, or is done). */
  async cleanup(): Promise<void> {
    this.#closed = true;
    const leases = [...this.#leases];
    this.#leases.clear();
    await Promise.allSettled(leases.map((lease) => call(() => lease.release())));
  }
}

/** What a promise settled to, as a value. */
export type Outcome<T> = { readonly value: T } | { readonly reason: unknown };

/** Turns a promise's settlement into a value, so that a rejection can be inspected instead of thrown. */
export function settle<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ value }),
    (reason: unknown) => ({ reason }),
  );
}

/** Calls `fn`, turning a synchronous throw into a rejection (`acquire` may validate before returning a promise). */
export function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Waits `ms` milliseconds (only where a real wait is the point). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Lets other tasks run: a few microtask turns and one macrotask turn. */
export async function yieldTurns(): Promise<void> {
  await Promise.resolve();
  await immediate();
  await Promise.resolve();
}

/** Whether `value` looks like a lease. */
export function isLease(value: unknown): value is Lease {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Lease).release === 'function' &&
    'token' in value &&
    'released' in value
  );
}

/** A short description of a value for failure messages. */
export function describeOutcome(value: unknown): string {
  if (isLease(value)) return 'a lease';
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return typeof value === 'object' && value !== null ? 'an object' : String(value);
}
