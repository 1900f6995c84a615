#include "analysis/timeline.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "analysis/crash_explainer.h"
#include "analysis/layout_band.h"
#include "model/process_table.h"

namespace memtrace {
namespace {

constexpr size_t kNotKept = std::numeric_limits<size_t>::max();
constexpr int64_t kPageSize = 4096;

// Halves a per-bucket vector: bucket i becomes buckets 2i and 2i+1 merged.
template <typename T, typename Merge>
void halve(std::vector<T>& buckets, Merge merge)
{
    const size_t half = (buckets.size() + 1) / 2;
    for (size_t i = 0; i < half; ++i) {
        T merged = std::move(buckets[2 * i]);
        if (2 * i + 1 < buckets.size())
            merge(merged, buckets[2 * i + 1]);
        buckets[i] = std::move(merged);
    }
    buckets.resize(half);
}

void add_counts(std::array<uint64_t, kSegmentKinds>& into, const std::array<uint64_t, kSegmentKinds>& from)
{
    for (size_t k = 0; k < into.size(); ++k)
        into[k] += from[k];
}

// A gauge holds the last value known in the bucket.
void later_gauge(int64_t& into, int64_t from)
{
    if (from >= 0)
        into = from;
}

// (row, faults) pairs: adds `faults` to `row`'s.
void add_cell(std::vector<std::pair<uint64_t, uint64_t>>& cells, uint64_t row, uint64_t faults)
{
    for (auto& cell : cells)
        if (cell.first == row) {
            cell.second += faults;
            return;
        }
    cells.emplace_back(row, faults);
}

int64_t heap_of(const AddressSpace& space)
{
    return space.brk() > space.start_brk() ? static_cast<int64_t>(space.brk() - space.start_brk()) : 0;
}

}  // namespace

size_t TimelineRecorder::bucket_at(uint64_t ts_ns)
{
    const uint64_t since_start = ts_ns > origin_ns_ ? ts_ns - origin_ns_ : 0;
    while (since_start / bucket_ns_ >= Timeline::kMaxBuckets)
        merge_bucket_pairs();
    const size_t bucket = since_start / bucket_ns_;
    grow_to(bucket + 1);
    return bucket;
}

void TimelineRecorder::grow_to(size_t buckets)
{
    if (buckets <= buckets_)
        return;
    buckets_ = buckets;
    segment_faults_.resize(buckets);
    marker_counts_.resize(buckets);
    for (Timeline::Process& p : processes_) {
        p.faults.resize(buckets);
        for (auto* gauge : {&p.heap, &p.rss_anon, &p.rss_file, &p.rss_shmem})
            gauge->resize(buckets, -1);
    }
}

void TimelineRecorder::merge_bucket_pairs()
{
    bucket_ns_ *= 2;
    halve(segment_faults_, [](auto& into, const auto& from) {
        for (const auto& [segment, faults] : from)
            into[segment] += faults;
    });
    halve(marker_counts_, [](auto& into, const auto& from) {
        for (size_t k = 0; k < into.size(); ++k)
            into[k] += from[k];
    });
    for (Timeline::Process& p : processes_) {
        halve(p.faults, add_counts);
        for (auto* gauge : {&p.heap, &p.rss_anon, &p.rss_file, &p.rss_shmem})
            halve(*gauge, later_gauge);
    }
    for (Band& b : bands_)
        halve(b.cells, [](auto& into, const auto& from) {
            for (const auto& [row, faults] : from)
                add_cell(into, row, faults);
        });
    buckets_ = segment_faults_.size();
}

Timeline::Process* TimelineRecorder::series_of(const Process& process)
{
    if (!process.traced)
        return nullptr;
    auto [it, added] = process_index_.try_emplace(process.pid, processes_.size());
    if (added) {
        if (processes_.size() >= Timeline::kMaxProcesses) {
            it->second = kNotKept;
            ++processes_not_kept_;
            return nullptr;
        }
        Timeline::Process p;
        p.pid = process.pid;
        p.faults.resize(buckets_);
        for (auto* gauge : {&p.heap, &p.rss_anon, &p.rss_file, &p.rss_shmem})
            gauge->resize(buckets_, -1);
        processes_.push_back(std::move(p));
    }
    if (it->second == kNotKept)
        return nullptr;
    Timeline::Process& p = processes_[it->second];
    p.comm = process.comm;
    return &p;
}

void TimelineRecorder::on_fault(const FaultEvent& e)
{
    add_faults(e.process, e.fault.hdr, e.fault.addr, e.segment, 1);
}

void TimelineRecorder::on_overflow(const OverflowEvent& e)
{
    add_faults(e.process, e.page.hdr, e.page.page, e.segment, e.page.faults);
}

void TimelineRecorder::add_faults(const Process* process, const mt_header& h, uint64_t addr, SegmentId segment,
                                  uint64_t faults)
{
    const size_t bucket = bucket_at(h.ts_ns);
    segment_faults_[bucket][segment] += faults;
    if (!process)
        return;
    if (Timeline::Process* series = series_of(*process)) {
        series->faults[bucket][static_cast<size_t>(segments_.at(segment).kind)] += faults;
        if (series->tids.size() < Timeline::kMaxThreads &&
            std::find(series->tids.begin(), series->tids.end(), h.tid) == series->tids.end())
            series->tids.push_back(h.tid);
    }
    if (pictured_.is_pictured(process))
        add_heat(*process, bucket, addr, segment, faults);
}

TimelineRecorder::Band& TimelineRecorder::band_of(const Process& process, SegmentId segment)
{
    const SegmentBands::Placed p =
        band_index_.place(segments_, segment, [&] { return program_path(process.space()); });
    if (p.added) {
        Band band;
        band.label = p.placed.label;
        band.kind = segments_.at(segment).kind;
        band.area = p.placed.area;
        bands_.push_back(std::move(band));
    }
    Band& band = bands_[p.band];
    band.shared = band.shared || p.shared;
    if (!p.placed.identity.empty())  // the segment's first fault
        band.segments.push_back(segments_.at(segment).label);
    return band;
}

// Too many address ranges in a band: each row covers twice as much, neighbours become one.
void TimelineRecorder::coarsen(Band& b)
{
    ++b.row_shift;
    for (uint64_t& row : b.rows)
        row >>= 1;
    b.rows.erase(std::unique(b.rows.begin(), b.rows.end()), b.rows.end());
    for (auto& cells : b.cells) {
        std::vector<std::pair<uint64_t, uint64_t>> coarser;
        for (const auto& [row, n] : cells)
            add_cell(coarser, row >> 1, n);
        cells = std::move(coarser);
    }
}

void TimelineRecorder::add_heat(const Process& process, size_t bucket, uint64_t addr, SegmentId segment,
                                uint64_t faults)
{
    Band& b = band_of(process, segment);
    auto at = std::lower_bound(b.rows.begin(), b.rows.end(), addr >> b.row_shift);
    if (at == b.rows.end() || *at != addr >> b.row_shift)
        b.rows.insert(at, addr >> b.row_shift);
    while (b.rows.size() > kMaxRowsPerBand)
        coarsen(b);
    if (b.cells.size() <= bucket)
        b.cells.resize(bucket + 1);
    add_cell(b.cells[bucket], addr >> b.row_shift, faults);
    b.faults += faults;
}

void TimelineRecorder::add_marker(Timeline::MarkerKind kind, const mt_header& h, uint64_t addr, uint64_t len,
                                  std::string text)
{
    const size_t bucket = bucket_at(h.ts_ns);
    ++marker_counts_[bucket][static_cast<size_t>(kind)];
    if (markers_.size() >= Timeline::kMaxMarkers) {
        ++markers_not_kept_;
        return;
    }
    Timeline::Marker m;
    m.kind = kind;
    m.ts_ns = h.ts_ns > origin_ns_ ? h.ts_ns - origin_ns_ : 0;
    m.pid = h.tgid;
    m.tid = h.tid;
    m.addr = addr;
    m.len = len;
    m.text = std::move(text);
    markers_.push_back(std::move(m));
}

void TimelineRecorder::sample_heap(const Process& process, size_t bucket)
{
    if (Timeline::Process* series = series_of(process))
        series->heap[bucket] = heap_of(process.space());
}

void TimelineRecorder::on_mapping(const MappingEvent& e)
{
    if (!e.process.traced)
        return;
    pictured_.is_pictured(&e.process);
    const mt_header& h = e.record.header();
    switch (e.record.type()) {
    case MT_REC_MMAP: {
        const MmapRecord m = mmap_of(e.record);
        add_marker(Timeline::MarkerKind::Mmap, h, m.addr, m.len,
                   segments_.at(e.process.space().segment_of(m.addr)).label);
        break;
    }
    case MT_REC_MUNMAP: {
        const auto m = e.record.as<mt_munmap>();
        add_marker(Timeline::MarkerKind::Munmap, h, m.addr, m.len, {});
        break;
    }
    case MT_REC_BRK: {
        const auto b = e.record.as<mt_brk>();
        add_marker(Timeline::MarkerKind::Brk, h, b.old_brk, b.new_brk, {});
        sample_heap(e.process, bucket_at(h.ts_ns));
        break;
    }
    }
}

void TimelineRecorder::on_process(const ProcessEvent& e)
{
    const mt_header& h = e.record.header();
    Timeline::Process* series = series_of(e.process);
    if (!series)
        return;
    const size_t bucket = bucket_at(h.ts_ns);
    switch (e.kind) {
    case ProcessEvent::Kind::Exec:
        add_marker(Timeline::MarkerKind::Exec, h, 0, 0, e.process.comm);
        sample_heap(e.process, bucket);
        break;
    case ProcessEvent::Kind::Forked:
        series->exited = false;  // a pid used again
        sample_heap(e.process, bucket);
        break;
    case ProcessEvent::Kind::Exited:
        sample_heap(e.process, bucket);  // as it was at the end
        series->exited = true;
        series->exit_ns = h.ts_ns > origin_ns_ ? h.ts_ns - origin_ns_ : 0;
        break;
    case ProcessEvent::Kind::Attached: break;  // its layout comes after: sampled at the report
    }
}

void TimelineRecorder::on_signal(const SignalEvent& e)
{
    const mt_signal& s = e.signal;
    add_marker(Timeline::MarkerKind::Crash, s.hdr, s.addr, 0,
               signal_name(s.signo) + " " + signal_code_name(s.signo, s.code));
}

void TimelineRecorder::on_rss(const mt_rss& rss, const Process* process)
{
    if (!process || !process->alive)
        return;
    const size_t bucket = bucket_at(rss.hdr.ts_ns);
    if (Timeline::Process* series = series_of(*process)) {
        series->rss_anon[bucket] = std::max<int64_t>(rss.anon, 0) * kPageSize;
        series->rss_file[bucket] = std::max<int64_t>(rss.file, 0) * kPageSize;
        series->rss_shmem[bucket] = std::max<int64_t>(rss.shmem, 0) * kPageSize;
    }
}

void TimelineRecorder::report(Report& out, const ReportContext& context)
{
    const size_t bucket = bucket_at(origin_ns_ + static_cast<uint64_t>(std::llround(context.elapsed_s * 1e9)));
    for (Timeline::Process& series : processes_)
        if (const Process* p = context.processes.find(series.pid); p && p->alive && p->memory)
            series.heap[bucket] = heap_of(p->space());
    if (context.final)
        out.timeline = build();
}

std::vector<Timeline::SegmentSeries> TimelineRecorder::segment_series() const
{
    std::unordered_map<SegmentId, uint64_t> totals;
    for (const auto& bucket : segment_faults_)
        for (const auto& [segment, faults] : bucket)
            totals[segment] += faults;
    std::vector<std::pair<SegmentId, uint64_t>> busiest(totals.begin(), totals.end());
    std::sort(busiest.begin(), busiest.end(), [&](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : segments_.at(a.first).label < segments_.at(b.first).label;
    });
    std::vector<Timeline::SegmentSeries> series;
    std::unordered_map<SegmentId, size_t> index;
    for (const auto& [segment, faults] : busiest) {
        if (series.size() == Timeline::kMaxSegmentSeries) {
            series.push_back({"other segments", SegmentKind::Unmapped, 0, std::vector<uint64_t>(buckets_)});
        }
        if (series.size() > Timeline::kMaxSegmentSeries) {
            index[segment] = series.size() - 1;
            series.back().faults += faults;
            continue;
        }
        index[segment] = series.size();
        const SegmentInfo& info = segments_.at(segment);
        series.push_back({info.label, info.kind, faults, std::vector<uint64_t>(buckets_)});
    }
    for (size_t b = 0; b < buckets_; ++b)
        for (const auto& [segment, faults] : segment_faults_[b])
            series[index.at(segment)].per_bucket[b] += faults;
    return series;
}

// The bands in layout order: by area, then by their lowest address.
std::vector<size_t> TimelineRecorder::band_order() const
{
    std::vector<size_t> order(bands_.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    auto low = [&](const Band& b) { return b.rows.empty() ? 0 : b.rows.front() << b.row_shift; };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return bands_[a].area != bands_[b].area ? bands_[a].area < bands_[b].area : low(bands_[a]) < low(bands_[b]);
    });
    return order;
}

