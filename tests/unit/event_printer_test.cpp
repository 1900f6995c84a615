// --events output: one exact line per record, written to a FILE*.
#include "output/event_printer.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <sys/mman.h>

#include <gtest/gtest.h>

#include "test_support.h"
#include "test_trace.h"

using memtrace::EventPrinter;
using memtrace::Process;
using memtrace::Region;
using memtrace::RegionKind;
using memtrace::SegmentKind;
using memtrace::SegmentTable;
using memtrace_test::FakeSource;
using memtrace_test::make_record;

namespace {

constexpr uint64_t kStart = 1'000'000'000'000;  // the trace's start, ns

std::string read_back(std::FILE* f)
{
    std::fflush(f);
    std::rewind(f);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
        out.append(buf, n);
    return out;
}

class EventPrinterTest : public ::testing::Test {
protected:
    EventPrinterTest()
    {
        process.pid = 42;
        process.comm = "app";
        process.memory = std::make_shared<memtrace::MemoryMap>(segments, source.objects);
        Region lib;
        lib.start = 0x7f0000000000;
        lib.end = 0x7f0000002000;
        lib.kind = RegionKind::File;
        lib.read = lib.exec = true;
        lib.path = "/usr/lib/libfoo.so";
        lib.offset = 0x1000;
        process.memory->space.map(lib);
    }
    ~EventPrinterTest() override
    {
        if (file)
            std::fclose(file);
    }
    // Prints one record through a fresh printer and returns what reached the file.
    template <typename T>
    std::string print(const T& record, memtrace::SegmentId segment = SegmentTable::kUnmapped)
    {
        if (file)
            std::fclose(file);
        file = std::tmpfile();
        {
            EventPrinter printer(file, segments, kStart);
            printer.print(*memtrace::decode_record(&record, sizeof(record)), segment, process);
        }  // the destructor flushes
        return read_back(file);
    }

