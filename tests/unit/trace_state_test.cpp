// TestTrace: record decoding with size checks, per-segment attribution of faults, the mapping
// records, exec / fork / exit handling and the Report it builds.
#include "test_trace.h"

#include <cstddef>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

using memtrace::Log2Histogram;
using memtrace::ProcessRow;
using memtrace::Report;
using memtrace::SegmentKind;
using memtrace::SegmentRow;
using memtrace::SegmentTable;
using memtrace_test::TestTrace;
using memtrace_test::FakeSource;
using memtrace_test::make_fault;
using memtrace_test::make_record;

namespace {

constexpr uint32_t kPid = 100;
constexpr uint64_t kStackTop = 0x7ffffffff000;

// Layout A: before exec.
constexpr uint64_t kHeapA = 0x555555559000;
constexpr uint64_t kAnonA = 0x7f0000000000;
constexpr uint64_t kFileA = 0x555555554000;
const char* const kMapsA =
    "555555554000-555555556000 r--p 00000000 fe:00 247101                     /usr/bin/app.dat\n"
    "555555559000-55555557a000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";

// Layout B: after exec.
constexpr uint64_t kHeapB = 0x560000010000;
constexpr uint64_t kAnonB = 0x7e0000000000;
const char* const kMapsB =
    "560000000000-560000001000 r--p 00000000 fe:00 555                        /usr/bin/newprog.dat\n"
    "560000010000-560000031000 rw-p 00000000 00:00 0                          [heap]\n"
    "7e0000000000-7e0000100000 rw-p 00000000 00:00 0 \n"
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";

template <typename T>
bool feed(TestTrace& state, const T& record)
{
    return state.handle(&record, sizeof(record));
}

bool fault(TestTrace& state, uint32_t pid, uint64_t addr, uint32_t tid = 0, uint16_t flags = MT_FAULT_USER)
{
    return feed(state, make_fault(pid, tid ? tid : pid, addr, flags));
}

const SegmentRow* find_row(const Report& r, const std::string& label)
{
    for (const SegmentRow& s : r.segments)
        if (s.label == label)
            return &s;
    return nullptr;
}

const ProcessRow* find_process(const Report& r, uint32_t pid)
{
    for (const ProcessRow& p : r.processes)
        if (p.pid == pid)
            return &p;
    return nullptr;
}

// An mmap record; `leaf_first` are the path components as the BPF program writes them.
mt_mmap make_mmap(uint32_t pid, uint64_t addr, uint64_t len, uint32_t prot, uint32_t mflags,
                  const std::vector<std::string>& leaf_first = {}, bool truncated = false, uint32_t dev = 0,
                  uint64_t ino = 0)
{
    auto m = make_record<mt_mmap>(MT_REC_MMAP, pid, pid);
    m.addr = addr;
    m.len = len;
    m.prot = prot;
    m.mflags = mflags;
    m.fd = leaf_first.empty() ? -1 : 3;
    m.dev = dev;
    m.ino = ino;
    size_t off = 0;
    for (const std::string& c : leaf_first) {
        std::memcpy(m.path + off, c.c_str(), c.size() + 1);
        off += c.size() + 1;
    }
    m.path_len = static_cast<uint16_t>(off);
    m.path_flags = truncated ? MT_PATH_TRUNCATED : 0;
    return m;
}

mt_munmap make_munmap(uint32_t pid, uint64_t addr, uint64_t len)
{
    auto m = make_record<mt_munmap>(MT_REC_MUNMAP, pid, pid);
    m.addr = addr;
    m.len = len;
    return m;
}

mt_brk make_brk(uint32_t pid, uint64_t start, uint64_t old_brk, uint64_t new_brk)
{
    auto b = make_record<mt_brk>(MT_REC_BRK, pid, pid);
    b.start_brk = start;
    b.old_brk = old_brk;
    b.new_brk = new_brk;
    return b;
}

mt_exec make_exec(uint32_t pid, const char* comm, uint64_t start_brk, uint64_t minflt, uint64_t majflt)
{
    auto e = make_record<mt_exec>(MT_REC_EXEC, pid, pid);
    std::strncpy(e.comm, comm, sizeof(e.comm));
    std::strncpy(e.filename, "/usr/bin/newprog", sizeof(e.filename));
    e.start_brk = start_brk;
    e.start_stack = kStackTop - 0x100;
    e.minflt = minflt;
    e.majflt = majflt;
    return e;
}

mt_exit make_exit(uint32_t pid, uint64_t minflt, uint64_t majflt, int32_t code = 0)
{
    auto e = make_record<mt_exit>(MT_REC_EXIT, pid, pid);
    e.minflt = minflt;
    e.majflt = majflt;
    e.exit_code = code;
    return e;
}

mt_fork make_fork(uint16_t type, uint32_t parent, uint32_t child_tgid, uint32_t child_tid, uint64_t sp = 0)
{
    auto f = make_record<mt_fork>(type, parent, parent);
    f.child_tgid = child_tgid;
    f.child_tid = child_tid;
    f.child_sp = sp;
    return f;
}

mt_major make_major(uint32_t pid, uint32_t tid, uint64_t addr)
{
    auto m = make_record<mt_major>(MT_REC_MAJOR, pid, tid);
    m.addr = addr;
    return m;
}

class TraceStateTest : public ::testing::Test {
protected:
    TraceStateTest() { source.set_maps(kPid, kMapsA); }
    std::string label_of(uint64_t addr, uint32_t pid = kPid)
    {
        const memtrace::Process* p = state.process(pid);
        if (!p)
            return "<no process>";
        return state.segments().at(p->space().segment_of(addr)).label;
    }

