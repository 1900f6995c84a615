// Crash explanations: every CrashKind from a hand-built address space and hand-made mt_signal
// records, the unmap history, and the names of signals and si_codes.
#include "analysis/crash_explainer.h"

#include <csignal>
#include <string>
#include <sys/mman.h>

#include <gtest/gtest.h>

#include "test_support.h"

using memtrace::AddressSpace;
using memtrace::CrashExplanation;
using memtrace::CrashKind;
using memtrace::SegmentTable;
using memtrace::UnmapHistory;
using memtrace::UnmappedRange;
using memtrace_test::FakeSource;
using memtrace_test::make_record;
using memtrace_test::maps_from_text;

namespace {

constexpr int kSegvMaperr = 1, kSegvAccerr = 2, kSegvPkuerr = 4;
constexpr int kBusAdraln = 1, kBusAdrerr = 2;
constexpr int kSiKernel = 0x80, kSiUser = 0, kSiTkill = -6;
constexpr uint64_t kOrigin = 1'000'000'000;  // the trace started at 1 s of CLOCK_MONOTONIC

constexpr uint64_t kCode = 0x400000;          // r-x, /opt/app/code.bin (not ELF)
constexpr uint64_t kConst = 0x401000;         // r--, same file
constexpr uint64_t kBlob = 0x600000;          // rw-, /data/blob.bin
constexpr uint64_t kHeap = 0x555555559000;    // [heap] up to 0x55555557a000
constexpr uint64_t kAnon = 0x7f0000000000;    // anon, 1 MiB
constexpr uint64_t kGuard = 0x7f0000200000;   // PROT_NONE page below thread 1235's stack
constexpr uint64_t kThread1 = 0x7f0000201000;  // 8 MiB thread stack (with the guard below)
constexpr uint64_t kThread2 = 0x7f0001000000;  // 8 MiB thread stack, no guard
constexpr uint64_t kStackLow = 0x7ffffffde000;
constexpr uint64_t kStackTop = 0x7ffffffff000;

const char* const kMaps =
    "00400000-00401000 r-xp 00000000 fe:00 11                                 /opt/app/code.bin\n"
    "00401000-00402000 r--p 00001000 fe:00 11                                 /opt/app/code.bin\n"
    "00600000-00601000 rw-p 00000000 fe:00 12                                 /data/blob.bin\n"
    "555555559000-55555557a000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
    "7f0000200000-7f0000201000 ---p 00000000 00:00 0 \n"
    "7f0000201000-7f0000a01000 rw-p 00000000 00:00 0 \n"
    "7f0001000000-7f0001800000 rw-p 00000000 00:00 0 \n"
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";

mt_signal make_signal(int signo, int code, uint64_t addr, uint64_t error_code = MT_FAULT_USER, uint64_t sp = 0,
                      uint64_t stack_limit = 8 << 20)
{
    auto s = make_record<mt_signal>(MT_REC_SIGNAL, 100, 101, kOrigin + 2'000'000'000);
    s.signo = signo;
    s.code = code;
    s.addr = addr;
    s.ip = 0x400123;
    s.sp = sp;
    s.error_code = error_code;
    s.stack_limit = stack_limit;
    return s;
}

class CrashExplainerTest : public ::testing::Test {
protected:
    CrashExplainerTest()
    {
        space.load_snapshot(maps_from_text(kMaps), 0, 8 << 20);
        space.label_thread_stack(kThread1 + 0x7fff00, 1235);
        space.label_thread_stack(kThread2 + 0x7fff00, 1236);
    }
    void load(const char* maps) { space.load_snapshot(maps_from_text(maps), 0, 8 << 20); }
    CrashExplanation explain(const mt_signal& s) const
    {
        return memtrace::explain_crash(s, space, segments, history, kOrigin);
    }

    FakeSource source;
    SegmentTable segments;
    AddressSpace space{segments, source.objects};
    UnmapHistory history;
};

TEST_F(CrashExplainerTest, FixtureLayout)
{
    // The labels the explanations below rely on.
    auto label = [&](uint64_t a) { return segments.at(space.segment_of(a)).label; };
    EXPECT_EQ(label(kCode), "file /opt/app/code.bin");
    EXPECT_EQ(label(kBlob), "file /data/blob.bin");
    EXPECT_EQ(label(kHeap), "heap");
    EXPECT_EQ(label(kAnon), "anon");
    EXPECT_EQ(label(kThread1), "stack:1235");
    EXPECT_EQ(label(kThread2), "stack:1236");
    EXPECT_EQ(label(kGuard), "anon");
    EXPECT_EQ(space.stack_top(), kStackTop);
}

TEST_F(CrashExplainerTest, SentByProcess)
{
    auto s = make_signal(SIGSEGV, kSiTkill, 0);
    s.sender_tgid = 77;
    CrashExplanation e = explain(s);
    EXPECT_EQ(e.kind, CrashKind::SentByProcess);
    EXPECT_EQ(e.summary, "SIGSEGV was sent by process 77 (SI_TKILL), not raised by a memory access");

    auto user = make_signal(SIGBUS, kSiUser, kHeap);  // kill(): an address in a mapping changes nothing
    user.sender_tgid = 1;
    e = explain(user);
    EXPECT_EQ(e.kind, CrashKind::SentByProcess);
    EXPECT_EQ(e.summary, "SIGBUS was sent by process 1 (SI_USER), not raised by a memory access");
}

TEST_F(CrashExplainerTest, SiKernelIsAGeneralProtectionFaultOrAFailedSignalFrame)
{
    CrashExplanation e = explain(make_signal(SIGSEGV, kSiKernel, 0));
    EXPECT_EQ(e.kind, CrashKind::ProtectionOther);
    EXPECT_EQ(e.summary,
              "raised by the kernel without an address: a general protection fault (a non-canonical pointer such "
              "as 0xdead..., a privileged instruction), or a signal frame that could not be written (a stack "
              "overflow with a handler but no sigaltstack)");
}

TEST_F(CrashExplainerTest, NullPage)
{
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvMaperr, 0x10));
    EXPECT_EQ(e.kind, CrashKind::NullPage);
    EXPECT_EQ(e.summary,
              "reading 0x10, in the never-mapped first 64 KiB: a NULL pointer dereference (offset 16 from NULL)");
    e = explain(make_signal(SIGSEGV, kSegvMaperr, 0xfff8, MT_FAULT_USER | MT_FAULT_WRITE));
    EXPECT_EQ(e.kind, CrashKind::NullPage);
    EXPECT_EQ(e.summary, "writing 0xfff8, in the never-mapped first 64 KiB: a NULL pointer dereference (offset "
                         "65528 from NULL)");
    // 64 KiB and up is no longer "NULL plus an offset".
    EXPECT_EQ(explain(make_signal(SIGSEGV, kSegvMaperr, 0x10000)).kind, CrashKind::NeverMapped);
}

