// memtrace report --html and --perfetto on recorded traces: the segment workload's page's heatmap
// bands and timelines carry its known counts (read back from the data embedded in the page), its
// Perfetto trace's counters are the report's; a real program's resident memory in the Perfetto
// trace is what each interval's report said.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_lines.h"
#include "root_test.h"
#include "segment_phases.h"
#include "subprocess.h"

namespace {

const std::string kMemtrace = MEMTRACE_BIN;
const std::string kWorkload = SEGMENT_WORKLOAD_BIN;

// The data block of an HTML report (script#memtrace-data).
nlohmann::json page_data(const std::string& html)
{
    const std::string open = "<script type=\"application/json\" id=\"memtrace-data\">";
    size_t start = html.find(open);
    size_t end = html.find("</script>", start);
    if (start == std::string::npos || end == std::string::npos)
        throw std::runtime_error("no data block in the page");
    start += open.size();
    return nlohmann::json::parse(html.substr(start, end - start));
}

uint64_t sum(const nlohmann::json& values)
{
    uint64_t total = 0;
    for (const auto& v : values)
        total += v.is_null() ? 0 : v.get<uint64_t>();
    return total;
}

uint64_t hex(const nlohmann::json& s) { return std::stoull(s.get<std::string>(), nullptr, 16); }

class PicturesTest : public RootTest {};

TEST_F(PicturesTest, SegmentWorkloadPicturesCarryTheKnownCounts)
{
    const std::string data = path("w.data"), html = path("w.html"), trace = path("w.trace.json");
    RunResult recorded = run({kMemtrace, "record", "-o", data, "--stacks", "--", kWorkload, path("w.json")}, 120);
    ASSERT_EQ(recorded.exit_code, 0) << recorded.err;
    RunResult r = run({kMemtrace, "report", data, "--json", "--html", html, "--perfetto", trace});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("wrote the pictures to " + html), std::string::npos) << r.err;
    const nlohmann::json summary = json_lines(r.out).back();
    const WorkloadReport w = read_workload_report(path("w.json"));
    const std::string page = read_file(html);
    const nlohmann::json d = page_data(page);

    EXPECT_EQ(d["pid"], w.pid);
    EXPECT_EQ(d["faults"], summary["faults"]);
    std::map<std::string, uint64_t> report_segments;
    for (const auto& s : summary["segments"])
        report_segments[s["segment"].get<std::string>()] = s["faults"].get<uint64_t>();

    // The heatmap: every fault once, each band holding exactly its segment's faults.
    uint64_t cells = 0;
    std::map<size_t, uint64_t> band_cells;
    for (const auto& c : d["cells"]) {
        cells += c[3].get<uint64_t>();
        band_cells[c[1].get<size_t>()] += c[3].get<uint64_t>();
    }
    EXPECT_EQ(cells, summary["faults"].get<uint64_t>()) << "one process: its heatmap holds every fault";
    std::map<std::string, const nlohmann::json*> bands;  // by segment
    for (size_t i = 0; i < d["bands"].size(); ++i) {
        const nlohmann::json& b = d["bands"][i];
        uint64_t faults = 0;  // of the segments it holds (a library's sections are one band)
        for (const auto& segment : b["segments"]) {
            bands[segment] = &b;
            faults += report_segments[segment];
        }
        EXPECT_EQ(b["faults"].get<uint64_t>(), faults) << b["label"];
        EXPECT_EQ(band_cells[i], faults) << b["label"];
        EXPECT_LE(b["rows"].size(), 16u);
    }
    // Layout order: the program, the heap, the mmap area, the stacks.
    std::vector<std::string> areas;
    for (const auto& b : d["bands"])
        if (areas.empty() || areas.back() != b["area"])
            areas.push_back(b["area"]);
    EXPECT_EQ(std::vector<std::string>(areas.begin(), areas.begin() + 4),
              (std::vector<std::string>{"program", "heap", "mmap area", "stacks"}));