    FakeSource source;
    TestTrace state{source};
};

TEST(RecordMinSize, EveryType)
{
    EXPECT_EQ(memtrace::record_min_size(MT_REC_FAULT), sizeof(mt_fault));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_MAJOR), sizeof(mt_major));
    // Mapping records are as long as their path: the fixed part at least.
    EXPECT_EQ(memtrace::record_min_size(MT_REC_MMAP), offsetof(mt_mmap, path));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_VMA), offsetof(mt_mmap, path));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_MUNMAP), sizeof(mt_munmap));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_MREMAP), sizeof(mt_mremap));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_MPROTECT), sizeof(mt_mprotect));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_BRK), sizeof(mt_brk));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_SHMAT), sizeof(mt_shmat));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_SHMDT), sizeof(mt_shmat));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_EXEC), sizeof(mt_exec));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_FORK), sizeof(mt_fork));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_THREAD), sizeof(mt_fork));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_EXIT), sizeof(mt_exit));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_EXEC_BEGIN), sizeof(mt_header));
    EXPECT_EQ(memtrace::record_min_size(MT_REC_EXEC_FAILED), sizeof(mt_header));
    EXPECT_EQ(memtrace::record_min_size(0), 0u);
    EXPECT_EQ(memtrace::record_min_size(MT_REC_TYPE_MAX), 0u);
    EXPECT_EQ(memtrace::record_min_size(0xffff), 0u);
}

TEST(PathFromComponents, LeafFirstToPath)
{
    const char buf[] = "libc.so.6\0x86_64-linux-gnu\0lib\0usr\0";
    EXPECT_EQ(memtrace::path_from_components(buf, sizeof(buf) - 1), "/usr/lib/x86_64-linux-gnu/libc.so.6");
    const char one[] = "memfd:ring\0";
    EXPECT_EQ(memtrace::path_from_components(one, sizeof(one) - 1), "/memfd:ring");
    const char spaces[] = "a file.txt\0my dir\0";
    EXPECT_EQ(memtrace::path_from_components(spaces, sizeof(spaces) - 1), "/my dir/a file.txt");
    EXPECT_EQ(memtrace::path_from_components("", 0), "");
    const char no_nul[] = {'a', 'b', 'c'};  // the last component may lack its NUL
    EXPECT_EQ(memtrace::path_from_components(no_nul, 3), "/abc");
}

TEST_F(TraceStateTest, RecordsShorterThanTheHeaderAreMalformed)
{
    state.attach(kPid, "app");
    mt_fault f = make_fault(kPid, kPid, kAnonA);
    EXPECT_FALSE(state.handle(&f, 0));
    EXPECT_FALSE(state.handle(&f, 1));
    EXPECT_FALSE(state.handle(&f, sizeof(mt_header) - 1));
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.malformed, 3u);
    EXPECT_EQ(r.faults, 0u);
    EXPECT_TRUE(r.segments.empty());
}

TEST_F(TraceStateTest, RecordsShorterThanTheirTypeAreMalformed)
{
    state.attach(kPid, "app");
    mt_fault f = make_fault(kPid, kPid, kAnonA);
    EXPECT_FALSE(state.handle(&f, sizeof(mt_header)));
    EXPECT_FALSE(state.handle(&f, sizeof(mt_fault) - 1));
    mt_mmap m = make_mmap(kPid, 0x7f1000000000, 0x1000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
    EXPECT_FALSE(state.handle(&m, offsetof(mt_mmap, path) - 1));
    mt_exec e = make_exec(kPid, "x", 0, 0, 0);
    EXPECT_FALSE(state.handle(&e, sizeof(mt_exec) - 1));
    mt_exit x = make_exit(kPid, 0, 0);
    EXPECT_FALSE(state.handle(&x, sizeof(mt_exit) - 8));
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.malformed, 5u);
    EXPECT_EQ(r.faults, 0u);
    EXPECT_EQ(r.mmap_calls, 0u);
    EXPECT_EQ(label_of(0x7f1000000000), "unmapped") << "the short mmap was not applied";
    EXPECT_EQ(state.process(kPid)->comm, "app") << "the short exec was not applied";
    EXPECT_TRUE(state.process(kPid)->alive) << "the short exit was not applied";
}

TEST_F(TraceStateTest, ExactAndLongerRecordsAreAccepted)
{
    state.attach(kPid, "app");
    mt_fault f = make_fault(kPid, kPid, kAnonA);
    EXPECT_TRUE(state.handle(&f, sizeof(f)));
    struct {
        mt_fault f;
        char extra[16];
    } longer{make_fault(kPid, kPid, kAnonA), {}};
    EXPECT_TRUE(state.handle(&longer, sizeof(longer)));
    auto begin = make_record<mt_header>(MT_REC_EXEC_BEGIN, kPid, kPid);
    EXPECT_TRUE(state.handle(&begin, sizeof(begin)));
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.malformed, 0u);
    EXPECT_EQ(r.faults, 2u);
}

TEST_F(TraceStateTest, UnknownTypesAreMalformed)
{
    state.attach(kPid, "app");
    for (uint16_t type : {uint16_t{0}, uint16_t{MT_REC_TYPE_MAX}, uint16_t{200}, uint16_t{0xffff}}) {
        mt_exec big{};  // the largest record: long enough for any type
        big.hdr.type = type;
        big.hdr.tgid = kPid;
        EXPECT_FALSE(state.handle(&big, sizeof(big))) << type;
    }
    EXPECT_EQ(state.report(1, 1, false).malformed, 4u);
}

TEST_F(TraceStateTest, FaultsPerSegmentSortedByFaults)
{
    state.attach(kPid, "app");
    for (int i = 0; i < 5; ++i)
        fault(state, kPid, kAnonA + i * 0x1000);
    for (int i = 0; i < 3; ++i)
        fault(state, kPid, kHeapA + i * 0x1000);
    fault(state, kPid, kStackTop - 0x10);
    fault(state, kPid, 0x1000);  // no mapping
    fault(state, kPid, 0x2000);
    fault(state, kPid, kFileA);
    fault(state, kPid, kFileA + 0x1000);
    Report r = state.report(2.0, 1.0, false);
    EXPECT_EQ(r.faults, 13u);
    EXPECT_EQ(r.interval_faults, 13u);
    EXPECT_EQ(r.elapsed_s, 2.0);
    EXPECT_EQ(r.interval_s, 2.0) << "since the start: the first interval";
    EXPECT_FALSE(r.final);
    ASSERT_EQ(r.segments.size(), 5u);
    EXPECT_EQ(r.segments[0].label, "anon");
    EXPECT_EQ(r.segments[0].kind, SegmentKind::Anon);
    EXPECT_EQ(r.segments[0].faults, 5u);
    EXPECT_EQ(r.segments[1].label, "heap");
    EXPECT_EQ(r.segments[1].kind, SegmentKind::Heap);
    EXPECT_EQ(r.segments[1].faults, 3u);
    // Equal counts: by label.
    EXPECT_EQ(r.segments[2].label, "file /usr/bin/app.dat");
    EXPECT_EQ(r.segments[2].kind, SegmentKind::File);
    EXPECT_EQ(r.segments[2].faults, 2u);
    EXPECT_EQ(r.segments[3].label, "unmapped");
    EXPECT_EQ(r.segments[3].kind, SegmentKind::Unmapped);
    EXPECT_EQ(r.segments[3].faults, 2u);
    EXPECT_EQ(r.segments[4].label, "stack");
    EXPECT_EQ(r.segments[4].faults, 1u);
    for (const SegmentRow& s : r.segments) {
        EXPECT_EQ(s.major, 0u);
        EXPECT_EQ(s.minor(), s.faults);
        EXPECT_EQ(s.interval_faults, s.faults);
    }
    ASSERT_EQ(r.processes.size(), 1u);
    EXPECT_EQ(r.processes[0].pid, kPid);
    EXPECT_EQ(r.processes[0].comm, "app");
    EXPECT_TRUE(r.processes[0].alive);
    EXPECT_EQ(r.processes[0].faults, 13u);
    EXPECT_FALSE(r.processes[0].kernel_known);
}

