#!/usr/bin/env bash
# The README's first command: set up, then run `netmode demo` as root: real
# processes in all four modes, every path probed, everything removed after.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec node packages/cli/dist/bin.js demo
