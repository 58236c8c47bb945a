/**
 * The benchmark harness API for suites: `defineSuite` declares tasks, targets and optional extra
 * measurements, `SkipSuite` lets a suite bow out when a server is missing, `floorTasks` adds the
 * shared floors to a group.
 * Measuring lives in measure.ts, rendering in report.ts, the command line in run.ts.
 *
 * Every task runs a fixed batch of operations per call, because one call of a sub-microsecond
 * operation is below the timer's resolution and the call overhead of the harness would dominate.
 * Per-operation times are sample times divided by the batch.
 */

/** What a task is measured as: the cheapest comparable operation, our code, or another library. */
export type TaskKind = 'floor' | 'ours' | 'peer';

/** One measured operation. Tasks with the same `group` are compared with each other. */
export interface BenchmarkTask {
  /** Tasks of one group appear in one table and are compared with each other. */
  readonly group: string;
  readonly kind: TaskKind;
  /** Unique within its group; targets refer to tasks by this name. */
  readonly name: string;
  /** How many operations one call of `fn` performs (default 1). */
  readonly batch?: number;
  /** Performs `batch` operations; may return a promise, which is awaited inside the timed window. */
  readonly fn: () => unknown;
  /**
   * Set to `true` when `fn` is not an `async function` but returns a promise. Otherwise tinybench
   * detects it by calling `fn` once, outside any timing.
   */
  readonly async?: boolean;
  /** Runs before the task's warmup phase and again before its measured phase. */
  readonly beforeAll?: () => unknown;
  /** Runs after the task's warmup phase and again after its measured phase. */
  readonly afterAll?: () => unknown;
}

/**
 * A required relation between two tasks: `ratio = median per-op time of task / of vs`.
 * `atMost: 1.5` means "at most 1.5 times as slow"; `atLeast` bounds it from below.
 */
export interface BenchmarkTarget {
  readonly task: string;
  readonly vs: string;
  /** Needed only when both names occur together in several groups and one is meant. */
  readonly group?: string;
  readonly atMost?: number;
  readonly atLeast?: number;
  /** Where the target comes from, e.g. "issue 3". */
  readonly note?: string;
}

/**
 * A number a suite measures itself, beside the per-task timings: a rate, a count, a latency
 * percentile of its own loop. Returned by the suite's `measurements` function.
 */
export interface Measurement {
  /** Unique within the suite; measurement targets refer to it by this name. */
  readonly name: string;
  /** `NaN` (stored as null) when it could not be measured. */
  readonly value: number;
  /** Printed after the value, e.g. `commands/s`, `µs`, `%`. */
  readonly unit: string;
  /** How it was measured, in a few words. */
  readonly note?: string;
}

/**
 * A bound on a measurement: its value, or with `vs` its ratio to another measurement
 * (`value of measurement / value of vs`). Checked after the run; a missing measurement fails it.
 */
export interface MeasurementTarget {
  readonly measurement: string;
  readonly vs?: string;
  readonly atMost?: number;
  readonly atLeast?: number;
  /** Where the target comes from, e.g. "issue 5". */
  readonly note?: string;
}

/** What a suite's `measurements` function is given: the timings measured so far. */
export interface MeasurementContext {
  /**
   * Median per-operation time of a task, in nanoseconds (`NaN` when the task failed).
   * @param task - the task's name
   * @param group - needed when the name occurs in several groups
   */
  p50Ns(task: string, group?: string): number;
}

/** Whether a target bounds a measurement rather than the ratio of two tasks. */
export function isMeasurementTarget(target: BenchmarkTarget | MeasurementTarget): target is MeasurementTarget {
  return 'measurement' in target;
}