TEST_F(CrashExplainerTest, MainStackOverflow)
{
    // One page below the lowest stack page (the stack had grown to 132K): 136K below its top.
    const uint64_t addr = kStackLow - 0x1000;
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvMaperr, addr, MT_FAULT_USER | MT_FAULT_WRITE, addr));
    EXPECT_EQ(e.kind, CrashKind::StackOverflow);
    EXPECT_EQ(e.summary, "stack overflow: writing 0x7ffffffdd000, 136K below the top of the main stack (limit 8M, "
                         "ulimit -s); sp 0x7ffffffdd000 is 136K deep: runaway recursion or a huge local array");
}

TEST_F(CrashExplainerTest, MainStackOverflowReachesLimitPlusTwoMiB)
{
    // stack_limit + 2 MiB below the top is still the stack running out; a page further is not.
    const uint64_t limit = 8 << 20;
    const uint64_t last = kStackTop - limit - (2 << 20);
    EXPECT_EQ(explain(make_signal(SIGSEGV, kSegvMaperr, last, MT_FAULT_USER, 0, limit)).kind,
              CrashKind::StackOverflow);
    EXPECT_EQ(explain(make_signal(SIGSEGV, kSegvMaperr, last - 0x1000, MT_FAULT_USER, 0, limit)).kind,
              CrashKind::NeverMapped);
    // The limit is the signal's (RLIMIT_STACK of the process), not a constant.
    EXPECT_EQ(explain(make_signal(SIGSEGV, kSegvMaperr, last - 0x1000, MT_FAULT_USER, 0, limit + 0x1000)).kind,
              CrashKind::StackOverflow);
}

