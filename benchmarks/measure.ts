/**
 * Measuring: runs a suite's groups with tinybench, turns samples into per-operation statistics,
 * ratios and target verdicts, and writes them as JSON.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { Bench, type FnOptions } from 'tinybench';
import {
  type BenchmarkTarget,
  isMeasurementTarget,
  type Measurement,
  type MeasurementTarget,
  resolveTarget,
  type Suite,
  type TaskKind,
} from './harness.ts';

/** Per-operation statistics of one task, in nanoseconds per operation. */
export interface TaskResult {
  readonly group: string;
  readonly kind: TaskKind;
  readonly name: string;
  readonly batch: number;
  /** Number of timed calls of `fn`, each doing `batch` operations. */
  readonly samples: number;
  readonly opsPerSecond: number;
  readonly meanNs: number;
  readonly p50Ns: number;
  readonly p99Ns: number;
  readonly minNs: number;
  readonly maxNs: number;
  /** Relative margin of error of the mean, in percent. */
  readonly rmePercent: number;
  /** Median ratio to each floor and peer of the group: `this.p50Ns / reference.p50Ns`. */
  readonly ratios: Readonly<Record<string, number>>;
  /** Set when `fn` threw; the statistics are then NaN. */
  readonly error?: string;
}

export interface TaskTargetResult extends BenchmarkTarget {
  readonly group: string;
  /** `null` when one of the two tasks failed. */
  readonly ratio: number | null;
  readonly pass: boolean;
}

export interface MeasurementTargetResult extends MeasurementTarget {
  /** The measurement's value, or its ratio to `vs`; `null` when missing or not a number. */
  readonly ratio: number | null;
  readonly pass: boolean;
}

/** A checked target: on two tasks' medians, or on a measurement. */
export type TargetResult = TaskTargetResult | MeasurementTargetResult;

export interface MachineInfo {
  readonly cpu: string;
  readonly cpus: number;
  readonly totalMemoryBytes: number;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
  readonly osRelease: string;
  /** One-minute load average when the suite started: a busy machine skews everything. */
  readonly loadAverage: number;
}

export interface SuiteResult {
  readonly suite: string;
  readonly title: string;
  readonly description?: string;
  /** ISO 8601 start time. */
  readonly date: string;
  readonly mode: 'full' | 'quick';
  readonly machine: MachineInfo;
  readonly settings: { readonly timeMs: number; readonly warmupTimeMs: number; readonly iterations: number };
  readonly durationMs: number;
  readonly groups: readonly { readonly name: string; readonly tasks: readonly TaskResult[] }[];
  /** What the suite's `measurements` function returned (absent when it has none). */
  readonly measurements?: readonly Measurement[];
  /** Set when the `measurements` function threw. */
  readonly measurementsError?: string;
  readonly targets: readonly TargetResult[];
}

/** Facts about this machine that a reader needs to compare results. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    totalMemoryBytes: os.totalmem(),
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    osRelease: os.release(),
    loadAverage: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
  };
}

export interface RunOptions {
  /** A few seconds per suite: small time budgets and few samples (CI). */
  readonly quick: boolean;
  /** Called before each group runs, for progress output. */
  readonly onGroup?: (group: string) => void;
}

const NS_PER_MS = 1e6;

function median(result: Pick<TaskResult, 'error' | 'p50Ns'> | undefined): number {
  return result?.error === undefined ? (result?.p50Ns ?? Number.NaN) : Number.NaN;
}

/**
 * Runs every group of a suite in this process: setup, then each group's tasks in declaration
 * order, then the suite's `measurements` function if it has one, then teardown (always).
 *
 * @param suite - from `defineSuite`.
 * @param options - quick or full mode.
 * @returns the statistics, ratios, measurements and target verdicts; a task that threw carries
 *   `error`, a `measurements` function that threw leaves `measurementsError`.
 * @throws SkipSuite from the suite's setup, or whatever setup/teardown threw.
 */
