import { checkFunction, checkOptionsObject, invalidArgument, type Lock } from '@cf/core';

/**
 * How the suite reaches the locks under test.
 * @example
 * ```ts
 * const options: LockConformanceOptions = { createLock: (resource) => new RedisLock(client, resource, { ttl: 2000 }), timing: { scale: 20 } };
 * ```
 */
export interface LockConformanceOptions {
  /**
   * Returns a handle on the lock named `resource`. Called several times with the same resource it
   * must return handles on the same underlying lock (distributed: new objects or clients on the
   * same key), so that exclusion between handles can be tested. Different resources are
   * independent locks. The suite uses a fresh resource name for every check.
   */
  readonly createLock: (resource: string) => Lock | Promise<Lock>;
  /** Timing: `scale` multiplies every wait, timeout and deadline of the suite (default 1; distributed locks: about 20). */
  readonly timing?: { readonly scale?: number | undefined } | undefined;
  /** Whether waiters of one handle with equal priority are served in arrival order (default `true`). */
  readonly fifo?: boolean | undefined;
  /** Whether `priority` orders waiters (default `true`). */
  readonly priorities?: boolean | undefined;
  /** Runs once before the suite (start servers, connect clients). */
  readonly setup?: (() => Promise<void>) | undefined;
  /** Runs once after the suite. */
  readonly teardown?: (() => Promise<void>) | undefined;
}

/** Options after validation and defaults. */
export interface ResolvedOptions {
  readonly createLock: (resource: string) => Lock | Promise<Lock>;
  readonly scale: number;
  readonly fifo: boolean;
  readonly priorities: boolean;
}

/**
 * Validates the options once, at the boundary, and fills in the defaults.
 * @param options - what the package passed
 * @returns the resolved options
 * @throws TypeError / RangeError (`ERR_CF_INVALID_ARG`) naming the bad field
 */
export function resolveOptions(options: LockConformanceOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('type', 'options', options, 'an object with createLock');
  }
  checkFunction(options.createLock, 'options.createLock');
  checkOptionsObject(options.timing, 'options.timing');
  const scale = options.timing?.scale ?? 1;
  if (typeof scale !== 'number')
    throw invalidArgument('type', 'options.timing.scale', scale, 'a number from 0.1 to 1000');
  if (!(scale >= 0.1 && scale <= 1000)) {
    throw invalidArgument('range', 'options.timing.scale', scale, 'a number from 0.1 to 1000');
  }
  for (const flag of ['fifo', 'priorities'] as const) {
    const value = options[flag];
    if (value !== undefined && typeof value !== 'boolean') {
      throw invalidArgument('type', `options.${flag}`, value, 'a boolean or undefined');
    }
  }
  for (const hook of ['setup', 'teardown'] as const) {
    if (options[hook] !== undefined) checkFunction(options[hook], `options.${hook}`);
  }
  return {
    createLock: options.createLock,
    scale,
    fifo: options.fifo ?? true,
    priorities: options.priorities ?? true,
  };
}
