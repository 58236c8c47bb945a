import { checkOptionsObject, invalidArgument, MAX_TIMEOUT } from '@cf/core';
import type { LeaseTiming } from '../redis-lease.js';
import { checkPrefix } from './keys.js';

/** Options every Redis primitive accepts. */
export interface CommonOptions {
  /** Time to live of a hold on the server, in ms; an integer from 10 to 2147483647 (default 10000). */
  readonly ttl?: number | undefined;
  /** Prefix of every key (default `cf:`). */
  readonly prefix?: string | undefined;
  /** Extend holds automatically while they are held (default `true`). */
  readonly watchdog?: boolean | undefined;
  /** Watchdog period in ms (default `ttl / 3`); must be shorter than the validity `ttl - drift`. */
  readonly extendInterval?: number | undefined;
  /** Clock drift allowance as a fraction of ttl (default 0.01); validity ends `ttl * driftFactor + 2` ms early. */
  readonly driftFactor?: number | undefined;
  /**
   * Longest pause between attempts while waiting, in ms (default 5000). Waiters are woken by the
   * release announcement and retry at the holder's expiry anyway; this only bounds how long a
   * lost announcement can delay them.
   */
  readonly pollInterval?: number | undefined;
}

/** Defaults, in ms. */
export const DEFAULT_TTL = 10_000;
export const DEFAULT_POLL_INTERVAL = 5000;
export const DEFAULT_DRIFT_FACTOR = 0.01;
const MIN_TTL = 10;

/** Validated common options. */
export interface ResolvedOptions {
  readonly ttl: number;
  readonly prefix: string;
  readonly timing: LeaseTiming;
  readonly pollInterval: number;
}

function checkNumber(
  value: unknown,
  name: string,
  min: number,
  max: number,
  integer: boolean,
  allowed: string,
): number {
  if (typeof value !== 'number') throw invalidArgument('type', name, value, allowed);
  if (!(value >= min && value <= max) || (integer && !Number.isInteger(value)))
    throw invalidArgument('range', name, value, allowed);
  return value;
}

/**
 * Validates the options object once at construction; nothing reaches Redis before this passes.
 * @param options - the user's options
 * @param name - the argument's name for messages
 */
export function resolveOptions(options: unknown, name = 'options'): ResolvedOptions {
  checkOptionsObject(options, name);
  const o = (options ?? {}) as CommonOptions;
  const ttl =
    o.ttl === undefined
      ? DEFAULT_TTL
      : checkNumber(
          o.ttl,
          `${name}.ttl`,
          MIN_TTL,
          MAX_TIMEOUT,
          true,
          `an integer number of milliseconds from ${MIN_TTL} to ${MAX_TIMEOUT}`,
        );
  const prefix = checkPrefix(o.prefix, `${name}.prefix`);
  if (o.watchdog !== undefined && typeof o.watchdog !== 'boolean') {
    throw invalidArgument('type', `${name}.watchdog`, o.watchdog, 'a boolean');
  }
  const driftFactor =
    o.driftFactor === undefined
      ? DEFAULT_DRIFT_FACTOR
      : checkNumber(o.driftFactor, `${name}.driftFactor`, 0, 0.5, false, 'a number from 0 to 0.5');
  const drift = Math.ceil(ttl * driftFactor) + 2;
  const validity = ttl - drift;
  let extendInterval = 0;
  if (o.watchdog !== false) {
    extendInterval =
      o.extendInterval === undefined
        ? Math.max(1, Math.floor(ttl / 3))
        : checkNumber(
            o.extendInterval,
            `${name}.extendInterval`,
            1,
            Math.max(1, validity - 1),
            false,
            `a number of milliseconds from 1 to ${Math.max(1, validity - 1)} (shorter than the validity ttl - drift)`,
          );
  } else if (o.extendInterval !== undefined) {
    throw invalidArgument('type', `${name}.extendInterval`, o.extendInterval, 'undefined when watchdog is false');
  }
  const pollInterval =
    o.pollInterval === undefined
      ? DEFAULT_POLL_INTERVAL
      : checkNumber(
          o.pollInterval,
          `${name}.pollInterval`,
          1,
          MAX_TIMEOUT,
          false,
          `a number of milliseconds from 1 to ${MAX_TIMEOUT}`,
        );
  return { ttl, prefix, timing: { ttl, drift, extendInterval }, pollInterval };
}
