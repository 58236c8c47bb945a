import { checkInteger, invalidArgument } from '@cf/core';

import type { Placement, RegionHandle } from './placement.js';

export type { Placement, RegionHandle };

/** The size of a cache line on the machines Node runs on; slots this far apart never share one. */
export const CACHE_LINE = 64;

const toStringTag = (value: unknown): string => Object.prototype.toString.call(value);

/** `true` for a `SharedArrayBuffer` from any realm. */
export function isSharedArrayBuffer(value: unknown): value is SharedArrayBuffer {
  return toStringTag(value) === '[object SharedArrayBuffer]';
}

function allocate(byteLength: number): SharedArrayBuffer {
  if (typeof SharedArrayBuffer !== 'function') {
    // Browsers expose SharedArrayBuffer only to cross-origin-isolated pages.
    throw new TypeError('SharedArrayBuffer is not available here (browsers require cross-origin isolation).');
  }
  return new SharedArrayBuffer(byteLength);
}

/**
 * Validates a region: an object with a `SharedArrayBuffer` and an aligned `byteOffset` leaving
 * at least `byteLength` bytes. For structures built on this package (as `@cf/locks` does).
 * @param region - what the caller passed
 * @param name - its name in messages (`handle`, `options`)
 * @param byteLength - bytes the structure needs
 * @param alignment - required alignment of `byteOffset` in bytes
 * @returns the region, typed
 * @throws TypeError / RangeError with code `ERR_CF_INVALID_ARG`
 * @example `const { buffer, byteOffset } = checkRegion(handle, 'handle', 16, 4)`
 */
export function checkRegion(region: unknown, name: string, byteLength: number, alignment: number): RegionHandle {
  if (typeof region !== 'object' || region === null) {
    throw invalidArgument('type', name, region, 'an object with a SharedArrayBuffer `buffer` and a `byteOffset`');
  }
  const { buffer, byteOffset = 0 } = region as Placement;
  if (!isSharedArrayBuffer(buffer)) throw invalidArgument('type', `${name}.buffer`, buffer, 'a SharedArrayBuffer');
  checkInteger(byteOffset, `${name}.byteOffset`, 0, Number.MAX_SAFE_INTEGER);
  if (byteOffset % alignment !== 0) {
    throw invalidArgument('range', `${name}.byteOffset`, byteOffset, `a multiple of ${alignment}`);
  }
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

/**
 * The region for a new structure: the caller's placement, validated, or a fresh buffer of
 * exactly `byteLength` bytes.
 * @param placement - `options` as passed to a constructor (its `buffer` and `byteOffset`)
 * @param byteLength - bytes the structure needs
 * @param alignment - required alignment of `byteOffset`
 * @returns where to build it
 * @throws TypeError / RangeError with code `ERR_CF_INVALID_ARG`
 * @example `const region = placeRegion(options, 16, 4)`
 */
export function placeRegion(placement: unknown, byteLength: number, alignment: number): RegionHandle {
  if (placement !== undefined && (typeof placement !== 'object' || placement === null)) {
    throw invalidArgument('type', 'options', placement, 'an options object or undefined');
  }
  const buffer = (placement as Placement | undefined)?.buffer;
  if (buffer === undefined) {
    const byteOffset = (placement as Placement | undefined)?.byteOffset;
    if (byteOffset !== undefined && byteOffset !== 0) {
      throw invalidArgument(
        'range',
        'options.byteOffset',
        byteOffset,
        '0 or undefined when no options.buffer is given',
      );
    }
    return { buffer: allocate(byteLength), byteOffset: 0 };
  }
  return checkRegion(placement, 'options', byteLength, alignment);
}

/**
 * Checks a size or capacity argument.
 * @param value - the argument
 * @param name - its name
 * @param min - smallest allowed
 * @param max - largest allowed
 * @returns `value`
 */
export function checkSize(value: unknown, name: string, min: number, max: number): number {
  return checkInteger(value, name, min, max);
}

/**
 * Throws when a region's header does not describe what `from()` expects (an uninitialised
 * region, or a handle of another structure).
 */
export function corruptRegion(name: string, what: string, value: unknown, expected: string): RangeError {
  return invalidArgument('range', `${name} (${what})`, value, expected) as RangeError;
}

/** Rounds `value` up to a multiple of `unit`. */
export function roundUp(value: number, unit: number): number {
  return Math.ceil(value / unit) * unit;
}

/** The smallest power of two >= `value` (value >= 1). */
export function nextPowerOfTwo(value: number): number {
  return value <= 1 ? 1 : 2 ** Math.ceil(Math.log2(value));
}
