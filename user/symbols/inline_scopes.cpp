#include "symbols/inline_scopes.h"

#include <algorithm>
#include <utility>

#include <dwarf.h>

namespace memtrace {
namespace {

constexpr size_t kMaxDepth = 256;           // inlining nests a few levels; a corrupt file, any
constexpr size_t kMaxScopes = 1 << 22;      // per unit

}  // namespace

InlineScopes::InlineScopes(Dwarf_Die unit)
{
    // Depth-first over the unit, iteratively (a hostile file may nest without end): each entry is
    // a DIE whose siblings are still to come, and the inlining depth of that level.
    std::vector<std::pair<Dwarf_Die, size_t>> pending;
    Dwarf_Die child;
    if (dwarf_child(&unit, &child) == 0)
        pending.emplace_back(child, 0);
    size_t seen = 0;
    while (!pending.empty() && seen < kMaxScopes) {
        auto [die, depth] = pending.back();
        pending.pop_back();
        ++seen;
        Dwarf_Die next;
        if (dwarf_siblingof(&die, &next) == 0)
            pending.emplace_back(next, depth);
        const int tag = dwarf_tag(&die);
        size_t inner = depth;
        if (tag == DW_TAG_inlined_subroutine) {
            add(die, depth);
            inner = depth + 1;
        } else if (tag == DW_TAG_subprogram) {
            inner = 0;  // a nested function's own inlines start over
        }
        if (inner < kMaxDepth && dwarf_haschildren(&die) && dwarf_child(&die, &child) == 0)
            pending.emplace_back(child, inner);
    }
    for (auto& level : by_depth_)
        std::sort(level.begin(), level.end(), [](const Scope& a, const Scope& b) { return a.low < b.low; });
}

void InlineScopes::add(Dwarf_Die& die, size_t depth)
{
    if (by_depth_.size() <= depth)
        by_depth_.resize(depth + 1);
    Dwarf_Addr base = 0, start = 0, end = 0;
    ptrdiff_t offset = 0;
    while ((offset = dwarf_ranges(&die, offset, &base, &start, &end)) > 0)
        if (end > start)
            by_depth_[depth].push_back({start, end, die});
}

std::vector<Dwarf_Die> InlineScopes::at(uint64_t addr) const
{
    std::vector<Dwarf_Die> found;
    for (const auto& level : by_depth_) {
        auto after = std::upper_bound(level.begin(), level.end(), addr,
                                      [](uint64_t a, const Scope& s) { return a < s.low; });
        if (after == level.begin() || addr >= std::prev(after)->high)
            break;  // nothing deeper holds it either
        found.push_back(std::prev(after)->die);
    }
    std::reverse(found.begin(), found.end());
    return found;
}

}  // namespace memtrace
