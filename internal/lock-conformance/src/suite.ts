import { afterAll, beforeAll, describe, it } from 'vitest';
import { exclusionCases } from './cases/exclusion.js';
import { leaseCases } from './cases/lease.js';
import { orderCases } from './cases/order.js';
import type { CaseDefinition } from './cases/types.js';
import { waitingCases } from './cases/waiting.js';
import { CaseContext } from './context.js';
import { type LockConformanceOptions, resolveOptions } from './options.js';

const definitions: readonly CaseDefinition[] = [...exclusionCases, ...orderCases, ...waitingCases, ...leaseCases];

/**
 * One contract check bound to a lock: `run()` resolves when the lock passes and rejects with a
 * `ConformanceFailure` (its message says what the contract required) when it does not.
 * @example
 * ```ts
 * for (const check of lockConformanceCases({ createLock })) await check.run();
 * ```
 */
export interface ConformanceCase {
  /** Stable id, e.g. `mutual-exclusion`, `release-idempotent`. */
  readonly id: string;
  /** The `describe` block the case belongs to, e.g. `timeout`. */
  readonly group: string;
  /** What the case checks, used as the `it` title. */
  readonly title: string;
  /** Milliseconds the case may take, scaled; used as the `it` timeout. */
  readonly timeout: number;
  /** Runs the check against fresh resources, releasing whatever it still holds at the end. */
  run(): Promise<void>;
}

/**
 * Every contract check that applies to a lock with these options, as plain async functions, so
 * that a test can run one directly (the suite's own tests use this to show that each check fails
 * against a broken lock). Does not run `setup`/`teardown`.
 * @param options - how to create the lock and its timing and ordering flags
 * @returns the checks, in suite order
 * @throws TypeError / RangeError (`ERR_CF_INVALID_ARG`) for invalid options
 * @example
 * ```ts
 * const check = lockConformanceCases({ createLock: () => brokenLock }).find((c) => c.id === 'mutual-exclusion')!;
 * await expect(check.run()).rejects.toThrow(ConformanceFailure);
 * ```
 */
export function lockConformanceCases(options: LockConformanceOptions): ConformanceCase[] {
  const resolved = resolveOptions(options);
  return definitions
    .filter((definition) => definition.when?.(resolved) ?? true)
    .map((definition) => ({
      id: definition.id,
      group: definition.group,
      title: definition.title,
      timeout: Math.ceil(definition.budget * resolved.scale) + 5000,
      run: async () => {
        const ctx = new CaseContext(resolved, definition.id);
        try {
          await definition.body(ctx);
        } finally {
          await ctx.cleanup();
        }
      },
    }));
}

/** Ids of every case the suite can run, whatever the flags. */
export const conformanceCaseIds: readonly string[] = definitions.map((definition) => definition.id);

/**
 * Registers the Lock contract tests as vitest `describe`/`it` blocks: mutual exclusion under 100
 * concurrent tasks, FIFO and priority order, `tryAcquire` never waiting, timeouts, aborts,
 * idempotent release, `lease.signal`, `await using`, fencing tokens and argument validation.
 * Call it at the top level of a test file.
 * @param name - what is tested, shown in the test names
 * @param options - how to create the lock, its timing and ordering flags, setup and teardown
 * @throws TypeError / RangeError (`ERR_CF_INVALID_ARG`) for invalid options
 * @example
 * ```ts
 * const mutexes = new Map<string, Mutex>();
 * describeLockConformance('Mutex', {
 *   createLock: (resource) => mutexes.get(resource) ?? mutexes.set(resource, new Mutex()).get(resource)!,
 * });
 * ```
 */
export function describeLockConformance(name: string, options: LockConformanceOptions): void {
  const cases = lockConformanceCases(options);
  // Starting servers (the usual setup) takes about as long whatever the scale.
  const hookTimeout = 120_000;
  describe(`${name}: Lock conformance`, () => {
    if (options.setup !== undefined) beforeAll(options.setup, hookTimeout);
    if (options.teardown !== undefined) afterAll(options.teardown, hookTimeout);
    for (const group of new Set(cases.map((c) => c.group))) {
      describe(group, () => {
        for (const c of cases.filter((x) => x.group === group)) it(c.title, () => c.run(), c.timeout);
      });
    }
  });
}
