#include "analysis/segment_counts.h"

#include <algorithm>

namespace memtrace {

SegmentCounts::Counters& SegmentCounts::at(SegmentId id)
{
    if (id >= counters_.size())
        counters_.resize(std::max<size_t>(segments_.size(), id + 1));
    return counters_[id];
}

void SegmentCounts::on_fault(const FaultEvent& e)
{
    Counters& c = at(e.segment);
    const uint16_t flags = e.fault.hdr.flags;
    ++c.faults;
    c.writes += (flags & MT_FAULT_WRITE) != 0;
    c.instr += (flags & MT_FAULT_INSTR) != 0;
    c.protection += (flags & MT_FAULT_PROTECTION) != 0;
    c.kernel_mode += (flags & MT_FAULT_KERNEL_MODE) != 0;
    ++faults_;
}

void SegmentCounts::on_fault_done(const FaultDoneEvent& e)
{
    if (!e.major)
        return;
    ++major_;
    if (e.paired)
        ++at(e.segment).major;
}

void SegmentCounts::on_overflow(const OverflowEvent& e)
{
    Counters& c = at(e.segment);
    c.faults += e.page.faults;
    c.major += e.page.major;
    c.writes += e.page.writes;
    c.instr += e.page.instr;
    c.protection += e.page.protection;
    c.kernel_mode += e.page.kernel_mode;
    faults_ += e.page.faults;
    major_ += e.page.major;
}

void SegmentCounts::report(Report& r, const ReportContext&)
{
    r.faults = faults_;
    r.major = major_;
    r.access_unknown = access_unknown_;
    r.interval_faults = faults_ - reported_faults_;
    reported_faults_ = faults_;
    for (SegmentId id = 0; id < counters_.size(); ++id) {
        Counters& c = counters_[id];
        if (!c.faults)
            continue;
        const SegmentInfo& info = segments_.at(id);
        SegmentRow row;
        row.id = id;
        row.label = info.label;
        row.kind = info.kind;
        row.faults = c.faults;
        row.major = c.major;
        row.writes = c.writes;
        row.instr = c.instr;
        row.protection = c.protection;
        row.kernel_mode = c.kernel_mode;
        row.interval_faults = c.faults - c.reported_faults;
        c.reported_faults = c.faults;
        r.segments.push_back(std::move(row));
    }
    std::stable_sort(r.segments.begin(), r.segments.end(), [](const SegmentRow& a, const SegmentRow& b) {
        return a.faults != b.faults ? a.faults > b.faults : a.label < b.label;
    });
}

}  // namespace memtrace
