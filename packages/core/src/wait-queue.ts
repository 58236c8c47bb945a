import type { AcquireOptions } from './contracts.js';
import { TimeoutError } from './errors.js';
import { emit, observing, resolveOwner } from './observer.js';
import { startTimer, stopTimer, type TimerHandle } from './timers.js';

const DEFAULT_PRIORITY = 2;

function noop(): void {}

// The abort signal and timer of a waiter that has either; most waiters have neither, so they
// live in this object rather than in three more fields of every waiter.
interface Cancellation {
  signal: AbortSignal | undefined;
  timer: TimerHandle | undefined;
  // The timeout in ms, for the TimeoutError's message.
  timeout: number;
}

interface Bucket<R, V> {
  readonly priority: number;
  head: Waiter<R, V> | undefined;
  tail: Waiter<R, V> | undefined;
}

/**
 * One queued request. The queue hands waiters to its primitive through `first`/iteration;
 * the primitive settles them with `WaitQueue.grant` or `WaitQueue.reject`. Only `WaitQueue`
 * creates waiters.
 *
 * @typeParam R - what the waiter asks for
 * @typeParam V - what it receives when granted
 * @example
 * ```ts
 * const waiter = queue.first;
 * if (waiter !== undefined && waiter.request <= this.available) queue.grant(waiter, lease);
 * ```
 */
export class Waiter<R, V> {
  // Fields are declared without initialisers and all set in the constructor, in one order: class
  // field definitions (emitted for every field, `readonly` ones included, under ES2022) would
  // define each property before the constructor writes it again, on every wait.
  /** What was asked for (permits, a mode, ...). */
  declare readonly request: R;
  /** Lower is served first. */
  declare readonly priority: number;
  /** Who is waiting (explicit `options.owner` or the resolved async context). */
  declare readonly owner: unknown;
  /** `performance.now()` at enqueue when observers were registered, else 0. */
  declare readonly enqueuedAt: number;
  /** @internal */ declare queue: WaitQueue<R, V> | undefined;
  /** @internal */ declare bucket: Bucket<R, V> | undefined;
  /** @internal */ declare prev: Waiter<R, V> | undefined;
  /** @internal */ declare next: Waiter<R, V> | undefined;
  /** @internal */ declare resolve: (value: V) => void;
  /** @internal */ declare rejectPromise: (reason: unknown) => void;
  /** @internal */ declare cancellation: Cancellation | undefined;

  /** @internal */
  constructor(queue: WaitQueue<R, V>, request: R, priority: number, owner: unknown) {
    this.request = request;
    this.priority = priority;
    this.owner = owner;
    this.enqueuedAt = observing ? performance.now() : 0;
    this.queue = queue;
    this.bucket = undefined;
    this.prev = undefined;
    this.next = undefined;
    this.resolve = noop;
    this.rejectPromise = noop;
    this.cancellation = undefined;
  }

  /**
   * `true` until the waiter is granted, rejected, aborted or timed out.
   * @returns whether it is still queued
   */
  get pending(): boolean {
    return this.queue !== undefined;
  }

  /** @internal The abort signal the waiter listens to, if any. */
  get signal(): AbortSignal | undefined {
    return this.cancellation?.signal;
  }

  /**
   * @internal Called by the signal: the waiter itself is the listener, so no closure is allocated.
   */
  handleEvent(): void {
    const signal = this.signal;
    if (signal !== undefined) this.queue?.cancel(this, signal.reason, 'aborted');
  }
}

function onWaiterTimeout(waiter: Waiter<unknown, unknown>): void {
  const cancellation = waiter.cancellation;
  const queue = waiter.queue;
  if (cancellation === undefined || queue === undefined) return;
  cancellation.timer = undefined;
  const ms = cancellation.timeout;
  queue.cancel(waiter, new TimeoutError(`Timed out after ${ms} ms waiting for ${queue.resource}`, ms), 'timeout');
}

/**
 * How a `WaitQueue` reports to its primitive.
 * @example
 * ```ts
 * const options: WaitQueueOptions<number, Lease> = { resource: 'pool', lock: this, mode: 'permits', onCancel: () => this.dispatch() };
 * ```
 */
export interface WaitQueueOptions<R, V> {
  /** Resource name used in error messages and events. */
  readonly resource: string;
  /** The primitive, reported as `lock` in events. */
  readonly lock: object;
  /** Event mode of waiters (default `'exclusive'`). */
  readonly mode?: string | ((request: R) => string);
  /**
   * Called after a waiter left without being granted (abort or timeout), so the primitive can
   * serve waiters that were blocked behind it (a heavy semaphore request, a queued writer).
   * `cause` tells which of the two happened (for statistics); `reason` is what the waiter's
   * promise rejected with (`signal.reason` or the `TimeoutError`), for primitives that pass it on
   * (a broken barrier reports it as its `cause`).
   */
  readonly onCancel?: (waiter: Waiter<R, V>, cause: 'aborted' | 'timeout', reason: unknown) => void;
}

