// --stacks without the kernel: stack samples of this test process's own call chains (the unwind
// fixtures, built without frame pointers) go through the real synthesizer, pipeline and
// StackCounts against this process's real mappings, and come out folded and named; JIT code is
// named from a perf map the fake system "wrote".
#include "analysis/stack_counts.h"

#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "model/maps_parser.h"
#include "output/stack_files.h"
#include "own_stack.h"
#include "symbols/code_namer.h"
#include "test_trace.h"
#include "unwind_fixture.h"

namespace {

using memtrace::Report;
using memtrace_test::capture_own_stack;
using memtrace_test::FakeSource;
using memtrace_test::OwnStack;
using memtrace_test::TestTrace;

const uint32_t kSelf = static_cast<uint32_t>(getpid());

mt_stack_sample sample_of(const OwnStack& own, uint32_t kind, uint64_t weight, uint64_t ts_ns = TestTrace::kOrigin)
{
    mt_stack_sample s{};
    s.hdr.type = MT_REC_STACK_SAMPLE;
    s.hdr.tgid = s.hdr.tid = kSelf;
    s.hdr.ts_ns = ts_ns;
    s.kind = kind;
    s.weight = weight;
    // DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip.
    s.regs[3] = own.regs.bx;
    s.regs[6] = own.regs.bp;
    s.regs[7] = own.regs.sp;
    s.regs[12] = own.regs.r12;
    s.regs[13] = own.regs.r13;
    s.regs[14] = own.regs.r14;
    s.regs[15] = own.regs.r15;
    s.regs[16] = own.regs.ip;
    return s;
}

std::vector<std::string> split(const std::string& line)
{
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t semi; (semi = line.find(';', start)) != std::string::npos; start = semi + 1)
        parts.push_back(line.substr(start, semi - start));
    parts.push_back(line.substr(start));
    return parts;
}

bool ends_with(const std::vector<std::string>& frames, const std::vector<std::string>& tail)
{
    return frames.size() >= tail.size() && std::equal(tail.rbegin(), tail.rend(), frames.rbegin());
}

// This process, traced: its real layout and files, named by the real symbolizer.
class StackCountsTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        source.maps_of[static_cast<int>(kSelf)] = memtrace::read_proc_maps(getpid());
        source.load_real_files = true;
        trace.set_code_namer(&namer);
        trace.set_stacks(true);
        trace.attach(kSelf, "unit");
    }

    FakeSource source;
    TestTrace trace{source};
    memtrace::SymbolizerCodeNamer namer;
};

TEST_F(StackCountsTest, FoldsAChainWithoutFramePointersRootFirst)
{
    OwnStack own = capture_own_stack([](unwind_capture* c) { unwind_fixture_chain(c, 1); }, 1 << 20);
    ASSERT_TRUE(trace.add_stack_sample(sample_of(own, MT_STACK_FAULT, 1), own.bytes));
    const auto& folded = trace.folded(MT_STACK_FAULT);
    ASSERT_EQ(folded.size(), 1u);
    std::vector<std::string> frames = split(folded.begin()->first);
    EXPECT_EQ(frames.front(), "unit");
    EXPECT_TRUE(ends_with(frames, {"unwind_fixture_chain", "unwind_fixture_middle", "unwind_fixture_leaf"}))
        << folded.begin()->first;
    EXPECT_NE(std::find(frames.begin(), frames.end(), "main"), frames.end()) << "the whole stack was copied";
    EXPECT_EQ(std::find(frames.begin(), frames.end(), "[truncated]"), frames.end());
    EXPECT_EQ(folded.begin()->second, 1u);

    Report r = trace.report(1);
    EXPECT_TRUE(r.stacks);
    EXPECT_EQ(r.stack_samples, 1u);
    EXPECT_EQ(r.deep_stack_samples, 1u);
    EXPECT_EQ(r.truncated_stacks, 0u);
    EXPECT_EQ(r.complete_stack_samples, 1u) << "down to _start";
    ASSERT_EQ(r.fault_stacks.size(), 1u);
    EXPECT_EQ(r.fault_stacks[0].comm, "unit");
    EXPECT_EQ(r.fault_stacks[0].frames.back(), "unwind_fixture_leaf");
}

TEST_F(StackCountsTest, ThroughALibraryAndItsPlt)
{
    OwnStack own = capture_own_stack([](unwind_capture* c) { unwind_fixture_call_library(c, 2); }, 1 << 20);
    ASSERT_TRUE(trace.add_stack_sample(sample_of(own, MT_STACK_MMAP, 1 << 20), own.bytes));
    const auto& folded = trace.folded(MT_STACK_MMAP);
    ASSERT_EQ(folded.size(), 1u);
    EXPECT_TRUE(ends_with(split(folded.begin()->first),
                          {"unwind_fixture_call_library", "unwind_fixture_lib_entry", "unwind_fixture_lib_leaf"}))
        << folded.begin()->first;
}

