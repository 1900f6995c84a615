#!/usr/bin/env bash
# The README's second command, and what CI runs: install what is missing, build, run every test.
# Unit tests need nothing special; the root tests load BPF. They skip when not root, except with
# CI=true, where a root test that cannot run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 300
