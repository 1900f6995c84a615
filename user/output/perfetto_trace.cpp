#include "output/perfetto_trace.h"

#include <fmt/format.h>

#include "output/timeline_series.h"
#include "output/xml_text.h"
#include "version.h"

namespace memtrace {
namespace {

using Json = nlohmann::json;

// Trace-event times are microseconds.
double micros(uint64_t ns) { return ns / 1e3; }

std::string name_of(const std::string& untrusted) { return clean_utf8(untrusted, 1024); }

void add_names(Json& events, const Timeline::Process& p)
{
    events.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", p.pid}, {"tid", p.pid},
                      {"args", {{"name", name_of(p.comm)}}}});
    for (uint32_t tid : p.tids)  // threads carry their process's comm (memtrace knows no other)
        events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", p.pid}, {"tid", tid},
                          {"args", {{"name", name_of(p.comm)}}}});
}

void add_fault_rates(Json& events, const Timeline& t, const Timeline::Process& p)
{
    std::array<bool, kSegmentKinds> seen{};
    for (const auto& bucket : p.faults)
        for (size_t k = 0; k < kSegmentKinds; ++k)
            seen[k] = seen[k] || bucket[k];
    for (size_t b = 0; b <= p.faults.size(); ++b) {  // and a last one at the end: back to 0
        Json args = Json::object();
        for (size_t k = 0; k < kSegmentKinds; ++k)
            if (seen[k])
                args[kind_name(static_cast<SegmentKind>(k))] = b < p.faults.size() ? p.faults[b][k] / t.bucket_s() : 0.0;
        if (args.empty())
            return;
        events.push_back({{"ph", "C"}, {"name", "faults/s"}, {"pid", p.pid}, {"tid", p.pid},
                          {"ts", micros(b * t.bucket_ns)}, {"args", args}});
    }
}

// A gauge as counter events where its value changes.
void add_gauge(Json& events, const Timeline& t, const Timeline::Process& p, const char* name,
               const std::vector<std::pair<const char*, GaugeSeries>>& members)
{
    Json last;
    for (size_t b = 0; b < t.buckets; ++b) {
        Json args = Json::object();
        for (const auto& [member, series] : members)
            if (b < series.size() && series[b])
                args[member] = *series[b];
        if (args.empty() || args == last)
            continue;
        events.push_back({{"ph", "C"}, {"name", name}, {"pid", p.pid}, {"tid", p.pid},
                          {"ts", micros(b * t.bucket_ns)}, {"args", args}});
        last = args;
    }
}

Json marker_args(const Timeline::Marker& m)
{
    switch (m.kind) {
    case Timeline::MarkerKind::Mmap:
        return {{"addr", hex_address(m.addr)}, {"len", m.len}, {"segment", name_of(m.text)}};
    case Timeline::MarkerKind::Munmap: return {{"addr", hex_address(m.addr)}, {"len", m.len}};
    case Timeline::MarkerKind::Brk: return {{"old_brk", hex_address(m.addr)}, {"new_brk", hex_address(m.len)}};
    case Timeline::MarkerKind::Exec: return {{"comm", name_of(m.text)}};
    case Timeline::MarkerKind::Crash: return {{"signal", name_of(m.text)}, {"addr", hex_address(m.addr)}};
    }
    return Json::object();
}

}  // namespace

Json perfetto_trace(const Report& r)
{
    const Timeline& t = r.timeline;
    Json events = Json::array();
    for (const Timeline::Process& p : t.processes) {
        add_names(events, p);
        add_fault_rates(events, t, p);
        add_gauge(events, t, p, "heap", {{"bytes", carried(p.heap)}});
        add_gauge(events, t, p, "rss",
                  {{"anon", carried(p.rss_anon)}, {"file", carried(p.rss_file)}, {"shmem", carried(p.rss_shmem)}});
        if (p.exited)  // its memory went with it
            events.push_back({{"ph", "C"}, {"name", "rss"}, {"pid", p.pid}, {"tid", p.pid}, {"ts", micros(p.exit_ns)},
                              {"args", {{"anon", 0}, {"file", 0}, {"shmem", 0}}}});
    }
    for (const Timeline::Marker& m : t.markers)
        events.push_back({{"ph", "i"}, {"name", marker_kind_name(m.kind)}, {"cat", "memory"}, {"s", "t"},
                          {"pid", m.pid}, {"tid", m.tid}, {"ts", micros(m.ts_ns)}, {"args", marker_args(m)}});
    return {{"traceEvents", events},
            {"displayTimeUnit", "ms"},
            {"otherData",
             {{"producer", fmt::format("memtrace {}", MEMTRACE_VERSION)},
              {"bucket_s", t.bucket_s()},
              {"markers_not_kept", t.markers_not_kept},
              {"processes_not_kept", t.processes_not_kept}}}};
}

}  // namespace memtrace
