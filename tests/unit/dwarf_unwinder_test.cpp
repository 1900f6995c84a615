// The unwinder on this process's own stacks: the fixtures (tests/fixtures/unwind_fixture.h) capture
// their registers and stack inside known call chains, the test unwinds the copy and names the
// frames through libdwfl's own view of the process (dwfl_linux_proc_report), independent of how
// the unwinder places its modules.
#include "unwind/dwarf_unwinder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <gtest/gtest.h>

#include "model/elf_image.h"
#include "model/maps_parser.h"
#include "own_stack.h"
#include "unwind_fixture.h"

namespace {

using memtrace::CodeMapping;
using memtrace::DwarfUnwinder;
using memtrace::MapsEntry;
using memtrace::StackSample;
using memtrace::UnwindEnd;
using memtrace::UnwoundStack;

using memtrace_test::kBpfStackCopy;

// This process's mappings, read once (the tests map nothing new while they run).
const std::vector<MapsEntry>& own_maps()
{
    static const std::vector<MapsEntry> maps = memtrace::read_proc_maps(getpid());
    return maps;
}

// What memtrace's mapping model answers: the executable mapping holding an address.
std::optional<CodeMapping> own_code_at(uint64_t address)
{
    static const std::vector<CodeMapping> code = [] {
        std::vector<CodeMapping> mappings;  // sorted, as the kernel lists them
        for (const MapsEntry& entry : own_maps())
            if (entry.exec)
                mappings.push_back({entry.path, entry.start, entry.end, entry.offset});
        return mappings;
    }();
    auto after = std::upper_bound(code.begin(), code.end(), address,
                                  [](uint64_t a, const CodeMapping& m) { return a < m.start; });
    if (after == code.begin() || address >= std::prev(after)->end)
        return std::nullopt;
    return *std::prev(after);
}

// Runs `chain` (a fixture) and returns what it captured as a sample, at most `copy` stack bytes.
template <typename Chain>
StackSample capture(Chain chain, size_t copy = kBpfStackCopy)
{
    memtrace_test::OwnStack own = memtrace_test::capture_own_stack(chain, copy);
    StackSample sample;
    sample.regs = {};
    sample.regs.ip = own.regs.ip;
    sample.regs.sp = own.regs.sp;
    sample.regs.bp = own.regs.bp;
    sample.regs.bx = own.regs.bx;
    sample.regs.r12 = own.regs.r12;
    sample.regs.r13 = own.regs.r13;
    sample.regs.r14 = own.regs.r14;
    sample.regs.r15 = own.regs.r15;
    sample.stack_start = own.regs.sp;
    sample.bytes = std::move(own.bytes);
    return sample;
}

// Names code addresses of this process with libdwfl's reading of /proc/self/maps. Made before
// any unwinder: libelf maps the files it opens, and those mappings of a library at offset 0
// would pass for the library's first segment.
class OwnSymbols {
public:
    OwnSymbols()
    {
        dwfl_ = dwfl_begin(&callbacks_);
        dwfl_report_begin(dwfl_);
        dwfl_linux_proc_report(dwfl_, getpid());
        dwfl_report_end(dwfl_, nullptr, nullptr);
    }
    ~OwnSymbols() { dwfl_end(dwfl_); }

