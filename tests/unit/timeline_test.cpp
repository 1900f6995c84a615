// The analyses behind the pictures, through the real pipeline: the Timeline of the final report
// (time buckets, their merging, the heatmap's bands and rows, segment series, markers, gauges) and
// the live layout of every report (rows with their interval's faults, heap and stack growth, the
// segments' recent heat).
#include <cstring>
#include <numeric>
#include <string>

#include <gtest/gtest.h>

#include "analysis/live_layout.h"
#include "analysis/timeline.h"
#include "output/timeline_series.h"
#include "test_trace.h"

using memtrace::LayoutArea;
using memtrace::LayoutRegion;
using memtrace::Report;
using memtrace::SegmentKind;
using memtrace::Timeline;
using memtrace_test::FakeSource;
using memtrace_test::make_fault;
using memtrace_test::make_record;
using memtrace_test::TestTrace;

namespace {

constexpr uint32_t kPid = 100;
constexpr uint64_t kHeap = 0x555555559000, kHeapEnd = 0x55555557a000;
constexpr uint64_t kAnon = 0x7f0000000000, kStack = 0x7ffffffde000, kStackTop = 0x7ffffffff000;
const char* const kMaps =
    "555555554000-555555556000 r--p 00000000 fe:00 247101                     /usr/bin/app.dat\n"
    "555555559000-55555557a000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";

constexpr uint64_t ms(double m) { return TestTrace::kOrigin + static_cast<uint64_t>(m * 1e6); }

class TimelineTest : public ::testing::Test {
protected:
    TimelineTest()
    {
        source.set_maps(kPid, kMaps);
        trace.attach(kPid, "app");
    }
    void fault(double at_ms, uint64_t addr, uint32_t tid = kPid)
    {
        auto f = make_fault(kPid, tid, addr);
        f.hdr.ts_ns = ms(at_ms);
        ASSERT_TRUE(trace.feed(f));
    }
    void brk(double at_ms, uint64_t old_brk, uint64_t new_brk)
    {
        auto b = make_record<mt_brk>(MT_REC_BRK, kPid, kPid, ms(at_ms));
        b.start_brk = kHeap;
        b.old_brk = old_brk;
        b.new_brk = new_brk;
        ASSERT_TRUE(trace.feed(b));
    }
    void mmap_anon(double at_ms, uint64_t addr, uint64_t len)
    {
        auto m = make_record<mt_mmap>(MT_REC_MMAP, kPid, kPid, ms(at_ms));
        m.addr = addr;
        m.len = len;
        m.prot = 3;
        m.mflags = 0x22;  // MAP_PRIVATE | MAP_ANONYMOUS
        m.fd = -1;
        ASSERT_TRUE(trace.handle(&m, offsetof(mt_mmap, path)));
    }
    void munmap(double at_ms, uint64_t addr, uint64_t len)
    {
        auto m = make_record<mt_munmap>(MT_REC_MUNMAP, kPid, kPid, ms(at_ms));
        m.addr = addr;
        m.len = len;
        m.enter_ns = ms(at_ms);
        ASSERT_TRUE(trace.feed(m));
    }
    Report final_report(double at_ms) { return trace.report(at_ms / 1e3, 0, true); }

    static const Timeline::Band* band(const Timeline& t, const std::string& label)
    {
        for (const Timeline::Band& b : t.bands)
            if (b.label == label)
                return &b;
        return nullptr;
    }
    static uint64_t band_cells(const Timeline& t, const std::string& label)
    {
        uint64_t sum = 0;
        for (const Timeline::Cell& c : t.cells)
            if (t.bands[c.band].label == label)
                sum += c.faults;
        return sum;
    }

