#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in build-fuzz/, replays the
# inputs that once crashed them (tests/fuzz/regressions/<target>/), then runs each target for
# SECONDS_PER_TARGET seconds (default 60) from its committed seed corpus (tests/fuzz/corpus/<target>/,
# read only: new inputs go to build-fuzz/corpus/<target>/, kept between runs). Crash inputs land
# in build-fuzz/artifacts/. Exits non-zero when any target crashed, leaked, hung or ran out of memory.
#
#   scripts/fuzz.sh [--with-unit-tests] [SECONDS_PER_TARGET] [TARGET...]
#
# --with-unit-tests: also build the unit tests in the same sanitized build and run them first (CI:
# one clang build serves both). MEMTRACE_FUZZ_OPT sets the optimisation level (default -O1).
set -euo pipefail
cd "$(dirname "$0")/.."
unit_tests=0
if [[ ${1:-} == --with-unit-tests ]]; then
  unit_tests=1
  shift
fi
secs=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(fuzz_maps fuzz_elf fuzz_records fuzz_names fuzz_trace_file fuzz_cli)
build=build-fuzz

# -O1 and line tables only: the usual fuzzing trade-off, and half the build time of -O2 -g.
opt=${MEMTRACE_FUZZ_OPT:--O1}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="$opt -gline-tables-only" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$opt -gline-tables-only" \
  -DMEMTRACE_FUZZ=ON -DMEMTRACE_BUILD_TESTS=$((unit_tests ? 1 : 0)) >/dev/null
extra=()
((unit_tests)) && extra=(memtrace_unit_tests)
cmake --build "$build" -j"${JOBS:-$(nproc)}" --target "${targets[@]}" "${extra[@]}" >/dev/null

if ((unit_tests)); then
  # The unit tests under ASan+UBSan (and libFuzzer's coverage instrumentation, which is inert here).
  echo "fuzz.sh: unit tests under ASan+UBSan" >&2
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/unit/memtrace_unit_tests" --gtest_brief=1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/artifacts" "$build/logs"
failed=0
summary=()
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/$t
  seeds=tests/fuzz/corpus/$t
  work=$build/corpus/$t
  log=$build/logs/$t.log
  mkdir -p "$work"
  result=ok

  # Known crashers first: each must now pass.
  regressions=(tests/fuzz/regressions/$t/*)
  if [[ -e ${regressions[0]} ]]; then
    if ! "$bin" -runs=1 "${regressions[@]}" >"$log.regressions" 2>&1; then
      result="REGRESSION FAILED (see $log.regressions)"
    fi
  fi

  echo "fuzz: $t for ${secs}s ..." >&2
  start=$SECONDS
  rc=0
  dict=()
  [[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$build/artifacts/$t-" "$work" "$seeds" >"$log" 2>&1 || rc=$?
  elapsed=$((SECONDS - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  if ((rc != 0)); then
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    kind=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [a-z-]+|runtime error: .*' "$log" || true)
    result="CRASH (exit $rc) ${kind:-see $log} ${artifact:+input $artifact}"
  fi
  [[ $result == ok ]] || failed=1
  summary+=("$(printf '%-13s %5ss %10s runs %8s/s  cov %5s  ft %6s  corpus %5s  %s' "$t" "$elapsed" \
    "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result")")
  echo "${summary[-1]}"
done

echo
echo "fuzz summary (${secs}s per target; logs in $build/logs/):"
printf '  %s\n' "${summary[@]}"
if ((failed)); then
  echo "fuzz: FAILED; reproduce with $build/tests/fuzz/<target> <input>" >&2
  exit 1
fi
