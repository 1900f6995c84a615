// Faults per segment (minor, major, write, instruction, protection, kernel mode) and the headline
// totals: every fault placed by the model, streamed or counted per page in the kernel.
#pragma once

#include <vector>

#include "analysis/analysis.h"

namespace memtrace {

class SegmentCounts : public Analysis {
public:
    explicit SegmentCounts(const SegmentTable& segments) : segments_(segments) {}
    void on_trace_start(const mt_trace_start& start) override { access_unknown_ = start.flags & MT_TRACE_PERF_FAULTS; }
    void on_fault(const FaultEvent& e) override;
    void on_fault_done(const FaultDoneEvent& e) override;
    void on_overflow(const OverflowEvent& e) override;
    void report(Report& out, const ReportContext& context) override;

private:
    struct Counters {
        uint64_t faults = 0, major = 0, writes = 0, instr = 0, protection = 0, kernel_mode = 0;
        uint64_t reported_faults = 0;  // `faults` at the previous report
    };
    Counters& at(SegmentId id);

    const SegmentTable& segments_;
    std::vector<Counters> counters_;
    uint64_t faults_ = 0, major_ = 0, reported_faults_ = 0;
    bool access_unknown_ = false;
};

}  // namespace memtrace