TEST_F(TraceStateTest, FaultFlagsAreCounted)
{
    state.attach(kPid, "app");
    fault(state, kPid, kAnonA, 0, MT_FAULT_USER | MT_FAULT_WRITE);
    fault(state, kPid, kAnonA, 0, MT_FAULT_USER | MT_FAULT_WRITE | MT_FAULT_PROTECTION);
    fault(state, kPid, kAnonA, 0, MT_FAULT_USER | MT_FAULT_INSTR);
    fault(state, kPid, kAnonA, 0, MT_FAULT_KERNEL_MODE | MT_FAULT_WRITE);
    fault(state, kPid, kAnonA, 0, MT_FAULT_USER);
    Report r = state.report(1, 1, false);
    const SegmentRow* anon = find_row(r, "anon");
    ASSERT_NE(anon, nullptr);
    EXPECT_EQ(anon->faults, 5u);
    EXPECT_EQ(anon->writes, 3u);
    EXPECT_EQ(anon->protection, 1u);
    EXPECT_EQ(anon->instr, 1u);
    EXPECT_EQ(anon->kernel_mode, 1u);
}

TEST_F(TraceStateTest, MajorUpgradesTheThreadsLastFaultOnTheSamePage)
{
    state.attach(kPid, "app");
    fault(state, kPid, kHeapA + 0x123, 7);
    fault(state, kPid, kHeapA + 0x5000, 7);
    fault(state, kPid, kAnonA, 8);                            // another thread in between
    EXPECT_TRUE(feed(state, make_major(kPid, 7, kHeapA + 0x5fff)));  // same page as tid 7's last fault
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.major, 1u);
    const SegmentRow* heap = find_row(r, "heap");
    ASSERT_NE(heap, nullptr);
    EXPECT_EQ(heap->faults, 2u);
    EXPECT_EQ(heap->major, 1u);
    EXPECT_EQ(heap->minor(), 1u);
    EXPECT_EQ(find_row(r, "anon")->major, 0u);
}

TEST_F(TraceStateTest, MajorThatMatchesNoFaultIsCountedButNotAttributed)
{
    state.attach(kPid, "app");
    fault(state, kPid, kHeapA, 7);
    feed(state, make_major(kPid, 7, kHeapA + 0x1000));  // another page
    feed(state, make_major(kPid, 9, kHeapA));           // a thread with no fault
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.major, 2u);
    EXPECT_EQ(find_row(r, "heap")->major, 0u);
    EXPECT_EQ(r.faults, 1u);
}

TEST_F(TraceStateTest, MmapFaultMunmapFault)
{
    state.attach(kPid, "app");
    const uint64_t x = 0x7f5000000000;
    EXPECT_TRUE(feed(state, make_mmap(kPid, x, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)));
    fault(state, kPid, x + 0x100);
    EXPECT_TRUE(feed(state, make_munmap(kPid, x, 0x10000)));
    fault(state, kPid, x + 0x100);
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.segments.size(), 2u);
    EXPECT_EQ(find_row(r, "anon")->faults, 1u);
    EXPECT_EQ(find_row(r, "unmapped")->faults, 1u);
    EXPECT_EQ(r.mmap_calls, 1u);
    EXPECT_EQ(r.munmap_calls, 1u);
    EXPECT_EQ(r.mmap_sizes.total(), 1u);
    EXPECT_EQ(r.mmap_sizes.count(Log2Histogram::bucket_of(0x10000)), 1u);
}

TEST_F(TraceStateTest, MmapOfAFileTakesThePathFromTheRecord)
{
    state.attach(kPid, "app");
    const uint64_t x = 0x7f5000000000;
    feed(state, make_mmap(kPid, x, 0x2000, PROT_READ, MAP_PRIVATE, {"libfoo.so.1", "lib", "usr"}));
    EXPECT_EQ(label_of(x), "file /usr/lib/libfoo.so.1");
    const memtrace::Region* r = state.process(kPid)->space().region_of(x);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->path, "/usr/lib/libfoo.so.1");
    EXPECT_EQ(r->kind, memtrace::RegionKind::File);
    EXPECT_EQ(source.maps_calls, 1) << "only the attach read /proc";
}

TEST_F(TraceStateTest, MmapOfATruncatedPathResolvesThroughProc)
{
    state.attach(kPid, "app");
    const uint64_t x = 0x7f5000000000;
    // /usr/bin/app.dat is fe:00 inode 247101 in the maps: the kernel's dev_t is major << 20 | minor.
    feed(state, make_mmap(kPid, x, 0x1000, PROT_READ, MAP_PRIVATE, {"app.dat", "bin"}, true, 0xfe << 20, 247101));
    EXPECT_EQ(label_of(x), "file /usr/bin/app.dat");
    // Not in /proc either: the components that were read, marked as partial.
    feed(state, make_mmap(kPid, x + 0x10000, 0x1000, PROT_READ, MAP_PRIVATE, {"deep.bin", "x"}, true, 0xfe << 20, 1));
    EXPECT_EQ(label_of(x + 0x10000), "file .../x/deep.bin");
    feed(state, make_mmap(kPid, x + 0x20000, 0x1000, PROT_READ, MAP_PRIVATE, {}, true, 0xfe << 20, 2));
    EXPECT_EQ(label_of(x + 0x20000), "file (unknown file)");
}

