// TestTrace's fault forensics: latency pairing of FAULT and FAULT_DONE records, fault sites,
// crash rows from SIGNAL records, the unmap history behind use-after-unmap, resident memory and
// folded user stacks.
#include "test_trace.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

using memtrace::CodeNamer;
using memtrace::CrashRow;
using memtrace::ElfImage;
using memtrace::Log2Histogram;
using memtrace::ResidentPages;
using memtrace::Report;
using memtrace::SegmentRow;
using memtrace::SiteRow;
using memtrace::StackRow;
using memtrace_test::TestTrace;
using memtrace_test::FakeSource;
using memtrace_test::find_section;
using memtrace_test::make_fault;
using memtrace_test::make_record;
using memtrace_test::maps_for_image;

namespace {

constexpr uint32_t kPid = 200;
constexpr uint32_t kTid = 201;
constexpr uint64_t kHeap = 0x555555559000;  // [heap] up to 0x55555557a000
constexpr uint64_t kHeapEnd = 0x55555557a000;
constexpr uint64_t kAnon = 0x7f0000000000;  // anon, 1 MiB
constexpr uint64_t kData = 0x7f0000200000;  // r-x file that is not ELF: /opt/lib/plugin.dat
constexpr uint64_t kPieBase = 0x560000000000;
constexpr uint64_t kOrigin = 5'000'000'000;

const char* const kMaps =
    "555555559000-55555557a000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
    "7f0000200000-7f0000201000 r-xp 00000000 fe:00 77                         /opt/lib/plugin.dat\n"
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";

template <typename T>
bool feed(TestTrace& state, const T& record)
{
    return state.handle(&record, sizeof(record));
}

mt_fault fault_at(uint32_t tid, uint64_t addr, uint64_t ts_ns, uint64_t ip = 0, uint16_t flags = MT_FAULT_USER)
{
    mt_fault f = make_fault(kPid, tid, addr, flags, ip);
    f.hdr.ts_ns = ts_ns;
    return f;
}

mt_major done_at(uint32_t tid, uint64_t addr, uint64_t ts_ns, bool major = false)
{
    auto m = make_record<mt_major>(MT_REC_FAULT_DONE, kPid, tid, ts_ns, major ? MT_DONE_MAJOR : 0);
    m.addr = addr;
    return m;
}

mt_signal signal_at(uint64_t addr, uint64_t ip, uint64_t ts_ns, int code = 1, int signo = SIGSEGV,
                    uint32_t pid = kPid)
{
    auto s = make_record<mt_signal>(MT_REC_SIGNAL, pid, kTid, ts_ns);
    s.signo = signo;
    s.code = code;
    s.addr = addr;
    s.ip = ip;
    s.sp = 0x7fffffffe000;
    s.error_code = MT_FAULT_USER;
    s.stack_limit = 8 << 20;
    return s;
}

ResidentPages rss_of(int64_t file, int64_t anon, int64_t swap, int64_t shmem, int64_t peak)
{
    ResidentPages r;
    r.file = file;
    r.anon = anon;
    r.swap = swap;
    r.shmem = shmem;
    r.peak = peak;
    return r;
}

const SegmentRow* find_row(const Report& r, const std::string& label)
{
    for (const SegmentRow& s : r.segments)
        if (s.label == label)
            return &s;
    return nullptr;
}

// Remembers what it was asked; names are "<base>@<vaddr>" (full) or "fn <base>;<vaddr>" (short,
// with the characters folded stacks must not carry).
class RecordingNamer : public CodeNamer {
public:
    std::vector<std::tuple<std::string, uint64_t, bool>> calls;
    std::string name(const std::string& module, uint64_t vaddr, bool full) override
    {
        calls.emplace_back(module, vaddr, full);
        return full ? fmt::format("{}@{:x}", memtrace::base_name(module), vaddr)
                    : fmt::format("fn {};{:x}", memtrace::base_name(module), vaddr);
    }
};

// One process (kPid, "app") with a heap, anonymous memory, a non-ELF file, the stack and both ELF
// fixtures: the PIE at kPieBase, the fixed-address executable where it links.
class ForensicsTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        pie = ElfImage::load(MEMTRACE_ELF_PIE);
        nopie = ElfImage::load(MEMTRACE_ELF_NOPIE);
        ASSERT_NE(pie, nullptr);
        ASSERT_NE(nopie, nullptr);
        source.add_image(MEMTRACE_ELF_PIE, pie);
        source.add_image(MEMTRACE_ELF_NOPIE, nopie);
        source.set_maps(kPid, std::string(kMaps) + maps_for_image(*pie, kPieBase, MEMTRACE_ELF_PIE) +
                                  maps_for_image(*nopie, 0, MEMTRACE_ELF_NOPIE));
        state.set_clock_origin(kOrigin);
        state.attach(kPid, "app");
        const memtrace::ElfSection* pie_text = find_section(*pie, ".text");
        const memtrace::ElfSection* nopie_text = find_section(*nopie, ".text");
        ASSERT_NE(pie_text, nullptr);
        ASSERT_NE(nopie_text, nullptr);
        pie_vaddr = pie_text->addr + 0x20;
        pie_ip = kPieBase + pie_vaddr;
        nopie_vaddr = nopie_text->addr + 0x30;
        nopie_ip = nopie_vaddr;
        // The model really holds both images with their bias.
        const memtrace::Region* r = state.process(kPid)->space().region_of(pie_ip);
        ASSERT_NE(r, nullptr);
        ASSERT_NE(r->elf, nullptr);
        ASSERT_EQ(r->elf->build_id(), pie->build_id()) << "the image as its object record described it";
        ASSERT_EQ(r->bias, kPieBase);
        r = state.process(kPid)->space().region_of(nopie_ip);
        ASSERT_NE(r, nullptr);
        ASSERT_NE(r->elf, nullptr);
        ASSERT_EQ(r->elf->build_id(), nopie->build_id());
        ASSERT_EQ(r->bias, 0u);
        ASSERT_EQ(state.process(kPid)->space().region_of(0x100000), nullptr) << "the unknown ip below is unmapped";
    }

    FakeSource source;
    TestTrace state{source};
    std::shared_ptr<const ElfImage> pie, nopie;
    uint64_t pie_vaddr = 0, pie_ip = 0, nopie_vaddr = 0, nopie_ip = 0;
};

