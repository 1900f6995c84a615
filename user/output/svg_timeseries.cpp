#include "output/svg_timeseries.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "output/format_util.h"
#include "output/svg_chart.h"
#include "output/timeline_series.h"

namespace memtrace {
namespace {

constexpr double kTop = 30;
constexpr double kLegendRow = 16;

std::string svg_open(const char* cls, double height)
{
    return fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart {0}\" viewBox=\"0 0 {1} {2:.0f}\" "
                       "width=\"{1}\" height=\"{2:.0f}\" font-family=\"sans-serif\" font-size=\"11\">\n",
                       cls, kChartWidth, height);
}

TimeAxis axis_of(const Timeline& t) { return TimeAxis{std::max(t.buckets * t.bucket_s(), 1e-9)}; }

// A value axis on the left from 0 to `max`, labelled by `label`.
template <typename Label>
void draw_value_axis(std::string& svg, double max, double top, double bottom, Label label)
{
    auto out = std::back_inserter(svg);
    for (double v : nice_ticks(max, 4)) {
        const double y = bottom - (bottom - top) * v / max;
        fmt::format_to(out,
                       "<line x1=\"{0}\" y1=\"{2:.1f}\" x2=\"{1}\" y2=\"{2:.1f}\" stroke=\"#eee\"/>"
                       "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
                       kPlotLeft, kPlotRight, y, kPlotLeft - 6, y + 4, label(v));
    }
}

// Legend entries in rows of four under the plot, from `y`.
void draw_legend(std::string& svg, const std::vector<std::pair<std::string, std::string>>& entries, double y)
{
    auto out = std::back_inserter(svg);
    for (size_t i = 0; i < entries.size(); ++i) {
        const double x = kPlotLeft + (i % 4) * 245, row_y = y + (i / 4) * kLegendRow;
        fmt::format_to(out,
                       "<g class=\"legend\"><rect x=\"{:.0f}\" y=\"{:.0f}\" width=\"10\" height=\"10\" fill=\"{}\"/>"
                       "<text x=\"{:.0f}\" y=\"{:.0f}\">{}</text></g>\n",
                       x, row_y, entries[i].second, x + 14, row_y + 9, svg_label(entries[i].first, 38));
    }
}

// A gauge as a step line: flat across each bucket, broken where it is not known.
void draw_steps(std::string& svg, const GaugeSeries& series, const char* name, const char* colour,
                const TimeAxis& axis, double bucket_s, double max, double top, double bottom)
{
    auto out = std::back_inserter(svg);
    bool open = false;
    for (size_t b = 0; b <= series.size(); ++b) {
        const bool known = b < series.size() && series[b];
        if (open && !known) {
            svg += "\"/>\n";
            open = false;
        }
        if (!known)
            continue;
        if (!open)
            fmt::format_to(out, "<polyline class=\"series\" data-series=\"{}\" fill=\"none\" stroke=\"{}\" "
                                "stroke-width=\"1.5\" points=\"",
                           name, colour);
        const double y = bottom - (bottom - top) * static_cast<double>(*series[b]) / max;
        fmt::format_to(out, "{:.1f},{:.1f} {:.1f},{:.1f} ", axis.x(b * bucket_s), y, axis.x((b + 1) * bucket_s), y);
        open = true;
    }
}

}  // namespace

std::string memory_svg(const Timeline& t)
{
    constexpr double kBottom = 200;
    const MemorySeries m = memory_series(t);
    const std::pair<const char*, const GaugeSeries*> series[] = {
        {"heap", &m.heap}, {"anon", &m.anon}, {"file", &m.file}, {"shmem", &m.shmem}};
    double max = 4096;
    for (const auto& s : series)
        for (const auto& v : *s.second)
            max = std::max(max, v ? static_cast<double>(*v) : 0.0);
    std::string svg = svg_open("memory", kBottom + 60);
    draw_value_axis(svg, max, kTop, kBottom, [](double v) { return human_bytes(static_cast<uint64_t>(v)); });
    const TimeAxis axis = axis_of(t);
    for (size_t i = 0; i < std::size(series); ++i)
        draw_steps(svg, *series[i].second, series[i].first, series_colour(i), axis, t.bucket_s(), max, kTop, kBottom);
    draw_time_axis(svg, axis, kTop, kBottom);
    draw_legend(svg,
                {{"heap (brk area) of pid " + std::to_string(t.pid), series_colour(0)},
                 {"resident anonymous", series_colour(1)},
                 {"resident file", series_colour(2)},
                 {"resident shared memory", series_colour(3)}},
                kBottom + 24);
    svg += "</svg>\n";
    return svg;
}