TEST_F(StackCountsTest, FaultsWeighByThePeriodCallsByBytes)
{
    OwnStack own = capture_own_stack([](unwind_capture* c) { unwind_fixture_chain(c, 3); });
    for (int i = 0; i < 2; ++i)
        ASSERT_TRUE(trace.add_stack_sample(sample_of(own, MT_STACK_FAULT, 64), own.bytes));
    ASSERT_TRUE(trace.add_stack_sample(sample_of(own, MT_STACK_BRK, 3 * 4096), own.bytes));
    ASSERT_TRUE(trace.add_stack_sample(sample_of(own, MT_STACK_BRK, 5 * 4096), own.bytes));
    ASSERT_TRUE(trace.add_stack_sample(sample_of(own, MT_STACK_MMAP, 1 << 20), own.bytes));
    Report r = trace.report(1);
    EXPECT_EQ(r.stack_sample_period, 64u);
    EXPECT_EQ(r.stack_samples, 2u) << "brk and mmap samples are not fault samples";
    EXPECT_EQ(r.call_stack_samples, 3u);
    ASSERT_EQ(r.fault_stacks.size(), 1u);
    EXPECT_EQ(r.fault_stacks[0].count, 128u) << "two samples, each standing for 64 faults";
    EXPECT_EQ(r.fault_stacks[0].calls, 2u);
    ASSERT_EQ(r.brk_stacks.size(), 1u);
    EXPECT_EQ(r.brk_stacks[0].count, 8u * 4096);
    EXPECT_EQ(r.brk_stacks[0].calls, 2u);
    ASSERT_EQ(r.mmap_stacks.size(), 1u);
    EXPECT_EQ(r.mmap_stacks[0].count, 1u << 20);

    // The bytes graph: every call under the call's name.
    auto bytes = memtrace::folded_bytes(trace.pipeline().stacks());
    uint64_t brk = 0, mmap = 0;
    for (const auto& [line, n] : bytes) {
        brk += line.rfind("brk;unit;", 0) == 0 ? n : 0;
        mmap += line.rfind("mmap;unit;", 0) == 0 ? n : 0;
    }
    EXPECT_EQ(brk, 8u * 4096);
    EXPECT_EQ(mmap, 1u << 20);
}

TEST_F(StackCountsTest, DeeperThanTheCopyIsTruncatedNotJunk)
{
    OwnStack own = capture_own_stack([](unwind_capture* c) { unwind_fixture_chain(c, 4); }, 256);
    ASSERT_TRUE(trace.add_stack_sample(sample_of(own, MT_STACK_FAULT, 1), own.bytes));
    const auto& folded = trace.folded(MT_STACK_FAULT);
    ASSERT_EQ(folded.size(), 1u);
    std::vector<std::string> frames = split(folded.begin()->first);
    ASSERT_GE(frames.size(), 3u);
    EXPECT_EQ(frames[1], "[truncated]") << folded.begin()->first;
    EXPECT_EQ(frames.back(), "unwind_fixture_leaf");
    for (const std::string& f : frames)
        EXPECT_EQ(f.find("0x"), std::string::npos) << "no frame is a bare address: " << folded.begin()->first;
    Report r = trace.report(1);
    EXPECT_EQ(r.truncated_stacks, 1u);
    EXPECT_EQ(r.complete_stack_samples, 0u);
}

TEST_F(StackCountsTest, LostSamplesComeFromTheKernelCounters)
{
    trace.set_kernel_counters(10, 0, 0, 7);
    EXPECT_EQ(trace.report(1).stacks_lost, 7u);
}

TEST_F(StackCountsTest, MalformedSamplesAreRejected)
{
    OwnStack own = capture_own_stack([](unwind_capture* c) { unwind_fixture_chain(c, 5); });
    memtrace::RecordBytes bytes = memtrace::stack_sample_record(sample_of(own, MT_STACK_FAULT, 1), own.bytes);
    EXPECT_FALSE(trace.handle(bytes.data(), bytes.size() - 1)) << "stack_len says more than the record holds";
    mt_stack_sample bad = sample_of(own, MT_STACK_KINDS, 1);
    EXPECT_FALSE(trace.add_stack_sample(bad, own.bytes)) << "a kind memtrace does not know";
    EXPECT_TRUE(trace.folded(MT_STACK_FAULT).empty());
}

TEST_F(StackCountsTest, ProcessesNotTracedAreLeftOut)
{
    OwnStack own = capture_own_stack([](unwind_capture* c) { unwind_fixture_chain(c, 6); });
    mt_stack_sample s = sample_of(own, MT_STACK_FAULT, 1);
    s.hdr.tgid = s.hdr.tid = kSelf + 1000000;
    ASSERT_TRUE(trace.add_stack_sample(s, own.bytes));
    EXPECT_TRUE(trace.folded(MT_STACK_FAULT).empty());
}

