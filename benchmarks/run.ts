/**
 * Benchmark runner.
 *
 *   tsx benchmarks/run.ts [--suite name ...] [--quick] [--strict] [--fail-on-skip] [--list]
 *
 * Runs the selected suites of benchmarks/suites/*.ts (all by default) one after another, each in
 * its own child process so one suite's JIT and GC state cannot skew the next, then regenerates
 * docs/benchmarks.md from the full results. Suites import the built packages: build first.
 *
 * Each suite has a time limit (3 min quick, 20 min full; CF_BENCH_SUITE_TIMEOUT_S overrides): at the
 * limit the child gets SIGTERM, runs the suite's teardown, and is killed 10 s later if still alive.
 *
 * Exit status: non-zero when a suite failed to load or run, a task threw, a child timed out,
 * with --strict when a target failed, and with --fail-on-skip when a suite was skipped.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isSuite } from './harness.ts';
import { RESULTS_DIR, runSuite, type SuiteResult, writeResult } from './measure.ts';
import { renderSuite, writeBenchmarksDoc } from './report.ts';

const SUITES_DIR = new URL('./suites/', import.meta.url);

/** Child exit codes, read by the parent. */
const EXIT = { ok: 0, error: 1, targetsFailed: 2, skipped: 3 } as const;

const USAGE = `usage: tsx benchmarks/run.ts [--suite name ...] [--quick] [--strict] [--fail-on-skip] [--list]
  --suite, -s     run only this suite (repeatable; positional names work too); default: all
  --quick         a few seconds per suite, results to benchmarks/results/quick/ (not committed)
  --strict        exit non-zero when a target fails (otherwise failed targets are only reported)
  --fail-on-skip  exit non-zero when a suite skips itself (e.g. redis-server missing)
  --list          print the suite names and exit`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    suite: { type: 'string', short: 's', multiple: true },
    quick: { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
    'fail-on-skip': { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
    child: { type: 'string' },
  },
});

function banner(lines: readonly string[]): void {
  const rule = '='.repeat(78);
  console.error([rule, ...lines, rule].join('\n'));
}

/** Runs one suite file in this process; used in the child. */
async function runChild(file: string): Promise<number> {
  const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const suite = module.default;
  if (!isSuite(suite)) {
    console.error(`${file}: the default export is not a suite from defineSuite()`);
    return EXIT.error;
  }
  // The parent sends SIGTERM at the time limit: stop the servers the suite started before exiting.
  process.once('SIGTERM', () => {
    console.error(`[${suite.name}] stopped at the time limit; running teardown`);
    const exit = (): never => process.exit(EXIT.error);
    setTimeout(exit, 5000).unref();
    Promise.resolve()
      .then(() => suite.teardown?.())
      .finally(exit);
  });
  let result: SuiteResult;
  try {
    result = await runSuite(suite, {
      quick: values.quick,
      onGroup: (group) => console.error(`[${suite.name}] measuring: ${group}`),
    });
  } catch (error) {
    if (error instanceof Error && error.name === 'SkipSuite') {
      banner([`SKIPPED suite "${suite.name}": ${error.message}`, 'Install what it needs with: bash scripts/setup.sh']);
      return EXIT.skipped;
    }
    throw error;
  }
  console.log(`\n${renderSuite(result)}`);
  console.log(`wrote ${await writeResult(result)}`);
  const errored = result.groups.flatMap((g) => g.tasks).filter((t) => t.error !== undefined);
  for (const task of errored) console.error(`[${suite.name}] task "${task.name}" threw:\n${task.error}`);
  if (result.measurementsError !== undefined) {
    console.error(`[${suite.name}] measurements threw:\n${result.measurementsError}`);
  }
  if (errored.length > 0 || result.measurementsError !== undefined) return EXIT.error;
  const failed = result.targets.filter((t) => !t.pass);
  return failed.length > 0 && values.strict ? EXIT.targetsFailed : EXIT.ok;
}