// Regression: explain_crash compared `stack_top - addr <= s.stack_limit + kStackSlack`; with
// RLIMIT_STACK = RLIM_INFINITY (stack_limit ~0) the sum wrapped to 2 MiB - 1, so an overflow more
// than 2 MiB below the top read as "never-mapped" although the text said "limit unlimited".
TEST_F(CrashExplainerTest, MainStackOverflowWithAnUnlimitedStackLimit)
{
    // `ulimit -s unlimited` (RLIMIT_STACK = RLIM_INFINITY): the stack grows until it meets another
    // mapping, here at 64 MiB, and the fault is just below it.
    load("7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
         "7ffffbfff000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n");
    const uint64_t addr = 0x7ffffbfff000 - 0x1000;
    CrashExplanation bounded = explain(make_signal(SIGSEGV, kSegvMaperr, addr, MT_FAULT_USER, addr, 64 << 20));
    EXPECT_EQ(bounded.kind, CrashKind::StackOverflow);
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvMaperr, addr, MT_FAULT_USER, addr, ~0ULL));
    EXPECT_EQ(e.kind, CrashKind::StackOverflow) << e.summary;
    EXPECT_NE(e.summary.find("(limit unlimited, ulimit -s)"), std::string::npos) << e.summary;
}

TEST_F(CrashExplainerTest, ThreadStackOverflowIntoItsGuardPage)
{
    const uint64_t addr = kGuard + 0xff8;
    CrashExplanation e =
        explain(make_signal(SIGSEGV, kSegvAccerr, addr, MT_FAULT_USER | MT_FAULT_WRITE, kGuard + 0xff0));
    EXPECT_EQ(e.kind, CrashKind::ThreadStackOverflow);
    EXPECT_EQ(e.summary, "thread stack overflow: writing 0x7f0000200ff8, in the guard page below stack:1235 (8M "
                         "stack, sp 0x7f0000200ff0)");
}

TEST_F(CrashExplainerTest, ThreadStackOverflowGuardMadeWithMprotect)
{
    // glibc maps the stack with MAP_STACK, then mprotect()s its lowest page to PROT_NONE.
    load("7e0000000000-7e0000100000 rw-p 00000000 00:00 0 \n");
    memtrace::Region stack;
    stack.start = 0x7e0000200000;
    stack.end = 0x7e0000400000;  // 2 MiB; 2 MiB - 4 KiB once the guard is split off
    stack.read = stack.write = true;
    stack.thread_stack = true;
    stack.tid = 4321;
    space.map(stack);
    space.protect(0x7e0000200000, 0x1000, PROT_NONE);
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvAccerr, 0x7e0000200010, MT_FAULT_USER, 0x7e0000200008));
    EXPECT_EQ(e.kind, CrashKind::ThreadStackOverflow);
    EXPECT_EQ(e.summary, "thread stack overflow: reading 0x7e0000200010, in the guard page below stack:4321 (2.0M "
                         "stack, sp 0x7e0000200008)");
}

TEST_F(CrashExplainerTest, ThreadStackOverflowWithoutAGuard)
{
    const uint64_t addr = kThread2 - 0x800;
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvMaperr, addr, MT_FAULT_USER | MT_FAULT_WRITE, addr));
    EXPECT_EQ(e.kind, CrashKind::ThreadStackOverflow);
    EXPECT_EQ(e.summary, "thread stack overflow: writing 0x7f0000fff800, just below stack:1236 (8M stack)");
    // 64 KiB below still is; further down is a hole.
    EXPECT_EQ(explain(make_signal(SIGSEGV, kSegvMaperr, kThread2 - 0x10000)).kind, CrashKind::ThreadStackOverflow);
    EXPECT_EQ(explain(make_signal(SIGSEGV, kSegvMaperr, kThread2 - 0x11000)).kind, CrashKind::NeverMapped);
}