// --- latency -------------------------------------------------------------------------------------

TEST_F(ForensicsTest, LatencyPairsAFaultWithItsCompletion)
{
    state.set_latency(true);
    ASSERT_TRUE(feed(state, fault_at(kTid, kHeap + 0x10, 1'000'000)));
    ASSERT_TRUE(feed(state, done_at(kTid, kHeap + 0x800, 1'250'000)));  // same page, 250 us later
    ASSERT_TRUE(feed(state, fault_at(kTid + 1, kAnon, 2'000'000)));
    ASSERT_TRUE(feed(state, done_at(kTid + 1, kAnon + 0xfff, 7'000'000, true)));  // major, 5000 us
    Report r = state.report(1, 1, false);
    EXPECT_TRUE(r.latency);
    EXPECT_EQ(r.latency_paired, 2u);
    EXPECT_EQ(r.latency_unmatched, 0u);
    EXPECT_EQ(r.faults, 2u);
    EXPECT_EQ(r.major, 1u);
    EXPECT_EQ(r.latency_minor_us.total(), 1u);
    EXPECT_EQ(r.latency_minor_us.count(Log2Histogram::bucket_of(250)), 1u);
    EXPECT_EQ(Log2Histogram::bucket_of(250), 8);
    EXPECT_EQ(r.latency_major_us.total(), 1u);
    EXPECT_EQ(r.latency_major_us.count(13), 1u) << "5000 us is in [4096, 8191]";

    const SegmentRow* heap = find_row(r, "heap");
    ASSERT_NE(heap, nullptr);
    EXPECT_EQ(heap->major, 0u);
    EXPECT_EQ(heap->latency_minor_us.total(), 1u);
    EXPECT_EQ(heap->latency_minor_us.count(8), 1u);
    EXPECT_TRUE(heap->latency_major_us.empty());
    const SegmentRow* anon = find_row(r, "anon");
    ASSERT_NE(anon, nullptr);
    EXPECT_EQ(anon->major, 1u);
    EXPECT_TRUE(anon->latency_minor_us.empty());
    EXPECT_EQ(anon->latency_major_us.total(), 1u);
    EXPECT_EQ(anon->latency_major_us.count(13), 1u);
}

TEST_F(ForensicsTest, LatencyBelowAMicrosecondIsBucketZero)
{
    state.set_latency(true);
    feed(state, fault_at(kTid, kHeap, 1'000'000));
    feed(state, done_at(kTid, kHeap, 1'000'999));
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.latency_paired, 1u);
    EXPECT_EQ(r.latency_minor_us.count(0), 1u);
    EXPECT_EQ(r.latency_minor_us.total(), 1u);
}

