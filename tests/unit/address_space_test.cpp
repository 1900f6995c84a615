// AddressSpace: which segment each address is attributed to, from a /proc snapshot and through the
// mapping changes the tracer replays (map, unmap, mprotect, mremap, brk, thread stacks).
#include "model/address_space.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "model/segments.h"
#include "test_support.h"

using memtrace::AddressSpace;
using memtrace::ElfImage;
using memtrace::Region;
using memtrace::RegionKind;
using memtrace::SegmentKind;
using memtrace::SegmentTable;
using memtrace_test::FakeSource;
using memtrace_test::find_section;
using memtrace_test::maps_for_image;
using memtrace_test::maps_from_text;

// Objects of the test binary itself, for the end-to-end test on /proc/self/maps.
static char bss_array[1 << 20];
char data_array[1 << 16] = {1};
extern const char rodata_array[1 << 16];
const char rodata_array[1 << 16] = {1};
extern const char* const relro_table[3];
const char* const relro_table[3] = {"alpha", "beta", "gamma"};  // .data.rel.ro in a PIE

__attribute__((noinline)) int self_test_function(int x) { return x * 7 + data_array[x & 0xff]; }

namespace {

constexpr uint64_t kStackTop = 0x7ffffffff000;
constexpr uint64_t kHeap = 0x555555559000;

// Every kind of line a real process shows. The shared-memory and anonymous regions sit far below
// the stack so that the stack's growth area (8 MiB under it) covers only a gap.
const char* const kCanned =
    "555555554000-555555556000 r--p 00000000 08:01 100                        /opt/app/data.bin\n"
    "555555559000-55555557a000 rw-p 00000000 00:00 0                          [heap]\n"
    "7fffe0000000-7fffe0200000 rw-p 00000000 00:00 0 \n"
    "7fffe0200000-7fffe0210000 rw-s 00000000 00:01 2048                       /dev/zero (deleted)\n"
    "7fffe0210000-7fffe0211000 rw-s 00000000 00:01 7                          /memfd:x (deleted)\n"
    "7fffe0211000-7fffe0212000 rw-s 00000000 00:01 32769                      /SYSV00000000 (deleted)\n"
    "7fffe0212000-7fffe0213000 rw-s 00000000 00:1a 300                        /dev/shm/myshm\n"
    "7fffe0213000-7fffe0214000 rw-p 00000000 00:00 0                          [anon:glibc malloc]\n"
    "7fffe0214000-7fffe0215000 rw-s 00000000 00:01 9                          [anon_shmem:ring]\n"
    "7fffe7fc1000-7fffe7fc5000 r--p 00000000 00:00 0                          [vvar]\n"
    "7fffe7fc5000-7fffe7fc7000 r-xp 00000000 00:00 0                          [vdso]\n"
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

class AddressSpaceTest : public ::testing::Test {
protected:
    std::string label(uint64_t addr) const { return segments.at(space.segment_of(addr)).label; }
    SegmentKind kind(uint64_t addr) const { return segments.at(space.segment_of(addr)).kind; }
    void load(const std::string& text, uint64_t start_brk = 0, uint64_t stack_limit = 8 << 20)
    {
        space.load_snapshot(maps_from_text(text), start_brk, stack_limit);
    }
    static Region anon(uint64_t start, uint64_t end)
    {
        Region r;
        r.start = start;
        r.end = end;
        r.kind = RegionKind::Anon;
        r.read = r.write = true;
        return r;
    }
    static Region file(uint64_t start, uint64_t end, const std::string& path, uint64_t offset)
    {
        Region r;
        r.start = start;
        r.end = end;
        r.kind = RegionKind::File;
        r.read = true;
        r.path = path;
        r.offset = offset;
        return r;
    }

