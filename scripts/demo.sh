#!/usr/bin/env bash
# The README's first command: install what is missing, build memtrace (only the binary: the tests
# are scripts/test.sh's), and trace the built-in demo workload in the live view (plain-text
# snapshots when stdout is not a terminal).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The same build directory as scripts/build.sh, so that test.sh later reuses what this compiled.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target memtrace
exec build/user/memtrace demo "$@"
