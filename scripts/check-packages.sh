#!/usr/bin/env bash
# Proves that the public packages are ready for npm, as a new user meets
# them: packs them with `pnpm -r pack` (which must skip the private ones),
# checks each tarball (LICENSE, README, a source file for every source map,
# publint, @arethetypeswrong/cli, `npm publish --dry-run` with public access),
# then installs the tarballs with npm into a fresh ES module project and a
# fresh CommonJS project in a temporary directory outside the repository,
# type-checks each under strict settings (the CommonJS one also under
# TypeScript's `module: commonjs`), and runs a small program in each that
# loads `@netmode/core/testing` without vitest and connects and disconnects
# an endpoint in mode `none` in a throwaway namespace (root; with CI=true it
# must run, never skip). The CommonJS project holds tsyringe 4.8.0, the
# floor of core's peer range, and the ES module one the newest in range.
#
# Usage: scripts/check-packages.sh [REPORT.json]
#   REPORT.json: where to write the checks as a vitest-style JSON report, one
#   test per check (scripts/test.sh counts it in its closing line); removed
#   first, so a stale one never counts.
#
# Exits non-zero when a check failed; the temporary directory and every
# namespace it made are always removed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

say() { printf 'check-packages: %s\n' "$*" >&2; }

report=
if [ $# -gt 0 ]; then
  case "$1" in /*) report=$1 ;; *) report=$repo/$1 ;; esac
  rm -f "$report"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/netmode-packages-XXXXXX")
case "$work" in "$repo"/*) say "the temporary directory $work is inside the repository"; exit 1 ;; esac
# Namespaces of the consumer programs: npk, two hex digits (a netmode namePrefix of 5).
prefix="npk$(od -An -N1 -tx1 /dev/urandom | tr -d ' \n')"

# Every check is one line "status<TAB>title" here; the report is made from it.
results=$work/results.tsv
: >"$results"
record() { printf '%s\t%s\n' "$1" "$2" >>"$results"; }
# check TITLE COMMAND…: runs it, shows its output only when it fails, records the outcome.
check() {
  local title=$1 log
  shift
  log=$(mktemp "$work/log-XXXXXX")
  if "$@" >"$log" 2>&1; then
    record passed "$title"
    say "ok: $title"
  else
    record failed "$title"
    say "FAILED: $title"
    sed 's/^/    /' "$log" >&2
  fi
}

finish() {
  local status=$?
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$prefix" || true); do ip netns delete "$ns" || true; done
  if [ -n "$report" ]; then
    node -e '
      const fs = require("node:fs");
      const [results, report, unfinished] = process.argv.slice(1);
      const lines = fs.readFileSync(results, "utf8").split("\n").filter(Boolean).map((l) => l.split("\t"));
      // A run that stopped before its checks (a failed build or install) counts as one failure.
      if (unfinished === "1") lines.push(["failed", "check-packages finished its checks"]);
      const assertionResults = lines.map(([status, title]) => ({ status, title, fullName: `packages: ${title}` }));
      const count = (s) => assertionResults.filter((a) => a.status === s).length;
      const failed = count("failed");
      fs.writeFileSync(report, JSON.stringify({
        numPassedTests: count("passed"), numFailedTests: failed, numPendingTests: count("pending"), numTodoTests: 0,
        testResults: [{ name: "scripts/check-packages.sh", status: failed > 0 ? "failed" : "passed", assertionResults }],
      }, null, 2));
    ' "$results" "$report" "$([ "${finished:-0}" = 1 ] && echo 0 || echo 1)"
  fi
  rm -rf "$work"
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

# 1. The tarballs, from an up-to-date build: every public package, no private one.
say "building and packing"
pnpm exec tsc -b
pnpm --silent -r pack --pack-destination "$work/pack" >/dev/null
public=$(pnpm -r ls --depth -1 --json | node -e '
  const projects = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
  console.log(projects.filter((p) => !p.private && p.name).map((p) => p.name).sort().join(" "));
')
packed=$(for t in "$work"/pack/*.tgz; do tar -xzOf "$t" package/package.json | node -p 'JSON.parse(require("node:fs").readFileSync(0, "utf8")).name'; done | sort | tr '\n' ' ' | sed 's/ $//')
check "pnpm -r pack packs every public package ($public) and no private one" test "$packed" = "$public"

# 2. Each tarball on its own.
tarball_complete() {
  local tarball=$1 dir
  dir=$(mktemp -d "$work/unpacked-XXXXXX")
  tar -xzf "$tarball" -C "$dir"
  node -e '
    const fs = require("node:fs");
    const path = require("node:path");
    const root = path.join(process.argv[1], "package");
    const problems = [];
    for (const file of ["LICENSE", "README.md"]) if (!fs.existsSync(path.join(root, file))) problems.push(`no ${file}`);
    if (!/Apache License\s+Version 2\.0/.test(fs.readFileSync(path.join(root, "LICENSE"), "utf8"))) problems.push("LICENSE is not Apache-2.0");
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    for (const field of ["repository", "homepage", "bugs", "keywords", "license", "engines", "files"]) if (!pkg[field]) problems.push(`no ${field}`);
    if (pkg.repository && !pkg.repository.directory) problems.push("repository has no directory");
    if (pkg.publishConfig?.access !== "public") problems.push("publishConfig.access is not public");
    if (JSON.stringify(pkg).includes("workspace:") || JSON.stringify(pkg).includes("catalog:")) problems.push("a workspace: or catalog: range was left in package.json");
    // Every source a source map names must be in the tarball, or stack traces and editors name files that do not exist.
    const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    let maps = 0;
    for (const file of walk(root).filter((f) => f.endsWith(".map"))) {
      maps += 1;
      const map = JSON.parse(fs.readFileSync(file, "utf8"));
      for (const source of map.sources) {
        const target = path.resolve(path.dirname(file), map.sourceRoot ?? "", source);
        if (!fs.existsSync(target)) problems.push(`${path.relative(root, file)} names ${source}, which is not in the tarball`);
      }
    }
    if (problems.length > 0) { console.error(problems.slice(0, 20).join("\n")); process.exit(1); }
    console.log(`${maps} source maps, every source present`);
  ' "$dir"
}
publish_dry_run() {
  local output
  output=$(npm publish --dry-run "$1" 2>&1) || { echo "$output"; return 1; }
  echo "$output"
  grep -q 'with tag latest and public access (dry-run)' <<<"$output"
}
for tarball in "$work"/pack/*.tgz; do
  name=$(tar -xzOf "$tarball" package/package.json | node -p 'JSON.parse(require("node:fs").readFileSync(0, "utf8")).name')
  check "$name: LICENSE, README, metadata, and the source of every source map are in the tarball" tarball_complete "$tarball"
  check "$name: publint --strict" pnpm exec publint run --strict "$tarball"
  # require() of these ES modules is Node's require(esm) (^20.19, >=22.12,
  # the engines range), which attw reports as "dynamic import only": the
  # CommonJS consumer below proves require() and its types instead.
  check "$name: @arethetypeswrong/cli" pnpm exec attw "$tarball" --ignore-rules cjs-resolves-to-esm
  check "$name: npm publish --dry-run, public access" publish_dry_run "$tarball"
done

# 3. Two fresh projects outside the repository, installed with npm from the tarballs.
typescript=$(node -p 'require("typescript/package.json").version')
types_node=$(node -p 'require("@types/node/package.json").version')
tarballs=("$work"/pack/netmode-core-*.tgz "$work"/pack/netmode-driver-*.tgz)
fixtures=$repo/examples/consumers
for kind in esm cjs; do
  project=$work/$kind
  mkdir -p "$project"
  cp -r "$fixtures/$kind/." "$project/"
  # The packages' README examples are type-checked in the ES module project.
  if [ "$kind" = esm ]; then
    mkdir -p "$project/src/readme"
    for readme in packages/core/README.md packages/driver-*/README.md; do
      name=$(basename "$(dirname "$readme")")
      awk '/^```ts$/ { inside = 1; next } /^```$/ && inside { exit } inside { print }' "$readme" >"$project/src/readme/$name.ts"
      [ -s "$project/src/readme/$name.ts" ] || { say "$readme has no ts example"; exit 1; }
      echo 'export {};' >>"$project/src/readme/$name.ts"
    done
  fi
  tsyringe=tsyringe@^4.8.0
  [ "$kind" = cjs ] && tsyringe=tsyringe@4.8.0
  say "installing the tarballs into a fresh $kind project"
  (cd "$project" && npm install --no-audit --no-fund --prefer-offline --loglevel=error \
    "${tarballs[@]}" "$tsyringe" "typescript@$typescript" "@types/node@$types_node" >/dev/null)
  copies=$(cd "$project" && find node_modules -type d -name tsyringe -path '*node_modules/tsyringe' | wc -l)
  check "$kind project: one tsyringe in the tree ($([ "$kind" = cjs ] && echo 4.8.0 || echo newest in range))" test "$copies" -eq 1
  for config in "$project"/tsconfig*.json; do
    check "$kind project: tsc -p $(basename "$config") (strict)" bash -c "cd '$project' && npx --no-install tsc -p '$config'"
  done
  if [ "$(id -u)" = 0 ]; then
    check "$kind project: connects and disconnects an endpoint in mode none (namespace ${prefix}$kind)" \
      bash -c "cd '$project' && node dist/main.js '$prefix' '$kind'"
  elif [ "${CI:-}" = true ]; then
    record failed "$kind project: connect and disconnect (CI=true but not root: it must run)"
    say "FAILED: CI=true but not running as root: the connect check must run"
  else
    record pending "$kind project: connect and disconnect (skipped: needs root)"
    say "skipped: $kind project connect and disconnect (needs root)"
  fi
done

finished=1
if grep -q '^failed' "$results"; then exit 1; fi
say "every check passed"
