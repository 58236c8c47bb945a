import { checkName, invalidArgument } from '@cf/core';

/** The default key prefix. */
export const DEFAULT_PREFIX = 'cf:';

/** Longest resource name accepted, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 1024;

/** Longest key prefix accepted. */
export const MAX_PREFIX_LENGTH = 256;

// With the `u` flag a surrogate pair is one code point, so only unpaired halves match.
const LONE_SURROGATE = /\p{Cs}/u;

/** Which primitive a key belongs to; part of every key so a lock and a semaphore of one name never share state. */
export type KeyKind = 'lock' | 'semaphore' | 'rwlock' | 'election';

/**
 * Checks a resource name: a non-empty, well-formed string of at most 1024 characters. Any other
 * character is allowed (quotes, newlines, `*`, `{`, Lua code): names only ever travel as data.
 * Lone surrogates are refused because UTF-8 encoding would turn two different names into the
 * same key.
 */
export function checkResourceName(value: unknown, argument: string): string {
  checkName(value, argument, MAX_NAME_LENGTH);
  if (LONE_SURROGATE.test(value as string)) {
    throw invalidArgument('range', argument, value, 'a well-formed Unicode string (no lone surrogates)');
  }
  return value as string;
}

/** Checks a key prefix: a well-formed string of at most 256 characters (empty allowed). */
export function checkPrefix(value: unknown, argument: string): string {
  if (value === undefined) return DEFAULT_PREFIX;
  const allowed = `a well-formed string of at most ${MAX_PREFIX_LENGTH} characters`;
  if (typeof value !== 'string') throw invalidArgument('type', argument, value, allowed);
  if (value.length > MAX_PREFIX_LENGTH || LONE_SURROGATE.test(value))
    throw invalidArgument('range', argument, value, allowed);
  return value;
}

/**
 * The base of one resource's keys: `<prefix><kind>:{<name>}`. Every key of the resource is this
 * base plus a fixed suffix, so the text up to and including the closing `}` is shared and Redis
 * Cluster hashes all of them to one slot, whatever `{`/`}` the name itself contains. The fixed
 * suffixes contain no `}`, so two different names never produce the same key.
 */
export function resourceBase(prefix: string, kind: KeyKind, name: string): string {
  return `${prefix}${kind}:{${name}}`;
}

/** Keys of a lock-like resource: the holder's key, the fence counter and the release channel. */
export interface LockKeys {
  readonly lock: string;
  readonly fence: string;
  readonly channel: string;
}

/**
 * The keys of a `RedisLock` or `Redlock` resource, frozen.
 * @param prefix - key prefix
 * @param name - resource name
 */
export function lockKeys(prefix: string, name: string): LockKeys {
  const base = resourceBase(prefix, 'lock', name);
  return Object.freeze({ lock: `${base}:lock`, fence: `${base}:fence`, channel: `${base}:released` });
}
