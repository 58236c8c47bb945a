import type { EventCount } from '@cf/atomics';
import type { AcquireOptions } from '@cf/core';
import { checkAcquireOptions, checkName, checkOptionsObject, invalidArgument, TimeoutError } from '@cf/core';

/** What every shared coordination primitive's handle carries besides its region. */
export interface SharedPrimitiveHandle {
  /** The shared memory. */
  readonly buffer: SharedArrayBuffer;
  /** Start of the primitive's region in `buffer`. */
  readonly byteOffset: number;
  /** The resource name, the same in every thread. */
  readonly name: string;
}

let generated = 0;

/** The name of a new primitive: `options.name`, or `<kind>#<n>`. */
export function primitiveName(options: unknown, kind: string): string {
  checkOptionsObject(options, 'options');
  const name = (options as { name?: unknown } | undefined)?.name;
  if (name === undefined) return `${kind}#${++generated}`;
  return checkName(name, 'options.name');
}

/** Checks the `name` of a handle posted from another thread. */
export function checkHandleName(handle: unknown): string {
  if (typeof handle !== 'object' || handle === null) {
    throw invalidArgument('type', 'handle', handle, 'the handle of a shared primitive ({ buffer, byteOffset, name })');
  }
  return checkName((handle as { name?: unknown }).name, 'handle.name');
}

/** Checks a blocking wait's timeout and returns it (default: no limit). */
export function blockingTimeout(timeout: unknown): number {
  if (timeout === undefined || timeout === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (typeof timeout !== 'number') {
    throw invalidArgument('type', 'timeout', timeout, 'a number of milliseconds from 0, or Infinity');
  }
  if (!(timeout >= 0))
    throw invalidArgument('range', 'timeout', timeout, 'a number of milliseconds from 0, or Infinity');
  return timeout;
}

/**
 * Blocks until `ready()` returns true, sleeping on `events` between checks (register, re-check,
 * sleep: no wake-up is lost).
 * @returns `false` when `timeout` passed first
 */
export function blockUntil(ready: () => boolean, events: EventCount, timeout: number): boolean {
  if (ready()) return true;
  const deadline = timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout;
  for (;;) {
    const key = events.prepareWait();
    if (ready()) {
      return true;
    }
    const left = deadline - performance.now();
    if (left <= 0) {
      return false;
    }
    events.waitSync(key, left);
    if (ready()) return true;
  }
}

/**
 * Waits without blocking until `ready()` returns true; the thread stays alive meanwhile.
 * @throws rejects with `TimeoutError` (naming `what`) or `signal.reason`
 */
export async function waitUntil(
  ready: () => boolean,
  events: EventCount,
  options: AcquireOptions | undefined,
  what: string,
): Promise<void> {
  checkAcquireOptions(options);
  const signal = options?.signal;
  const timeout = options?.timeout ?? Number.POSITIVE_INFINITY;
  if (signal?.aborted) throw signal.reason;
  if (ready()) return;
  const deadline = timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout;
  for (;;) {
    const key = events.prepareWait();
    if (ready()) {
      return;
    }
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new TimeoutError(`Timed out after ${timeout} ms waiting for ${what}`, timeout);
    }
    await events.waitAsync(key, { timeout: left, ...(signal === undefined ? {} : { signal }) });
    if (ready()) return;
  }
}
