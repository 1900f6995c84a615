#!/usr/bin/env bash
# Benchmark (root): memtrace against untraced, perf trace, bpftrace and a bare BPF floor.
# Prints a Markdown table (BENCHMARKS.md holds the latest one). Arguments go to scripts/bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
dpkg-query -W -f='${Status}' time linux-perf bpftrace python3 2>/dev/null | grep -c "ok installed" | grep -q 4 ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time linux-perf bpftrace python3 >/dev/null; }
scripts/build.sh
exec python3 scripts/bench.py "$@"
