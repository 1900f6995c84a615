#!/usr/bin/env bash
# Installs, from Debian 12's archive, whatever memtrace needs to build, test and benchmark and is
# not there yet. Run as root. Safe to run again: it installs nothing that is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config            # C++ toolchain
  clang llvm                                  # clang -target bpf for the BPF object
  libclang-rt-14-dev                          # libFuzzer, ASan, UBSan for clang (scripts/fuzz.sh)
  libbpf-dev bpftool                          # libbpf 1.1, bpftool gen skeleton
  libelf-dev libdw-dev zlib1g-dev             # ELF sections (libelf), CRC-32 of trace file blocks (zlib)
  libzstd-dev                                 # trace files (memtrace record) compressed with zstd
  libfmt-dev libcli11-dev nlohmann-json3-dev  # formatting, options, JSON output
  libmicrohttpd-dev                           # the HTTP endpoint of memtrace exporter
  libgtest-dev libxml2-dev                    # tests (libxml2: the SVG output parsed back)
  chromium nodejs                             # browser tests of the SVG/HTML outputs (tests/browser)
  prometheus                                  # promtool and the server the exporter's tests scrape with
  util-linux                                  # setpriv for the non-root test, unshare for the container test
  gcc-multilib                                # the 32-bit (ia32) workload of the root tests
  linux-perf                                  # perf record --call-graph dwarf: what the stack tests compare with
  dpkg-dev                                    # dpkg-shlibdeps: the Depends of cpack -G DEB (tests/package)
  man-db groff-base                           # man -w / man --warnings of the man page (tests/package)
  systemd                                     # systemd-analyze verify of memtrace-exporter.service
  python3                                     # JSON checks of the root and package tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages: ${missing[*]}; run this as root (sudo $0)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
