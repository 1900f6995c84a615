// Symbolizer: function+offset and file:line of the fixtures compiled from
// tests/fixtures/symbol_fixture.c (PIE, fixed-address, stripped, split debug info), of the
// system's libc and libstdc++, and module+offset for everything that is not a readable ELF file.
#include "symbols/symbolizer.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <link.h>
#include <map>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "model/segments.h"
#include "test_support.h"

using memtrace::CodeLocation;
using memtrace::Symbolizer;

namespace {

// The value of symbol `name` (a function unless `type` says otherwise) in the file's .symtab (or
// .dynsym), read with libelf; 0 if absent.
uint64_t symbol_value(const std::string& path, const std::string& name, bool dynamic = false, int type = STT_FUNC)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    elf_version(EV_CURRENT);
    Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
    uint64_t value = 0;
    for (Elf_Scn* scn = elf ? elf_nextscn(elf, nullptr) : nullptr; scn && !value; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != (dynamic ? SHT_DYNSYM : SHT_SYMTAB) || sh.sh_entsize == 0)
            continue;
        Elf_Data* data = elf_getdata(scn, nullptr);
        for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; ++i) {
            GElf_Sym sym;
            if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != type || sym.st_value == 0)
                continue;
            const char* n = elf_strptr(elf, sh.sh_link, sym.st_name);
            if (n && name == n) {
                value = sym.st_value;
                break;
            }
        }
    }
    if (elf)
        elf_end(elf);
    ::close(fd);
    return value;
}

// The lines of symbol_fixture.c that function `name` spans: its declaration to its closing brace.
std::pair<int, int> source_lines(const std::string& name)
{
    std::ifstream in(memtrace_test::fixture_path("symbol_fixture.c"));
    std::string text;
    int n = 0, first = 0;
    while (std::getline(in, text)) {
        ++n;
        if (!first && text.find(" " + name + "(int n)") != std::string::npos)
            first = n;
        else if (first && text == "}")
            return {first, n};
    }
    return {0, 0};
}

// The path this process loaded a library from ("libc.so.6" -> "/lib/x86_64-linux-gnu/libc.so.6").
std::string loaded_library(const std::string& base)
{
    struct Query {
        std::string base, path;
    } q{base, {}};
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
            auto* q = static_cast<Query*>(data);
            if (info->dlpi_name && memtrace::base_name(info->dlpi_name) == q->base)
                q->path = info->dlpi_name;
            return q->path.empty() ? 0 : 1;
        },
        &q);
    return q.path;
}

void expect_module_only(const CodeLocation& loc, const std::string& path, uint64_t vaddr)
{
    EXPECT_EQ(loc.module, path);
    EXPECT_EQ(loc.module_offset, vaddr);
    EXPECT_EQ(loc.function, "");
    EXPECT_EQ(loc.function_offset, 0u);
    EXPECT_EQ(loc.source_file, "");
    EXPECT_EQ(loc.line, 0);
    EXPECT_EQ(memtrace::format(loc), fmt::format("{}+{:#x}", memtrace::base_name(path), vaddr));
}

// A scratch directory removed at the end of the test.
class TempDir {
public:
    TempDir()
    {
        char tmpl[] = "/tmp/memtrace-sym-XXXXXX";
        if (!mkdtemp(tmpl))
            throw std::runtime_error("mkdtemp");
        path_ = tmpl;
    }
    ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
    const std::string& path() const { return path_; }
    std::string file(const std::string& name, const std::string& contents) const
    {
        std::string p = path_ + "/" + name;
        std::ofstream(p, std::ios::binary) << contents;
        return p;
    }

private:
    std::string path_;
};

// Sets an environment variable for the scope, then puts the old value back.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : name_(name)
    {
        if (const char* old = std::getenv(name))
            old_ = old, had_ = true;
        setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv()
    {
        if (had_)
            setenv(name_, old_.c_str(), 1);
        else
            unsetenv(name_);
    }

private:
    const char* name_;
    std::string old_;
    bool had_ = false;
};

const char* const kFunctions[] = {"fault_in_bss", "fault_in_heap", "fault_in_static"};