    FakeSource source;
    SegmentTable segments;
    AddressSpace space{segments, source.objects};
};

TEST(RegionFromMaps, Kinds)
{
    struct Case {
        const char* line;
        RegionKind kind;
    };
    const Case cases[] = {
        {"1000-2000 rw-p 00000000 00:00 0 ", RegionKind::Anon},
        {"1000-2000 rw-s 00000000 00:00 0 ", RegionKind::Shm},
        {"1000-2000 rw-p 00000000 00:00 0 [anon:glibc malloc]", RegionKind::Anon},
        {"1000-2000 rw-s 00000000 00:01 9 [anon_shmem:ring]", RegionKind::Shm},
        {"1000-2000 rw-p 00000000 00:00 0 [heap]", RegionKind::Heap},
        {"1000-2000 rw-p 00000000 00:00 0 [stack]", RegionKind::Stack},
        {"1000-2000 r-xp 00000000 00:00 0 [vdso]", RegionKind::Special},
        {"1000-2000 r--p 00000000 00:00 0 [vvar]", RegionKind::Special},
        {"1000-2000 --xp 00000000 00:00 0 [vsyscall]", RegionKind::Special},
        {"1000-2000 rw-s 00000000 00:01 2048 /dev/zero (deleted)", RegionKind::Shm},
        {"1000-2000 rw-s 00000000 00:01 7 /memfd:x (deleted)", RegionKind::Shm},
        {"1000-2000 rw-p 00000000 00:01 7 /memfd:x (deleted)", RegionKind::Shm},
        {"1000-2000 rw-s 00000000 00:01 32769 /SYSV00000000 (deleted)", RegionKind::Shm},
        {"1000-2000 rw-s 00000000 00:1a 300 /dev/shm/myshm", RegionKind::Shm},
        {"1000-2000 r-xp 00001000 08:01 42 /usr/lib/libc.so.6", RegionKind::File},
        {"1000-2000 rw-s 00000000 08:01 43 /var/db/file.db", RegionKind::File},
        {"1000-2000 r--p 00000000 08:01 44 /tmp/my dir/a file (deleted)", RegionKind::File},
    };
    for (const Case& c : cases) {
        auto e = memtrace::parse_maps_line(c.line);
        ASSERT_TRUE(e.has_value()) << c.line;
        Region r = memtrace::region_from_maps(*e);
        EXPECT_EQ(static_cast<int>(r.kind), static_cast<int>(c.kind)) << c.line;
        EXPECT_EQ(r.start, 0x1000u);
        EXPECT_EQ(r.end, 0x2000u);
        EXPECT_EQ(r.path, e->path);
        EXPECT_EQ(r.offset, e->offset);
        EXPECT_EQ(r.inode, e->inode);
        EXPECT_EQ(r.read, e->read);
        EXPECT_EQ(r.write, e->write);
        EXPECT_EQ(r.exec, e->exec);
        EXPECT_EQ(r.shared, e->shared);
    }
}

TEST_F(AddressSpaceTest, SnapshotLabels)
{
    load(kCanned);
    EXPECT_EQ(space.regions().size(), 13u);
    EXPECT_EQ(label(0x555555554000), "file /opt/app/data.bin");
    EXPECT_EQ(kind(0x555555555fff), SegmentKind::File);
    EXPECT_EQ(label(kHeap), "heap");
    EXPECT_EQ(label(0x555555579fff), "heap");
    EXPECT_EQ(kind(kHeap + 0x100), SegmentKind::Heap);
    EXPECT_EQ(label(0x7fffe0100000), "anon");
    EXPECT_EQ(kind(0x7fffe0100000), SegmentKind::Anon);
    EXPECT_EQ(label(0x7fffe0213800), "anon") << "[anon:name] is private anonymous memory";
    EXPECT_EQ(label(0x7fffe0214000), "shm [anon_shmem:ring]");
    EXPECT_EQ(label(0x7fffe0200000), "shm anonymous");
    EXPECT_EQ(kind(0x7fffe020ffff), SegmentKind::Shm);
    EXPECT_EQ(label(0x7fffe0210000), "shm memfd:x");
    EXPECT_EQ(label(0x7fffe0211000), "shm SysV 32769") << "the shmid is in the inode column";
    EXPECT_EQ(label(0x7fffe0212000), "shm /dev/shm/myshm");
    EXPECT_EQ(label(0x7fffe7fc1000), "[vvar]");
    EXPECT_EQ(label(0x7fffe7fc5000), "[vdso]");
    EXPECT_EQ(kind(0x7fffe7fc6fff), SegmentKind::Special);
    EXPECT_EQ(label(0xffffffffff600000), "[vsyscall]");
    EXPECT_EQ(label(0xffffffffff600fff), "[vsyscall]");
    EXPECT_EQ(label(0x7ffffffde000), "stack");
    EXPECT_EQ(label(0x7fffffffeff8), "stack");
    EXPECT_EQ(kind(0x7fffffffeff8), SegmentKind::Stack);
    EXPECT_EQ(space.stack_top(), kStackTop);
    EXPECT_EQ(space.start_brk(), kHeap) << "taken from [heap] when not given";
    EXPECT_EQ(space.brk(), 0x55555557a000u);
}

TEST_F(AddressSpaceTest, SnapshotGapsAreUnmapped)
{
    load(kCanned);
    for (uint64_t addr : {uint64_t{0}, uint64_t{0x1000}, uint64_t{0x555555556000}, uint64_t{0x555555558fff},
                          uint64_t{0x55555557a000}, uint64_t{0x7fffe0215000}, uint64_t{0x7fffe7fc0fff},
                          uint64_t{0x7fffe7fc7000}, kStackTop, uint64_t{0x800000000000}, uint64_t{0xffffffffff601000},
                          uint64_t{0xffffffffffffffff}}) {
        EXPECT_EQ(space.segment_of(addr), SegmentTable::kUnmapped) << std::hex << addr;
        EXPECT_EQ(space.region_of(addr), nullptr) << std::hex << addr;
    }
    EXPECT_EQ(segments.at(SegmentTable::kUnmapped).label, "unmapped");
}

TEST_F(AddressSpaceTest, BelowTheStackWithinTheLimitIsStack)
{
    load(kCanned, 0, 8 << 20);
    EXPECT_EQ(label(0x7ffffffddfff), "stack") << "one byte under the [stack] mapping";
    EXPECT_EQ(label(0x7ffffffd0000), "stack");
    EXPECT_EQ(label(kStackTop - (8 << 20)), "stack") << "exactly the limit below the top";
    EXPECT_EQ(label(kStackTop - (8 << 20) - 1), "unmapped") << "beyond the limit";
    EXPECT_EQ(space.region_of(0x7ffffffddfff), nullptr) << "no region: the kernel has not grown it yet";
}

TEST_F(AddressSpaceTest, StackLimitIsTheProcesses)
{
    load(kCanned, 0, 1 << 20);
    EXPECT_EQ(label(kStackTop - (1 << 20)), "stack");
    EXPECT_EQ(label(kStackTop - (1 << 20) - 0x1000), "unmapped");
}

TEST_F(AddressSpaceTest, StartBrkGivenOverridesTheHeapMapping)
{
    load(kCanned, kHeap + 0x800);
    EXPECT_EQ(space.start_brk(), kHeap + 0x800);
    EXPECT_EQ(space.brk(), 0x55555557a000u);
}

TEST_F(AddressSpaceTest, NonElfFileWithoutImage)
{
    // The fake source knows no image for this path: the mapping is a plain file.
    load("7f0000000000-7f0000004000 r--p 00002000 08:01 100 /usr/share/fonts/a font.ttf\n");
    EXPECT_EQ(label(0x7f0000000000), "file /usr/share/fonts/a font.ttf");
    const Region* r = space.region_of(0x7f0000003fff);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->offset, 0x2000u);
    EXPECT_EQ(r->elf, nullptr);
    EXPECT_TRUE(r->spans.empty());
}

