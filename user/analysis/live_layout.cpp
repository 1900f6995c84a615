#include "analysis/live_layout.h"

#include <algorithm>

#include "analysis/layout_band.h"
#include "model/layout.h"
#include "model/process_table.h"

namespace memtrace {
namespace {

constexpr uint64_t kPageMask = ~0xfffULL;

}  // namespace

void LiveLayout::count(const Process* process, uint64_t addr, SegmentId segment, uint64_t faults)
{
    if (!pictured_.is_pictured(process))
        return;
    const Region* region = process->space().region_of(addr);
    interval_faults_[{region ? region->start : 0, segment}] += faults;
    Band& band = band_of(*process, segment);
    band.current += faults;
    band.low = std::min(band.low, addr);
    if (segments_.at(segment).kind == SegmentKind::Stack)
        stack_low_ = std::min(stack_low_, addr & kPageMask);
}

LiveLayout::Band& LiveLayout::band_of(const Process& process, SegmentId segment)
{
    const SegmentBands::Placed p =
        band_index_.place(segments_, segment, [&] { return program_path(process.space()); });
    if (p.added) {
        Band band;
        band.label = p.placed.label;
        band.kind = segments_.at(segment).kind;
        band.area = p.placed.area;
        band.faults.assign(interval_ends_.size(), 0);
        bands_.push_back(std::move(band));
    }
    bands_[p.band].shared = bands_[p.band].shared || p.shared;
    return bands_[p.band];
}

void LiveLayout::on_process(const ProcessEvent& e)
{
    if (e.kind != ProcessEvent::Kind::Exec || e.process.pid != pictured_.pid())
        return;
    stack_low_ = ~0ULL;  // a new image, a new stack and heap
    reported_ = false;
}

std::vector<LayoutRegion> LiveLayout::layout_rows(const Process& process)
{
    const AddressSpace& space = process.space();
    const std::string program = program_path(space);
    std::vector<LayoutRegion> rows;
    for (const LayoutRow& r : build_layout(space, segments_, nullptr)) {
        const SegmentInfo& info = segments_.at(r.segment_id);
        LayoutRegion row;
        row.start = r.start;
        row.end = r.end;
        row.label = r.segment;
        row.kind = info.kind;
        row.segment = r.segment_id;
        if (info.kind == SegmentKind::Section) {
            row.object = base_name(info.object);
            row.program = info.object == program;
        }
        if (info.kind == SegmentKind::Heap) {
            const uint64_t heap = space.brk() > space.start_brk() ? space.brk() - space.start_brk() : 0;
            row.growth = reported_ ? static_cast<int64_t>(heap - reported_heap_) : 0;
            reported_heap_ = heap;
        }
        if (info.kind == SegmentKind::Stack) {
            row.start = std::min(row.start, stack_low_);
            row.growth = reported_ && reported_stack_start_ > row.start ? reported_stack_start_ - row.start : 0;
            reported_stack_start_ = row.start;
        }
        rows.push_back(std::move(row));
    }
    reported_ = true;
    return rows;
}

void LiveLayout::add_interval_faults(std::vector<LayoutRegion>& rows)
{
    std::map<std::pair<uint64_t, SegmentId>, size_t> by_region;
    std::map<SegmentId, size_t> by_segment;  // faults of a region that is gone go to its segment's first row
    for (size_t i = 0; i < rows.size(); ++i) {
        by_region.emplace(std::make_pair(rows[i].start, rows[i].segment), i);
        by_segment.emplace(rows[i].segment, i);
    }
    for (const auto& [key, faults] : interval_faults_) {
        auto exact = by_region.find(key);
        auto same_segment = by_segment.find(key.second);
        if (exact != by_region.end())
            rows[exact->second].interval_faults += faults;
        else if (same_segment != by_segment.end())
            rows[same_segment->second].interval_faults += faults;
    }
    interval_faults_.clear();
}

void LiveLayout::report_heat(Report& out, double elapsed_s)
{
    interval_ends_.push_back(elapsed_s);
    if (interval_ends_.size() > kHistory)
        interval_ends_.pop_front();
    for (Band& b : bands_) {
        b.faults.push_back(b.current);
        b.current = 0;
        if (b.faults.size() > kHistory)
            b.faults.pop_front();
    }
    out.segment_heat.interval_ends_s.assign(interval_ends_.begin(), interval_ends_.end());
    for (const Band& b : bands_) {
        SegmentHeat::Band row;
        row.label = b.shared ? "other segments" : b.label;
        row.kind = b.kind;
        row.area = b.area;
        row.low = b.low;
        row.faults.assign(b.faults.begin(), b.faults.end());
        out.segment_heat.bands.push_back(std::move(row));
    }
    std::stable_sort(out.segment_heat.bands.begin(), out.segment_heat.bands.end(),
                     [](const SegmentHeat::Band& a, const SegmentHeat::Band& b) {
                         return a.area != b.area ? a.area < b.area : a.low < b.low;
                     });
}

void LiveLayout::report(Report& out, const ReportContext& context)
{
    const Process* process = pictured_.find(context.processes);
    std::vector<LayoutRegion> rows;
    if (process && !process->space().regions().empty())
        rows = layout_rows(*process);
    if (rows.empty()) {  // exited and given back: its last layout stays in the picture, quiet
        rows = last_rows_;
        for (LayoutRegion& r : rows)
            r.interval_faults = r.growth = 0;
    }
    add_interval_faults(rows);
    last_rows_ = rows;
    out.layout = std::move(rows);
    report_heat(out, context.elapsed_s);
}

}  // namespace memtrace