class SymbolizerFixture : public ::testing::TestWithParam<bool> {
protected:
    std::string path() const { return GetParam() ? MEMTRACE_SYMBOL_PIE : MEMTRACE_SYMBOL_NOPIE; }
};

TEST_P(SymbolizerFixture, NamesFunctionsWithOffsetAndSourceLine)
{
    Symbolizer symbolizer;
    for (const char* name : kFunctions) {
        SCOPED_TRACE(name);
        uint64_t value = symbol_value(path(), name);
        ASSERT_NE(value, 0u);
        auto [first, last] = source_lines(name);
        ASSERT_GT(first, 0);

        CodeLocation loc = symbolizer.locate(path(), value + 5);
        EXPECT_EQ(loc.module, path());
        EXPECT_EQ(loc.module_offset, value + 5);
        EXPECT_EQ(loc.function, name);
        EXPECT_EQ(loc.function_offset, 5u);
        EXPECT_EQ(memtrace::base_name(loc.source_file), "symbol_fixture.c");
        EXPECT_GE(loc.line, first);
        EXPECT_LE(loc.line, last);
        EXPECT_EQ(memtrace::format(loc), fmt::format("{}+0x5 (symbol_fixture.c:{})", name, loc.line));

        CodeLocation entry = symbolizer.locate(path(), value);
        EXPECT_EQ(entry.function, name);
        EXPECT_EQ(entry.function_offset, 0u);
        EXPECT_EQ(memtrace::format(entry), fmt::format("{} (symbol_fixture.c:{})", name, entry.line));
    }
}

TEST(Symbolizer, FindsLinesWithoutDebugAranges)
{
    // clang emits no .debug_aranges; libdw 0.188 then maps no address to its unit by itself.
    Symbolizer symbolizer;
    for (const char* name : kFunctions) {
        SCOPED_TRACE(name);
        uint64_t value = symbol_value(MEMTRACE_SYMBOL_NOARANGES, name);
        ASSERT_NE(value, 0u);
        auto [first, last] = source_lines(name);
        CodeLocation loc = symbolizer.locate(MEMTRACE_SYMBOL_NOARANGES, value + 5);
        EXPECT_EQ(loc.function, name);
        EXPECT_EQ(memtrace::base_name(loc.source_file), "symbol_fixture.c");
        EXPECT_GE(loc.line, first);
        EXPECT_LE(loc.line, last);
        EXPECT_EQ(loc.line, symbolizer.locate(MEMTRACE_SYMBOL_PIE, value + 5).line);
    }
    // Between functions' units there is nothing to find, and nothing made up.
    EXPECT_EQ(symbolizer.locate(MEMTRACE_SYMBOL_NOARANGES, 0x10).line, 0);
}

INSTANTIATE_TEST_SUITE_P(PieAndFixed, SymbolizerFixture, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "pie" : "nopie"; });

TEST(Symbolizer, StrippedBinaryGivesModuleAndOffset)
{
    // strip -o keeps every address of the PIE: its symbol table still says where the code is.
    uint64_t value = symbol_value(MEMTRACE_SYMBOL_PIE, "fault_in_bss");
    ASSERT_NE(value, 0u);
    Symbolizer symbolizer;
    CodeLocation loc = symbolizer.locate(MEMTRACE_SYMBOL_STRIPPED, value + 5);
    // A PIE's .dynsym defines none of its own functions: the module and the offset are all there is.
    EXPECT_EQ(loc.function, "");
    EXPECT_EQ(loc.line, 0);
    expect_module_only(loc, MEMTRACE_SYMBOL_STRIPPED, value + 5);
}

TEST(Symbolizer, FindsSeparateDebugInfoThroughDebuglink)
{
    uint64_t value = symbol_value(MEMTRACE_SYMBOL_PIE, "fault_in_heap");
    ASSERT_NE(value, 0u);
    ASSERT_EQ(symbol_value(MEMTRACE_SYMBOL_SPLIT, "fault_in_heap"), 0u);  // really stripped
    Symbolizer symbolizer;
    CodeLocation loc = symbolizer.locate(MEMTRACE_SYMBOL_SPLIT, value + 5);
    EXPECT_EQ(loc.function, "fault_in_heap");
    EXPECT_EQ(loc.function_offset, 5u);
    EXPECT_EQ(memtrace::base_name(loc.source_file), "symbol_fixture.c");
    EXPECT_GT(loc.line, 0);
}

