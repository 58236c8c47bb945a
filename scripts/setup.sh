#!/usr/bin/env bash
# Installs everything this repository needs, idempotently: the pinned pnpm, the servers the
# distributed tests and benchmarks start (redis-server, etcd, etcdctl), the dependencies from the
# lockfile, and a build of every package. Works as root on a fresh Debian machine that has only
# Node 20 and npm, and as a developer (uses sudo for apt-get when it has to).
set -euo pipefail

PNPM_VERSION=12.4.2
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed: install Node.js 20 or later first"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js >= 20 required, found $(node --version)"

# Runs a command as root: directly when we are root, else through sudo when it exists.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else return 127
  fi
}

current_pnpm=$(pnpm --version 2>/dev/null || true)
if [ "$current_pnpm" != "$PNPM_VERSION" ]; then
  log "installing pnpm $PNPM_VERSION (found: ${current_pnpm:-none})"
  npm install --global "pnpm@$PNPM_VERSION" || as_root npm install --global "pnpm@$PNPM_VERSION" ||
    die "could not install pnpm: run 'npm install --global pnpm@$PNPM_VERSION' with rights to the global prefix"
  hash -r
  [ "$(pnpm --version)" = "$PNPM_VERSION" ] || die "pnpm --version is $(pnpm --version), expected $PNPM_VERSION (check PATH)"
fi
log "pnpm $(pnpm --version)"

missing=()
for bin in redis-server etcd etcdctl; do command -v "$bin" >/dev/null || missing+=("$bin"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_packages=(redis-server etcd-server etcd-client)
  log "missing ${missing[*]}: installing ${apt_packages[*]} with apt-get"
  command -v apt-get >/dev/null || die "no apt-get here: install ${apt_packages[*]} (binaries: redis-server, etcd, etcdctl) yourself"
  export DEBIAN_FRONTEND=noninteractive
  { as_root apt-get update && as_root apt-get install -y --no-install-recommends "${apt_packages[@]}"; } ||
    die "apt-get failed (not root and no sudo?): install ${apt_packages[*]} as root, then rerun"
  for bin in "${missing[@]}"; do command -v "$bin" >/dev/null || die "$bin still missing after installing ${apt_packages[*]}"; done
fi
log "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), $(etcd --version | head -n 1)"

log "pnpm install --frozen-lockfile"
pnpm install --frozen-lockfile

log "pnpm build"
pnpm build
log "done"
