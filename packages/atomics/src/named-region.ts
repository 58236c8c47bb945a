import { checkName, checkOptionsObject, checkTimeout, invalidArgument } from '@cf/core';
import type { Placement, RegionHandle } from './placement.js';
import { checkRegion, placeRegion } from './region.js';

/**
 * The handle of a named shared primitive (the `Shared*` locks of `@cf/locks` and `@cf/sync`):
 * its region and its resource name, the same in every thread. Structured-clone-safe.
 */
export interface NamedRegionHandle extends RegionHandle {
  /** The resource name reported in leases, errors and events. */
  readonly name: string;
}

/** Where to build a named shared primitive, and its name. */
export interface NamedPlacement extends Placement {
  /** The resource name (default `<kind>#<n>`, unique in the creating thread). */
  readonly name?: string | undefined;
}

let generated = 0;

/**
 * The region and name of a new named primitive: validates `options` (an object or `undefined`),
 * its `name` (or generates `<kind>#<n>`) and its placement, and zeroes the region.
 * @param options - the constructor's options
 * @param kind - the primitive's kind, for generated names (`shared-mutex`)
 * @param byteLength - bytes the primitive needs
 * @param alignment - required alignment of `byteOffset`
 * @returns the new primitive's handle
 * @throws TypeError / RangeError with code `ERR_CF_INVALID_ARG`
 * @example `const handle = placeNamedRegion(options, 'shared-latch', 8, 4)`
 */
export function placeNamedRegion(
  options: unknown,
  kind: string,
  byteLength: number,
  alignment: number,
): NamedRegionHandle {
  checkOptionsObject(options, 'options');
  const given = (options as NamedPlacement | undefined)?.name;
  const name = given === undefined ? `${kind}#${++generated}` : checkName(given, 'options.name');
  const { buffer, byteOffset } = placeRegion(options, byteLength, alignment);
  // A caller's buffer may hold old data: a new primitive starts from zeroed words.
  new Uint8Array(buffer, byteOffset, byteLength).fill(0);
  return { buffer, byteOffset, name };
}

/**
 * Validates the handle of a named primitive posted from another thread: an object with a
 * `SharedArrayBuffer`, an aligned `byteOffset` leaving `byteLength` bytes, and a `name`.
 * @param handle - what the caller passed to `from()`
 * @param byteLength - bytes the primitive needs
 * @param alignment - required alignment of `byteOffset`
 * @returns the handle, typed
 * @throws TypeError / RangeError with code `ERR_CF_INVALID_ARG`
 * @example `const checked = checkNamedRegion(handle, 16, 4)`
 */
export function checkNamedRegion<H extends NamedRegionHandle>(handle: H, byteLength: number, alignment: number): H {
  if (typeof handle !== 'object' || handle === null) {
    throw invalidArgument('type', 'handle', handle, 'the handle of a shared primitive ({ buffer, byteOffset, name })');
  }
  checkName((handle as { name?: unknown }).name, 'handle.name');
  checkRegion(handle, 'handle', byteLength, alignment);
  return handle;
}

/**
 * Checks the timeout of a blocking wait: milliseconds from 0 to 2^31 - 1, or `Infinity`.
 * @param timeout - the argument; `undefined` means no limit
 * @returns the timeout, `Infinity` when not given
 * @throws TypeError / RangeError with code `ERR_CF_INVALID_ARG`
 * @example `const limit = blockingTimeout(timeout)`
 */
export function blockingTimeout(timeout: unknown): number {
  checkTimeout(timeout, 'timeout');
  return (timeout as number | undefined) ?? Number.POSITIVE_INFINITY;
}
