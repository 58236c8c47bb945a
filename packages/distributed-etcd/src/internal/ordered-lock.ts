import {
  type AcquireOptions,
  checkAcquireOptions,
  emit,
  isTimeoutError,
  type LeaseTrace,
  observing,
  resolveOwner,
  TimeoutError,
} from '@cf/core';
import { EtcdLease } from '../lease.js';
import type { SessionCore } from '../session.js';
import { Attempt } from './attempt.js';
import { join } from './keys.js';
import { gateFor, type LocalGate } from './local-gate.js';
import { acquireTurn, deleteKey, deleteUnknown, enqueue } from './ordered.js';
import type { SessionSource } from './source.js';

/** Told about a new lease, its session and its key (elections remember them). */
export type HeldCallback = (lease: EtcdLease, core: SessionCore, key: Buffer) => void;

/** How one kind of request of an ordered primitive is laid out. */
export interface OrderedKind {
  /** The primitive, reported in events. */
  readonly lock: object;
  /** Its name: the lease's `resource`. */
  readonly resource: string;
  /** `'exclusive'` or `'shared'`: how requests of one process meet in the local gate. */
  readonly mode: 'exclusive' | 'shared';
  /** The key prefix of the primitive (`<prefix><name>/`), which names its local gate. */
  readonly gateKey: string;
  /** Our key for this request. */
  myKey(core: SessionCore): Buffer;
  /** The keys that can block ours. */
  readonly blockPrefix: Buffer;
}

/**
 * The layout of etcd's Go `concurrency.Mutex` and `Election`: one key per session,
 * `<primitive prefix><session lease hex>`, blocked by every key under the prefix.
 * @param lock - the primitive, reported in events
 * @param resource - its name
 * @param prefix - `<prefix><name>/`
 * @returns the request layout
 */
export function sessionKeyKind(lock: object, resource: string, prefix: Buffer): OrderedKind {
  return {
    lock,
    resource,
    mode: 'exclusive',
    gateKey: prefix.toString('latin1'),
    myKey: (core: SessionCore) => join(prefix, core.leaseHex),
    blockPrefix: prefix,
  };
}

/**
 * Acquires an ordered primitive: waits in the session's local gate, then in etcd.
 * @param source - where the session comes from
 * @param kind - the request's layout
 * @param value - the key's value
 * @param options - the caller's options (unchecked)
 * @param onHeld - called with the lease before it is returned (elections remember it)
 * @returns the lease
 */
export async function acquireOrdered(
  source: SessionSource,
  kind: OrderedKind,
  value: Buffer,
  options: AcquireOptions | undefined,
  onHeld?: HeldCallback,
): Promise<EtcdLease> {
  checkAcquireOptions(options);
  const signal = options?.signal;
  if (signal?.aborted) throw signal.reason;
  const timeout = options?.timeout;
  const limited = timeout !== undefined && timeout !== Number.POSITIVE_INFINITY;
  const started = limited || observing ? performance.now() : 0;
  if (timeout === 0) {
    const lease = await tryOrdered(source, kind, value, onHeld, started);
    if (lease === undefined) throw new TimeoutError(`${kind.resource} is not available now (timeout 0)`, 0);
    return lease;
  }
  const core = await source.current(kind.resource);
  const exclusive = kind.mode === 'exclusive';
  const gate = gateFor(core.gates, kind.gateKey, kind.resource, kind.lock);
  // The local gate reports its own wait/timeout/aborted events; etcd waits are reported here.
  let reportWait = true;
  if (!gate.tryEnter(exclusive)) {
    reportWait = false;
    const remaining = limited ? Math.max(timeout - (performance.now() - started), 1) : undefined;
    await gate.enter(exclusive, remaining === undefined ? options : { ...options, timeout: remaining });
  }
  const myKey = kind.myKey(core);
  const remaining = limited ? timeout - (performance.now() - started) : undefined;
  const attempt = new Attempt(core, kind.resource, signal, timeout, remaining);
  let waited = false;
  let revision: bigint;
  try {
    revision = await acquireTurn(
      core,
      attempt,
      myKey,
      value,
      kind.blockPrefix,
      () => gate.leave(exclusive),
      () => {
        waited = true;
        if (reportWait && observing) report(kind, 'wait', options?.owner, started, undefined);
      },
    );
  } catch (error) {
    if (waited && observing)
      report(kind, isTimeoutError(error) ? 'timeout' : 'aborted', options?.owner, started, error);
    throw error;
  }
  return hold(core, gate, kind, myKey, revision, onHeld, options?.owner, started);
}

function report(
  kind: OrderedKind,
  type: 'wait' | 'timeout' | 'aborted',
  owner: unknown,
  started: number,
  error: unknown,
): void {
  const timestamp = performance.now();
  emit({
    type,
    resource: kind.resource,
    mode: kind.mode,
    lock: kind.lock,
    owner: resolveOwner(owner),
    timestamp,
    ...(type === 'wait' ? {} : { waitTime: timestamp - started, error }),
  });
}

/**
 * Takes an ordered primitive only if nothing is ahead (etcd's `TryLock`): creates the key, and
 * deletes it again when another key is ahead.
 * @param source - where the session comes from
 * @param kind - the request's layout
 * @param value - the key's value
 * @param onHeld - called with the lease before it is returned
 * @param started - `performance.now()` of the call, for events
 * @returns the lease, or `undefined`
 */
export async function tryOrdered(
  source: SessionSource,
  kind: OrderedKind,
  value: Buffer,
  onHeld?: HeldCallback,
  started = 0,
): Promise<EtcdLease | undefined> {
  const core = await source.current(kind.resource);
  const exclusive = kind.mode === 'exclusive';
  const gate = gateFor(core.gates, kind.gateKey, kind.resource, kind.lock);
  if (!gate.tryEnter(exclusive)) return undefined;
  const myKey = kind.myKey(core);
  let entry: Awaited<ReturnType<typeof enqueue>>;
  try {
    entry = await enqueue(core, myKey, value, kind.blockPrefix);
  } catch (error) {
    await deleteUnknown(core, myKey);
    gate.leave(exclusive);
    throw error;
  }
  if (entry.blocker !== undefined) {
    try {
      await deleteKey(core, myKey, entry.revision);
    } finally {
      gate.leave(exclusive);
    }
    return undefined;
  }
  return hold(core, gate, kind, myKey, entry.revision, onHeld, undefined, started);
}

function hold(
  core: SessionCore,
  gate: LocalGate,
  kind: OrderedKind,
  myKey: Buffer,
  revision: bigint,
  onHeld: HeldCallback | undefined,
  owner: unknown,
  started: number,
): EtcdLease {
  const exclusive = kind.mode === 'exclusive';
  const release = async (): Promise<void> => {
    try {
      if (core.ended === undefined) await deleteKey(core, myKey, revision);
      else void deleteKey(core, myKey, revision).catch(() => {});
    } finally {
      gate.leave(exclusive);
    }
  };
  const trace: LeaseTrace | undefined = observing
    ? { lock: kind.lock, mode: kind.mode, owner: resolveOwner(owner), waitStart: started }
    : undefined;
  const lease = new EtcdLease(kind.resource, myKey, revision, core, release, trace);
  onHeld?.(lease, core, myKey);
  return lease;
}
