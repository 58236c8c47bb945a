import { checkName, invalidArgument } from '@cf/core';
import type { RawClient } from './client.js';

/** Longest name accepted, in characters. */
export const MAX_NAME_LENGTH = 1024;

const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Checks a primitive's name: a non-empty string of at most 1024 characters without `/` or NUL.
 * A `/` would nest one primitive's keys inside another's prefix (`a/` contains `a/b/...`, so the
 * lock `a` would count the waiters of `a/b`); NUL is etcd's "from this key on" range marker.
 * @param value - the argument
 * @param name - its name, for the message
 */
export function checkPrimitiveName(value: unknown, name = 'name'): string {
  checkName(value, name, MAX_NAME_LENGTH);
  const text = value as string;
  if (text.includes('/') || text.includes('\0')) {
    throw invalidArgument(
      'range',
      name,
      value,
      `a non-empty string of at most ${MAX_NAME_LENGTH} characters without "/" or NUL (use options.prefix for a key prefix)`,
    );
  }
  return text;
}

/**
 * Checks `options.prefix`: a string without NUL, at most 1024 characters (may be empty).
 * @param value - the argument
 */
export function checkPrefix(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw invalidArgument('type', 'options.prefix', value, 'a string');
  if (value.length > MAX_NAME_LENGTH || value.includes('\0')) {
    throw invalidArgument(
      'range',
      'options.prefix',
      value,
      `a string of at most ${MAX_NAME_LENGTH} characters without NUL`,
    );
  }
  return value;
}

/**
 * The key prefix `<client namespace><prefix><name>/` under which a primitive keeps its keys.
 * @param client - raw client (its namespace prefix, if any, is prepended)
 * @param prefix - `options.prefix`
 * @param name - the primitive's name
 */
export function primitivePrefix(client: RawClient, prefix: string, name: string): Buffer {
  return Buffer.concat([client.prefix ?? EMPTY, Buffer.from(`${prefix}${name}/`, 'utf8')]);
}

/**
 * The exclusive end of the range of keys starting with `prefix` (etcd's `GetPrefixRangeEnd`).
 * @param prefix - a key prefix
 */
export function rangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff: every key from `prefix` on.
  return Buffer.from([0]);
}

/** Joins a prefix and a suffix. */
export function join(prefix: Buffer, suffix: string): Buffer {
  return Buffer.concat([prefix, Buffer.from(suffix, 'utf8')]);
}

/**
 * A lease ID (decimal, as etcd3 returns it) in lowercase hex, as the Go client formats it.
 * @param id - decimal lease ID
 */
export function leaseHex(id: string): string {
  return BigInt(id).toString(16);
}

/** Shows a key in messages (UTF-8, invalid bytes replaced). */
export function showKey(key: Buffer): string {
  return key.toString('utf8');
}

export { EMPTY };
