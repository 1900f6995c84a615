#!/usr/bin/env bash
# Tests of what a host installs (ctest label package): the command line's name and version, the
# man page, the bash completion, the systemd unit, the Prometheus examples, and the Debian package
# itself, installed with dpkg -i and removed again.
#
#   package_test.sh cli        MEMTRACE VERSION_H
#   package_test.sh man        MEMTRACE MAN_PAGE
#   package_test.sh completion MEMTRACE COMPLETION
#   package_test.sh prometheus PROMETHEUS_DIR ALERTS_TEST
#   package_test.sh unit       BUILD_DIR UNIT_FILE
#   package_test.sh caps       MEMTRACE UNIT_FILE
#   package_test.sh deb        BUILD_DIR SOURCE_DIR
#
# A test that cannot run here (a tool missing, not root) exits 77, ctest's skip; with CI=true it
# fails instead.
set -euo pipefail
test=$1
shift

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
unavailable() {
  if [[ ${CI:-} == true ]]; then
    fail "$1 (CI=true: the package tests must run)"
  fi
  echo "SKIP: $1" >&2
  exit 77
}
need_root() {
  [[ $(id -u) -eq 0 ]] || unavailable "$1 needs root"
}
need_tool() {  # $1 command, $2 Debian package
  command -v "$1" >/dev/null || unavailable "$1 is not installed (apt-get install $2)"
}
tmp=$(mktemp -d /tmp/memtrace-package-test-XXXXXX)
cleanups=()
cleanup() {
  local i
  for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do
    eval "${cleanups[i]}" || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# The version line memtrace must print, from the generated version.h.
expected_version() {  # $1: version.h
  local version commit
  version=$(sed -n 's/^#define MEMTRACE_VERSION "\(.*\)"$/\1/p' "$1")
  commit=$(sed -n 's/^#define MEMTRACE_GIT_COMMIT "\(.*\)"$/\1/p' "$1")
  [[ -n $version && -n $commit ]] || fail "$1 defines no MEMTRACE_VERSION or MEMTRACE_GIT_COMMIT"
  echo "memtrace $version (commit $commit)"
}

# memtrace --version: "memtrace X.Y.Z (commit <12 hex digits>[-dirty])", the commit it was built from.
check_version_output() {  # $1: memtrace binary, $2: expected line
  local out
  out=$("$1" --version) || fail "$1 --version exited with $?"
  [[ $out == "$2" ]] || fail "$1 --version says '$out', expected '$2'"
  [[ $out =~ ^memtrace\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ ([0-9a-f]{12}(-dirty)?|unknown)\)$ ]] ||
    fail "$1 --version: '$out' is not 'memtrace X.Y.Z (commit 0123456789ab)'"
}

# The options and subcommands of memtrace's --help (and of each subcommand's): what the man page
# and the completion must know.
help_options() {  # $1: memtrace, $2...: subcommand
  "$@" --help | grep -oE '^  +-[^ ]+( |$)' | tr -d ' ' | tr ',' '\n' |
    sed -n 's/^\(--*[A-Za-z][-A-Za-z]*\).*/\1/p' | sort -u
}
help_subcommands() {  # $1: memtrace
  "$1" --help | sed -n '/^Subcommands:/,/^$/p' | sed -n 's/^  \([a-z][-a-z]*\) .*/\1/p'
}

case $test in
cli)
  memtrace=$1 version_h=$2
  check_version_output "$memtrace" "$(expected_version "$version_h")"
  # The usage line names memtrace, not the path it was started by.
  usage=$("$memtrace" --help | grep -m1 '^Usage:') || fail "memtrace --help prints no Usage: line"
  [[ $usage == "Usage: memtrace "* ]] || fail "memtrace --help: '$usage' does not start with 'Usage: memtrace '"
  usage=$("$memtrace" report --help | grep -m1 '^Usage:')
  [[ $usage == "Usage: memtrace report "* ]] || fail "memtrace report --help: '$usage'"
  "$memtrace" --help | grep -q -- '--version' || fail "memtrace --help does not list --version"
  echo "PASS: $("$memtrace" --version); $usage"
  ;;