// JIT code: an anonymous executable mapping, named by the runtime's perf map when it wrote one.
class JitStacksTest : public ::testing::Test {
protected:
    static constexpr uint32_t kPid = 4242;
    static constexpr uint64_t kCode = 0x7f0000000000;

    void SetUp() override
    {
        source.set_maps(kPid, fmt::format("{:x}-{:x} r-xp 00000000 00:00 0\n"
                                          "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n",
                                          kCode, kCode + 0x10000));
        trace.set_stacks(true);
    }
    // A sample in JIT code with nothing of the stack: one frame, at `ip`.
    void sample_at(uint64_t ip, uint64_t ts_ns)
    {
        mt_stack_sample s{};
        s.hdr.type = MT_REC_STACK_SAMPLE;
        s.hdr.tgid = s.hdr.tid = kPid;
        s.hdr.ts_ns = ts_ns;
        s.kind = MT_STACK_FAULT;
        s.weight = 1;
        s.regs[7] = 0x7fffffffe000;
        s.regs[16] = ip;
        ASSERT_TRUE(trace.add_stack_sample(s, {}));
    }
    std::vector<std::string> lines()
    {
        std::vector<std::string> out;
        for (const auto& [line, n] : trace.folded(MT_STACK_FAULT))
            out.push_back(line);
        std::sort(out.begin(), out.end());
        return out;
    }

    FakeSource source;
    TestTrace trace{source};
};

TEST_F(JitStacksTest, LinesThatArriveInPiecesCountWhenWhole)
{
    source.perf_map_of[kPid] = fmt::format("{:x} 40 JS:*hot_loop script.js:3\n", kCode + 0x1000);
    source.perf_map_chunk = 7;  // what the runtime had written each time memtrace read
    trace.attach(kPid, "node");
    uint64_t ts = TestTrace::kOrigin;
    for (int i = 0; i < 10; ++i, ts += 30'000'000)
        sample_at(kCode + 0x1010, ts);
    // 41 bytes, 7 a read (one read a sample, 30 ms apart): the sixth read ends the line, so the
    // first five samples came before it was whole.
    EXPECT_EQ(lines(), (std::vector<std::string>{"node;JS:*hot_loop script.js:3", "node;[jit]"}));
    EXPECT_EQ(trace.folded(MT_STACK_FAULT).at("node;[jit]"), 5u);
}

TEST_F(JitStacksTest, NamesAndTheMappingOtherwise)
{
    source.perf_map_of[kPid] = fmt::format("{:x} 40 JS:*hot_loop;x script.js:3\n"
                                           "not a perf map line\n"
                                           "{:x} zz broken\n"
                                           "{}\n"
                                           "{:x} 20 LazyCompile:cold\n",
                                           kCode + 0x1000, kCode, std::string(10000, 'A'), kCode + 0x2000);
    trace.attach(kPid, "node");
    sample_at(kCode + 0x1010, TestTrace::kOrigin);
    sample_at(kCode + 0x2004, TestTrace::kOrigin + 1);
    sample_at(kCode + 0x8000, TestTrace::kOrigin + 2);  // code the map does not name
    EXPECT_EQ(lines(), (std::vector<std::string>{"node;JS:*hot_loop_x script.js:3", "node;LazyCompile:cold",
                                                 "node;[jit]"}));
    // Sites and reports name the mapping of unnamed JIT code, never "[anonymous]+0x...".
    Report r = trace.report(1);
    ASSERT_EQ(r.fault_stacks.size(), 3u);
}

TEST_F(JitStacksTest, LaterLinesNameLaterSamples)
{
    trace.attach(kPid, "node");
    sample_at(kCode + 0x3000, TestTrace::kOrigin);
    source.perf_map_of[kPid] = fmt::format("{:x} 100 JS:late\n", kCode + 0x3000);
    sample_at(kCode + 0x3008, TestTrace::kOrigin + 1'000'000);  // 1 ms later: the map is not read again yet
    sample_at(kCode + 0x3010, TestTrace::kOrigin + 50'000'000);
    EXPECT_EQ(lines(), (std::vector<std::string>{"node;JS:late", "node;[jit]"}));
    EXPECT_EQ(trace.folded(MT_STACK_FAULT).at("node;[jit]"), 2u);

    auto exit = memtrace_test::make_record<mt_exit>(MT_REC_EXIT, kPid, kPid, TestTrace::kOrigin + 60'000'000);
    trace.feed(exit);
    EXPECT_EQ(source.perf_maps_done, (std::vector<uint32_t>{kPid})) << "its map is let go with the process";
}

}  // namespace
