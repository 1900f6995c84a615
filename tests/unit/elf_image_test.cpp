// ElfImage: sections and loads of the fixtures compiled from tests/fixtures/elf_fixture.c (a PIE
// and a fixed-address executable), section groups, and the failure paths.
#include "model/elf_image.h"

#include <algorithm>
#include <map>
#include <sstream>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "test_support.h"

using memtrace::ElfImage;
using memtrace::ElfLoad;
using memtrace::ElfSection;
using memtrace::section_group;
using memtrace_test::find_section;
using memtrace_test::read_file;

namespace {

// A scratch directory removed at the end of the test.
class TempDir {
public:
    TempDir()
    {
        char tmpl[] = "/tmp/memtrace-unit-XXXXXX";
        if (!mkdtemp(tmpl))
            throw std::runtime_error("mkdtemp");
        path_ = tmpl;
    }
    ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
    std::string file(const std::string& name, const std::string& contents) const
    {
        std::string p = path_ + "/" + name;
        FILE* f = std::fopen(p.c_str(), "wb");
        if (!f)
            throw std::runtime_error("fopen " + p);
        std::fwrite(contents.data(), 1, contents.size(), f);
        std::fclose(f);
        return p;
    }

private:
    std::string path_;
};

class ElfFixture : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override
    {
        path_ = GetParam() ? MEMTRACE_ELF_PIE : MEMTRACE_ELF_NOPIE;
        std::string error;
        image_ = ElfImage::load(path_, &error);
        ASSERT_NE(image_, nullptr) << error;
        EXPECT_EQ(error, "") << "no error on success";
    }
    const ElfSection& section(const std::string& name)
    {
        const ElfSection* s = find_section(*image_, name);
        if (!s)
            throw std::runtime_error("fixture has no " + name);
        return *s;
    }

    std::string path_;
    std::shared_ptr<const ElfImage> image_;
};

TEST_P(ElfFixture, PositionIndependent) { EXPECT_EQ(image_->position_independent(), GetParam()); }

TEST_P(ElfFixture, SectionsAreAllocatedSortedAndFlagged)
{
    const auto& sections = image_->sections();
    ASSERT_FALSE(sections.empty());
    EXPECT_TRUE(std::is_sorted(sections.begin(), sections.end(),
                               [](const ElfSection& a, const ElfSection& b) { return a.addr < b.addr; }));
    for (const ElfSection& s : sections) {
        EXPECT_GT(s.size, 0u) << s.name;
        // Only SHF_ALLOC sections: nothing that is not mapped.
        for (const char* unmapped : {".symtab", ".strtab", ".shstrtab", ".comment", ".debug_info", ".tbss"})
            EXPECT_NE(s.name, unmapped);
    }
    const ElfSection& text = section(".text");
    EXPECT_TRUE(text.executable);
    EXPECT_FALSE(text.writable);
    EXPECT_FALSE(text.nobits);
    const ElfSection& rodata = section(".rodata");
    EXPECT_FALSE(rodata.executable);
    EXPECT_FALSE(rodata.writable);
    EXPECT_FALSE(rodata.nobits);
    EXPECT_GE(rodata.size, 4096u);  // fixture_rodata[4096]
    const ElfSection& data = section(".data");
    EXPECT_TRUE(data.writable);
    EXPECT_FALSE(data.executable);
    EXPECT_FALSE(data.nobits);
    EXPECT_GE(data.size, 65536u + 4);  // fixture_aligned + fixture_data
    EXPECT_EQ(data.addr % 65536, 0u) << "the 64 KiB aligned array aligns .data";
    const ElfSection& bss = section(".bss");
    EXPECT_TRUE(bss.nobits);
    EXPECT_TRUE(bss.writable);
    EXPECT_GE(bss.size, 1u << 20);  // fixture_bss
    EXPECT_GT(bss.addr, data.addr);
    const ElfSection& got = section(".got");
    EXPECT_TRUE(got.writable);
    EXPECT_NE(find_section(*image_, ".dynamic"), nullptr);
    EXPECT_NE(find_section(*image_, ".interp"), nullptr);
    EXPECT_NE(find_section(*image_, ".eh_frame"), nullptr);
    if (GetParam()) {
        EXPECT_NE(find_section(*image_, ".data.rel.ro"), nullptr) << "fixture_relro in a PIE";
    }
}

