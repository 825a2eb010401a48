#!/usr/bin/env bash
# The README's first command: set up, then run the netmode demo as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec node examples/dist/demo.js