TEST_F(AddressSpaceTest, MapAnonymous)
{
    const uint64_t a = 0x7f0000000000;
    space.map(anon(a, a + 0x10000));
    EXPECT_EQ(label(a), "anon");
    EXPECT_EQ(label(a + 0xffff), "anon");
    EXPECT_EQ(label(a + 0x10000), "unmapped");
    EXPECT_EQ(label(a - 1), "unmapped");
    ASSERT_EQ(space.regions().size(), 1u);
}

TEST_F(AddressSpaceTest, MapRoundsTheEndUpToAPage)
{
    const uint64_t a = 0x7f0000000000;
    space.map(anon(a, a + 1));
    const Region* r = space.region_of(a);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->end, a + 0x1000);
    EXPECT_EQ(label(a + 0xfff), "anon");
    space.map(anon(a + 0x5000, a + 0x5000));  // empty: ignored
    EXPECT_EQ(space.regions().size(), 1u);
}

TEST_F(AddressSpaceTest, MapOverTheMiddleSplits)
{
    const uint64_t a = 0x7f0000000000;
    space.map(anon(a, a + 0x10000));
    space.map(file(a + 0x4000, a + 0x6000, "/srv/data.bin", 0x2000));
    ASSERT_EQ(space.regions().size(), 3u);
    auto it = space.regions().begin();
    EXPECT_EQ(it->second.start, a);
    EXPECT_EQ(it->second.end, a + 0x4000);
    ++it;
    EXPECT_EQ(it->second.start, a + 0x4000);
    EXPECT_EQ(it->second.end, a + 0x6000);
    EXPECT_EQ(it->second.offset, 0x2000u);
    ++it;
    EXPECT_EQ(it->second.start, a + 0x6000);
    EXPECT_EQ(it->second.end, a + 0x10000);
    EXPECT_EQ(label(a + 0x3fff), "anon");
    EXPECT_EQ(label(a + 0x4000), "file /srv/data.bin");
    EXPECT_EQ(label(a + 0x5fff), "file /srv/data.bin");
    EXPECT_EQ(label(a + 0x6000), "anon");
}

TEST_F(AddressSpaceTest, UnmapMiddleAndAcrossRegions)
{
    const uint64_t a = 0x7f0000000000;
    space.map(anon(a, a + 0x10000));
    space.unmap(a + 0x1000, 0x1000);
    EXPECT_EQ(label(a + 0xfff), "anon");
    EXPECT_EQ(label(a + 0x1000), "unmapped");
    EXPECT_EQ(label(a + 0x1fff), "unmapped");
    EXPECT_EQ(label(a + 0x2000), "anon");
    ASSERT_EQ(space.regions().size(), 2u);

    space.unmap(a + 0x8000, 1);  // the length is rounded up to a page
    EXPECT_EQ(label(a + 0x7fff), "anon");
    EXPECT_EQ(label(a + 0x8fff), "unmapped");
    EXPECT_EQ(label(a + 0x9000), "anon");

    space.unmap(a, 0x10000);  // across all pieces
    EXPECT_TRUE(space.regions().empty());
    EXPECT_EQ(label(a + 0x9000), "unmapped");
}

TEST_F(AddressSpaceTest, UnmapLeavesAMappingMadeAfterItBegan)
{
    // Thread A's munmap began at 100 and freed the range; thread B's mmap got the same address and
    // returned at 150; A's record (made at its syscall exit) arrives after B's.
    const uint64_t a = 0x7f0000000000;
    Region older = anon(a, a + 0x4000);
    older.mapped_ns = 50;
    space.map(older);
    space.unmap(a, 0x4000, 100);
    EXPECT_EQ(label(a), "unmapped");
    Region newer = anon(a, a + 0x4000);
    newer.mapped_ns = 150;
    space.map(newer);
    space.unmap(a, 0x4000, 100);  // the same munmap's record, late
    EXPECT_EQ(label(a), "anon");
    EXPECT_EQ(label(a + 0x3fff), "anon");
    space.unmap(a, 0x4000, 200);  // a later munmap does remove it
    EXPECT_EQ(label(a), "unmapped");
}

