// The live terminal view: one frame of text lines for a given terminal size, built from a Report.
// Pure: the terminal layer (user/terminal.*) owns raw mode, the alternate screen and the writes.
#pragma once

#include <string>
#include <vector>

#include "output/render_diagram.h"
#include "pipeline/report.h"

namespace memtrace {

struct LiveTitle {
    std::string target;  // "pid 1234 (python3)"
    std::string state;   // empty while tracing; "target exited" after
    std::string quit = "q quit";  // what q does, on the keys line ("q back" when opened from -a's table)
};

// The live view's panels; Tab goes to the next one.
enum class LivePanel { Segments, Diagram, Heatmap };
LivePanel next_panel(LivePanel panel);

// The segments panel. Exactly `height` lines, each exactly `width` columns wide.
std::vector<std::string> render_live_frame(const Report& report, const LiveTitle& title, int width, int height);

// Any panel: the title line, the panel (the segment table, the layout diagram of the pictured
// process, or its heatmap), the keys. Exactly `height` lines, each exactly `width` columns wide.
std::vector<std::string> render_live_panel(const Report& report, const LiveTitle& title, LivePanel panel, int width,
                                           int height);

// The layout diagram's rows for the report's layout: shaded by faults this interval, the heap's
// and the stack's growth, the program's sections, heap and stack never merged.
std::vector<DiagramRow> diagram_rows(const Report& report);

}  // namespace memtrace
