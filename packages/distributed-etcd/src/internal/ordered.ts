/**
 * The waiting algorithm of etcd's Go `concurrency.Mutex` and `Election`, shared by every
 * primitive here that orders its keys by create revision:
 *
 * 1. create my key (if absent) on the session lease, reading in the same transaction the last
 *    two keys ahead of it among the keys that can block it;
 * 2. nothing ahead: held. Otherwise watch only the immediate predecessor (the last blocking key
 *    with a lower create revision) until it is deleted, then read again; when it was the only
 *    key ahead, its deletion alone proves the turn has come, so no read is needed;
 * 3. abort or timeout deletes my key.
 *
 * Keys never gain a lower create revision, so the set ahead of a waiter only shrinks: watching
 * the last one and re-reading is enough, and each release wakes exactly the waiters it unblocks.
 */
import { LeaseLostError, startTimer, stopTimer } from '@cf/core';
import type { IKeyValue, IRangeRequest } from 'etcd3';
import type { SessionCore } from '../session.js';
import { type Attempt, retrying, txn } from './attempt.js';
import { createdAt, deadline, SORT_BY_CREATE, SORT_DESCEND } from './client.js';
import { KeyWait } from './key-wait.js';
import { rangeEnd, showKey } from './keys.js';

/** A key ahead of ours that we wait for. */
export interface Blocker {
  readonly key: Buffer;
  /** `true` when it was the only blocking key ahead of ours at the last read. */
  readonly solo: boolean;
}

/** What the create transaction found. */
export interface Enqueued {
  /** Create revision of our key: the fencing token. */
  readonly revision: bigint;
  /** Revision at which the blocker was read. */
  readonly readAt: bigint;
  readonly blocker: Blocker | undefined;
}

function lastAhead(blockPrefix: Buffer, maxCreate?: bigint): IRangeRequest {
  return {
    key: blockPrefix,
    range_end: rangeEnd(blockPrefix),
    sort_order: SORT_DESCEND,
    sort_target: SORT_BY_CREATE,
    limit: 2,
    keys_only: true,
    ...(maxCreate === undefined ? {} : { max_create_revision: maxCreate.toString() }),
  };
}

function blockerOf(kvs: readonly IKeyValue[]): Blocker | undefined {
  const first = kvs[0];
  return first === undefined ? undefined : { key: first.key, solo: kvs.length === 1 };
}

/**
 * Step 1: creates `myKey` with `value` on the session lease and reads what is ahead of it.
 * A key left over from an earlier hold of this session (a release that failed) is deleted and
 * created anew, so every hold gets a new create revision and fencing tokens only grow.
 * @param core - the session
 * @param myKey - our key
 * @param value - its value
 * @param blockPrefix - the keys that can block ours
 * @param attempt - cancellation of the caller's wait
 */
export async function enqueue(
  core: SessionCore,
  myKey: Buffer,
  value: Buffer,
  blockPrefix: Buffer,
  attempt?: Attempt,
): Promise<Enqueued> {
  for (let stale = 0; ; stale++) {
    const response = await txn(
      core,
      'create key',
      {
        compare: [createdAt(myKey, 0)],
        success: [
          { request_range: lastAhead(blockPrefix) },
          { request_put: { key: myKey, value, lease: core.leaseId } },
        ],
        failure: [{ request_range: { key: myKey, keys_only: true } }],
      },
      attempt,
    );
    if (response.succeeded) {
      const revision = BigInt(response.header.revision);
      return { revision, readAt: revision, blocker: blockerOf(response.responses[0]?.response_range.kvs ?? []) };
    }
    const existing = response.responses[0]?.response_range.kvs[0];
    if (existing !== undefined) await deleteKey(core, myKey, BigInt(existing.create_revision));
    if (stale > 3) throw new LeaseLostError(`Could not create ${showKey(myKey)}: it keeps reappearing`, showKey(myKey));
  }
}

/**
 * Reads the blocker of `myKey` again.
 * @param core - the session
 * @param myKey - our key
 * @param revision - its create revision
 * @param blockPrefix - the keys that can block ours
 * @param attempt - cancellation
 * @throws LeaseLostError when our key is gone (session expired or key deleted from outside)
 */
export async function readBlocker(
  core: SessionCore,
  myKey: Buffer,
  revision: bigint,
  blockPrefix: Buffer,
  attempt?: Attempt,
): Promise<{ readAt: bigint; blocker: Blocker | undefined }> {
  const response = await txn(
    core,
    'read waiters',
    { compare: [createdAt(myKey, revision)], success: [{ request_range: lastAhead(blockPrefix, revision - 1n) }] },
    attempt,
  );
  if (!response.succeeded) {
    throw new LeaseLostError(
      `The key ${showKey(myKey)} disappeared while waiting (session expired or key deleted)`,
      showKey(myKey),
    );
  }
  return {
    readAt: BigInt(response.header.revision),
    blocker: blockerOf(response.responses[0]?.response_range.kvs ?? []),
  };
}

/**
 * Step 2: waits until nothing blocks `myKey`, watching one predecessor at a time.
 * @param core - the session
 * @param attempt - cancellation
 * @param myKey - our key
 * @param entry - what `enqueue` returned
 * @param blockPrefix - the keys that can block ours
 */