TEST_F(AddressSpaceTest, UnmapSplitsAFileRegionAndKeepsOffsets)
{
    const uint64_t a = 0x7f0000000000;
    space.map(file(a, a + 0x4000, "/srv/data.bin", 0x10000));
    space.unmap(a + 0x1000, 0x1000);
    const Region* right = space.region_of(a + 0x2000);
    ASSERT_NE(right, nullptr);
    EXPECT_EQ(right->start, a + 0x2000);
    EXPECT_EQ(right->offset, 0x12000u);
    EXPECT_EQ(space.region_of(a)->offset, 0x10000u);
}

TEST_F(AddressSpaceTest, ProtectSplitsAndChangesPermissions)
{
    const uint64_t a = 0x7f0000000000;
    space.map(anon(a, a + 0x4000));
    space.protect(a + 0x1000, 0x2000, PROT_READ);
    ASSERT_EQ(space.regions().size(), 3u);
    const Region* left = space.region_of(a);
    const Region* mid = space.region_of(a + 0x1000);
    const Region* right = space.region_of(a + 0x3000);
    ASSERT_TRUE(left && mid && right);
    EXPECT_EQ(left->end, a + 0x1000);
    EXPECT_TRUE(left->write);
    EXPECT_EQ(mid->start, a + 0x1000);
    EXPECT_EQ(mid->end, a + 0x3000);
    EXPECT_TRUE(mid->read);
    EXPECT_FALSE(mid->write);
    EXPECT_FALSE(mid->exec);
    EXPECT_TRUE(right->write);
    EXPECT_EQ(label(a + 0x1000), "anon") << "protection does not change the segment";

    space.protect(a, 0x4000, PROT_READ | PROT_WRITE | PROT_EXEC);
    for (uint64_t addr : {a, a + 0x1000, a + 0x3000}) {
        EXPECT_TRUE(space.region_of(addr)->exec);
        EXPECT_TRUE(space.region_of(addr)->write);
    }
    space.protect(a, 0x4000, PROT_NONE);
    EXPECT_FALSE(space.region_of(a + 0x2000)->read);
    EXPECT_EQ(label(a + 0x2000), "anon");
}

TEST_F(AddressSpaceTest, ProtectOfAFileRegionKeepsOffsets)
{
    const uint64_t a = 0x7f0000000000;
    space.map(file(a, a + 0x4000, "/srv/data.bin", 0x8000));
    space.protect(a + 0x2000, 0x1000, PROT_NONE);
    EXPECT_EQ(space.region_of(a + 0x2000)->offset, 0xa000u);
    EXPECT_EQ(space.region_of(a + 0x3000)->offset, 0xb000u);
    EXPECT_EQ(label(a + 0x3000), "file /srv/data.bin");
}

TEST_F(AddressSpaceTest, RemapMove)
{
    const uint64_t a = 0x7f0000000000, b = 0x7f1000000000;
    Region r = anon(a, a + 0x4000);
    r.exec = true;
    space.map(r);
    space.remap(a, 0x4000, b, 0x4000, false);
    EXPECT_EQ(label(a), "unmapped");
    EXPECT_EQ(label(a + 0x3fff), "unmapped");
    EXPECT_EQ(label(b), "anon");
    EXPECT_EQ(label(b + 0x3fff), "anon");
    EXPECT_EQ(label(b + 0x4000), "unmapped");
    const Region* moved = space.region_of(b);
    ASSERT_NE(moved, nullptr);
    EXPECT_EQ(moved->start, b);
    EXPECT_EQ(moved->end, b + 0x4000);
    EXPECT_TRUE(moved->exec) << "permissions travel with the pages";
    EXPECT_EQ(space.regions().size(), 1u);
}

TEST_F(AddressSpaceTest, RemapMoveOfAFilePieceCarriesItsOffset)
{
    const uint64_t a = 0x7f0000000000, b = 0x7f1000000000;
    space.map(file(a, a + 0x4000, "/srv/data.bin", 0x10000));
    space.remap(a + 0x1000, 0x1000, b, 0x1000, false);
    const Region* moved = space.region_of(b);
    ASSERT_NE(moved, nullptr);
    EXPECT_EQ(moved->offset, 0x11000u);
    EXPECT_EQ(moved->path, "/srv/data.bin");
    EXPECT_EQ(label(b), "file /srv/data.bin");
    EXPECT_EQ(label(a + 0x1000), "unmapped");
    EXPECT_EQ(label(a), "file /srv/data.bin");
    EXPECT_EQ(label(a + 0x2000), "file /srv/data.bin");
    EXPECT_EQ(space.region_of(a + 0x2000)->offset, 0x12000u);
}

TEST_F(AddressSpaceTest, RemapGrowInPlace)
{
    const uint64_t a = 0x7f0000000000;
    space.map(anon(a, a + 0x2000));
    space.remap(a, 0x2000, a, 0x5000, false);
    EXPECT_EQ(label(a + 0x1fff), "anon");
    EXPECT_EQ(label(a + 0x2000), "anon");
    EXPECT_EQ(label(a + 0x4fff), "anon");
    EXPECT_EQ(label(a + 0x5000), "unmapped");
}

