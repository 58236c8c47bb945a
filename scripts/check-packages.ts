/**
 * Packaging checks for every publishable package in packages/*, run on the tarball users get:
 *
 *   tsx scripts/check-packages.ts [--no-build] [--keep] [package ...]
 *
 * For each package: build (turbo, cached), `pnpm pack`, then on the tarball: package.json fields
 * (ESM, sideEffects, engines, exports with `types` first, files), `publint --strict`,
 * `attw --profile esm-only`, a size budget (scripts/package-budgets.json), and for the packages that
 * must run in browsers and any worker, no Node built-in imported from the default entry.
 * Prints a table and exits non-zero on any failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'node_modules', '.bin');
const BUDGETS_FILE = join(ROOT, 'scripts', 'package-budgets.json');

/** Packages whose default entry must not import Node built-ins (DESIGN.md: browsers and any worker). */
const PORTABLE = new Set(['@cf/core', '@cf/atomics', '@cf/locks', '@cf/sync', '@cf/collections']);
/** Private workspace packages that a published package must never depend on at runtime. */
const PRIVATE_PREFIXES = ['@cf/lock-conformance', '@cf/test-servers', '@cf/benchmarks', '@cf/demo'];

interface Budget {
  /** Size of the .tgz npm downloads. */
  readonly packedBytes: number;
  /** All dist .js files concatenated and gzipped: roughly what a bundle pays, before minification. */
  readonly jsGzipBytes: number;
}

interface Manifest {
  name?: string;
  private?: boolean;
  type?: string;
  sideEffects?: unknown;
  engines?: { node?: string };
  exports?: unknown;
  files?: unknown;
  license?: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

interface Check {
  readonly label: string;
  ok: boolean | undefined;
  summary: string;
  details: string[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'no-build': { type: 'boolean', default: false }, keep: { type: 'boolean', default: false } },
});

function run(command: string, args: readonly string[], cwd: string): { ok: boolean; output: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  // Any FORCE_COLOR value, even "0", turns colours on in picocolors.
  delete env.FORCE_COLOR;
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
  return { ok: result.status === 0, output: output.trim() };
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** Checks one `exports` entry: conditions objects list `types` first and offer no CommonJS copy. */
function checkExportEntry(subpath: string, entry: unknown, packageDir: string, problems: string[]): void {
  if (typeof entry === 'string') {
    if (subpath !== './package.json')
      problems.push(`exports["${subpath}"] is a bare string: give it { types, default }`);
    if (!existsSync(join(packageDir, entry))) problems.push(`exports["${subpath}"] -> ${entry} is not in the tarball`);
    return;
  }
  if (typeof entry !== 'object' || entry === null) {
    problems.push(`exports["${subpath}"] must be an object`);
    return;
  }
  const keys = Object.keys(entry);
  if (keys[0] !== 'types')
    problems.push(`exports["${subpath}"]: "types" must be the first condition, got ${keys.join(', ')}`);
  if (keys.includes('require'))
    problems.push(`exports["${subpath}"]: has a "require" condition; packages are ESM only`);
  if (!keys.includes('default') && !keys.includes('import')) {
    problems.push(`exports["${subpath}"]: needs a "default" (or "import") condition`);
  }
  for (const [condition, target] of Object.entries(entry)) {
    if (typeof target === 'object' && target !== null)
      checkExportEntry(`${subpath}#${condition}`, target, packageDir, problems);
    else if (typeof target === 'string' && !existsSync(join(packageDir, target))) {
      problems.push(`exports["${subpath}"].${condition} -> ${target} is not in the tarball`);
    }
  }
}

/** Field checks on the packed package.json (after pnpm rewrote `workspace:` ranges). */
export function checkManifest(manifest: Manifest, packageDir: string): string[] {
  const problems: string[] = [];
  if (manifest.type !== 'module') problems.push(`"type" must be "module", got ${JSON.stringify(manifest.type)}`);
  if (manifest.sideEffects !== false)
    problems.push(`"sideEffects" must be false, got ${JSON.stringify(manifest.sideEffects)}`);
  const node = manifest.engines?.node;
  if (typeof node !== 'string' || !/^>=\s*20(\.\d+){0,2}$/.test(node)) {
    problems.push(`"engines.node" must be ">=20", got ${JSON.stringify(node)}`);
  }
  if (JSON.stringify(manifest.files) !== '["dist"]')
    problems.push(`"files" must be ["dist"], got ${JSON.stringify(manifest.files)}`);
  if (typeof manifest.license !== 'string' || manifest.license === '') problems.push('"license" is missing');
  const exportsField = manifest.exports;
  if (typeof exportsField !== 'object' || exportsField === null || !('.' in exportsField)) {
    problems.push('"exports" must be an object with a "." entry');
  } else {
    for (const [subpath, entry] of Object.entries(exportsField)) checkExportEntry(subpath, entry, packageDir, problems);
  }
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'] as const) {
    for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
      if (range.startsWith('workspace:')) problems.push(`${field}.${dep} still says ${range} in the tarball`);
      if (PRIVATE_PREFIXES.includes(dep)) problems.push(`${field}.${dep} is a private workspace package`);
    }
  }
  if (!existsSync(join(packageDir, 'README.md'))) problems.push('README.md is missing from the tarball');
  return problems;
}