TEST_F(CrashExplainerTest, WriteToReadOnlyFileMappings)
{
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvAccerr, kCode + 0x10, MT_FAULT_USER | MT_FAULT_WRITE |
                                                                                      MT_FAULT_PROTECTION));
    EXPECT_EQ(e.kind, CrashKind::WriteReadOnly);
    EXPECT_EQ(e.summary, "writing 0x400010 in file /opt/app/code.bin, which is read-only (r-x): a file mapped "
                         "without PROT_WRITE");
    e = explain(make_signal(SIGSEGV, kSegvAccerr, kConst + 0x20, MT_FAULT_USER | MT_FAULT_WRITE));
    EXPECT_EQ(e.kind, CrashKind::WriteReadOnly);
    EXPECT_EQ(e.summary, "writing 0x401020 in file /opt/app/code.bin, which is read-only (r--): a file mapped "
                         "without PROT_WRITE");
    // Reading them is fine: a read fault there is some other protection problem.
    EXPECT_EQ(explain(make_signal(SIGSEGV, kSegvAccerr, kConst + 0x20)).kind, CrashKind::ProtectionOther);
}

TEST_F(CrashExplainerTest, WriteToTheTextAndRodataOfAnElf)
{
    auto image = memtrace::ElfImage::load(MEMTRACE_ELF_PIE);
    ASSERT_NE(image, nullptr);
    source.add_image(MEMTRACE_ELF_PIE, image);
    const uint64_t base = 0x555555550000;
    load(memtrace_test::maps_for_image(*image, base, MEMTRACE_ELF_PIE, true).c_str());
    const memtrace::ElfSection* text = memtrace_test::find_section(*image, ".text");
    const memtrace::ElfSection* rodata = memtrace_test::find_section(*image, ".rodata");
    ASSERT_NE(text, nullptr);
    ASSERT_NE(rodata, nullptr);
    const uint64_t code = base + text->addr + 0x10, literal = base + rodata->addr + 0x10;
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvAccerr, code, MT_FAULT_USER | MT_FAULT_WRITE));
    EXPECT_EQ(e.kind, CrashKind::WriteReadOnly);
    EXPECT_EQ(e.summary, fmt::format("writing 0x{:x} in elf_fixture_pie .text, which is read-only (r-x): the "
                                     "program's code is mapped read-only",
                                     code));
    e = explain(make_signal(SIGSEGV, kSegvAccerr, literal, MT_FAULT_USER | MT_FAULT_WRITE));
    EXPECT_EQ(e.kind, CrashKind::WriteReadOnly);
    EXPECT_EQ(e.summary, fmt::format("writing 0x{:x} in elf_fixture_pie .rodata, which is read-only (r--): string "
                                     "literals and const data live there",
                                     literal));
}

TEST_F(CrashExplainerTest, WriteToReadOnlyAnonymousMemory)
{
    space.protect(kAnon, 0x1000, PROT_READ);
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvAccerr, kAnon + 8, MT_FAULT_USER | MT_FAULT_WRITE));
    EXPECT_EQ(e.kind, CrashKind::WriteReadOnly);
    EXPECT_EQ(e.summary, "writing 0x7f0000000008 in anon, which is read-only (r--)");
}

TEST_F(CrashExplainerTest, ExecuteTheHeap)
{
    CrashExplanation e =
        explain(make_signal(SIGSEGV, kSegvAccerr, kHeap + 0x7000, MT_FAULT_USER | MT_FAULT_INSTR | MT_FAULT_PROTECTION));
    EXPECT_EQ(e.kind, CrashKind::ExecNonExec);
    EXPECT_EQ(e.summary, "executing 0x555555560000 in heap, which is not executable (rw-): a jump through a "
                         "corrupted function pointer or return address, or code placed in data");
    // Executing the r-x code mapping is not that.
    EXPECT_EQ(explain(make_signal(SIGSEGV, kSegvAccerr, kCode, MT_FAULT_USER | MT_FAULT_INSTR)).kind,
              CrashKind::ProtectionOther);
}

