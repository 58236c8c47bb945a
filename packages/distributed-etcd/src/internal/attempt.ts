import { ClosedError, LeaseLostError, TimeoutError } from '@cf/core';
import type { ITxnRequest, ITxnResponse } from 'etcd3';
import type { SessionCore } from '../session.js';

/** The part of a session an attempt needs: whether it ended, and who to tell when it does. */
export type Life = Pick<SessionCore, 'ended' | 'listeners'>;

/** A life that never ends, for waits that need no session (barriers, election observers). */
export function endlessLife(): Life {
  return { ended: undefined, listeners: new Set() };
}

import { backendError, deadline, isTransient } from './client.js';

/**
 * The reason to give a caller whose session ended: `ClosedError` after `close()`, otherwise
 * `LeaseLostError`; the session's own reason is the `cause`.
 * @param core - the ended session
 * @param resource - what the caller wanted
 */
export function sessionEndedError(core: Life, resource: string): Error {
  const reason = core.ended;
  if (reason instanceof ClosedError)
    return new ClosedError(`The etcd session for ${resource} is closed`, { cause: reason });
  return new LeaseLostError(`The etcd session for ${resource} was lost`, resource, { cause: reason });
}

/**
 * One wait for a primitive in etcd: settles early on abort, timeout or the end of the session,
 * while the work in etcd finishes in the background and cleans up after itself.
 */
export class Attempt {
  /** Why the attempt was cancelled, once it was. */
  reason: unknown = undefined;
  /** Rejects with the reason when the attempt is cancelled. */
  readonly cancelled: Promise<never>;
  readonly #core: Life;
  readonly #resource: string;
  #reject!: (reason: unknown) => void;
  #signal: AbortSignal | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  readonly #onSessionEnd = (): void => this.cancel(sessionEndedError(this.#core, this.#resource));

  /**
   * @param core - the session
   * @param resource - name for messages
   * @param signal - the caller's signal
   * @param timeout - the caller's limit in ms (for the message)
   * @param remaining - ms left of it, or `undefined` for no limit
   */
  constructor(
    core: Life,
    resource: string,
    signal: AbortSignal | undefined,
    timeout: number | undefined,
    remaining: number | undefined,
  ) {
    this.#core = core;
    this.#resource = resource;
    this.cancelled = new Promise<never>((_, reject) => {
      this.#reject = reject;
    });
    this.cancelled.catch(() => {});
    if (core.ended !== undefined) {
      this.#onSessionEnd();
      return;
    }
    core.listeners.add(this.#onSessionEnd);
    if (signal !== undefined) {
      if (signal.aborted) {
        this.cancel(signal.reason);
        return;
      }
      this.#signal = signal;
      signal.addEventListener('abort', this);
    }
    if (remaining !== undefined && timeout !== undefined) {
      const limit = timeout;
      this.#timer = setTimeout(
        () => this.cancel(new TimeoutError(`Timed out after ${limit} ms waiting for ${resource}`, limit)),
        Math.max(remaining, 0),
      );
    }
  }

  /** @internal The signal's abort listener. */
  handleEvent(): void {
    this.cancel(this.#signal?.reason);
  }

  /**
   * Cancels the attempt (first reason wins) and removes its listeners.
   * @param reason - why
   */
  cancel(reason: unknown): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.dispose();
    this.#reject(reason);
  }

  /** Removes the listeners and the timer (the attempt succeeded or was cancelled). */
  dispose(): void {
    this.#core.listeners.delete(this.#onSessionEnd);
    if (this.#signal !== undefined) {
      this.#signal.removeEventListener('abort', this);
      this.#signal = undefined;
    }
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /**
   * Waits for `promise` unless the attempt is cancelled first.
   * @param promise - what to wait for
   */
  race<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.cancelled]);
  }

  /** Throws the reason if cancelled. */
  check(): void {
    if (this.reason !== undefined) throw this.reason;
  }
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref?.();
  });

/**
 * Runs one etcd request, retrying transient failures (lost connection, leader change) with
 * backoff until it succeeds, the session ends or `attempt` is cancelled; it never hangs, because
 * a session that cannot reach etcd is lost within its ttl.
 * @param core - the session
 * @param what - for the error message
 * @param request - sends the request
 * @param attempt - stops retrying when cancelled (optional)
 * @param budget - ms after which to give up (for requests outside a session, which has no ttl to bound them)
 * @returns the answer
 * @throws BackendError for a failure that retrying cannot fix; the session's end reason
 */
export async function retrying<T>(
  core: Pick<SessionCore, 'ended'>,
  what: string,
  request: () => Promise<T>,
  attempt?: Attempt,
  budget?: number,
): Promise<T> {
  let delay = 20;
  const until = budget === undefined ? Number.POSITIVE_INFINITY : Date.now() + budget;
  for (;;) {
    try {
      return await request();
    } catch (error) {
      if (!isTransient(error)) throw backendError(what, error);
      attempt?.check();
      if (core.ended !== undefined || Date.now() + delay > until) throw backendError(what, error);
      await sleep(delay);
      delay = Math.min(delay * 2, 500);
      attempt?.check();
      if (core.ended !== undefined) throw backendError(what, error);
    }
  }
}

/**
 * One transaction of a session, each try with the session's RPC deadline, retried like
 * {@link retrying}.
 * @param core - the session
 * @param what - for the error message
 * @param request - the transaction
 * @param attempt - stops retrying when cancelled (optional)
 * @returns etcd's answer
 * @throws BackendError for a failure that retrying cannot fix; the session's end reason
 */
export function txn(
  core: Pick<SessionCore, 'ended' | 'raw' | 'rpcMs'>,
  what: string,
  request: ITxnRequest,
  attempt?: Attempt,
): Promise<ITxnResponse> {
  return retrying(core, what, () => core.raw.kv.txn(request, deadline(core.rpcMs)), attempt);
}
