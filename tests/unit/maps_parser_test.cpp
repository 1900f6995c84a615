// /proc/PID/maps and smaps parsing. Fixtures: tests/fixtures/bash_maps.txt and bash_smaps.txt were
// captured from one bash process (`bash -c 'cat /proc/$$/maps ...; cat /proc/$$/smaps ...'`).
#include "model/maps_parser.h"

#include <numeric>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

#include <gtest/gtest.h>

#include "test_support.h"

using memtrace::MapsEntry;
using memtrace::parse_maps;
using memtrace::parse_maps_line;
using memtrace_test::fixture_path;
using memtrace_test::read_file;

namespace {

TEST(MapsParser, FileBackedLine)
{
    auto e = parse_maps_line(
        "7f4d2dc97000-7f4d2dded000 r-xp 00026000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->start, 0x7f4d2dc97000u);
    EXPECT_EQ(e->end, 0x7f4d2dded000u);
    EXPECT_EQ(e->size(), 0x156000u);
    EXPECT_TRUE(e->read);
    EXPECT_FALSE(e->write);
    EXPECT_TRUE(e->exec);
    EXPECT_FALSE(e->shared);
    EXPECT_EQ(e->offset, 0x26000u);
    EXPECT_EQ(e->dev_major, 0xfeu);
    EXPECT_EQ(e->dev_minor, 0u);
    EXPECT_EQ(e->inode, 332835u);
    EXPECT_EQ(e->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    EXPECT_EQ(e->rss_kib, 0u);
    EXPECT_EQ(e->perms(), "r-xp");
}

TEST(MapsParser, DeviceNumbersAreHex)
{
    auto e = parse_maps_line("00400000-00452000 r-xp 00000000 103:02 1234567 /usr/bin/prog");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->dev_major, 0x103u);
    EXPECT_EQ(e->dev_minor, 2u);
    EXPECT_EQ(e->inode, 1234567u);
    EXPECT_EQ(e->start, 0x400000u);
}

TEST(MapsParser, PathWithSpacesIsKeptWhole)
{
    auto e = parse_maps_line(
        "7f0000000000-7f0000002000 rw-s 00001000 00:2a 99                         /tmp/my dir/file with  two spaces.dat");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->path, "/tmp/my dir/file with  two spaces.dat");
    EXPECT_TRUE(e->shared);
    EXPECT_EQ(e->perms(), "rw-s");
    EXPECT_EQ(e->offset, 0x1000u);
    EXPECT_EQ(e->dev_major, 0u);
    EXPECT_EQ(e->dev_minor, 0x2au);
}

TEST(MapsParser, DeletedSuffixIsPartOfThePath)
{
    auto zero = parse_maps_line("7f1234560000-7f1234570000 rw-s 00000000 00:01 2048                       /dev/zero (deleted)");
    ASSERT_TRUE(zero.has_value());
    EXPECT_EQ(zero->path, "/dev/zero (deleted)");
    EXPECT_EQ(zero->inode, 2048u);
    auto memfd = parse_maps_line("7f1234570000-7f1234571000 rw-s 00000000 00:01 7 /memfd:wayland-shm (deleted)");
    ASSERT_TRUE(memfd.has_value());
    EXPECT_EQ(memfd->path, "/memfd:wayland-shm (deleted)");
    auto sysv = parse_maps_line("7f1234580000-7f1234581000 rw-s 00000000 00:01 32769 /SYSV00000000 (deleted)");
    ASSERT_TRUE(sysv.has_value());
    EXPECT_EQ(sysv->path, "/SYSV00000000 (deleted)");
    EXPECT_EQ(sysv->inode, 32769u);
}

TEST(MapsParser, KernelNamedMappings)
{
    auto heap = parse_maps_line("5566121da000-5566121fb000 rw-p 00000000 00:00 0                          [heap]");
    ASSERT_TRUE(heap.has_value());
    EXPECT_EQ(heap->path, "[heap]");
    EXPECT_EQ(heap->perms(), "rw-p");
    auto stack = parse_maps_line("7ffd1e3ef000-7ffd1e410000 rw-p 00000000 00:00 0                          [stack]");
    ASSERT_TRUE(stack.has_value());
    EXPECT_EQ(stack->path, "[stack]");
    EXPECT_EQ(stack->size(), 0x21000u);
    auto vdso = parse_maps_line("7f4d2de99000-7f4d2de9b000 r-xp 00000000 00:00 0                          [vdso]");
    ASSERT_TRUE(vdso.has_value());
    EXPECT_EQ(vdso->path, "[vdso]");
    EXPECT_EQ(vdso->perms(), "r-xp");
}

TEST(MapsParser, VsyscallAtTheTopOfTheAddressSpace)
{
    auto e = parse_maps_line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->start, 0xffffffffff600000u);
    EXPECT_EQ(e->end, 0xffffffffff601000u);
    EXPECT_EQ(e->size(), 0x1000u);
    EXPECT_FALSE(e->read);
    EXPECT_FALSE(e->write);
    EXPECT_TRUE(e->exec);
    EXPECT_EQ(e->perms(), "--xp");
    EXPECT_EQ(e->path, "[vsyscall]");
}

