#include "analysis/fault_latency.h"

namespace memtrace {

void FaultLatency::on_fault_done(const FaultDoneEvent& e)
{
    if (e.done.hdr.type != MT_REC_FAULT_DONE)
        return;
    if (!e.timed) {
        ++unmatched_;
        return;
    }
    uint64_t us = e.latency_ns / 1000;
    per_segment_us_[e.segment][e.major].add(us);
    (e.major ? major_us_ : minor_us_).add(us);
    ++paired_;
}

void FaultLatency::report(Report& r, const ReportContext&)
{
    r.latency = enabled_;
    r.latency_minor_us = minor_us_;
    r.latency_major_us = major_us_;
    r.latency_paired = paired_;
    r.latency_unmatched = unmatched_;
    for (SegmentRow& row : r.segments) {
        auto it = per_segment_us_.find(row.id);
        if (it == per_segment_us_.end())
            continue;
        row.latency_minor_us = it->second[0];
        row.latency_major_us = it->second[1];
    }
}

}  // namespace memtrace
