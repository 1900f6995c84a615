// Plain-text rendering: bcc-style histograms and the interval / summary report.
#include "output/render_text.h"

#include <sstream>

#include <gtest/gtest.h>

using memtrace::Log2Histogram;
using memtrace::ProcessRow;
using memtrace::Report;
using memtrace::SegmentKind;
using memtrace::SegmentRow;

namespace {

SegmentRow segment(const char* label, SegmentKind kind, uint64_t faults, uint64_t major, uint64_t writes,
                   uint64_t instr, uint64_t kernel_mode, uint64_t interval)
{
    SegmentRow s;
    s.label = label;
    s.kind = kind;
    s.faults = faults;
    s.major = major;
    s.writes = writes;
    s.instr = instr;
    s.kernel_mode = kernel_mode;
    s.interval_faults = interval;
    return s;
}

Report small_report()
{
    Report r;
    r.elapsed_s = 2.5;
    r.interval_s = 1.0;
    r.final = false;
    r.faults = 1234;
    r.major = 2;
    r.interval_faults = 34;
    r.segments.push_back(segment("heap", SegmentKind::Heap, 1000, 2, 900, 0, 5, 30));
    r.segments.push_back(segment("libc.so.6 .text", SegmentKind::Section, 234, 0, 0, 234, 0, 4));
    ProcessRow p;
    p.pid = 42;
    p.comm = "app";
    p.faults = 1234;
    r.processes.push_back(p);
    r.heap_start = 0x555555559000;
    r.heap_size = 135168;
    r.brk_calls = 3;
    r.mmap_calls = 4;
    r.munmap_calls = 1;
    r.mremap_calls = 0;
    r.mprotect_calls = 2;
    r.mmap_sizes.add(4096, 2);
    r.mmap_sizes.add(65536);
    return r;
}

TEST(RenderLog2Histogram, ExactText)
{
    Log2Histogram h;
    h.add(1);
    h.add(2);
    h.add(3);
    h.add(8, 4);
    std::ostringstream out;
    memtrace::render_log2_histogram(out, h, "bytes");
    EXPECT_EQ(out.str(),
              "                   bytes : count    distribution\n"
              "         1 -> 1          : 1        |**********                              |\n"
              "         2 -> 3          : 2        |********************                    |\n"
              "         4 -> 7          : 0        |                                        |\n"
              "         8 -> 15         : 4        |****************************************|\n");
}

TEST(RenderLog2Histogram, EmptyDrawsNothing)
{
    std::ostringstream out;
    memtrace::render_log2_histogram(out, Log2Histogram{}, "bytes");
    EXPECT_EQ(out.str(), "");
}

TEST(RenderLog2Histogram, ZeroBucket)
{
    Log2Histogram h;
    h.add(0, 3);
    std::ostringstream out;
    memtrace::render_log2_histogram(out, h, "depth");
    EXPECT_EQ(out.str(),
              "                   depth : count    distribution\n"
              "         0 -> 0          : 3        |****************************************|\n");
}

TEST(RenderText, IntervalReport)
{
    std::ostringstream out;
    memtrace::render_text(out, small_report());
    EXPECT_EQ(out.str(),
              "Interval at 2.5s: 1,234 faults (34 in the last 1.0s), 2 major, 0 records dropped\n"
              "pid 42 (app): 1,234 faults\n"
              "SEGMENT             FAULTS   INTERVAL    MINOR    MAJOR    WRITE   KERNEL\n"
              "heap                  1000         30      998        2      900        5\n"
              "libc.so.6 .text        234          4      234        0        0        0\n"
              "heap: 135,168 bytes at 0x555555559000, 3 brk calls; mmap 4, munmap 1, mremap 0, mprotect 2\n"
              "\n"
              "mmap sizes:\n"
              "                   bytes : count    distribution\n"
              "      4096 -> 8191       : 2        |****************************************|\n"
              "      8192 -> 16383      : 0        |                                        |\n"
              "     16384 -> 32767      : 0        |                                        |\n"
              "     32768 -> 65535      : 0        |                                        |\n"
              "     65536 -> 131071     : 1        |********************                    |\n"
              "\n");
}

TEST(RenderText, SummaryWithKernelCountsAndDrops)
{
    Report r;
    r.elapsed_s = 10.04;
    r.interval_s = 0.5;
    r.final = true;
    r.faults = 1234;
    r.interval_faults = 0;
    r.dropped = 5;
    r.kernel_counted_faults = 1239;
    ProcessRow a;
    a.pid = 42;
    a.comm = "app";
    a.alive = false;
    a.faults = 1234;
    a.kernel_known = true;
    a.kernel_exact = true;
    a.kernel_faults = 1230;
    ProcessRow b;
    b.pid = 43;
    b.comm = "worker";
    b.faults = 0;
    ProcessRow c;
    c.pid = 44;
    c.comm = "x";
    c.alive = false;
    c.faults = 10;
    c.kernel_known = true;
    c.kernel_exact = false;
    c.kernel_faults = 12;
    ProcessRow d = c;
    d.pid = 45;
    d.kernel_faults = 10;
    r.processes = {a, b, c, d};
    r.heap_offsets.add(100);
    std::ostringstream out;
    memtrace::render_text(out, r);
    EXPECT_EQ(out.str(),
              "Summary at 10.0s: 1,234 faults (0 in the last 0.5s), 0 major, 5 records dropped\n"
              "  (1,239 faults counted in the kernel; 5 records lost, the counts above may miss some)\n"
              "pid 42 (app) exited: 1,234 faults; kernel counted 1,230 (minflt+majflt since exec), difference +4 "
              "(unexplained)\n"
              "pid 43 (worker): 0 faults; kernel count unknown (process still running at the end)\n"
              "pid 44 (x) exited: 10 faults; kernel counted 12 (minflt+majflt since attach, read from /proc), "
              "difference -2 (unexplained)\n"
              "pid 45 (x) exited: 10 faults; kernel counted 10 (minflt+majflt since attach, read from /proc)\n"
              "SEGMENT     FAULTS   INTERVAL    MINOR    MAJOR    WRITE   KERNEL\n"
              "heap: 0 bytes at 0x0, 0 brk calls; mmap 0, munmap 0, mremap 0, mprotect 0\n"
              "\n"
              "fault offsets in the heap:\n"
              "                  offset : count    distribution\n"
              "        64 -> 127        : 1        |****************************************|\n"
              "\n");
}

TEST(RenderText, UntracedFaultsAreExplained)
{
    Report r;
    r.final = true;
    r.faults = 15;
    ProcessRow p;
    p.pid = 7;
    p.comm = "sh";
    p.alive = false;
    p.faults = 15;
    p.untraced_faults = 5;
    p.untraced_by_cause[0] = 5;
    p.kernel_known = true;
    p.kernel_faults = 20;
    ProcessRow q = p;
    q.pid = 8;
    q.kernel_faults = 21;
    r.processes = {p, q};
    std::ostringstream out;
    memtrace::render_text(out, r);
    std::string s = out.str();
    EXPECT_NE(s.find("pid 7 (sh) exited: 15 faults; kernel counted 20 (minflt+majflt since attach, read from /proc), "
                     "of which 5 in exec without a tracepoint (get_user_pages)\n"),
              std::string::npos)
        << s;
    EXPECT_NE(s.find("pid 8 (sh) exited: 15 faults; kernel counted 21 (minflt+majflt since attach, read from /proc), "
                     "of which 5 in exec without a tracepoint (get_user_pages), difference -1 (unexplained)\n"),
              std::string::npos)
        << s;
}

TEST(RenderText, AllHistogramTitlesInOrder)
{
    Report r;
    r.mmap_sizes.add(1);
    r.brk_grow.add(1);
    r.brk_shrink.add(1);
    r.heap_offsets.add(1);
    r.stack_depths.add(1);
    std::ostringstream out;
    memtrace::render_text(out, r);
    std::string s = out.str();
    size_t a = s.find("\nmmap sizes:\n"), b = s.find("\nbrk increments (grow):\n"),
           c = s.find("\nbrk decrements (shrink):\n"), d = s.find("\nfault offsets in the heap:\n"),
           e = s.find("\nfault depths in the main stack:\n");
    ASSERT_NE(a, std::string::npos);
    ASSERT_NE(b, std::string::npos);
    ASSERT_NE(c, std::string::npos);
    ASSERT_NE(d, std::string::npos);
    ASSERT_NE(e, std::string::npos);
    EXPECT_LT(a, b);
    EXPECT_LT(b, c);
    EXPECT_LT(c, d);
    EXPECT_LT(d, e);
    EXPECT_NE(s.find("                   depth : count    distribution\n"), std::string::npos);
}

}  // namespace

