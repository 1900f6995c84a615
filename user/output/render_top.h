// -a's live table (memtrace -a on a terminal): one frame of text lines for a given terminal size,
// built from a Report and the selection. Pure: the terminal layer (top_view.h) owns raw mode,
// the alternate screen, the highlight of the selected row and the writes.
#pragma once

#include <string>
#include <vector>

#include "output/top_selection.h"
#include "pipeline/report.h"

namespace memtrace {

struct TopTitle {
    std::string filter;  // "every process", "cgroup /system.slice", "processes named nginx"
    std::string status;  // a one-line message for the status line, or ""
};

struct TopFrame {
    std::vector<std::string> lines;  // exactly height lines of exactly width columns, no escape byte
    int selected_line = -1;          // the line of the selected row (marked '>'), -1 when not shown
    size_t first_row = 0;            // the table's first row shown (TopSelection::set_first_shown)
};

// The header (the filter, time, processes counted, alive and exited in the interval), the column
// titles, the rows busiest first with as many columns as fit (the lowest priority ones go first:
// cgroup, mmap and brk bytes, total faults, kinds), the status line with the keys.
TopFrame render_top_frame(const Report& report, const TopSelection& selection, const TopTitle& title, int width,
                          int height);

}  // namespace memtrace
