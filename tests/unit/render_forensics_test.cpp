// Rendering of the fault-forensics parts of a Report (sites, latency, resident memory, stacks,
// crashes) as text and JSON, and the histogram quantiles the latency table shows.
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "pipeline/histogram.h"
#include "output/render_json.h"
#include "output/render_text.h"

using memtrace::CrashRow;
using memtrace::Log2Histogram;
using memtrace::Report;
using memtrace::SegmentKind;
using memtrace::SegmentRow;
using memtrace::SiteRow;
using memtrace::StackRow;
using nlohmann::json;

namespace {

std::string rjust(const std::string& s, size_t w) { return s.size() >= w ? s : std::string(w - s.size(), ' ') + s; }
std::string ljust(const std::string& s, size_t w) { return s.size() >= w ? s : s + std::string(w - s.size(), ' '); }

template <typename F>
std::string render(F f, const Report& r)
{
    std::ostringstream out;
    f(out, r);
    return out.str();
}

std::string histogram_text(const Log2Histogram& h, const std::string& unit)
{
    std::ostringstream out;
    memtrace::render_log2_histogram(out, h, unit);
    return out.str();
}

SegmentRow row(const char* label, SegmentKind kind, uint64_t faults)
{
    SegmentRow s;
    s.label = label;
    s.kind = kind;
    s.faults = faults;
    return s;
}

// A report with every forensics section filled.
Report forensics_report()
{
    Report r;
    r.elapsed_s = 3;
    r.interval_s = 1;
    r.faults = 10;
    SegmentRow heap = row("heap", SegmentKind::Heap, 6);
    heap.latency_minor_us.add(3);
    heap.latency_minor_us.add(250, 3);
    SegmentRow anon = row("anon", SegmentKind::Anon, 3);
    anon.major = 1;
    anon.latency_major_us.add(5000);
    SegmentRow stack = row("stack", SegmentKind::Stack, 1);  // no timed fault
    r.segments = {heap, anon, stack};

    r.sites = {{"memset+0x40 [libc.so.6]", 1234, 0, "heap"}, {"main+0x1a (demo.c:42) [demo]", 56, 7, "anon"}};

    r.latency = true;
    r.latency_minor_us.add(3);
    r.latency_minor_us.add(250, 3);
    r.latency_major_us.add(5000);
    r.latency_paired = 5;
    r.latency_unmatched = 2;

    r.rss_known = true;
    r.rss_anon = 1 << 20;
    r.rss_file = 2 << 20;
    r.rss_shmem = 512 << 10;
    r.rss_swap = 0;
    r.rss_peak = 8 << 20;
    r.rss_history = {1 << 20, 3670016};

    CrashRow segv;
    segv.pid = 42;
    segv.tid = 43;
    segv.time_s = 1.25;
    segv.signal = "SIGSEGV";
    segv.code = "SEGV_MAPERR";
    segv.kind = "null-page";
    segv.explanation = "reading 0x10, in the never-mapped first 64 KiB";
    segv.addr = 0x10;
    segv.ip = 0x555555555139;
    segv.location = "app+0x1139";
    CrashRow sent;
    sent.pid = 42;
    sent.tid = 42;
    sent.time_s = 2;
    sent.signal = "SIGSEGV";
    sent.code = "SI_TKILL";
    sent.kind = "sent-by-process";
    sent.explanation = "SIGSEGV was sent by process 7 (SI_TKILL), not raised by a memory access";
    r.crashes = {segv, sent};

    r.stacks = true;
    r.fault_stacks = {{"app", {"main", "work", "leaf"}, 12 * 64, 12}};
    r.brk_stacks = {{"app", {"main", "grow"}, 3 << 20, 3}};
    r.stack_sample_period = 64;
    r.stack_samples = 12;
    r.deep_stack_samples = 9;
    r.truncated_stacks = 4;
    r.stacks_lost = 2;
    return r;
}

// --- Log2Histogram::quantile_high ----------------------------------------------------------------

TEST(QuantileHigh, EmptyIsZero)
{
    Log2Histogram h;
    EXPECT_EQ(h.quantile_high(0.5), 0u);
    EXPECT_EQ(h.quantile_high(1.0), 0u);
}

TEST(QuantileHigh, OneBucket)
{
    Log2Histogram h;
    h.add(5, 10);  // [4, 7]
    EXPECT_EQ(h.quantile_high(0.01), 7u);
    EXPECT_EQ(h.quantile_high(0.5), 7u);
    EXPECT_EQ(h.quantile_high(1.0), 7u);
    Log2Histogram zero;
    zero.add(0);
    EXPECT_EQ(zero.quantile_high(0.5), 0u) << "bucket 0 holds only 0";
    Log2Histogram top;
    top.add(~0ULL);
    EXPECT_EQ(top.quantile_high(0.99), ~0ULL);
}

TEST(QuantileHigh, SplitsAtTheRank)
{
    Log2Histogram h;
    h.add(1, 14);   // [1, 1]
    h.add(100, 2);  // [64, 127]
    EXPECT_EQ(h.quantile_high(0.5), 1u);
    EXPECT_EQ(h.quantile_high(0.875), 1u) << "14 of 16 is exactly 0.875";
    EXPECT_EQ(h.quantile_high(1.0), 127u);
    Log2Histogram even;
    even.add(3, 50);    // [2, 3]
    even.add(300, 50);  // [256, 511]
    EXPECT_EQ(even.quantile_high(0.5), 3u);
    EXPECT_EQ(even.quantile_high(0.51), 511u);
    EXPECT_EQ(even.quantile_high(0.99), 511u);
}

// Regression: quantile_high rounded q * total to the nearest rank instead of taking ceil(q * total).
// The q-quantile is the smallest value with at least a fraction q of the samples at or below it
// (nearest rank: ceil(q * n)). Rounding q * n to the nearest integer instead picks a bucket that
// holds fewer than q of the samples whenever the fraction of q * n is below one half.
TEST(QuantileHigh, AtLeastAFractionQOfTheSamplesAreAtOrBelowIt)
{
    Log2Histogram h;
    h.add(1, 14);
    h.add(100, 2);
    EXPECT_EQ(h.quantile_high(0.9), 127u) << "only 14 of 16 (87.5%) are <= 1: the p90 is in [64, 127]";
    Log2Histogram p99;
    p99.add(1, 158);
    p99.add(100, 2);
    EXPECT_EQ(p99.quantile_high(0.99), 127u) << "158 of 160 (98.75%) are <= 1: the p99 is in [64, 127]";
}

// --- text sections -------------------------------------------------------------------------------

TEST(RenderSites, ExactText)
{
    Report r = forensics_report();
    EXPECT_EQ(render(memtrace::render_sites, r),
              "\ntop fault sites (the faulting instruction; for kernel-mode faults, the system call's caller):\n" +
                  rjust("FAULTS", 10) + "  " + ljust("LOCATION", 60) + " LAST SEGMENT\n" + rjust("1,234", 10) +
                  "  " + ljust("memset+0x40 [libc.so.6]", 60) + " heap\n" + rjust("56", 10) + "  " +
                  ljust("main+0x1a (demo.c:42) [demo]", 60) + " anon (7 in the kernel)\n");
    r.sites.clear();
    EXPECT_EQ(render(memtrace::render_sites, r), "");
}

TEST(RenderLatency, ExactText)
{
    Report r = forensics_report();
    auto cols = [](const std::string& label, const std::string& a, const std::string& b, const std::string& c,
                   const std::string& d, const std::string& e, const std::string& f) {
        return ljust(label, 40) + " " + rjust(a, 10) + " " + rjust(b, 8) + " " + rjust(c, 8) + " " + rjust(d, 10) +
               " " + rjust(e, 8) + " " + rjust(f, 8) + "\n";
    };
    std::string expected = "\nfault latency, entry to completion: 5 of 10 faults timed (2 completions unmatched)\n";
    expected += "minor faults:\n" + histogram_text(r.latency_minor_us, "usecs");
    expected += "major faults:\n" + histogram_text(r.latency_major_us, "usecs");
    expected += cols("per segment (usecs)", "MINOR", "p50<=", "p99<=", "MAJOR", "p50<=", "p99<=");
    expected += cols("heap", "4", "255", "255", "0", "-", "-");
    expected += cols("anon", "0", "-", "-", "1", "8,191", "8,191");
    EXPECT_EQ(render(memtrace::render_latency, r), expected);
    // The histograms themselves: usecs buckets [2, 3] once and [128, 255] three times.
    EXPECT_NE(expected.find(rjust("2", 10) + " -> " + ljust("3", 10) + " : " + ljust("1", 8) + " |"),
              std::string::npos);
    EXPECT_NE(expected.find(rjust("128", 10) + " -> " + ljust("255", 10) + " : " + ljust("3", 8) + " |" +
                            std::string(40, '*') + "|\n"),
              std::string::npos);
    r.latency = false;
    EXPECT_EQ(render(memtrace::render_latency, r), "");
}

TEST(RenderLatency, NothingTimed)
{
    Report r;
    r.latency = true;
    r.faults = 3;
    r.segments = {row("heap", SegmentKind::Heap, 3)};
    EXPECT_EQ(render(memtrace::render_latency, r),
              "\nfault latency, entry to completion: 0 of 3 faults timed (0 completions unmatched)\n" +
                  ljust("per segment (usecs)", 40) + " " + rjust("MINOR", 10) + " " + rjust("p50<=", 8) + " " +
                  rjust("p99<=", 8) + " " + rjust("MAJOR", 10) + " " + rjust("p50<=", 8) + " " + rjust("p99<=", 8) +
                  "\n");
}

TEST(RenderRss, ExactText)
{
    Report r = forensics_report();
    EXPECT_EQ(render(memtrace::render_rss, r),
              "resident: 3.5M (1M anon, 2M file, 512K shmem; 0 swapped), peak 8M\n");
    r.final = true;
    EXPECT_EQ(render(memtrace::render_rss, r),
              "resident: 3.5M (1M anon, 2M file, 512K shmem; 0 swapped), peak 8M\n");
    r.rss_anon = r.rss_file = r.rss_shmem = 0;
    EXPECT_EQ(render(memtrace::render_rss, r), "resident: peak 8M (the traced processes have exited)\n");
    r.rss_known = false;
    EXPECT_EQ(render(memtrace::render_rss, r), "");
}

TEST(RenderStacks, ExactText)
{
    Report r = forensics_report();
    EXPECT_EQ(render(memtrace::render_stacks, r),
              "\ntop fault stacks (estimated: 1 fault in 64 on each CPU sampled, counts scaled):\n"
              "       768  app\n"
              "            leaf\n"
              "            work\n"
              "            main\n"
              "\ntop brk stacks by bytes grown:\n"
              "        3M  app (3 calls)\n"
              "            grow\n"
              "            main\n"
              "note: 4 of 12 fault stacks are deeper than the copied stack: they start at [truncated]\n"
              "note: 2 stack samples lost: the ring buffer had no room for them\n");
}

TEST(RenderStacks, NotesOnlyWhenTheyApply)
{
    Report r = forensics_report();
    r.stack_sample_period = 1;
    r.truncated_stacks = 0;
    r.stacks_lost = 0;
    r.brk_stacks.clear();
    r.mmap_stacks = {{"app", {"main", "map"}, 4096, 1}};
    EXPECT_EQ(render(memtrace::render_stacks, r),
              "\ntop fault stacks:\n"
              "       768  app\n"
              "            leaf\n"
              "            work\n"
              "            main\n"
              "\ntop mmap stacks by bytes mapped:\n"
              "        4K  app (1 call)\n"
              "            map\n"
              "            main\n");
    r.stacks = false;
    EXPECT_EQ(render(memtrace::render_stacks, r), "");
}

TEST(RenderCrashes, ExactText)
{
    Report r = forensics_report();
    EXPECT_EQ(render(memtrace::render_crashes, r),
              "\nSIGSEGV in pid 42 (thread 43) at 1.250s, SEGV_MAPERR at 0x10:\n"
              "  reading 0x10, in the never-mapped first 64 KiB\n"
              "  faulting instruction: app+0x1139 (ip 0x555555555139)\n"
              "\nSIGSEGV in pid 42 (thread 42) at 2.000s, SI_TKILL at 0x0:\n"
              "  SIGSEGV was sent by process 7 (SI_TKILL), not raised by a memory access\n");
    r.crashes.clear();
    EXPECT_EQ(render(memtrace::render_crashes, r), "");
}

TEST(RenderText, IncludesTheForensicsSectionsInOrder)
{
    Report r = forensics_report();
    std::string text = render(memtrace::render_text, r);
    std::string sections[] = {render(memtrace::render_rss, r), render(memtrace::render_sites, r),
                              render(memtrace::render_latency, r), render(memtrace::render_stacks, r),
                              render(memtrace::render_crashes, r)};
    size_t from = 0;
    for (const std::string& s : sections) {
        size_t at = text.find(s, from);
        ASSERT_NE(at, std::string::npos) << "missing:\n" << s << "\nin:\n" << text;
        from = at + s.size();
    }
    EXPECT_EQ(text.substr(from), "\n");
}

// --- JSON ----------------------------------------------------------------------------------------

TEST(RenderJsonForensics, Sites)
{
    json j = memtrace::report_to_json(forensics_report());
    EXPECT_EQ(j["sites"], json::parse(R"([
        {"location": "memset+0x40 [libc.so.6]", "faults": 1234, "kernel_mode": 0, "segment": "heap"},
        {"location": "main+0x1a (demo.c:42) [demo]", "faults": 56, "kernel_mode": 7, "segment": "anon"}])"));
}

TEST(RenderJsonForensics, Latency)
{
    json j = memtrace::report_to_json(forensics_report());
    EXPECT_EQ(j["latency"], json::parse(R"({
        "minor_us": [{"low": 2, "high": 3, "count": 1}, {"low": 4, "high": 7, "count": 0},
                     {"low": 8, "high": 15, "count": 0}, {"low": 16, "high": 31, "count": 0},
                     {"low": 32, "high": 63, "count": 0}, {"low": 64, "high": 127, "count": 0},
                     {"low": 128, "high": 255, "count": 3}],
        "major_us": [{"low": 4096, "high": 8191, "count": 1}],
        "paired": 5,
        "unmatched_completions": 2})"));
    ASSERT_EQ(j["segments"].size(), 3u);
    EXPECT_EQ(j["segments"][0]["segment"], "heap");
    EXPECT_EQ(j["segments"][0]["latency_minor_us"].size(), 7u);
    EXPECT_EQ(j["segments"][0]["latency_minor_us"][6], json::parse(R"({"low": 128, "high": 255, "count": 3})"));
    EXPECT_EQ(j["segments"][0]["latency_major_us"], json::array());
    EXPECT_EQ(j["segments"][1]["latency_major_us"], json::parse(R"([{"low": 4096, "high": 8191, "count": 1}])"));
    EXPECT_EQ(j["segments"][2]["latency_minor_us"], json::array());
}

TEST(RenderJsonForensics, Rss)
{
    json j = memtrace::report_to_json(forensics_report());
    EXPECT_EQ(j["rss"],
              json::parse(R"({"anon": 1048576, "file": 2097152, "shmem": 524288, "swap": 0, "peak": 8388608})"));
}

TEST(RenderJsonForensics, Crashes)
{
    json j = memtrace::report_to_json(forensics_report());
    EXPECT_EQ(j["crashes"], json::parse(R"([
        {"pid": 42, "tid": 43, "time_s": 1.25, "signal": "SIGSEGV", "code": "SEGV_MAPERR", "kind": "null-page",
         "explanation": "reading 0x10, in the never-mapped first 64 KiB", "addr": 16, "ip": 93824992235833,
         "location": "app+0x1139"},
        {"pid": 42, "tid": 42, "time_s": 2.0, "signal": "SIGSEGV", "code": "SI_TKILL", "kind": "sent-by-process",
         "explanation": "SIGSEGV was sent by process 7 (SI_TKILL), not raised by a memory access", "addr": 0,
         "ip": 0, "location": ""}])"));
}

TEST(RenderJsonForensics, Stacks)
{
    json j = memtrace::report_to_json(forensics_report());
    EXPECT_EQ(j["stacks"], json::parse(R"({
        "faults": [{"comm": "app", "frames": ["main", "work", "leaf"], "count": 768, "samples": 12}],
        "brk": [{"comm": "app", "frames": ["main", "grow"], "count": 3145728, "samples": 3}],
        "mmap": [],
        "sample_period": 64,
        "estimated": true,
        "fault_samples": 12,
        "deep_fault_samples": 9,
        "truncated": 4,
        "complete_fault_samples": 0,
        "call_samples": 0,
        "complete_call_samples": 0,
        "lost": 2})"));
}

TEST(RenderJsonForensics, OptionalSectionsAbsentWhenOff)
{
    Report r = forensics_report();
    r.latency = false;
    r.rss_known = false;
    r.stacks = false;
    r.sites.clear();
    r.crashes.clear();
    json j = memtrace::report_to_json(r);
    EXPECT_FALSE(j.contains("latency"));
    EXPECT_FALSE(j.contains("rss"));
    EXPECT_FALSE(j.contains("stacks"));
    EXPECT_EQ(j["sites"], json::array()) << "always there, empty";
    EXPECT_EQ(j["crashes"], json::array());
    EXPECT_FALSE(j["segments"][0].contains("latency_minor_us"));
    EXPECT_FALSE(j["segments"][0].contains("latency_major_us"));
}

TEST(RenderJsonForensics, LineIsTheSameObject)
{
    Report r = forensics_report();
    std::ostringstream out;
    memtrace::render_json_line(out, r);
    std::string line = out.str();
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
    EXPECT_EQ(json::parse(line), memtrace::report_to_json(r));
}

}  // namespace
