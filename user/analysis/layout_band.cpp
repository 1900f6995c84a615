#include "analysis/layout_band.h"

#include <fmt/format.h>

namespace memtrace {

LayoutBand layout_band(const SegmentTable& segments, SegmentId segment, const std::string& program)
{
    const SegmentInfo& info = segments.at(segment);
    const bool library = info.kind == SegmentKind::Section && info.object != program;
    LayoutBand band;
    band.area = layout_area_of(info.kind, info.kind == SegmentKind::Section && !library);
    if (!library) {
        band.identity = fmt::format("s{}", segment);
        band.label = info.label;
        return band;
    }
    // The label without its section: the object's name as the segment table made it unique.
    const std::string suffix = " " + info.section;
    const bool ends_with_section = info.label.size() > suffix.size() &&
                                   info.label.compare(info.label.size() - suffix.size(), suffix.size(), suffix) == 0;
    band.label = ends_with_section ? info.label.substr(0, info.label.size() - suffix.size()) : info.label;
    band.identity = fmt::format("o{}:{}:{}", info.key.dev, info.key.ino, info.object);
    return band;
}

SegmentBands::Placed SegmentBands::place(const SegmentTable& segments, SegmentId segment,
                                         const std::function<std::string()>& program)
{
    if (segment >= band_of_segment_.size())
        band_of_segment_.resize(segment + 1, -1);
    int32_t& cached = band_of_segment_[segment];
    Placed p;
    if (cached >= 0) {
        p.band = static_cast<size_t>(cached);
        return p;
    }
    p.placed = layout_band(segments, segment, program());
    auto [it, added] = band_of_identity_.try_emplace(p.placed.identity, band_of_identity_.size());
    if (added && it->second >= max_) {
        band_of_identity_.erase(it);
        p.band = max_ - 1;
        p.shared = true;
    } else {
        p.band = it->second;
        p.added = added;
    }
    cached = static_cast<int32_t>(p.band);
    return p;
}

}  // namespace memtrace
