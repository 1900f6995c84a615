#include "output/render_live.h"

#include <algorithm>

#include <fmt/format.h>

#include "output/format_util.h"
#include "output/render_heatmap.h"

namespace memtrace {
namespace {

// One histogram as a single row: "mmap sizes    4K ▁▃█▂ 1M   12 calls".
std::string histogram_row(const char* title, const Log2Histogram& h, const char* what, int width)
{
    std::string head = fmt::format("{:<18}", title);
    if (h.empty())
        return head + "-";
    int first = h.first_bucket(), last = h.last_bucket();
    std::vector<uint64_t> counts;
    for (int i = first; i <= last; ++i)
        counts.push_back(h.count(i));
    std::string low = human_bytes(Log2Histogram::bucket_low(first));
    std::string high = human_bytes(Log2Histogram::bucket_high(last) + 1);
    std::string tail = fmt::format(" {}  {} {}", high, with_commas(h.total()), what);
    int room = width - static_cast<int>(display_width(head) + low.size() + 1 + display_width(tail));
    return head + low + " " + sparkline(counts, std::max(room, 1), true) + tail;
}

std::string title_line(const Report& r, const LiveTitle& title)
{
    return fmt::format("memtrace {} {:.1f}s{}  faults {} ({}/s) major {} dropped {}{}", terminal_safe(title.target),
                       r.elapsed_s, title.state.empty() ? "" : " " + title.state, with_commas(r.faults),
                       with_commas(per_second(r.interval_faults, r.interval_s)), with_commas(r.major), with_commas(r.dropped),
                       r.overflow_faults ? " overflow " + with_commas(r.overflow_faults) : "");
}

// The keys, with the panel shown in brackets.
std::string keys_line(LivePanel shown, const std::string& quit)
{
    std::string line = "Tab:";
    const std::pair<LivePanel, const char*> panels[] = {
        {LivePanel::Segments, "segments"}, {LivePanel::Diagram, "layout"}, {LivePanel::Heatmap, "heatmap"}};
    for (const auto& [panel, name] : panels)
        line += panel == shown ? fmt::format(" [{}]", name) : fmt::format(" {}", name);
    return line + "   " + quit;
}

// How much a region grew this interval: the heap upwards, the stack downwards.
std::string growth_text(const LayoutRegion& region)
{
    if (region.growth == 0)
        return {};
    const uint64_t bytes = region.growth > 0 ? region.growth : -static_cast<uint64_t>(region.growth);
    if (region.kind == SegmentKind::Stack)
        return "↓+" + human_bytes(bytes);
    return (region.growth > 0 ? "↑+" : "↓-") + human_bytes(bytes);
}

}  // namespace

LivePanel next_panel(LivePanel panel)
{
    switch (panel) {
    case LivePanel::Segments: return LivePanel::Diagram;
    case LivePanel::Diagram: return LivePanel::Heatmap;
    case LivePanel::Heatmap: return LivePanel::Segments;
    }
    return LivePanel::Segments;
}

std::vector<DiagramRow> diagram_rows(const Report& report)
{
    std::vector<DiagramRow> rows;
    for (const LayoutRegion& region : report.layout) {
        DiagramRow row;
        row.start = region.start;
        row.end = region.end;
        row.label = region.label;
        row.group = region.object;
        row.value = region.interval_faults;
        row.growth = growth_text(region);
        row.keep_apart = region.program || region.kind == SegmentKind::Heap || region.kind == SegmentKind::Stack;
        rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<std::string> render_live_panel(const Report& r, const LiveTitle& title, LivePanel panel, int width,
                                           int height)
{
    if (panel == LivePanel::Segments)
        return render_live_frame(r, title, width, height);
    const int body_height = std::max(height - 2, 1);
    std::vector<std::string> lines{title_line(r, title)};
    std::vector<std::string> body;
    if (panel == LivePanel::Diagram) {
        DiagramStyle style;
        const double interval_s = r.interval_s;
        style.format_value = [interval_s](uint64_t faults) {
            return with_commas(per_second(faults, interval_s));
        };
        body = render_diagram(diagram_rows(r), style, width, body_height);
    } else {
        body = render_heatmap(r.segment_heat, width, body_height);
    }
    lines.insert(lines.end(), body.begin(), body.end());
    lines.push_back(keys_line(panel, title.quit));
    lines.resize(std::max(height, 0));
    for (std::string& l : lines)
        l = fit(l, std::max(width, 0));
    return lines;
}

std::vector<std::string> render_live_frame(const Report& r, const LiveTitle& title, int width, int height)
{
    // Laid out for 80x24 and up; smaller terminals get the top of it, cut to their size.
    const int layout_width = std::max(width, 40);
    const int layout_height = std::max(height, 12);
    std::vector<std::string> lines;
    lines.push_back(title_line(r, title));

    // Bottom block: heap trend, four histograms, key help.
    std::vector<std::string> bottom;
    std::string heap = fmt::format("heap {:>6}  brk {} calls  ", human_bytes(r.heap_size), with_commas(r.brk_calls));
    int spark_room = layout_width - static_cast<int>(display_width(heap));
    bottom.push_back(heap + sparkline(r.heap_history, std::max(spark_room, 1)));
    bottom.push_back(histogram_row("mmap sizes", r.mmap_sizes, "mmaps", layout_width));
    bottom.push_back(histogram_row("brk increments", r.brk_grow, "grows", layout_width));
    bottom.push_back(histogram_row("heap fault offs", r.heap_offsets, "faults", layout_width));
    bottom.push_back(histogram_row("stack fault depth", r.stack_depths, "faults", layout_width));
    if (r.rss_known) {
        std::string rss = fmt::format("rss {:>6} (anon {} file {} shmem {}) peak {}  ",
                                      human_bytes(r.rss_anon + r.rss_file + r.rss_shmem), human_bytes(r.rss_anon),
                                      human_bytes(r.rss_file), human_bytes(r.rss_shmem), human_bytes(r.rss_peak));
        int room = layout_width - static_cast<int>(display_width(rss));
        bottom.push_back(rss + sparkline(r.rss_history, std::max(room, 1), true));
    }
    if (r.latency) {
        bottom.push_back(histogram_row("minor latency us", r.latency_minor_us, "faults", layout_width));
        bottom.push_back(histogram_row("major latency us", r.latency_major_us, "faults", layout_width));
    }
    // The busiest fault sites, as many as leave room for a few segments.
    size_t site_rows = std::min<size_t>(r.sites.size(), layout_height >= 30 ? 5 : 3);
    for (size_t i = 0; i < site_rows; ++i)
        bottom.push_back(fmt::format("site {:>10}  {}  -> {}", with_commas(r.sites[i].faults),
                                     terminal_safe(r.sites[i].location), terminal_safe(r.sites[i].segment)));
    for (const CrashRow& c : r.crashes)
        bottom.push_back(fmt::format("{} pid {}: {}", c.signal, c.pid, terminal_safe(c.explanation)));
    bottom.push_back(keys_line(LivePanel::Segments, title.quit));

    // Middle: the segment table with bars, as many rows as fit.
    int rows = layout_height - 2 - static_cast<int>(bottom.size());
    size_t label_w = 12;
    std::vector<std::string> labels;  // escaped: names come from the traced program
    for (const SegmentRow& s : r.segments) {
        labels.push_back(terminal_safe(s.label));
        label_w = std::max(label_w, display_width(labels.back()));
    }
    label_w = std::min<size_t>(label_w, layout_width * 2 / 5);
    const int numbers_w = 10 + 1 + 9 + 1 + 7 + 1;
    int bar_w = std::max(layout_width - static_cast<int>(label_w) - 1 - numbers_w, 1);
    lines.push_back(fit("SEGMENT", label_w) + fmt::format(" {:>10} {:>9} {:>7} ", "FAULTS", "/s", "MAJOR") + "share");
    uint64_t max_faults = r.segments.empty() ? 0 : r.segments.front().faults;
    int shown = 0;
    for (const SegmentRow& s : r.segments) {
        if (shown == rows - 1 && static_cast<int>(r.segments.size()) > rows) {
            lines.push_back(fmt::format("… {} more segments", r.segments.size() - shown));
            ++shown;
            break;
        }
        if (shown == rows)
            break;
        lines.push_back(fit(labels[shown], label_w) +
                        fmt::format(" {:>10} {:>9} {:>7} ", with_commas(s.faults),
                                    with_commas(per_second(s.interval_faults, r.interval_s)), with_commas(s.major)) +
                        bar(s.faults, max_faults, bar_w));
        ++shown;
    }
    while (static_cast<int>(lines.size()) < layout_height - static_cast<int>(bottom.size()))
        lines.push_back("");
    for (std::string& b : bottom)
        lines.push_back(std::move(b));
    lines.resize(std::max(height, 0));
    for (std::string& l : lines)
        l = fit(l, std::max(width, 0));
    return lines;
}

}  // namespace memtrace