TEST_F(TraceStateTest, TruncatedPathResolutionKeepsDevicesApart)
{
    // Two files with the same inode number on devices 8:1 and 24:1 (sda1 and, say, an sr0 or a
    // second disk): the record's device must pick the right one.
    source.set_maps(kPid, std::string(kMapsA) +
                              "7f4000000000-7f4000001000 r--p 00000000 08:01 77                         /a/first.dat\n"
                              "7f4000001000-7f4000002000 r--p 00000000 18:01 77                         /b/second.dat\n");
    state.attach(kPid, "app");
    const uint64_t x = 0x7f5000000000;
    feed(state, make_mmap(kPid, x, 0x1000, PROT_READ, MAP_PRIVATE, {"second.dat"}, true, (0x18 << 20) | 1, 77));
    EXPECT_EQ(label_of(x), "file /b/second.dat");
    feed(state, make_mmap(kPid, x + 0x1000, 0x1000, PROT_READ, MAP_PRIVATE, {"first.dat"}, true, (0x08 << 20) | 1, 77));
    EXPECT_EQ(label_of(x + 0x1000), "file /a/first.dat");
}

TEST_F(TraceStateTest, MmapSharedMemoryKinds)
{
    state.attach(kPid, "app");
    const uint64_t x = 0x7f5000000000;
    feed(state, make_mmap(kPid, x, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS));
    EXPECT_EQ(label_of(x), "shm anonymous");
    feed(state, make_mmap(kPid, x + 0x10000, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, {"memfd:ring"}));
    EXPECT_EQ(label_of(x + 0x10000), "shm memfd:ring");
    feed(state, make_mmap(kPid, x + 0x20000, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, {"ipc", "shm", "dev"}));
    EXPECT_EQ(label_of(x + 0x20000), "shm /dev/shm/ipc");
    fault(state, kPid, x + 0x20010);
    Report r = state.report(1, 1, false);
    EXPECT_EQ(find_row(r, "shm /dev/shm/ipc")->kind, SegmentKind::Shm);
}

TEST_F(TraceStateTest, ThreadStacks)
{
    state.attach(kPid, "app");
    const uint64_t t = 0x7f6000000000;
    feed(state, make_mmap(kPid, t, 0x800000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK));
    EXPECT_EQ(label_of(t + 0x1000), "thread stacks") << "MAP_STACK before the thread is known";
    EXPECT_TRUE(feed(state, make_fork(MT_REC_THREAD, kPid, kPid, 101, t + 0x800000 - 0x40)));
    EXPECT_EQ(label_of(t + 0x1000), "stack:101");
    fault(state, kPid, t + 0x7ff000, 101);
    Report r = state.report(1, 1, false);
    ASSERT_NE(find_row(r, "stack:101"), nullptr);
    EXPECT_EQ(find_row(r, "stack:101")->kind, SegmentKind::ThreadStack);
    EXPECT_EQ(state.process(101), nullptr) << "a thread is not a process";
    EXPECT_EQ(r.processes.size(), 1u);

    // Threads found at attach time.
    const uint64_t u = 0x7f7000000000;
    feed(state, make_mmap(kPid, u, 0x100000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS));
    state.label_thread_stack(kPid, 102, u + 0x80000);
    EXPECT_EQ(label_of(u), "stack:102");
}

TEST_F(TraceStateTest, MprotectAndMremapRecords)
{
    state.attach(kPid, "app");
    const uint64_t x = 0x7f5000000000, y = 0x7f5800000000;
    feed(state, make_mmap(kPid, x, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS));
    auto p = make_record<mt_mprotect>(MT_REC_MPROTECT, kPid, kPid);
    p.addr = x;
    p.len = 0x1000;
    p.prot = PROT_NONE;
    EXPECT_TRUE(feed(state, p));
    EXPECT_FALSE(state.process(kPid)->space().region_of(x)->read);
    EXPECT_TRUE(state.process(kPid)->space().region_of(x + 0x1000)->read);

    auto m = make_record<mt_mremap>(MT_REC_MREMAP, kPid, kPid);
    m.old_addr = x + 0x1000;
    m.old_len = 0x3000;
    m.new_addr = y;
    m.new_len = 0x3000;
    m.mflags = 1 | 2;  // MREMAP_MAYMOVE | MREMAP_FIXED
    EXPECT_TRUE(feed(state, m));
    EXPECT_EQ(label_of(x + 0x1000), "unmapped");
    EXPECT_EQ(label_of(y + 0x2fff), "anon");

    m.old_addr = y;
    m.new_addr = x + 0x1000;
    m.mflags = 1 | 2 | 4;  // MREMAP_DONTUNMAP: the old range stays mapped
    EXPECT_TRUE(feed(state, m));
    EXPECT_EQ(label_of(y), "anon");
    EXPECT_EQ(label_of(x + 0x1000), "anon");
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.mprotect_calls, 1u);
    EXPECT_EQ(r.mremap_calls, 2u);
}

TEST_F(TraceStateTest, SysvSharedMemory)
{
    state.attach(kPid, "app");
    source.shm_bytes = 0x2000;
    const uint64_t x = 0x7f5000000000;
    auto at = make_record<mt_shmat>(MT_REC_SHMAT, kPid, kPid);
    at.addr = x;
    at.size = 0;  // unknown to the BPF program: asked from the source
    at.shmid = 32769;
    EXPECT_TRUE(feed(state, at));
    ASSERT_EQ(source.shm_queries.size(), 1u);
    EXPECT_EQ(source.shm_queries[0], 32769);
    EXPECT_EQ(label_of(x), "shm SysV 32769");
    EXPECT_EQ(label_of(x + 0x1fff), "shm SysV 32769");
    EXPECT_EQ(label_of(x + 0x2000), "unmapped");

    auto dt = make_record<mt_shmat>(MT_REC_SHMDT, kPid, kPid);
    dt.addr = x;
    EXPECT_TRUE(feed(state, dt));
    EXPECT_EQ(label_of(x), "unmapped");
    EXPECT_EQ(label_of(x + 0x1fff), "unmapped");

    // A size in the record is used as is.
    at.size = 0x3000;
    feed(state, at);
    EXPECT_EQ(source.shm_queries.size(), 1u);
    EXPECT_EQ(label_of(x + 0x2fff), "shm SysV 32769");

    // shmdt on something that is not SysV memory leaves it alone.
    dt.addr = kAnonA;
    feed(state, dt);
    EXPECT_EQ(label_of(kAnonA), "anon");
}

