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

}  // namespace memtrace