man)
  memtrace=$1 page=$2
  need_tool man man-db
  need_tool groff groff-base
  # Rendered without a warning (groff's own and man's).
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >"$tmp/page.txt") || fail "man -l $page failed: $warnings"
  [[ -z $warnings ]] || fail "man --warnings -l $page:"$'\n'"$warnings"
  for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "EXIT STATUS" FILES EXAMPLES "SEE ALSO"; do
    grep -q "^$section\$" "$tmp/page.txt" || fail "the man page has no $section section"
  done
  grep -q 'perf(1), bpftrace(8), pmap(1)' "$tmp/page.txt" || fail "SEE ALSO lacks perf(1), bpftrace(8), pmap(1)"
  grep -q 'memtrace.data' "$tmp/page.txt" || fail "FILES lacks memtrace.data"
  # Every subcommand and every option the binary has is in the page.
  missing=()
  for sub in $(help_subcommands "$memtrace"); do
    grep -qE "memtrace $sub( |$)" "$tmp/page.txt" || missing+=("subcommand $sub")
    for opt in $(help_options "$memtrace" "$sub"); do
      grep -qE -- "(^|[^-A-Za-z])$opt([^-A-Za-z]|$)" "$tmp/page.txt" || missing+=("$sub $opt")
    done
  done
  for opt in $(help_options "$memtrace"); do
    grep -qE -- "(^|[^-A-Za-z])$opt([^-A-Za-z]|$)" "$tmp/page.txt" || missing+=("$opt")
  done
  ((${#missing[@]} == 0)) || fail "the man page does not describe: ${missing[*]}"
  echo "PASS: $page renders cleanly and describes every subcommand and option of memtrace --help"
  ;;

completion)
  memtrace=$1 completion=$2
  bash -n "$completion" || fail "$completion is not valid bash"
  # Completes COMP_WORDS as bash would after the words given ("" = an empty word at the cursor),
  # with the completion file sourced in a fresh shell; prints COMPREPLY one per line.
  complete_words() {
    MEMTRACE="$memtrace" COMPLETION="$completion" bash -c '
      set -u
      source "$COMPLETION"
      complete -p memtrace >/dev/null || { echo "no completion for memtrace" >&2; exit 1; }
      COMP_WORDS=("$MEMTRACE" "$@")
      COMP_CWORD=$#
      COMP_LINE="${COMP_WORDS[*]}"
      COMP_POINT=${#COMP_LINE}
      _memtrace
      printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
  }
  expect() {  # expect WORD -- COMPLETION_WORDS...: WORD is among the completions
    local want=$1 got
    shift 2
    got=$(complete_words "$@") || fail "completing 'memtrace $*' failed"
    grep -qxF -- "$want" <<<"$got" || fail "completing 'memtrace $*' does not offer '$want' (got: $(tr '\n' ' ' <<<"$got"))"
  }
  expect_not() {
    local unwanted=$1 got
    shift 2
    got=$(complete_words "$@") || fail "completing 'memtrace $*' failed"
    ! grep -qxF -- "$unwanted" <<<"$got" || fail "completing 'memtrace $*' offers '$unwanted'"
  }
  for sub in record report maps demo; do
    expect "$sub" -- ""
  done
  expect record -- rec
  expect_not demo-workload -- ""   # hidden
  expect --follow -- --f
  expect --version -- --v
  expect --output -- record --o
  expect --zstd-level -- record --z
  expect --diff -- report --d
  expect --time -- report --t
  expect --pid -- report --p
  expect --folded -- report --fo
  expect --json -- maps --j
  expect --interval -- demo --i
  expect_not --output -- report --o
  expect perf-event -- --fault-source p
  expect 8 -- --ringbuf-mib ""
  # -p: pids of live processes.
  sleep 30 &
  sleeper=$!
  cleanups+=("kill $sleeper 2>/dev/null; wait $sleeper 2>/dev/null")
  expect "$sleeper" -- -p ""
  expect "$sleeper" -- maps -p ""
  expect "$sleeper" -- record --pid ""
  # Files: for report, -o and --folded.
  mkdir "$tmp/files"
  touch "$tmp/files/run1.data" "$tmp/files/run2.data"
  expect "$tmp/files/run1.data" -- report "$tmp/files/run"
  expect "$tmp/files/run2.data" -- report --diff "$tmp/files/run1.data" "$tmp/files/run"
  expect "$tmp/files/run2.data" -- record -o "$tmp/files/run"
  expect "$tmp/files/run1.data" -- --folded "$tmp/files/r"
  expect "$tmp/files/run1.data" -- record --output = "$tmp/files/run"
  # After --: a command, then its arguments.
  expect bash -- -- bas
  expect "$tmp/files/run1.data" -- -f -- cat "$tmp/files/run"
  # -u: users.
  expect root -- -u ro
  echo "PASS: $completion completes subcommands, options, pids, files, users and commands"
  ;;

prometheus)
  dir=$1 alerts_test=$2
  need_tool promtool prometheus
  promtool check config "$dir/prometheus.yml" || fail "promtool check config $dir/prometheus.yml"
  promtool check rules "$dir/memtrace-alerts.yml" || fail "promtool check rules $dir/memtrace-alerts.yml"
  # The alerts fire on what they are about, and only then.
  promtool test rules "$alerts_test" || fail "promtool test rules $alerts_test"
  # The scrape config loads the rules next to it.
  grep -q 'memtrace-alerts.yml' "$dir/prometheus.yml" || fail "prometheus.yml does not load memtrace-alerts.yml"
  echo "PASS: the Prometheus examples pass promtool check config, check rules and test rules"
  ;;

unit)
  build=$1 unit=$2
  # The hardening the unit promises, and the command line it runs.
  grep -qx 'ExecStart=/usr/bin/memtrace exporter --listen 127.0.0.1:9479 -a' "$unit" || fail "$unit: ExecStart"
  for setting in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes; do
    grep -qx "$setting" "$unit" || fail "$unit lacks $setting"
  done
  caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
  for cap in CAP_BPF CAP_PERFMON CAP_SYS_RESOURCE; do
    [[ " $caps " == *" $cap "* ]] || fail "$unit: CapabilityBoundingSet lacks $cap"
  done
  for cap in $caps; do  # every capability in the set is explained in the comment above it
    grep -qE "^#   $cap " "$unit" || fail "$unit: no comment says what $cap is for"
  done
  need_tool systemd-analyze systemd
  # Verified as installed: the unit under a staged root, whose /usr/bin/memtrace exists.
  DESTDIR=$tmp/root cmake --install "$build" --prefix /usr >/dev/null || fail "cmake --install into $tmp/root"
  installed=$tmp/root/usr/lib/systemd/system/memtrace-exporter.service
  [[ -f $installed ]] || fail "cmake --install put no memtrace-exporter.service in /usr/lib/systemd/system"
  # systemd-analyze verify checks the unit against this machine's targets, that ExecStart's
  # binary is executable, and (man memtrace) its Documentation=: a copy whose binary is the staged
  # one, with the staged man pages on MANPATH.
  mkdir "$tmp/verify"
  sed "s|^ExecStart=/usr/bin/memtrace |ExecStart=$tmp/root/usr/bin/memtrace |" "$installed" >"$tmp/verify/memtrace-exporter.service"
  out=$(MANPATH=$tmp/root/usr/share/man systemd-analyze verify "$tmp/verify/memtrace-exporter.service" 2>&1) ||
    fail "systemd-analyze verify $installed:"$'\n'"$out"
  [[ -z $out ]] || fail "systemd-analyze verify $installed warns:"$'\n'"$out"
  # Its exposure, as systemd rates it: below 4 ("OK"; 10 is an unhardened service).
  exposure=$(systemd-analyze security --offline=true --root="$tmp/root" "$installed" 2>/dev/null |
    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  [[ -n $exposure ]] || fail "systemd-analyze security gave no exposure level"
  awk -v e="$exposure" 'BEGIN { exit !(e < 4.0) }' || fail "the unit's exposure level is $exposure (over 4)"
  echo "PASS: $unit verifies, exposure $exposure; capabilities: $caps"
  ;;

caps)
  # The unit's capabilities are enough for what memtrace does to another user's process: attach,
  # read its maps, and read its ELF file through /proc/PID/map_files/ (the file was deleted after
  # the process started, in a directory only its owner may enter: no path leads to it), which
  # takes CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_CHECKPOINT_RESTORE on top of CAP_BPF and
  # CAP_PERFMON.
  memtrace=$1 unit=$2
  need_root "tracing"
  need_tool setpriv util-linux
  need_tool python3 python3
  [[ -r /sys/kernel/btf/vmlinux ]] || unavailable "this kernel has no BTF"
  caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z' 'a-z')
  [[ -n $caps ]] || fail "$unit has no CapabilityBoundingSet"
  bounding="-all$(printf ',+%s' ${caps//cap_/})"
  # The target: memtrace's own demo workload, run as nobody.
  private=$tmp/nobody
  mkdir -m 0700 "$private"
  cp "$memtrace" "$private/workload"
  chown -R 65534:65534 "$private"
  setpriv --reuid=65534 --regid=65534 --clear-groups "$private/workload" demo-workload --pace 1 >/dev/null 2>&1 &
  target=$!
  cleanups+=("kill -KILL $target 2>/dev/null; wait $target 2>/dev/null")
  sleep 0.5
  kill -0 "$target" 2>/dev/null || fail "the workload did not start as nobody"
  rm "$private/workload"
  # As the unit runs it: uid 0 with nothing but that bounding set, and no new privileges.
  timeout 60 setpriv --bounding-set="$bounding" --inh-caps=-all --no-new-privs \
    "$memtrace" -d 2 -i 1 --json -p "$target" >"$tmp/trace.json" 2>"$tmp/trace.err" ||
    fail "memtrace with the unit's capabilities ($caps) could not trace: $(cat "$tmp/trace.err")"
  summary=$(tail -1 "$tmp/trace.json")
  python3 - "$summary" <<'EOF' || fail "memtrace with the unit's capabilities: $(cat "$tmp/trace.err")"
import json, sys
s = json.loads(sys.argv[1])
assert s["type"] == "summary", s["type"]
assert s["faults"] > 0, "no faults traced"
segments = {x["segment"] for x in s["segments"]}
# Sections of the workload's ELF file: it was read, through /proc/PID/map_files/.
named = [x for x in segments if x.startswith("workload (deleted) .")]
assert named, f"no section of the workload's own (deleted) ELF file among {sorted(segments)}"
print(f"{s['faults']} faults, {len(segments)} segments, of the workload: {sorted(named)}")
EOF
  echo "PASS: the unit's capabilities ($caps) trace another user's process and read its deleted ELF file"
  ;;

deb)
  build=$1 src=$2
  need_root "dpkg -i"
  need_tool cpack cmake
  need_tool dpkg-shlibdeps dpkg-dev
  need_tool man man-db
  package_state() {  # installed, config-files, half-installed, ...; not-installed
    local state
    state=$(dpkg-query -W -f='${db:Status-Status}' memtrace 2>/dev/null) || state=not-installed
    echo "${state:-not-installed}"
  }
  # A memtrace package that was there before the test would not be there after it.
  if [[ $(package_state) != not-installed ]]; then
    unavailable "a memtrace package is installed on this machine; the test would replace it (dpkg --purge memtrace first)"
  fi
  # 1. Build the package, in a directory of its own.
  timeout 600 cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1 ||
    fail "cpack -G DEB failed:"$'\n'"$(tail -20 "$tmp/cpack.log")"
  deb=$(ls "$tmp"/pkg/memtrace_*.deb 2>/dev/null | head -1)
  [[ -n $deb ]] || fail "cpack made no memtrace_*.deb: $(ls "$tmp/pkg")"
  # 2. Its metadata and contents, before installing anything.
  field() { dpkg-deb -f "$deb" "$1"; }
  [[ $(field Package) == memtrace ]] || fail "Package: $(field Package)"
  [[ $(field Section) == utils ]] || fail "Section: $(field Section)"
  [[ -n $(field Maintainer) ]] || fail "no Maintainer"
  [[ -n $(field Description) ]] || fail "no Description"
  depends=$(field Depends)
  for lib in libbpf libelf libdw libc6; do
    [[ $depends == *"$lib"* ]] || fail "Depends ($depends) lacks $lib: dpkg-shlibdeps did not run"
  done
  dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|' | grep -v '/$' | sort >"$tmp/contents"
  cat >"$tmp/expected" <<'EOF'