TEST_F(TraceStateTest, SysvLabelFromProcMatchesTheRecord)
{
    // The same segment seen in /proc at attach and through a shmat record gets one label.
    source.set_maps(kPid, std::string(kMapsA) +
                              "7f5000000000-7f5000002000 rw-s 00000000 00:01 32769                      /SYSV00000000 (deleted)\n");
    state.attach(kPid, "app");
    fault(state, kPid, 0x7f5000000000);
    auto at = make_record<mt_shmat>(MT_REC_SHMAT, kPid, kPid);
    at.addr = 0x7f6000000000;
    at.size = 0x2000;
    at.shmid = 32769;
    feed(state, at);
    fault(state, kPid, 0x7f6000000000);
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.segments.size(), 1u);
    EXPECT_EQ(r.segments[0].label, "shm SysV 32769");
    EXPECT_EQ(r.segments[0].faults, 2u);
}

TEST_F(TraceStateTest, BrkRecords)
{
    state.attach(kPid, "app");
    EXPECT_TRUE(feed(state, make_brk(kPid, kHeapA, kHeapA + 0x21000, kHeapA + 0x42000)));
    fault(state, kPid, kHeapA + 0x30000);
    Report r1 = state.report(1, 1, false);
    EXPECT_EQ(r1.heap_start, kHeapA);
    EXPECT_EQ(r1.heap_size, 0x42000u);
    EXPECT_EQ(r1.brk_calls, 1u);
    EXPECT_EQ(r1.brk_grow.total(), 1u);
    EXPECT_EQ(r1.brk_grow.count(Log2Histogram::bucket_of(0x21000)), 1u);
    EXPECT_TRUE(r1.brk_shrink.empty());
    EXPECT_EQ(find_row(r1, "heap")->faults, 1u);
    EXPECT_EQ(r1.heap_offsets.total(), 1u);
    EXPECT_EQ(r1.heap_offsets.count(Log2Histogram::bucket_of(0x30000)), 1u);
    EXPECT_EQ(r1.heap_history, (std::vector<uint64_t>{0x42000}));

    feed(state, make_brk(kPid, kHeapA, kHeapA + 0x42000, kHeapA + 0x10000));
    fault(state, kPid, kHeapA + 0x30000);
    Report r2 = state.report(2, 1, false);
    EXPECT_EQ(r2.heap_size, 0x10000u);
    EXPECT_EQ(r2.brk_calls, 2u);
    EXPECT_EQ(r2.brk_shrink.total(), 1u);
    EXPECT_EQ(r2.brk_shrink.count(Log2Histogram::bucket_of(0x32000)), 1u);
    EXPECT_EQ(r2.brk_grow.total(), 1u);
    EXPECT_EQ(find_row(r2, "unmapped")->faults, 1u) << "the page was given back";
    EXPECT_EQ(r2.heap_history, (std::vector<uint64_t>{0x42000, 0x10000}));
}

TEST_F(TraceStateTest, HeapReportedWithoutBrkRecords)
{
    state.attach(kPid, "app");
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.heap_start, kHeapA);
    EXPECT_EQ(r.heap_size, 0x21000u);
}

TEST_F(TraceStateTest, StackDepths)
{
    state.attach(kPid, "app");
    fault(state, kPid, kStackTop - 0x1ff8);
    fault(state, kPid, kStackTop - 0x100000);  // below the mapping, within the limit: grows the stack
    Report r = state.report(1, 1, false);
    EXPECT_EQ(find_row(r, "stack")->faults, 2u);
    EXPECT_EQ(r.stack_depths.total(), 2u);
    EXPECT_EQ(r.stack_depths.count(Log2Histogram::bucket_of(0x1ff8)), 1u);
    EXPECT_EQ(r.stack_depths.count(Log2Histogram::bucket_of(0x100000)), 1u);
    EXPECT_TRUE(r.heap_offsets.empty());
}

TEST_F(TraceStateTest, ExecResetsTheLayoutAndSetsTheBaseline)
{
    state.attach(kPid, "app");
    fault(state, kPid, kAnonA);
    source.set_maps(kPid, kMapsB);
    EXPECT_TRUE(feed(state, make_exec(kPid, "newprog", kHeapB, 10, 2)));
    EXPECT_EQ(state.process(kPid)->comm, "newprog");
    EXPECT_EQ(label_of(kAnonA), "unmapped") << "the old image is gone";
    EXPECT_EQ(label_of(kAnonB), "anon");
    EXPECT_EQ(label_of(0x560000000000), "file /usr/bin/newprog.dat");
    fault(state, kPid, kAnonB);
    fault(state, kPid, kHeapB);
    fault(state, kPid, kAnonA);

    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.faults, 4u);
    const ProcessRow* p = find_process(r, kPid);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->comm, "newprog");
    EXPECT_EQ(p->faults, 3u) << "counted from the exec on";
    EXPECT_TRUE(p->kernel_exact);
    EXPECT_FALSE(p->kernel_known) << "no end yet";
    EXPECT_EQ(r.heap_start, kHeapB);
    EXPECT_EQ(r.heap_size, 0x21000u);
    EXPECT_EQ(find_row(r, "anon")->faults, 2u);
    EXPECT_EQ(find_row(r, "unmapped")->faults, 1u);

    EXPECT_TRUE(feed(state, make_exit(kPid, 15, 3, 0)));
    Report end = state.report(2, 1, true);
    p = find_process(end, kPid);
    ASSERT_NE(p, nullptr);
    EXPECT_FALSE(p->alive);
    EXPECT_TRUE(p->kernel_known);
    EXPECT_TRUE(p->kernel_exact);
    EXPECT_EQ(p->kernel_faults, 6u) << "(15+3) - (10+2)";
    EXPECT_EQ(state.live_processes(), 0u);
}

