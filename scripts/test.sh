#!/usr/bin/env bash
# Installs everything (scripts/setup.sh), then runs every test of every package once and ends
# with one line: "tests: N passed, N failed". Exits with vitest's status.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# CF_SKIP_SETUP=1 skips the install and build, for a machine that is already set up.
[ "${CF_SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh

report_dir=$(mktemp -d)
trap 'rm -rf "$report_dir"' EXIT
report="$report_dir/vitest.json"

status=0
pnpm exec vitest run --reporter=json --reporter=default --outputFile.json="$report" "$@" || status=$?

# Failed files that never ran a test (an import error, a crash in a hook) count as failures too.
node --input-type=module - "$report" "$status" <<'JS' || true
import { existsSync, readFileSync } from 'node:fs';
const [file, status] = process.argv.slice(2);
if (!existsSync(file)) {
  console.log(`vitest wrote no report (exit status ${status})`);
  console.log('tests: 0 passed, 0 failed');
  process.exit(0);
}
const report = JSON.parse(readFileSync(file, 'utf8'));
const brokenFiles = report.testResults.filter((r) => r.status === 'failed' && r.assertionResults.length === 0).length;
const skipped = report.numPendingTests + report.numTodoTests;
if (skipped > 0) console.log(`(${skipped} tests skipped or todo)`);
if (brokenFiles > 0) console.log(`(${brokenFiles} test files failed before running any test)`);
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests + brokenFiles} failed`);
JS
exit "$status"