TEST_F(CrashExplainerTest, ProtectionOther)
{
    // A PROT_NONE page with no thread stack above it.
    space.protect(kAnon, 0x1000, PROT_NONE);
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvAccerr, kAnon + 0x10));
    EXPECT_EQ(e.kind, CrashKind::ProtectionOther);
    EXPECT_EQ(e.summary, "reading 0x7f0000000010 in anon, mapped with no access (PROT_NONE)");
    // A write to writable memory refused anyway (a protection key).
    e = explain(make_signal(SIGSEGV, kSegvPkuerr, kHeap + 0x100, MT_FAULT_USER | MT_FAULT_WRITE));
    EXPECT_EQ(e.kind, CrashKind::ProtectionOther);
    EXPECT_EQ(e.summary, "writing 0x555555559100 in heap (rw-) violates its protection");
}

// Regression: a PROT_NONE region was called "the guard page below" whatever thread stack was the
// next region above it, however far away (explain_crash checked that region_above(addr) is a
// thread stack, not that it starts where the PROT_NONE region ends).
TEST_F(CrashExplainerTest, ProtNoneFarBelowAThreadStackIsNotItsGuard)
{
    // A 64 MiB PROT_NONE reservation (a malloc arena's unused part, a JIT's reserve) with a thread
    // stack mapped 192 MiB above it: a read at its bottom is not a thread running off its stack.
    load("7f0000000000-7f0004000000 ---p 00000000 00:00 0 \n"
         "7f0010000000-7f0010800000 rw-p 00000000 00:00 0 \n");
    space.label_thread_stack(0x7f0010800000 - 0x100, 99);
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvAccerr, 0x7f0000001000));
    EXPECT_EQ(e.kind, CrashKind::ProtectionOther) << e.summary;
    EXPECT_EQ(e.summary, "reading 0x7f0000001000 in anon, mapped with no access (PROT_NONE)");
}

TEST_F(CrashExplainerTest, UseAfterUnmap)
{
    history.add({0x7f0002000000, 0x7f0002100000, kOrigin + 2'500'000'000, "anon"});
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvMaperr, 0x7f0002000800));
    EXPECT_EQ(e.kind, CrashKind::UseAfterUnmap);
    EXPECT_EQ(e.summary, "reading 0x7f0002000800, in anon [0x7f0002000000-0x7f0002100000) that was unmapped at "
                         "2.500s: a pointer used after munmap (or after free() of a large, mmap-backed block)");
    // The range's end is not in it.
    EXPECT_EQ(explain(make_signal(SIGSEGV, kSegvMaperr, 0x7f0002100000)).kind, CrashKind::NeverMapped);
}

TEST_F(CrashExplainerTest, UseAfterUnmapBeforeTheOriginReadsAsZeroSeconds)
{
    history.add({0x7f0002000000, 0x7f0002001000, kOrigin - 5, "libfoo.so .data"});
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvMaperr, 0x7f0002000000, MT_FAULT_USER | MT_FAULT_WRITE));
    EXPECT_EQ(e.kind, CrashKind::UseAfterUnmap);
    EXPECT_NE(e.summary.find("writing 0x7f0002000000, in libfoo.so .data [0x7f0002000000-0x7f0002001000) that was "
                             "unmapped at 0.000s"),
              std::string::npos)
        << e.summary;
}

TEST_F(CrashExplainerTest, AMappedAddressIsNotAUseAfterUnmap)
{
    // Unmapped earlier, mapped again since: the history does not matter.
    history.add({kHeap, kHeap + 0x1000, kOrigin + 1, "anon"});
    EXPECT_EQ(explain(make_signal(SIGSEGV, kSegvAccerr, kHeap, MT_FAULT_USER | MT_FAULT_INSTR)).kind,
              CrashKind::ExecNonExec);
}