TEST_F(TraceStateTest, LaterExecKeepsTheBaselineAndCountsUntracedFaults)
{
    // Attached with a baseline from /proc: an exec does not move it. The kernel's counters at exec
    // minus everything seen so far are the faults exec took without a tracepoint.
    state.attach(kPid, "app", 100);
    for (int i = 0; i < 3; ++i)
        fault(state, kPid, kAnonA);
    feed(state, make_record<mt_header>(MT_REC_EXEC_BEGIN, kPid, kPid));
    fault(state, kPid, kAnonB);
    fault(state, kPid, kHeapB);
    source.set_maps(kPid, kMapsB);
    feed(state, make_exec(kPid, "newprog", kHeapB, 108, 2));  // 110 = 100 + 3 + 2 held + 5 untraced
    Report at_exec = state.report(0.5);
    EXPECT_EQ(at_exec.processes[0].untraced_faults, 5u);
    EXPECT_EQ(at_exec.processes[0].faults, 5u) << "the held faults count for the process after its first window opened";
    EXPECT_FALSE(at_exec.processes[0].kernel_exact) << "the baseline was read from /proc";
    for (int i = 0; i < 10; ++i)
        fault(state, kPid, kAnonB);
    feed(state, make_exit(kPid, 118, 2));
    Report r = state.report(1, 1, true);
    ASSERT_EQ(r.processes.size(), 1u);
    EXPECT_EQ(r.processes[0].faults, 15u);
    EXPECT_EQ(r.processes[0].untraced_faults, 5u);
    EXPECT_TRUE(r.processes[0].kernel_known);
    EXPECT_EQ(r.processes[0].kernel_faults, 20u) << "= faults + untraced";
    EXPECT_EQ(find_row(r, "anon")->faults, 14u);
    EXPECT_EQ(find_row(r, "heap")->faults, 1u);
}

// The new image's mappings as the BPF program sends them before MT_REC_EXEC.
mt_mmap make_vma(uint32_t pid, uint64_t start, uint64_t end, uint32_t prot, bool anonymous, uint16_t flags,
                 const std::vector<std::string>& leaf_first = {}, uint64_t pgoff = 0)
{
    mt_mmap v = make_mmap(pid, start, end - start, prot, anonymous ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_PRIVATE,
                          leaf_first);
    v.hdr.type = MT_REC_VMA;
    v.pgoff = pgoff;
    v.path_flags = flags;
    return v;
}

TEST_F(TraceStateTest, ExecLayoutFromVmaRecords)
{
    state.attach(kPid, "app");
    const int maps_calls = source.maps_calls;
    feed(state, make_record<mt_header>(MT_REC_EXEC_BEGIN, kPid, kPid));
    fault(state, kPid, 0x560000000010);  // held until the layout is known
    EXPECT_TRUE(feed(state, make_vma(kPid, 0x560000000000, 0x560000001000, PROT_READ, false, 0,
                                     {"newprog.dat", "bin", "usr"})));
    EXPECT_TRUE(feed(state, make_vma(kPid, 0x560000010000, 0x560000031000, PROT_READ | PROT_WRITE, true, MT_VMA_HEAP)));
    EXPECT_TRUE(feed(state, make_vma(kPid, 0x7e0000000000, 0x7e0000100000, PROT_READ | PROT_WRITE, true, 0)));
    EXPECT_TRUE(feed(state, make_vma(kPid, 0x7e0000100000, 0x7e0000102000, PROT_READ | PROT_EXEC, true, MT_VMA_VDSO)));
    EXPECT_TRUE(feed(state, make_vma(kPid, 0x7e0000102000, 0x7e0000106000, PROT_READ, true, MT_VMA_VVAR)));
    EXPECT_TRUE(feed(state, make_vma(kPid, 0x7ffffffde000, kStackTop, PROT_READ | PROT_WRITE, true, MT_VMA_STACK)));
    EXPECT_TRUE(feed(state, make_vma(kPid, 0x7e0000200000, 0x7e0000201000, PROT_READ | PROT_WRITE, false, 0,
                                     {"memfd:x"})));
    auto exec = make_exec(kPid, "newprog", 0x560000010000, 50, 0);
    exec.hdr.flags = MT_EXEC_LAYOUT_COMPLETE;
    feed(state, exec);
    EXPECT_EQ(source.maps_calls, maps_calls) << "a complete layout needs no /proc";
    EXPECT_EQ(label_of(0x560000000000), "file /usr/bin/newprog.dat");
    EXPECT_EQ(label_of(0x560000020000), "heap");
    EXPECT_EQ(label_of(0x7e0000000000), "anon");
    EXPECT_EQ(label_of(0x7e0000100000), "[vdso]");
    EXPECT_EQ(label_of(0x7e0000102000), "[vvar]");
    EXPECT_EQ(label_of(kStackTop - 8), "stack");
    EXPECT_EQ(label_of(0x7e0000200000), "shm memfd:x");
    EXPECT_EQ(label_of(kAnonA), "unmapped") << "nothing of the old image";
    EXPECT_EQ(state.process(kPid)->space().stack_top(), kStackTop);
    EXPECT_TRUE(state.process(kPid)->pending_layout.empty());
    Report r = state.report(1, 1, false);
    EXPECT_EQ(find_row(r, "file /usr/bin/newprog.dat")->faults, 1u) << "the held fault, in the new layout";
    EXPECT_EQ(r.heap_start, 0x560000010000u);
}

TEST_F(TraceStateTest, ExecWithoutCompleteLayoutReadsProc)
{
    state.attach(kPid, "app");
    const int maps_calls = source.maps_calls;
    source.set_maps(kPid, kMapsB);
    feed(state, make_exec(kPid, "newprog", kHeapB, 50, 0));  // no MT_EXEC_LAYOUT_COMPLETE
    EXPECT_EQ(source.maps_calls, maps_calls + 1);
    EXPECT_EQ(label_of(kAnonB), "anon");
}

TEST_F(TraceStateTest, ExitWithoutBaseline)
{
    state.attach(kPid, "app");  // /proc's counters could not be read at attach
    feed(state, make_exit(kPid, 150, 5));
    Report r = state.report(1, 1, true);
    EXPECT_FALSE(r.processes[0].alive);
    EXPECT_FALSE(r.processes[0].kernel_known) << "no baseline: attached without one";
}

