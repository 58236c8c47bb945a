/**
 * Stable error codes of @cf, one per error class (`ERR_CF_INVALID_ARG`, used on `TypeError` and
 * `RangeError` for bad arguments, is not among them).
 * @example
 * ```ts
 * const code: ErrorCode = 'ERR_CF_TIMEOUT';
 * ```
 */
export type ErrorCode =
  | 'ERR_CF_TIMEOUT'
  | 'ERR_CF_DEADLOCK'
  | 'ERR_CF_LEASE_LOST'
  | 'ERR_CF_NOT_HELD'
  | 'ERR_CF_QUORUM'
  | 'ERR_CF_BACKEND'
  | 'ERR_CF_BROKEN'
  | 'ERR_CF_CLOSED';

/**
 * Base class of every error @cf raises on purpose (invalid arguments excepted, which are
 * `TypeError`/`RangeError` with code `ERR_CF_INVALID_ARG`).
 *
 * @example
 * ```ts
 * try { await lock.acquire({ timeout: 10 }); } catch (e) { if (isConcurrencyError(e)) console.log(e.code); }
 * ```
 */
export class ConcurrencyError extends Error {
  /** `'ConcurrencyError'` here; each subclass sets its own literal. */
  override name: string = 'ConcurrencyError';
  /** Stable, machine-readable code. */
  readonly code: ErrorCode;

