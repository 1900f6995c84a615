// Where a code address is, in words that outlive the process: the mapped module and the address in
// it (link-time address for ELF objects, file offset for other files, the address itself for
// anonymous code), interned so that fault sites and stacks count by small keys and are named late.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/address_space.h"
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
    void set_namer(CodeNamer& namer) { namer_ = &namer; }

    Key key(const AddressSpace& space, uint64_t ip);
    // Full: "main+0x1a (demo.c:42)", short: "main" (what a flame graph merges on).
    std::string name(const Key& key, bool full);
    std::string name(const AddressSpace* space, uint64_t ip, bool full);

private:
    CodeNamer* namer_;
    std::vector<std::string> modules_{"[unknown]"};
    std::unordered_map<std::string, uint32_t> module_ids_;
};

}  // namespace memtrace