TEST_F(TraceStateTest, ExitWithBaselineFromProc)
{
    state.attach(kPid, "app", 100);
    feed(state, make_exit(kPid, 150, 5));
    Report r = state.report(1, 1, false);
    EXPECT_TRUE(r.processes[0].kernel_known);
    EXPECT_FALSE(r.processes[0].kernel_exact);
    EXPECT_EQ(r.processes[0].kernel_faults, 55u);

    state.set_kernel_final(kPid, 200);  // /proc's count of the zombie overrides the exit record's
    r = state.report(2, 1, true);
    EXPECT_EQ(r.processes[0].kernel_faults, 100u);
}

TEST_F(TraceStateTest, KernelFinalOfAnUnknownProcessIsIgnored)
{
    state.attach(kPid, "app", 100);
    state.set_kernel_final(999, 1);
    EXPECT_EQ(state.process(999), nullptr);
    EXPECT_EQ(state.report(1).processes.size(), 1u);
}

TEST_F(TraceStateTest, AttachLaunchedIgnoresFaultsUntilExec)
{
    state.attach_launched(kPid, "memtrace");
    EXPECT_EQ(source.maps_calls, 0) << "the layout comes with the exec";
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(fault(state, kPid, kAnonA, kPid));
    EXPECT_TRUE(feed(state, make_major(kPid, kPid, kAnonA)));
    EXPECT_EQ(state.faults(), 0u);
    Report before = state.report(1, 1, false);
    EXPECT_EQ(before.faults, 0u);
    EXPECT_EQ(before.major, 0u);
    EXPECT_TRUE(before.segments.empty());

    source.set_maps(kPid, kMapsB);
    feed(state, make_exec(kPid, "newprog", kHeapB, 30, 0));
    fault(state, kPid, kAnonB);
    fault(state, kPid, kHeapB);
    Report after = state.report(2, 1, false);
    EXPECT_EQ(after.faults, 2u);
    EXPECT_EQ(after.processes[0].faults, 2u);
    EXPECT_EQ(after.processes[0].comm, "newprog");
    EXPECT_EQ(find_row(after, "anon")->faults, 1u);
    EXPECT_EQ(find_row(after, "heap")->faults, 1u);
}

TEST_F(TraceStateTest, AttachLaunchedDropsFaultsOfTheExecItself)
{
    state.attach_launched(kPid, "memtrace");
    auto begin = make_record<mt_header>(MT_REC_EXEC_BEGIN, kPid, kPid);
    feed(state, begin);
    fault(state, kPid, kAnonB);
    source.set_maps(kPid, kMapsB);
    feed(state, make_exec(kPid, "newprog", kHeapB, 30, 0));
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.faults, 0u) << "already in the exec baseline and before the command's start";
    EXPECT_EQ(r.processes[0].faults, 0u);
}

TEST_F(TraceStateTest, ExecBeginHoldsFaultsUntilTheNewLayout)
{
    state.attach(kPid, "app");
    fault(state, kPid, kAnonA);
    EXPECT_EQ(state.faults(), 1u);
    auto begin = make_record<mt_header>(MT_REC_EXEC_BEGIN, kPid, kPid);
    EXPECT_TRUE(feed(state, begin));
    EXPECT_TRUE(fault(state, kPid, kAnonB + 0x10));   // only mapped in the new image
    EXPECT_TRUE(fault(state, kPid, kHeapB + 0x20));
    EXPECT_EQ(state.faults(), 1u) << "held, not yet attributed";
    EXPECT_EQ(state.process(kPid)->held_faults.size(), 2u);

    source.set_maps(kPid, kMapsB);
    feed(state, make_exec(kPid, "newprog", kHeapB, 50, 1));
    EXPECT_EQ(state.faults(), 3u);
    EXPECT_TRUE(state.process(kPid)->held_faults.empty());
    EXPECT_FALSE(state.process(kPid)->exec_pending);
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.faults, 3u);
    EXPECT_EQ(find_row(r, "anon")->faults, 2u) << "one before exec in A, one held in B";
    EXPECT_EQ(find_row(r, "heap")->faults, 1u) << "held fault in B's heap";
    EXPECT_EQ(find_row(r, "unmapped"), nullptr);
    EXPECT_EQ(r.processes[0].faults, 0u) << "held faults are in the exec baseline already";

    fault(state, kPid, kAnonB);
    EXPECT_EQ(state.report(2).processes[0].faults, 1u);
}

TEST_F(TraceStateTest, MajorOfAHeldFaultIsKept)
{
    // Faults while the kernel builds the new image (reading the executable) are often major.
    state.attach(kPid, "app");
    feed(state, make_record<mt_header>(MT_REC_EXEC_BEGIN, kPid, kPid));
    fault(state, kPid, kAnonB + 0x10, kPid);
    feed(state, make_major(kPid, kPid, kAnonB + 0x10));
    source.set_maps(kPid, kMapsB);
    feed(state, make_exec(kPid, "newprog", kHeapB, 50, 1));
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.major, 1u);
    const SegmentRow* anon = find_row(r, "anon");
    ASSERT_NE(anon, nullptr);
    EXPECT_EQ(anon->faults, 1u);
    EXPECT_EQ(anon->major, 1u) << "the MAJOR record of a held fault must follow it";
}

TEST_F(TraceStateTest, ExecFailedReleasesHeldFaultsToTheOldLayout)
{
    state.attach(kPid, "app");
    feed(state, make_record<mt_header>(MT_REC_EXEC_BEGIN, kPid, kPid));
    fault(state, kPid, kAnonA);
    fault(state, kPid, kHeapA);
    EXPECT_EQ(state.faults(), 0u);
    EXPECT_TRUE(feed(state, make_record<mt_header>(MT_REC_EXEC_FAILED, kPid, kPid)));
    EXPECT_FALSE(state.process(kPid)->exec_pending);
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.faults, 2u);
    EXPECT_EQ(find_row(r, "anon")->faults, 1u);
    EXPECT_EQ(find_row(r, "heap")->faults, 1u);
    EXPECT_EQ(r.processes[0].faults, 2u) << "the old image's faults count";
    fault(state, kPid, kAnonA);
    EXPECT_EQ(state.faults(), 3u) << "no longer held";
}

