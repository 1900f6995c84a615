#include "output/prometheus_metrics.h"

#include <algorithm>
#include <cmath>

#include "output/format_util.h"

namespace memtrace {
namespace {

// Latency buckets' upper bounds: the kernel counts log2 buckets of nanoseconds, bucket b holding
// [2^b, 2^(b+1)) ns; these are the bounds from 1 µs (2^10 ns) to about 8.6 s (2^33 ns).
constexpr int kFirstBound = 10, kLastBound = 33;

MetricFamily page_faults(const Report& r)
{
    MetricFamily f = MetricFamily::counter(
        "memtrace_page_faults", "Page faults of the counted processes, by segment kind, mode and severity",
        {"cgroup", "comm", "kind", "mode", "severity"});
    for (const MetricGroup& g : r.metric_groups)
        for (int k = 0; k < MT_KINDS; ++k)
            for (int m = 0; m < 2; ++m) {
                uint64_t all = g.faults[k][m], major = std::min(g.major[k][m], all);
                if (!all)
                    continue;  // a series appears with its first fault: a bounded set of what happened
                const char* mode = m ? "kernel" : "user";
                if (all > major)
                    f.add({g.cgroup, g.comm, kind_name(k), mode, "minor"}, all - major);
                if (major)
                    f.add({g.cgroup, g.comm, kind_name(k), mode, "major"}, major);
            }
    return f;
}

MetricFamily bytes(const Report& r, const char* name, const char* help, uint64_t MetricGroup::*field)
{
    MetricFamily f = MetricFamily::counter(name, help, {"cgroup", "comm"}, "bytes");
    for (const MetricGroup& g : r.metric_groups)
        f.add({g.cgroup, g.comm}, g.*field);
    return f;
}

MetricFamily resident(const Report& r)
{
    MetricFamily f = MetricFamily::gauge("memtrace_resident_bytes",
                                         "Resident memory of the live counted processes (from /proc/PID/status)",
                                         {"cgroup", "comm", "type"}, "bytes");
    for (const MetricGroup& g : r.metric_groups) {
        if (!g.live_processes)
            continue;
        f.add({g.cgroup, g.comm, "anon"}, g.rss_anon);
        f.add({g.cgroup, g.comm, "file"}, g.rss_file);
        f.add({g.cgroup, g.comm, "shmem"}, g.rss_shmem);
        f.add({g.cgroup, g.comm, "swap"}, g.rss_swap);
    }
    return f;
}

MetricFamily processes(const Report& r)
{
    MetricFamily f = MetricFamily::gauge("memtrace_processes", "Live counted processes", {"cgroup", "comm"});
    for (const MetricGroup& g : r.metric_groups)
        f.add({g.cgroup, g.comm}, uint64_t{g.live_processes});
    return f;
}

MetricFamily latency(const Report& r)
{
    std::vector<double> bounds;
    for (int b = kFirstBound; b <= kLastBound; ++b)
        bounds.push_back(std::ldexp(1.0, b) / 1e9);
    MetricFamily f = MetricFamily::histogram("memtrace_fault_latency_seconds",
                                             "Time from a page fault's entry to its completion", bounds,
                                             {"severity"}, "seconds");
    for (int s = 0; s < 2; ++s) {
        // Kernel bucket b ends at 2^(b+1) ns: it goes under the first bound at or above that.
        std::vector<uint64_t> per_bound(bounds.size() + 1, 0);
        for (int b = 0; b < MT_LATENCY_BUCKETS; ++b) {
            int bound = std::clamp(b + 1, kFirstBound, kLastBound + 1) - kFirstBound;
            per_bound[static_cast<size_t>(bound)] += r.latency_ns_buckets[s][b];
        }
        f.add({s ? "major" : "minor"}, HistogramPoint::from_bucket_counts(per_bound, r.latency_ns_sum[s] / 1e9));
    }
    return f;
}

MetricFamily single(MetricFamily f, SampleValue v)
{
    f.add({}, v);
    return f;
}

}  // namespace

Exposition metrics_exposition(const Report& r, const ExporterStatus& s)
{
    Exposition e;
    e.add(page_faults(r));
    e.add(bytes(r, "memtrace_brk_bytes", "Bytes the program break grew by (brk)", &MetricGroup::brk_grown));
    e.add(bytes(r, "memtrace_mmap_bytes", "Bytes mapped by mmap, and by mremap growth", &MetricGroup::mmap_bytes));
    e.add(resident(r));
    e.add(processes(r));
    if (r.kernel_latency)
        e.add(latency(r));
    e.add(single(MetricFamily::gauge("memtrace_traced_processes", "Live processes memtrace counts"),
                 uint64_t{r.activity_live}));
    e.add(single(MetricFamily::counter("memtrace_other_processes",
                                       "Processes counted under cgroup and comm \"other\": past the series bound"),
                 r.metric_groups_folded));
    e.add(single(MetricFamily::counter("memtrace_dropped_records",
                                       "Faults the kernel could not count: its tables had no room for the process"),
                 r.overflow_lost));
    e.add(single(MetricFamily::counter("memtrace_kind_lookups",
                                       "Faults whose segment kind was looked up (bpf_find_vma): a cost, not an error"),
                 s.kind_lookups));
    e.add(single(MetricFamily::counter("memtrace_cpu_seconds", "memtrace's own CPU time", {}, "seconds"), s.cpu_seconds));
    e.add(single(MetricFamily::gauge("memtrace_resident_memory_bytes", "memtrace's own resident memory", {}, "bytes"),
                 s.resident_bytes));
    e.add(single(MetricFamily::gauge("memtrace_start_time_seconds", "When memtrace started (Unix time)", {}, "seconds"),
                 s.started_unix_s));
    MetricFamily build = MetricFamily::gauge("memtrace_build_info", "memtrace's version and commit", {"version", "commit"});
    build.add({s.version, s.commit}, uint64_t{1});
    e.add(std::move(build));
    return e;
}

}  // namespace memtrace