TEST_F(ForensicsTest, LatencyCompletionsOfAnotherThreadOrPageAreUnmatched)
{
    state.set_latency(true);
    feed(state, fault_at(kTid, kHeap, 1'000'000));
    feed(state, done_at(kTid + 5, kHeap, 1'100'000));           // another thread
    feed(state, done_at(kTid, kHeap + 0x1000, 1'200'000));      // another page
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.latency_paired, 0u);
    EXPECT_EQ(r.latency_unmatched, 2u);
    EXPECT_TRUE(r.latency_minor_us.empty());
    EXPECT_TRUE(r.latency_major_us.empty());
    const SegmentRow* heap = find_row(r, "heap");
    ASSERT_NE(heap, nullptr);
    EXPECT_TRUE(heap->latency_minor_us.empty());

    // The fault still waits for its own completion.
    feed(state, done_at(kTid, kHeap + 0x18, 1'300'000));
    r = state.report(2, 1, false);
    EXPECT_EQ(r.latency_paired, 1u);
    EXPECT_EQ(r.latency_unmatched, 2u);
    EXPECT_EQ(r.latency_minor_us.count(Log2Histogram::bucket_of(300)), 1u);
}

TEST_F(ForensicsTest, LatencyACompletionPairsOnce)
{
    state.set_latency(true);
    feed(state, fault_at(kTid, kHeap, 1'000'000));
    feed(state, done_at(kTid, kHeap, 1'010'000));
    feed(state, done_at(kTid, kHeap, 1'020'000));  // a second completion for the same fault
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.latency_paired, 1u);
    EXPECT_EQ(r.latency_unmatched, 1u);
    EXPECT_EQ(r.latency_minor_us.total(), 1u);
    EXPECT_EQ(r.latency_minor_us.count(Log2Histogram::bucket_of(10)), 1u);
    EXPECT_EQ(find_row(r, "heap")->latency_minor_us.total(), 1u);
}

TEST_F(ForensicsTest, LatencyMajorCompletionWithoutAFault)
{
    state.set_latency(true);
    feed(state, done_at(kTid, kHeap, 1'000'000, true));
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.major, 1u) << "the kernel accounted it: the total counts it";
    EXPECT_EQ(r.latency_unmatched, 1u);
    EXPECT_EQ(r.latency_paired, 0u);
    EXPECT_TRUE(r.latency_major_us.empty());
}

TEST_F(ForensicsTest, LatencyCompletionBeforeItsFaultIsNotTimed)
{
    state.set_latency(true);
    feed(state, fault_at(kTid, kHeap, 2'000'000));
    feed(state, done_at(kTid, kHeap, 1'000'000));
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.latency_paired, 0u);
    EXPECT_EQ(r.latency_unmatched, 1u);
    EXPECT_TRUE(r.latency_minor_us.empty());
}

TEST_F(ForensicsTest, MajorRecordsWithoutLatencyStillCountPerSegment)
{
    auto major = make_record<mt_major>(MT_REC_MAJOR, kPid, kTid, 1'500'000);
    major.addr = kAnon + 0x2010;
    feed(state, fault_at(kTid, kAnon + 0x2000, 1'000'000));
    feed(state, major);
    feed(state, fault_at(kTid, kHeap, 2'000'000));
    Report r = state.report(1, 1, false);
    EXPECT_FALSE(r.latency);
    EXPECT_EQ(r.major, 1u);
    EXPECT_EQ(find_row(r, "anon")->major, 1u);
    EXPECT_EQ(find_row(r, "heap")->major, 0u);
    EXPECT_EQ(r.latency_paired, 0u);
    EXPECT_EQ(r.latency_unmatched, 0u);
    EXPECT_TRUE(r.latency_minor_us.empty());
    EXPECT_TRUE(r.latency_major_us.empty());
    EXPECT_TRUE(find_row(r, "anon")->latency_major_us.empty());
}