namespace {

// A traced program names a file to attack the terminal of whoever watches it: every name reaches
// the text output escaped, one row per segment, no control byte.
TEST(RenderText, HostileNamesAreEscaped)
{
    Report r = small_report();
    r.final = true;
    r.segments[0].label = "file /tmp/\x1b]0;owned\x07\x1b[2J\nfake row";
    r.processes[0].comm = "x\x1b[31m";
    memtrace::SiteRow site;
    site.location = "evil\nsym";
    site.segment = "seg\r";
    site.faults = 1000;
    r.sites.push_back(site);
    memtrace::CrashRow crash;
    crash.signal = "SIGSEGV";
    crash.explanation = "writing 0x0, in file /tmp/\x1b[2J";
    crash.location = "f\x07";
    r.crashes.push_back(crash);
    std::ostringstream out;
    memtrace::render_text(out, r);
    const std::string text = out.str();
    for (unsigned char c : text)
        EXPECT_TRUE(c >= 0x20 || c == '\n') << "control byte " << int(c) << " in:\n" << text;
    EXPECT_NE(text.find("file /tmp/\\x1b]0;owned\\x07\\x1b[2J\\nfake row"), std::string::npos) << text;
    EXPECT_NE(text.find("pid 42 (x\\x1b[31m)"), std::string::npos) << text;
    EXPECT_NE(text.find("evil\\nsym"), std::string::npos) << text;
    EXPECT_EQ(text.find("\nfake row"), std::string::npos);
}

}  // namespace
