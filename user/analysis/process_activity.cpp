#include "analysis/process_activity.h"

#include <algorithm>
#include <cstring>

namespace memtrace {
namespace {

constexpr size_t kMaxProcesses = 1 << 16;  // followed at once; exited ones leave at the next report

uint64_t total(const mt_kind_counts& c, uint64_t* kernel_mode = nullptr)
{
    uint64_t n = 0;
    for (int k = 0; k < MT_KINDS; ++k) {
        n += c.faults[k][0] + c.faults[k][1];
        if (kernel_mode)
            *kernel_mode += c.faults[k][1];
    }
    return n;
}

uint64_t majors(const mt_kind_counts& c)
{
    uint64_t n = 0;
    for (int k = 0; k < MT_KINDS; ++k)
        n += c.major[k][0] + c.major[k][1];
    return n;
}

std::string comm_of(const mt_process_counts& c) { return std::string(c.comm, strnlen(c.comm, sizeof(c.comm))); }

// Busiest in the interval first, then busiest overall; pids break ties.
bool busier(const ActivityRow& a, const ActivityRow& b)
{
    if (a.interval_faults != b.interval_faults)
        return a.interval_faults > b.interval_faults;
    if (a.faults != b.faults)
        return a.faults > b.faults;
    return a.pid != b.pid ? a.pid < b.pid : a.cgroup < b.cgroup;
}

}  // namespace

// A count that went down is another process under a reused pid (or the kernel's entry made anew).
bool ProcessActivity::continues(const mt_process_counts& earlier, const mt_process_counts& later)
{
    bool same = later.brk_grown >= earlier.brk_grown && later.mmap_bytes >= earlier.mmap_bytes &&
                later.brk_shrunk >= earlier.brk_shrunk && later.munmap_bytes >= earlier.munmap_bytes;
    for (int k = 0; k < MT_KINDS && same; ++k)
        same = later.counts.faults[k][0] >= earlier.counts.faults[k][0] &&
               later.counts.faults[k][1] >= earlier.counts.faults[k][1] &&
               later.counts.major[k][0] >= earlier.counts.major[k][0] && later.counts.major[k][1] >= earlier.counts.major[k][1];
    return same;
}

mt_process_counts ProcessActivity::added(const mt_process_counts& earlier, const mt_process_counts& later)
{
    mt_process_counts d = later;
    if (!continues(earlier, later))
        return d;  // all of it is new
    d.brk_grown -= earlier.brk_grown;
    d.brk_shrunk -= earlier.brk_shrunk;
    d.mmap_bytes -= earlier.mmap_bytes;
    d.munmap_bytes -= earlier.munmap_bytes;
    for (int k = 0; k < MT_KINDS; ++k) {
        d.counts.faults[k][0] -= earlier.counts.faults[k][0];
        d.counts.faults[k][1] -= earlier.counts.faults[k][1];
        d.counts.major[k][0] -= earlier.counts.major[k][0];
        d.counts.major[k][1] -= earlier.counts.major[k][1];
    }
    return d;
}

const std::string& ProcessActivity::cgroup_name(uint64_t id) const
{
    static const std::string unknown;
    auto it = cgroups_.find(id);
    return it == cgroups_.end() ? unknown : it->second;
}

size_t ProcessActivity::group_of(const mt_process_counts& c)
{
    std::pair<std::string, std::string> key{cgroup_name(c.cgroup_id), comm_of(c)};
    if (auto it = group_index_.find(key); it != group_index_.end())
        return it->second;
    if (groups_.size() >= max_groups_) {
        // Past the bound: "other", made once (as the first group), so that no series decreases.
        if (!group_index_.count({"other", "other"})) {
            MetricGroup other;
            other.cgroup = other.comm = "other";
            groups_.push_back(other);
            group_index_[{"other", "other"}] = groups_.size() - 1;
        }
        ++folded_processes_;
        return group_index_.at({"other", "other"});
    }
    MetricGroup g;
    g.cgroup = key.first;
    g.comm = key.second;
    groups_.push_back(std::move(g));
    group_index_.emplace(std::move(key), groups_.size() - 1);
    return groups_.size() - 1;
}

void ProcessActivity::on_cgroup(const CgroupRecord& c)
{
    if (cgroups_.size() < kMaxProcesses)
        cgroups_[c.id] = c.path;
}

void ProcessActivity::on_process_counts(const mt_process_counts& c)
{
    enabled_ = true;
    const uint32_t pid = c.hdr.tgid;
    auto it = processes_.find(pid);
    if (it != processes_.end() && it->second.exited) {
        processes_.erase(it);  // its pid, reused
        it = processes_.end();
    }
    if (it == processes_.end()) {
        if (processes_.size() >= kMaxProcesses)
            return;
        it = processes_.emplace(pid, Seen{}).first;
        it->second.at_report.hdr.tgid = pid;
        ++seen_;
    }
    Seen& s = it->second;
    mt_process_counts d = added(s.now, c);
    s.group = group_of(c);
    MetricGroup& g = groups_[s.group];
    for (int k = 0; k < MT_KINDS; ++k) {
        g.faults[k][0] += d.counts.faults[k][0];
        g.faults[k][1] += d.counts.faults[k][1];
        g.major[k][0] += d.counts.major[k][0];
        g.major[k][1] += d.counts.major[k][1];
    }
    g.brk_grown += d.brk_grown;
    g.mmap_bytes += d.mmap_bytes;
    if (!continues(s.now, c))
        s.at_report = mt_process_counts{};  // another process: its interval starts at nothing
    s.now = c;
    if (c.hdr.flags & MT_PROCESS_EXITED) {
        s.exited = true;
        ++exited_since_report_;
    }
}

void ProcessActivity::on_rss(const mt_rss& rss, const Process* process)
{
    if (process)
        return;  // a traced process's: resident_memory's
    auto it = processes_.find(rss.hdr.tgid);
    if (it == processes_.end())
        return;
    it->second.rss_known = true;
    it->second.rss = rss;
}

void ProcessActivity::on_latency_histogram(const mt_latency& l)
{
    latency_ = true;
    latency_hist_ = l;
}

ActivityRow ProcessActivity::row_of(uint32_t pid, const Seen& s) const
{
    ActivityRow row;
    row.pid = pid;
    row.comm = comm_of(s.now);
    row.cgroup = cgroup_name(s.now.cgroup_id);
    row.alive = !s.exited;
    mt_process_counts d = added(s.at_report, s.now);
    row.faults = total(s.now.counts, &row.kernel_mode);
    row.major = majors(s.now.counts);
    row.interval_faults = total(d.counts);
    row.interval_major = majors(d.counts);
    for (int k = 0; k < MT_KINDS; ++k) {
        row.by_kind[k] = s.now.counts.faults[k][0] + s.now.counts.faults[k][1];
        row.interval_by_kind[k] = d.counts.faults[k][0] + d.counts.faults[k][1];
    }
    row.brk_grown = s.now.brk_grown;
    row.mmap_bytes = s.now.mmap_bytes;
    row.interval_brk_grown = d.brk_grown;
    row.interval_mmap_bytes = d.mmap_bytes;
    row.rss_known = s.rss_known && !s.exited;
    row.rss_bytes = row.rss_known ? (s.rss.anon + s.rss.file + s.rss.shmem) * 4096 : 0;
    return row;
}

void ProcessActivity::cgroup_rows(Report& out) const
{
    std::map<std::string, ActivityRow> by_cgroup;
    for (const ActivityRow& p : out.activity) {
        auto [at, fresh] = by_cgroup.try_emplace(p.cgroup);
        ActivityRow& c = at->second;
        if (fresh) {
            c.cgroup = p.cgroup;
            c.processes = 0;
            c.alive = false;
        }
        ++c.processes;
        c.alive |= p.alive;
        c.faults += p.faults;
        c.major += p.major;
        c.kernel_mode += p.kernel_mode;
        c.interval_faults += p.interval_faults;
        c.interval_major += p.interval_major;
        for (int k = 0; k < MT_KINDS; ++k) {
            c.by_kind[k] += p.by_kind[k];
            c.interval_by_kind[k] += p.interval_by_kind[k];
        }
        c.brk_grown += p.brk_grown;
        c.mmap_bytes += p.mmap_bytes;
        c.interval_brk_grown += p.interval_brk_grown;
        c.interval_mmap_bytes += p.interval_mmap_bytes;
        c.rss_known |= p.rss_known;
        c.rss_bytes += p.rss_bytes;
    }
    for (auto& [name, row] : by_cgroup)
        out.cgroup_activity.push_back(row);
    std::sort(out.cgroup_activity.begin(), out.cgroup_activity.end(), busier);
}

void ProcessActivity::metric_groups(Report& out) const
{
    out.metric_groups = groups_;
    for (MetricGroup& g : out.metric_groups)
        g.live_processes = 0;
    for (const auto& [pid, s] : processes_) {
        if (s.exited || s.group >= out.metric_groups.size())
            continue;
        MetricGroup& g = out.metric_groups[s.group];
        ++g.live_processes;
        if (s.rss_known) {
            g.rss_anon += s.rss.anon * 4096;
            g.rss_file += s.rss.file * 4096;
            g.rss_shmem += s.rss.shmem * 4096;
            g.rss_swap += s.rss.swap * 4096;
        }
    }
    out.metric_groups_folded = folded_processes_;
}

void ProcessActivity::report(Report& out, const ReportContext& context)
{
    if (!enabled_)
        return;
    out.system_wide = true;
    std::vector<ActivityRow> all;
    all.reserve(processes_.size() + exited_top_.size());
    for (const auto& [pid, s] : processes_)
        all.push_back(row_of(pid, s));
    // The summary is of the whole trace: the busiest processes, gone ones too, by all their faults.
    auto by_total = [](const ActivityRow& a, const ActivityRow& b) {
        return a.faults != b.faults ? a.faults > b.faults : a.pid < b.pid;
    };
    if (context.final) {
        all.insert(all.end(), exited_top_.begin(), exited_top_.end());
        std::sort(all.begin(), all.end(), by_total);
    } else {
        std::sort(all.begin(), all.end(), busier);
    }
    out.activity_processes = seen_;
    out.activity_live = 0;
    for (const ActivityRow& r : all)
        out.activity_live += r.alive;
    out.activity_exited_in_interval = exited_since_report_;
    out.activity = all;
    cgroup_rows(out);
    if (out.activity.size() > top_rows_)
        out.activity.resize(top_rows_);
    if (out.cgroup_activity.size() > top_rows_)
        out.cgroup_activity.resize(top_rows_);
    metric_groups(out);
    out.kernel_latency = latency_;
    for (int s = 0; s < 2; ++s) {
        for (int b = 0; b < MT_LATENCY_BUCKETS; ++b)
            out.latency_ns_buckets[s][b] = latency_hist_.buckets[s][b];
        out.latency_ns_sum[s] = latency_hist_.sum_ns[s];
    }
    // The next interval starts here; exited processes have had their last row (the busiest stay
    // for the summary).
    for (auto it = processes_.begin(); it != processes_.end();) {
        if (it->second.exited) {
            ActivityRow last = row_of(it->first, it->second);
            last.interval_faults = last.interval_major = 0;
            last.interval_by_kind = {};
            last.interval_brk_grown = last.interval_mmap_bytes = 0;
            exited_top_.push_back(std::move(last));
            std::sort(exited_top_.begin(), exited_top_.end(), by_total);
            if (exited_top_.size() > top_rows_)
                exited_top_.resize(top_rows_);
            it = processes_.erase(it);
            continue;
        }
        it->second.at_report = it->second.now;
        ++it;
    }
    exited_since_report_ = 0;
}

}  // namespace memtrace