/** What a suite file default-exports (through `defineSuite`). */
export interface SuiteDefinition {
  /** File-safe name; results go to benchmarks/results/<name>.json. */
  readonly name: string;
  readonly title: string;
  readonly description?: string;
  /** Runs once before any task is registered; may throw `SkipSuite`. */
  readonly setup?: () => unknown;
  /**
   * Runs once after all tasks, also after a failure, and also when `setup` threw (so it must
   * tolerate a partial setup) or the runner stops the suite at its time limit.
   */
  readonly teardown?: () => unknown;
  readonly tasks: readonly BenchmarkTask[];
  /** Task-ratio targets and, optionally, measurement targets. */
  readonly targets?: readonly (BenchmarkTarget | MeasurementTarget)[];
  /**
   * Extra numbers the suite measures itself (optional). Runs once after every task (in quick
   * mode too, so keep it short there), before `teardown`; the values are stored with the
   * timings, rendered in their own table, and can be bounded by measurement targets. A throw
   * fails the run like a task that throws.
   */
  readonly measurements?: (context: MeasurementContext) => readonly Measurement[] | Promise<readonly Measurement[]>;
  /** Full mode: measured time budget per task in ms (default 1000). */
  readonly time?: number;
  /** Full mode: minimum number of samples per task (default 64). */
  readonly iterations?: number;
}

const suiteBrand: unique symbol = Symbol.for('@cf/benchmarks/suite');

/** A validated suite definition, as returned by `defineSuite`. */
export type Suite = SuiteDefinition & { readonly [suiteBrand]: true };

/**
 * Thrown by a suite's `setup` when it cannot run here (e.g. redis-server is not installed).
 * The runner reports it loudly and, with `--fail-on-skip`, fails.
 */
export class SkipSuite extends Error {
  override readonly name = 'SkipSuite' as const;
}

const KINDS: readonly TaskKind[] = ['floor', 'ours', 'peer'];

function fail(message: string): never {
  throw new TypeError(`defineSuite: ${message}`);
}

function checkPositive(value: unknown, what: string, integer: boolean): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    fail(`${what} must be a positive ${integer ? 'integer' : 'finite number'}, got ${String(value)}`);
  }
}

/** Groups (in declaration order) that hold a task named `name`. */
function groupsOf(tasks: readonly BenchmarkTask[], name: string): string[] {
  return [...new Set(tasks.filter((t) => t.name === name).map((t) => t.group))];
}

/**
 * The groups a target is evaluated in: the given group, else every group holding both tasks,
 * else (both names unique in the suite) the pair across groups, keyed by the task's group.
 * Used by defineSuite (to reject a target that names no task) and by runSuite.
 */
export function resolveTarget(
  tasks: readonly BenchmarkTask[],
  target: BenchmarkTarget,
): { group: string; vsGroup: string }[] {
  const taskGroups = groupsOf(tasks, target.task);
  const vsGroups = groupsOf(tasks, target.vs);
  if (target.group !== undefined) {
    if (!taskGroups.includes(target.group) || !vsGroups.includes(target.group)) {
      fail(`target "${target.task}" vs "${target.vs}": group "${target.group}" does not hold both tasks`);
    }
    return [{ group: target.group, vsGroup: target.group }];
  }
  const shared = taskGroups.filter((g) => vsGroups.includes(g));
  if (shared.length > 0) return shared.map((g) => ({ group: g, vsGroup: g }));
  const [taskGroup] = taskGroups;
  const [vsGroup] = vsGroups;
  if (taskGroups.length === 1 && vsGroups.length === 1 && taskGroup !== undefined && vsGroup !== undefined) {
    return [{ group: taskGroup, vsGroup }];
  }
  return fail(`target "${target.task}" vs "${target.vs}": no task of that name, or ambiguous; name a group`);
}

/**
 * Declares a benchmark suite and checks it: unique task names per group, positive integer
 * batches, targets that name existing tasks and carry `atMost` and/or `atLeast`.
 *
 * @param definition - the suite; see `SuiteDefinition`.
 * @returns the same definition, validated and frozen, for `export default`.
 * @throws TypeError when the definition is malformed, naming the offending field.
 * @example
 * export default defineSuite({ name: 'x', title: 'X', tasks: [{ group: 'g', kind: 'floor', name: 'noop', fn: () => {} }] });
 */
