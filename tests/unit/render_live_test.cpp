// The live terminal frame: exact size for the terminal, title, segment table, overflow line.
#include "output/render_live.h"

#include <string>

#include <gtest/gtest.h>

#include "output/format_util.h"

using memtrace::display_width;
using memtrace::LiveTitle;
using memtrace::Report;
using memtrace::SegmentKind;
using memtrace::SegmentRow;

namespace {

Report sample(int segments = 3)
{
    Report r;
    r.elapsed_s = 2.5;
    r.interval_s = 1.0;
    r.faults = 1234;
    r.interval_faults = 34;
    r.major = 2;
    for (int i = 0; i < segments; ++i) {
        SegmentRow s;
        s.label = i == 0 ? "heap" : "libsomething.so." + std::to_string(i) + " .text";
        s.kind = i == 0 ? SegmentKind::Heap : SegmentKind::Section;
        s.faults = 1000 - i * 10;
        s.interval_faults = 10;
        r.segments.push_back(s);
    }
    r.heap_size = 135168;
    r.brk_calls = 3;
    r.heap_history = {4096, 8192, 135168};
    r.mmap_sizes.add(4096, 3);
    r.mmap_sizes.add(1 << 20);
    r.brk_grow.add(135168);
    r.heap_offsets.add(100);
    return r;
}

const LiveTitle kTitle{"pid 1234 (python3)", ""};  // the state is empty while tracing

void expect_exact_size(const std::vector<std::string>& lines, int width, int height)
{
    ASSERT_EQ(lines.size(), static_cast<size_t>(height));
    for (size_t i = 0; i < lines.size(); ++i)
        EXPECT_EQ(display_width(lines[i]), static_cast<size_t>(width)) << "line " << i << ": \"" << lines[i] << '"';
}

TEST(RenderLive, ExactSize80x24)
{
    auto lines = memtrace::render_live_frame(sample(), kTitle, 80, 24);
    expect_exact_size(lines, 80, 24);
    EXPECT_NE(lines[0].find("pid 1234 (python3)"), std::string::npos);
    EXPECT_EQ(lines[0], memtrace::fit("memtrace pid 1234 (python3) 2.5s  faults 1,234 (34/s) major 2 dropped 0", 80));
}

TEST(RenderLive, ExactSize200x50)
{
    auto lines = memtrace::render_live_frame(sample(40), kTitle, 200, 50);
    expect_exact_size(lines, 200, 50);
    EXPECT_NE(lines[0].find("pid 1234 (python3)"), std::string::npos);
}

TEST(RenderLive, Layout)
{
    auto lines = memtrace::render_live_frame(sample(), kTitle, 80, 24);
    ASSERT_EQ(lines.size(), 24u);
    // Header: the label column is as wide as the longest label (23 here; at least 12).
    const std::string label_col = memtrace::fit("SEGMENT", 23);
    EXPECT_EQ(lines[1].rfind(label_col + "     FAULTS        /s   MAJOR share", 0), 0u) << lines[1];
    EXPECT_EQ(lines[2].rfind(memtrace::fit("heap", 23) + "      1,000        10       0 ", 0), 0u) << lines[2];
    EXPECT_NE(lines[2].find("█"), std::string::npos) << "the top segment has a full bar";
    EXPECT_EQ(lines[3].rfind(memtrace::fit("libsomething.so.1 .text", 23) + "        990        10       0 ", 0), 0u)
        << lines[3];
    EXPECT_EQ(lines[5], std::string(80, ' ')) << "blank filler between the table and the bottom block";
    EXPECT_EQ(lines[18].rfind("heap   132K  brk 3 calls  ", 0), 0u) << lines[18];
    EXPECT_EQ(lines[19].rfind("mmap sizes        4K ", 0), 0u) << lines[19];
    EXPECT_NE(lines[19].find(" 2M  4 mmaps"), std::string::npos) << lines[19];
    EXPECT_EQ(lines[22], memtrace::fit("stack fault depth -", 80));
    EXPECT_EQ(lines[23], memtrace::fit("Tab: [segments] layout heatmap   q quit", 80));
}

TEST(RenderLive, TooManySegmentsEndsWithAMoreLine)
{
    auto lines = memtrace::render_live_frame(sample(30), kTitle, 80, 24);
    expect_exact_size(lines, 80, 24);
    // 24 lines: title, header, 15 segments, the "more" line, 6 lines of bottom block.
    EXPECT_EQ(lines[16].rfind("libsomething.so.14 .text", 0), 0u) << lines[16];
    EXPECT_EQ(lines[17], memtrace::fit("… 15 more segments", 80));
    EXPECT_EQ(lines[18].rfind("heap ", 0), 0u);
}

TEST(RenderLive, NoSegmentsAndEmptyHistograms)
{
    Report r;
    auto lines = memtrace::render_live_frame(r, LiveTitle{"pid 1 (init)", "target exited"}, 80, 24);
    expect_exact_size(lines, 80, 24);
    EXPECT_EQ(lines[0], memtrace::fit("memtrace pid 1 (init) 0.0s target exited  faults 0 (0/s) major 0 dropped 0", 80));
    EXPECT_EQ(lines[19], memtrace::fit("mmap sizes        -", 80));
    EXPECT_EQ(lines[20], memtrace::fit("brk increments    -", 80));
    EXPECT_EQ(lines[21], memtrace::fit("heap fault offs   -", 80));
    EXPECT_EQ(lines[22], memtrace::fit("stack fault depth -", 80));
}

TEST(RenderLive, LongTitleIsCut)
{
    LiveTitle t{std::string(300, 'x'), "tracing"};
    auto lines = memtrace::render_live_frame(sample(), t, 80, 24);
    expect_exact_size(lines, 80, 24);
}

TEST(RenderLive, SmallTerminalStillGetsExactlyItsSize)
{
    // render_live.h promises exactly `height` lines of exactly `width` columns: a frame larger
    // than the terminal scrolls it.
    auto lines = memtrace::render_live_frame(sample(), kTitle, 30, 10);
    expect_exact_size(lines, 30, 10);
}

}  // namespace

namespace {

TEST(RenderLive, HostileNamesAreEscaped)
{
    Report r = sample();
    r.segments[1].label = "\x1b]0;owned\x07\x1b[2J";
    const LiveTitle title{"pid 1 (\x1b[31mred)", ""};
    for (const std::string& line : memtrace::render_live_frame(r, title, 100, 30))
        for (unsigned char c : line)
            EXPECT_GE(c, 0x20) << line;
    auto lines = memtrace::render_live_frame(r, title, 100, 30);
    EXPECT_NE(lines[0].find("pid 1 (\\x1b[31mred)"), std::string::npos) << lines[0];
}

}  // namespace
