/**
 * Markdown rendering of suite results, for the console and for docs/benchmarks.md.
 *
 * Run directly (`tsx benchmarks/report.ts`) to regenerate docs/benchmarks.md from the committed
 * full results without measuring anything.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Measurement } from './harness.ts';
import { RESULTS_DIR, type SuiteResult, type TargetResult, type TaskResult } from './measure.ts';

/** The generated document. */
export const DOC_FILE: URL = new URL('../docs/benchmarks.md', import.meta.url);

/** Statistics read back from JSON may be null where a task failed (JSON has no NaN). */
type Num = number | null | undefined;

function valid(value: Num): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function significant(value: number, digits = 3): string {
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toFixed(Math.min(decimals, 6));
}

/**
 * Formats a duration in nanoseconds with a unit that keeps three significant digits.
 *
 * @param ns - nanoseconds, or null/NaN for a failed task.
 * @returns e.g. "41.2 ns", "1.27 µs", "3.40 ms"; "n/a" when not a number.
 */
export function formatDuration(ns: Num): string {
  if (!valid(ns)) return 'n/a';
  if (ns < 1e3) return `${significant(ns)} ns`;
  if (ns < 1e6) return `${significant(ns / 1e3)} µs`;
  if (ns < 1e9) return `${significant(ns / 1e6)} ms`;
  return `${significant(ns / 1e9)} s`;
}

/**
 * Formats operations per second with thousands separators.
 *
 * @param ops - operations per second.
 * @returns e.g. "24,310,000"; "n/a" when not a number.
 */
export function formatOps(ops: Num): string {
  if (!valid(ops)) return 'n/a';
  return Math.round(ops).toLocaleString('en-US');
}

/**
 * Formats a ratio of per-operation median times.
 *
 * @param ratio - task median / reference median.
 * @returns e.g. "1.42x", "0.125x"; "n/a" when not a number.
 */