TEST_F(AddressSpaceTest, RemapGrowInPlaceOfAFileAdvancesTheOffset)
{
    const uint64_t a = 0x7f0000000000;
    space.map(file(a, a + 0x2000, "/srv/data.bin", 0x3000));
    space.remap(a, 0x2000, a, 0x4000, false);
    const Region* tail = space.region_of(a + 0x3000);
    ASSERT_NE(tail, nullptr);
    EXPECT_EQ(tail->offset + (a + 0x3000 - tail->start), 0x6000u) << "file offset of a+0x3000";
    EXPECT_EQ(label(a + 0x3fff), "file /srv/data.bin");
    EXPECT_EQ(label(a + 0x4000), "unmapped");
}

TEST_F(AddressSpaceTest, RemapShrinkInPlace)
{
    const uint64_t a = 0x7f0000000000;
    space.map(anon(a, a + 0x5000));
    space.remap(a, 0x5000, a, 0x1000, false);
    EXPECT_EQ(label(a), "anon");
    EXPECT_EQ(label(a + 0xfff), "anon");
    EXPECT_EQ(label(a + 0x1000), "unmapped");
    EXPECT_EQ(label(a + 0x4fff), "unmapped");
}

TEST_F(AddressSpaceTest, RemapMoveAndGrow)
{
    const uint64_t a = 0x7f0000000000, b = 0x7f1000000000;
    space.map(anon(a, a + 0x1000));
    space.remap(a, 0x1000, b, 0x3000, false);
    EXPECT_EQ(label(a), "unmapped");
    EXPECT_EQ(label(b), "anon");
    EXPECT_EQ(label(b + 0x2fff), "anon");
    EXPECT_EQ(label(b + 0x3000), "unmapped");
}

TEST_F(AddressSpaceTest, RemapMoveAndShrink)
{
    const uint64_t a = 0x7f0000000000, b = 0x7f1000000000;
    space.map(anon(a, a + 0x4000));
    space.remap(a, 0x4000, b, 0x2000, false);
    EXPECT_EQ(label(a + 0x3000), "unmapped") << "the whole old range goes";
    EXPECT_EQ(label(b + 0x1fff), "anon");
    EXPECT_EQ(label(b + 0x2000), "unmapped");
}

TEST_F(AddressSpaceTest, RemapDontUnmapKeepsTheOldRange)
{
    const uint64_t a = 0x7f0000000000, b = 0x7f1000000000;
    space.map(anon(a, a + 0x4000));
    space.remap(a, 0x4000, b, 0x4000, true);
    EXPECT_EQ(label(a), "anon") << "MREMAP_DONTUNMAP leaves the old range mapped";
    EXPECT_EQ(label(a + 0x3fff), "anon");
    EXPECT_EQ(label(b), "anon");
    EXPECT_EQ(label(b + 0x3fff), "anon");
    EXPECT_EQ(space.regions().size(), 2u);
}

TEST_F(AddressSpaceTest, RemapOfAnUnknownRangeDoesNothing)
{
    const uint64_t a = 0x7f0000000000, b = 0x7f1000000000;
    space.map(anon(a, a + 0x1000));
    space.remap(a + 0x100000, 0x1000, b, 0x1000, false);
    EXPECT_EQ(label(b), "unmapped");
    EXPECT_EQ(label(a), "anon");
    EXPECT_EQ(space.regions().size(), 1u);
}

TEST_F(AddressSpaceTest, BrkGrowAndShrink)
{
    load(kCanned);
    ASSERT_EQ(space.start_brk(), kHeap);
    space.set_brk(kHeap, kHeap + 0x40000);
    EXPECT_EQ(space.brk(), kHeap + 0x40000);
    EXPECT_EQ(space.start_brk(), kHeap);
    EXPECT_EQ(label(kHeap), "heap");
    EXPECT_EQ(label(kHeap + 0x3ffff), "heap");
    EXPECT_EQ(label(kHeap + 0x40000), "unmapped");
    int heaps = 0;
    for (const auto& [start, r] : space.regions())
        heaps += r.kind == RegionKind::Heap;
    EXPECT_EQ(heaps, 1);

    space.set_brk(kHeap, kHeap + 0x1801);  // shrink to a break inside a page
    EXPECT_EQ(space.brk(), kHeap + 0x1801);
    EXPECT_EQ(label(kHeap + 0x1fff), "heap");
    EXPECT_EQ(label(kHeap + 0x2000), "unmapped");
    EXPECT_EQ(label(kHeap + 0x3ffff), "unmapped");

    space.set_brk(kHeap, kHeap);  // all the way back
    EXPECT_EQ(label(kHeap), "unmapped");
    EXPECT_EQ(space.brk(), kHeap);
}

TEST_F(AddressSpaceTest, BrkOnAnEmptySpaceCreatesTheHeap)
{
    const uint64_t h = 0x600000;
    space.set_brk(h, h + 0x21000);
    EXPECT_EQ(label(h), "heap");
    EXPECT_EQ(label(h + 0x20fff), "heap");
    EXPECT_EQ(label(h + 0x21000), "unmapped");
    const Region* r = space.region_of(h);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->path, "[heap]");
    EXPECT_TRUE(r->read);
    EXPECT_TRUE(r->write);
}