export function defineSuite(definition: SuiteDefinition): Suite {
  if (typeof definition !== 'object' || definition === null) fail('the definition must be an object');
  if (typeof definition.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(definition.name)) {
    fail(`name must match /^[a-z0-9][a-z0-9-]*$/ (it names the results file), got ${String(definition.name)}`);
  }
  if (typeof definition.title !== 'string' || definition.title === '') fail('title must be a non-empty string');
  if (!Array.isArray(definition.tasks) || definition.tasks.length === 0) fail('tasks must be a non-empty array');
  if (definition.time !== undefined) checkPositive(definition.time, 'time', false);
  if (definition.iterations !== undefined) checkPositive(definition.iterations, 'iterations', true);
  const seen = new Set<string>();
  for (const task of definition.tasks) {
    const label = `task "${String(task?.name)}"`;
    if (typeof task.group !== 'string' || task.group === '') fail(`${label}: group must be a non-empty string`);
    if (typeof task.name !== 'string' || task.name === '') fail(`${label}: name must be a non-empty string`);
    if (!KINDS.includes(task.kind)) fail(`${label}: kind must be one of ${KINDS.join(', ')}, got ${String(task.kind)}`);
    if (typeof task.fn !== 'function') fail(`${label}: fn must be a function`);
    if (task.batch !== undefined) checkPositive(task.batch, `${label}: batch`, true);
    const key = `${task.group}\u0000${task.name}`;
    if (seen.has(key)) fail(`${label} occurs twice in group "${task.group}"`);
    seen.add(key);
  }
  if (definition.measurements !== undefined && typeof definition.measurements !== 'function') {
    fail('measurements must be a function');
  }
  for (const target of definition.targets ?? []) {
    const label = isMeasurementTarget(target)
      ? `measurement target "${String(target.measurement)}"`
      : `target "${target.task}" vs "${target.vs}"`;
    if (target.atMost === undefined && target.atLeast === undefined) fail(`${label} needs atMost and/or atLeast`);
    if (target.atMost !== undefined) checkPositive(target.atMost, `${label}: atMost`, false);
    if (target.atLeast !== undefined) checkPositive(target.atLeast, `${label}: atLeast`, false);
    if (isMeasurementTarget(target)) {
      // Measurement names are known only once the suite ran; a missing one fails the target then.
      if (typeof target.measurement !== 'string' || target.measurement === '') fail(`${label}: name a measurement`);
      if (definition.measurements === undefined) fail(`${label}: the suite has no measurements function`);
    } else {
      resolveTarget(definition.tasks, target);
    }
  }
  return Object.freeze({ ...definition, [suiteBrand]: true as const });
}

/**
 * Tells whether a module's default export came from `defineSuite`.
 *
 * @param value - anything.
 * @returns true for a suite.
 */
export function isSuite(value: unknown): value is Suite {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[suiteBrand] === true;
}

/**
 * The three floors every later suite compares against, as tasks of a given group.
 *
 * @param group - the group the floors join.
 * @param batch - operations per call of the async floors (default 1000); the flag floor does ten
 *   times as many, because one check-and-set costs about a nanosecond.
 * @returns the floor tasks, named 'await resolved promise', 'await empty async call' and
 *   'sync boolean flag check+set' (use these names in targets).
 * @example
 * tasks: [...floorTasks('uncontended acquire+release'), { group: 'uncontended acquire+release', kind: 'ours', ... }]
 */
export function floorTasks(group: string, batch = 1000): BenchmarkTask[] {
  const resolved = Promise.resolve();
  const empty = async (): Promise<void> => {};
  // An object field, not a local, so the optimizer cannot fold the check-and-set away.
  const state = { locked: false, count: 0 };
  const flagBatch = batch * 10;
  return [
    {
      group,
      kind: 'floor',
      name: 'await resolved promise',
      batch,
      fn: async () => {
        for (let i = 0; i < batch; i++) await resolved;
      },
    },
    {
      group,
      kind: 'floor',
      name: 'await empty async call',
      batch,
      fn: async () => {
        for (let i = 0; i < batch; i++) await empty();
      },
    },
    {
      group,
      kind: 'floor',
      name: 'sync boolean flag check+set',
      batch: flagBatch,
      fn: () => {
        for (let i = 0; i < flagBatch; i++) {
          if (!state.locked) {
            state.locked = true;
            state.count++;
            state.locked = false;
          }
        }
        return state.count;
      },
    },
  ];
}