  /**
   * @param message - what happened
   * @param code - the stable code
   * @param options - `cause`, the underlying error
   */
  constructor(message: string, code: ErrorCode, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A wait or a hold exceeded its time limit.
 *
 * @example
 * ```ts
 * await lock.acquire({ timeout: 50 }).catch((e) => { if (isTimeoutError(e)) retryLater(); });
 * ```
 */
export class TimeoutError extends ConcurrencyError {
  /** Always `'TimeoutError'`: a literal, so minifiers cannot change it. */
  override name = 'TimeoutError' as const;
  /** The limit that was exceeded, in milliseconds. */
  readonly timeout: number;
  /**
   * @param message - what timed out
   * @param timeout - the limit in milliseconds
   * @param options - `cause`
   */
  constructor(message: string, timeout: number, options?: ErrorOptions) {
    super(message, 'ERR_CF_TIMEOUT', options);
    this.timeout = timeout;
  }
}

/**
 * Granting a wait would close a cycle of tasks waiting on each other.
 *
 * @example
 * ```ts
 * catch (e) { if (isDeadlockError(e)) console.log(e.cycle); }
 * ```
 */
export class DeadlockError extends ConcurrencyError {
  /** Always `'DeadlockError'`: a literal, so minifiers cannot change it. */
  override name = 'DeadlockError' as const;
  /** The waiters and resources forming the cycle, in order. */
  readonly cycle: readonly unknown[];
  /**
   * @param message - description of the cycle
   * @param cycle - the owners and resources forming it
   * @param options - `cause`
   */
  constructor(message: string, cycle: readonly unknown[], options?: ErrorOptions) {
    super(message, 'ERR_CF_DEADLOCK', options);
    this.cycle = cycle;
  }
}

/**
 * A lease can no longer be guaranteed: it expired, an extension failed or its session ended.
 *
 * @example
 * ```ts
 * lease.signal.addEventListener('abort', () => { if (isLeaseLostError(lease.signal.reason)) stopWork(); });
 * ```
 */
export class LeaseLostError extends ConcurrencyError {
  /** Always `'LeaseLostError'`: a literal, so minifiers cannot change it. */
  override name = 'LeaseLostError' as const;
  /** The resource whose lease was lost. */
  readonly resource: string;
  /**
   * @param message - why the lease was lost
   * @param resource - the resource
   * @param options - `cause`
   */
  constructor(message: string, resource: string, options?: ErrorOptions) {
    super(message, 'ERR_CF_LEASE_LOST', options);
    this.resource = resource;
  }
}

/**
 * An operation needed a hold the caller does not have (for instance, a lease that already ended).
 *
 * @example
 * ```ts
 * await lease.extend().catch((e) => isNotHeldError(e) && reacquire());
 * ```
 */
export class NotHeldError extends ConcurrencyError {
  /** Always `'NotHeldError'`: a literal, so minifiers cannot change it. */
  override name = 'NotHeldError' as const;
  /** The resource concerned. */
  readonly resource: string;
  /**
   * @param message - what was attempted
   * @param resource - the resource
   * @param options - `cause`
   */
  constructor(message: string, resource: string, options?: ErrorOptions) {
    super(message, 'ERR_CF_NOT_HELD', options);
    this.resource = resource;
  }
}

/**
 * What one member of a quorum answered.
 * @example
 * ```ts
 * const outcome: QuorumOutcome = { member: 'redis-2', ok: false, error };
 * ```
 */
export interface QuorumOutcome {
  /** Which member (an index or a name). */
  readonly member: string;
  /** `true` when the member granted the request. */
  readonly ok: boolean;
  /** The member's error, when it failed. */
  readonly error?: unknown;
}

/**
 * Fewer members than the quorum agreed.
 *
 * @example
 * ```ts
 * catch (e) { if (isQuorumError(e)) for (const o of e.outcomes) console.log(o.member, o.ok); }
 * ```
 */
export class QuorumError extends ConcurrencyError {
  /** Always `'QuorumError'`: a literal, so minifiers cannot change it. */
  override name = 'QuorumError' as const;
  /** Members needed. */
  readonly quorum: number;
  /** Each member's outcome. */
  readonly outcomes: readonly QuorumOutcome[];
  /**
   * @param message - what failed
   * @param quorum - members needed
   * @param outcomes - each member's outcome
   * @param options - `cause`
   */
  constructor(message: string, quorum: number, outcomes: readonly QuorumOutcome[], options?: ErrorOptions) {
    super(message, 'ERR_CF_QUORUM', options);
    this.quorum = quorum;
    this.outcomes = outcomes;
  }
}

/**
 * The backend (Redis, etcd) failed; the client's error is the `cause`.
 *
 * @example
 * ```ts
 * catch (e) { if (isBackendError(e)) log(e.cause); }
 * ```
 */
export class BackendError extends ConcurrencyError {
  /** Always `'BackendError'`: a literal, so minifiers cannot change it. */
  override name = 'BackendError' as const;
  /**
   * @param message - what was being done
   * @param options - `cause`: the client's error
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_CF_BACKEND', options);
  }
}

/**
 * A barrier or other coordination point was broken by a party that left (abort, timeout, an
 * action that threw); every waiting party rejects with this error, whose `cause` is the reason.
 *
 * @example
 * ```ts
 * catch (e) { if (isBrokenBarrierError(e)) barrier.reset(); }
 * ```
 */
export class BrokenBarrierError extends ConcurrencyError {
  /** Always `'BrokenBarrierError'`: a literal, so minifiers cannot change it. */
  override name = 'BrokenBarrierError' as const;
  /**
   * @param message - what broke
   * @param options - `cause`: why
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_CF_BROKEN', options);
  }
}

/**
 * The primitive was closed (a queue, a channel, a session) and cannot serve the request.
 *
 * @example
 * ```ts
 * catch (e) { if (isClosedError(e)) return; }
 * ```
 */
export class ClosedError extends ConcurrencyError {
  /** Always `'ClosedError'`: a literal, so minifiers cannot change it. */
  override name = 'ClosedError' as const;
  /**
   * @param message - what was closed
   * @param options - `cause`
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_CF_CLOSED', options);
  }
}

const hasCode = (error: unknown, code: string): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;

/**
 * `true` for any @cf error (checked by `code`, so it works across duplicated package copies).
 * @param error - anything caught
 * @returns whether it is a `ConcurrencyError`
 * @example
 * ```ts
 * if (isConcurrencyError(e)) metrics.count(e.code);
 * ```
 */
export function isConcurrencyError(error: unknown): error is ConcurrencyError {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_CF_') && code !== 'ERR_CF_INVALID_ARG';
}
/**
 * `true` for a `TimeoutError` (checked by `code`, so it works across duplicated package copies).
 * @param error - anything caught
 * @returns whether it is a `TimeoutError`
 * @example
 * ```ts
 * if (isTimeoutError(e)) retry();
 * ```
 */
export const isTimeoutError = (error: unknown): error is TimeoutError => hasCode(error, 'ERR_CF_TIMEOUT');
/**
 * `true` for a `DeadlockError` (checked by `code`, so it works across duplicated package copies).
 * @param error - anything caught
 * @returns whether it is a `DeadlockError`
 * @example
 * ```ts
 * if (isDeadlockError(e)) backOff();
 * ```
 */
export const isDeadlockError = (error: unknown): error is DeadlockError => hasCode(error, 'ERR_CF_DEADLOCK');
/**
 * `true` for a `LeaseLostError` (checked by `code`, so it works across duplicated package copies).
 * @param error - anything caught
 * @returns whether it is a `LeaseLostError`
 * @example
 * ```ts
 * if (isLeaseLostError(e)) stop();
 * ```
 */
export const isLeaseLostError = (error: unknown): error is LeaseLostError => hasCode(error, 'ERR_CF_LEASE_LOST');
/**
 * `true` for a `NotHeldError` (checked by `code`, so it works across duplicated package copies).
 * @param error - anything caught
 * @returns whether it is a `NotHeldError`
 * @example
 * ```ts
 * if (isNotHeldError(e)) reacquire();
 * ```
 */
export const isNotHeldError = (error: unknown): error is NotHeldError => hasCode(error, 'ERR_CF_NOT_HELD');
/**
 * `true` for a `QuorumError` (checked by `code`, so it works across duplicated package copies).
 * @param error - anything caught
 * @returns whether it is a `QuorumError`
 * @example
 * ```ts
 * if (isQuorumError(e)) log(e.outcomes);
 * ```
 */
export const isQuorumError = (error: unknown): error is QuorumError => hasCode(error, 'ERR_CF_QUORUM');
/**
 * `true` for a `BackendError` (checked by `code`, so it works across duplicated package copies).
 * @param error - anything caught
 * @returns whether it is a `BackendError`
 * @example
 * ```ts
 * if (isBackendError(e)) log(e.cause);
 * ```
 */
export const isBackendError = (error: unknown): error is BackendError => hasCode(error, 'ERR_CF_BACKEND');
/**
 * `true` for a `BrokenBarrierError` (checked by `code`, so it works across duplicated package copies).
 * @param error - anything caught
 * @returns whether it is a `BrokenBarrierError`
 * @example
 * ```ts
 * if (isBrokenBarrierError(e)) barrier.reset();
 * ```
 */
export const isBrokenBarrierError = (error: unknown): error is BrokenBarrierError => hasCode(error, 'ERR_CF_BROKEN');
/**
 * `true` for a `ClosedError` (checked by `code`, so it works across duplicated package copies).
 * @param error - anything caught
 * @returns whether it is a `ClosedError`
 * @example
 * ```ts
 * if (isClosedError(e)) return;
 * ```
 */
export const isClosedError = (error: unknown): error is ClosedError => hasCode(error, 'ERR_CF_CLOSED');
/**
 * `true` for the `TypeError`/`RangeError` that @cf throws for a bad argument (code `ERR_CF_INVALID_ARG`).
 * @param error - anything caught
 * @returns whether it is an invalid-argument error from @cf
 * @example
 * ```ts
 * if (isInvalidArgumentError(e)) return badRequest(e.message);
 * ```
 */
export const isInvalidArgumentError = (
  error: unknown,
): error is (TypeError | RangeError) & { code: 'ERR_CF_INVALID_ARG' } => hasCode(error, 'ERR_CF_INVALID_ARG');