TEST_F(ForensicsTest, LatencyOfAFaultHeldAcrossExec)
{
    // Between execve() entry and the exec record faults are held; their completion must still pair.
    state.set_latency(true);
    feed(state, make_record<mt_header>(MT_REC_EXEC_BEGIN, kPid, kPid, 500'000));
    feed(state, fault_at(kTid, kHeap + 0x40, 1'000'000));
    feed(state, done_at(kTid, kHeap + 0x80, 1'400'000, true));
    auto exec = make_record<mt_exec>(MT_REC_EXEC, kPid, kPid, 2'000'000);
    std::strncpy(exec.comm, "app", sizeof(exec.comm));
    exec.start_brk = kHeap;
    ASSERT_TRUE(feed(state, exec));
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.latency_paired, 1u);
    EXPECT_EQ(r.latency_unmatched, 0u);
    EXPECT_EQ(r.major, 1u);
    EXPECT_EQ(r.latency_major_us.count(Log2Histogram::bucket_of(400)), 1u);
    const SegmentRow* heap = find_row(r, "heap");
    ASSERT_NE(heap, nullptr);
    EXPECT_EQ(heap->major, 1u);
    EXPECT_EQ(heap->latency_major_us.total(), 1u);
}

// --- fault sites ---------------------------------------------------------------------------------

TEST_F(ForensicsTest, SitesNamedAndSortedByFaults)
{
    for (int i = 0; i < 4; ++i)
        feed(state, fault_at(kTid, kHeap + i * 0x1000, 0, pie_ip));
    feed(state, fault_at(kTid, kHeap, 0, nopie_ip));
    feed(state, fault_at(kTid, kHeap, 0, nopie_ip, MT_FAULT_KERNEL_MODE | MT_FAULT_WRITE));
    feed(state, fault_at(kTid, kAnon, 0, nopie_ip));
    feed(state, fault_at(kTid, kAnon, 0, kAnon + 0x40));
    feed(state, fault_at(kTid, kAnon + 0x1000, 0, kAnon + 0x40));
    feed(state, fault_at(kTid, kHeap, 0, 0x100000));
    feed(state, fault_at(kTid, kHeap, 0, 0));  // no ip: no site
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.sites.size(), 4u);
    EXPECT_EQ(r.sites[0].location, fmt::format("elf_fixture_pie+0x{:x}", pie_vaddr));
    EXPECT_EQ(r.sites[0].faults, 4u);
    EXPECT_EQ(r.sites[0].kernel_mode, 0u);
    EXPECT_EQ(r.sites[0].segment, "heap");
    EXPECT_EQ(r.sites[1].location, fmt::format("elf_fixture_nopie+0x{:x}", nopie_vaddr));
    EXPECT_EQ(r.sites[1].faults, 3u);
    EXPECT_EQ(r.sites[1].kernel_mode, 1u);
    EXPECT_EQ(r.sites[1].segment, "anon") << "the segment of its latest fault";
    EXPECT_EQ(r.sites[2].location, "[anonymous 7f0000000000-7f0000100000]+0x40")
        << "by its mapping, never a bare [anonymous]+0x7f...";
    EXPECT_EQ(r.sites[2].faults, 2u);
    EXPECT_EQ(r.sites[3].location, "0x100000");
    EXPECT_EQ(r.sites[3].faults, 1u);
    EXPECT_EQ(r.sites[3].segment, "heap");
}

TEST_F(ForensicsTest, SitesInANonElfFileByFileOffset)
{
    feed(state, fault_at(kTid, kHeap, 0, kData + 0x123));
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.sites.size(), 1u);
    EXPECT_EQ(r.sites[0].location, "plugin.dat+0x123");
}

TEST_F(ForensicsTest, SitesDistinguishAddressesInOneModule)
{
    feed(state, fault_at(kTid, kHeap, 0, pie_ip));
    feed(state, fault_at(kTid, kHeap, 0, pie_ip + 4));
    feed(state, fault_at(kTid, kHeap, 0, pie_ip + 4));
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.sites.size(), 2u);
    EXPECT_EQ(r.sites[0].location, fmt::format("elf_fixture_pie+0x{:x}", pie_vaddr + 4));
    EXPECT_EQ(r.sites[0].faults, 2u);
    EXPECT_EQ(r.sites[1].location, fmt::format("elf_fixture_pie+0x{:x}", pie_vaddr));
    EXPECT_EQ(r.sites[1].faults, 1u);
}

TEST_F(ForensicsTest, SitesShowsAtMostN)
{
    state.set_sites(2);
    feed(state, fault_at(kTid, kHeap, 0, pie_ip));
    feed(state, fault_at(kTid, kHeap, 0, pie_ip));
    feed(state, fault_at(kTid, kHeap, 0, pie_ip));
    feed(state, fault_at(kTid, kHeap, 0, nopie_ip));
    feed(state, fault_at(kTid, kHeap, 0, nopie_ip));
    feed(state, fault_at(kTid, kHeap, 0, kAnon));
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.sites.size(), 2u);
    EXPECT_EQ(r.sites[0].faults, 3u);
    EXPECT_EQ(r.sites[1].faults, 2u);
}

TEST_F(ForensicsTest, SitesOff)
{
    state.set_sites(0);
    feed(state, fault_at(kTid, kHeap, 0, pie_ip));
    Report r = state.report(1, 1, false);
    EXPECT_TRUE(r.sites.empty());
    EXPECT_EQ(r.faults, 1u);
}

