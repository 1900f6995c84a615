// The static picture: a process's mappings split into the segments faults are attributed to,
// with sizes and resident pages. Built from the same AddressSpace the tracer uses.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "model/address_space.h"

namespace memtrace {

struct LayoutRow {
    uint64_t start = 0, end = 0;
    std::string perms;    // "r-xp"
    std::string segment;  // "libc.so.6 .text"
    std::string mapping;  // path or kernel name of the whole mapping
    uint64_t resident_bytes = 0;
    bool resident_known = false;
    SegmentId segment_id = SegmentTable::kUnmapped;  // what `segment` names
};

// Counts resident bytes in [start, end); returns false when residency is unknown.
using ResidencyProbe = std::function<bool(uint64_t start, uint64_t end, uint64_t& resident)>;

std::vector<LayoutRow> build_layout(const AddressSpace& space, const SegmentTable& segments,
                                    const ResidencyProbe& probe);
void render_layout_text(std::ostream& out, const std::vector<LayoutRow>& rows);
void render_layout_json(std::ostream& out, const std::vector<LayoutRow>& rows);

}  // namespace memtrace
