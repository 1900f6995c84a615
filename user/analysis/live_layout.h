// The live pictures of the pictured process (see pictured_process.h): at every report, its layout
// as the model has it, each row with its faults of the interval and the heap's and the stack's
// growth; and its segments' faults over the last intervals, for the heatmap.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "analysis/analysis.h"
#include "analysis/layout_band.h"
#include "analysis/pictured_process.h"

namespace memtrace {

class LiveLayout : public Analysis {
public:
    static constexpr size_t kMaxBands = 64;       // segments kept apart in the heatmap
    static constexpr size_t kHistory = 240;      // intervals the heatmap remembers

    explicit LiveLayout(const SegmentTable& segments) : segments_(segments) {}
    void on_fault(const FaultEvent& e) override { count(e.process, e.fault.addr, e.segment, 1); }
    void on_overflow(const OverflowEvent& e) override { count(e.process, e.page.page, e.segment, e.page.faults); }
    void on_mapping(const MappingEvent& e) override { pictured_.is_pictured(&e.process); }
    void on_process(const ProcessEvent& e) override;
    void report(Report& out, const ReportContext& context) override;

private:
    struct Band {
        std::string label;
        SegmentKind kind = SegmentKind::Unmapped;
        LayoutArea area = LayoutArea::Unmapped;
        bool shared = false;  // segments past kMaxBands came into it
        uint64_t low = ~0ULL;
        std::deque<uint64_t> faults;  // per past interval
        uint64_t current = 0;         // in the interval that runs
    };
    void count(const Process* process, uint64_t addr, SegmentId segment, uint64_t faults);
    Band& band_of(const Process& process, SegmentId segment);
    std::vector<LayoutRegion> layout_rows(const Process& process);
    void add_interval_faults(std::vector<LayoutRegion>& rows);
    void report_heat(Report& out, double elapsed_s);

    const SegmentTable& segments_;
    PicturedProcess pictured_;
    // Faults of the interval by (start of the region they hit, segment): joined to the rows at the
    // report (a fault below the stack's VMA, in the room it grows into, has region start 0).
    std::map<std::pair<uint64_t, SegmentId>, uint64_t> interval_faults_;
    uint64_t stack_low_ = ~0ULL;  // the deepest page of the main stack that faulted
    uint64_t reported_stack_start_ = 0, reported_heap_ = 0;
    bool reported_ = false;
    std::vector<LayoutRegion> last_rows_;
    std::vector<Band> bands_;
    SegmentBands band_index_{kMaxBands};
    std::deque<double> interval_ends_;
};

}  // namespace memtrace