    FakeSource source;
    TestTrace trace{source};
};

TEST_F(TimelineTest, FaultsInMillisecondBucketsAndLayoutBands)
{
    fault(0.5, kHeap);
    fault(0.7, kHeap + 4096);
    fault(2.2, kAnon + 8192);
    fault(2.3, kStackTop - 8);
    fault(3.9, kStackTop - 4096 - 8);
    Report r = final_report(5.5);
    const Timeline& t = r.timeline;
    EXPECT_EQ(t.bucket_ns, 1'000'000u);
    EXPECT_EQ(t.buckets, 6u) << "0-5 ms: up to the final report";
    EXPECT_EQ(t.pid, kPid);
    EXPECT_EQ(t.comm, "app");

    // Bands in layout order: heap, mmap area, stacks.
    ASSERT_EQ(t.bands.size(), 3u);
    EXPECT_EQ(t.bands[0].label, "heap");
    EXPECT_EQ(t.bands[0].area, LayoutArea::Heap);
    EXPECT_EQ(t.bands[1].label, "anon");
    EXPECT_EQ(t.bands[1].area, LayoutArea::MmapArea);
    EXPECT_EQ(t.bands[2].label, "stack");
    EXPECT_EQ(t.bands[2].area, LayoutArea::Stacks);
    EXPECT_EQ(t.bands[0].rows, (std::vector<uint64_t>{kHeap >> 12, (kHeap >> 12) + 1})) << "a row per page that faulted";
    EXPECT_EQ(t.bands[0].low(), kHeap);
    EXPECT_EQ(t.bands[0].high(), kHeap + 8192);

    // Cells: (bucket, band, row, faults), by bucket.
    ASSERT_EQ(t.cells.size(), 5u);
    EXPECT_EQ(t.cells[0].bucket, 0u);
    EXPECT_EQ(t.cells[0].band, 0u);
    EXPECT_EQ(t.cells[0].row, 0u);
    EXPECT_EQ(t.cells[1].row, 1u);
    EXPECT_EQ(t.cells[2].bucket, 2u);
    EXPECT_EQ(t.cells[2].band, 1u);
    EXPECT_EQ(t.cells[3].bucket, 2u);
    EXPECT_EQ(t.cells[3].band, 2u);
    EXPECT_EQ(t.cells[3].row, 1u) << "the page just below the stack's top is its highest row";
    EXPECT_EQ(t.cells[4].bucket, 3u);
    EXPECT_EQ(t.cells[4].row, 0u);

    // Per segment and per process, by kind.
    ASSERT_EQ(t.segments.size(), 3u);
    EXPECT_EQ(t.segments[0].label, "heap");
    EXPECT_EQ(t.segments[0].per_bucket, (std::vector<uint64_t>{2, 0, 0, 0, 0, 0}));
    EXPECT_EQ(t.segments[1].label, "stack");
    EXPECT_EQ(t.segments[1].per_bucket, (std::vector<uint64_t>{0, 0, 1, 1, 0, 0}));
    ASSERT_EQ(t.processes.size(), 1u);
    const auto& p = t.processes[0];
    EXPECT_EQ(p.faults[0][static_cast<size_t>(SegmentKind::Heap)], 2u);
    EXPECT_EQ(p.faults[2][static_cast<size_t>(SegmentKind::Anon)], 1u);
    EXPECT_EQ(p.tids, std::vector<uint32_t>{kPid});
    EXPECT_EQ(p.heap.back(), static_cast<int64_t>(kHeapEnd - kHeap)) << "sampled at the final report";
}

TEST_F(TimelineTest, MarkersAndGauges)
{
    trace.set_rss(kPid, {10, 20, 30, 0, 60});
    brk(1.5, kHeapEnd, kHeapEnd + 0x21000);
    mmap_anon(2.5, 0x7f1000000000, 0x10000);
    munmap(3.5, 0x7f1000000000, 0x10000);
    auto s = make_record<mt_signal>(MT_REC_SIGNAL, kPid, kPid, ms(4.5));
    s.signo = 11;
    s.code = 1;
    s.addr = 0x10;
    ASSERT_TRUE(trace.feed(s));
    Report r = final_report(5);
    const Timeline& t = r.timeline;
    ASSERT_EQ(t.markers.size(), 4u);
    EXPECT_EQ(t.markers[0].kind, Timeline::MarkerKind::Brk);
    EXPECT_EQ(t.markers[0].ts_ns, 1'500'000u);
    EXPECT_EQ(t.markers[0].addr, kHeapEnd);
    EXPECT_EQ(t.markers[0].len, kHeapEnd + 0x21000);
    EXPECT_EQ(t.markers[1].kind, Timeline::MarkerKind::Mmap);
    EXPECT_EQ(t.markers[1].text, "anon");
    EXPECT_EQ(t.markers[1].len, 0x10000u);
    EXPECT_EQ(t.markers[2].kind, Timeline::MarkerKind::Munmap);
    EXPECT_EQ(t.markers[3].kind, Timeline::MarkerKind::Crash);
    EXPECT_EQ(t.markers[3].text, "SIGSEGV SEGV_MAPERR");
    EXPECT_EQ(t.marker_counts[1][static_cast<size_t>(Timeline::MarkerKind::Brk)], 1u);
    EXPECT_EQ(t.marker_counts[2][static_cast<size_t>(Timeline::MarkerKind::Mmap)], 1u);
    EXPECT_EQ(t.marker_counts[3][static_cast<size_t>(Timeline::MarkerKind::Munmap)], 1u);

    const auto& p = t.processes.at(0);
    EXPECT_EQ(p.rss_anon[0], 10 * 4096);
    EXPECT_EQ(p.rss_file[0], 20 * 4096);
    EXPECT_EQ(p.rss_shmem[0], 30 * 4096);
    EXPECT_EQ(p.rss_anon[1], -1) << "no sample there";
    EXPECT_EQ(p.heap[1], static_cast<int64_t>(kHeapEnd + 0x21000 - kHeap)) << "the brk moved it";
    EXPECT_EQ(r.heap_size, static_cast<uint64_t>(p.heap.back()));
    EXPECT_FALSE(p.exited);
}

TEST_F(TimelineTest, AnExitEndsTheProcesssResidentMemory)
{
    trace.set_rss(kPid, {10, 20, 30, 0, 60});
    auto exit = make_record<mt_exit>(MT_REC_EXIT, kPid, kPid, ms(2.5));
    ASSERT_TRUE(trace.feed(exit));
    Report r = final_report(4);
    const auto& p = r.timeline.processes.at(0);
    EXPECT_TRUE(p.exited);
    EXPECT_EQ(p.exit_ns, 2'500'000u);
    memtrace::MemorySeries m = memtrace::memory_series(r.timeline);
    ASSERT_EQ(m.anon.size(), 5u);
    EXPECT_EQ(m.anon[0], 10 * 4096);
    EXPECT_EQ(m.anon[2], 10 * 4096) << "up to the bucket it exited in";
    EXPECT_EQ(m.anon[3], 0);
    EXPECT_EQ(m.heap[4], static_cast<int64_t>(kHeapEnd - kHeap)) << "the heap stays as it last was";
}

TEST_F(TimelineTest, ALongTraceMergesBucketsAndKeepsEveryFault)
{
    for (int i = 0; i < 600; ++i)
        fault(i, kAnon + 4096 * (i % 8));
    Report r = final_report(600);
    const Timeline& t = r.timeline;
    EXPECT_EQ(t.bucket_ns, 4'000'000u) << "600 ms in at most 256 buckets: 1 ms doubled twice";
    EXPECT_EQ(t.buckets, 151u);
    uint64_t cells = 0;
    for (const Timeline::Cell& c : t.cells) {
        cells += c.faults;
        EXPECT_LT(c.bucket, t.buckets);
    }
    EXPECT_EQ(cells, 600u);
    EXPECT_EQ(t.segments.at(0).per_bucket.at(0), 4u) << "faults at 0, 1, 2, 3 ms";
    EXPECT_EQ(std::accumulate(t.segments[0].per_bucket.begin(), t.segments[0].per_bucket.end(), uint64_t{0}), 600u);
}

TEST_F(TimelineTest, BandsHoldAtMostSixteenRows)
{
    for (int i = 0; i < 80; ++i)
        fault(1, kAnon + 4096 * 3 * i);  // pages 0, 3, 6, ... 237 of the anonymous region
    Report r = final_report(2);
    const Timeline::Band* anon = band(r.timeline, "anon");
    ASSERT_NE(anon, nullptr);
    EXPECT_LE(anon->rows.size(), 16u);
    EXPECT_GT(anon->row_shift, 12u) << "each row covers more than a page";
    EXPECT_EQ(anon->faults, 80u);
    EXPECT_EQ(band_cells(r.timeline, "anon"), 80u);
    EXPECT_EQ(anon->low(), kAnon) << "the region starts on a row boundary";
    EXPECT_GE(anon->high(), kAnon + 4096 * 3 * 79 + 4096);
    EXPECT_LE(anon->high(), kAnon + 0x100000);
}

TEST_F(TimelineTest, OnlyTheFinalReportCarriesTheTimeline)
{
    fault(0.5, kHeap);
    Report interval = trace.report(0.001);
    EXPECT_EQ(interval.timeline.buckets, 0u);
    EXPECT_TRUE(interval.timeline.cells.empty());
    EXPECT_EQ(final_report(2).timeline.cells.size(), 1u);
}

TEST_F(TimelineTest, LiveLayoutRowsCarryTheIntervalsFaultsAndGrowth)
{
    Report first = trace.report(0.001);
    ASSERT_EQ(first.layout.size(), 4u);
    EXPECT_EQ(first.layout[0].label, "file /usr/bin/app.dat");
    EXPECT_EQ(first.layout[1].label, "heap");
    EXPECT_EQ(first.layout[1].kind, SegmentKind::Heap);
    EXPECT_EQ(first.layout[3].start, kStack);

    fault(1.1, kHeap);
    fault(1.2, kHeap + 4096);
    fault(1.3, kStack - 8192);  // below the stack's VMA: the room it grows into
    brk(1.4, kHeapEnd, kHeapEnd + 0x21000);
    Report second = trace.report(0.002);
    ASSERT_EQ(second.layout.size(), 4u);
    const LayoutRegion& heap = second.layout[1];
    EXPECT_EQ(heap.interval_faults, 2u);
    EXPECT_EQ(heap.end, kHeapEnd + 0x21000);
    EXPECT_EQ(heap.growth, 0x21000);
    const LayoutRegion& stack = second.layout[3];
    EXPECT_EQ(stack.start, kStack - 8192) << "the stack drawn down to its deepest fault";
    EXPECT_EQ(stack.growth, 8192);
    EXPECT_EQ(stack.interval_faults, 1u);
    EXPECT_EQ(second.layout[2].interval_faults, 0u);

    Report third = trace.report(0.003);
    EXPECT_EQ(third.layout[1].interval_faults, 0u) << "faults of this interval only";
    EXPECT_EQ(third.layout[1].growth, 0);
    EXPECT_EQ(third.layout[3].growth, 0);

    // The heat of the last intervals, per segment in layout order.
    const memtrace::SegmentHeat& heat = third.segment_heat;
    EXPECT_EQ(heat.interval_ends_s, (std::vector<double>{0.001, 0.002, 0.003}));
    ASSERT_EQ(heat.bands.size(), 2u);
    EXPECT_EQ(heat.bands[0].label, "heap");
    EXPECT_EQ(heat.bands[0].faults, (std::vector<uint64_t>{0, 2, 0}));
    EXPECT_EQ(heat.bands[1].label, "stack");
    EXPECT_EQ(heat.bands[1].faults, (std::vector<uint64_t>{0, 1, 0}));
}

TEST(TimelineBands, ALibrarysSectionsAreOneBandTheProgramsEachTheirOwn)
{
    FakeSource source;
    auto image = memtrace::ElfImage::load(MEMTRACE_ELF_PIE);
    ASSERT_NE(image, nullptr);
    source.add_image("/usr/bin/app", image);
    source.add_image("/usr/lib/libfix.so", image);
    const uint64_t program = 0x555555550000, library = 0x7f0000000000;
    source.set_maps(kPid, memtrace_test::maps_for_image(*image, program, "/usr/bin/app") +
                              memtrace_test::maps_for_image(*image, library, "/usr/lib/libfix.so"));
    TestTrace trace(source);
    trace.attach(kPid, "app");
    const uint64_t text = memtrace_test::find_section(*image, ".text")->addr;
    const uint64_t data = memtrace_test::find_section(*image, ".data")->addr;
    for (uint64_t base : {program, library})
        for (uint64_t addr : {base + text, base + data}) {
            auto f = make_fault(kPid, kPid, addr);
            f.hdr.ts_ns = ms(0.5);
            ASSERT_TRUE(trace.feed(f));
        }
    Report r = trace.report(0.001, 0, true);
    std::vector<std::string> labels;
    for (const Timeline::Band& b : r.timeline.bands)
        labels.push_back(b.label);
    EXPECT_EQ(labels, (std::vector<std::string>{"app .text", "app .data", "libfix.so"}));
    EXPECT_EQ(r.timeline.bands[0].area, LayoutArea::Program);
    EXPECT_EQ(r.timeline.bands[2].area, LayoutArea::MmapArea);
    EXPECT_EQ(r.timeline.bands[2].segments, (std::vector<std::string>{"libfix.so .text", "libfix.so .data"}));
    EXPECT_EQ(r.timeline.bands[2].faults, 2u);
    // The live heatmap groups them the same way.
    std::vector<std::string> live;
    for (const memtrace::SegmentHeat::Band& b : r.segment_heat.bands)
        live.push_back(b.label);
    EXPECT_EQ(live, labels);
}

TEST(TimelineBands, PastTheBoundSegmentsShareTheLastBand)
{
    FakeSource source;
    std::string maps;
    for (int i = 0; i < 140; ++i)
        maps += fmt::format("7f{:03x}0000000-7f{:03x}0001000 r--p 00000000 fe:00 {} /data/file{}\n", i, i, 5000 + i, i);
    source.set_maps(kPid, maps);
    TestTrace trace(source);
    trace.attach(kPid, "app");
    for (int i = 0; i < 140; ++i) {
        auto f = make_fault(kPid, kPid, (0x7f0000000000ULL + (uint64_t(i) << 28)));
        f.hdr.ts_ns = ms(0.5);
        ASSERT_TRUE(trace.feed(f));
    }
    Report r = trace.report(0.001, 0, true);
    const Timeline& t = r.timeline;
    ASSERT_EQ(t.bands.size(), memtrace::TimelineRecorder::kMaxBands);
    EXPECT_EQ(t.bands.back().label, "other segments");
    EXPECT_EQ(t.bands.back().segments.size(), 140u - memtrace::TimelineRecorder::kMaxBands + 1);
    EXPECT_EQ(t.bands.back().faults, 13u);
    uint64_t cells = 0;
    for (const Timeline::Cell& c : t.cells)
        cells += c.faults;
    EXPECT_EQ(cells, 140u);
    ASSERT_EQ(r.segment_heat.bands.size(), memtrace::LiveLayout::kMaxBands);
    EXPECT_EQ(r.segment_heat.bands.back().label, "other segments");
    EXPECT_EQ(r.segment_heat.bands.back().faults.back(), 140u - memtrace::LiveLayout::kMaxBands + 1);
}

}  // namespace