const IMPORT_PATTERN =
  /(?:^|[;\s])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0] ?? specifier);
}

/**
 * Follows relative imports from the default entry's JavaScript and type files and lists every
 * Node built-in they import, with the file that imports it.
 */
export function nodeImportsFromDefaultEntry(manifest: Manifest, packageDir: string): string[] {
  const root = (manifest.exports as Record<string, unknown> | undefined)?.['.'];
  const starts =
    typeof root === 'object' && root !== null
      ? Object.values(root).filter((v): v is string => typeof v === 'string')
      : typeof root === 'string'
        ? [root]
        : [];
  const seen = new Set<string>();
  const queue = starts.map((s) => join(packageDir, s));
  const found: string[] = [];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(IMPORT_PATTERN)) {
      const specifier = match[1] ?? match[2] ?? match[3] ?? match[4];
      if (specifier === undefined) continue;
      if (specifier.startsWith('.')) {
        let target = join(dirname(file), specifier);
        // Declarations import their siblings by the .js name.
        if (file.endsWith('.d.ts') && target.endsWith('.js')) target = `${target.slice(0, -3)}.d.ts`;
        queue.push(target);
      } else if (isNodeBuiltin(specifier)) {
        found.push(`${relative(packageDir, file)} imports ${specifier}`);
      }
    }
  }
  return found;
}

