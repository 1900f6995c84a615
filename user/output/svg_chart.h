// What the SVG charts of the HTML report share: the geometry, the time axis under every chart,
// value ticks, colours, and untrusted text made safe for the document.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace memtrace {

// Every chart is this wide (CSS scales it to the page); the plot area leaves room for labels.
constexpr double kChartWidth = 1200;
constexpr double kPlotLeft = 210;
constexpr double kPlotRight = 1180;

// Seconds since the start of the trace, left to right.
struct TimeAxis {
    double duration_s = 1;
    double x(double t_s) const { return kPlotLeft + (kPlotRight - kPlotLeft) * t_s / duration_s; }
};

// "250ms", "1.5s", "2m30s"
std::string seconds_label(double seconds);
// Round steps (1, 2 or 5 times a power of ten) from 0 to at most `max`, about `count` of them.
std::vector<double> nice_ticks(double max, int count);
// The time axis at `y`, with grid lines up to `top`.
void draw_time_axis(std::string& svg, const TimeAxis& axis, double top, double y);
// Text from the traced side (segment labels, comms) for an SVG text node or attribute.
std::string svg_text(std::string_view text, size_t max_bytes = 512);
// The same, at most `max_chars` characters: a longer one keeps its start and more of its end
// ("_bz2.cpyt…x86_64-linux-gnu.so", "file /usr…C.utf8/LC_TIME"), what tells names apart.
std::string svg_label(std::string_view text, size_t max_chars);
// A distinct colour for series `i` (the last of the palette for "other").
const char* series_colour(size_t i);
// The heatmap's colour for a level from 0 (few faults) to 1 (the most).
std::string heat_colour(double level);

}  // namespace memtrace
