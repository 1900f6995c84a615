#include "kernel/count_tracer.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <filesystem>
#include <linux/magic.h>
#include <linux/perf_event.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "memtrace_count.skel.h"
#include "output/format_util.h"

namespace memtrace {
namespace {

// Where the cgroup v2 hierarchy is mounted ("" when there is none: cgroup v1 only).
std::string cgroup2_mount()
{
    std::ifstream mounts("/proc/self/mounts");
    for (std::string line; std::getline(mounts, line);) {
        std::istringstream fields(line);
        std::string device, dir, type;
        if (fields >> device >> dir >> type && type == "cgroup2")
            return dir;
    }
    return {};
}

// An open cgroup v2 directory for --cgroup: an absolute path into the hierarchy, or a path
// relative to its mount ("/system.slice/nginx.service", "system.slice").
int open_cgroup(const std::string& path)
{
    std::string mount = cgroup2_mount();
    if (mount.empty())
        throw std::runtime_error("--cgroup needs cgroup v2, and this machine mounts no cgroup2 hierarchy (cgroup v1 only)");
    std::vector<std::string> candidates;
    if (path.rfind(mount, 0) == 0)
        candidates.push_back(path);
    candidates.push_back(mount + (path.empty() || path[0] != '/' ? "/" : "") + path);
    for (const std::string& c : candidates) {
        int fd = ::open(c.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct statfs fs {};
        if (fstatfs(fd, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
            return fd;
        ::close(fd);
    }
    throw std::runtime_error(fmt::format("--cgroup {}: no such cgroup under the cgroup v2 mount {}", terminal_safe(path), mount));
}

}  // namespace

void CountTracer::SkeletonDeleter::operator()(memtrace_count_bpf* skel) const { memtrace_count_bpf__destroy(skel); }

CountTracer::CountTracer(const CountOptions& options) : latency_(options.latency)
{
    route_libbpf_log(options.verbose);
    if (options.comm.size() > 15)
        throw std::runtime_error(fmt::format("--comm {}: the kernel keeps 15 bytes of a name; give at most that",
                                             terminal_safe(options.comm)));
    if (!options.cgroup_path.empty())
        cgroup_fd_ = open_cgroup(options.cgroup_path);
    skel_.reset(memtrace_count_bpf__open());
    if (!skel_)
        throw libbpf_error("cannot open the BPF object", errno);
    skel_->rodata->target_tgid = options.target_tgid;
    skel_->rodata->self_tgid = static_cast<__u32>(getpid());
    skel_->rodata->filter_cgroup = cgroup_fd_ >= 0;
    skel_->rodata->filter_by_comm = !options.comm.empty();
    std::memcpy(const_cast<char*>(skel_->rodata->filter_comm), options.comm.data(), options.comm.size());
    skel_->rodata->measure_latency = options.latency;
    ncpus_ = std::max(1, libbpf_num_possible_cpus());
    for (bpf_map* m : {skel_->maps.fault_counts, skel_->maps.processes})
        bpf_map__set_max_entries(m, options.max_processes);
    bpf_program__set_autoload(skel_->progs.count_minor, options.latency);
    if (int err = memtrace_count_bpf__load(skel_.get())) {
        if (err == -ESRCH)
            throw std::runtime_error(
                "this kernel lacks a tracepoint memtrace attaches to (exceptions:page_fault_user and "
                "page_fault_kernel exist on x86 only)");
        throw libbpf_error("cannot load the BPF programs", err);
    }
    if (cgroup_fd_ >= 0) {
        __u32 zero = 0;
        if (bpf_map__update_elem(skel_->maps.cgroup_filter, &zero, sizeof(zero), &cgroup_fd_, sizeof(cgroup_fd_), BPF_ANY))
            throw libbpf_error("cannot set the cgroup filter", errno);
    }
    if (int err = memtrace_count_bpf__attach(skel_.get()))
        throw libbpf_error("cannot attach the BPF programs", err);
    attach_software_event(skel_->progs.count_major, PERF_COUNT_SW_PAGE_FAULTS_MAJ, "major-fault", perf_links_);
    if (options.latency)
        attach_software_event(skel_->progs.count_minor, PERF_COUNT_SW_PAGE_FAULTS_MIN, "minor-fault", perf_links_);
}

CountTracer::~CountTracer()
{
    perf_links_.clear();
    skel_.reset();
    if (cgroup_fd_ >= 0)
        ::close(cgroup_fd_);
}

std::vector<CountedProcess> CountTracer::processes() const
{
    std::vector<CountedProcess> out;
    std::vector<mt_kind_counts> per_cpu(ncpus_);
    for (__u32 tgid : map_keys<__u32>(skel_->maps.processes)) {
        CountedProcess p;
        p.tgid = tgid;
        if (bpf_map__lookup_elem(skel_->maps.processes, &tgid, sizeof(tgid), &p.info, sizeof(p.info), 0) != 0)
            continue;
        if (bpf_map__lookup_elem(skel_->maps.fault_counts, &tgid, sizeof(tgid), per_cpu.data(),
                                 per_cpu.size() * sizeof(mt_kind_counts), 0) == 0) {
            for (const mt_kind_counts& c : per_cpu) {
                for (int k = 0; k < MT_KINDS; ++k) {
                    p.counts.faults[k][0] += c.faults[k][0];
                    p.counts.faults[k][1] += c.faults[k][1];
                    p.counts.major[k][0] += c.major[k][0];
                    p.counts.major[k][1] += c.major[k][1];
                }
            }
        }
        out.push_back(p);
    }
    return out;
}

void CountTracer::forget(uint32_t tgid)
{
    bpf_map__delete_elem(skel_->maps.fault_counts, &tgid, sizeof(tgid), 0);
    bpf_map__delete_elem(skel_->maps.processes, &tgid, sizeof(tgid), 0);
}

CountHealth CountTracer::health() const
{
    std::vector<__u64> values(ncpus_);
    uint64_t sums[2] = {};
    for (__u32 key = 0; key < 2; ++key) {
        if (bpf_map__lookup_elem(skel_->maps.health, &key, sizeof(key), values.data(), values.size() * sizeof(__u64), 0))
            continue;
        for (__u64 v : values)
            sums[key] += v;
    }
    return {sums[0], sums[1]};
}

std::optional<mt_latency> CountTracer::latency() const
{
    if (!latency_)
        return std::nullopt;
    struct Hist {
        __u64 buckets[2][MT_LATENCY_BUCKETS];
        __u64 sum_ns[2];
    };
    std::vector<Hist> per_cpu(ncpus_);
    __u32 zero = 0;
    if (bpf_map__lookup_elem(skel_->maps.latency, &zero, sizeof(zero), per_cpu.data(), per_cpu.size() * sizeof(Hist), 0))
        return std::nullopt;
    mt_latency out{};
    for (const Hist& h : per_cpu)
        for (int s = 0; s < 2; ++s) {
            out.sum_ns[s] += h.sum_ns[s];
            for (int b = 0; b < MT_LATENCY_BUCKETS; ++b)
                out.buckets[s][b] += h.buckets[s][b];
        }
    return out;
}

uint64_t cgroup_id_of(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

std::string cgroup_path_of(uint64_t id)
{
    std::string mount = cgroup2_mount();
    if (mount.empty() || !id)
        return {};
    std::error_code ec;
    if (cgroup_id_of(mount) == id)
        return "/";
    // Bounded: a machine has hundreds of cgroups, not millions.
    size_t seen = 0;
    for (auto it = std::filesystem::recursive_directory_iterator(mount, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator() && seen < 100000; it.increment(ec), ++seen) {
        if (!it->is_directory(ec))
            continue;
        if (cgroup_id_of(it->path()) == id)
            return it->path().string().substr(mount.size());
    }
    return {};
}

}  // namespace memtrace