TEST_P(ElfFixture, SectionAtStartLastByteAndEnd)
{
    for (const char* name : {".text", ".rodata", ".data", ".bss", ".got", ".dynamic", ".interp"}) {
        const ElfSection& s = section(name);
        const ElfSection* at_start = image_->section_at(s.addr);
        ASSERT_NE(at_start, nullptr) << name;
        EXPECT_EQ(at_start->name, name);
        const ElfSection* at_last = image_->section_at(s.addr + s.size - 1);
        ASSERT_NE(at_last, nullptr) << name;
        EXPECT_EQ(at_last->name, name);
        const ElfSection* past = image_->section_at(s.addr + s.size);
        if (past) {
            EXPECT_NE(past->name, name) << "one past the end of " << name;
        }
    }
    // Inside the big arrays.
    EXPECT_EQ(image_->section_at(section(".bss").addr + (1 << 19))->name, ".bss");
    EXPECT_EQ(image_->section_at(section(".data").addr + 40000)->name, ".data");
    // Past the last section and below the first.
    const ElfSection& last = image_->sections().back();
    EXPECT_EQ(image_->section_at(last.addr + last.size), nullptr);
    EXPECT_EQ(image_->section_at(last.addr + last.size + 0x100000), nullptr);
    EXPECT_EQ(image_->section_at(image_->sections().front().addr - 1), nullptr);
    EXPECT_EQ(image_->section_at(0xffffffffffffff00ULL), nullptr);
}

TEST_P(ElfFixture, GapBetweenSectionsIsNoSection)
{
    // .data is 64 KiB aligned: the bytes just below it are in no section.
    const ElfSection& data = section(".data");
    const ElfSection* below = image_->section_at(data.addr - 1);
    EXPECT_EQ(below, nullptr) << (below ? below->name : "");
}

TEST_P(ElfFixture, Loads)
{
    const auto& loads = image_->loads();
    ASSERT_GE(loads.size(), 3u);
    int exec = 0, writable = 0;
    for (const ElfLoad& l : loads) {
        exec += l.executable;
        writable += l.writable;
        EXPECT_GE(l.memsz, l.filesz);
        EXPECT_EQ(l.vaddr % 4096, l.offset % 4096) << "congruent modulo the page size";
    }
    EXPECT_EQ(exec, 1);
    EXPECT_GE(writable, 1);
    // The load holding .bss has memsz > filesz by at least the 1 MiB array.
    const ElfSection& bss = section(".bss");
    bool found = false;
    for (const ElfLoad& l : loads)
        if (bss.addr >= l.vaddr && bss.addr < l.vaddr + l.memsz) {
            found = true;
            EXPECT_TRUE(l.writable);
            EXPECT_GE(l.memsz - l.filesz, 1u << 20);
        }
    EXPECT_TRUE(found);
    EXPECT_EQ(loads.front().vaddr, GetParam() ? 0u : 0x400000u) << "-no-pie links at 0x400000, a PIE at 0";
}

TEST_P(ElfFixture, VaddrOfOffsetForEachLoad)
{
    for (const ElfLoad& l : image_->loads()) {
        uint64_t page_off = l.offset & ~0xfffULL;
        auto v = image_->vaddr_of_offset(page_off, l.writable, l.executable);
        ASSERT_TRUE(v.has_value()) << std::hex << l.offset;
        EXPECT_EQ(*v, l.vaddr - (l.offset - page_off)) << std::hex << l.offset;
    }
}

TEST_P(ElfFixture, VaddrOfOffsetInsideTheDataLoad)
{
    const ElfSection& data = section(".data");
    const ElfLoad* load = nullptr;
    for (const ElfLoad& l : image_->loads())
        if (data.addr >= l.vaddr && data.addr < l.vaddr + l.filesz)
            load = &l;
    ASSERT_NE(load, nullptr);
    // 0x8000 bytes into the file part of the load that holds .data (a mapping split by mprotect).
    auto v = image_->vaddr_of_offset((load->offset & ~0xfffULL) + 0x8000, true, false);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*v, (load->vaddr & ~0xfffULL) + 0x8000);
    EXPECT_EQ(image_->section_at(*v)->name, ".data");
}