TEST_F(AddressSpaceTest, LabelThreadStack)
{
    const uint64_t t = 0x7f0000000000;
    space.map(anon(t, t + 0x800000));
    space.map(anon(t + 0x800000, t + 0x1000000));
    EXPECT_EQ(label(t + 0x100), "anon");
    space.label_thread_stack(t + 0x7fff00, 4242);
    EXPECT_EQ(label(t + 0x100), "stack:4242");
    EXPECT_EQ(label(t + 0x7fffff), "stack:4242");
    EXPECT_EQ(kind(t), SegmentKind::ThreadStack);
    EXPECT_EQ(space.region_of(t)->tid, 4242u);
    EXPECT_TRUE(space.region_of(t)->thread_stack);
    EXPECT_EQ(label(t + 0x800000), "anon") << "the next mapping is not that stack";

    // A new thread's stack pointer is often the very top of its mapping.
    space.label_thread_stack(t + 0x1000000, 4243);
    EXPECT_EQ(label(t + 0x800000), "stack:4243");
    EXPECT_EQ(label(t + 0x7fffff), "stack:4242");
}

TEST_F(AddressSpaceTest, LabelThreadStackOnlyOnAnonymousMemory)
{
    load(kCanned);
    space.label_thread_stack(kHeap + 0x100, 77);
    EXPECT_EQ(label(kHeap + 0x100), "heap");
    space.label_thread_stack(0x555555554800, 77);
    EXPECT_EQ(label(0x555555554800), "file /opt/app/data.bin");
    space.label_thread_stack(0x7fffe0200100, 77);
    EXPECT_EQ(label(0x7fffe0200100), "shm anonymous");
    space.label_thread_stack(0x1000, 77);  // in no mapping
    space.label_thread_stack(0, 77);
    EXPECT_EQ(label(0x1000), "unmapped");
    for (size_t i = 0; i < segments.size(); ++i)
        EXPECT_NE(segments.at(i).label, "stack:77");
}

TEST_F(AddressSpaceTest, ShortLivedMapping)
{
    const uint64_t x = 0x7f0000000000;
    space.map(anon(x, x + 0x2000));
    EXPECT_EQ(label(x + 0x10), "anon");  // also primes the lookup cache with this region
    space.unmap(x, 0x2000);
    EXPECT_EQ(label(x + 0x10), "unmapped");
    EXPECT_EQ(space.region_of(x + 0x10), nullptr);
    space.map(file(x, x + 0x1000, "/srv/new.bin", 0));
    EXPECT_EQ(label(x + 0x10), "file /srv/new.bin");
    space.unmap(x, 0x1000);
    EXPECT_EQ(label(x + 0x10), "unmapped");
}

TEST_F(AddressSpaceTest, LookupCacheFollowsChanges)
{
    const uint64_t x = 0x7f0000000000;
    space.map(anon(x, x + 0x4000));
    EXPECT_EQ(label(x + 0x3000), "anon");
    space.map(file(x + 0x3000, x + 0x4000, "/srv/f", 0));
    EXPECT_EQ(label(x + 0x3000), "file /srv/f");
    EXPECT_EQ(label(x), "anon");
    space.protect(x, 0x1000, PROT_READ);
    EXPECT_EQ(space.region_of(x + 0x2000)->start, x + 0x1000) << "the split region, not a stale one";
}

TEST_F(AddressSpaceTest, CopyIsIndependent)
{
    const uint64_t x = 0x7f0000000000;
    space.map(anon(x, x + 0x2000));
    EXPECT_EQ(label(x), "anon");  // primes the original's cache
    AddressSpace child(space);
    space.unmap(x, 0x2000);
    EXPECT_EQ(label(x), "unmapped");
    EXPECT_EQ(segments.at(child.segment_of(x)).label, "anon");
    child.map(file(x + 0x1000, x + 0x2000, "/srv/child", 0));
    EXPECT_EQ(segments.at(child.segment_of(x + 0x1000)).label, "file /srv/child");
    EXPECT_EQ(label(x + 0x1000), "unmapped");
}

// The fixture executables mapped the way the kernel maps them.
class ElfAttribution : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override
    {
        path = GetParam() ? MEMTRACE_ELF_PIE : MEMTRACE_ELF_NOPIE;
        name = GetParam() ? "elf_fixture_pie" : "elf_fixture_nopie";
        base = GetParam() ? 0x555555550000 : 0;
        image = ElfImage::load(path);
        ASSERT_NE(image, nullptr);
        source.add_image(path, image);
    }
    uint64_t at(const char* section, uint64_t offset = 0) const
    {
        const memtrace::ElfSection* s = find_section(*image, section);
        if (!s)
            throw std::runtime_error(std::string("fixture has no ") + section);
        return base + s->addr + offset;
    }
    std::string label(uint64_t addr) const { return segments.at(space.segment_of(addr)).label; }

    std::string path, name;
    uint64_t base = 0;
    std::shared_ptr<const ElfImage> image;
    FakeSource source;
    SegmentTable segments;
    AddressSpace space{segments, source.objects};
};