export async function runSuite(suite: Suite, options: RunOptions): Promise<SuiteResult> {
  const started = performance.now();
  const date = new Date().toISOString();
  const machine = machineInfo();
  const settings = options.quick
    ? { timeMs: 100, warmupTimeMs: 20, iterations: 4, warmupIterations: 1 }
    : { timeMs: suite.time ?? 1000, warmupTimeMs: 250, iterations: suite.iterations ?? 64, warmupIterations: 16 };
  const gc = (globalThis as { gc?: () => void }).gc;
  const groups: { name: string; tasks: TaskResult[] }[] = [];
  let measurements: readonly Measurement[] | undefined;
  let measurementsError: string | undefined;
  try {
    // Inside the try: a setup that fails halfway (one of three servers started) still gets its teardown.
    await suite.setup?.();
    const groupNames = [...new Set(suite.tasks.map((t) => t.group))];
    for (const groupName of groupNames) {
      options.onGroup?.(groupName);
      const tasks = suite.tasks.filter((t) => t.group === groupName);
      const bench = new Bench({
        name: groupName,
        time: settings.timeMs,
        warmupTime: settings.warmupTimeMs,
        iterations: settings.iterations,
        warmupIterations: settings.warmupIterations,
        throws: false,
        // Collect the previous task's garbage before each phase so it is not billed to the next.
        setup: () => gc?.(),
      });
      for (const task of tasks) {
        const fnOptions: FnOptions = {};
        if (task.async !== undefined) fnOptions.async = task.async;
        const { beforeAll, afterAll } = task;
        if (beforeAll !== undefined) fnOptions.beforeAll = async () => void (await beforeAll());
        if (afterAll !== undefined) fnOptions.afterAll = async () => void (await afterAll());
        bench.add(task.name, task.fn, fnOptions);
      }
      await bench.run();
      const measured: TaskResult[] = tasks.map((task, index) => {
        const result = bench.tasks[index]?.result;
        const batch = task.batch ?? 1;
        const base = { group: groupName, kind: task.kind, name: task.name, batch, ratios: {} };
        if (result === undefined || !('latency' in result)) {
          const error = result !== undefined && 'error' in result ? result.error : undefined;
          const nan = Number.NaN;
          return {
            ...base,
            samples: 0,
            opsPerSecond: nan,
            meanNs: nan,
            p50Ns: nan,
            p99Ns: nan,
            minNs: nan,
            maxNs: nan,
            rmePercent: nan,
            error: error?.stack ?? String(error ?? `task ended in state ${result?.state ?? 'unknown'}`),
          };
        }
        const { latency } = result;
        const perOp = (ms: number): number => (ms * NS_PER_MS) / batch;
        return {
          ...base,
          samples: latency.samplesCount,
          opsPerSecond: (batch * 1000) / latency.mean,
          meanNs: perOp(latency.mean),
          p50Ns: perOp(latency.p50),
          p99Ns: perOp(latency.p99),
          minNs: perOp(latency.min),
          maxNs: perOp(latency.max),
          rmePercent: latency.rme,
        };
      });
      const references = measured.filter((t) => t.kind !== 'ours');
      const withRatios = measured.map(({ ratios: _none, ...t }) => ({
        ...t,
        ratios: Object.fromEntries(
          references.filter((r) => r.name !== t.name).map((r) => [r.name, median(t) / median(r)] as const),
        ),
      }));
      groups.push({ name: groupName, tasks: withRatios });
    }
    if (suite.measurements !== undefined) {
      options.onGroup?.('measurements');
      const p50Ns = (task: string, group?: string): number =>
        median(
          groups
            .filter((g) => group === undefined || g.name === group)
            .flatMap((g) => g.tasks)
            .find((t) => t.name === task),
        );
      try {
        measurements = [...(await suite.measurements({ p50Ns }))];
      } catch (error) {
        measurementsError = error instanceof Error ? (error.stack ?? error.message) : String(error);
      }
    }
  } finally {
    await suite.teardown?.();
  }
  const find = (group: string, name: string): TaskResult | undefined =>
    groups.find((g) => g.name === group)?.tasks.find((t) => t.name === name);
  const measured = (name: string | undefined): number =>
    name === undefined ? 1 : (measurements?.find((m) => m.name === name)?.value ?? Number.NaN);
  const check = (ratio: number, bounds: { atMost?: number; atLeast?: number }): boolean =>
    Number.isFinite(ratio) &&
    (bounds.atMost === undefined || ratio <= bounds.atMost) &&
    (bounds.atLeast === undefined || ratio >= bounds.atLeast);
  const targets: TargetResult[] = (suite.targets ?? []).flatMap((target): TargetResult[] => {
    if (isMeasurementTarget(target)) {
      const ratio = measured(target.measurement) / measured(target.vs);
      return [{ ...target, ratio: Number.isFinite(ratio) ? ratio : null, pass: check(ratio, target) }];
    }
    return resolveTarget(suite.tasks, target).map(({ group, vsGroup }) => {
      const ratio = median(find(group, target.task)) / median(find(vsGroup, target.vs));
      return { ...target, group, ratio: Number.isFinite(ratio) ? ratio : null, pass: check(ratio, target) };
    });
  });
  return {
    suite: suite.name,
    title: suite.title,
    ...(suite.description === undefined ? {} : { description: suite.description }),
    date,
    mode: options.quick ? 'quick' : 'full',
    machine,
    settings: { timeMs: settings.timeMs, warmupTimeMs: settings.warmupTimeMs, iterations: settings.iterations },
    durationMs: Math.round(performance.now() - started),
    groups,
    ...(measurements === undefined ? {} : { measurements }),
    ...(measurementsError === undefined ? {} : { measurementsError }),
    targets,
  };
}

/** Where results live: full runs in results/, quick runs in results/quick/ (gitignored). */
export const RESULTS_DIR: URL = new URL('./results/', import.meta.url);

/**
 * Writes a result as JSON: results/<suite>.json for full runs, results/quick/<suite>.json for quick ones,
 * so a quick run never overwrites the committed full results.
 *
 * @param result - from `runSuite`.
 * @returns the path written.
 */
export async function writeResult(result: SuiteResult): Promise<string> {
  const dir = result.mode === 'quick' ? new URL('./quick/', RESULTS_DIR) : RESULTS_DIR;
  await mkdir(dir, { recursive: true });
  const file = new URL(`${result.suite}.json`, dir);
  // NaN is not JSON; failed tasks carry `error` and null statistics instead.
  await writeFile(file, `${JSON.stringify(result, (_key, value) => (Number.isNaN(value) ? null : value), 2)}\n`);
  return file.pathname;
}
