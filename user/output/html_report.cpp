#include "output/html_report.h"

#include <iterator>

#include <fmt/format.h>

#include "output/format_util.h"
#include "output/svg_chart.h"
#include "output/svg_heatmap.h"
#include "output/svg_timeseries.h"
#include "output/timeline_json.h"

namespace memtrace {
namespace {

constexpr std::string_view kStyle = R"css(
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1240px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
p.note { color: #555; max-width: 60em; }
section svg { width: 100%; height: auto; }
svg.chart { background: #fff; }
svg.heatmap rect.cell:hover { stroke: #000; stroke-width: 1px; }
#heatmap-hover { font-family: monospace; min-height: 1.3em; }
table.summary td { padding: 0 1.2em 0 0; }
ul.crashes li { margin-bottom: 0.5em; }
)css";

// Shows the heatmap cell under the mouse. Holds no character that XML would need escaped.
constexpr std::string_view kScript = R"js(
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('memtrace-data').textContent);
  var svg = document.querySelector('svg.heatmap');
  var hover = document.getElementById('heatmap-hover');
  if (!svg || !hover) { return; }
  svg.addEventListener('mousemove', function (event) {
    var cell = event.target;
    if (!cell.classList.contains('cell')) { return; }
    var band = data.bands[Number(cell.getAttribute('data-b'))];
    var row = Number(cell.getAttribute('data-r'));
    var bucket = Number(cell.getAttribute('data-t'));
    var from = (bucket * data.bucket_s).toFixed(3), to = ((bucket + 1) * data.bucket_s).toFixed(3);
    hover.textContent = String(band.label) + ' at ' + band.rows[row] + ' (' + band.row_bytes + ' bytes), ' +
      from + '-' + to + ' s: ' + cell.getAttribute('data-n') + ' faults';
  });
})();
)js";

// JSON inside <script>: no "</script>", no markup; also keeps the page well-formed XML.
std::string script_safe_json(const nlohmann::json& j)
{
    std::string out;
    for (char c : j.dump())
        switch (c) {
        case '<': out += "\\u003c"; break;
        case '>': out += "\\u003e"; break;
        case '&': out += "\\u0026"; break;
        default: out += c;
        }
    return out;
}

std::string summary_table(const Report& r, const HtmlReportInput& input)
{
    std::string rows;
    auto row = [&](const char* name, const std::string& value) {
        rows += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", name, value);
    };
    row("traced", svg_text(input.target));
    row("trace file", svg_text(input.source));
    row("duration", seconds_label(r.elapsed_s));
    row("faults", fmt::format("{} ({} major)", with_commas(r.faults), with_commas(r.major)));
    row("segments that faulted", with_commas(r.segments.size()));
    row("processes", with_commas(r.processes.size()));
    row("brk / mmap / munmap calls",
        fmt::format("{} / {} / {}", with_commas(r.brk_calls), with_commas(r.mmap_calls), with_commas(r.munmap_calls)));
    if (r.dropped || r.overflow_faults)
        row("records dropped / faults overflowed",
            fmt::format("{} / {}", with_commas(r.dropped), with_commas(r.overflow_faults)));
    return "<table class=\"summary\">\n" + rows + "</table>\n";
}

std::string crashes_section(const Report& r)
{
    if (r.crashes.empty())
        return {};
    std::string items;
    for (const CrashRow& c : r.crashes)
        items += fmt::format("<li><b>{} in pid {} at {}</b>: {}{}</li>\n", svg_text(c.signal), c.pid,
                             seconds_label(c.time_s), svg_text(c.explanation, 4096),
                             c.location.empty() ? "" : " (" + svg_text(c.location) + ")");
    return "<section id=\"crashes\"><h2>Crashes</h2>\n<ul class=\"crashes\">\n" + items + "</ul></section>\n";
}

std::string stacks_section(const HtmlReportInput& input)
{
    std::string out = "<section id=\"stacks\"><h2>Stacks</h2>\n";
    if (!input.stacks_recorded)
        return out + "<p class=\"note\">The trace was recorded without --stacks: no stacks to draw.</p></section>\n";
    struct Graph {
        const FoldedStacks* stacks;
        const char* title;
        const char* unit;
        FlameColours colours;
    };
    const Graph graphs[] = {{&input.fault_stacks, "Stacks of page faults", "faults", FlameColours::Hot},
                            {&input.brk_stacks, "Stacks of brk calls", "calls", FlameColours::Memory},
                            {&input.mmap_stacks, "Stacks of mmap calls", "calls", FlameColours::Blue}};
    for (const Graph& g : graphs) {
        if (g.stacks->empty() && g.stacks != &input.fault_stacks)
            continue;
        FlameGraphOptions options;
        options.title = g.title;
        options.count_unit = g.unit;
        options.colours = g.colours;
        out += "<figure class=\"flamegraph\">\n" + flamegraph_svg_element(*g.stacks, options) + "</figure>\n";
    }
    return out + "</section>\n";
}

}  // namespace

std::string html_report(const Report& r, const HtmlReportInput& input)
{
    const Timeline& t = r.timeline;
    std::string page;
    auto out = std::back_inserter(page);
    fmt::format_to(out,
                   "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
                   "<meta charset=\"utf-8\"/>\n<title>memtrace: {}</title>\n<style>{}</style>\n</head>\n<body>\n"
                   "<h1>memtrace: {}</h1>\n",
                   svg_text(input.target), kStyle, svg_text(input.target));
    page += summary_table(r, input);
    fmt::format_to(out,
                   "<section id=\"heatmap\"><h2>Faults by address and time</h2>\n<p class=\"note\">Pid {} ({}): each "
                   "band is a segment, in the order of the memory layout (program, heap, mmap area, stacks; high "
                   "addresses at the top), cut into the address ranges that faulted; dashed lines are unmapped gaps, "
                   "collapsed. Time in buckets of {}.</p>\n{}<p id=\"heatmap-hover\"></p></section>\n",
                   t.pid, svg_text(t.comm), seconds_label(t.bucket_s()), heatmap_svg(t));
    fmt::format_to(out,
                   "<section id=\"memory\"><h2>Heap and resident memory</h2>\n<p class=\"note\">The heap of pid {}; "
                   "resident memory of every traced process, as sampled once an interval.</p>\n{}</section>\n",
                   t.pid, memory_svg(t));
    fmt::format_to(out, "<section id=\"segments\"><h2>Faults per segment</h2>\n{}</section>\n", segment_faults_svg(t));
    fmt::format_to(out, "<section id=\"markers\"><h2>brk, mmap, munmap, exec and crashes</h2>\n{}</section>\n",
                   markers_svg(t, r.crashes));
    page += crashes_section(r);
    page += stacks_section(input);
    fmt::format_to(out, "<script type=\"application/json\" id=\"memtrace-data\">{}</script>\n<script>{}</script>\n",
                   script_safe_json(timeline_json(r)), kScript);
    page += "</body>\n</html>\n";
    return page;
}

}  // namespace memtrace
