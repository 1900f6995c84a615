// memtrace report --html: one self-contained page (no network: styles, scripts and charts are all
// in it) with the pictures of a trace as SVG: the address x time heatmap, heap and resident
// memory, faults per segment, brk/mmap/munmap/exec and crash markers on the same time axis, and
// the flame graphs of the recorded stacks. The data the charts show is embedded as JSON
// (<script type="application/json" id="memtrace-data">, see timeline_json.h). The page is also
// well-formed XML. Names from the traced program are escaped.
#pragma once

#include <string>

#include "output/flamegraph_svg.h"
#include "pipeline/report.h"

namespace memtrace {

struct HtmlReportInput {
    std::string target;  // what was traced: "pid 1234 (python3)" (from the traced side)
    std::string source;  // the trace file's name
    bool stacks_recorded = false;
    FoldedStacks fault_stacks, brk_stacks, mmap_stacks;
};

// The page for the final report of a trace (which holds its Timeline).
std::string html_report(const Report& final_report, const HtmlReportInput& input);

}  // namespace memtrace