TEST(MapsParser, AnonymousLineWithoutPath)
{
    // The kernel ends an anonymous line with a space after the inode.
    auto with_space = parse_maps_line("7f4d2dc6e000-7f4d2dc71000 rw-p 00000000 00:00 0 ");
    ASSERT_TRUE(with_space.has_value());
    EXPECT_EQ(with_space->path, "");
    EXPECT_EQ(with_space->inode, 0u);
    EXPECT_EQ(with_space->size(), 0x3000u);
    auto without_space = parse_maps_line("7f4d2dc6e000-7f4d2dc71000 ---p 00000000 00:00 0");
    ASSERT_TRUE(without_space.has_value());
    EXPECT_EQ(without_space->path, "");
    EXPECT_EQ(without_space->perms(), "---p");
}

TEST(MapsParser, PermsRoundTrip)
{
    for (const char* perms : {"r--p", "rw-p", "r-xp", "rwxs", "---p", "-w-s"}) {
        auto e = parse_maps_line(std::string("1000-2000 ") + perms + " 00000000 00:00 0");
        ASSERT_TRUE(e.has_value()) << perms;
        EXPECT_EQ(e->perms(), perms);
    }
}

TEST(MapsParser, MalformedLinesAreRejected)
{
    const char* bad[] = {
        "",
        "hello world",
        "7f00-7f10",                                         // nothing after the range
        "7f10-7f00 r--p 00000000 00:00 0",                   // end before start
        "zz00-7f00 r--p 00000000 00:00 0",                   // start not hex
        "7f00 r--p 00000000 00:00 0",                        // no dash
        "0x1000-0x2000 r--p 00000000 00:00 0",               // 0x prefix is not the kernel's
        "1000-2000 r-p 00000000 00:00 0",                    // perms too short
        "1000-2000 r--pp 00000000 00:00 0",                  // perms too long
        "1000-2000 r--p 0000zz00 00:00 0",                   // offset not hex
        "1000-2000 r--p 00000000 0000 0",                    // device without colon
        "1000-2000 r--p 00000000 00:xx 0",                   // minor not hex
        "1000-2000 r--p 00000000 00:00 12ab /x",             // inode is decimal
        "1000-2000 r--p 00000000 00:00",                     // no inode
        "1000-2000 r--p 00000000 00:00 -1 /x",               // negative inode
        "Rss:                 188 kB",                       // an smaps attribute line
        "VmFlags: rd mr mw me",
    };
    for (const char* line : bad)
        EXPECT_FALSE(parse_maps_line(line).has_value()) << '"' << line << '"';
}

TEST(MapsParser, EqualStartAndEndIsAnEmptyMapping)
{
    auto e = parse_maps_line("1000-1000 r--p 00000000 00:00 0");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->size(), 0u);
}

TEST(MapsParser, ParseMapsFixture)
{
    std::istringstream in(read_file(fixture_path("bash_maps.txt")));
    std::vector<MapsEntry> maps = parse_maps(in);
    ASSERT_EQ(maps.size(), 43u);

    EXPECT_EQ(maps[0].start, 0x5565ed81a000u);
    EXPECT_EQ(maps[0].end, 0x5565ed849000u);
    EXPECT_EQ(maps[0].perms(), "r--p");
    EXPECT_EQ(maps[0].inode, 247101u);
    EXPECT_EQ(maps[0].path, "/usr/bin/bash");

    EXPECT_EQ(maps[4].perms(), "rw-p");
    EXPECT_EQ(maps[4].offset, 0x12c000u);

    EXPECT_EQ(maps[5].start, 0x5565ed94f000u);  // bash's .bss: anonymous, right after its data
    EXPECT_EQ(maps[5].path, "");

    EXPECT_EQ(maps[6].path, "[heap]");
    EXPECT_EQ(maps[6].start, 0x5566121da000u);
    EXPECT_EQ(maps[6].end, 0x5566121fb000u);

    EXPECT_EQ(maps[12].path, "/usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES");
    EXPECT_EQ(maps[30].perms(), "r--s");
    EXPECT_EQ(maps[30].path, "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache");
    EXPECT_EQ(maps[33].path, "[vvar]");
    EXPECT_EQ(maps[34].path, "[vvar_vclock]");
    EXPECT_EQ(maps[35].path, "[vdso]");

    EXPECT_EQ(maps[41].path, "[stack]");
    EXPECT_EQ(maps[41].start, 0x7ffd1e3ef000u);
    EXPECT_EQ(maps[42].path, "[vsyscall]");
    EXPECT_EQ(maps[42].start, 0xffffffffff600000u);

    for (const MapsEntry& e : maps)
        EXPECT_EQ(e.rss_kib, 0u) << "maps has no Rss";
    for (size_t i = 1; i < maps.size(); ++i)
        EXPECT_LE(maps[i - 1].end, maps[i].start) << "sorted, non-overlapping at " << i;
}

