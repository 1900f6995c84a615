// Names code addresses for fault sites, stacks and crash reports. TraceState asks for names by
// (mapped file, link-time address), so they do not depend on the process still running.
#pragma once

#include <cstdint>
#include <string>

#include "symbols/symbolizer.h"

namespace memtrace {

class CodeNamer {
public:
    virtual ~CodeNamer() = default;
    // `module` is the mapped file's path (or "[vdso]", "[anonymous]"), `vaddr` the link-time address
    // in it. Full names carry offset, source line and module: "main+0x1a (demo.c:42) [demo]";
    // short ones are what a flame graph merges on: "main", or "[libfoo.so]" when unknown.
    virtual std::string name(const std::string& module, uint64_t vaddr, bool full) = 0;
};

// Names without symbols: "libc.so.6+0x1234" (the fallback, and what unit tests use).
class PlainCodeNamer : public CodeNamer {
public:
    std::string name(const std::string& module, uint64_t vaddr, bool full) override;
};

// Names from symbol tables and DWARF (libdwfl): "memset+0x40 [libc.so.6]", "main+0x1a (demo.c:42)".
class SymbolizerCodeNamer : public CodeNamer {
public:
    std::string name(const std::string& module, uint64_t vaddr, bool full) override;

private:
    Symbolizer symbolizer_;
};

}  // namespace memtrace
