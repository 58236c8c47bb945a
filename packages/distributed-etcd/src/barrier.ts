import { checkOptionsObject, checkSignal, checkTimeout } from '@cf/core';
import { Attempt, endlessLife, type Life, retrying } from './internal/attempt.js';
import { checkClient, createdAt, deadline, type EtcdClient, type RawClient } from './internal/client.js';
import { KeyWait } from './internal/key-wait.js';
import { checkPrefix, checkPrimitiveName, EMPTY } from './internal/keys.js';
import { WatchHub } from './internal/watch-hub.js';

/** How long requests outside a session keep retrying a lost connection before failing. */
export const READ_BUDGET = 5000;
/** How often a barrier waiter re-reads in case its watch missed the release. */
const RECHECK_MS = 5000;

/** How long to wait at a barrier. */
export interface BarrierWaitOptions {
  /** Stop waiting; the promise rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Milliseconds to wait before rejecting with `TimeoutError`. */
  timeout?: number | undefined;
}

/**
 * Checks barrier wait options.
 * @param options - the argument
 */
export function checkWaitOptions(options: unknown): asserts options is BarrierWaitOptions | undefined {
  checkOptionsObject(options, 'options');
  checkSignal((options as BarrierWaitOptions | undefined)?.signal, 'options.signal');
  checkTimeout((options as BarrierWaitOptions | undefined)?.timeout, 'options.timeout');
}

/**
 * Starts an attempt outside a session: only the caller's signal and timeout end it.
 * @param resource - for messages
 * @param options - checked options
 */
export function startWait(resource: string, options: BarrierWaitOptions | undefined): { life: Life; attempt: Attempt } {
  const life = endlessLife();
  const timeout = options?.timeout;
  const limited = timeout !== undefined && timeout !== Number.POSITIVE_INFINITY;
  return { life, attempt: new Attempt(life, resource, options?.signal, timeout, limited ? timeout : undefined) };
}

/**
 * Waits until `key` does not exist (or, with `until`, until the answer of `until` is true),
 * watching the key between reads.
 * @param raw - client
 * @param life - what bounds retries
 * @param attempt - the caller's wait
 * @param key - the key
 * @param done - decides from the key's current state (or `undefined` when absent) whether to stop
 */
export async function waitForKey(
  raw: RawClient,
  life: Life,
  attempt: Attempt,
  key: Buffer,
  done: (kv: { mod_revision: string } | undefined) => boolean,
): Promise<void> {
  const hub = WatchHub.of(raw);
  for (;;) {
    const response = await attempt.race(
      retrying(life, 'read barrier', () => raw.kv.range({ key }, deadline(READ_BUDGET)), attempt, READ_BUDGET),
    );
    if (done(response.kvs[0])) return;
    const wait = new KeyWait(hub, key, undefined, BigInt(response.header.revision) + 1n, false);
    try {
      await attempt.race(wait.next(RECHECK_MS));
    } finally {
      wait.close();
    }
  }
}

/**
 * A single-key barrier as etcd's Go `recipe.Barrier`: while the key `<prefix><name>` exists, the
 * barrier is up and `wait()` blocks; deleting it lets every waiter through. The key has no lease:
 * the barrier stays up until someone releases it, even if its holder crashed.
 *
 * @example
 * ```ts
 * const gate = new EtcdBarrier(client, 'deploy-freeze');
 * await gate.hold();          // on the coordinator
 * await gate.wait({ timeout: 60_000 });   // on the workers
 * await gate.release();       // on the coordinator: workers continue
 * ```
 */
export class EtcdBarrier {
  /** The barrier's name. */
  readonly name: string;
  readonly #raw: RawClient;
  readonly #key: Buffer;

  /**
   * @param client - an etcd3 `Etcd3` client (or a namespace of one)
   * @param name - non-empty, at most 1024 characters, no `/` or NUL
   * @param options - `prefix` prepended to the name to form the key
   * @throws TypeError / RangeError (`ERR_CF_INVALID_ARG`) for a bad argument
   */
  constructor(client: EtcdClient, name: string, options?: { prefix?: string | undefined }) {
    this.#raw = checkClient(client);
    this.name = checkPrimitiveName(name);
    checkOptionsObject(options, 'options');
    this.#key = Buffer.concat([this.#raw.prefix ?? EMPTY, Buffer.from(checkPrefix(options?.prefix) + name, 'utf8')]);
  }

  /**
   * Raises the barrier (creates the key if absent).
   * @returns `true` if this call raised it, `false` if it was already up
   * @throws BackendError
   * @example
   * ```ts
   * if (!(await barrier.hold())) console.log('already held');
   * ```
   */
  async hold(): Promise<boolean> {
    const response = await retrying(
      endlessLife(),
      'raise barrier',
      () =>
        this.#raw.kv.txn(
          {
            compare: [createdAt(this.#key, 0)],
            success: [{ request_put: { key: this.#key, value: EMPTY } }],
          },
          deadline(READ_BUDGET),
        ),
      undefined,
      READ_BUDGET,
    );
    return response.succeeded;
  }

  /**
   * Lowers the barrier (deletes the key): every waiter continues.
   * @returns resolves when deleted
   * @throws BackendError
   * @example
   * ```ts
   * await barrier.release();
   * ```
   */
  async release(): Promise<void> {
    await retrying(
      endlessLife(),
      'release barrier',
      () => this.#raw.kv.deleteRange({ key: this.#key }, deadline(READ_BUDGET)),
      undefined,
      READ_BUDGET,
    );
  }

  /**
   * Waits until the barrier is down (resolves at once if it is not up).
   * @param options - `signal`, `timeout`
   * @returns resolves when the key does not exist
   * @throws TimeoutError, `signal.reason`, TypeError / RangeError for bad options, BackendError
   * @example
   * ```ts
   * await barrier.wait({ signal });
   * ```
   */
  async wait(options?: BarrierWaitOptions): Promise<void> {
    checkWaitOptions(options);
    if (options?.signal?.aborted) throw options.signal.reason;
    const { life, attempt } = startWait(this.name, options);
    try {
      await waitForKey(this.#raw, life, attempt, this.#key, (kv) => kv === undefined);
    } catch (error) {
      attempt.cancel(error);
      throw attempt.reason;
    } finally {
      attempt.dispose();
    }
  }
}
