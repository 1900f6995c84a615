#include "output/timeline_json.h"

#include "output/render_json.h"
#include "output/timeline_series.h"

namespace memtrace {
namespace {

nlohmann::json gauge_json(const GaugeSeries& series)
{
    nlohmann::json values = nlohmann::json::array();
    for (const auto& v : series)
        values.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
    return values;
}

nlohmann::json bands_json(const Timeline& t)
{
    nlohmann::json bands = nlohmann::json::array();
    for (const Timeline::Band& b : t.bands) {
        nlohmann::json rows = nlohmann::json::array();
        for (uint64_t row : b.rows)
            rows.push_back(hex_address(row << b.row_shift));
        nlohmann::json segments = nlohmann::json::array();
        for (const std::string& segment : b.segments)
            segments.push_back(json_name(segment));
        bands.push_back({{"label", json_name(b.label)},
                         {"segments", segments},
                         {"kind", kind_name(b.kind)},
                         {"area", layout_area_name(b.area)},
                         {"low", hex_address(b.low())},
                         {"high", hex_address(b.high())},
                         {"row_bytes", uint64_t{1} << b.row_shift},
                         {"rows", rows},
                         {"faults", b.faults}});
    }
    return bands;
}

nlohmann::json markers_json(const Timeline& t)
{
    nlohmann::json counts = nlohmann::json::object();
    for (size_t k = 0; k < Timeline::kMarkerKinds; ++k) {
        nlohmann::json per_bucket = nlohmann::json::array();
        for (const auto& bucket : t.marker_counts)
            per_bucket.push_back(bucket[k]);
        counts[marker_kind_name(static_cast<Timeline::MarkerKind>(k))] = per_bucket;
    }
    nlohmann::json kept = nlohmann::json::array();
    for (const Timeline::Marker& m : t.markers)
        kept.push_back({{"kind", marker_kind_name(m.kind)},
                        {"t_s", m.ts_ns / 1e9},
                        {"pid", m.pid},
                        {"tid", m.tid},
                        {"addr", hex_address(m.addr)},
                        {"len", m.len},
                        {"text", json_name(m.text)}});
    return {{"counts", counts}, {"kept", kept}, {"not_kept", t.markers_not_kept}};
}

}  // namespace

nlohmann::json timeline_json(const Report& report)
{
    const Timeline& t = report.timeline;
    nlohmann::json j;
    j["elapsed_s"] = report.elapsed_s;
    j["bucket_s"] = t.bucket_s();
    j["buckets"] = t.buckets;
    j["pid"] = t.pid;
    j["comm"] = json_name(t.comm);
    j["faults"] = report.faults;
    j["bands"] = bands_json(t);
    nlohmann::json cells = nlohmann::json::array();
    for (const Timeline::Cell& c : t.cells)
        cells.push_back({c.bucket, c.band, c.row, c.faults});
    j["cells"] = cells;
    nlohmann::json segments = nlohmann::json::array();
    for (const Timeline::SegmentSeries& s : t.segments)
        segments.push_back(
            {{"segment", json_name(s.label)}, {"kind", kind_name(s.kind)}, {"faults", s.faults}, {"per_bucket", s.per_bucket}});
    j["segments"] = segments;
    const MemorySeries m = memory_series(t);
    j["heap"] = gauge_json(m.heap);
    j["rss"] = {{"anon", gauge_json(m.anon)}, {"file", gauge_json(m.file)}, {"shmem", gauge_json(m.shmem)}};
    j["markers"] = markers_json(t);
    nlohmann::json processes = nlohmann::json::array();
    for (const Timeline::Process& p : t.processes) {
        uint64_t faults = 0;
        for (const auto& bucket : p.faults)
            for (uint64_t n : bucket)
                faults += n;
        processes.push_back({{"pid", p.pid}, {"comm", json_name(p.comm)}, {"faults", faults}, {"threads", p.tids}});
    }
    j["processes"] = processes;
    j["processes_not_kept"] = t.processes_not_kept;
    return j;
}

}  // namespace memtrace