TEST_F(TraceStateTest, ForkCopiesTheParentsLayout)
{
    state.attach(kPid, "app");
    EXPECT_TRUE(feed(state, make_fork(MT_REC_FORK, kPid, 200, 200)));
    ASSERT_NE(state.process(200), nullptr);
    EXPECT_EQ(state.process(200)->comm, "app");
    EXPECT_TRUE(state.process(200)->alive);
    EXPECT_EQ(label_of(kAnonA, 200), "anon");
    EXPECT_EQ(label_of(kHeapA, 200), "heap");
    EXPECT_EQ(label_of(kStackTop - 8, 200), "stack");

    // Independent from then on.
    feed(state, make_munmap(200, kAnonA, 0x100000));
    EXPECT_EQ(label_of(kAnonA, 200), "unmapped");
    EXPECT_EQ(label_of(kAnonA, kPid), "anon");
    fault(state, 200, kHeapA);
    fault(state, 200, kAnonA);
    fault(state, kPid, kAnonA);
    Report r = state.report(1, 1, false);
    ASSERT_EQ(r.processes.size(), 2u);
    EXPECT_EQ(r.processes[0].pid, kPid);
    EXPECT_EQ(r.processes[0].faults, 1u);
    EXPECT_EQ(r.processes[1].pid, 200u);
    EXPECT_EQ(r.processes[1].faults, 2u);
    EXPECT_EQ(find_row(r, "anon")->faults, 1u);
    EXPECT_EQ(find_row(r, "heap")->faults, 1u);
    EXPECT_EQ(find_row(r, "unmapped")->faults, 1u);
    EXPECT_EQ(state.live_processes(), 2u);

    // The child starts at zero on the kernel's books: its comparison is exact without a baseline.
    feed(state, make_exit(200, 2, 0));
    Report end = state.report(2, 1, true);
    const ProcessRow* child = find_process(end, 200);
    ASSERT_NE(child, nullptr);
    EXPECT_FALSE(child->alive);
    EXPECT_TRUE(child->kernel_known);
    EXPECT_TRUE(child->kernel_exact);
    EXPECT_EQ(child->kernel_faults, 2u);
    EXPECT_EQ(state.live_processes(), 1u);
}

TEST_F(TraceStateTest, ForkEdgeCases)
{
    state.attach(kPid, "app");
    feed(state, make_fork(MT_REC_FORK, 555, 600, 600));  // untraced parent
    EXPECT_EQ(state.process(600), nullptr);
    feed(state, make_fork(MT_REC_FORK, kPid, 200, 200));
    feed(state, make_munmap(200, kAnonA, 0x100000));
    feed(state, make_fork(MT_REC_FORK, kPid, 200, 200));  // a repeated record: the child stays as it is
    EXPECT_EQ(label_of(kAnonA, 200), "unmapped");
}

TEST_F(TraceStateTest, ReportIntervalsReset)
{
    state.attach(kPid, "app");
    for (int i = 0; i < 3; ++i)
        fault(state, kPid, kAnonA);
    Report r1 = state.report(1, 1, false);
    EXPECT_EQ(r1.interval_faults, 3u);
    EXPECT_EQ(find_row(r1, "anon")->interval_faults, 3u);

    fault(state, kPid, kAnonA);
    fault(state, kPid, kHeapA);
    Report r2 = state.report(2, 1, false);
    EXPECT_EQ(r2.faults, 5u);
    EXPECT_EQ(r2.interval_faults, 2u);
    EXPECT_EQ(find_row(r2, "anon")->faults, 4u);
    EXPECT_EQ(find_row(r2, "anon")->interval_faults, 1u);
    EXPECT_EQ(find_row(r2, "heap")->interval_faults, 1u);

    Report r3 = state.report(3, 1, false);
    EXPECT_EQ(r3.faults, 5u);
    EXPECT_EQ(r3.interval_faults, 0u);
    EXPECT_EQ(find_row(r3, "anon")->interval_faults, 0u);
    EXPECT_EQ(find_row(r3, "heap")->interval_faults, 0u);
    EXPECT_EQ(r3.heap_history.size(), 3u);
}

TEST_F(TraceStateTest, KernelCountersPassThrough)
{
    state.set_kernel_counters(1000, 7);
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.kernel_counted_faults, 1000u);
    EXPECT_EQ(r.dropped, 7u);
}

TEST_F(TraceStateTest, FaultOfAnUntracedProcess)
{
    fault(state, 999, kAnonA);
    Report r = state.report(1, 1, false);
    EXPECT_EQ(r.faults, 1u);
    ASSERT_EQ(r.segments.size(), 1u);
    EXPECT_EQ(r.segments[0].label, "unmapped");
    EXPECT_TRUE(r.processes.empty());
}

TEST_F(TraceStateTest, ObserverSeesAppliedRecordsWithTheirSegment)
{
    state.attach(kPid, "app");
    struct Seen {
        uint16_t type;
        std::string segment;
        uint32_t pid;
    };
    std::vector<Seen> seen;
    state.set_observer([&](const memtrace::Record& r, memtrace::SegmentId segment, const memtrace::Process& p) {
        seen.push_back({r.type(), state.segments().at(segment).label, p.pid});
    });
    fault(state, kPid, kHeapA);
    feed(state, make_munmap(kPid, kAnonA, 0x1000));
    mt_fault short_fault = make_fault(kPid, kPid, kHeapA);
    state.handle(&short_fault, 10);  // malformed: not observed
    fault(state, 999, kHeapA);       // untraced process: not observed
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].type, MT_REC_FAULT);
    EXPECT_EQ(seen[0].segment, "heap");
    EXPECT_EQ(seen[0].pid, kPid);
    EXPECT_EQ(seen[1].type, MT_REC_MUNMAP);
    EXPECT_EQ(seen[1].segment, "unmapped");
}

TEST_F(TraceStateTest, AttachWhenProcIsUnreadable)
{
    source.maps_of.clear();  // the process is gone, or not exec'd yet
    state.attach(kPid, "gone");
    EXPECT_TRUE(state.process(kPid)->space().regions().empty());
    fault(state, kPid, kAnonA);
    EXPECT_EQ(state.report(1, 1, false).segments[0].label, "unmapped");
}

}  // namespace
