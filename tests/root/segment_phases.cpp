#include "segment_phases.h"

#include <map>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "subprocess.h"

static uint64_t hex(const std::string& s) { return std::stoull(s, nullptr, 16); }

// Parses memtrace --events output (see EventPrinter): TIME COMM/PID/TID EVENT DETAILS...
std::vector<Event> parse_events(const std::string& text)
{
    std::vector<Event> events;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string s; words >> s;)
            w.push_back(s);
        if (w.size() < 4 || w[0] == "TIME(s)")
            continue;
        Event e;
        e.kind = w[2];
        size_t slash2 = w[1].rfind('/'), slash1 = w[1].rfind('/', slash2 - 1);
        e.pid = std::stoul(w[1].substr(slash1 + 1, slash2 - slash1 - 1));
        e.tid = std::stoul(w[1].substr(slash2 + 1));
        if (e.kind == "fault" && w.size() >= 7) {
            e.addr = hex(w[3]);
            e.access = w[4];
            e.mode = w[5];
            for (size_t i = 6; i + 1 < w.size(); ++i)
                e.segment += (e.segment.empty() ? "" : " ") + w[i];
        } else if (e.kind == "major" || e.kind == "mprotect") {
            e.addr = hex(w[3].substr(0, w[3].find('-')));
        }
        events.push_back(std::move(e));
    }
    return events;
}

WorkloadReport read_workload_report(const std::string& path)
{
    auto j = nlohmann::json::parse(read_file(path));
    WorkloadReport r{j["pid"], j["marker"], {}};
    for (const auto& p : j["phases"])
        r.phases.push_back({p["name"], p["segment"], p["mode"], p["start"], p["end"], p["pages"], p["kernel_faults"]});
    return r;
}

// Checks every phase of the workload against memtrace's events, window by window.
void expect_phases_match(const std::vector<Event>& events, const WorkloadReport& w)
{
    // Window k holds the events between the k-th and (k+1)-th marker mprotect of the workload.
    std::vector<std::vector<const Event*>> windows;
    bool open = false;
    for (const Event& e : events) {
        if (e.pid != w.pid)
            continue;
        if (e.kind == "mprotect" && e.addr == w.marker) {
            windows.emplace_back();
            open = true;
            continue;
        }
        if (open)
            windows.back().push_back(&e);
    }
    ASSERT_EQ(windows.size(), w.phases.size() + 1) << "one window per phase, plus the tail";
    for (size_t k = 0; k < w.phases.size(); ++k) {
        const Phase& p = w.phases[k];
        SCOPED_TRACE("phase " + p.name);
        uint64_t in_range = 0, majors = 0;
        std::map<std::string, uint64_t> labels;
        for (const Event* e : windows[k]) {
            if (e->addr < p.start || e->addr >= p.end)
                continue;
            if (e->kind == "major") {
                ++majors;
                continue;
            }
            if (e->kind != "fault")
                continue;
            ++in_range;
            ++labels[e->segment];
            EXPECT_EQ(e->mode, p.mode) << "fault at 0x" << std::hex << e->addr;
        }
        EXPECT_EQ(in_range, static_cast<uint64_t>(p.kernel_faults))
            << "memtrace vs the kernel's count for the phase; faults on its pages anywhere in the trace:"
            << [&] {
                   std::string where;
                   for (const Event& e : events)
                       if (e.kind == "fault" && e.addr >= p.start && e.addr < p.end)
                           where += fmt::format(" {:x}", e.addr);
                   return where;
               }();
        if (p.name == "rodata") {
            // Read faults on cached file pages map up to 16 pages at once (fault-around).
            EXPECT_GE(in_range, 1u);
            EXPECT_LE(in_range, p.pages);
        } else if (p.name == "stack") {
            // Stack pages are reused memory: now and then (seen once in ~20 runs, in the kernel's
            // count as well) one page of the frame was already present from earlier, deeper calls.
            // The exact check is the one against the kernel's count above.
            EXPECT_LE(in_range, p.pages);
            EXPECT_GE(in_range, p.pages - 2);
        } else {
            EXPECT_EQ(in_range, p.pages) << "one fault per page touched";
        }
        ASSERT_EQ(labels.size(), 1u) << "every fault of the phase in one segment";
        EXPECT_EQ(labels.begin()->first, p.segment);
        if (p.name == "file")
            EXPECT_GE(majors, 1u) << "the page cache was dropped: reading the file is a major fault";
    }
}

