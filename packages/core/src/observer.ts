import { invalidArgument } from './validation.js';

/**
 * What happened to a lock, semaphore or other primitive: `wait` (a request started waiting),
 * `acquired`, `released`, `timeout` (a wait, or a hold limited by a hold-time limit, ran out),
 * `aborted` (a wait was cancelled by its signal), `deadlock`, `lost` (a lease ended without release).
 * @example
 * ```ts
 * const failures = new Set<LockEventType>(['timeout', 'aborted', 'deadlock', 'lost']);
 * ```
 */
export type LockEventType = 'wait' | 'acquired' | 'released' | 'timeout' | 'aborted' | 'deadlock' | 'lost';

/**
 * One instrumentation event. Observers receive these synchronously; they must not throw
 * (an observer's exception is rethrown asynchronously and never disturbs the primitive).
 * @example
 * ```ts
 * addObserver((event: LockEvent) => { if (event.type === 'released') histogram.record(event.holdTime!); });
 * ```
 */
export interface LockEvent {
  /** What happened. */
  readonly type: LockEventType;
  /** The resource's name (a lock's name, or a generated one such as `mutex#3`). */
  readonly resource: string;
  /** `'exclusive'`, `'shared'`, `'permits'`, `'barrier'`, ... */
  readonly mode: string;
  /** The primitive object itself, so observers can tell two locks with the same name apart. */
  readonly lock: object;
  /** The waiter or holder: `options.owner`, or the current async context where one is provided. */
  readonly owner: unknown;
  /** `performance.now()` when the event happened. */
  readonly timestamp: number;
  /** For `acquired` and a waiter's `timeout` or `aborted`: how long the caller waited, in milliseconds. */
  readonly waitTime?: number;
  /** For `released`, `lost` and a hold-time `timeout`: how long the lease was held, in milliseconds. */
  readonly holdTime?: number;
  /** For `acquired`, `released`, `lost`: the lease's fencing token. */
  readonly token?: bigint;
  /** For weighted primitives: how many permits. */
  readonly permits?: number;
  /** For `timeout`, `aborted`, `lost`, `deadlock`: the reason. */
  readonly error?: unknown;
}

/**
 * A function that receives every event.
 * @example
 * ```ts
 * const observer: LockObserver = (event) => { if (event.type === 'timeout') console.warn(event.resource); };
 * ```
 */
export type LockObserver = (event: LockEvent) => void;

interface Registration {
  readonly observer: LockObserver;
}

// Copy-on-write: `emit` walks the array it started with, so observers that register or unregister
// while an event is delivered take effect from the next event on. One wrapper per registration
// makes each `addObserver` call independent (a stale unregister never removes a later one).
let registered: readonly Registration[] = [];

/**
 * `true` while at least one observer is registered. Primitives check this one boolean before
 * building an event, so instrumentation costs nothing measurable when nobody listens.
 * It is a live binding: read it where it is needed, never copy it.
 * @example
 * ```ts
 * if (observing) emit({ type: 'acquired', resource, mode: 'exclusive', lock: this, owner, timestamp: performance.now() });
 * ```
 */
export let observing = false;

/**
 * Registers an observer of every primitive's events. Each call is a separate registration:
 * the same function registered twice receives each event twice until both are removed.
 * @param observer - called synchronously for each event; it must not throw (an exception is
 *   rethrown from a microtask, as an `EventTarget` listener's would be, and never disturbs the primitive)
 * @returns a function that removes this registration; calling it again does nothing
 * @throws TypeError (`ERR_CF_INVALID_ARG`) if `observer` is not a function
 * @example
 * ```ts
 * const stop = addObserver((e) => { if (e.type === 'timeout') console.warn(e.resource); });
 * stop();
 * ```
 */
export function addObserver(observer: LockObserver): () => void {
  if (typeof observer !== 'function') throw invalidArgument('type', 'observer', observer, 'a function');
  const registration: Registration = { observer };
  registered = [...registered, registration];
  observing = true;
  return () => {
    const remaining = registered.filter((entry) => entry !== registration);
    if (remaining.length === registered.length) return;
    registered = remaining;
    observing = remaining.length > 0;
  };
}

/**
 * Delivers an event to every observer. Call only when `observing` is `true` (building the
 * event is the cost worth avoiding).
 * @param event - the event
 * @example
 * ```ts
 * if (observing) emit({ type: 'acquired', resource, mode: 'exclusive', lock: this, owner, timestamp: performance.now() });
 * ```
 */
export function emit(event: LockEvent): void {
  const observers = registered;
  for (let i = 0; i < observers.length; i++) {
    try {
      observers[i]!.observer(event);
    } catch (error) {
      // An observer's bug must not corrupt a lock's state; surface it like an EventTarget listener would.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

let ownerResolver: (() => unknown) | undefined;

/**
 * Installs the function that names the current task when `options.owner` is not given
 * (the Node entry of @cf/locks installs one based on AsyncLocalStorage). It runs on every
 * wait, so it must be cheap and must not throw.
 * @param resolver - returns the current owner; `undefined` uninstalls
 * @throws TypeError (`ERR_CF_INVALID_ARG`) if `resolver` is neither a function nor `undefined`
 * @example
 * ```ts
 * setOwnerResolver(() => storage.getStore());
 * ```
 */
export function setOwnerResolver(resolver: (() => unknown) | undefined): void {
  if (resolver !== undefined && typeof resolver !== 'function') {
    throw invalidArgument('type', 'resolver', resolver, 'a function or undefined');
  }
  ownerResolver = resolver;
}

/**
 * The owner of a request: `explicit` when given, else the installed resolver's answer.
 * @param explicit - `options.owner`
 * @returns the owner, or `undefined` when unknown
 * @example
 * ```ts
 * const owner = resolveOwner(options?.owner);
 * ```
 */
export function resolveOwner(explicit: unknown): unknown {
  return explicit !== undefined ? explicit : ownerResolver?.();
}