TEST(Symbolizer, NeverAsksDebuginfod)
{
    // With a server configured the debug file is still found locally, and for a file without
    // debug info the debuginfod client never runs: it would create its cache directory before
    // asking the (unreachable) server, as dwfl_standard_find_debuginfo makes it do.
    TempDir dir;
    std::string cache = dir.path() + "/debuginfod-cache";
    ScopedEnv urls("DEBUGINFOD_URLS", "http://127.0.0.1:9/");
    ScopedEnv cache_path("DEBUGINFOD_CACHE_PATH", cache);
    uint64_t value = symbol_value(MEMTRACE_SYMBOL_PIE, "fault_in_static");
    ASSERT_NE(value, 0u);
    Symbolizer symbolizer;
    CodeLocation split = symbolizer.locate(MEMTRACE_SYMBOL_SPLIT, value + 3);
    EXPECT_EQ(split.function, "fault_in_static");
    EXPECT_EQ(split.function_offset, 3u);
    EXPECT_EQ(memtrace::base_name(split.source_file), "symbol_fixture.c");
    CodeLocation stripped = symbolizer.locate(MEMTRACE_SYMBOL_STRIPPED, value + 3);
    EXPECT_EQ(stripped.line, 0);
    struct stat st {};
    EXPECT_NE(stat(cache.c_str(), &st), 0) << "debuginfod client ran";
}

TEST(Symbolizer, SharedLibrariesByDynamicSymbols)
{
    std::string libc = loaded_library("libc.so.6");
    ASSERT_FALSE(libc.empty());
    uint64_t malloc_at = symbol_value(libc, "malloc", true);
    ASSERT_NE(malloc_at, 0u);
    Symbolizer symbolizer;
    CodeLocation loc = symbolizer.locate(libc, malloc_at + 4);
    EXPECT_TRUE(loc.function == "malloc" || loc.function == "__libc_malloc" || loc.function == "__malloc")
        << loc.function;
    EXPECT_EQ(loc.function_offset, 4u);
    if (loc.line == 0) {
        EXPECT_EQ(memtrace::format(loc), loc.function + "+0x4 [libc.so.6]");
    }

    // C++ names come out demangled.
    std::string libstdcxx = loaded_library("libstdc++.so.6");
    ASSERT_FALSE(libstdcxx.empty());
    uint64_t what_at = symbol_value(libstdcxx, "_ZNKSt9exception4whatEv", true);
    ASSERT_NE(what_at, 0u);
    CodeLocation what = symbolizer.locate(libstdcxx, what_at);
    EXPECT_EQ(what.function, "std::exception::what() const");
}

TEST(Symbolizer, FilesThatAreNotElfGiveModuleAndOffset)
{
    TempDir dir;
    std::string elf_bytes = memtrace_test::read_file(MEMTRACE_SYMBOL_PIE);
    std::string fifo = dir.path() + "/fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);  // opening it for reading must not wait for a writer
    const std::vector<std::string> paths = {
        dir.path() + "/missing",
        dir.file("garbage.so", std::string(4096, '\x5a')),
        dir.file("empty.so", ""),
        dir.file("truncated.so", elf_bytes.substr(0, 200)),
        dir.file("headless.so", elf_bytes.substr(64)),
        fifo,
        dir.path(),
        "/dev/null",
        "relative/path.so",
    };
    Symbolizer symbolizer;
    for (const std::string& p : paths) {
        SCOPED_TRACE(p);
        expect_module_only(symbolizer.locate(p, 0x1234), p, 0x1234);
        expect_module_only(symbolizer.locate(p, 0x1234), p, 0x1234);  // cached
    }
}