    // Each phase's pages in its segment's band, within the rows that cover them; the segments
    // only one phase touches hold exactly the kernel's count for it.
    for (const Phase& p : w.phases) {
        if (p.name == "short_lived" || p.name == "kernel_mode")
            continue;  // anon, shared with the anon phase
        SCOPED_TRACE("phase " + p.name);
        ASSERT_TRUE(bands.count(p.segment)) << p.segment;
        const nlohmann::json& b = *bands[p.segment];
        EXPECT_GE(b["faults"].get<uint64_t>(), static_cast<uint64_t>(p.kernel_faults));
        const bool only_this_phase = p.name == "file" || p.name == "shm" || p.name == "memfd" || p.name == "sysv";
        if (only_this_phase)
            EXPECT_EQ(b["faults"].get<uint64_t>(), static_cast<uint64_t>(p.kernel_faults));
        const uint64_t row_bytes = b["row_bytes"].get<uint64_t>();
        bool covered = false;
        for (const auto& row : b["rows"])
            covered = covered || (hex(row) < p.end && hex(row) + row_bytes > p.start);
        EXPECT_TRUE(covered) << "a row of the band covers the phase's pages";
    }

    // Timelines: faults per segment add up; heap and calls as the report has them.
    uint64_t series = 0;
    for (const auto& s : d["segments"]) {
        EXPECT_EQ(sum(s["per_bucket"]), s["faults"].get<uint64_t>()) << s["segment"];
        series += s["faults"].get<uint64_t>();
    }
    EXPECT_EQ(series, summary["faults"].get<uint64_t>());
    EXPECT_EQ(d["heap"].back(), summary["heap"]["size"]);
    uint64_t heap_max = 0;
    for (const auto& h : d["heap"])
        heap_max = std::max<uint64_t>(heap_max, h.is_null() ? 0 : h.get<uint64_t>());
    EXPECT_GE(heap_max, 65u * 4096) << "the workload's sbrk";
    const nlohmann::json& counts = d["markers"]["counts"];
    EXPECT_EQ(sum(counts["brk"]), summary["syscalls"]["brk"]);
    EXPECT_EQ(sum(counts["mmap"]), summary["syscalls"]["mmap"]);
    EXPECT_EQ(sum(counts["munmap"]), summary["syscalls"]["munmap"]);
    EXPECT_EQ(sum(counts["exec"]), 1u) << "the launched command's exec";
    EXPECT_NE(page.find("class=\"memtrace-flamegraph\""), std::string::npos) << "recorded with --stacks";

    // The Perfetto trace: faults per segment kind back to counts, heap and calls as reported.
    const nlohmann::json t = nlohmann::json::parse(read_file(trace));
    const double bucket_s = t["otherData"]["bucket_s"];
    std::map<std::string, double> kinds;
    std::map<std::string, uint64_t> instants;
    double heap = -1, heap_ts = -1;
    bool named = false;
    for (const auto& e : t["traceEvents"]) {
        if (e["ph"] == "M" && e["name"] == "process_name" && e["pid"] == w.pid)
            named = e["args"]["name"] == "segment_workloa";  // the kernel keeps 15 bytes of a comm
        if (e["ph"] == "i")
            ++instants[e["name"]];
        if (e["ph"] != "C" || e["pid"] != w.pid)
            continue;
        if (e["name"] == "faults/s")
            for (const auto& [kind, rate] : e["args"].items())
                kinds[kind] += rate.get<double>() * bucket_s;
        if (e["name"] == "heap" && e["ts"].get<double>() >= heap_ts) {
            heap = e["args"]["bytes"];
            heap_ts = e["ts"];
        }
    }
    EXPECT_TRUE(named);
    std::map<std::string, uint64_t> report_kinds;
    for (const auto& s : summary["segments"])
        report_kinds[s["kind"].get<std::string>()] += s["faults"].get<uint64_t>();
    for (const auto& [kind, n] : report_kinds)
        EXPECT_EQ(std::llround(kinds[kind]), static_cast<long long>(n)) << kind;
    EXPECT_EQ(heap, summary["heap"]["size"].get<double>());
    EXPECT_EQ(instants["mmap"], summary["syscalls"]["mmap"]);
    EXPECT_EQ(instants["munmap"], summary["syscalls"]["munmap"]);
    EXPECT_EQ(instants["brk"], summary["syscalls"]["brk"]);
    EXPECT_EQ(instants["exec"], 1u);
}

