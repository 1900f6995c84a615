// Fault sites to code locations: function+offset, and file:line where debug info exists, for the
// executable and every shared library, read with elfutils' libdwfl. Works from the file and the
// link-time address alone (the mapping model gives both), so the traced process may be gone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>


namespace memtrace {

struct CodeLocation {
    std::string module;          // the file as mapped: "/usr/lib/x86_64-linux-gnu/libc.so.6", "[vdso]"
    uint64_t module_offset = 0;  // link-time virtual address within the module
    std::string function;        // demangled; empty when no symbol covers the address
    uint64_t function_offset = 0;
    std::string source_file;     // as the DWARF line table names it; empty without debug info
    int line = 0;                // 0 without debug info
    // Functions inlined at the address, innermost first (DWARF's inlined subroutines), each with
    // the line of the call that inlined it, in its caller: `line` is in inlined[0] then, and
    // inlined[0].call_line in inlined[1] (or in `function` when there is no inlined[1]).
    struct Inlined {
        std::string function;
        std::string call_file;
        int call_line = 0;
    };
    std::vector<Inlined> inlined;
};

// "main+0x1a (workload.c:42)", "memset+0x40 [libc.so.6]", "libfoo.so+0x1234" (no symbol), with
// inlined callees first: "touch (inlined) ← run_demo_workload+0x1a (cmd_demo.cpp:42 ← :85)".
// The offset is left out when it is 0: "main (workload.c:40)".
std::string format(const CodeLocation& location);
// The frames of one location, innermost first, as a flame graph shows them: the inlined
// functions ("touch (inlined)"), then the function itself; empty when no symbol covers it.
std::vector<std::string> frame_names(const CodeLocation& location);

// Not thread-safe: one per rendering thread.
class Symbolizer {
public:
    // Keeps at most `max_modules` files open (least recently used ones are closed) and at most
    // `max_results` answers (the cache starts over when full).
    explicit Symbolizer(size_t max_modules = 64, size_t max_results = 1 << 16);
    ~Symbolizer();
    Symbolizer(const Symbolizer&) = delete;
    Symbolizer& operator=(const Symbolizer&) = delete;

    // The code at link-time address `elf_vaddr` of the file `path` (runtime address minus the
    // mapping's load bias). Never throws for a bad file: a missing, unreadable, non-regular or
    // non-ELF file, and kernel names such as "[vdso]", give module + offset only. Separate debug
    // files are found by build ID under /usr/lib/debug/.build-id and by .gnu_debuglink (next to
    // the file, in .debug/, under /usr/lib/debug); debuginfod is never asked.
    CodeLocation locate(const std::string& path, uint64_t elf_vaddr);

    size_t open_modules() const { return lru_.size(); }
    size_t cached_results() const { return results_.size(); }

    struct Module;  // one open file (defined where it is used)

private:
    Module& module(const std::string& path);
    // The line of `addr` found through the unit that covers it.
    void line_from_units(Module& m, uint64_t addr, CodeLocation& loc);
    // The functions inlined at `addr`, from its unit's scopes.
    void inlined_at(Module& m, uint64_t addr, CodeLocation& loc);

    struct ResultKey {
        std::string path;
        uint64_t vaddr;
        bool operator==(const ResultKey& o) const { return vaddr == o.vaddr && path == o.path; }
    };
    struct ResultKeyHash {
        size_t operator()(const ResultKey& k) const
        {
            return std::hash<std::string>()(k.path) ^ (std::hash<uint64_t>()(k.vaddr) * 0x9e3779b97f4a7c15ULL);
        }
    };

    size_t max_modules_, max_results_;
    std::list<std::unique_ptr<Module>> lru_;  // most recently used first
    std::unordered_map<std::string, std::list<std::unique_ptr<Module>>::iterator> modules_;
    std::unordered_map<ResultKey, CodeLocation, ResultKeyHash> results_;
};

}  // namespace memtrace
