// Interactive flame graphs as SVG, from folded stacks: one rectangle per frame, as wide as its
// count, callers below callees; in a browser a click zooms into a frame, "Search" highlights
// frames by regular expression and shows their share, hovering shows a frame's count. The SVG is
// self-contained (no fonts, scripts or styles from elsewhere) and the same input gives the same
// bytes. Frame names come from the traced program and are treated as hostile (see xml_text.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace memtrace {

enum class FlameColours {
    Hot,     // reds and yellows, flamegraph.pl's default look: CPU-like "where did it happen"
    Memory,  // greens: allocations, bytes grown
    Blue,    // blues: a third kind next to the other two in one report
};

struct FlameGraphOptions {
    std::string title = "Flame Graph";
    std::string subtitle;                // e.g. "counts are estimates: 1 in 64 faults sampled, scaled"
    std::string count_unit = "samples";  // what a count counts, in tooltips: "faults", "bytes"
    unsigned width_px = 1200;            // the whole image; clamped to [200, 100000]
    double min_frame_width_px = 0.5;     // narrower frames are merged with their siblings or left out
    size_t max_frames = 2000;            // frames drawn at most (the root included); the smallest merge
    FlameColours colours = FlameColours::Hot;
};

// Folded stacks as memtrace's --folded writes them: "comm;outer;...;inner" -> count.
using FoldedStacks = std::unordered_map<std::string, uint64_t>;

// The <svg> element alone, for embedding inline in an HTML page (several per page work: the
// script and style act only on their own element, and no id attributes are used).
std::string flamegraph_svg_element(const FoldedStacks& stacks, const FlameGraphOptions& options = {});
// A standalone SVG file's content: XML declaration, then the element.
std::string flamegraph_svg_document(const FoldedStacks& stacks, const FlameGraphOptions& options = {});
// Several graphs one above the other in one file (faults, then bytes grown), each with its own
// zoom and search.
struct FlamePanel {
    const FoldedStacks* stacks;
    FlameGraphOptions options;
};
std::string flamegraph_svg_document(const std::vector<FlamePanel>& panels);
// Writes flamegraph_svg_document() to `fd`. Throws std::runtime_error on a write error.
void write_flamegraph_svg(int fd, const FoldedStacks& stacks, const FlameGraphOptions& options = {});
void write_flamegraph_svg(int fd, const std::vector<FlamePanel>& panels);

}  // namespace memtrace