// The heatmap's non-empty cells, by bucket, band (as shown) and row.
std::vector<Timeline::Cell> TimelineRecorder::heat_cells(const std::vector<size_t>& order) const
{
    std::vector<Timeline::Cell> out;
    for (size_t bucket = 0; bucket < buckets_; ++bucket)
        for (size_t shown = 0; shown < order.size(); ++shown) {
            const Band& b = bands_[order[shown]];
            if (bucket >= b.cells.size())
                continue;
            std::vector<Timeline::Cell> cells;
            for (const auto& [row, faults] : b.cells[bucket]) {
                auto at = std::lower_bound(b.rows.begin(), b.rows.end(), row);
                cells.push_back({static_cast<uint32_t>(bucket), static_cast<uint32_t>(shown),
                                 static_cast<uint32_t>(at - b.rows.begin()), faults});
            }
            std::sort(cells.begin(), cells.end(), [](const auto& x, const auto& y) { return x.row < y.row; });
            out.insert(out.end(), cells.begin(), cells.end());
        }
    return out;
}

Timeline TimelineRecorder::build() const
{
    Timeline t;
    t.bucket_ns = bucket_ns_;
    t.buckets = buckets_;
    t.pid = pictured_.pid();
    if (!t.pid && !processes_.empty())
        t.pid = processes_.front().pid;  // nothing faulted or mapped: the first process
    const std::vector<size_t> order = band_order();
    for (size_t i : order) {
        const Band& b = bands_[i];
        t.bands.push_back({b.shared ? "other segments" : b.label, b.segments, b.kind, b.area, b.row_shift, b.rows,
                           b.faults});
    }
    t.cells = heat_cells(order);
    t.segments = segment_series();
    t.processes = processes_;
    for (const Timeline::Process& p : processes_)
        if (p.pid == t.pid)
            t.comm = p.comm;
    t.processes_not_kept = processes_not_kept_;
    t.markers = markers_;
    t.markers_not_kept = markers_not_kept_;
    t.marker_counts = marker_counts_;
    return t;
}

}  // namespace memtrace
