// memtrace exporter's metrics, from a Report of the counting pipeline (-a, --cgroup, --comm, -p):
// the families a scrape returns, named by Prometheus conventions (base units, _total counters,
// HELP and TYPE), their labels bounded by design: (cgroup, comm) groups up to the pipeline's bound
// then "other", segment *kinds* (never file paths), mode and severity. Label values come from the
// traced side and are escaped by prometheus_text.
#pragma once

#include <cstdint>
#include <string>

#include "output/prometheus_text.h"
#include "pipeline/report.h"

namespace memtrace {

// What the exporter knows of itself.
struct ExporterStatus {
    double cpu_seconds = 0;      // user + system, from getrusage
    int64_t resident_bytes = 0;  // memtrace's own RSS
    uint64_t kind_lookups = 0;   // faults whose kind the kernel's table did not know (bpf_find_vma)
    double started_unix_s = 0;
    std::string version, commit;
};

Exposition metrics_exposition(const Report& report, const ExporterStatus& status);

}  // namespace memtrace
