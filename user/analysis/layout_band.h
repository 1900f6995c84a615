// The bands the heatmaps draw: a library's sections are one band (its name), so that a process
// with fifty libraries still fits a picture; every other segment, the program's sections among
// them, is a band of its own. Each band has its place in the memory-layout diagram's order.
#pragma once

#include <string>

#include "model/segments.h"
#include "pipeline/pictures.h"

namespace memtrace {

struct LayoutBand {
    std::string identity;  // bands with the same identity are one
    std::string label;     // "libc.so.6", "app .text", "heap"
    LayoutArea area = LayoutArea::Unmapped;
};

// The band of `segment`; `program` is the path of the pictured process's executable.
LayoutBand layout_band(const SegmentTable& segments, SegmentId segment, const std::string& program);

}  // namespace memtrace
