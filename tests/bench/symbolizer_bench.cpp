// What symbolizing costs: a module opened cold (the fixture with DWARF, and libc with its debug
// file when installed), a warm module, a cached answer. Prints its figures; asserts nothing.
//   symbolizer_bench FIXTURE
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "symbols/symbolizer.h"

namespace {

using memtrace::Symbolizer;

// The path of a library this process has loaded, from /proc/self/maps.
std::string loaded_library(const std::string& base)
{
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);) {
        size_t slash = line.find('/');
        if (slash != std::string::npos && line.size() >= base.size() &&
            line.compare(line.size() - base.size(), base.size(), base) == 0)
            return line.substr(slash);
    }
    return {};
}

// The address of a symbol in a file's symbol tables, 0 if none (as binutils' nm reads them).
uint64_t symbol_value(const std::string& path, const std::string& name)
{
    FILE* nm = popen(fmt::format("nm -D --defined-only '{0}' 2>/dev/null; nm --defined-only '{0}' 2>/dev/null", path).c_str(), "r");
    if (!nm)
        return 0;
    char line[512];
    uint64_t value = 0;
    while (fgets(line, sizeof line, nm)) {
        char sym[400] = {0}, type = 0;
        unsigned long long v = 0;
        if (sscanf(line, "%llx %c %399s", &v, &type, sym) == 3 && name == sym)
            value = v;
    }
    pclose(nm);
    return value;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: symbolizer_bench FIXTURE (tests/unit's symbol_fixture_pie)\n");
        return 2;
    }
    const std::string fixture = argv[1];
    using clock = std::chrono::steady_clock;
    auto us = [](clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); };
    std::string libc = loaded_library("libc.so.6");
    uint64_t bss = symbol_value(fixture, "fault_in_bss");
    uint64_t malloc_at = symbol_value(libc, "malloc");

    Symbolizer symbolizer;
    auto t0 = clock::now();
    symbolizer.locate(fixture, bss + 1);
    auto t1 = clock::now();
    symbolizer.locate(libc, malloc_at + 1);
    auto t2 = clock::now();
    const int kWarm = 2000;
    for (int i = 0; i < kWarm; ++i)  // module open, address not yet cached
        symbolizer.locate(fixture, bss + 2 + (i % 40) + 64 * (i / 40));
    auto t3 = clock::now();
    const int kCached = 200000;
    for (int i = 0; i < kCached; ++i)
        symbolizer.locate(fixture, bss + 1);
    auto t4 = clock::now();
    std::printf("symbolizer: cold fixture (open + DWARF) %.0f us, cold libc %.0f us, warm module %.2f us/lookup, "
                "cached %.3f us/lookup\n",
                us(t1 - t0), us(t2 - t1), us(t3 - t2) / kWarm, us(t4 - t3) / kCached);
    return 0;
}
