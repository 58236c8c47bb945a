import { checkInteger, invalidArgument } from '@cf/core';

const INT32 = 'an integer from -2147483648 to 2147483647';
const UINT32 = 'an integer from 0 to 4294967295';
const INT64 = 'a bigint from -(2n ** 63n) to 2n ** 63n - 1n';
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

/** Checks an int32 argument; `(v | 0) === v` rejects NaN, fractions and out-of-range values in one step. */
export function checkInt32(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidArgument('type', name, value, INT32);
  if ((value | 0) !== value) throw invalidArgument('range', name, value, INT32);
  return value;
}

/** Checks a uint32 argument. */
export function checkUint32(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidArgument('type', name, value, UINT32);
  if (value >>> 0 !== value) throw invalidArgument('range', name, value, UINT32);
  return value;
}

/** Checks a signed 64-bit bigint argument. */
export function checkInt64(value: unknown, name: string): bigint {
  if (typeof value !== 'bigint') throw invalidArgument('type', name, value, INT64);
  if (value < MIN_INT64 || value > MAX_INT64) throw invalidArgument('range', name, value, INT64);
  return value;
}

/** Checks a boolean argument. */
export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgument('type', name, value, 'a boolean');
  return value;
}

/** Checks a notify count: a non-negative integer or `Infinity`. */
export function checkCount(count: unknown, name = 'count'): number {
  if (count === Number.POSITIVE_INFINITY) return count;
  return checkInteger(count, name, 0, 2 ** 31 - 1);
}

/** Checks an index into an array of `length` elements. */
export function checkIndex(index: unknown, length: number, name = 'index'): number {
  return checkInteger(index, name, 0, length - 1);
}

const UINT32_DELTA = 'an integer from -4294967295 to 4294967295';

/** Checks a delta added to a uint32 (negative deltas subtract, wrapping at 32 bits). */
export function checkUint32Delta(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidArgument('type', name, value, UINT32_DELTA);
  if (!Number.isInteger(value) || value > 0xffffffff || value < -0xffffffff) {
    throw invalidArgument('range', name, value, UINT32_DELTA);
  }
  return value;
}
