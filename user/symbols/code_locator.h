// Where a code address is, in words that outlive the process: the mapped module and the address in
// it (link-time address for ELF objects, file offset for other files), interned so that fault sites
// and stacks count by small keys and are named late. Code in anonymous executable memory is JIT
// code: named from the runtime's perf map when it wrote one (even lines written after the code ran,
// up to when it is named), else "[jit START-END]" with its mapping.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/process_table.h"
#include "symbols/code_namer.h"

namespace memtrace {

class CodeLocator {
public:
    // Distinct modules kept apart; beyond, code is "[unknown]".
    static constexpr uint32_t kMaxModules = 1 << 16;

    struct Key {
        uint32_t module = 0;  // 0: "[unknown]", no mapping holds the address
        uint64_t where = 0;
    };

    explicit CodeLocator(CodeNamer& namer) : namer_(&namer) {}

    Key key(const std::shared_ptr<MemoryMap>& memory, uint64_t ip);
    // Full: "main+0x1a (demo.c:42)", short: "main" (what a flame graph merges on).
    std::string name(const Key& key, bool full);
    std::string name(const std::shared_ptr<MemoryMap>& memory, uint64_t ip, bool full);
    // The frames of a stack entry, innermost first (inlined functions, then the function).
    std::vector<std::string> frame_names(const Key& key);
    CodeNamer& namer() { return *namer_; }

private:
    uint32_t intern(const std::string& module, const Region* elf_region);
    // A JIT symbol that names `key` now, for code its runtime had not named when it ran.
    const JitSymbol* jit_symbol(const Key& key) const;

    CodeNamer* namer_;
    // Anonymous code not named when first seen: its address space, to name it from later lines
    // of the runtime's perf map, and where the mapping starts.
    struct JitRegion {
        std::shared_ptr<MemoryMap> memory;
        uint64_t start;
    };
    std::unordered_map<uint32_t, JitRegion> jit_regions_;
    std::vector<std::string> modules_{"[unknown]"};
    std::unordered_map<std::string, uint32_t> module_ids_;
};

}  // namespace memtrace