TEST_P(ElfFixture, VaddrOfOffsetPastTheFileIsNothing)
{
    uint64_t end = 0;
    for (const ElfLoad& l : image_->loads())
        end = std::max(end, l.offset + l.filesz);
    end = (end + 0xfff) & ~0xfffULL;
    EXPECT_FALSE(image_->vaddr_of_offset(end, false, false).has_value());
    EXPECT_FALSE(image_->vaddr_of_offset(end + 0x100000, true, false).has_value());
    EXPECT_FALSE(image_->vaddr_of_offset(0x7fffffff000ULL, false, true).has_value());
}

TEST_P(ElfFixture, VaddrOfOffsetTextPageIsTheExecutableLoad)
{
    // The file page holding .text, asked for as an r-xp mapping, is .text's link-time page.
    const ElfSection& text = section(".text");
    const ElfLoad* exec = nullptr;
    for (const ElfLoad& l : image_->loads())
        if (l.executable)
            exec = &l;
    ASSERT_NE(exec, nullptr);
    uint64_t text_offset = text.addr - exec->vaddr + exec->offset;
    auto v = image_->vaddr_of_offset(text_offset & ~0xfffULL, false, true);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*v, text.addr & ~0xfffULL);
    EXPECT_EQ(image_->section_at(text.addr)->name, ".text");
}

TEST_P(ElfFixture, ParseFromMemoryMatchesLoad)
{
    std::string bytes = read_file(path_);
    std::string error;
    auto parsed = ElfImage::parse(bytes.data(), bytes.size(), &error);
    ASSERT_NE(parsed, nullptr) << error;
    EXPECT_EQ(parsed->position_independent(), image_->position_independent());
    ASSERT_EQ(parsed->sections().size(), image_->sections().size());
    for (size_t i = 0; i < parsed->sections().size(); ++i) {
        EXPECT_EQ(parsed->sections()[i].name, image_->sections()[i].name);
        EXPECT_EQ(parsed->sections()[i].addr, image_->sections()[i].addr);
        EXPECT_EQ(parsed->sections()[i].size, image_->sections()[i].size);
    }
    ASSERT_EQ(parsed->loads().size(), image_->loads().size());
}

INSTANTIATE_TEST_SUITE_P(PieAndFixed, ElfFixture, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "Pie" : "NoPie"; });

TEST(ElfImageLoad, NonElfFile)
{
    TempDir dir;
    std::string path = dir.file("notes.txt", "hello, this is text and not an ELF file\n");
    std::string error;
    EXPECT_EQ(ElfImage::load(path, &error), nullptr);
    EXPECT_EQ(error, path + ": not an ELF file");
}

TEST(ElfImageLoad, EmptyFile)
{
    TempDir dir;
    std::string path = dir.file("empty", "");
    std::string error;
    EXPECT_EQ(ElfImage::load(path, &error), nullptr);
    EXPECT_EQ(error, path + ": not an ELF file");
}

TEST(ElfImageLoad, MissingFile)
{
    std::string error;
    EXPECT_EQ(ElfImage::load("/nonexistent/memtrace/file", &error), nullptr);
    EXPECT_EQ(error, "cannot open /nonexistent/memtrace/file as a regular file");
    EXPECT_EQ(ElfImage::load("/nonexistent/memtrace/file"), nullptr) << "error pointer is optional";
}

TEST(ElfImageLoad, NotARegularFile)
{
    // memtrace runs as root and opens what a target mapped: a FIFO must neither block nor load.
    std::string fifo = ::testing::TempDir() + "memtrace-elf-fifo";
    ::unlink(fifo.c_str());
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    std::string error;
    EXPECT_EQ(ElfImage::load(fifo, &error), nullptr);
    EXPECT_EQ(error, "cannot open " + fifo + " as a regular file");
    EXPECT_EQ(ElfImage::load("/dev/zero", &error), nullptr);
    ::unlink(fifo.c_str());
}