TEST_F(CrashExplainerTest, NeverMappedNamesTheNearestRegions)
{
    load("10000000-10001000 rw-p 00000000 00:00 0 \n"
         "10100000-10101000 rw-p 00000000 00:00 0                                  [heap]\n");
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvMaperr, 0x10080000));
    EXPECT_EQ(e.kind, CrashKind::NeverMapped);
    EXPECT_EQ(e.summary, "reading 0x10080000, where nothing is mapped and nothing was during the trace; anon ends "
                         "508.0K below; heap starts 512K above");
}

TEST_F(CrashExplainerTest, NeverMappedWithNothingAround)
{
    load("");
    CrashExplanation e = explain(make_signal(SIGSEGV, kSegvMaperr, 0x10080000));
    EXPECT_EQ(e.kind, CrashKind::NeverMapped);
    EXPECT_EQ(e.summary, "reading 0x10080000, where nothing is mapped and nothing was during the trace");
}

TEST_F(CrashExplainerTest, BusErrorPastTheEndOfAFile)
{
    CrashExplanation e = explain(make_signal(SIGBUS, kBusAdrerr, kBlob + 0x10));
    EXPECT_EQ(e.kind, CrashKind::BusError);
    EXPECT_EQ(e.summary, "reading 0x600010 in file /data/blob.bin, a page past the end of the file /data/blob.bin "
                         "(the file is shorter than its mapping: truncated after mmap?)");
}

TEST_F(CrashExplainerTest, OtherBusErrors)
{
    CrashExplanation e = explain(make_signal(SIGBUS, kBusAdraln, kHeap + 1, MT_FAULT_USER | MT_FAULT_WRITE));
    EXPECT_EQ(e.kind, CrashKind::BusError);
    EXPECT_EQ(e.summary, "bus error (BUS_ADRALN) writing 0x555555559001 in heap");
    e = explain(make_signal(SIGBUS, kBusAdrerr, 0x20000000));
    EXPECT_EQ(e.kind, CrashKind::BusError);
    EXPECT_EQ(e.summary, "bus error (BUS_ADRERR) reading 0x20000000");
}

TEST(CrashKindName, EveryKind)
{
    EXPECT_STREQ(memtrace::crash_kind_name(CrashKind::SentByProcess), "sent-by-process");
    EXPECT_STREQ(memtrace::crash_kind_name(CrashKind::NullPage), "null-page");
    EXPECT_STREQ(memtrace::crash_kind_name(CrashKind::StackOverflow), "stack-overflow");
    EXPECT_STREQ(memtrace::crash_kind_name(CrashKind::ThreadStackOverflow), "thread-stack-overflow");
    EXPECT_STREQ(memtrace::crash_kind_name(CrashKind::WriteReadOnly), "write-read-only");
    EXPECT_STREQ(memtrace::crash_kind_name(CrashKind::ExecNonExec), "exec-non-exec");
    EXPECT_STREQ(memtrace::crash_kind_name(CrashKind::ProtectionOther), "protection");
    EXPECT_STREQ(memtrace::crash_kind_name(CrashKind::UseAfterUnmap), "use-after-unmap");
    EXPECT_STREQ(memtrace::crash_kind_name(CrashKind::NeverMapped), "never-mapped");
    EXPECT_STREQ(memtrace::crash_kind_name(CrashKind::BusError), "bus-error");
}

TEST(SignalNames, Signals)
{
    EXPECT_EQ(memtrace::signal_name(SIGSEGV), "SIGSEGV");
    EXPECT_EQ(memtrace::signal_name(SIGBUS), "SIGBUS");
    EXPECT_EQ(memtrace::signal_name(5), "signal 5");
}

