// Checks that BPF tracing can work here, before anything is loaded, so that each failure is one
// clear line rather than a libbpf log.
#pragma once

namespace memtrace {

// Throws std::runtime_error with the message for the user when memtrace lacks privileges or the
// kernel lacks BTF. (A missing tracepoint shows up as ESRCH at load: see BpfTracer.)
void preflight_or_throw();

// True when the process has CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) in its effective set.
bool has_tracing_capabilities();

}  // namespace memtrace
