// The layout diagram, the way the memory-layout tutorials draw an address space: one box per
// region, high addresses at the top, each with its size, the unmapped gaps between them as
// collapsed lines with their size, each region shaded by a value (its faults this interval, or
// its resident bytes). Pure: rows in, lines out.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace memtrace {

struct DiagramRow {
    uint64_t start = 0, end = 0;
    std::string label;        // from the traced side: escaped when drawn
    std::string group;        // rows of one group (an object's sections) may be drawn as one
    uint64_t value = 0;       // shades the row
    std::string growth;       // "↑+132K": drawn after the size
    bool keep_apart = false;  // never merged with others: the program's sections, heap, stack
};

struct DiagramStyle {
    std::string value_title = "faults/s";             // heads the value column
    std::function<std::string(uint64_t)> format_value;  // a value as shown (0 is left blank)
    std::string quiet = "without faults";             // "12 regions without faults"
};

// `rows` in address order, not overlapping. Exactly `height` lines of exactly `width` columns;
// height 0: as many lines as every row and gap takes. When the rows do not fit, an object's
// sections with no value become one row, then runs of rows with no value, then an object's
// sections (each step the longest runs first, only as many as it takes), then the gap lines go,
// then the middle is cut.
std::vector<std::string> render_diagram(const std::vector<DiagramRow>& rows, const DiagramStyle& style, int width,
                                        int height);

}  // namespace memtrace
