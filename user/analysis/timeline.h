// The whole trace in time buckets (pipeline/pictures.h's Timeline), for the HTML page and the
// Perfetto trace: faults per segment and per segment kind, the pictured process's address x time
// heatmap, heap and resident memory, and the address-space calls and crashes as markers. Bounded:
// at most Timeline::kMaxBuckets buckets (two merged into one when the trace outgrows them), bands,
// rows per band, processes and markers. Written into the final report only.
#pragma once

#include <array>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analysis/analysis.h"
#include "analysis/layout_band.h"
#include "analysis/pictured_process.h"

namespace memtrace {

class TimelineRecorder : public Analysis {
public:
    static constexpr uint64_t kFirstBucketNs = 1'000'000;
    static constexpr size_t kMaxBands = 128;       // segments with a band of their own
    static constexpr size_t kMaxRowsPerBand = 16;  // address ranges a band is cut into

    explicit TimelineRecorder(const SegmentTable& segments) : segments_(segments) {}
    void on_trace_start(const mt_trace_start& start) override { origin_ns_ = start.hdr.ts_ns; }
    void on_fault(const FaultEvent& e) override;
    void on_overflow(const OverflowEvent& e) override;
    void on_mapping(const MappingEvent& e) override;
    void on_process(const ProcessEvent& e) override;
    void on_signal(const SignalEvent& e) override;
    void on_rss(const mt_rss& rss, const Process* process) override;
    void report(Report& out, const ReportContext& context) override;

private:
    struct Band {
        std::string label;
        SegmentKind kind = SegmentKind::Unmapped;
        LayoutArea area = LayoutArea::Unmapped;
        std::vector<std::string> segments;
        bool shared = false;  // segments past kMaxBands came into it
        unsigned row_shift = 12;
        std::vector<uint64_t> rows;  // address >> row_shift, ascending
        uint64_t faults = 0;
        std::vector<std::vector<std::pair<uint64_t, uint64_t>>> cells;  // per bucket: (row, faults)
    };

    size_t bucket_at(uint64_t ts_ns);
    void grow_to(size_t buckets);
    void merge_bucket_pairs();
    void add_faults(const Process* process, const mt_header& h, uint64_t addr, SegmentId segment, uint64_t faults);
    void add_heat(const Process& process, size_t bucket, uint64_t addr, SegmentId segment, uint64_t faults);
    Band& band_of(const Process& process, SegmentId segment);
    static void coarsen(Band& band);
    Timeline::Process* series_of(const Process& process);
    void sample_heap(const Process& process, size_t bucket);
    void add_marker(Timeline::MarkerKind kind, const mt_header& h, uint64_t addr, uint64_t len, std::string text);
    Timeline build() const;
    std::vector<size_t> band_order() const;
    std::vector<Timeline::Cell> heat_cells(const std::vector<size_t>& order) const;
    std::vector<Timeline::SegmentSeries> segment_series() const;

    const SegmentTable& segments_;
    PicturedProcess pictured_;
    uint64_t origin_ns_ = 0, bucket_ns_ = kFirstBucketNs;
    size_t buckets_ = 0;
    std::vector<std::unordered_map<SegmentId, uint64_t>> segment_faults_;  // per bucket
    std::vector<Band> bands_;
    SegmentBands band_index_{kMaxBands};
    std::vector<Timeline::Process> processes_;
    std::unordered_map<uint32_t, size_t> process_index_;  // kNotKept: past the bound
    uint64_t processes_not_kept_ = 0;
    std::vector<Timeline::Marker> markers_;
    uint64_t markers_not_kept_ = 0;
    std::vector<std::array<uint64_t, Timeline::kMarkerKinds>> marker_counts_;  // per bucket
};

}  // namespace memtrace