    FakeSource source;
    SegmentTable segments;
    Process process;
    std::FILE* file = nullptr;
};

TEST_F(EventPrinterTest, Header)
{
    file = std::tmpfile();
    {
        EventPrinter printer(file, segments, kStart);
        printer.print_header();
    }
    EXPECT_EQ(read_back(file), "     TIME(s) COMM/PID/TID             EVENT    DETAILS\n");
}

TEST_F(EventPrinterTest, FaultLine)
{
    auto f = make_record<mt_fault>(MT_REC_FAULT, 42, 43, kStart + 1'500'000'000, MT_FAULT_USER | MT_FAULT_WRITE);
    f.addr = 0x7f0000001234;
    f.ip = 0x401000;
    EXPECT_EQ(print(f, segments.of_kind(SegmentKind::Heap)),
              "    1.500000 app/42/43                fault    0x7f0000001234 W- user   heap                       "
              "      ip=0x401000\n");
}

TEST_F(EventPrinterTest, KernelModeInstructionProtectionFault)
{
    auto f = make_record<mt_fault>(MT_REC_FAULT, 42, 42, kStart + 250'000'000,
                                   MT_FAULT_KERNEL_MODE | MT_FAULT_INSTR | MT_FAULT_PROTECTION | MT_FAULT_WRITE);
    f.addr = 0x7f0000000010;
    f.ip = 0xffffffff81000000;
    EXPECT_EQ(print(f, segments.section({}, "/usr/lib/libfoo.so", ".text")),
              "    0.250000 app/42/42                fault    0x7f0000000010 XP kernel libfoo.so .text            "
              "      ip=0xffffffff81000000\n");
}

TEST_F(EventPrinterTest, TimestampBeforeTheStartIsZero)
{
    auto f = make_record<mt_fault>(MT_REC_FAULT, 42, 42, kStart - 5, MT_FAULT_USER);
    EXPECT_EQ(print(f).substr(0, 13), "    0.000000 ");
}

TEST_F(EventPrinterTest, MmapLine)
{
    auto m = make_record<mt_mmap>(MT_REC_MMAP, 42, 42, kStart + 2'000'000'000);
    m.addr = 0x7f0000000000;
    m.len = 8192;
    m.prot = PROT_READ | PROT_EXEC;
    m.mflags = MAP_PRIVATE | MAP_DENYWRITE;
    m.pgoff = 0x1000;
    const char path[] = "libfoo.so\0lib\0usr\0";  // the record's own path, leaf first
    std::memcpy(m.path, path, sizeof(path) - 1);
    m.path_len = sizeof(path) - 1;
    EXPECT_EQ(print(m), "    2.000000 app/42/42                mmap     0x7f0000000000-0x7f0000002000 (8192) r-x "
                        "PRIVATE|DENYWRITE off=0x1000 /usr/lib/libfoo.so\n");
}

TEST_F(EventPrinterTest, AnonymousMmapLine)
{
    auto m = make_record<mt_mmap>(MT_REC_MMAP, 42, 42, kStart);
    m.addr = 0x7f1000000000;
    m.len = 4096;
    m.prot = PROT_READ | PROT_WRITE;
    m.mflags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK;
    EXPECT_EQ(print(m), "    0.000000 app/42/42                mmap     0x7f1000000000-0x7f1000001000 (4096) rw- "
                        "PRIVATE|ANONYMOUS|STACK off=0x0 \n");
}

TEST_F(EventPrinterTest, VmaLines)
{
    auto v = make_record<mt_mmap>(MT_REC_VMA, 42, 42, kStart);
    v.addr = 0x555555554000;
    v.len = 0x2000;
    v.prot = PROT_READ | PROT_EXEC;
    v.pgoff = 0x1000;
    const char path[] = "app\0bin\0usr\0";
    std::memcpy(v.path, path, sizeof(path) - 1);
    v.path_len = sizeof(path) - 1;
    EXPECT_EQ(print(v), "    0.000000 app/42/42                vma      0x555555554000-0x555555556000 (8192) r-x "
                        "off=0x1000 /usr/bin/app\n");
    v.path_len = 0;
    v.pgoff = 0;
    v.prot = PROT_READ | PROT_WRITE;
    v.path_flags = MT_VMA_STACK;
    EXPECT_EQ(print(v), "    0.000000 app/42/42                vma      0x555555554000-0x555555556000 (8192) rw- "
                        "off=0x0 [stack]\n");
}

TEST_F(EventPrinterTest, MappingRecords)
{
    auto u = make_record<mt_munmap>(MT_REC_MUNMAP, 42, 42, kStart);
    u.addr = 0x7f0000000000;
    u.len = 8192;
    EXPECT_EQ(print(u), "    0.000000 app/42/42                munmap   0x7f0000000000-0x7f0000002000 (8192)\n");

    auto r = make_record<mt_mremap>(MT_REC_MREMAP, 42, 42, kStart);
    r.old_addr = 0x7f0000000000;
    r.old_len = 4096;
    r.new_addr = 0x7f2000000000;
    r.new_len = 16384;
    EXPECT_EQ(print(r), "    0.000000 app/42/42                mremap   0x7f0000000000 (4096) -> 0x7f2000000000 (16384)\n");

    auto p = make_record<mt_mprotect>(MT_REC_MPROTECT, 42, 42, kStart);
    p.addr = 0x7f0000000000;
    p.len = 4096;
    p.prot = PROT_READ;
    EXPECT_EQ(print(p), "    0.000000 app/42/42                mprotect 0x7f0000000000-0x7f0000001000 r--\n");
}

TEST_F(EventPrinterTest, BrkLines)
{
    auto b = make_record<mt_brk>(MT_REC_BRK, 42, 42, kStart);
    b.start_brk = 0x555555559000;
    b.old_brk = 0x555555559000;
    b.new_brk = 0x55555557a000;
    EXPECT_EQ(print(b),
              "    0.000000 app/42/42                brk      0x555555559000 -> 0x55555557a000 (+135168) heap 135168 bytes\n");
    b.old_brk = 0x55555557a000;
    b.new_brk = 0x555555559000;
    EXPECT_EQ(print(b),
              "    0.000000 app/42/42                brk      0x55555557a000 -> 0x555555559000 (-135168) heap 0 bytes\n");
}

TEST_F(EventPrinterTest, ProcessRecords)
{
    auto s = make_record<mt_shmat>(MT_REC_SHMAT, 42, 42, kStart);
    s.addr = 0x7f3000000000;
    s.shmid = 32769;
    EXPECT_EQ(print(s), "    0.000000 app/42/42                shmat    0x7f3000000000 shmid=32769\n");
    s.hdr.type = MT_REC_SHMDT;
    s.shmid = 0;
    EXPECT_EQ(print(s), "    0.000000 app/42/42                shmdt    0x7f3000000000 shmid=0\n");

    auto e = make_record<mt_exec>(MT_REC_EXEC, 42, 42, kStart);
    std::strcpy(e.filename, "/usr/bin/newprog");
    EXPECT_EQ(print(e), "    0.000000 app/42/42                exec     /usr/bin/newprog\n");
    std::memset(e.filename, 'a', sizeof(e.filename));  // not NUL-terminated: cut at the array's end
    EXPECT_EQ(print(e), "    0.000000 app/42/42                exec     " + std::string(sizeof(e.filename), 'a') + "\n");

    auto f = make_record<mt_fork>(MT_REC_FORK, 42, 42, kStart);
    f.child_tgid = 200;
    f.child_tid = 200;
    EXPECT_EQ(print(f), "    0.000000 app/42/42                fork     child pid 200\n");
    f.hdr.type = MT_REC_THREAD;
    f.child_tgid = 42;
    f.child_tid = 101;
    f.child_sp = 0x7f6000800000;
    EXPECT_EQ(print(f), "    0.000000 app/42/42                thread   tid 101 stack pointer 0x7f6000800000\n");

    auto x = make_record<mt_exit>(MT_REC_EXIT, 42, 42, kStart);
    x.exit_code = -9;
    x.minflt = 150;
    x.majflt = 5;
    EXPECT_EQ(print(x), "    0.000000 app/42/42                exit     code -9 (kernel: minflt 150 majflt 5)\n");

    auto m = make_record<mt_major>(MT_REC_MAJOR, 42, 42, kStart);
    m.addr = 0x7f0000001000;
    EXPECT_EQ(print(m), "    0.000000 app/42/42                major    0x7f0000001000 (the fault above was major)\n");

    auto h = make_record<mt_header>(MT_REC_EXEC_BEGIN, 42, 42, kStart);
    EXPECT_EQ(print(h), "    0.000000 app/42/42                execve   (faults until exec belong to the new image)\n");
    h.type = MT_REC_EXEC_FAILED;
    EXPECT_EQ(print(h), "    0.000000 app/42/42                execve   failed: the old image stays\n");
}

TEST_F(EventPrinterTest, ManyRecordsAllReachTheFile)
{
    file = std::tmpfile();
    {
        EventPrinter printer(file, segments, kStart);
        auto f = make_record<mt_fault>(MT_REC_FAULT, 42, 42, kStart, MT_FAULT_USER);
        auto record = memtrace::decode_record(&f, sizeof(f));
        for (int i = 0; i < 2000; ++i)  // past the 64 KiB buffer
            printer.print(*record, SegmentTable::kUnmapped, process);
    }
    std::string out = read_back(file);
    size_t lines = 0;
    for (char c : out)
        lines += c == '\n';
    EXPECT_EQ(lines, 2000u);
}

TEST_F(EventPrinterTest, DrivenByThePipelinesObserver)
{
    FakeSource src;
    src.set_maps(7, "555555559000-55555557a000 rw-p 00000000 00:00 0 [heap]\n");
    memtrace_test::TestTrace state(src);
    state.set_clock_origin(0);
    file = std::tmpfile();
    {
        EventPrinter printer(file, state.segments(), 0);
        state.set_observer([&](const memtrace::Record& r, memtrace::SegmentId seg, const Process& p) {
            printer.print(r, seg, p);
        });
        state.attach(7, "prog");
        auto f = make_record<mt_fault>(MT_REC_FAULT, 7, 7, 3'000'000, MT_FAULT_USER);
        f.addr = 0x555555559010;
        f.ip = 0x1234;
        state.handle(&f, sizeof(f));
    }
    // The layout synthesized at attach is in the events too, as perf script shows synthesized MMAPs.
    EXPECT_EQ(read_back(file), "    0.000000 prog/7/7                 vma      0x555555559000-0x55555557a000 (135168) rw- "
                               "off=0x0 [heap]\n"
                               "    0.003000 prog/7/7                 fault    0x555555559010 R- user   heap                       "
                               "      ip=0x1234\n");
}

TEST(EventStrings, ProtString)
{
    EXPECT_EQ(memtrace::prot_string(PROT_NONE), "---");
    EXPECT_EQ(memtrace::prot_string(PROT_READ), "r--");
    EXPECT_EQ(memtrace::prot_string(PROT_READ | PROT_WRITE), "rw-");
    EXPECT_EQ(memtrace::prot_string(PROT_READ | PROT_EXEC), "r-x");
    EXPECT_EQ(memtrace::prot_string(PROT_READ | PROT_WRITE | PROT_EXEC), "rwx");
    EXPECT_EQ(memtrace::prot_string(PROT_WRITE), "-w-");
}

TEST(EventStrings, MapFlagsString)
{
    EXPECT_EQ(memtrace::map_flags_string(0), "0");
    EXPECT_EQ(memtrace::map_flags_string(MAP_SHARED), "SHARED");
    EXPECT_EQ(memtrace::map_flags_string(MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK), "PRIVATE|ANONYMOUS|STACK");
    EXPECT_EQ(memtrace::map_flags_string(MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE), "PRIVATE|FIXED|NORESERVE");
    EXPECT_EQ(memtrace::map_flags_string(MAP_SHARED | MAP_POPULATE | MAP_HUGETLB), "SHARED|POPULATE|HUGETLB");
    EXPECT_EQ(memtrace::map_flags_string(MAP_PRIVATE | MAP_GROWSDOWN | MAP_DENYWRITE | MAP_FIXED_NOREPLACE),
              "PRIVATE|GROWSDOWN|DENYWRITE|FIXED_NOREPLACE");
    EXPECT_EQ(memtrace::map_flags_string(MAP_PRIVATE | 0x80000), "PRIVATE|0x80000") << "unknown bits in hex";
    EXPECT_EQ(memtrace::map_flags_string(0x4000000), "0x4000000");
}

}  // namespace

namespace {

class HostileEventPrinterTest : public EventPrinterTest {};

// --events writes paths and comms of the traced program: escaped, one line per event.
TEST_F(HostileEventPrinterTest, NamesAreEscaped)
{
    process.comm = "c\x1b[2J";
    auto v = make_record<mt_mmap>(MT_REC_VMA, 42, 42, kStart);
    v.addr = 0x555555554000;
    v.len = 0x1000;
    const char path[] = "x\x1b]0;owned\x07\nrow\0tmp\0";
    std::memcpy(v.path, path, sizeof(path) - 1);
    v.path_len = sizeof(path) - 1;
    std::string line = print(v);
    EXPECT_EQ(line, "    0.000000 c\\x1b[2J/42/42           vma      0x555555554000-0x555555555000 (4096) --- "
                    "off=0x0 /tmp/x\\x1b]0;owned\\x07\\nrow\n");
    auto e = make_record<mt_exec>(MT_REC_EXEC, 42, 42, kStart);
    std::strcpy(e.filename, "/bin/\x1b[31mred");
    EXPECT_EQ(print(e), "    0.000000 c\\x1b[2J/42/42           exec     /bin/\\x1b[31mred\n");
}

}  // namespace
