#!/usr/bin/env bash
# Regenerates bpf/vmlinux.h from the running kernel's BTF. CO-RE relocates field offsets at load
# time, so the committed header builds a BPF object that runs on other BTF kernels too; regenerate
# only to use types or fields this kernel has that the committed header lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
bpftool btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h.tmp
mv bpf/vmlinux.h.tmp bpf/vmlinux.h
