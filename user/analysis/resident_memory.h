// Resident memory of the traced processes: samples of the live ones (RSS records, from
// /proc/PID/status once an interval) and each process's peak at exit (from its exit record).
#pragma once

#include <map>
#include <vector>

#include "analysis/analysis.h"

namespace memtrace {

class ResidentMemory : public Analysis {
public:
    void on_rss(const mt_rss& rss, const Process* process) override;
    void on_process(const ProcessEvent& e) override;
    void report(Report& out, const ReportContext& context) override;

private:
    struct Sample {
        int64_t anon = 0, file = 0, shmem = 0, swap = 0, peak = 0;  // pages
        bool alive = true;
    };
    std::map<uint32_t, Sample> samples_;
    int64_t peak_ = 0;  // bytes
    bool seen_ = false;
    std::vector<uint64_t> history_, anon_history_, file_history_, shmem_history_;
};

}  // namespace memtrace