/**
 * The wait queue every in-process primitive uses: priority first, FIFO within a priority,
 * O(1) removal on abort or timeout, timers cleared and signal listeners removed as soon as a
 * waiter settles, and each waiter settled exactly once.
 *
 * @typeParam R - what a waiter asks for
 * @typeParam V - what a granted waiter receives
 * @example
 * ```ts
 * const queue = new WaitQueue<number, Lease>({ resource: 'pool', lock: this });
 * const lease = await queue.enqueue(2, { timeout: 100 });   // elsewhere: queue.grant(queue.first!, lease)
 * ```
 */
export class WaitQueue<R, V> {
  /** Resource name used in messages and events. */
  readonly resource: string;
  readonly #lock: object;
  readonly #mode: string | ((request: R) => string);
  readonly #onCancel: ((waiter: Waiter<R, V>, cause: 'aborted' | 'timeout', reason: unknown) => void) | undefined;
  // Non-empty buckets sorted by priority; usually just one.
  #buckets: Bucket<R, V>[] = [];
  #size = 0;

  /** @param options - resource name, owning primitive, cancel hook */
  constructor(options: WaitQueueOptions<R, V>) {
    this.resource = options.resource;
    this.#lock = options.lock;
    this.#mode = options.mode ?? 'exclusive';
    this.#onCancel = options.onCancel;
  }

  /** Number of pending waiters. */
  get size(): number {
    return this.#size;
  }

  /** The waiter to serve next, or `undefined`. */
  get first(): Waiter<R, V> | undefined {
    return this.#buckets[0]?.head;
  }

  /**
   * Pending waiters in service order. The primitive may grant or reject the waiter it was just
   * given (or any other) while iterating; iteration goes on with the waiters still pending.
   * Waiters enqueued during the iteration may or may not be visited.
   * @returns an iterator over pending waiters
   * @example
   * ```ts
   * for (const waiter of queue) { if (waiter.request === 'read') queue.grant(waiter, readLease()); else break; }
   * ```
   */
  *[Symbol.iterator](): IterableIterator<Waiter<R, V>> {
    // Walk bucket by bucket by priority value, not by index: buckets come and go as waiters settle.
    // A settled waiter keeps its `next` link (see #unlink), so the walk survives the primitive
    // granting the waiter it was just handed.
    let priority = Number.NEGATIVE_INFINITY;
    for (;;) {
      let bucket: Bucket<R, V> | undefined;
      for (const candidate of this.#buckets) {
        if (candidate.priority > priority) {
          bucket = candidate;
          break;
        }
      }
      if (bucket === undefined) return;
      priority = bucket.priority;
      for (let waiter = bucket.head; waiter !== undefined; waiter = waiter.next) {
        if (waiter.queue === this) yield waiter;
      }
    }
  }