export async function waitTurn(
  core: SessionCore,
  attempt: Attempt,
  myKey: Buffer,
  entry: Enqueued,
  blockPrefix: Buffer,
): Promise<void> {
  let { blocker, readAt } = entry;
  let wait: KeyWait | undefined;
  try {
    while (blocker !== undefined) {
      if (wait === undefined) wait = new KeyWait(core.hub, blocker.key, undefined, readAt + 1n, true);
      const outcome = await attempt.race(wait.next(core.recheckMs));
      if (outcome === 'changed' && blocker.solo) return;
      const previous = blocker;
      ({ blocker, readAt } = await attempt.race(readBlocker(core, myKey, entry.revision, blockPrefix, attempt)));
      const same = blocker?.key.equals(previous.key);
      // The periodic read found a change the watch did not report: its stream may be stuck.
      if (outcome === 'timeout' && !same) core.hub.suspect(core.recheckMs);
      if (outcome !== 'timeout' || !same) {
        wait.close();
        wait = undefined;
      }
    }
  } finally {
    wait?.close();
  }
}

/**
 * Deletes `key` if it still has create revision `revision`, retrying transient failures while
 * the session lives (once it has ended, its keys are gone with its lease).
 * @param core - the session
 * @param key - the key
 * @param revision - its create revision
 */
export async function deleteKey(core: SessionCore, key: Buffer, revision: bigint): Promise<void> {
  try {
    await txn(core, 'delete key', {
      compare: [createdAt(key, revision)],
      success: [{ request_delete_range: { key } }],
    });
  } catch (error) {
    if (core.ended === undefined) throw error;
  }
}

/**
 * Acquires a place: enqueue, then wait for the turn. On cancellation the key is deleted (in the
 * background when the caller has already been answered) before `cleanup` runs.
 * @param core - the session
 * @param attempt - the caller's wait
 * @param myKey - our key
 * @param value - its value
 * @param blockPrefix - the keys that can block ours
 * @param cleanup - runs once the key is gone after a failed attempt (leave the local gate)
 * @param onWait - called when another key is ahead, so the request has to wait (for events)
 * @returns our key's create revision
 */
export function acquireTurn(
  core: SessionCore,
  attempt: Attempt,
  myKey: Buffer,
  value: Buffer,
  blockPrefix: Buffer,
  cleanup: () => void,
  onWait?: () => void,
): Promise<bigint> {
  return keyOrNothing(
    core,
    attempt,
    myKey,
    async (created) => {
      const entry = await enqueue(core, myKey, value, blockPrefix, attempt);
      created(entry.revision);
      attempt.check();
      if (entry.blocker !== undefined) {
        onWait?.();
        await waitTurn(core, attempt, myKey, entry, blockPrefix);
      }
      return entry.revision;
    },
    cleanup,
  );
}

/**
 * Runs `work`, which creates `myKey` (telling `created` its create revision) and waits in etcd,
 * while the caller's wait may end first (abort, timeout, end of the session). Either the caller
 * gets the key's revision, or the key is deleted once the work has settled, whatever state it
 * reached, and then `cleanup` runs.
 * @param core - the session
 * @param attempt - the caller's wait
 * @param myKey - the key the work creates
 * @param work - creates the key and waits for its turn; resolves with its create revision
 * @param cleanup - runs after the key is gone, when the caller did not get it
 * @returns the key's create revision
 * @throws the attempt's reason, or the work's error
 */
export async function keyOrNothing(
  core: SessionCore,
  attempt: Attempt,
  myKey: Buffer,
  work: (created: (revision: bigint) => void) => Promise<bigint>,
  cleanup: () => void = () => {},
): Promise<bigint> {
  if (attempt.reason !== undefined) {
    cleanup();
    throw attempt.reason;
  }
  let revision: bigint | undefined;
  const running = work((created) => {
    revision = created;
  });
  try {
    const result = await attempt.race(running);
    attempt.check();
    attempt.dispose();
    return result;
  } catch (error) {
    attempt.cancel(error);
    // Let the etcd work settle, then remove our key whatever state it reached.
    const removal = running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(async () => {
        if (revision !== undefined) await deleteKey(core, myKey, revision);
        else await deleteUnknown(core, myKey);
      })
      .catch(() => {})
      .finally(cleanup);
    // Answer once the key is gone, so that a rejected acquire leaves nothing behind that could
    // still block the next caller; but never wait long for it: with the cluster unreachable the
    // removal goes on in the background and the session's lease is the backstop.
    await settledWithin(removal, Math.min(core.rpcMs, REMOVAL_WAIT_MS));
    throw attempt.reason ?? error;
  }
}

/**
 * Deletes our key whose create revision is unknown (the create's answer was lost); safe because
 * only this request uses the key while it is in the local gate.
 * @param core - the session
 * @param key - our key
 */
export async function deleteUnknown(core: SessionCore, key: Buffer): Promise<void> {
  if (core.ended !== undefined) return;
  try {
    await retrying(core, 'delete key', () => core.raw.kv.deleteRange({ key }, deadline(core.rpcMs)));
  } catch {}
}

/** How long a cancelled acquire waits for its key's removal before answering anyway. */
const REMOVAL_WAIT_MS = 500;

/** Resolves when `work` settles or after `ms`, whichever comes first. */
function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = startTimer(resolve, ms, undefined, true);
    void work.finally(() => {
      stopTimer(timer);
      resolve();
    });
  });
}
