#!/usr/bin/env bash
# The README's second command, and what CI runs: install what is missing, build, run every test.
# Unit tests need nothing special; the root tests load BPF. They skip when not root, except with
# CI=true, where a root test that cannot run fails.
# Then, in one clang build (build-fuzz/), the unit tests again under ASan+UBSan and every fuzz target
# for a short, bounded time (scripts/fuzz.sh; MEMTRACE_FUZZ_SECONDS per target, default 10: a smoke run;
# the long runs are scripts/fuzz.sh on its own).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 300 --no-tests=error

# One clang build with ASan+UBSan for both: the unit tests run under the sanitizers, then every fuzz
# target for a short, bounded time. -O0: a smoke run here builds faster than it fuzzes.
MEMTRACE_FUZZ_OPT=${MEMTRACE_FUZZ_OPT:--O0} scripts/fuzz.sh --with-unit-tests "${MEMTRACE_FUZZ_SECONDS:-10}"