  /**
   * Queues a request. Options must already be validated. An already-aborted signal rejects at
   * once with its reason; `timeout: 0` rejects at once with `TimeoutError`.
   * @param request - what is asked for
   * @param options - signal, timeout, priority, owner
   * @returns a promise settled by `grant` (value) or by `reject`, abort or timeout
   * @example `return this.queue.enqueue(permits, options)`
   */
  enqueue(request: R, options?: AcquireOptions): Promise<V> {
    // The common call, without options, is kept short so that TurboFan inlines it (and the
    // waiter's constructor) into the primitive's acquire.
    if (options !== undefined) return this.#enqueueWith(request, options);
    const waiter = new Waiter<R, V>(this, request, DEFAULT_PRIORITY, resolveOwner(undefined));
    // A closure as executor, which TurboFan inlines here. (One shared executor storing the
    // resolvers in module variables saved the closure but paid a write barrier per wait; a helper
    // method for these lines measured slower, by the inlining budget it uses.)
    const promise = new Promise<V>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.rejectPromise = reject;
    });
    this.#link(waiter);
    if (observing) this.#report('wait', request, waiter.owner, waiter.enqueuedAt, undefined);
    return promise;
  }

  #enqueueWith(request: R, options: AcquireOptions): Promise<V> {
    const signal = options.signal;
    const timeout = options.timeout;
    const owner = resolveOwner(options.owner);
    if (signal?.aborted) {
      this.#report('aborted', request, owner, 0, signal.reason);
      return Promise.reject(signal.reason);
    }
    if (timeout === 0) {
      const error = new TimeoutError(`${this.resource} is not available now (timeout 0)`, 0);
      this.#report('timeout', request, owner, 0, error);
      return Promise.reject(error);
    }
    const waiter = new Waiter<R, V>(this, request, options.priority ?? DEFAULT_PRIORITY, owner);
    const promise = new Promise<V>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.rejectPromise = reject;
    });
    this.#link(waiter);
    const timed = timeout !== undefined && timeout !== Number.POSITIVE_INFINITY;
    if (signal !== undefined || timed) {
      const cancellation: Cancellation = { signal, timer: undefined, timeout: timed ? timeout : 0 };
      waiter.cancellation = cancellation;
      if (signal !== undefined) signal.addEventListener('abort', waiter);
      if (timed) cancellation.timer = startTimer(onWaiterTimeout as (w: Waiter<R, V>) => void, timeout, waiter);
    }
    if (observing) this.#report('wait', request, owner, waiter.enqueuedAt, undefined);
    return promise;
  }

  /**
   * Removes `waiter` and resolves its promise with `value`. Does nothing if it already settled.
   * @param waiter - a pending waiter of this queue
   * @param value - what it receives
   * @returns whether the waiter was still pending
   * @example `queue.grant(queue.first!, lease)`
   */
  grant(waiter: Waiter<R, V>, value: V): boolean {
    if (waiter.queue !== this) return false;
    this.#settle(waiter);
    waiter.resolve(value);
    return true;
  }

  /**
   * Removes `waiter` and rejects its promise. Does not call `onCancel`.
   * @param waiter - a pending waiter
   * @param reason - the rejection
   * @returns whether the waiter was still pending
   * @example `queue.reject(waiter, new BrokenBarrierError('broken'))`
   */
  reject(waiter: Waiter<R, V>, reason: unknown): boolean {
    if (waiter.queue !== this) return false;
    this.#settle(waiter);
    waiter.rejectPromise(reason);
    return true;
  }

  /**
   * Rejects every pending waiter with `reason`.
   * @param reason - the rejection
   * @example `queue.rejectAll(new ClosedError('closed'))`
   */
  rejectAll(reason: unknown): void {
    for (let waiter = this.first; waiter !== undefined; waiter = this.first) this.reject(waiter, reason);
  }

  /** @internal Abort or timeout: remove, reject, report, then let the primitive re-dispatch. */
  cancel(waiter: Waiter<R, V>, reason: unknown, type: 'aborted' | 'timeout'): void {
    if (waiter.queue !== this) return;
    this.#settle(waiter);
    if (observing) this.#report(type, waiter.request, waiter.owner, waiter.enqueuedAt, reason);
    waiter.rejectPromise(reason);
    this.#onCancel?.(waiter, type, reason);
  }

  #settle(waiter: Waiter<R, V>): void {
    this.#unlink(waiter);
    waiter.queue = undefined;
    const cancellation = waiter.cancellation;
    if (cancellation !== undefined) {
      waiter.cancellation = undefined;
      if (cancellation.timer !== undefined) stopTimer(cancellation.timer);
      if (cancellation.signal !== undefined) cancellation.signal.removeEventListener('abort', waiter);
    }
  }

  #link(waiter: Waiter<R, V>): void {
    const buckets = this.#buckets;
    const count = buckets.length;
    // Most waiters share the last (or only) priority. (Tested against 0 first: reading index -1
    // of an empty array is a named-property lookup, which turns this load megamorphic.)
    let bucket = count === 0 ? undefined : buckets[count - 1];
    if (bucket === undefined || bucket.priority !== waiter.priority) bucket = this.#bucketFor(waiter.priority);
    waiter.bucket = bucket;
    const tail = bucket.tail;
    waiter.prev = tail;
    if (tail === undefined) bucket.head = waiter;
    else tail.next = waiter;
    bucket.tail = waiter;
    this.#size++;
  }

  // The bucket of `priority`, created (in priority order) if there is none.
  #bucketFor(priority: number): Bucket<R, V> {
    const buckets = this.#buckets;
    let index = buckets.length;
    // Scan from the least urgent end.
    while (index > 0) {
      const candidate = buckets[index - 1]!;
      if (candidate.priority === priority) return candidate;
      if (candidate.priority < priority) break;
      index--;
    }
    const bucket: Bucket<R, V> = { priority, head: undefined, tail: undefined };
    buckets.splice(index, 0, bucket);
    return bucket;
  }

  #unlink(waiter: Waiter<R, V>): void {
    const bucket = waiter.bucket!;
    const { prev, next } = waiter;
    if (prev === undefined) bucket.head = next;
    else prev.next = next;
    if (next === undefined) bucket.tail = prev;
    else next.prev = prev;
    // `next` is kept so that an iteration standing on this waiter can go on; it only ever points
    // forward to waiters enqueued later, which are pending or settled themselves.
    waiter.prev = undefined;
    waiter.bucket = undefined;
    if (bucket.head === undefined) this.#buckets.splice(this.#buckets.indexOf(bucket), 1);
    this.#size--;
  }

  #report(type: 'wait' | 'timeout' | 'aborted', request: R, owner: unknown, since: number, error: unknown): void {
    if (!observing) return;
    const timestamp = performance.now();
    const mode = typeof this.#mode === 'function' ? this.#mode(request) : this.#mode;
    // Weighted requests are a number, or an object with a numeric `permits` when they carry more.
    const permits =
      typeof request === 'number'
        ? request
        : typeof (request as { permits?: unknown } | null)?.permits === 'number'
          ? (request as { permits: number }).permits
          : undefined;
    emit({
      type,
      resource: this.resource,
      mode,
      lock: this.#lock,
      owner,
      timestamp,
      ...(type === 'wait' ? {} : { waitTime: since === 0 ? 0 : timestamp - since, error }),
      ...(permits === undefined ? {} : { permits }),
    });
  }
}
