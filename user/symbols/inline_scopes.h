// The inlined-subroutine scopes of one compile unit, read once: which inlined functions hold an
// address, innermost first. dwarf_getscopes() walks the unit's whole DIE tree from its root on
// every call, which on a unit the size of CPython's ceval.c costs more than the rest of naming a
// frame; a sampled stack asks for thousands of addresses.
#pragma once

#include <cstdint>
#include <vector>

#include <elfutils/libdw.h>

namespace memtrace {

class InlineScopes {
public:
    // Reads every DW_TAG_inlined_subroutine of `unit` with its address ranges (DWARF addresses).
    explicit InlineScopes(Dwarf_Die unit);

    // The inlined subroutines whose ranges hold `addr` (a DWARF address), innermost first.
    std::vector<Dwarf_Die> at(uint64_t addr) const;

private:
    struct Scope {
        uint64_t low, high;  // [low, high)
        Dwarf_Die die;
    };
    void add(Dwarf_Die& die, size_t depth);

    // By nesting depth (0: inlined straight into a function); the scopes of one depth never
    // overlap, and each lies within one of the depth above, so a lookup is a binary search a level.
    std::vector<std::vector<Scope>> by_depth_;
};

}  // namespace memtrace
