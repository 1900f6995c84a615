// JSON rendering: field names and values of one NDJSON report line.
#include "output/render_json.h"

#include <algorithm>
#include <sstream>

#include <gtest/gtest.h>

using memtrace::ProcessRow;
using memtrace::Report;
using memtrace::SegmentKind;
using memtrace::SegmentRow;
using nlohmann::json;

namespace {

Report sample()
{
    Report r;
    r.elapsed_s = 2.5;
    r.interval_s = 1.0;
    r.faults = 1234;
    r.major = 2;
    r.interval_faults = 34;
    r.kernel_counted_faults = 1240;
    r.dropped = 6;
    r.malformed = 1;
    SegmentRow heap;
    heap.label = "heap";
    heap.kind = SegmentKind::Heap;
    heap.faults = 1000;
    heap.major = 2;
    heap.writes = 900;
    heap.instr = 1;
    heap.protection = 3;
    heap.kernel_mode = 5;
    heap.interval_faults = 30;
    SegmentRow text;
    text.label = "libc.so.6 .text";
    text.kind = SegmentKind::Section;
    text.faults = 234;
    text.interval_faults = 4;
    r.segments = {heap, text};
    ProcessRow a;
    a.pid = 42;
    a.comm = "app";
    a.faults = 1234;
    ProcessRow b;
    b.pid = 43;
    b.comm = "done";
    b.alive = false;
    b.faults = 7;
    b.kernel_known = true;
    b.kernel_exact = true;
    b.kernel_faults = 9;
    b.untraced_faults = 2;
    b.untraced_by_cause[0] = 2;
    r.processes = {a, b};
    r.heap_start = 0x555555559000;
    r.heap_size = 135168;
    r.brk_calls = 3;
    r.mmap_calls = 4;
    r.munmap_calls = 1;
    r.mremap_calls = 5;
    r.mprotect_calls = 2;
    r.mmap_sizes.add(4096, 2);
    r.mmap_sizes.add(65536);
    r.stack_depths.add(0);
    return r;
}

TEST(RenderJson, TopLevelFields)
{
    json j = json::parse(memtrace::report_to_json(sample()).dump());
    EXPECT_EQ(j["type"], "interval");
    EXPECT_EQ(j["elapsed_s"], 2.5);
    EXPECT_EQ(j["interval_s"], 1.0);
    EXPECT_EQ(j["faults"], 1234);
    EXPECT_EQ(j["major"], 2);
    EXPECT_EQ(j["interval_faults"], 34);
    EXPECT_EQ(j["kernel_counted_faults"], 1240);
    EXPECT_EQ(j["dropped"], 6);
    EXPECT_EQ(j["malformed"], 1);
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it)
        keys.push_back(it.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"crashes", "dropped", "elapsed_s", "faults", "heap", "histograms",
                                              "interval_faults", "interval_s", "kernel_counted_faults", "major",
                                              "malformed", "overflow_faults", "overflow_lost", "processes",
                                              "segments", "sites", "syscalls", "type"}));
}

TEST(RenderJson, Segments)
{
    json j = json::parse(memtrace::report_to_json(sample()).dump());
    ASSERT_EQ(j["segments"].size(), 2u);
    const json& heap = j["segments"][0];
    EXPECT_EQ(heap, json::parse(R"({"segment": "heap", "kind": "heap", "faults": 1000, "minor": 998, "major": 2,
                                   "writes": 900, "instr": 1, "protection": 3, "kernel_mode": 5,
                                   "interval_faults": 30})"));
    const json& text = j["segments"][1];
    EXPECT_EQ(text["segment"], "libc.so.6 .text");
    EXPECT_EQ(text["kind"], "section");
    EXPECT_EQ(text["minor"], 234);
    EXPECT_EQ(text["interval_faults"], 4);
}

TEST(RenderJson, Processes)
{
    json j = json::parse(memtrace::report_to_json(sample()).dump());
    ASSERT_EQ(j["processes"].size(), 2u);
    EXPECT_EQ(j["processes"][0], json::parse(R"({"pid": 42, "comm": "app", "alive": true, "faults": 1234,
                                                 "untraced_faults": 0, "untraced": {}, "signal_faults": 0,
                                                 "kernel_faults": null, "kernel_baseline": "attach"})"));
    EXPECT_EQ(j["processes"][1], json::parse(R"({"pid": 43, "comm": "done", "alive": false, "faults": 7,
                                                 "untraced_faults": 2, "untraced": {"exec": 2},
                                                 "signal_faults": 0, "kernel_faults": 9,
                                                 "kernel_baseline": "exec"})"));
}

