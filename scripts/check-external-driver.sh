#!/usr/bin/env bash
# Proves that a netmode driver can be written outside this repository: packs
# @netmode/core as npm would publish it, copies examples/external/driver-ptp
# to a fresh directory outside the repository, points its @netmode/core
# dependency at the tarball, installs with npm, type-checks and builds with the
# package's own tsconfig, and runs its tests (root, CI=true: the conformance
# suite and the real-traffic tests must run, never skip).
#
# Usage: scripts/check-external-driver.sh [REPORT.json]
#   REPORT.json: where to write the vitest JSON report (scripts/test.sh counts
#   it in its closing line); removed first, so a stale one never counts.
#
# Exits non-zero on any failure; the temporary directory is always removed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
package=examples/external/driver-ptp

say() { printf 'check-external-driver: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

report=
if [ $# -gt 0 ]; then
  case "$1" in /*) report=$1 ;; *) report=$repo/$1 ;; esac
  rm -f "$report"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/netmode-external-XXXXXX")
case "$work" in "$repo"/*) fail "the temporary directory $work is inside the repository" ;; esac
current=starting
finish() {
  local status=$?
  rm -rf "$work"
  [ "$status" -eq 0 ] || say "FAILED while $current (exit $status); $work removed"
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM
started=$(date +%s)
step() { current=$1; say "$1 ($(( $(date +%s) - started )) s)"; }

# 1. The tarball npm would publish, from an up-to-date build of core.
step "packing @netmode/core"
pnpm exec tsc -b packages/core
pnpm --silent --filter @netmode/core pack --pack-destination "$work/pack" >/dev/null
tarballs=("$work"/pack/*.tgz)
[ ${#tarballs[@]} -eq 1 ] && [ -f "${tarballs[0]}" ] || fail "expected one tarball in $work/pack, found: ${tarballs[*]}"
tarball=${tarballs[0]}

# 2. The driver package, alone, outside the repository: nothing above it can
#    lend it a module (no workspace link, no hoisted node_modules).
step "copying $package to $work"
tar -C "$(dirname "$package")" -cf - --exclude=node_modules --exclude=dist "$(basename "$package")" | tar -C "$work" -xf -
cd "$work/$(basename "$package")"

# It must reach core only through the package: no relative import leaving
# the package, no tsyringe of its own (core re-exports its decorators).
if grep -rnE "from '(\.\./\.\./|tsyringe)|import\('(\.\./\.\./|tsyringe)" src test; then
  fail "the driver imports past its own package or tsyringe directly (above)"
fi

node -e '
  const fs = require("node:fs");
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
  if (!pkg.peerDependencies?.["@netmode/core"]) throw new Error("@netmode/core must be a peer dependency");
  if (!pkg.devDependencies?.["@netmode/core"]) throw new Error("@netmode/core must be a dev dependency");
  pkg.devDependencies["@netmode/core"] = "file:" + process.argv[1];
  fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2) + "\n");
' "$tarball"

# 3. npm, as a third party would; the cache makes repeated runs fast.
step "npm install"
npm install --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null
core=$(node -p 'require.resolve("@netmode/core/package.json")')
case "$core" in "$work"/*) ;; *) fail "@netmode/core resolved to $core, outside the copy" ;; esac

# 4. Its own tsconfigs: the build a publish would run (src to dist) and the
#    type-check of source and tests, in one tsc process (about 6 s less than two).
step "type-checking and building"
npx --no-install tsc -b tsconfig.build.json tsconfig.json
[ -f dist/index.js ] && [ -f dist/index.d.ts ] || fail "the build made no dist/index.js and dist/index.d.ts"

# 5. Its tests, as root, where the integration tests must run.
step "running its tests"
reporters=(--reporter=default)
[ -n "$report" ] && reporters+=(--reporter=json "--outputFile.json=$report")
CI=true npx --no-install vitest run "${reporters[@]}"

current=done
say "passed in $(( $(date +%s) - started )) s"