TEST_F(ForensicsTest, SitesAskAnInjectedNamerForModuleAndLinkTimeAddress)
{
    RecordingNamer namer;
    state.set_code_namer(&namer);
    for (int i = 0; i < 3; ++i)
        feed(state, fault_at(kTid, kHeap, 0, pie_ip));
    feed(state, fault_at(kTid, kHeap, 0, nopie_ip));
    feed(state, fault_at(kTid, kHeap, 0, nopie_ip));
    feed(state, fault_at(kTid, kHeap, 0, 0x100000));  // unknown: not the namer's business
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.sites.size(), 3u);
    EXPECT_EQ(r.sites[0].location, fmt::format("elf_fixture_pie@{:x}", pie_vaddr));
    EXPECT_EQ(r.sites[1].location, fmt::format("elf_fixture_nopie@{:x}", nopie_vaddr));
    EXPECT_EQ(r.sites[2].location, "0x100000");
    ASSERT_EQ(namer.calls.size(), 2u);
    EXPECT_EQ(namer.calls[0], std::make_tuple(std::string(MEMTRACE_ELF_PIE), pie_vaddr, true));
    EXPECT_EQ(namer.calls[1], std::make_tuple(std::string(MEMTRACE_ELF_NOPIE), nopie_vaddr, true));

    // Back to the plain names.
    state.set_code_namer(nullptr);
    r = state.report(2, 1, false);
    ASSERT_EQ(r.sites.size(), 3u);
    EXPECT_EQ(r.sites[0].location, fmt::format("elf_fixture_pie+0x{:x}", pie_vaddr));
}

// --- crashes -------------------------------------------------------------------------------------

