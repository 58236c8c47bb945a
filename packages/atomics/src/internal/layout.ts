import { checkSize, corruptRegion, type RegionHandle } from '../region.js';

// The common layout of the rings and the stack: a 64-byte header line (magic, element type,
// capacity, a flag word, and two event counts: "not empty" at byte 16 and "not full" at byte 32),
// then their own lines.

/** Int32 index of the header's magic number. */
export const MAGIC = 0;
/** Int32 index of the element type code. */
export const TYPE = 1;
/** Int32 index of the capacity. */
export const CAPACITY = 2;
/** Int32 index of the flag word (closed). */
export const FLAGS = 3;
/** Byte offset of the "not empty" event count. */
export const NOT_EMPTY_OFFSET = 16;
/** Byte offset of the "not full" event count. */
export const NOT_FULL_OFFSET = 32;
/** Bytes of the header line. */
export const HEADER_BYTES = 64;
/** Largest capacity of a ring or stack. */
export const MAX_CAPACITY: number = 2 ** 28;

/** Reads and checks a header written by a constructor, for `from(handle)`. */
export function readHeader(
  region: RegionHandle,
  magic: number,
  what: string,
): { readonly typeCode: number; readonly capacity: number } {
  const header = new Int32Array(region.buffer, region.byteOffset, 4);
  if (Atomics.load(header, MAGIC) !== magic) {
    throw corruptRegion('handle', 'header', header[MAGIC], `the region of a ${what}`);
  }
  return { typeCode: header[TYPE]!, capacity: header[CAPACITY]! };
}

/** Checks a requested capacity. */
export function checkCapacity(capacity: unknown, min = 1): number {
  return checkSize(capacity, 'capacity', min, MAX_CAPACITY);
}