TEST_F(PicturesTest, PerfettoResidentMemoryIsWhatEachIntervalReported)
{
    const std::string data = path("py.data"), trace = path("py.trace.json");
    RunResult recorded = run({kMemtrace, "record", "-o", data, "-i", "0.05", "--", "python3", "-c",
                              "import time\nx = []\nfor i in range(8):\n    x.append(bytearray(4 << 20)); time.sleep(0.06)"},
                             120);
    ASSERT_EQ(recorded.exit_code, 0) << recorded.err;
    RunResult r = run({kMemtrace, "report", data, "--json", "--perfetto", trace});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // What each interval's report said, changes only (a counter track holds a value until the next).
    std::vector<int64_t> reported;
    for (const nlohmann::json& line : json_lines(r.out))
        if (line.contains("rss") && line["type"] == "interval" &&
            (reported.empty() || reported.back() != line["rss"]["anon"].get<int64_t>()))
            reported.push_back(line["rss"]["anon"]);
    ASSERT_GE(reported.size(), 4u) << "python3 runs for ~0.5 s, sampled every 50 ms: " << r.out;
    std::vector<std::pair<double, int64_t>> counter;
    const nlohmann::json events = nlohmann::json::parse(read_file(trace))["traceEvents"];
    for (const auto& e : events)
        if (e["ph"] == "C" && e["name"] == "rss" && e["args"].contains("anon"))
            counter.emplace_back(e["ts"].get<double>(), e["args"]["anon"].get<int64_t>());
    std::stable_sort(counter.begin(), counter.end());
    ASSERT_FALSE(counter.empty());
    EXPECT_EQ(counter.back().second, 0) << "its memory ends at its exit";
    std::vector<int64_t> traced;
    for (size_t i = 0; i + 1 < counter.size(); ++i)
        if (traced.empty() || traced.back() != counter[i].second)
            traced.push_back(counter[i].second);
    EXPECT_EQ(traced, reported);
    EXPECT_GT(*std::max_element(traced.begin(), traced.end()), 32 << 20) << "8 x 4 MiB of bytearrays";
}

TEST_F(PicturesTest, ATraceCutShortStillGetsItsPage)
{
    const std::string data = path("w.data");
    ASSERT_EQ(run({kMemtrace, "record", "-o", data, "--", kWorkload, path("w.json")}, 120).exit_code, 0);
    const std::string whole = read_file(data);
    {
        FILE* f = std::fopen(path("cut.data").c_str(), "wb");
        ASSERT_NE(f, nullptr);
        std::fwrite(whole.data(), 1, whole.size() * 2 / 3, f);
        std::fclose(f);
    }
    RunResult r = run({kMemtrace, "report", path("cut.data"), "--html", path("cut.html")});
    EXPECT_EQ(r.exit_code, 1) << "the file's problem is still reported";
    EXPECT_NE(r.err.find("ends in the middle of a block"), std::string::npos) << r.err;
    const std::string page = read_file(path("cut.html"));
    const nlohmann::json d = page_data(page);
    EXPECT_GE(d["buckets"].get<size_t>(), 1u) << "what the file holds is drawn";
    size_t charts = 0;
    for (size_t at = 0; (at = page.find("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart ", at)) != std::string::npos; ++at)
        ++charts;
    EXPECT_EQ(charts, 4u);
}

}  // namespace