TEST_P(ElfAttribution, SectionsOfTheExecutable)
{
    space.load_snapshot(maps_from_text(maps_for_image(*image, base, path)), 0, 8 << 20);
    EXPECT_EQ(label(at(".text")), name + " .text");
    EXPECT_EQ(segments.at(space.segment_of(at(".text"))).kind, SegmentKind::Section);
    EXPECT_EQ(segments.at(space.segment_of(at(".text"))).object, path);
    EXPECT_EQ(segments.at(space.segment_of(at(".text"))).section, ".text");
    EXPECT_EQ(label(at(".init")), name + " .text");
    EXPECT_EQ(label(at(".rodata", 100)), name + " .rodata");
    EXPECT_EQ(label(at(".eh_frame")), name + " .eh_frame");
    EXPECT_EQ(label(at(".dynsym")), name + " .dynsym");
    EXPECT_EQ(label(at(".interp")), name + " .dynsym");
    EXPECT_EQ(label(at(".dynamic")), name + " .data.rel.ro");
    EXPECT_EQ(label(at(".init_array")), name + " .data.rel.ro");
    EXPECT_EQ(label(at(".got")), name + " .got");
    EXPECT_EQ(label(at(".data")), name + " .data");
    EXPECT_EQ(label(at(".data", 40000)), name + " .data");
    EXPECT_EQ(label(base + image->loads().front().vaddr), name + " [headers]") << "the ELF header";
    if (find_section(*image, ".plt")) {
        EXPECT_EQ(label(at(".plt")), name + " .plt");
    }
}

TEST_P(ElfAttribution, BssInTheFilePageAndInTheAnonymousTail)
{
    space.load_snapshot(maps_from_text(maps_for_image(*image, base, path)), 0, 8 << 20);
    const memtrace::ElfSection* bss = find_section(*image, ".bss");
    ASSERT_NE(bss, nullptr);
    EXPECT_EQ(label(at(".bss", 8)), name + " .bss") << "in the last file-backed page";
    EXPECT_EQ(label(at(".bss", 0x80000)), name + " .bss") << "in the anonymous pages after the file";
    EXPECT_EQ(label(at(".bss", bss->size - 1)), name + " .bss");
    const Region* tail = space.region_of(at(".bss", 0x80000));
    ASSERT_NE(tail, nullptr);
    EXPECT_EQ(tail->kind, RegionKind::Anon);
    EXPECT_EQ(tail->path, "");
    uint64_t end = (base + bss->addr + bss->size + 0xfff) & ~0xfffULL;
    EXPECT_EQ(label(end), "unmapped");
}

TEST_P(ElfAttribution, BssTailMappedAfterTheFile)
{
    // The tracer sees the data mapping and then the anonymous .bss mapping as two mmap records.
    std::vector<memtrace::MapsEntry> maps = maps_from_text(maps_for_image(*image, base, path));
    for (const memtrace::MapsEntry& e : maps) {
        Region r = memtrace::region_from_maps(e);
        space.map(r);
    }
    EXPECT_EQ(label(at(".bss", 0x80000)), name + " .bss");
    EXPECT_EQ(label(at(".data")), name + " .data");
    EXPECT_EQ(label(at(".text")), name + " .text");
}

TEST_P(ElfAttribution, RelroAppliedByMprotectKeepsSections)
{
    // Launched under the tracer: the RELRO page is mapped writable, then made read-only.
    space.load_snapshot(maps_from_text(maps_for_image(*image, base, path)), 0, 8 << 20);
    const uint64_t page = at(".got") & ~0xfffULL;
    space.protect(page, 0x1000, PROT_READ);
    EXPECT_FALSE(space.region_of(at(".got"))->write);
    EXPECT_EQ(label(at(".got")), name + " .got");
    EXPECT_EQ(label(at(".dynamic")), name + " .data.rel.ro");
}

TEST_P(ElfAttribution, LoadedLikeLdSo)
{
    // The records of a launched process: ld.so reserves the whole extent with one mapping of the
    // file, maps each PT_LOAD over it with MAP_FIXED, maps the .bss tail anonymous, makes the
    // gaps inaccessible and finally applies RELRO with mprotect.
    auto page_down = [](uint64_t v) -> uint64_t { return v & ~uint64_t{0xfff}; };
    auto page_up = [](uint64_t v) -> uint64_t { return (v + 0xfff) & ~uint64_t{0xfff}; };
    const auto& loads = image->loads();
    uint64_t extent = 0;
    for (const memtrace::ElfLoad& l : loads)
        extent = std::max(extent, page_up(l.vaddr + l.memsz));
    uint64_t first = page_down(loads.front().vaddr);
    Region whole;
    whole.kind = RegionKind::File;
    whole.start = base + first;
    whole.end = base + extent;
    whole.read = true;
    whole.path = path;
    whole.offset = 0;
    whole.dev = memtrace_test::fake_dev();
    whole.inode = memtrace_test::fake_inode(path);
    space.map(whole);
    for (size_t i = 1; i < loads.size(); ++i) {
        const memtrace::ElfLoad& l = loads[i];
        Region seg = whole;
        seg.start = base + page_down(l.vaddr);
        seg.end = base + page_up(l.vaddr + l.filesz);
        seg.offset = page_down(l.offset);
        seg.write = l.writable;
        seg.exec = l.executable;
        space.map(seg);
        if (l.memsz > l.filesz && page_up(l.vaddr + l.memsz) > page_up(l.vaddr + l.filesz)) {
            Region bss;
            bss.kind = RegionKind::Anon;
            bss.start = base + page_up(l.vaddr + l.filesz);
            bss.end = base + page_up(l.vaddr + l.memsz);
            bss.read = bss.write = true;
            space.map(bss);
        }
        if (i + 1 < loads.size()) {
            uint64_t gap = page_up(l.vaddr + l.memsz), next = page_down(loads[i + 1].vaddr);
            if (next > gap)
                space.protect(base + gap, next - gap, PROT_NONE);
        }
    }
    const uint64_t relro_page = at(".got") & ~0xfffULL;
    space.protect(relro_page, 0x1000, PROT_READ);

    EXPECT_EQ(label(at(".text")), name + " .text");
    EXPECT_EQ(label(at(".rodata", 100)), name + " .rodata");
    EXPECT_EQ(label(at(".eh_frame")), name + " .eh_frame");
    EXPECT_EQ(label(at(".got")), name + " .got");
    EXPECT_EQ(label(at(".dynamic")), name + " .data.rel.ro");
    EXPECT_EQ(label(at(".data", 40000)), name + " .data");
    EXPECT_EQ(label(at(".bss", 8)), name + " .bss");
    EXPECT_EQ(label(at(".bss", 0x80000)), name + " .bss");
    EXPECT_EQ(label(base + first), name + " [headers]");
    // Every file-backed piece agrees on the load bias.
    for (const auto& [start, r] : space.regions())
        if (r.kind == RegionKind::File) {
            EXPECT_EQ(r.bias, base) << std::hex << start;
        }
}

