// The bands the heatmaps draw: a library's sections are one band (its name), so that a process
// with fifty libraries still fits a picture; every other segment, the program's sections among
// them, is a band of its own. Each band has its place in the memory-layout diagram's order.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

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

// Which band each segment's faults go to, at most `max_bands` bands: past them, a new band's
// segments go to the last one, which then stands for "other segments".
class SegmentBands {
public:
    explicit SegmentBands(size_t max_bands) : max_(max_bands) {}
    struct Placed {
        size_t band = 0;      // index, in the order bands were first met
        bool added = false;   // a new band
        bool shared = false;  // the segment went to the last band, past the bound
        LayoutBand placed;    // for a segment met for the first time (else empty)
    };
    // `program` gives the pictured process's executable; asked only for a segment not met before.
    Placed place(const SegmentTable& segments, SegmentId segment, const std::function<std::string()>& program);

private:
    size_t max_;
    std::vector<int32_t> band_of_segment_;  // -1: not met yet
    std::unordered_map<std::string, size_t> band_of_identity_;
};

}  // namespace memtrace