std::string segment_faults_svg(const Timeline& t)
{
    constexpr double kBottom = 220;
    double max = 1;
    for (size_t b = 0; b < t.buckets; ++b) {
        double sum = 0;
        for (const Timeline::SegmentSeries& s : t.segments)
            sum += b < s.per_bucket.size() ? s.per_bucket[b] : 0;
        max = std::max(max, sum);
    }
    const size_t legend_rows = (t.segments.size() + 3) / 4;
    std::string svg = svg_open("segment-faults", kBottom + 30 + legend_rows * kLegendRow);
    draw_value_axis(svg, max, kTop, kBottom, [](double v) { return with_commas(static_cast<uint64_t>(v)); });
    fmt::format_to(std::back_inserter(svg), "<text x=\"{}\" y=\"{}\">faults per {}</text>\n", kPlotLeft, kTop - 10,
                   seconds_label(t.bucket_s()));
    const TimeAxis axis = axis_of(t);
    const double w = axis.x(t.bucket_s()) - axis.x(0);
    auto out = std::back_inserter(svg);
    for (size_t b = 0; b < t.buckets; ++b) {
        double stacked = 0;
        for (size_t s = 0; s < t.segments.size(); ++s) {
            const uint64_t n = b < t.segments[s].per_bucket.size() ? t.segments[s].per_bucket[b] : 0;
            if (!n)
                continue;
            const double h = (kBottom - kTop) * n / max;
            fmt::format_to(out,
                           "<rect class=\"bar\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
                           "fill=\"{}\" data-s=\"{}\" data-t=\"{}\" data-n=\"{}\"/>\n",
                           axis.x(b * t.bucket_s()), kBottom - stacked - h, w, h, series_colour(s), s, b, n);
            stacked += h;
        }
    }
    draw_time_axis(svg, axis, kTop, kBottom);
    std::vector<std::pair<std::string, std::string>> legend;
    for (size_t s = 0; s < t.segments.size(); ++s)
        legend.emplace_back(fmt::format("{} ({})", t.segments[s].label, with_commas(t.segments[s].faults)),
                            series_colour(s));
    draw_legend(svg, legend, kBottom + 24);
    svg += "</svg>\n";
    return svg;
}

std::string markers_svg(const Timeline& t, const std::vector<CrashRow>& crashes)
{
    constexpr double kRow = 22;
    const Timeline::MarkerKind rows[] = {Timeline::MarkerKind::Brk, Timeline::MarkerKind::Mmap,
                                         Timeline::MarkerKind::Munmap, Timeline::MarkerKind::Exec,
                                         Timeline::MarkerKind::Crash};
    const double bottom = kTop + kRow * std::size(rows);
    std::string svg = svg_open("markers", bottom + 24);
    auto out = std::back_inserter(svg);
    const TimeAxis axis = axis_of(t);
    const double w = std::max(axis.x(t.bucket_s()) - axis.x(0), 1.0);
    for (size_t r = 0; r < std::size(rows); ++r) {
        const size_t kind = static_cast<size_t>(rows[r]);
        const double base = kTop + kRow * (r + 1) - 3;
        uint64_t max = 0, total = 0;
        for (const auto& counts : t.marker_counts) {
            max = std::max(max, counts[kind]);
            total += counts[kind];
        }
        fmt::format_to(out, "<text x=\"{}\" y=\"{:.0f}\" text-anchor=\"end\">{} ({})</text>\n", kPlotLeft - 6,
                       base - 3, marker_kind_name(rows[r]), with_commas(total));
        for (size_t b = 0; b < t.marker_counts.size(); ++b) {
            const uint64_t n = t.marker_counts[b][kind];
            if (!n || rows[r] == Timeline::MarkerKind::Crash)
                continue;
            const double h = 4 + (kRow - 8) * (max > 1 ? std::log(n) / std::log(max) : 1);
            fmt::format_to(out,
                           "<rect class=\"count\" x=\"{:.2f}\" y=\"{:.1f}\" width=\"{:.2f}\" height=\"{:.1f}\" "
                           "fill=\"{}\" data-kind=\"{}\" data-t=\"{}\" data-n=\"{}\"><title>{} {} at {}</title></rect>\n",
                           axis.x(b * t.bucket_s()), base - h, w, h, series_colour(r), marker_kind_name(rows[r]), b, n,
                           with_commas(n), marker_kind_name(rows[r]), seconds_label(b * t.bucket_s()));
        }
    }
    const double exec_y = kTop + kRow * 4 - 3, crash_y = kTop + kRow * 5 - 3;
    for (const Timeline::Marker& m : t.markers)
        if (m.kind == Timeline::MarkerKind::Exec)
            fmt::format_to(out,
                           "<g class=\"marker exec\"><title>exec at {0}: pid {1} is now {2}</title>"
                           "<path d=\"M{3:.1f},{4:.1f} l5,-7 l-5,-7 l-5,7 z\" fill=\"{5}\"/></g>\n",
                           seconds_label(m.ts_ns / 1e9), m.pid, svg_text(m.text), axis.x(m.ts_ns / 1e9), exec_y,
                           series_colour(3));
    for (const CrashRow& c : crashes)
        fmt::format_to(out,
                       "<g class=\"marker crash\"><title>{} in pid {} at {}: {}</title>"
                       "<path d=\"M{:.1f},{:.1f} l6,-12 l-12,0 z\" fill=\"#d62728\"/></g>\n",
                       svg_text(c.signal), c.pid, seconds_label(c.time_s), svg_text(c.explanation, 2048),
                       axis.x(c.time_s), crash_y);
    draw_time_axis(svg, axis, kTop, bottom);
    svg += "</svg>\n";
    return svg;
}

}  // namespace memtrace
