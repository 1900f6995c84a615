#include "output/render_heatmap.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "output/format_util.h"
#include "output/shade.h"

namespace memtrace {
namespace {

constexpr size_t kLastWidth = 9;
constexpr int kNarrowest = 40;

// Which bands get a row: all of them when they fit, else the busiest in the window, kept in
// layout order; the rest are counted.
std::vector<size_t> shown_bands(const SegmentHeat& heat, size_t first_column, size_t rows, size_t& left_out)
{
    std::vector<uint64_t> window(heat.bands.size());
    for (size_t b = 0; b < heat.bands.size(); ++b) {
        const auto& f = heat.bands[b].faults;
        window[b] = std::accumulate(f.begin() + std::min(first_column, f.size()), f.end(), uint64_t{0});
    }
    std::vector<size_t> order(heat.bands.size());
    std::iota(order.begin(), order.end(), 0);
    left_out = 0;
    if (order.size() > rows) {
        const size_t keep = rows > 0 ? rows - 1 : 0;  // one line says what is left out
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return window[a] > window[b]; });
        left_out = order.size() - keep;
        order.resize(keep);
        std::sort(order.begin(), order.end());
    }
    return order;
}

}  // namespace

std::vector<std::string> render_heatmap(const SegmentHeat& heat, int width, int height)
{
    const size_t layout_w = static_cast<size_t>(std::max(width, kNarrowest));
    size_t label_w = 12;
    for (const SegmentHeat::Band& b : heat.bands)
        label_w = std::max(label_w, display_width(terminal_safe(b.label)));
    label_w = std::min(label_w, layout_w / 3);
    const size_t columns = layout_w - label_w - 2 - kLastWidth;
    const size_t intervals = heat.interval_ends_s.size();
    const size_t first = intervals > columns ? intervals - columns : 0;  // oldest interval shown
    const size_t shown = intervals - first;

    const size_t rows = static_cast<size_t>(std::max(height - 2, 1));  // the header and the axis take two
    size_t left_out = 0;
    std::vector<size_t> bands = shown_bands(heat, first, rows, left_out);
    uint64_t max = 0;
    for (size_t b : bands)
        for (size_t i = first; i < heat.bands[b].faults.size(); ++i)
            max = std::max(max, heat.bands[b].faults[i]);

    std::vector<std::string> lines;
    lines.push_back(fit("SEGMENT", label_w) + " " + fit("faults per interval, high addresses on top", columns) + " " +
                    fmt::format("{:>{}}", "LAST", kLastWidth));
    for (auto it = bands.rbegin(); it != bands.rend(); ++it) {
        const SegmentHeat::Band& band = heat.bands[*it];
        std::string cells(columns - shown, ' ');
        for (size_t i = first; i < intervals; ++i)
            cells += shade_glyph(shade_level(i < band.faults.size() ? band.faults[i] : 0, max));
        const uint64_t last = band.faults.empty() ? 0 : band.faults.back();
        lines.push_back(fit(terminal_safe(band.label), label_w) + " " + cells + " " +
                        fmt::format("{:>{}}", last ? with_commas(last) : "", kLastWidth));
    }
    if (left_out)
        lines.push_back(fmt::format("… {} quieter segments", left_out));
    if (heat.bands.empty())
        lines.push_back("no faults yet");
    // The time axis under the columns: how far back the oldest column is.
    if (shown > 0) {
        const double span = heat.interval_ends_s.back() - (first > 0 ? heat.interval_ends_s[first - 1] : 0.0);
        std::string left = fmt::format("└ {:.1f}s ago", span), right = "now ┘";
        lines.push_back(std::string(label_w + 1 + columns - shown, ' ') +
                        fit(left, shown > display_width(left) + display_width(right) ? shown - display_width(right) : 0) +
                        right);
    }
    lines.resize(std::max(height, 0));
    for (std::string& l : lines)
        l = fit(l, static_cast<size_t>(std::max(width, 0)));
    return lines;
}

}  // namespace memtrace
