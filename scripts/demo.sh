#!/usr/bin/env bash
# Installs everything (scripts/setup.sh), then runs the demo in examples/demo against the built packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# CF_SKIP_SETUP=1 skips the install and build, for a machine that is already set up.
[ "${CF_SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh
pnpm --filter @cf/demo start