TEST_P(ElfAttribution, RelroReadOnlyInTheSnapshot)
{
    // Attached to a running process (or reading /proc after exec): ld.so has already made the
    // RELRO page read-only, so it shows as r--p, at a file offset that the preceding read-only
    // load also covers. The mapping is at the RELRO's address, so its sections are .got and
    // .data.rel.ro, not the .rodata/.eh_frame of the read-only load's copy of that file page.
    space.load_snapshot(maps_from_text(maps_for_image(*image, base, path, true)), 0, 8 << 20);
    const Region* relro = space.region_of(at(".got"));
    ASSERT_NE(relro, nullptr);
    ASSERT_FALSE(relro->write) << "the helper made the RELRO page read-only";
    EXPECT_EQ(relro->bias, base) << "runtime = link-time address + base";
    EXPECT_EQ(label(at(".got")), name + " .got");
    EXPECT_EQ(label(at(".dynamic")), name + " .data.rel.ro");
    EXPECT_EQ(label(at(".init_array")), name + " .data.rel.ro");
}

INSTANTIATE_TEST_SUITE_P(PieAndFixed, ElfAttribution, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "Pie" : "NoPie"; });

// End to end on this very process: /proc/self/maps and the real files behind it.
class SelfAttribution : public ::testing::Test {
protected:
    void SetUp() override
    {
        auto maps = memtrace::read_proc_maps(getpid());
        source.add_real_objects(maps);
        space.load_snapshot(maps, 0, 8 << 20);
    }
    std::string label(const void* p) const
    {
        return segments.at(space.segment_of(reinterpret_cast<uint64_t>(p))).label;
    }

    FakeSource source;
    SegmentTable segments;
    AddressSpace space{segments, source.objects};
};

TEST_F(SelfAttribution, OwnSections)
{
    EXPECT_EQ(label(&bss_array[4096 * 10]), "memtrace_unit_tests .bss");
    EXPECT_EQ(label(&bss_array[(1 << 20) - 1]), "memtrace_unit_tests .bss");
    EXPECT_EQ(label(&data_array[100]), "memtrace_unit_tests .data");
    EXPECT_EQ(label(&rodata_array[100]), "memtrace_unit_tests .rodata");
    EXPECT_EQ(label(reinterpret_cast<const void*>(&self_test_function)), "memtrace_unit_tests .text");
    EXPECT_EQ(self_test_function(1), 7);
}

TEST_F(SelfAttribution, OwnRelro)
{
    EXPECT_EQ(label(&relro_table[1]), "memtrace_unit_tests .data.rel.ro") << relro_table[1];
}

TEST_F(SelfAttribution, HeapMallocAndStack)
{
    void* big = std::malloc(64 << 20);
    ASSERT_NE(big, nullptr);
    // The snapshot predates the allocation: reload it.
    auto maps = memtrace::read_proc_maps(getpid());
    source.add_real_objects(maps);
    space.load_snapshot(maps, 0, 8 << 20);
    EXPECT_EQ(label(static_cast<char*>(big) + (32 << 20)), "anon");
    std::free(big);
    int local = 0;
    EXPECT_EQ(label(&local), "stack");
}

TEST_F(SelfAttribution, AllMappingsOfAnObjectShareOneBias)
{
    // An object is mapped at one load bias: every mapping of the same file must agree on it, or
    // its sections are looked up at the wrong addresses. (libfmt.so.9 on Debian 12 has its RELRO
    // page in the same file page as the end of its read-only load.)
    std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> biases;  // path -> (start, bias)
    for (const auto& [start, r] : space.regions())
        if (r.kind == RegionKind::File && r.elf)
            biases[r.path].emplace_back(r.start, r.bias);
    ASSERT_GE(biases.size(), 3u) << "the test binary, libc, ld.so at least";
    for (const auto& [path, list] : biases)
        for (const auto& [start, bias] : list)
            EXPECT_EQ(bias, list.front().second) << path << " mapping at 0x" << std::hex << start;
}

TEST_F(SelfAttribution, SharedLibraryText)
{
    // libc's code: whatever the path, the label is "libc.so.6 .text".
    EXPECT_EQ(label(reinterpret_cast<const void*>(&::getpid)), "libc.so.6 .text");
}

}  // namespace
