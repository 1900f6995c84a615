#include "render_json.h"

namespace memtrace {
namespace {

nlohmann::json histogram_json(const Log2Histogram& h)
{
    nlohmann::json buckets = nlohmann::json::array();
    int first = h.first_bucket(), last = h.last_bucket();
    for (int i = first; first >= 0 && i <= last; ++i)
        buckets.push_back({{"low", Log2Histogram::bucket_low(i)},
                           {"high", Log2Histogram::bucket_high(i)},
                           {"count", h.count(i)}});
    return buckets;
}

}  // namespace

nlohmann::json report_to_json(const Report& r)
{
    nlohmann::json j;
    j["type"] = r.final ? "summary" : "interval";
    j["elapsed_s"] = r.elapsed_s;
    j["interval_s"] = r.interval_s;
    j["faults"] = r.faults;
    j["major"] = r.major;
    j["interval_faults"] = r.interval_faults;
    j["kernel_counted_faults"] = r.kernel_counted_faults;
    j["dropped"] = r.dropped;
    j["malformed"] = r.malformed;
    nlohmann::json segments = nlohmann::json::array();
    for (const SegmentRow& s : r.segments)
        segments.push_back({{"segment", s.label},
                            {"kind", kind_name(s.kind)},
                            {"faults", s.faults},
                            {"minor", s.minor()},
                            {"major", s.major},
                            {"writes", s.writes},
                            {"instr", s.instr},
                            {"protection", s.protection},
                            {"kernel_mode", s.kernel_mode},
                            {"interval_faults", s.interval_faults}});
    j["segments"] = segments;
    nlohmann::json processes = nlohmann::json::array();
    for (const ProcessRow& p : r.processes) {
        nlohmann::json row = {{"pid", p.pid}, {"comm", p.comm}, {"alive", p.alive}, {"faults", p.faults},
                              {"untraced_faults", p.untraced_faults}};
        row["kernel_faults"] = p.kernel_known ? nlohmann::json(p.kernel_faults) : nlohmann::json(nullptr);
        row["kernel_baseline"] = p.kernel_exact ? p.kernel_baseline : "attach";
        processes.push_back(row);
    }
    j["processes"] = processes;
    j["heap"] = {{"start", r.heap_start}, {"size", r.heap_size}, {"brk_calls", r.brk_calls}};
    j["syscalls"] = {{"brk", r.brk_calls},
                     {"mmap", r.mmap_calls},
                     {"munmap", r.munmap_calls},
                     {"mremap", r.mremap_calls},
                     {"mprotect", r.mprotect_calls}};
    j["histograms"] = {{"mmap_bytes", histogram_json(r.mmap_sizes)},
                       {"brk_grow_bytes", histogram_json(r.brk_grow)},
                       {"brk_shrink_bytes", histogram_json(r.brk_shrink)},
                       {"heap_fault_offset_bytes", histogram_json(r.heap_offsets)},
                       {"stack_fault_depth_bytes", histogram_json(r.stack_depths)}};
    return j;
}

void render_json_line(std::ostream& out, const Report& report)
{
    out << report_to_json(report).dump() << '\n';
    out.flush();
}

}  // namespace memtrace