TEST(RenderJson, HeapSyscallsHistograms)
{
    json j = json::parse(memtrace::report_to_json(sample()).dump());
    EXPECT_EQ(j["heap"], json::parse(R"({"start": 93824992251904, "size": 135168, "brk_calls": 3})"));
    EXPECT_EQ(j["heap"]["start"].get<uint64_t>(), 0x555555559000u);
    EXPECT_EQ(j["syscalls"], json::parse(R"({"brk": 3, "mmap": 4, "munmap": 1, "mremap": 5, "mprotect": 2})"));
    const json& h = j["histograms"];
    EXPECT_EQ(h.size(), 5u);
    EXPECT_EQ(h["mmap_bytes"], json::parse(R"([{"low": 4096, "high": 8191, "count": 2},
                                               {"low": 8192, "high": 16383, "count": 0},
                                               {"low": 16384, "high": 32767, "count": 0},
                                               {"low": 32768, "high": 65535, "count": 0},
                                               {"low": 65536, "high": 131071, "count": 1}])"));
    EXPECT_EQ(h["brk_grow_bytes"], json::array());
    EXPECT_EQ(h["brk_shrink_bytes"], json::array());
    EXPECT_EQ(h["heap_fault_offset_bytes"], json::array());
    EXPECT_EQ(h["stack_fault_depth_bytes"], json::parse(R"([{"low": 0, "high": 0, "count": 1}])"));
}

TEST(RenderJson, SummaryAndEmptyReport)
{
    Report r;
    r.final = true;
    json j = json::parse(memtrace::report_to_json(r).dump());
    EXPECT_EQ(j["type"], "summary");
    EXPECT_EQ(j["segments"], json::array());
    EXPECT_EQ(j["processes"], json::array());
    EXPECT_EQ(j["faults"], 0);
}

TEST(RenderJson, HugeCountersStayExact)
{
    Report r;
    r.faults = UINT64_MAX;
    r.mmap_sizes.add(UINT64_MAX);
    json j = json::parse(memtrace::report_to_json(r).dump());
    EXPECT_EQ(j["faults"].get<uint64_t>(), UINT64_MAX);
    EXPECT_EQ(j["histograms"]["mmap_bytes"][0]["high"].get<uint64_t>(), UINT64_MAX);
    EXPECT_EQ(j["histograms"]["mmap_bytes"][0]["low"].get<uint64_t>(), 1ULL << 63);
}

TEST(RenderJson, OneLinePerReport)
{
    std::ostringstream out;
    memtrace::render_json_line(out, sample());
    memtrace::render_json_line(out, sample());
    std::string s = out.str();
    size_t nl = s.find('\n');
    ASSERT_NE(nl, std::string::npos);
    EXPECT_EQ(s.size(), 2 * (nl + 1));
    EXPECT_EQ(s.back(), '\n');
    EXPECT_EQ(json::parse(s.substr(0, nl)), memtrace::report_to_json(sample()));
}

}  // namespace

namespace {

// Names from the traced side reach JSON losslessly: control bytes as JSON escapes (the text outputs
// escape them for the terminal instead), bytes that are not UTF-8 as an array of byte values.
TEST(RenderJson, NamesAreLossless)
{
    Report r = sample();
    r.segments[0].label = "file /tmp/x\x1b]0;t\x07\n";
    r.segments[1].label = std::string("file /tmp/\xff\xfe", 12);
    r.processes[0].comm = "c\xc3";
    std::ostringstream out;
    memtrace::render_json_line(out, r);
    const std::string line = out.str();
    json j = json::parse(line);
    EXPECT_EQ(j["segments"][0]["segment"], "file /tmp/x\x1b]0;t\x07\n");
    EXPECT_NE(line.find("\\u001b]0;t\\u0007\\n"), std::string::npos);
    EXPECT_EQ(j["segments"][1]["segment"], json::parse("[102,105,108,101,32,47,116,109,112,47,255,254]"));
    EXPECT_EQ(j["processes"][0]["comm"], json::parse("[99,195]"));
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

TEST(RenderJson, JsonNameIsAStringOnlyForUtf8)
{
    EXPECT_EQ(memtrace::json_name("libc.so.6 .text"), "libc.so.6 .text");
    EXPECT_EQ(memtrace::json_name("画像"), "画像");
    EXPECT_TRUE(memtrace::json_name("a\x80").is_array());
}

}  // namespace