/usr/bin/memtrace
/usr/lib/systemd/system/memtrace-exporter.service
/usr/share/bash-completion/completions/memtrace
/usr/share/doc/memtrace/examples/memtrace-alerts.yml
/usr/share/doc/memtrace/examples/prometheus.yml
/usr/share/man/man1/memtrace.1.gz
EOF
  diff -u "$tmp/expected" "$tmp/contents" >&2 || fail "the package holds other files than expected (above)"
  # 3. Install it. From here on, whatever happens, it is removed again.
  cleanups+=("timeout 120 dpkg --purge memtrace >/dev/null 2>&1")
  timeout 120 dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || fail "dpkg -i $deb failed:"$'\n'"$(cat "$tmp/dpkg.log")"
  # 4. What it installed works where a host looks for it.
  [[ -x /usr/bin/memtrace ]] || fail "/usr/bin/memtrace is not there"
  if command -v git >/dev/null && git -C "$src" rev-parse HEAD >/dev/null 2>&1; then
    commit=$(git -C "$src" rev-parse --short=12 HEAD)
  else
    commit=unknown
  fi
  out=$(timeout 10 /usr/bin/memtrace --version) || fail "/usr/bin/memtrace --version exited with $?"
  [[ $out =~ ^memtrace\ $(field Version)\ \(commit\ $commit(-dirty)?\)$ ]] ||
    fail "/usr/bin/memtrace --version says '$out', expected version $(field Version) and commit $commit"
  page=$(man -w memtrace) || fail "man -w memtrace finds no page"
  [[ $page == /usr/share/man/man1/memtrace.1.gz ]] || fail "man -w memtrace: $page"
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings memtrace 2>&1 >/dev/null) || fail "man memtrace failed: $warnings"
  [[ -z $warnings ]] || fail "man --warnings memtrace: $warnings"
  gzip -t /usr/share/man/man1/memtrace.1.gz || fail "the man page is not a valid gzip file"
  [[ -f /usr/share/bash-completion/completions/memtrace ]] || fail "no bash completion in /usr/share/bash-completion/completions"
  bash -c 'source /usr/share/bash-completion/completions/memtrace && complete -p memtrace' >/dev/null ||
    fail "the installed completion does not register"
  unit=/usr/lib/systemd/system/memtrace-exporter.service
  [[ -f $unit ]] || fail "no $unit"
  grep -qx 'ExecStart=/usr/bin/memtrace exporter --listen 127.0.0.1:9479 -a' "$unit" || fail "$unit: ExecStart"
  for f in prometheus.yml memtrace-alerts.yml; do
    [[ -f /usr/share/doc/memtrace/examples/$f ]] || fail "no /usr/share/doc/memtrace/examples/$f"
  done
  dpkg -L memtrace | grep -q /usr/bin/memtrace || fail "dpkg -L memtrace does not list /usr/bin/memtrace"
  # 5. Remove it, and check that nothing is left.
  timeout 120 dpkg -r memtrace >"$tmp/dpkg-r.log" 2>&1 || fail "dpkg -r memtrace failed: $(cat "$tmp/dpkg-r.log")"
  for f in $(cat "$tmp/expected"); do
    [[ ! -e $f ]] || fail "$f is still there after dpkg -r memtrace"
  done
  # A package with a postrm stays known to dpkg (config-files) until purged: purge it too, so that
  # dpkg's database is as it was.
  timeout 120 dpkg --purge memtrace >"$tmp/dpkg-purge.log" 2>&1 || fail "dpkg --purge memtrace failed: $(cat "$tmp/dpkg-purge.log")"
  unset 'cleanups[-1]'
  [[ $(package_state) == not-installed ]] || fail "memtrace is still known to dpkg: $(package_state)"
  echo "PASS: $(basename "$deb") ($(stat -c %s "$deb") bytes, Depends: $depends) installs, runs '$out', has its man page, completion, unit and examples, and is removed"
  ;;

*)
  fail "unknown test $test"
  ;;
esac
