// The live terminal view: one frame of text lines for a given terminal size, built from a Report.
// Pure: the terminal layer (user/terminal.*) owns raw mode, the alternate screen and the writes.
#pragma once

#include <string>
#include <vector>

#include "pipeline/report.h"

namespace memtrace {

struct LiveTitle {
    std::string target;  // "pid 1234 (python3)"
    std::string state;   // empty while tracing; "target exited" after
};

// Exactly `height` lines, each exactly `width` columns wide.
std::vector<std::string> render_live_frame(const Report& report, const LiveTitle& title, int width, int height);

}  // namespace memtrace
