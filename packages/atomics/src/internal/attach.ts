import type { RegionHandle } from '../placement.js';

// `X.from(handle)` validates a handle and then calls the constructor, which must attach to the
// region instead of initialising it; the constructor's public signature cannot say so, so the
// region travels through this slot. A thread runs one constructor prologue at a time, and every
// constructor takes the slot before it constructs anything else (nested structures included).
let pending: RegionHandle | undefined;

/**
 * Hands a validated region to the constructor call that follows (from `from()`).
 * @param region - the checked region, with whatever fields the constructor reads
 */
export function attachNext<H extends RegionHandle>(region: H): void {
  pending = region;
}

/**
 * Takes the region `from()` handed over; call it first in a constructor.
 * @returns the region to attach to, or `undefined` when the constructor builds a new structure
 */
export function takeAttached<H extends RegionHandle = RegionHandle>(): H | undefined {
  const region = pending;
  pending = undefined;
  return region as H | undefined;
}