TEST(SignalNames, Codes)
{
    EXPECT_EQ(memtrace::signal_code_name(SIGSEGV, 1), "SEGV_MAPERR");
    EXPECT_EQ(memtrace::signal_code_name(SIGSEGV, 2), "SEGV_ACCERR");
    EXPECT_EQ(memtrace::signal_code_name(SIGSEGV, 3), "SEGV_BNDERR");
    EXPECT_EQ(memtrace::signal_code_name(SIGSEGV, 4), "SEGV_PKUERR");
    EXPECT_EQ(memtrace::signal_code_name(SIGSEGV, 9), "si_code 9");
    EXPECT_EQ(memtrace::signal_code_name(SIGBUS, 1), "BUS_ADRALN");
    EXPECT_EQ(memtrace::signal_code_name(SIGBUS, 2), "BUS_ADRERR");
    EXPECT_EQ(memtrace::signal_code_name(SIGBUS, 3), "BUS_OBJERR");
    EXPECT_EQ(memtrace::signal_code_name(SIGBUS, 4), "BUS_MCEERR");
    EXPECT_EQ(memtrace::signal_code_name(SIGBUS, 5), "BUS_MCEERR");
    EXPECT_EQ(memtrace::signal_code_name(SIGBUS, 6), "si_code 6");
    EXPECT_EQ(memtrace::signal_code_name(SIGSEGV, 0x80), "SI_KERNEL");
    EXPECT_EQ(memtrace::signal_code_name(SIGBUS, 0x80), "SI_KERNEL");
    EXPECT_EQ(memtrace::signal_code_name(SIGSEGV, 0), "SI_USER");
    EXPECT_EQ(memtrace::signal_code_name(SIGSEGV, -6), "SI_TKILL");
    EXPECT_EQ(memtrace::signal_code_name(SIGSEGV, -1), "si_code -1");
    EXPECT_EQ(memtrace::signal_code_name(5, 1), "si_code 1") << "no names for other signals' codes";
}

TEST(UnmapHistory, EmptyRangesAreNotKept)
{
    UnmapHistory h;
    h.add({0x2000, 0x2000, 1, "anon"});
    h.add({0x3000, 0x2000, 1, "anon"});
    EXPECT_EQ(h.size(), 0u);
    EXPECT_EQ(h.find(0x2000), nullptr);
}

TEST(UnmapHistory, TheMostRecentRangeWins)
{
    UnmapHistory h;
    h.add({0x1000, 0x3000, 10, "first"});
    h.add({0x2000, 0x4000, 20, "second"});
    EXPECT_EQ(h.size(), 2u);
    ASSERT_NE(h.find(0x1000), nullptr);
    EXPECT_EQ(h.find(0x1000)->what, "first");
    ASSERT_NE(h.find(0x2fff), nullptr);
    EXPECT_EQ(h.find(0x2fff)->what, "second") << "both hold it: the later unmap";
    EXPECT_EQ(h.find(0x2000)->ts_ns, 20u);
    ASSERT_NE(h.find(0x3fff), nullptr);
    EXPECT_EQ(h.find(0x3fff)->what, "second");
    EXPECT_EQ(h.find(0x4000), nullptr);
    EXPECT_EQ(h.find(0xfff), nullptr);
    h.clear();
    EXPECT_EQ(h.size(), 0u);
    EXPECT_EQ(h.find(0x1000), nullptr);
}

TEST(UnmapHistory, BoundedToTheMostRecentRanges)
{
    UnmapHistory h;
    const size_t extra = 10;
    for (size_t i = 0; i < UnmapHistory::kMaxRanges + extra; ++i)
        h.add({0x100000 + i * 0x1000, 0x100000 + i * 0x1000 + 0x1000, i, "r" + std::to_string(i)});
    EXPECT_EQ(h.size(), UnmapHistory::kMaxRanges);
    for (size_t i = 0; i < extra; ++i)
        EXPECT_EQ(h.find(0x100000 + i * 0x1000), nullptr) << "oldest range " << i << " was dropped";
    const UnmappedRange* oldest_kept = h.find(0x100000 + extra * 0x1000);
    ASSERT_NE(oldest_kept, nullptr);
    EXPECT_EQ(oldest_kept->what, "r" + std::to_string(extra));
    const size_t last = UnmapHistory::kMaxRanges + extra - 1;
    const UnmappedRange* newest = h.find(0x100000 + last * 0x1000 + 0xfff);
    ASSERT_NE(newest, nullptr);
    EXPECT_EQ(newest->what, "r" + std::to_string(last));
}

}  // namespace