TEST(Symbolizer, KernelNamesGiveModuleAndOffset)
{
    Symbolizer symbolizer;
    CodeLocation vdso = symbolizer.locate("[vdso]", 0x9a0);
    expect_module_only(vdso, "[vdso]", 0x9a0);
    EXPECT_EQ(memtrace::format(vdso), "[vdso]+0x9a0");
    expect_module_only(symbolizer.locate("", 0x10), "", 0x10);
    EXPECT_EQ(symbolizer.open_modules(), 0u);
}

TEST(Symbolizer, AddressOutsideAnyFunction)
{
    Symbolizer symbolizer;
    // Instruction pointers are in code: a data symbol is no answer.
    uint64_t bss = symbol_value(MEMTRACE_SYMBOL_PIE, "symbol_bss", false, STT_OBJECT);
    ASSERT_NE(bss, 0u);
    CodeLocation data = symbolizer.locate(MEMTRACE_SYMBOL_PIE, bss + 8);
    EXPECT_EQ(data.function, "");
    EXPECT_EQ(data.line, 0);
    CodeLocation loc = symbolizer.locate(MEMTRACE_SYMBOL_PIE, 0x7fffffff0000ULL);
    EXPECT_EQ(loc.line, 0);
    EXPECT_EQ(loc.module_offset, 0x7fffffff0000ULL);
}

TEST(Symbolizer, CachesAreBounded)
{
    Symbolizer symbolizer(2, 4);
    const std::string files[] = {MEMTRACE_SYMBOL_PIE, MEMTRACE_SYMBOL_NOPIE, MEMTRACE_SYMBOL_SPLIT};
    for (int round = 0; round < 3; ++round)
        for (const std::string& file : files) {
            uint64_t value = symbol_value(file == MEMTRACE_SYMBOL_NOPIE ? file : MEMTRACE_SYMBOL_PIE, "fault_in_bss");
            for (uint64_t off = 0; off < 3; ++off) {
                CodeLocation loc = symbolizer.locate(file, value + off);
                EXPECT_EQ(loc.function, "fault_in_bss");
                EXPECT_EQ(loc.function_offset, off);
                EXPECT_LE(symbolizer.open_modules(), 2u);
                EXPECT_LE(symbolizer.cached_results(), 4u);
            }
        }
}

size_t open_fds()
{
    size_t n = 0;
    for (int fd = 0; fd < 4096; ++fd)
        n += fcntl(fd, F_GETFD) != -1;
    return n;
}

TEST(Symbolizer, ClosesWhatItOpens)
{
    TempDir dir;
    std::string fifo = dir.path() + "/fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    const std::string files[] = {MEMTRACE_SYMBOL_PIE, MEMTRACE_SYMBOL_NOPIE, MEMTRACE_SYMBOL_SPLIT,
                                 MEMTRACE_SYMBOL_STRIPPED, fifo, dir.file("garbage", "\x7f" "ELF garbage")};
    size_t before = open_fds();
    {
        Symbolizer symbolizer(2);
        for (int round = 0; round < 3; ++round)
            for (const std::string& file : files) {
                symbolizer.locate(file, 0x1000 + round);
                // A module holds its file and at most its separate debug file.
                EXPECT_LE(open_fds(), before + 2 * 2);
            }
    }
    EXPECT_EQ(open_fds(), before);
}

TEST(Symbolizer, FormatsEachKindOfLocation)
{
    CodeLocation full{"/opt/w/workload", 0x1234, "main", 0x1a, "/src/w/workload.c", 42, {}};
    EXPECT_EQ(memtrace::format(full), "main+0x1a (workload.c:42)");
    CodeLocation no_lines{"/usr/lib/x86_64-linux-gnu/libc.so.6", 0x9abc, "memset", 0x40, "", 0, {}};
    EXPECT_EQ(memtrace::format(no_lines), "memset+0x40 [libc.so.6]");
    CodeLocation unknown{"/usr/lib/libfoo.so", 0x1234, "", 0, "", 0, {}};
    EXPECT_EQ(memtrace::format(unknown), "libfoo.so+0x1234");
}

// The line of inline_fixture.c that holds `marker`.
int inline_fixture_line(const std::string& marker)
{
    std::ifstream in(memtrace_test::fixture_path("inline_fixture.c"));
    std::string text;
    for (int n = 1; std::getline(in, text); ++n)
        if (text.find(marker) != std::string::npos)
            return n;
    return 0;
}

