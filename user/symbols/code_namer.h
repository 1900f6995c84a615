// Names code addresses for fault sites, stacks and crash reports. TraceState asks for names by
// (mapped file, link-time address), so they do not depend on the process still running.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "symbols/symbolizer.h"

namespace memtrace {

class CodeNamer {
public:
    virtual ~CodeNamer() = default;
    // `module` is the mapped file's path (or "[vdso]", "[anonymous]"), `vaddr` the link-time address
    // in it. Full names carry offset, source line and module: "main+0x1a (demo.c:42) [demo]";
    // short ones are what a flame graph merges on: "main", or "[libfoo.so]" when unknown.
    virtual std::string name(const std::string& module, uint64_t vaddr, bool full) = 0;
    // The build ID the module had when it was mapped (raw bytes; told once, before it is named):
    // a file at that path that is another build must not name its code.
    virtual void expect_build_id(const std::string& module, const std::string& build_id)
    {
        (void)module;
        (void)build_id;
    }
    // The frames of one stack entry, innermost first: inlined functions ("touch (inlined)"), then
    // the function. Empty: use the short name.
    virtual std::vector<std::string> frames(const std::string& module, uint64_t vaddr)
    {
        (void)module;
        (void)vaddr;
        return {};
    }
    // The file to read the module's code and unwind tables from: the module itself, or "" when
    // the file there is not the build that was mapped.
    virtual std::string file_for(const std::string& module) { return module; }
};

// Names without symbols: "libc.so.6+0x1234" (the fallback, and what unit tests use).
class PlainCodeNamer : public CodeNamer {
public:
    std::string name(const std::string& module, uint64_t vaddr, bool full) override;
};

// Names from symbol tables and DWARF (libdwfl): "memset+0x40 [libc.so.6]", "main+0x1a (demo.c:42)".
// A module whose file on disk is not the build that was mapped is named from the separate debug
// file of the recorded build ID (/usr/lib/debug/.build-id/xx/yyyy.debug) when there is one, else
// by offset ("libfoo.so+0x1234"); mismatches() lists those.
class SymbolizerCodeNamer : public CodeNamer {
public:
    std::string name(const std::string& module, uint64_t vaddr, bool full) override;
    void expect_build_id(const std::string& module, const std::string& build_id) override;
    std::vector<std::string> frames(const std::string& module, uint64_t vaddr) override;
    std::string file_for(const std::string& module) override;

    // Modules named by offset because no file of their recorded build was found.
    const std::vector<std::string>& mismatches() const { return mismatches_; }

private:
    // The file to read symbols of `module` from: itself, its build's debug file, or "" (none).
    const std::string& source_of(const std::string& module);

    Symbolizer symbolizer_;
    std::unordered_map<std::string, std::string> expected_;  // module -> build ID
    std::unordered_map<std::string, std::string> sources_;
    std::vector<std::string> mismatches_;
};

}  // namespace memtrace
