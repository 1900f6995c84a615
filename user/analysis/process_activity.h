// -a, --cgroup, --comm, exporter: what the kernel counted per process (MT_REC_PROCESS_COUNTS,
// cumulative), turned into the rows of a top-like table (the busiest processes of each interval,
// and the same by cgroup) and into the exporter's bounded, never-decreasing series per
// (cgroup, comm) group. A process that started and exited between two reports is in the next one.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analysis/analysis.h"

namespace memtrace {

class ProcessActivity : public Analysis {
public:
    ProcessActivity(size_t top_rows, size_t max_groups) : top_rows_(top_rows), max_groups_(max_groups) {}

    void on_trace_start(const mt_trace_start& s) override { enabled_ |= (s.flags & MT_TRACE_COUNTED) != 0; }
    void on_process_counts(const mt_process_counts& c) override;
    void on_cgroup(const CgroupRecord& c) override;
    void on_rss(const mt_rss& rss, const Process* process) override;
    void on_latency_histogram(const mt_latency& l) override;
    void report(Report& out, const ReportContext& context) override;

private:
    // One process as last counted, and at the last report.
    struct Seen {
        mt_process_counts now{}, at_report{};
        bool exited = false;
        bool rss_known = false;
        mt_rss rss{};
        size_t group = 0;  // index in groups_
    };
    static bool continues(const mt_process_counts& earlier, const mt_process_counts& later);
    // The counts `later` added to `earlier` (all of `later` when it is another process).
    static mt_process_counts added(const mt_process_counts& earlier, const mt_process_counts& later);
    size_t group_of(const mt_process_counts& c);
    const std::string& cgroup_name(uint64_t id) const;
    ActivityRow row_of(uint32_t pid, const Seen& s) const;
    void cgroup_rows(Report& out) const;
    void metric_groups(Report& out) const;

    size_t top_rows_, max_groups_;
    bool enabled_ = false;
    std::unordered_map<uint32_t, Seen> processes_;
    std::unordered_map<uint64_t, std::string> cgroups_;
    std::vector<MetricGroup> groups_;  // groups_[0] is "other" once the bound is reached
    std::map<std::pair<std::string, std::string>, size_t> group_index_;
    uint64_t folded_processes_ = 0;
    // The exited processes that faulted most (at most top_rows_), for the summary's table.
    std::vector<ActivityRow> exited_top_;
    uint32_t seen_ = 0, exited_since_report_ = 0;
    bool latency_ = false;
    mt_latency latency_hist_{};
};

}  // namespace memtrace
