#include "output/svg_heatmap.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>

#include <fmt/format.h>

#include "output/format_util.h"
#include "output/svg_chart.h"
#include "output/timeline_series.h"

namespace memtrace {
namespace {

constexpr double kTop = 40;          // above the first band: title and colour scale
constexpr double kPlotHeight = 480;  // what the rows share, before the bands' minimum heights
constexpr double kLabelsHeight = 720;  // what the bands' labels share at most
constexpr double kGapStrip = 6;      // a collapsed gap between two bands
constexpr double kAxisRoom = 34;

// A band is at least one label high; labels shrink (to a point) when there are many bands.
double min_band_height(size_t bands) { return std::clamp(kLabelsHeight / std::max<size_t>(bands, 1), 9.0, 14.0); }

// Where each band is drawn, top to bottom (high addresses first).
struct BandPlace {
    size_t band;
    double top, height;
    bool gap_above;  // an unmapped gap lies between it and the band above
};

std::vector<BandPlace> place_bands(const Timeline& t)
{
    size_t rows = 0;
    for (const Timeline::Band& b : t.bands)
        rows += std::max<size_t>(b.rows.size(), 1);
    const double row_h = std::clamp(kPlotHeight / std::max<size_t>(rows, 1), 3.0, 14.0);
    const double min_band = min_band_height(t.bands.size());
    std::vector<BandPlace> places;
    double y = kTop;
    for (size_t i = t.bands.size(); i-- > 0;) {
        const Timeline::Band& b = t.bands[i];
        const bool gap = !places.empty() && t.bands[places.back().band].low() > b.high();
        if (gap)
            y += kGapStrip;
        const double h = std::max(min_band, row_h * std::max<size_t>(b.rows.size(), 1));
        places.push_back({i, y, h, gap});
        y += h;
    }
    return places;
}

void draw_scale(std::string& svg, uint64_t max_faults)
{
    auto out = std::back_inserter(svg);
    fmt::format_to(out, "<g class=\"scale\"><text x=\"{}\" y=\"16\" text-anchor=\"end\">faults per cell: 1</text>\n",
                   kPlotRight - 218);
    for (int i = 0; i < 20; ++i)
        fmt::format_to(out, "<rect x=\"{}\" y=\"6\" width=\"10\" height=\"12\" fill=\"{}\"/>", kPlotRight - 212 + i * 10,
                       heat_colour(i / 19.0));
    fmt::format_to(out, "<text x=\"{}\" y=\"16\">{}</text></g>\n", kPlotRight - 6, with_commas(max_faults));
}

void draw_band(std::string& svg, const Timeline& t, const BandPlace& place)
{
    const Timeline::Band& b = t.bands[place.band];
    const double label_h = min_band_height(t.bands.size());
    auto out = std::back_inserter(svg);
    fmt::format_to(out,
                   "<g class=\"band\" data-b=\"{}\"><title>{}: {} faults, {}-{}, {} per row</title>"
                   "<rect class=\"band-background\" x=\"{}\" y=\"{:.1f}\" width=\"{}\" height=\"{:.1f}\" fill=\"#f3f3f3\"/>"
                   "<text class=\"band-label\" x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" font-size=\"{:.0f}\">{}</text>\n",
                   place.band, svg_text(b.label), with_commas(b.faults), hex_address(b.low()), hex_address(b.high()),
                   human_bytes(1ULL << b.row_shift), kPlotLeft, place.top, kPlotRight - kPlotLeft, place.height,
                   kPlotLeft - 6, place.top + label_h / 2 + label_h * 0.3, label_h - 3, svg_label(b.label, 30));
    if (place.gap_above)
        fmt::format_to(out,
                       "<line class=\"gap\" x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#999\" "
                       "stroke-dasharray=\"4 3\"/>\n",
                       kPlotLeft - 150, place.top - kGapStrip / 2, kPlotRight, place.top - kGapStrip / 2);
    svg += "</g>\n";
}

// The area names ("mmap area") beside the bands they hold.
void draw_areas(std::string& svg, const Timeline& t, const std::vector<BandPlace>& places)
{
    auto out = std::back_inserter(svg);
    for (size_t i = 0; i < places.size();) {
        const LayoutArea area = t.bands[places[i].band].area;
        size_t j = i;
        while (j + 1 < places.size() && t.bands[places[j + 1].band].area == area)
            ++j;
        const double top = places[i].top, bottom = places[j].top + places[j].height;
        fmt::format_to(out, "<g class=\"area\"><line x1=\"14\" y1=\"{:.1f}\" x2=\"14\" y2=\"{:.1f}\" stroke=\"#888\"/>",
                       top + 1, bottom - 1);
        const char* name = layout_area_name(area);
        if (bottom - top > 7.0 * std::strlen(name))  // the name along the bracket, where it fits
            fmt::format_to(out,
                           "<text x=\"10\" y=\"{0:.1f}\" transform=\"rotate(-90 10 {0:.1f})\" text-anchor=\"middle\" "
                           "font-style=\"italic\" fill=\"#555\">{1}</text>",
                           (top + bottom) / 2, name);
        svg += "</g>\n";
        i = j + 1;
    }
}

}  // namespace

std::string heatmap_svg(const Timeline& t)
{
    const std::vector<BandPlace> places = place_bands(t);
    const double plot_bottom = places.empty() ? kTop + 14 : places.back().top + places.back().height;
    const double height = plot_bottom + kAxisRoom;
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart heatmap\" viewBox=\"0 0 {0} {1:.0f}\" "
        "width=\"{0}\" height=\"{1:.0f}\" font-family=\"sans-serif\" font-size=\"11\">\n",
        kChartWidth, height);
    uint64_t max_faults = 0;
    for (const Timeline::Cell& c : t.cells)
        max_faults = std::max(max_faults, c.faults);
    draw_scale(svg, max_faults);
    std::vector<const BandPlace*> place_of(t.bands.size());
    for (const BandPlace& p : places) {
        place_of[p.band] = &p;
        draw_band(svg, t, p);
    }
    draw_areas(svg, t, places);
    const double cell_w = (kPlotRight - kPlotLeft) / std::max<size_t>(t.buckets, 1);
    auto out = std::back_inserter(svg);
    svg += "<g class=\"cells\">\n";
    for (const Timeline::Cell& c : t.cells) {
        const BandPlace& p = *place_of[c.band];
        const size_t rows = std::max<size_t>(t.bands[c.band].rows.size(), 1);
        const double row_h = p.height / rows;
        const double y = p.top + (rows - 1 - c.row) * row_h;  // the highest addresses on top
        const double level = max_faults > 1 ? std::log(c.faults) / std::log(max_faults) : 1;
        fmt::format_to(out,
                       "<rect class=\"cell\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\" "
                       "data-b=\"{}\" data-r=\"{}\" data-t=\"{}\" data-n=\"{}\"/>\n",
                       kPlotLeft + c.bucket * cell_w, y, cell_w, row_h, heat_colour(0.15 + 0.85 * level), c.band,
                       c.row, c.bucket, c.faults);
    }
    svg += "</g>\n";
    if (t.bands.empty())
        fmt::format_to(out, "<text class=\"empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">No faults recorded</text>\n",
                       (kPlotLeft + kPlotRight) / 2, kTop + 10);
    draw_time_axis(svg, TimeAxis{std::max(t.buckets * t.bucket_s(), 1e-9)}, kTop, plot_bottom + 4);
    svg += "</svg>\n";
    return svg;
}

}  // namespace memtrace