    std::string function(uint64_t address)
    {
        Dwfl_Module* module = dwfl_addrmodule(dwfl_, address);
        const char* name = module ? dwfl_module_addrname(module, address) : nullptr;
        return name ? name : "?";
    }
    std::string module(uint64_t address)
    {
        Dwfl_Module* module = dwfl_addrmodule(dwfl_, address);
        const char* name = module ? dwfl_module_info(module, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr)
                                  : nullptr;
        std::string path = name ? name : "?";
        return path.substr(path.rfind('/') + 1);
    }
    // Each frame's function; return addresses are looked up at the call, address - 1.
    std::vector<std::string> functions(const UnwoundStack& stack)
    {
        std::vector<std::string> names;
        for (size_t i = 0; i < stack.frames.size(); ++i)
            names.push_back(function(stack.frames[i] - (i > 0)));
        return names;
    }

private:
    static int no_debuginfo(Dwfl_Module*, void**, const char*, Dwarf_Addr, const char*, const char*, GElf_Word, char**)
    {
        return -1;
    }
    char* debuginfo_path_ = nullptr;
    Dwfl_Callbacks callbacks_ = {dwfl_linux_proc_find_elf, no_debuginfo, nullptr, &debuginfo_path_};
    Dwfl* dwfl_;
};

std::string joined(const std::vector<std::string>& names)
{
    std::string out;
    for (const std::string& name : names)
        out += name + " ";
    return out;
}

// `names` starts with `expected`, then the calling test's TestBody.
void expect_chain(const std::vector<std::string>& names, const std::vector<std::string>& expected)
{
    ASSERT_GT(names.size(), expected.size()) << joined(names);
    for (size_t i = 0; i < expected.size(); ++i)
        EXPECT_EQ(names[i], expected[i]) << "frame " << i << " of " << joined(names);
    EXPECT_NE(names[expected.size()].find("TestBody"), std::string::npos) << joined(names);
}

TEST(DwarfUnwinder, WalksAChainWithoutFramePointers)
{
    OwnSymbols symbols;  // first: see OwnSymbols
    StackSample sample = capture([](unwind_capture* c) { unwind_fixture_chain(c, 1); });
    DwarfUnwinder unwinder(own_code_at);
    UnwoundStack stack = unwinder.unwind(sample);
    expect_chain(symbols.functions(stack), {"unwind_fixture_leaf", "unwind_fixture_middle", "unwind_fixture_chain"});
    EXPECT_EQ(stack.frames[0], sample.regs.ip);

    // A copy that starts below sp (rounded down as the BPF side may copy) unwinds the same.
    StackSample rounded = sample;
    rounded.stack_start = sample.regs.sp - 24;
    rounded.bytes.insert(rounded.bytes.begin(), 24, 0xee);
    EXPECT_EQ(unwinder.unwind(rounded).frames, stack.frames);

    // The fixture's frames owe nothing to rbp: a garbage one changes none of them.
    sample.regs.bp = 0x5a5a5a5a;
    UnwoundStack without_bp = unwinder.unwind(sample);
    ASSERT_GE(without_bp.frames.size(), 4u);
    EXPECT_EQ(std::vector<uint64_t>(without_bp.frames.begin(), without_bp.frames.begin() + 4),
              std::vector<uint64_t>(stack.frames.begin(), stack.frames.begin() + 4));
}

TEST(DwarfUnwinder, ReachesTheOutermostFrameWithTheWholeStack)
{
    OwnSymbols symbols;  // first: see OwnSymbols
    StackSample sample = capture([](unwind_capture* c) { unwind_fixture_chain(c, 2); }, 1 << 20);
    DwarfUnwinder unwinder(own_code_at);
    UnwoundStack stack = unwinder.unwind(sample);
    std::vector<std::string> names = symbols.functions(stack);
    EXPECT_EQ(stack.end, UnwindEnd::outermost) << joined(names);
    EXPECT_FALSE(stack.truncated);
    ASSERT_FALSE(names.empty());
    EXPECT_EQ(names.back(), "_start") << joined(names);
    EXPECT_NE(joined(names).find(" main "), std::string::npos) << joined(names);
}

TEST(DwarfUnwinder, CrossesIntoASharedLibraryThroughThePlt)
{
    OwnSymbols symbols;  // first: see OwnSymbols
    StackSample sample = capture([](unwind_capture* c) { unwind_fixture_call_library(c, 3); });
    DwarfUnwinder unwinder(own_code_at);
    UnwoundStack stack = unwinder.unwind(sample);
    expect_chain(symbols.functions(stack),
                 {"unwind_fixture_lib_leaf", "unwind_fixture_lib_entry", "unwind_fixture_call_library"});
    EXPECT_EQ(symbols.module(stack.frames[0]), "libunwind_fixture_lib.so");
    EXPECT_EQ(symbols.module(stack.frames[2] - 1), symbols.module(reinterpret_cast<uintptr_t>(&unwind_fixture_chain)));
    EXPECT_GE(unwinder.module_count(), 2u);
}

TEST(DwarfUnwinder, WalksThroughTheCSystemLibrary)
{
    OwnSymbols symbols;  // first: see OwnSymbols
    StackSample sample = capture([](unwind_capture* c) { unwind_fixture_sort(c); });
    DwarfUnwinder unwinder(own_code_at);
    UnwoundStack stack = unwinder.unwind(sample);
    std::vector<std::string> names = symbols.functions(stack);
    ASSERT_GE(names.size(), 4u) << joined(names);
    EXPECT_EQ(names[0], "unwind_fixture_compare") << joined(names);
    // qsort's own frames (glibc's, or a sanitizer's interceptor), then its caller.
    auto caller = std::find(names.begin(), names.end(), "unwind_fixture_sort");
    ASSERT_NE(caller, names.end()) << joined(names);
    EXPECT_GE(caller - names.begin(), 2) << joined(names);
    ASSERT_NE(caller + 1, names.end()) << joined(names);
    EXPECT_NE(caller[1].find("TestBody"), std::string::npos) << joined(names);
}

TEST(DwarfUnwinder, PassesThroughASignalFrame)
{
    OwnSymbols symbols;  // first: see OwnSymbols
    StackSample sample = capture([](unwind_capture* c) { unwind_fixture_signal(c); });
    DwarfUnwinder unwinder(own_code_at);
    UnwoundStack stack = unwinder.unwind(sample);
    std::vector<std::string> names = symbols.functions(stack);
    ASSERT_GE(names.size(), 6u) << joined(names);
    EXPECT_EQ(names[0], "unwind_fixture_in_handler") << joined(names);
    EXPECT_EQ(names[1], "unwind_fixture_signal_handler") << joined(names);
    // The kernel's signal frame, returning into glibc's __restore_rt (its name may be stripped).
    EXPECT_EQ(symbols.module(stack.frames[2]), "libc.so.6") << joined(names);
    // The interrupted instruction itself: the ud2, inside the function.
    EXPECT_EQ(symbols.function(stack.frames[3]), "unwind_fixture_interrupted") << joined(names);
    EXPECT_EQ(names[4], "unwind_fixture_signal") << joined(names);
    EXPECT_NE(names[5].find("TestBody"), std::string::npos) << joined(names);
}

TEST(DwarfUnwinder, FallsBackToFramePointersWhereThereIsNoCfi)
{
    OwnSymbols symbols;  // first: see OwnSymbols
    StackSample sample = capture([](unwind_capture* c) { unwind_fixture_through_fp_frame(c, 4); });
    DwarfUnwinder unwinder(own_code_at);
    UnwoundStack stack = unwinder.unwind(sample);
    expect_chain(symbols.functions(stack),
                 {"unwind_fixture_leaf", "unwind_fixture_without_cfi", "unwind_fixture_through_fp_frame"});
}

// Cut anywhere, the copy gives a prefix of the whole stack, reported as truncated, never junk.
TEST(DwarfUnwinder, ReportsACopyTooShortAsTruncated)
{
    StackSample whole = capture([](unwind_capture* c) { unwind_fixture_chain(c, 5); }, 1 << 20);
    DwarfUnwinder unwinder(own_code_at);
    UnwoundStack full = unwinder.unwind(whole);
    ASSERT_EQ(full.end, UnwindEnd::outermost);

    StackSample cut = whole;
    cut.bytes.clear();
    UnwoundStack none = unwinder.unwind(cut);
    EXPECT_EQ(none.frames, std::vector<uint64_t>{whole.regs.ip});
    EXPECT_TRUE(none.truncated);
    EXPECT_EQ(none.end, UnwindEnd::stack_copy);

    size_t longest = 0;
    for (size_t size = 0; size < whole.bytes.size(); size += 8) {
        cut.bytes.assign(whole.bytes.begin(), whole.bytes.begin() + size);
        UnwoundStack stack = unwinder.unwind(cut);
        ASSERT_LE(stack.frames.size(), full.frames.size()) << size << " bytes";
        EXPECT_EQ(stack.frames, std::vector<uint64_t>(full.frames.begin(), full.frames.begin() + stack.frames.size()))
            << size << " bytes";
        EXPECT_GE(stack.frames.size(), longest) << size << " bytes";
        longest = stack.frames.size();
        // The outermost frame's own stack pointer is where the whole stack has been used: past it
        // lie argv and the environment.
        bool whole = stack.frames.size() == full.frames.size();
        EXPECT_EQ(stack.truncated, !whole) << size << " bytes";
        EXPECT_EQ(stack.end, whole ? UnwindEnd::outermost : UnwindEnd::stack_copy) << size << " bytes";
    }
    EXPECT_EQ(longest, full.frames.size());
}

TEST(DwarfUnwinder, StopsAtMaxFrames)
{
    StackSample sample = capture([](unwind_capture* c) { unwind_fixture_chain(c, 6); }, 1 << 20);
    DwarfUnwinder unwinder(own_code_at);
    UnwoundStack full = unwinder.unwind(sample);
    ASSERT_EQ(full.end, UnwindEnd::outermost);

    UnwoundStack two = unwinder.unwind(sample, 2);
    EXPECT_EQ(two.frames, std::vector<uint64_t>(full.frames.begin(), full.frames.begin() + 2));
    EXPECT_TRUE(two.truncated);
    EXPECT_EQ(two.end, UnwindEnd::max_frames);

    // Exactly as many as there are: nothing was left out.
    UnwoundStack exact = unwinder.unwind(sample, full.frames.size());
    EXPECT_EQ(exact.frames, full.frames);
    EXPECT_FALSE(exact.truncated);
}

TEST(DwarfUnwinder, EndsAtAReturnAddressOutsideCode)
{
    // At a function's first instruction the return address is at sp: here, not code.
    StackSample sample;
    sample.regs = {};
    sample.regs.ip = reinterpret_cast<uintptr_t>(&unwind_fixture_leaf);
    sample.regs.sp = sample.stack_start = 0x7ffd00001000;
    sample.bytes.assign(64, 0);
    sample.bytes[0] = 0x42;
    DwarfUnwinder unwinder(own_code_at);
    UnwoundStack stack = unwinder.unwind(sample);
    EXPECT_EQ(stack.frames, std::vector<uint64_t>{sample.regs.ip});
    EXPECT_FALSE(stack.truncated);
    EXPECT_EQ(stack.end, UnwindEnd::lost);
}

TEST(DwarfUnwinder, OpensNeitherFifosNorDevices)
{
    std::string fifo = ::testing::TempDir() + "unwind_fifo_" + std::to_string(getpid());
    ::unlink(fifo.c_str());
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    StackSample sample = capture([](unwind_capture* c) { unwind_fixture_chain(c, 7); });
    for (const char* path : {fifo.c_str(), "/dev/zero", "/proc/self/mem", "[vdso]", ""}) {
        DwarfUnwinder unwinder([&](uint64_t address) -> std::optional<CodeMapping> {
            return CodeMapping{path, address & ~0xfffULL, (address & ~0xfffULL) + 0x1000, 0};
        });
        UnwoundStack stack = unwinder.unwind(sample);  // does not block
        ASSERT_FALSE(stack.frames.empty()) << path;
        EXPECT_EQ(stack.frames[0], sample.regs.ip) << path;
        EXPECT_EQ(unwinder.module_count(), 0u) << path;
    }
    ::unlink(fifo.c_str());
}

TEST(DwarfUnwinder, ForgetsModulesAndReportsThemAgain)
{
    StackSample sample = capture([](unwind_capture* c) { unwind_fixture_call_library(c, 8); });
    DwarfUnwinder unwinder(own_code_at);
    UnwoundStack before = unwinder.unwind(sample);
    EXPECT_GE(unwinder.module_count(), 2u);
    unwinder.forget_modules();
    EXPECT_EQ(unwinder.module_count(), 0u);
    EXPECT_EQ(unwinder.unwind(sample).frames, before.frames);
}

// A module is placed from the mapping alone: the fixture files are not loaded here, only
// described as mapped (a PIE anywhere, the fixed-address executable at its link address), and
// their CFI must take the walk from a function's entry to the return address at sp.
uint64_t link_address(const std::string& path, const std::string& function)
{
    uint64_t found = 0;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    elf_version(EV_CURRENT);
    Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
    Elf_Scn* section = nullptr;
    while ((section = elf_nextscn(elf, section))) {
        GElf_Shdr header;
        if (!gelf_getshdr(section, &header) || header.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data* data = elf_getdata(section, nullptr);
        for (size_t i = 0; data && i < header.sh_size / header.sh_entsize; ++i) {
            GElf_Sym symbol;
            const char* name = gelf_getsym(data, (int)i, &symbol) ? elf_strptr(elf, header.sh_link, symbol.st_name) : nullptr;
            if (name && name == function)
                found = symbol.st_value;
        }
    }
    elf_end(elf);
    ::close(fd);
    return found;
}

// Every PT_LOAD of `path` as the loader maps it at `bias`.
std::vector<CodeMapping> mapped_at(const std::string& path, uint64_t bias)
{
    std::vector<CodeMapping> mappings;
    auto image = memtrace::ElfImage::load(path);
    for (const memtrace::ElfLoad& load : image ? image->loads() : std::vector<memtrace::ElfLoad>{})
        mappings.push_back({path, bias + (load.vaddr & ~0xfffULL), bias + load.vaddr + load.memsz, load.offset & ~0xfffULL});
    return mappings;
}

class MappingTable {
public:
    std::vector<CodeMapping> mappings;
    memtrace::MappingLookup lookup()
    {
        return [this](uint64_t address) -> std::optional<CodeMapping> {
            for (const CodeMapping& mapping : mappings)
                if (address >= mapping.start && address < mapping.end)
                    return mapping;
            return std::nullopt;
        };
    }
};

// Stopped at the first instruction of `function`, called from just inside `caller`.
void expect_entry_unwound(DwarfUnwinder& unwinder, const std::string& path, uint64_t bias, const char* function,
                          const char* caller = "main")
{
    uint64_t entry = link_address(path, function), call_site = link_address(path, caller);
    ASSERT_TRUE(entry && call_site) << path;
    StackSample sample;
    sample.regs = {};
    sample.regs.ip = bias + entry;
    sample.regs.sp = sample.stack_start = 0x7ffd00002000;
    uint64_t return_address = bias + call_site + 4;
    sample.bytes.resize(8);
    std::memcpy(sample.bytes.data(), &return_address, 8);
    UnwoundStack stack = unwinder.unwind(sample);
    EXPECT_EQ(stack.frames, (std::vector<uint64_t>{sample.regs.ip, return_address})) << path;
    EXPECT_EQ(stack.end, UnwindEnd::stack_copy) << path;  // the caller's caller is past the 8 bytes
}

TEST(DwarfUnwinder, PlacesAPieAtItsMappingAddress)
{
    MappingTable table;
    table.mappings = mapped_at(MEMTRACE_ELF_PIE, 0x555555554000);
    DwarfUnwinder unwinder(table.lookup());
    expect_entry_unwound(unwinder, MEMTRACE_ELF_PIE, 0x555555554000, "fixture_text");
}

TEST(DwarfUnwinder, PlacesAFixedAddressExecutableAtItsLinkAddress)
{
    MappingTable table;
    table.mappings = mapped_at(MEMTRACE_ELF_NOPIE, 0);
    DwarfUnwinder unwinder(table.lookup());
    expect_entry_unwound(unwinder, MEMTRACE_ELF_NOPIE, 0, "fixture_text");
    // Described anywhere else, it is not the file that was mapped: no CFI from it.
    table.mappings = mapped_at(MEMTRACE_ELF_NOPIE, 0x10000000);
    DwarfUnwinder elsewhere(table.lookup());
    StackSample sample;
    sample.regs = {};
    sample.regs.ip = 0x10000000 + link_address(MEMTRACE_ELF_NOPIE, "fixture_text");
    sample.regs.sp = sample.stack_start = 0x7ffd00002000;
    sample.bytes.resize(8);
    EXPECT_EQ(elsewhere.unwind(sample).end, UnwindEnd::lost);
    EXPECT_EQ(elsewhere.module_count(), 0u);
}

TEST(DwarfUnwinder, ReplacesAModuleWhenAnotherFileIsMappedAtItsAddresses)
{
    const uint64_t base = 0x7f0000000000;
    MappingTable table;
    table.mappings = mapped_at(MEMTRACE_ELF_PIE, base);
    DwarfUnwinder unwinder(table.lookup());
    expect_entry_unwound(unwinder, MEMTRACE_ELF_PIE, base, "fixture_text");
    EXPECT_EQ(unwinder.module_count(), 1u);
    // Unmapped, and another object loaded where it was.
    table.mappings = mapped_at(MEMTRACE_SYMBOL_PIE, base);
    expect_entry_unwound(unwinder, MEMTRACE_SYMBOL_PIE, base, "fault_in_static");
    EXPECT_EQ(unwinder.module_count(), 1u);
}

// Not a timed assertion: prints the CPU time per unwound stack.

}  // namespace
