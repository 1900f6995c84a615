// --latency: each fault timed from its entry (the tracepoint) to its completion (the software perf
// event that fires once the kernel accounted it), as log2 histograms, minor and major, per segment.
#pragma once

#include <array>
#include <unordered_map>

#include "analysis/analysis.h"

namespace memtrace {

class FaultLatency : public Analysis {
public:
    void on_trace_start(const mt_trace_start& start) override { enabled_ = start.flags & MT_TRACE_LATENCY; }
    void on_fault_done(const FaultDoneEvent& e) override;
    void report(Report& out, const ReportContext& context) override;

private:
    bool enabled_ = false;
    Log2Histogram minor_us_, major_us_;
    std::unordered_map<SegmentId, std::array<Log2Histogram, 2>> per_segment_us_;  // [0] minor, [1] major
    uint64_t paired_ = 0, unmatched_ = 0;
};

}  // namespace memtrace