async function discoverSuites(): Promise<Map<string, string>> {
  const files = (await readdir(SUITES_DIR)).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort();
  return new Map(files.map((f) => [basename(f, '.ts'), fileURLToPath(new URL(f, SUITES_DIR))]));
}

interface Outcome {
  readonly suite: string;
  readonly status: 'ok' | 'targets failed' | 'skipped' | 'error' | 'timed out';
  readonly seconds: number;
  readonly targets: string;
}

/** Runs a suite file in a child process with its own heap and JIT state, under a time limit. */
function runInChild(file: string, limitMs: number): Promise<{ code: number | null; timedOut: boolean }> {
  const args = [...process.execArgv, '--expose-gc', fileURLToPath(import.meta.url), '--child', file];
  if (values.quick) args.push('--quick');
  if (values.strict) args.push('--strict');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    let timedOut = false;
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    }, limitMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolve({ code, timedOut });
    });
  });
}

async function targetSummary(suite: string): Promise<string> {
  const dir = values.quick ? new URL('./quick/', RESULTS_DIR) : RESULTS_DIR;
  try {
    const result = JSON.parse(await readFile(new URL(`${suite}.json`, dir), 'utf8')) as SuiteResult;
    const passed = result.targets.filter((t) => t.pass).length;
    return result.targets.length === 0 ? '-' : `${passed}/${result.targets.length} pass`;
  } catch {
    return '-';
  }
}

async function main(): Promise<number> {
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.child !== undefined) return runChild(values.child);
  const available = await discoverSuites();
  if (values.list) {
    for (const name of available.keys()) console.log(name);
    return 0;
  }
  const wanted = [...(values.suite ?? []), ...positionals];
  const unknown = wanted.filter((name) => !available.has(name));
  if (unknown.length > 0) {
    console.error(`unknown suite(s): ${unknown.join(', ')}; available: ${[...available.keys()].join(', ')}`);
    return 1;
  }
  const selected = wanted.length > 0 ? [...new Set(wanted)] : [...available.keys()];
  // Generous: a stuck server or a leaked handle must fail the run, not hang CI.
  const limitSeconds = Number(process.env.CF_BENCH_SUITE_TIMEOUT_S) || (values.quick ? 180 : 1200);
  const limitMs = limitSeconds * 1000;
  const outcomes: Outcome[] = [];
  for (const suite of selected) {
    const file = available.get(suite)!;
    console.error(`\n[${suite}] ${values.quick ? 'quick' : 'full'} run in a child process`);
    const started = performance.now();
    const { code, timedOut } = await runInChild(file, limitMs);
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    const status: Outcome['status'] = timedOut
      ? 'timed out'
      : code === EXIT.ok
        ? 'ok'
        : code === EXIT.targetsFailed
          ? 'targets failed'
          : code === EXIT.skipped
            ? 'skipped'
            : 'error';
    if (status === 'timed out') console.error(`[${suite}] stopped after ${limitSeconds} s`);
    if (status === 'error') console.error(`[${suite}] failed: child exited with code ${String(code)}`);
    outcomes.push({
      suite,
      status,
      seconds,
      targets: status === 'ok' || status === 'targets failed' ? await targetSummary(suite) : '-',
    });
  }
  const documented = await writeBenchmarksDoc();
  console.log(`\nregenerated docs/benchmarks.md from full results: ${documented.join(', ') || 'none'}\n`);
  console.log('| suite | status | seconds | targets |\n| --- | --- | ---: | --- |');
  for (const o of outcomes) console.log(`| ${o.suite} | ${o.status} | ${o.seconds} | ${o.targets} |`);
  const skipped = outcomes.filter((o) => o.status === 'skipped').map((o) => o.suite);
  if (skipped.length > 0) {
    banner([`SKIPPED ${skipped.length} suite(s): ${skipped.join(', ')}`, 'Their numbers were NOT measured.']);
  }
  const failed = outcomes.filter(
    (o) => o.status === 'error' || o.status === 'timed out' || o.status === 'targets failed',
  );
  if (failed.length > 0) return 1;
  return skipped.length > 0 && values['fail-on-skip'] ? 1 : 0;
}

process.exit(await main());
