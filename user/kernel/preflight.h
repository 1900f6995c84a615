// Checks that BPF tracing can work here, before anything is loaded, so that each failure is one
// clear line rather than a libbpf log.
#pragma once

#include <string>

namespace memtrace {

// Throws std::runtime_error with the message for the user when memtrace lacks privileges or the
// kernel lacks BTF. Mounts tracefs when it is missing (libbpf attaches tp/ programs through it).
void preflight_or_throw();

// True when the process has CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) in its effective set.
bool has_tracing_capabilities();

// Mounts tracefs at /sys/kernel/tracing when neither it nor debugfs' copy is there.
void ensure_tracefs_or_throw();

}  // namespace memtrace