TEST(ElfImageLoad, TruncatedElf)
{
    std::string real = read_file(MEMTRACE_ELF_PIE);
    TempDir dir;
    for (size_t n : {100, 64, 40, 16, 4}) {
        std::string path = dir.file("truncated" + std::to_string(n), real.substr(0, n));
        std::string error;
        EXPECT_EQ(ElfImage::load(path, &error), nullptr) << n << " bytes";
        EXPECT_FALSE(error.empty()) << n << " bytes: an error must say why";
        EXPECT_EQ(error.rfind(path + ": ", 0), 0u) << error;
    }
    // The first 100 bytes hold the ELF header but none of the program headers.
    std::string path = dir.file("first100", real.substr(0, 100));
    std::string error;
    EXPECT_EQ(ElfImage::load(path, &error), nullptr);
    EXPECT_EQ(error, path + ": ELF file without loadable segments");
}

TEST(ElfImageLoad, DirectoryIsNotAnElf)
{
    std::string error;
    EXPECT_EQ(ElfImage::load("/", &error), nullptr);
    EXPECT_FALSE(error.empty());
}

TEST(ElfImageParse, GarbageBytes)
{
    std::string garbage(4096, '\0');
    for (size_t i = 0; i < garbage.size(); ++i)
        garbage[i] = static_cast<char>((i * 131 + 7) & 0xff);
    std::string error;
    EXPECT_EQ(ElfImage::parse(garbage.data(), garbage.size(), &error), nullptr);
    EXPECT_NE(error.find("not an ELF file"), std::string::npos) << error;

    // ELF magic followed by garbage.
    garbage.replace(0, 4, "\x7f" "ELF");
    error.clear();
    EXPECT_EQ(ElfImage::parse(garbage.data(), garbage.size(), &error), nullptr);
    EXPECT_FALSE(error.empty());

    EXPECT_EQ(ElfImage::parse("", 0), nullptr);
}

// What binutils' readelf prints, to hold the parser to an independent reading of the same file.
std::string readelf(const std::string& args, const std::string& path)
{
    std::string command = "readelf " + args + " '" + path + "' 2>/dev/null";
    std::string out;
    FILE* p = popen(command.c_str(), "r");
    if (!p)
        return out;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;)
        out.append(buf, n);
    pclose(p);
    return out;
}

TEST(ElfImageLoad, BuildIdIsReadelfs)
{
    auto image = ElfImage::load(MEMTRACE_ELF_PIE);
    ASSERT_NE(image, nullptr);
    std::string notes = readelf("-n", MEMTRACE_ELF_PIE);
    size_t at = notes.find("Build ID: ");
    ASSERT_NE(at, std::string::npos) << "readelf -n shows no build ID (is binutils installed?):\n" << notes;
    std::string expected = notes.substr(at + 10, notes.find('\n', at) - at - 10);
    EXPECT_EQ(memtrace::build_id_hex(image->build_id()), expected);
    EXPECT_EQ(image->build_id().size(), 20u) << "GNU ld's default, a SHA-1";
}

TEST(ElfImageLoad, SectionsAreReadelfs)
{
    // "  [13] .text    PROGBITS   0000000000001040 001040 000155 00  AX  0   0 16" (readelf -SW):
    // every allocated section with a size, its address and size as readelf reads them.
    std::string table = readelf("-SW", MEMTRACE_ELF_NOPIE);
    std::istringstream lines(table);
    std::map<std::string, std::pair<uint64_t, uint64_t>> expected;
    for (std::string line; std::getline(lines, line);) {
        size_t close = line.find(']');
        if (line.find('[') == std::string::npos || close == std::string::npos)
            continue;
        std::istringstream f(line.substr(close + 1));
        std::string name, type, addr, off, size, es, flags;
        if (!(f >> name >> type >> addr >> off >> size >> es >> flags))
            continue;
        bool tbss = flags.find('T') != std::string::npos && type == "NOBITS";
        if (flags.find('A') == std::string::npos || tbss || std::stoull(size, nullptr, 16) == 0)
            continue;
        expected[name] = {std::stoull(addr, nullptr, 16), std::stoull(size, nullptr, 16)};
    }
    ASSERT_GT(expected.size(), 10u) << table;
    auto image = ElfImage::load(MEMTRACE_ELF_NOPIE);
    ASSERT_NE(image, nullptr);
    std::map<std::string, std::pair<uint64_t, uint64_t>> parsed;
    for (const ElfSection& sec : image->sections())
        parsed[sec.name] = {sec.addr, sec.size};
    EXPECT_EQ(parsed, expected);
}