TEST_F(ForensicsTest, SignalBecomesACrashRow)
{
    ASSERT_TRUE(feed(state, signal_at(0x10, pie_ip, kOrigin + 2'250'000'000)));
    Report r = state.report(3, 1, false);
    ASSERT_EQ(r.crashes.size(), 1u);
    const CrashRow& c = r.crashes[0];
    EXPECT_EQ(c.pid, kPid);
    EXPECT_EQ(c.tid, kTid);
    EXPECT_DOUBLE_EQ(c.time_s, 2.25);
    EXPECT_EQ(c.signal, "SIGSEGV");
    EXPECT_EQ(c.code, "SEGV_MAPERR");
    EXPECT_EQ(c.kind, "null-page");
    EXPECT_EQ(c.explanation,
              "reading 0x10, in the never-mapped first 64 KiB: a NULL pointer dereference (offset 16 from NULL)");
    EXPECT_EQ(c.addr, 0x10u);
    EXPECT_EQ(c.ip, pie_ip);
    EXPECT_EQ(c.location, fmt::format("elf_fixture_pie+0x{:x}", pie_vaddr));
    // Crash rows stay in later reports.
    EXPECT_EQ(state.report(4, 1, false).crashes.size(), 1u);
}

TEST_F(ForensicsTest, SignalSentByAProcessHasNoLocation)
{
    auto s = signal_at(0, pie_ip, kOrigin, -6);
    s.sender_tgid = 4242;
    feed(state, s);
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.crashes.size(), 1u);
    EXPECT_EQ(r.crashes[0].kind, "sent-by-process");
    EXPECT_EQ(r.crashes[0].code, "SI_TKILL");
    EXPECT_EQ(r.crashes[0].location, "");
    EXPECT_EQ(r.crashes[0].explanation, "SIGSEGV was sent by process 4242 (SI_TKILL), not raised by a memory access");
}

TEST_F(ForensicsTest, SignalOfAnUntracedProcessIsIgnored)
{
    EXPECT_TRUE(feed(state, signal_at(0x10, 0, kOrigin, 1, SIGSEGV, 999)));
    EXPECT_TRUE(state.report(1, 1, false).crashes.empty());
}

TEST_F(ForensicsTest, SignalBusErrorOnAFile)
{
    feed(state, signal_at(kData + 0x10, kData, kOrigin + 1'000'000'000, 2, SIGBUS));
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.crashes.size(), 1u);
    EXPECT_EQ(r.crashes[0].signal, "SIGBUS");
    EXPECT_EQ(r.crashes[0].code, "BUS_ADRERR");
    EXPECT_EQ(r.crashes[0].kind, "bus-error");
    EXPECT_NE(r.crashes[0].explanation.find("/opt/lib/plugin.dat"), std::string::npos) << r.crashes[0].explanation;
    EXPECT_EQ(r.crashes[0].location, "plugin.dat+0x0");
}

TEST_F(ForensicsTest, MunmapThenAccessIsUseAfterUnmap)
{
    auto m = make_record<mt_munmap>(MT_REC_MUNMAP, kPid, kTid, kOrigin + 1'500'000'000);
    m.addr = kAnon;
    m.len = 0x100000;
    ASSERT_TRUE(feed(state, m));
    feed(state, signal_at(kAnon + 0x800, pie_ip, kOrigin + 3'000'000'000));
    Report r = state.report(3, 1, false);
    ASSERT_EQ(r.crashes.size(), 1u);
    EXPECT_EQ(r.crashes[0].kind, "use-after-unmap");
    EXPECT_EQ(r.crashes[0].code, "SEGV_MAPERR");
    EXPECT_EQ(r.crashes[0].explanation,
              "reading 0x7f0000000800, in anon [0x7f0000000000-0x7f0000100000) that was unmapped at 1.500s: a "
              "pointer used after munmap (or after free() of a large, mmap-backed block)");
}

TEST_F(ForensicsTest, PartialMunmapRemembersOnlyWhatWasUnmapped)
{
    auto m = make_record<mt_munmap>(MT_REC_MUNMAP, kPid, kTid, kOrigin + 1'000'000'000);
    m.addr = kAnon + 0x10000;
    m.len = 0x2000;
    feed(state, m);
    const memtrace::Process* p = state.process(kPid);
    ASSERT_EQ(p->unmapped().size(), 1u);
    const memtrace::UnmappedRange* gone = p->unmapped().find(kAnon + 0x11000);
    ASSERT_NE(gone, nullptr);
    EXPECT_EQ(gone->start, kAnon + 0x10000);
    EXPECT_EQ(gone->end, kAnon + 0x12000);
    EXPECT_EQ(gone->what, "anon");
    EXPECT_EQ(p->unmapped().find(kAnon + 0x12000), nullptr);
}

// Regression: the kernel unmaps whole pages (munmap rounds len up), and so does the model
// (AddressSpace::unmap), but the unmap history once kept only [addr, addr + len): the rest of the
// last page read as "nothing was mapped during the trace".
TEST_F(ForensicsTest, MunmapOfAnUnalignedLengthRemembersWholePages)
{
    auto m = make_record<mt_munmap>(MT_REC_MUNMAP, kPid, kTid, kOrigin + 1'000'000'000);
    m.addr = kAnon;
    m.len = 100;  // munmap(p, 100): the kernel unmaps the page
    feed(state, m);
    EXPECT_EQ(state.process(kPid)->space().region_of(kAnon + 0x800), nullptr) << "the model unmapped the page";
    feed(state, signal_at(kAnon + 0x800, pie_ip, kOrigin + 2'000'000'000));
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.crashes.size(), 1u);
    EXPECT_EQ(r.crashes[0].kind, "use-after-unmap") << r.crashes[0].explanation;
    EXPECT_NE(r.crashes[0].explanation.find("in anon [0x7f0000000000-0x7f0000001000) that was unmapped at 1.000s"),
              std::string::npos)
        << r.crashes[0].explanation;
}

// Regression: a forked child inherits its parent's address space, so what the parent unmapped
// before the fork is unmapped in the child too; the fork once copied the model but not its unmap
// history, and the child's access read as "nothing was mapped during the trace".
TEST_F(ForensicsTest, ForkedChildInheritsTheUnmapHistory)
{
    auto m = make_record<mt_munmap>(MT_REC_MUNMAP, kPid, kTid, kOrigin + 1'000'000'000);
    m.addr = kAnon;
    m.len = 0x100000;
    feed(state, m);
    auto fork = make_record<mt_fork>(MT_REC_FORK, kPid, kPid, kOrigin + 1'500'000'000);
    fork.child_tgid = fork.child_tid = 777;
    ASSERT_TRUE(feed(state, fork));
    ASSERT_NE(state.process(777), nullptr);
    feed(state, signal_at(kAnon + 0x800, pie_ip, kOrigin + 2'000'000'000, 1, SIGSEGV, 777));
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.crashes.size(), 1u);
    EXPECT_EQ(r.crashes[0].pid, 777u);
    EXPECT_EQ(r.crashes[0].kind, "use-after-unmap") << r.crashes[0].explanation;
}

TEST_F(ForensicsTest, BrkShrinkThenAccessIsUseAfterUnmap)
{
    auto b = make_record<mt_brk>(MT_REC_BRK, kPid, kTid, kOrigin + 500'000'000);
    b.start_brk = kHeap;
    b.old_brk = kHeapEnd;
    b.new_brk = kHeap + 0x10000;
    ASSERT_TRUE(feed(state, b));
    feed(state, signal_at(kHeap + 0x17000, pie_ip, kOrigin + 1'000'000'000));
    feed(state, signal_at(kHeap + 0xf000, pie_ip, kOrigin + 1'000'000'000, 2));  // still heap
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.crashes.size(), 2u);
    EXPECT_EQ(r.crashes[0].kind, "use-after-unmap");
    EXPECT_EQ(r.crashes[0].explanation,
              "reading 0x555555570000, in heap [0x555555569000-0x55555557a000) that was unmapped at 0.500s: a "
              "pointer used after munmap (or after free() of a large, mmap-backed block)");
    EXPECT_EQ(r.crashes[1].kind, "protection");
}

TEST_F(ForensicsTest, BrkShrinkToAnUnalignedBreakKeepsItsPage)
{
    auto b = make_record<mt_brk>(MT_REC_BRK, kPid, kTid, kOrigin);
    b.start_brk = kHeap;
    b.old_brk = kHeapEnd;
    b.new_brk = kHeap + 0x10010;
    feed(state, b);
    const memtrace::Process* p = state.process(kPid);
    EXPECT_EQ(p->unmapped().find(kHeap + 0x10800), nullptr) << "the page holding the new break stays mapped";
    const memtrace::UnmappedRange* gone = p->unmapped().find(kHeap + 0x11000);
    ASSERT_NE(gone, nullptr);
    EXPECT_EQ(gone->start, kHeap + 0x11000);
    EXPECT_EQ(gone->end, kHeapEnd);
    EXPECT_EQ(gone->what, "heap");
}

TEST_F(ForensicsTest, MremapMoveThenAccessToTheOldRangeIsUseAfterUnmap)
{
    auto m = make_record<mt_mremap>(MT_REC_MREMAP, kPid, kTid, kOrigin + 250'000'000);
    m.old_addr = kAnon;
    m.old_len = 0x100000;
    m.new_addr = 0x7e0000000000;
    m.new_len = 0x100000;
    m.mflags = 1;  // MREMAP_MAYMOVE
    feed(state, m);
    feed(state, signal_at(kAnon + 0x10, pie_ip, kOrigin + 1'000'000'000));
    feed(state, signal_at(0x7e0000000010, pie_ip, kOrigin + 1'000'000'000, 2));  // the new range is mapped
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.crashes.size(), 2u);
    EXPECT_EQ(r.crashes[0].kind, "use-after-unmap");
    EXPECT_NE(r.crashes[0].explanation.find("in anon [0x7f0000000000-0x7f0000100000) that was unmapped at 0.250s"),
              std::string::npos)
        << r.crashes[0].explanation;
    EXPECT_EQ(r.crashes[1].kind, "protection");
}

TEST_F(ForensicsTest, CrashRowsAreBounded)
{
    for (int i = 0; i < 100; ++i)
        feed(state, signal_at(0x10 + i, pie_ip, kOrigin + i));
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.crashes.size(), 64u);
    EXPECT_EQ(r.crashes.front().addr, 0x10u) << "the first ones are kept";
    EXPECT_EQ(r.crashes.back().addr, 0x10u + 63);
}

// --- resident memory -----------------------------------------------------------------------------

TEST_F(ForensicsTest, RssUnknownUntilSampled)
{
    Report r = state.report(1, 1, false);
    EXPECT_FALSE(r.rss_known);
    state.set_rss(999, rss_of(1, 1, 1, 1, 1));  // not traced: ignored
    r = state.report(2, 1, false);
    EXPECT_FALSE(r.rss_known);
    EXPECT_EQ(r.rss_anon, 0);
}

TEST_F(ForensicsTest, RssInBytesWithPeakAndHistory)
{
    state.set_rss(kPid, rss_of(10, 20, 3, 5, 50));
    Report r = state.report(1, 1, false);
    EXPECT_TRUE(r.rss_known);
    EXPECT_EQ(r.rss_file, 10 * 4096);
    EXPECT_EQ(r.rss_anon, 20 * 4096);
    EXPECT_EQ(r.rss_swap, 3 * 4096);
    EXPECT_EQ(r.rss_shmem, 5 * 4096);
    EXPECT_EQ(r.rss_peak, 50 * 4096) << "the kernel-side peak is above the current sum";
    EXPECT_EQ(r.rss_history, (std::vector<uint64_t>{35 * 4096}));
    EXPECT_EQ(r.rss_anon_history, (std::vector<uint64_t>{20 * 4096}));
    EXPECT_EQ(r.rss_file_history, (std::vector<uint64_t>{10 * 4096}));
    EXPECT_EQ(r.rss_shmem_history, (std::vector<uint64_t>{5 * 4096}));

    state.set_rss(kPid, rss_of(10, 60, 0, 5, 75));
    r = state.report(2, 1, false);
    EXPECT_EQ(r.rss_anon, 60 * 4096);
    EXPECT_EQ(r.rss_swap, 0);
    EXPECT_EQ(r.rss_peak, 75 * 4096);
    EXPECT_EQ(r.rss_history, (std::vector<uint64_t>{35 * 4096, 75 * 4096}));

    // No new sample: the last one stands, and the history grows by one per report.
    r = state.report(3, 1, false);
    EXPECT_EQ(r.rss_history, (std::vector<uint64_t>{35 * 4096, 75 * 4096, 75 * 4096}));
}

TEST_F(ForensicsTest, RssHistoryIsBounded)
{
    state.set_rss(kPid, rss_of(1, 0, 0, 0, 1));
    Report r;
    for (int i = 0; i < 3605; ++i)
        r = state.report(i, 1, false);
    EXPECT_EQ(r.rss_history.size(), 3600u);
    EXPECT_EQ(r.rss_anon_history.size(), 3600u);
    EXPECT_EQ(r.rss_history.back(), 4096u);
}

TEST_F(ForensicsTest, RssSumsProcessesAndKeepsThePeakAfterExit)
{
    const uint32_t other = 300;
    state.attach(other, "other");
    state.set_rss(kPid, rss_of(10, 20, 0, 0, 30));
    state.set_rss(other, rss_of(1, 100, 2, 0, 101));
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.rss_anon, 120 * 4096);
    EXPECT_EQ(r.rss_file, 11 * 4096);
    EXPECT_EQ(r.rss_swap, 2 * 4096);
    EXPECT_EQ(r.rss_peak, 131 * 4096) << "the sum of both is above either's peak";

    auto exit = make_record<mt_exit>(MT_REC_EXIT, other, other);
    ASSERT_TRUE(feed(state, exit));
    r = state.report(2, 1, false);
    EXPECT_TRUE(r.rss_known);
    EXPECT_EQ(r.rss_anon, 20 * 4096);
    EXPECT_EQ(r.rss_file, 10 * 4096);
    EXPECT_EQ(r.rss_swap, 0);
    EXPECT_EQ(r.rss_peak, 131 * 4096);
    EXPECT_EQ(r.rss_history, (std::vector<uint64_t>{131 * 4096, 30 * 4096}));

    auto exit_all = make_record<mt_exit>(MT_REC_EXIT, kPid, kPid);
    feed(state, exit_all);
    r = state.report(3, 1, false);
    EXPECT_TRUE(r.rss_known);
    EXPECT_EQ(r.rss_anon + r.rss_file + r.rss_shmem + r.rss_swap, 0);
    EXPECT_EQ(r.rss_peak, 131 * 4096);
    EXPECT_EQ(r.rss_history.back(), 0u);
    // And after the exited processes' models were dropped by that report.
    r = state.report(4, 1, true);
    EXPECT_EQ(r.rss_peak, 131 * 4096);
    EXPECT_EQ(r.rss_anon, 0);
}

TEST_F(ForensicsTest, ExitRecordCarriesAPeakNoSampleSaw)
{
    // A child that grew and exited within one interval: never sampled, its peak comes at exit.
    const uint32_t child = 301;
    state.attach(child, "child");
    state.set_rss(kPid, rss_of(10, 20, 0, 0, 30));
    auto exit = make_record<mt_exit>(MT_REC_EXIT, child, child);
    exit.rss_peak_pages = 8192;
    ASSERT_TRUE(feed(state, exit));
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.rss_anon, 20 * 4096) << "an exited process's last value is gone with it";
    EXPECT_EQ(r.rss_peak, 8192 * 4096);

    // A sample after the exit record (the /proc read raced it) does not bring the process back.
    state.set_rss(child, rss_of(0, 50000, 0, 0, 50000));
    r = state.report(2, 1, false);
    EXPECT_EQ(r.rss_anon, 20 * 4096);
    EXPECT_EQ(r.rss_peak, 8192 * 4096);
}

TEST_F(ForensicsTest, ExitPeakFromAGarbageRecordCannotOverflow)
{
    auto exit = make_record<mt_exit>(MT_REC_EXIT, kPid, kPid);
    exit.rss_peak_pages = UINT64_MAX;
    ASSERT_TRUE(feed(state, exit));
    Report r = state.report(1, 1, true);
    EXPECT_GT(r.rss_peak, 0);
    EXPECT_EQ(r.rss_peak % 4096, 0);
}

TEST_F(ForensicsTest, ExitWithoutPeakLeavesTheLastSample)
{
    // Kernels before 6.16 have no mm at the exit tracepoint: peak 0 means unknown.
    state.set_rss(kPid, rss_of(1, 40, 0, 0, 45));
    Report r = state.report(1, 1, false);
    auto exit = make_record<mt_exit>(MT_REC_EXIT, kPid, kPid);
    ASSERT_TRUE(feed(state, exit));
    r = state.report(2, 1, true);
    EXPECT_EQ(r.rss_peak, 45 * 4096);
}

}  // namespace
