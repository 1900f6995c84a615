#!/usr/bin/env bash
# The README's first command: install what is missing, build, and trace the built-in demo workload
# in the live view (plain-text snapshots when stdout is not a terminal).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec build/user/memtrace demo "$@"