export function formatRatio(ratio: Num): string {
  return valid(ratio) ? `${significant(ratio)}x` : 'n/a';
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function row(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

/**
 * Renders one group as a Markdown table: per-operation statistics and the median ratio of each
 * task to every floor and peer of the group.
 *
 * @param name - the group name.
 * @param tasks - the group's results.
 * @returns Markdown lines.
 */
export function renderGroup(name: string, tasks: readonly TaskResult[]): string[] {
  const references = tasks.filter((t) => t.kind !== 'ours').map((t) => t.name);
  const header = ['task', 'kind', 'ops/s', 'mean', 'p50', 'p99', 'samples', ...references.map((r) => `vs ${r}`)];
  const lines = [`#### ${cell(name)}`, '', row(header), row(header.map((_, i) => (i < 2 ? '---' : '---:')))];
  for (const t of tasks) {
    const ratios = references.map((r) => (r === t.name ? '1x' : formatRatio(t.ratios[r])));
    const name = t.batch > 1 ? `${t.name} (batch ${t.batch})` : t.name;
    lines.push(
      row([
        name,
        t.kind,
        formatOps(t.opsPerSecond),
        formatDuration(t.meanNs),
        formatDuration(t.p50Ns),
        formatDuration(t.p99Ns),
        String(t.samples),
        ...ratios,
      ]),
    );
  }
  const failed = tasks.filter((t) => t.error !== undefined);
  for (const t of failed) lines.push('', `FAILED ${t.name}: ${t.error?.split('\n')[0] ?? ''}`);
  return lines;
}

/**
 * Formats a measurement's value with three significant digits and its unit.
 *
 * @param value - the value; null or NaN when it was not measured.
 * @param unit - e.g. "commands/s".
 * @returns e.g. "0.102 commands/s"; "n/a" when not a number.
 */
export function formatMeasurement(value: Num, unit: string): string {
  return valid(value) ? `${significant(value)} ${unit}` : 'n/a';
}

/**
 * Renders a suite's own measurements as a Markdown table.
 *
 * @param measurements - from the result (absent when the suite has none).
 * @param error - the `measurements` function's error, if it threw.
 * @returns Markdown lines (empty when there is nothing to show).
 */
export function renderMeasurements(measurements: readonly Measurement[] | undefined, error?: string): string[] {
  if (measurements === undefined && error === undefined) return [];
  const lines = ['#### Measurements', '', row(['measurement', 'value', 'note']), row(['---', '---:', '---'])];
  for (const m of measurements ?? []) lines.push(row([m.name, formatMeasurement(m.value, m.unit), m.note ?? '']));
  if (error !== undefined) lines.push('', `FAILED measurements: ${error.split('\n')[0] ?? ''}`);
  return lines;
}

function requirement(target: TargetResult): string {
  const format = (bound: number): string =>
    'measurement' in target && target.vs === undefined ? significant(bound) : formatRatio(bound);
  const parts: string[] = [];
  if (target.atLeast !== undefined) parts.push(`>= ${format(target.atLeast)}`);
  if (target.atMost !== undefined) parts.push(`<= ${format(target.atMost)}`);
  return parts.join(' and ');
}

/**
 * Renders the targets as a Markdown table with the measured ratio and PASS/FAIL.
 *
 * @param targets - from `runSuite`.
 * @returns Markdown lines (empty when there are no targets).
 */
export function renderTargets(targets: readonly TargetResult[]): string[] {
  if (targets.length === 0) return [];
  const lines = [
    '#### Targets',
    '',
    row(['task', 'vs', 'group', 'measured', 'required', 'result', 'note']),
    row(['---', '---', '---', '---:', '---', '---', '---']),
  ];
  for (const t of targets) {
    const verdict = t.pass ? 'PASS' : 'FAIL';
    if ('measurement' in t) {
      // A bound on a measurement's own value prints the value; one with `vs` prints the ratio.
      const measured = t.vs === undefined ? (valid(t.ratio) ? significant(t.ratio) : 'n/a') : formatRatio(t.ratio);
      lines.push(
        row([t.measurement, t.vs ?? '(value)', 'measurements', measured, requirement(t), verdict, t.note ?? '']),
      );
    } else {
      lines.push(row([t.task, t.vs, t.group, formatRatio(t.ratio), requirement(t), verdict, t.note ?? '']));
    }
  }
  return lines;
}

/**
 * Describes the machine and run in one line.
 *
 * @param result - a suite result.
 * @returns e.g. "2026-05-01, full run, Node v20.20.2 on linux/x64, 2 x AMD EPYC ..., 23.5 GiB".
 */
export function describeRun(result: SuiteResult): string {
  const m = result.machine;
  const gib = (m.totalMemoryBytes / 2 ** 30).toFixed(1);
  return (
    `${result.date}, ${result.mode} run (${result.settings.timeMs} ms per task), Node ${m.node} on ${m.platform}/${m.arch}, ` +
    `${m.cpus} x ${m.cpu}, ${gib} GiB, load average ${m.loadAverage} at start`
  );
}

/**
 * Renders a whole suite: heading, run facts, one table per group, the suite's own measurements,
 * then the targets.
 *
 * @param result - a suite result.
 * @returns Markdown text ending in a newline.
 */
export function renderSuite(result: SuiteResult): string {
  const lines = [`### ${result.title} (\`${result.suite}\`)`, ''];
  if (result.description !== undefined) lines.push(result.description, '');
  lines.push(describeRun(result), '');
  for (const group of result.groups) lines.push(...renderGroup(group.name, group.tasks), '');
  const measurements = renderMeasurements(result.measurements, result.measurementsError);
  if (measurements.length > 0) lines.push(...measurements, '');
  const targets = renderTargets(result.targets);
  if (targets.length > 0) lines.push(...targets, '');
  return `${lines.join('\n')}\n`;
}

const PREAMBLE = `# Benchmarks

<!-- Generated by benchmarks/report.ts from benchmarks/results/*.json. Do not edit by hand:
     run \`pnpm bench\` (measures and regenerates) or \`pnpm exec tsx benchmarks/report.ts\` (regenerates). -->

Per-operation times: each task performs a batch of operations per timed call, and the harness
divides by the batch. \`p99\` is the 99th percentile of those batch averages, so it hides the tail
of single operations inside a batch. A ratio column \`vs X\` is this task's median per-operation
time divided by X's, measured in the same process run: \`2x\` means twice as slow as X, \`0.5x\`
twice as fast. Numbers from different machines, or from different runs, are not comparable;
ratios within one table are. A suite's **Measurements** table holds numbers it measured itself
besides the timings (rates, counts, latencies of its own loops), each with its unit; a target on a
measurement bounds its value, or with a \`vs\` its ratio to another measurement. See
benchmarks/README.md for how to run and add suites.
`;

/**
 * Regenerates docs/benchmarks.md from every full result in benchmarks/results/*.json.
 * The floors come first because every other suite is read against them.
 *
 * @returns the suites included.
 */
export async function writeBenchmarksDoc(): Promise<string[]> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const files = (await readdir(RESULTS_DIR)).filter((f) => f.endsWith('.json')).sort();
  const results: SuiteResult[] = [];
  for (const file of files) {
    results.push(JSON.parse(await readFile(new URL(file, RESULTS_DIR), 'utf8')) as SuiteResult);
  }
  results.sort((a, b) => Number(b.suite === 'floors') - Number(a.suite === 'floors') || a.suite.localeCompare(b.suite));
  const sections = results.map((r) => renderSuite(r));
  const body = results.length === 0 ? ['No results yet: run `pnpm bench`.\n'] : sections;
  await mkdir(new URL('.', DOC_FILE), { recursive: true });
  await writeFile(DOC_FILE, `${PREAMBLE}\n${body.join('\n')}`.replace(/\n+$/, '\n'));
  return results.map((r) => r.suite);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const suites = await writeBenchmarksDoc();
  console.log(`wrote ${fileURLToPath(DOC_FILE)} (${suites.join(', ') || 'no results'})`);
}
