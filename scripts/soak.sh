#!/usr/bin/env bash
# Soak test (root): memtrace -f traces a workload that churns everything memtrace keeps state for
# (short mappings, brk growth and shrink, threads, forked children; tests/workloads/churn.c) for
# MINUTES (default 30). memtrace's RSS (VmRSS, and the anonymous part of it: the file part is
# mostly the ring buffer and the ELF files it reads) is sampled every 10 s and printed as a table; the
# soak fails if the RSS at the end exceeds the RSS at 1 minute by more than the margin
# (SOAK_MARGIN_PCT percent, default 20, or SOAK_MARGIN_KB, default 4096, whichever is larger),
# if memtrace dies on the way, or if it does not end cleanly (exit 0) on SIGINT.
#
# Usage: scripts/soak.sh [MINUTES]
#   BUILD_DIR=DIR   build and use DIR instead of build/ (scripts/build.sh)
#   SOAK_JSON=FILE  trace with --json -i 10 into FILE instead of text snapshots to /dev/null
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-30}
if ! [[ $minutes =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  echo "usage: $0 [MINUTES]" >&2
  exit 2
fi
margin_pct=${SOAK_MARGIN_PCT:-20}
margin_kb=${SOAK_MARGIN_KB:-4096}
sample_s=10

if [[ -n ${BUILD_DIR:-} ]]; then
  build=$BUILD_DIR
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target memtrace churn >/dev/null
else
  build=build
  scripts/setup.sh
  scripts/build.sh >/dev/null
fi
memtrace=$build/user/memtrace
churn=$build/tests/root/churn
for f in "$memtrace" "$churn"; do
  [[ -x $f ]] || { echo "soak: $f was not built" >&2; exit 1; }
done

log=$(mktemp /tmp/memtrace-soak-XXXXXX)
churn_log=$(mktemp /tmp/memtrace-soak-churn-XXXXXX)
if [[ -n ${SOAK_JSON:-} ]]; then
  "$memtrace" -f --json -i 10 --command-output "$churn_log" -- "$churn" >"$SOAK_JSON" 2>"$log" &
else
  "$memtrace" -f --text --command-output "$churn_log" -- "$churn" >/dev/null 2>"$log" &
fi
mt=$!
churn_pid=""
cleanup() {
  # Only what this script started: memtrace, and the churn workload it launched.
  kill -INT "$mt" 2>/dev/null || true
  [[ -n $churn_pid ]] && kill -KILL "$churn_pid" 2>/dev/null || true
  rm -f "$log" "$churn_log"
}
trap cleanup EXIT

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# The launched command is memtrace's child once the programs are attached.
for _ in $(seq 100); do
  churn_pid=$(cat "/proc/$mt/task/$mt/children" 2>/dev/null | awk '{ print $1 }')
  [[ -n $churn_pid ]] && grep -q "tracing" "$log" && break
  sleep 0.1
done
if [[ -z $churn_pid ]]; then
  echo "soak: memtrace did not start the workload:" >&2
  cat "$log" >&2
  exit 1
fi

total_s=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')
echo "soak: memtrace pid $mt tracing churn pid $churn_pid with -f for ${minutes} min; RSS every ${sample_s} s"
printf '%8s %10s %10s\n' "TIME(s)" "RSS(KiB)" "ANON(KiB)"
start=$(date +%s)
first="" last="" min="" max="" at_1min=""
elapsed=0
while :; do
  if ! kill -0 "$mt" 2>/dev/null; then
    echo "soak: memtrace died after ${elapsed} s:" >&2
    cat "$log" >&2
    exit 1
  fi
  rss=$(rss_kb "$mt")
  anon=$(awk '/^RssAnon:/ { print $2 }' "/proc/$mt/status" 2>/dev/null)
  [[ -n $rss ]] || break
  printf '%8d %10d %10s\n' "$elapsed" "$rss" "$anon"
  [[ -n $first ]] || first=$rss
  last=$rss
  if [[ -z $min || $rss -lt $min ]]; then min=$rss; fi
  if [[ -z $max || $rss -gt $max ]]; then max=$rss; fi
  if [[ -z $at_1min && $elapsed -ge 60 ]]; then at_1min=$rss; fi
  ((elapsed >= total_s)) && break
  next=$((start + elapsed + sample_s))
  now=$(date +%s)
  ((next > now)) && sleep $((next - now))
  elapsed=$(($(date +%s) - start))
  ((elapsed > total_s)) && elapsed=$total_s
done

hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$mt/status" 2>/dev/null || echo "?")
# End the trace the way a user does, while the workload is still churning.
kill -INT "$mt"
code=0
wait "$mt" || code=$?
kill -KILL "$churn_pid" 2>/dev/null || true
churn_pid=""

# Short runs (under a minute) compare with the first sample.
base=${at_1min:-$first}
allowed=$((base * margin_pct / 100))
((allowed < margin_kb)) && allowed=$margin_kb
growth=$((last - base))
since="1 min"
[[ -n $at_1min ]] || since="the first sample"
echo
echo "RSS (KiB): first $first, at 1 min ${at_1min:-n/a}, last $last, min $min, max $max, peak (VmHWM) $hwm"
echo "growth since $since: ${growth} KiB (allowed ${allowed} KiB: ${margin_pct}% or ${margin_kb} KiB)"
tail -1 "$churn_log" || true
grep -E "^memtrace: tracing|records dropped" "$log" || true
if [[ -n ${SOAK_JSON:-} ]] && command -v python3 >/dev/null; then
  python3 - "$SOAK_JSON" <<'EOF' || true
import json, sys
last = None
with open(sys.argv[1]) as f:
    for line in f:
        if line.strip():
            last = line
if last:
    s = json.loads(last)
    segs = {x["segment"]: x["faults"] for x in s["segments"]}
    print(f"summary: {s['faults']} faults ({s['kernel_counted_faults']} counted in the kernel), "
          f"{s['dropped']} dropped, {len(s['processes'])} processes, {len(s['segments'])} segments, "
          f"{segs.get('unmapped', 0)} faults on 'unmapped'")
EOF
fi
status=0
if ((code != 0)); then
  echo "soak: FAIL: memtrace exited with $code on SIGINT" >&2
  tail -5 "$log" >&2
  status=1
fi
if ((growth > allowed)); then
  echo "soak: FAIL: memtrace's RSS grew by ${growth} KiB (allowed ${allowed} KiB)" >&2
  status=1
fi
((status == 0)) && echo "soak: PASS"
exit $status