TEST(MapsParser, ParseSmapsFixtureTakesRssAndIgnoresOtherKeys)
{
    std::istringstream maps_in(read_file(fixture_path("bash_maps.txt")));
    std::vector<MapsEntry> maps = parse_maps(maps_in);
    std::istringstream smaps_in(read_file(fixture_path("bash_smaps.txt")));
    std::vector<MapsEntry> smaps = parse_maps(smaps_in);

    // The attribute lines (Size, Rss, Pss, ..., VmFlags) add no entries.
    ASSERT_EQ(smaps.size(), maps.size());
    for (size_t i = 0; i < maps.size(); ++i) {
        EXPECT_EQ(smaps[i].start, maps[i].start) << i;
        EXPECT_EQ(smaps[i].end, maps[i].end) << i;
        EXPECT_EQ(smaps[i].path, maps[i].path) << i;
        EXPECT_EQ(smaps[i].perms(), maps[i].perms()) << i;
    }
    EXPECT_EQ(smaps[0].rss_kib, 188u);   // /usr/bin/bash r--p
    EXPECT_EQ(smaps[5].rss_kib, 28u);    // bash .bss
    EXPECT_EQ(smaps[6].rss_kib, 84u);    // [heap]
    EXPECT_EQ(smaps[41].rss_kib, 12u);   // [stack]
    EXPECT_EQ(smaps[42].rss_kib, 0u);    // [vsyscall]
    uint64_t total = std::accumulate(smaps.begin(), smaps.end(), uint64_t{0},
                                     [](uint64_t s, const MapsEntry& e) { return s + e.rss_kib; });
    EXPECT_EQ(total, 3008u);
}

TEST(MapsParser, SmapsKeysOtherThanRssAreIgnored)
{
    std::istringstream in(
        "00400000-00401000 r-xp 00000000 08:01 10 /bin/a\n"
        "Size:                  4 kB\n"
        "Pss:                 999 kB\n"
        "Rss:                   4 kB\n"
        "Private_Dirty:       777 kB\n"
        "THPeligible:    0\n"
        "VmFlags: rd ex mr mw me dw sd \n"
        "00401000-00403000 rw-p 00000000 00:00 0 \n"
        "Rss:                   8 kB\n"
        "VmFlags: rd wr mr mw me ac sd \n");
    auto maps = parse_maps(in);
    ASSERT_EQ(maps.size(), 2u);
    EXPECT_EQ(maps[0].rss_kib, 4u);
    EXPECT_EQ(maps[0].path, "/bin/a");
    EXPECT_EQ(maps[1].rss_kib, 8u);
    EXPECT_EQ(maps[1].path, "");
}

TEST(MapsParser, BlankLinesAndEmptyInput)
{
    std::istringstream empty("");
    EXPECT_TRUE(parse_maps(empty).empty());
    std::istringstream blanks("\n\n1000-2000 r--p 00000000 00:00 0\n\n");
    auto maps = parse_maps(blanks);
    ASSERT_EQ(maps.size(), 1u);
    EXPECT_EQ(maps[0].start, 0x1000u);
}

TEST(MapsParser, GarbageThrows)
{
    std::istringstream garbage("this is not a maps file\n");
    EXPECT_THROW(parse_maps(garbage), std::runtime_error);

    std::istringstream binary(std::string("\x7f" "ELF\x02\x01\x01\0\0\0", 10));
    EXPECT_THROW(parse_maps(binary), std::runtime_error);

    // A garbage line after good ones names its line number.
    std::istringstream late("1000-2000 r--p 00000000 00:00 0\n2000-3000 r--p 00000000 00:00 0\nnot a mapping\n");
    try {
        parse_maps(late);
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "line 3 is not a memory mapping");
    }

    // A "Key: value" line is only an smaps attribute after a mapping.
    std::istringstream key_first("Rss:   4 kB\n1000-2000 r--p 00000000 00:00 0\n");
    EXPECT_THROW(parse_maps(key_first), std::runtime_error);
}

TEST(MapsParser, ReadProcMapsOfSelf)
{
    auto maps = memtrace::read_proc_maps(getpid());
    ASSERT_FALSE(maps.empty());
    int stacks = 0;
    for (const MapsEntry& e : maps)
        stacks += e.path == "[stack]";
    EXPECT_EQ(stacks, 1);

    auto smaps = memtrace::read_proc_maps(getpid(), true);
    uint64_t rss = 0;
    for (const MapsEntry& e : smaps)
        rss += e.rss_kib;
    EXPECT_GT(rss, 0u);
}

TEST(MapsParser, ReadProcMapsOfMissingProcessNamesTheFile)
{
    try {
        memtrace::read_proc_maps(999999999);
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "cannot read /proc/999999999/maps");
    }
}

}  // namespace
