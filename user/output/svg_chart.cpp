#include "output/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "output/xml_text.h"

namespace memtrace {

std::string seconds_label(double seconds)
{
    if (seconds == 0)
        return "0";
    if (seconds < 1)
        return fmt::format("{:g}ms", std::round(seconds * 1e6) / 1e3);
    if (seconds < 120)
        return fmt::format("{:g}s", std::round(seconds * 1e3) / 1e3);
    return fmt::format("{}m{:g}s", static_cast<int>(seconds / 60), std::fmod(seconds, 60));
}

std::vector<double> nice_ticks(double max, int count)
{
    std::vector<double> ticks;
    if (!(max > 0) || count < 1)
        return {0};
    const double raw = max / count;
    const double power = std::pow(10, std::floor(std::log10(raw)));
    double step = power;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * power >= raw) {
            step = m * power;
            break;
        }
    for (int i = 0; i * step <= max * (1 + 1e-9); ++i)
        ticks.push_back(i * step);
    return ticks;
}

void draw_time_axis(std::string& svg, const TimeAxis& axis, double top, double y)
{
    auto out = std::back_inserter(svg);
    fmt::format_to(out, "<g class=\"time-axis\">\n<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#444\"/>\n",
                   kPlotLeft, y, kPlotRight, y);
    for (double t : nice_ticks(axis.duration_s, 10)) {
        const double x = axis.x(t);
        fmt::format_to(out,
                       "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
                       "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                       x, top, y, y + 14, seconds_label(t));
    }
    svg += "</g>\n";
}

std::string svg_text(std::string_view text, size_t max_bytes) { return xml_escape(clean_utf8(text, max_bytes)); }

std::string svg_label(std::string_view text, size_t max_chars)
{
    const std::string clean = clean_utf8(text, 4096);
    const size_t chars = utf8_length(clean);
    if (chars <= max_chars || max_chars < 2)
        return xml_escape(clean);
    // Its start (what kind of thing) and more of its end (which one of them).
    const size_t head = (max_chars - 1) / 3, tail = max_chars - 1 - head;
    const std::string start(utf8_prefix(clean, head));
    const size_t end = utf8_prefix(clean, chars - tail).size();
    return xml_escape(start + "…" + clean.substr(end));
}

const char* series_colour(size_t i)
{
    static const char* const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                          "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79",
                                          "#ad494a", "#637939", "#7f7f7f"};
    constexpr size_t n = std::size(palette);
    return palette[std::min(i, n - 1)];
}

std::string heat_colour(double level)
{
    // Light yellow to dark red (ColorBrewer's YlOrRd), through orange.
    static const double stops[][3] = {{255, 255, 204}, {254, 178, 76}, {240, 59, 32}, {128, 0, 38}};
    level = std::clamp(level, 0.0, 1.0) * 3;
    const int i = std::min(static_cast<int>(level), 2);
    const double f = level - i;
    auto mix = [&](int c) { return static_cast<int>(std::lround(stops[i][c] + (stops[i + 1][c] - stops[i][c]) * f)); };
    return fmt::format("#{:02x}{:02x}{:02x}", mix(0), mix(1), mix(2));
}

}  // namespace memtrace
