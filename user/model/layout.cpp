#include "model/layout.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include "output/format_util.h"
#include "output/render_json.h"

namespace memtrace {

std::vector<LayoutRow> build_layout(const AddressSpace& space, const SegmentTable& segments,
                                    const ResidencyProbe& probe)
{
    std::vector<LayoutRow> rows;
    for (const auto& entry : space.regions()) {
        const Region& r = entry.second;  // a named reference: lambdas may not capture structured bindings before C++20
        std::string perms = {r.read ? 'r' : '-', r.write ? 'w' : '-', r.exec ? 'x' : '-', r.shared ? 's' : 'p'};
        auto add = [&](uint64_t lo, uint64_t hi, SegmentId seg) {
            // A section group can reach past its region (the region was split by mprotect, or its
            // .bss goes on in the anonymous mapping after it): each region shows its own part.
            lo = std::max(lo, r.start);
            hi = std::min(hi, r.end);
            if (lo >= hi)
                return;
            LayoutRow row{lo, hi, perms, segments.at(seg).label, r.path.empty() ? "[anon]" : r.path, 0, false, seg};
            if (probe)
                row.resident_known = probe(lo, hi, row.resident_bytes);
            rows.push_back(std::move(row));
        };
        // Walk the region: section spans, and the gaps between them attributed to the region itself.
        uint64_t cursor = r.start;
        for (const Region::Span& s : r.spans) {
            add(cursor, std::max(cursor, s.start), r.segment);
            add(std::max(cursor, s.start), s.end, s.segment);
            cursor = std::max(cursor, s.end);
        }
        add(cursor, r.end, r.segment);
    }
    return rows;
}

void render_layout_text(std::ostream& out, const std::vector<LayoutRow>& rows)
{
    size_t seg_w = 7;
    for (const LayoutRow& r : rows)
        seg_w = std::max(seg_w, display_width(terminal_safe(r.segment)));
    fmt::print(out, "{:<16} {:<16} {:>8} {:>8} {:<4}  {:<{}}  {}\n", "START", "END", "SIZE", "RSS", "PERM", "SEGMENT",
               seg_w, "MAPPING");
    uint64_t total = 0, resident = 0;
    for (const LayoutRow& r : rows) {
        total += r.end - r.start;
        resident += r.resident_bytes;
        fmt::print(out, "{:016x} {:016x} {:>8} {:>8} {:<4}  {:<{}}  {}\n", r.start, r.end, human_bytes(r.end - r.start),
                   r.resident_known ? human_bytes(r.resident_bytes) : "?", r.perms, terminal_safe(r.segment), seg_w,
                   terminal_safe(r.mapping));
    }
    fmt::print(out, "{:<33} {:>8} {:>8}\n", "total", human_bytes(total), human_bytes(resident));
}

void render_layout_json(std::ostream& out, const std::vector<LayoutRow>& rows)
{
    nlohmann::json j = nlohmann::json::array();
    for (const LayoutRow& r : rows) {
        nlohmann::json row = {{"start", r.start}, {"end", r.end},         {"size", r.end - r.start},
                              {"perms", r.perms}, {"segment", json_name(r.segment)}, {"mapping", json_name(r.mapping)}};
        row["resident"] = r.resident_known ? nlohmann::json(r.resident_bytes) : nlohmann::json(nullptr);
        j.push_back(row);
    }
    out << j.dump(1) << '\n';
}

}  // namespace memtrace
