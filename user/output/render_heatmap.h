// The terminal heatmap of the live view: one row per segment of the pictured process, high
// addresses at the top as in the layout diagram, one column per recent interval (the newest at
// the right), each cell shaded by the segment's faults in that interval. Pure: data in, lines out.
#pragma once

#include <string>
#include <vector>

#include "pipeline/pictures.h"

namespace memtrace {

// Exactly `height` lines of exactly `width` columns. When the segments do not fit, the ones with
// the most faults in the columns shown stay, in layout order, and a line says how many are left out.
std::vector<std::string> render_heatmap(const SegmentHeat& heat, int width, int height);

}  // namespace memtrace
