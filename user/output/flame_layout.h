// Which frames of a flame graph get drawn, and where: folded stacks merged into a call tree,
// narrow frames and frames beyond a bound merged, the rest laid out left to right.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace memtrace {

// One rectangle of the graph. Frames come in pre-order: a parent before its callees, siblings
// left to right in byte order of their names, a merged frame after its drawn siblings.
struct FlameFrame {
    std::string name;            // clean UTF-8 (clean_utf8), "all" for the root
    uint64_t count = 0;          // this frame and everything it called
    uint64_t start = 0;          // left edge, in counts from the left edge of the graph
    uint32_t depth = 0;          // 0: the root, 1: the process (comm), 2: its outermost frame ...
    uint64_t merged_frames = 0;  // > 0: stands for that many sibling frames too narrow to draw
};

struct FlameLayout {
    std::vector<FlameFrame> frames;  // empty when there is nothing to draw
    uint64_t total = 0;              // sum of all counts (saturated at UINT64_MAX)
    uint32_t levels = 0;             // depth of the deepest frame + 1
    uint64_t min_count = 0;          // frames below this count are merged or left out
};

// Lays out `stacks` ("comm;outer;...;inner" -> count) on a graph `width_px` wide: frames narrower
// than `min_frame_width_px` are not drawn one by one, nor are frames beyond `max_frames` (the
// smallest go first). Narrow siblings together wide enough become one merged frame. Stacks deeper
// than kMaxFlameDepth frames are cut there.
FlameLayout layout_flame(const std::unordered_map<std::string, uint64_t>& stacks, double width_px,
                         double min_frame_width_px, size_t max_frames);

constexpr size_t kMaxFlameDepth = 1024;
// Longest frame name kept, in bytes; longer ones are cut and end in "…".
constexpr size_t kMaxFlameNameBytes = 1024;

}  // namespace memtrace