function checkPackage(dir: string, budgets: Record<string, Budget>, workDir: string): Check[] {
  const manifest = readJson<Manifest>(join(dir, 'package.json'));
  const name = manifest.name ?? dir;
  const checks = {
    build: { label: 'build', ok: undefined, summary: '-', details: [] } as Check,
    fields: { label: 'fields', ok: undefined, summary: '-', details: [] } as Check,
    publint: { label: 'publint', ok: undefined, summary: '-', details: [] } as Check,
    attw: { label: 'attw', ok: undefined, summary: '-', details: [] } as Check,
    size: { label: 'size', ok: undefined, summary: '-', details: [] } as Check,
    portable: { label: 'no node:', ok: undefined, summary: '-', details: [] } as Check,
  };
  const all = Object.values(checks);
  const set = (check: Check, ok: boolean, summary: string, details: string[] = []): void => {
    check.ok = ok;
    check.summary = summary;
    check.details = details;
  };

  const distMissing = !existsSync(join(dir, 'dist'));
  const build =
    values['no-build'] && !distMissing
      ? { ok: true, output: '' }
      : values['no-build']
        ? run('pnpm', ['--filter', name, 'build'], ROOT)
        : run(join(BIN, 'turbo'), ['run', 'build', `--filter=${name}`, '--output-logs=errors-only'], ROOT);
  set(
    checks.build,
    build.ok && existsSync(join(dir, 'dist')),
    build.ok ? 'ok' : 'FAIL',
    build.ok ? [] : [build.output],
  );
  if (!checks.build.ok) return all;

  const packDir = join(workDir, name.replace('/', '__'));
  mkdirSync(packDir, { recursive: true });
  const pack = run('pnpm', ['pack', '--pack-destination', packDir], dir);
  const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
  if (!pack.ok || tarball === undefined) {
    set(checks.fields, false, 'pack failed', [pack.output]);
    return all;
  }
  const tarballPath = join(packDir, tarball);
  const extract = run('tar', ['-xzf', tarballPath, '-C', packDir], ROOT);
  if (!extract.ok) {
    set(checks.fields, false, 'untar failed', [extract.output]);
    return all;
  }
  const packageDir = join(packDir, 'package');
  const packed = readJson<Manifest>(join(packageDir, 'package.json'));

  const fieldProblems = checkManifest(packed, packageDir);
  set(
    checks.fields,
    fieldProblems.length === 0,
    fieldProblems.length === 0 ? 'ok' : `FAIL (${fieldProblems.length})`,
    fieldProblems,
  );

  const publint = run(join(BIN, 'publint'), ['run', '--strict', tarballPath], ROOT);
  set(checks.publint, publint.ok, publint.ok ? 'ok' : 'FAIL', publint.ok ? [] : [publint.output]);

  const attw = run(join(BIN, 'attw'), [tarballPath, '--profile', 'esm-only', '--no-emoji', '--no-color'], ROOT);
  set(checks.attw, attw.ok, attw.ok ? 'ok' : 'FAIL', attw.ok ? [] : [attw.output]);

  const packedBytes = statSync(tarballPath).size;
  const jsFiles = listFiles(join(packageDir, 'dist'))
    .filter((f) => f.endsWith('.js'))
    .sort();
  // One stream, as a bundle would compress it; comments included, so this is an upper bound.
  const jsGzipBytes = gzipSync(Buffer.concat(jsFiles.map((f) => readFileSync(f))), { level: 9 }).length;
  const budget = budgets[name];
  const sizeText = `${kib(packedBytes)} / ${kib(jsGzipBytes)}`;
  if (budget === undefined) {
    set(checks.size, false, `${sizeText} (no budget)`, [`add "${name}" to scripts/package-budgets.json`]);
  } else {
    const over: string[] = [];
    if (packedBytes > budget.packedBytes) over.push(`packed ${packedBytes} B > budget ${budget.packedBytes} B`);
    if (jsGzipBytes > budget.jsGzipBytes) over.push(`js gzip ${jsGzipBytes} B > budget ${budget.jsGzipBytes} B`);
    const limits = `${kib(budget.packedBytes)} / ${kib(budget.jsGzipBytes)}`;
    set(checks.size, over.length === 0, `${sizeText} of ${limits}${over.length === 0 ? '' : ' FAIL'}`, over);
  }

  if (PORTABLE.has(name)) {
    const imports = nodeImportsFromDefaultEntry(packed, packageDir);
    set(checks.portable, imports.length === 0, imports.length === 0 ? 'ok' : `FAIL (${imports.length})`, imports);
  } else {
    checks.portable.summary = 'n/a';
  }
  return all;
}

function main(): number {
  const budgets = readJson<Record<string, Budget>>(BUDGETS_FILE);
  const packagesDir = join(ROOT, 'packages');
  const dirs = readdirSync(packagesDir)
    .map((d) => join(packagesDir, d))
    .filter((d) => existsSync(join(d, 'package.json')))
    .filter((d) => readJson<Manifest>(join(d, 'package.json')).private !== true)
    .sort();
  const selected = dirs.filter((d) => {
    if (positionals.length === 0) return true;
    const name = readJson<Manifest>(join(d, 'package.json')).name;
    return positionals.some((p) => p === name || p === relative(packagesDir, d));
  });
  if (selected.length === 0) {
    console.error(`no publishable package matches ${positionals.join(', ')}`);
    return 1;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'cf-pack-'));
  const rows: { name: string; checks: Check[] }[] = [];
  try {
    for (const dir of selected) {
      const name = readJson<Manifest>(join(dir, 'package.json')).name ?? dir;
      console.error(`checking ${name} ...`);
      rows.push({ name, checks: checkPackage(dir, budgets, workDir) });
    }
  } finally {
    if (values.keep) console.error(`tarballs kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }

  const header = ['package', ...(rows[0]?.checks.map((c) => c.label) ?? []), 'result'];
  console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
  let failures = 0;
  for (const { name, checks } of rows) {
    const failed = checks.some((c) => c.ok === false);
    if (failed) failures++;
    console.log(`| ${[name, ...checks.map((c) => c.summary), failed ? 'FAIL' : 'ok'].join(' | ')} |`);
  }
  console.log(
    '\nsize = packed tarball / all dist JavaScript concatenated and gzipped, against the budget (scripts/package-budgets.json)',
  );
  for (const { name, checks } of rows) {
    for (const check of checks.filter((c) => c.ok === false)) {
      console.log(`\n${name}: ${check.label} failed`);
      for (const detail of check.details) console.log(detail.replace(/^/gm, '  '));
    }
  }
  console.log(failures === 0 ? `\nall ${rows.length} packages pass` : `\n${failures} of ${rows.length} packages FAIL`);
  return failures === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