// What binutils' addr2line -i says of each address: the functions, innermost first.
std::map<uint64_t, std::vector<std::string>> addr2line_inlines(const std::string& path, const std::vector<uint64_t>& addrs)
{
    // The fixture's own toolchain's addr2line: binutils' reads gcc's DWARF, but misses inlined
    // subroutines in clang's (the ASan build), where llvm-addr2line agrees with memtrace.
    std::string command = std::string(MEMTRACE_FIXTURE_ADDR2LINE) + " -a -i -f -e '" + path + "'";
    for (uint64_t a : addrs)
        command += fmt::format(" 0x{:x}", a);
    std::map<uint64_t, std::vector<std::string>> out;
    FILE* p = popen(command.c_str(), "r");
    if (!p)
        return out;
    char line[4096];
    uint64_t current = 0;
    for (bool function_line = false; fgets(line, sizeof line, p);) {
        std::string text(line);
        text.erase(text.find_last_not_of('\n') + 1);
        if (text.rfind("0x", 0) == 0) {
            current = std::stoull(text, nullptr, 16);
            function_line = true;
        } else if (function_line) {
            out[current].push_back(text);
            function_line = false;
        } else {
            function_line = true;  // a file:line; the next line names a function again
        }
    }
    pclose(p);
    return out;
}

TEST(Symbolizer, NamesInlinedFunctionsWithTheLinesOfTheirCalls)
{
    const std::string path = MEMTRACE_INLINE_FIXTURE;
    const uint64_t start = symbol_value(path, "inline_fixture_outer");
    ASSERT_NE(start, 0u);
    Symbolizer symbolizer;
    std::vector<uint64_t> addrs;
    bool twice_inlined = false;
    for (uint64_t a = start; a < start + 256; ++a) {
        CodeLocation loc = symbolizer.locate(path, a);
        if (loc.function != "inline_fixture_outer")
            break;  // past its end
        addrs.push_back(a);
        // An address of touch_page's own line, inlined twice (the compiler may interleave the
        // loop's lines with it: those addresses are checked against addr2line below).
        const int touch_line = inline_fixture_line("INLINE_FIXTURE_TOUCH");
        if (loc.inlined.size() != 2 || twice_inlined || loc.line < touch_line || loc.line > touch_line + 1)
            continue;
        twice_inlined = true;
        EXPECT_EQ(loc.inlined[0].function, "touch_page");
        EXPECT_EQ(loc.inlined[0].call_line, inline_fixture_line("INLINE_FIXTURE_CALL_TOUCH"));
        EXPECT_EQ(loc.inlined[1].function, "fill_pages");
        EXPECT_EQ(loc.inlined[1].call_line, inline_fixture_line("INLINE_FIXTURE_CALL_FILL"));
        EXPECT_EQ(memtrace::frame_names(loc), (std::vector<std::string>{"touch_page (inlined)", "fill_pages (inlined)",
                                                                        "inline_fixture_outer"}));
        EXPECT_EQ(memtrace::format(loc).rfind("touch_page (inlined) ← fill_pages (inlined) ← inline_fixture_outer", 0), 0u)
            << memtrace::format(loc);
    }
    EXPECT_TRUE(twice_inlined) << "no address of inline_fixture_outer is on touch_page's line, in touch_page inlined "
                                  "in fill_pages: was it inlined?";
    // Every address of the function, inlined or not, as addr2line -i names it.
    std::map<uint64_t, std::vector<std::string>> reference = addr2line_inlines(path, addrs);
    ASSERT_EQ(reference.size(), addrs.size());
    for (uint64_t a : addrs) {
        CodeLocation loc = symbolizer.locate(path, a);
        std::vector<std::string> ours;
        for (const CodeLocation::Inlined& in : loc.inlined)
            ours.push_back(in.function);
        ours.push_back(loc.function);
        EXPECT_EQ(ours, reference[a]) << fmt::format("at 0x{:x}", a);
    }
}

}  // namespace
