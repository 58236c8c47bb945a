/** What happened to a lock, semaphore or other primitive. */
export type LockEventType = 'wait' | 'acquired' | 'released' | 'timeout' | 'aborted' | 'deadlock' | 'lost';

/**
 * One instrumentation event. Observers receive these synchronously; they must not throw
 * (an observer's exception is rethrown asynchronously and never disturbs the primitive).
 */
export interface LockEvent {
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
  /** For `acquired`, `timeout`, `aborted`: how long the caller waited, in milliseconds. */
  readonly waitTime?: number;
  /** For `released` and `lost`: how long the lease was held, in milliseconds. */
  readonly holdTime?: number;
  /** For `acquired`, `released`, `lost`: the lease's fencing token. */
  readonly token?: bigint;
  /** For weighted primitives: how many permits. */
  readonly permits?: number;
  /** For `timeout`, `aborted`, `lost`, `deadlock`: the reason. */
  readonly error?: unknown;
}

/** A function that receives every event. */
export type LockObserver = (event: LockEvent) => void;

const registered = new Set<LockObserver>();

/**
 * `true` while at least one observer is registered. Primitives check this one boolean before
 * building an event, so instrumentation costs nothing measurable when nobody listens.
 */
export let observing = false;

/**
 * Registers an observer of every primitive's events.
 * @param observer - called synchronously for each event
 * @returns a function that unregisters it
 * @example
 * ```ts
 * const stop = addObserver((e) => { if (e.type === 'timeout') console.warn(e.resource); });
 * stop();
 * ```
 */
export function addObserver(observer: LockObserver): () => void {
  if (typeof observer !== 'function') {
    throw Object.assign(new TypeError(`Invalid observer: expected a function.`), { code: 'ERR_CF_INVALID_ARG' });
  }
  registered.add(observer);
  observing = true;
  return () => {
    registered.delete(observer);
    observing = registered.size > 0;
  };
}

/**
 * Delivers an event to every observer. Call only when `observing` is `true`.
 * @param event - the event
 * @example
 * ```ts
 * if (observing) emit({ type: 'acquired', resource, mode: 'exclusive', lock: this, owner, timestamp: performance.now() });
 * ```
 */
export function emit(event: LockEvent): void {
  for (const observer of registered) {
    try {
      observer(event);
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
 * (the Node entry of @cf/locks installs one based on AsyncLocalStorage).
 * @param resolver - returns the current owner, or `undefined` to uninstall
 * @example `setOwnerResolver(() => storage.getStore())`
 */
export function setOwnerResolver(resolver: (() => unknown) | undefined): void {
  ownerResolver = resolver;
}

/**
 * The owner of a request: `explicit` when given, else the installed resolver's answer.
 * @param explicit - `options.owner`
 * @returns the owner, or `undefined` when unknown
 * @example `const owner = resolveOwner(options?.owner)`
 */
export function resolveOwner(explicit: unknown): unknown {
  return explicit !== undefined ? explicit : ownerResolver?.();
}