ElfSection named(const std::string& name, bool executable = false, bool nobits = false, bool writable = false)
{
    ElfSection s;
    s.name = name;
    s.executable = executable;
    s.nobits = nobits;
    s.writable = writable;
    return s;
}

TEST(SectionGroup, KnownNames)
{
    const std::pair<const char*, const char*> cases[] = {
        {".text", ".text"},
        {".init", ".text"},
        {".fini", ".text"},
        {".text.hot", ".text"},
        {".text.unlikely", ".text"},
        {".plt", ".plt"},
        {".plt.got", ".plt"},
        {".plt.sec", ".plt"},
        {".iplt", ".plt"},
        {".rodata", ".rodata"},
        {".rodata.str1.1", ".rodata"},
        {".rodata.cst16", ".rodata"},
        {".eh_frame", ".eh_frame"},
        {".eh_frame_hdr", ".eh_frame"},
        {".gcc_except_table", ".eh_frame"},
        {".sframe", ".eh_frame"},
        {".interp", ".dynsym"},
        {".note.gnu.build-id", ".dynsym"},
        {".note.gnu.property", ".dynsym"},
        {".note.ABI-tag", ".dynsym"},
        {".gnu.hash", ".dynsym"},
        {".hash", ".dynsym"},
        {".dynsym", ".dynsym"},
        {".dynstr", ".dynsym"},
        {".gnu.version", ".dynsym"},
        {".gnu.version_r", ".dynsym"},
        {".gnu.version_d", ".dynsym"},
        {".rela.dyn", ".dynsym"},
        {".rela.plt", ".dynsym"},
        {".rel.dyn", ".dynsym"},
        {".relr.dyn", ".dynsym"},
        {".got", ".got"},
        {".got.plt", ".got"},
        {".data.rel.ro", ".data.rel.ro"},
        {".data.rel.ro.local", ".data.rel.ro"},
        {".dynamic", ".data.rel.ro"},
        {".init_array", ".data.rel.ro"},
        {".fini_array", ".data.rel.ro"},
        {".preinit_array", ".data.rel.ro"},
        {".ctors", ".data.rel.ro"},
        {".dtors", ".data.rel.ro"},
        {".data", ".data"},
        {".data1", ".data"},
        {".tm_clone_table", ".data"},
        {".bss", ".bss"},
        {".bss.rel.ro", ".bss"},
        {".tdata", ".tdata"},
    };
    for (const auto& [name, group] : cases)
        EXPECT_EQ(section_group(named(name)), group) << name;
}

TEST(SectionGroup, KnownNamesIgnoreFlags)
{
    // The name decides for a known section, whatever its flags say.
    EXPECT_EQ(section_group(named(".data", true, false, true)), ".data");
    EXPECT_EQ(section_group(named(".bss", false, true, true)), ".bss");
    EXPECT_EQ(section_group(named(".got", false, false, true)), ".got");
    EXPECT_EQ(section_group(named(".rodata", true)), ".rodata");
    EXPECT_EQ(section_group(named(".text", false, true, true)), ".text");
}

TEST(SectionGroup, UnknownNamesByFlags)
{
    // Each combination of executable / nobits / writable: executable wins, then nobits, then writable.
    struct Case {
        bool executable, nobits, writable;
        const char* group;
    };
    const Case cases[] = {
        {false, false, false, ".rodata"}, {false, false, true, ".data"}, {false, true, false, ".bss"},
        {false, true, true, ".bss"},      {true, false, false, ".text"}, {true, false, true, ".text"},
        {true, true, false, ".text"},     {true, true, true, ".text"},
    };
    for (const char* name : {"__libc_IO_vtables", "__libc_freeres_ptrs", "my_custom_section", ".stapsdt.base"})
        for (const Case& c : cases)
            EXPECT_EQ(section_group(named(name, c.executable, c.nobits, c.writable)), c.group)
                << name << " x=" << c.executable << " nobits=" << c.nobits << " w=" << c.writable;
}

}  // namespace
