// The kernel-facing layer of memtrace -a and memtrace exporter: loads memtrace_count.bpf.c, which
// counts faults per process and segment kind in the kernel, and reads its maps. RAII: destroying
// it detaches everything.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <linux/types.h>

#include "kernel/bpf_support.h"
#include "memtrace/events.h"

struct memtrace_count_bpf;

namespace memtrace {

struct CountOptions {
    uint32_t target_tgid = 0;   // -p: this process only (0: see the filters)
    std::string cgroup_path;    // --cgroup: a cgroup v2 directory; its processes and its descendants'
    std::string comm;           // --comm: processes of this name (at most 15 bytes, as the kernel keeps it)
    bool latency = false;       // fault latency histograms (one more program run per fault)
    uint32_t max_processes = 8192;  // processes counted at once (map sizes)
    bool verbose = false;
};

struct CountedProcess {
    uint32_t tgid = 0;
    mt_process_info info{};
    mt_kind_counts counts{};  // summed over the CPUs
};

struct CountHealth {
    uint64_t lookups = 0;   // faults whose kind the table did not know: looked up with bpf_find_vma
    uint64_t no_room = 0;   // faults of processes the maps had no room for (not counted)
};

class CountTracer {
public:
    // Opens, configures, loads and attaches; throws std::runtime_error with a one-line message
    // ("no cgroup v2 directory ...", "cannot load the BPF programs: ...").
    explicit CountTracer(const CountOptions& options);
    ~CountTracer();
    CountTracer(const CountTracer&) = delete;
    CountTracer& operator=(const CountTracer&) = delete;

    // Every process in the maps now: what the kernel counted since it first saw it.
    std::vector<CountedProcess> processes() const;
    // Drops an exited process from the maps, once its last counts were read.
    void forget(uint32_t tgid);
    CountHealth health() const;
    // --latency: the histograms, summed over the CPUs (cumulative).
    std::optional<mt_latency> latency() const;

private:
    struct SkeletonDeleter {
        void operator()(memtrace_count_bpf* skel) const;
    };
    std::unique_ptr<memtrace_count_bpf, SkeletonDeleter> skel_;
    std::vector<Link> perf_links_;
    int cgroup_fd_ = -1;
    int ncpus_ = 1;
    bool latency_ = false;
};

// The cgroup v2 id of a directory under the cgroup2 mount (its inode number), and back: the path
// of an id, relative to the mount ("/system.slice/nginx.service"); "" when it is not found.
uint64_t cgroup_id_of(const std::string& path);
std::string cgroup_path_of(uint64_t id);

}  // namespace memtrace
