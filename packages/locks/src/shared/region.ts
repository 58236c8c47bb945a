import { invalidArgument } from '@cf/core';
import type { RegionHandle } from '@cf/atomics';

/** Spins before a blocking wait parks: a release that lands while spinning costs no wake-up. */
export const SPINS = 100;
/**
 * Milliseconds between liveness checks of a robust lock's holder while waiting: the longest a
 * waiter sleeps before noticing that the holder was reported dead.
 */
export const LIVENESS_INTERVAL = 50;

const isShared = (value: unknown): value is SharedArrayBuffer =>
  Object.prototype.toString.call(value) === '[object SharedArrayBuffer]';

/** Validates the `{ buffer, byteOffset }` of a handle or placement. */
export function checkLockRegion(region: unknown, byteLength: number, alignment: number, name = 'handle'): RegionHandle {
  if (typeof region !== 'object' || region === null) {
    throw invalidArgument('type', name, region, 'an object with a SharedArrayBuffer `buffer` and a `byteOffset`');
  }
  const { buffer, byteOffset = 0 } = region as { buffer?: unknown; byteOffset?: unknown };
  if (!isShared(buffer)) throw invalidArgument('type', `${name}.buffer`, buffer, 'a SharedArrayBuffer');
  if (typeof byteOffset !== 'number') throw invalidArgument('type', `${name}.byteOffset`, byteOffset, 'a non-negative integer');
  if (!Number.isInteger(byteOffset) || byteOffset < 0) {
    throw invalidArgument('range', `${name}.byteOffset`, byteOffset, 'a non-negative integer');
  }
  if (byteOffset % alignment !== 0) throw invalidArgument('range', `${name}.byteOffset`, byteOffset, `a multiple of ${alignment}`);
  if (byteOffset + byteLength > buffer.byteLength) {
    throw invalidArgument(
      'range',
      `${name}.byteOffset`,
      byteOffset,
      `an offset leaving at least ${byteLength} bytes in the ${buffer.byteLength}-byte buffer`,
    );
  }
  return { buffer, byteOffset };
}

/** The region of a new lock: the caller's placement, validated, or a fresh buffer. */
export function placeLock(options: unknown, byteLength: number, alignment: number): RegionHandle {
  const { buffer, byteOffset } = (options ?? {}) as { buffer?: unknown; byteOffset?: unknown };
  if (buffer === undefined) {
    if (byteOffset !== undefined && byteOffset !== 0) {
      throw invalidArgument('range', 'options.byteOffset', byteOffset, '0 or undefined when no options.buffer is given');
    }
    return { buffer: new SharedArrayBuffer(byteLength), byteOffset: 0 };
  }
  return checkLockRegion(options, byteLength, alignment, 'options');
}
