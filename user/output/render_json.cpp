#include "output/render_json.h"

#include "output/render_activity.h"

#include "output/format_util.h"

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

nlohmann::json json_name(const std::string& name)
{
    if (is_valid_utf8(name))
        return name;
    nlohmann::json bytes = nlohmann::json::array();
    for (char c : name)
        bytes.push_back(static_cast<unsigned char>(c));
    return bytes;
}

nlohmann::json report_to_json(const Report& r)
{
    nlohmann::json j;
    j["type"] = r.final ? "summary" : "interval";
    j["elapsed_s"] = r.elapsed_s;
    j["interval_s"] = r.interval_s;
    if (r.system_wide) {
        // -a: what the kernel counted per process; there are no per-fault records to attribute.
        j["activity"] = activity_to_json(r);
        return j;
    }
    j["faults"] = r.faults;
    j["major"] = r.major;
    j["interval_faults"] = r.interval_faults;
    j["kernel_counted_faults"] = r.kernel_counted_faults;
    j["dropped"] = r.dropped;
    j["overflow_faults"] = r.overflow_faults;
    j["overflow_lost"] = r.overflow_lost;
    j["malformed"] = r.malformed;
    if (r.access_unknown)
        j["fault_source"] = "perf-event";  // writes and protection faults are not told apart
    nlohmann::json segments = nlohmann::json::array();
    for (const SegmentRow& s : r.segments) {
        nlohmann::json row = {{"segment", json_name(s.label)},
                              {"kind", kind_name(s.kind)},
                              {"faults", s.faults},
                              {"minor", s.minor()},
                              {"major", s.major},
                              {"writes", s.writes},
                              {"instr", s.instr},
                              {"protection", s.protection},
                              {"kernel_mode", s.kernel_mode},
                              {"interval_faults", s.interval_faults}};
        if (r.latency) {
            row["latency_minor_us"] = histogram_json(s.latency_minor_us);
            row["latency_major_us"] = histogram_json(s.latency_major_us);
        }
        segments.push_back(std::move(row));
    }
    j["segments"] = segments;
    nlohmann::json sites = nlohmann::json::array();
    for (const SiteRow& s : r.sites)
        sites.push_back({{"location", json_name(s.location)},
                         {"faults", s.faults},
                         {"kernel_mode", s.kernel_mode},
                         {"segment", json_name(s.segment)}});
    j["sites"] = sites;
    if (r.latency)
        j["latency"] = {{"minor_us", histogram_json(r.latency_minor_us)},
                        {"major_us", histogram_json(r.latency_major_us)},
                        {"paired", r.latency_paired},
                        {"unmatched_completions", r.latency_unmatched}};
    if (r.rss_known)
        j["rss"] = {{"anon", r.rss_anon},   {"file", r.rss_file}, {"shmem", r.rss_shmem},
                    {"swap", r.rss_swap},   {"peak", r.rss_peak}};
    nlohmann::json crashes = nlohmann::json::array();
    for (const CrashRow& c : r.crashes)
        crashes.push_back({{"pid", c.pid},
                           {"tid", c.tid},
                           {"time_s", c.time_s},
                           {"signal", c.signal},
                           {"code", c.code},
                           {"kind", c.kind},
                           {"explanation", json_name(c.explanation)},
                           {"addr", c.addr},
                           {"ip", c.ip},
                           {"location", json_name(c.location)}});
    j["crashes"] = crashes;
    if (r.stacks) {
        auto stacks_json = [](const std::vector<StackRow>& rows) {
            nlohmann::json out = nlohmann::json::array();
            for (const StackRow& row : rows) {
                nlohmann::json frames = nlohmann::json::array();
                for (const std::string& f : row.frames)
                    frames.push_back(json_name(f));
                out.push_back({{"comm", json_name(row.comm)}, {"frames", frames}, {"count", row.count},
                               {"samples", row.calls}});
            }
            return out;
        };
        j["stacks"] = {{"faults", stacks_json(r.fault_stacks)},
                       {"brk", stacks_json(r.brk_stacks)},
                       {"mmap", stacks_json(r.mmap_stacks)},
                       {"sample_period", r.stack_sample_period},
                       {"estimated", r.stack_sample_period > 1},
                       {"fault_samples", r.stack_samples},
                       {"deep_fault_samples", r.deep_stack_samples},
                       {"truncated", r.truncated_stacks},
                       {"complete_fault_samples", r.complete_stack_samples},
                       {"call_samples", r.call_stack_samples},
                       {"complete_call_samples", r.complete_call_stack_samples},
                       {"lost", r.stacks_lost}};
    }
    nlohmann::json processes = nlohmann::json::array();
    for (const ProcessRow& p : r.processes) {
        nlohmann::json row = {{"pid", p.pid}, {"comm", json_name(p.comm)}, {"alive", p.alive}, {"faults", p.faults},
                              {"untraced_faults", p.untraced_faults}, {"signal_faults", p.signal_faults}};
        static const char* const causes[MT_UNTRACED_CAUSE_MAX] = {"exec", "failed_exec", "populate", "mmap_populate",
                                                                  "mlock"};
        nlohmann::json by_cause = nlohmann::json::object();
        for (size_t i = 0; i < p.untraced_by_cause.size(); ++i)
            if (p.untraced_by_cause[i])
                by_cause[causes[i]] = p.untraced_by_cause[i];
        row["untraced"] = by_cause;
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
    // Names that are not UTF-8 are byte arrays already (json_name): nothing is left to replace.
    out << report_to_json(report).dump() << '\n';
    out.flush();
}

}  // namespace memtrace
