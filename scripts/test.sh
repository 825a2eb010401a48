#!/usr/bin/env bash
# The README's second command, and what CI runs: set up, type-check, build the
# API docs (warnings are errors), check lint, formatting and the import rules
# (pnpm lint, format:check, layers), run every test (the integration tests need
# root; with CI=true they must run) and those of the driver package checked
# outside the workspace (scripts/check-external-driver.sh), check the packages
# as npm would publish and a new user would install them
# (scripts/check-packages.sh), check that nothing was left on the machine, and
# end with one line counting all three: "N passed, N failed".
# A failed check is not a test: the tests still run and are counted, and the
# script exits non-zero, naming the check just above that line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --test

# What the machine's own network looks like before the tests; it must look the
# same after them.
network_state() {
  ip netns list 2>/dev/null | awk '{print $1}' | sort
  ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sort
  nft list ruleset 2>/dev/null || true
  cat /proc/sys/net/ipv4/ip_forward
}
before=$(network_state)

pnpm run --silent typecheck
pnpm run --silent docs >/dev/null

# The code's shape: each check prints what it found; all three always run.
failed_checks=()
check() {
  local name=$1
  shift
  echo "test.sh: $name" >&2
  "$@" || failed_checks+=("$name")
}
check "lint (pnpm lint)" pnpm run --silent lint
check "formatting (pnpm format:check; pnpm format fixes it)" pnpm run --silent format:check
check "import rules (pnpm layers)" pnpm run --silent layers
for name in "${failed_checks[@]}"; do echo "test.sh: FAILED: $name" >&2; done

results=.vitest-results.json
external=.vitest-results-external.json
packages=.vitest-results-packages.json
rm -f "$results"
status=0
# The packaging checks need only the built packages (tarballs, npm installs
# into two projects of their own, one throwaway namespace of their own
# prefix), nothing the tests touch: they run beside the tests, which keeps
# the whole run within 20 minutes on 2 cores, and print when the tests end.
packages_log=$(mktemp)
bash scripts/check-packages.sh "$packages" >"$packages_log" 2>&1 &
packages_pid=$!
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$results" || status=$?
bash scripts/check-external-driver.sh "$external" || status=$?
wait "$packages_pid" || status=$?
cat "$packages_log"
rm -f "$packages_log"

after=$(network_state)
if [ "$before" != "$after" ]; then
  echo "The test run left something in the machine's network state:" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  status=1
fi

if [ ${#failed_checks[@]} -gt 0 ]; then
  echo "test.sh: the tests ran, but these checks failed (see above): ${failed_checks[*]}" >&2
  status=1
fi
node scripts/summarize-tests.mjs "$results" "$external" "$packages" || status=$?
exit "$status"
