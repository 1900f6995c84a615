#include "flamegraph_svg.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <unistd.h>

#include <fmt/format.h>

#include "output/format_util.h"
#include "flame_layout.h"
#include "flamegraph_script.h"
#include "xml_text.h"

namespace memtrace {

namespace {

// Geometry, in pixels. Labels use the generic monospace font: every glyph is about 0.6 em wide,
// so a label's width is known here without measuring (kCharWidth errs on the wide side).
constexpr unsigned kPad = 10;
constexpr unsigned kFrameHeight = 16;
constexpr unsigned kFontSize = 12;
constexpr double kCharWidth = 7.3;
constexpr unsigned kLabelPad = 3;
constexpr unsigned kTitleBaseline = 24;
constexpr unsigned kSubtitleBaseline = 42;
constexpr unsigned kBottomMargin = 28;

using Buffer = fmt::memory_buffer;

// Hundredths of a pixel as "12.34": exact in decimal, so widths add up as the counts do.
std::string px(uint64_t hundredths) { return fmt::format("{}.{:02}", hundredths / 100, hundredths % 100); }

// Label inside a frame `width_px` wide: the whole name, or its start and "..", or nothing.
std::string fit_label(const std::string& name, double width_px)
{
    double chars = std::floor((width_px - 2 * kLabelPad) / kCharWidth);
    if (!(chars >= 3))
        return {};
    size_t n = static_cast<size_t>(chars);
    if (utf8_length(name) <= n)
        return name;
    return std::string(utf8_prefix(name, n - 2)) + "..";
}

uint32_t fnv1a(const std::string& s)
{
    uint32_t h = 2166136261u;
    for (unsigned char c : s)
        h = (h ^ c) * 16777619u;
    return h;
}

// A colour from the name alone, so a frame has the same colour in every graph and every run.
// Placeholders such as "[no_user_stack]" or merged frames are grey in every scheme.
std::string frame_colour(const std::string& name, FlameColours scheme)
{
    uint32_t h = fnv1a(name);
    unsigned a = h & 0xff, b = (h >> 8) & 0xff, c = (h >> 16) & 0xff;
    auto mix = [](unsigned lo, unsigned range, unsigned v) { return lo + range * v / 255; };
    unsigned r, g, bl;
    if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
        r = g = bl = mix(175, 40, a);
    } else if (scheme == FlameColours::Memory) {
        r = mix(40, 90, c), g = mix(170, 60, a), bl = mix(40, 90, b);
    } else if (scheme == FlameColours::Blue) {
        r = mix(80, 70, c), g = mix(130, 70, b), bl = mix(210, 45, a);
    } else {
        r = mix(205, 50, c), g = mix(60, 170, a), bl = mix(0, 55, b);
    }
    return fmt::format("#{:02x}{:02x}{:02x}", r, g, bl);
}

std::string share(uint64_t count, uint64_t total)
{
    long double percent = total ? 100.0L * count / total : 0;
    return fmt::format("{:.2f}%", static_cast<double>(percent));
}

struct Geometry {
    unsigned width;
    unsigned height;
    unsigned top;             // top edge of the deepest level
    uint64_t area_hundredths; // frame area width

    uint64_t edge(uint64_t offset, uint64_t total) const
    {
        offset = std::min(offset, total);
        return static_cast<uint64_t>(static_cast<unsigned __int128>(offset) * area_hundredths / total);
    }
};

Geometry geometry_for(const FlameGraphOptions& options, uint32_t levels)
{
    Geometry g;
    g.width = std::clamp(options.width_px, 200u, 100000u);
    g.top = options.subtitle.empty() ? kTitleBaseline + 12 : kSubtitleBaseline + 12;
    g.height = g.top + std::max(levels, 1u) * kFrameHeight + kBottomMargin;
    g.area_hundredths = uint64_t(g.width - 2 * kPad) * 100;
    return g;
}

void write_frame(Buffer& out, const FlameFrame& f, const FlameLayout& layout, const Geometry& geo,
                 const FlameGraphOptions& options, const std::string& unit)
{
    uint64_t end = f.start + std::min(f.count, layout.total - std::min(f.start, layout.total));  // saturated
    uint64_t left = geo.edge(f.start, layout.total);
    uint64_t width = geo.edge(end, layout.total) - left;
    uint64_t x = kPad * 100 + left;
    unsigned y = geo.height - kBottomMargin - (f.depth + 1) * kFrameHeight;
    std::string name = xml_escape(f.name);
    fmt::format_to(std::back_inserter(out),
                   "<g class=\"f\" data-d=\"{}\" data-c=\"{}\"><title>{}\n{} {}, {}</title>"
                   "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\" fill=\"{}\"/>"
                   "<text x=\"{}\" y=\"{}\">{}</text></g>\n",
                   f.depth, f.count, name, with_commas(f.count), unit,
                   share(f.count, layout.total), px(x), y, px(width), kFrameHeight - 1,
                   frame_colour(f.name, options.colours), px(x + kLabelPad * 100), y + kFrameHeight - 4,
                   xml_escape(fit_label(f.name, static_cast<double>(width) / 100)));
}

void write_header(Buffer& out, const FlameLayout& layout, const Geometry& geo, const FlameGraphOptions& options,
                  unsigned y)
{
    auto text = [](const std::string& s) { return xml_escape(clean_utf8(s, 4096)); };
    fmt::format_to(std::back_inserter(out),
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"memtrace-flamegraph\" version=\"1.1\" "
                   "{8}width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" font-family=\"monospace\" font-size=\"{2}\" "
                   "data-pad=\"{3}\" data-char-width=\"{4}\" data-label-pad=\"{5}\" data-total=\"{6}\" "
                   "data-unit=\"{7}\">\n",
                   geo.width, geo.height, kFontSize, kPad, kCharWidth, kLabelPad, layout.total,
                   text(options.count_unit), y ? fmt::format("y=\"{}\" ", y) : std::string());
    fmt::format_to(std::back_inserter(out), "<style>{}</style>\n", flamegraph_style());
    fmt::format_to(std::back_inserter(out), "<rect class=\"background\" width=\"100%\" height=\"100%\" fill=\"#f8f8f4\"/>\n");
    fmt::format_to(std::back_inserter(out), "<text class=\"title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                   geo.width / 2, kTitleBaseline, text(options.title));
    if (!options.subtitle.empty())
        fmt::format_to(std::back_inserter(out),
                       "<text class=\"subtitle\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", geo.width / 2,
                       kSubtitleBaseline, text(options.subtitle));
    fmt::format_to(std::back_inserter(out),
                   "<text class=\"button reset-zoom\" x=\"{0}\" y=\"{1}\" visibility=\"hidden\">Reset Zoom</text>\n"
                   "<text class=\"button search\" x=\"{2}\" y=\"{1}\" text-anchor=\"end\">Search</text>\n"
                   "<text class=\"details\" x=\"{0}\" y=\"{3}\"></text>\n"
                   "<text class=\"matched\" x=\"{2}\" y=\"{3}\" text-anchor=\"end\"></text>\n",
                   kPad, kTitleBaseline, geo.width - kPad, geo.height - 10);
}

}  // namespace

namespace {

// One graph's <svg>, `y` pixels from the top of an enclosing one (0: not enclosed).
std::string graph_element(const FoldedStacks& stacks, const FlameGraphOptions& options, unsigned y, unsigned* height)
{
    unsigned width = std::clamp(options.width_px, 200u, 100000u);
    FlameLayout layout = layout_flame(stacks, width - 2 * kPad, options.min_frame_width_px, options.max_frames);
    Geometry geo = geometry_for(options, layout.levels);
    if (height)
        *height = geo.height;
    Buffer out;
    write_header(out, layout, geo, options, y);
    out.append(std::string_view("<g class=\"frames\">\n"));
    std::string unit = xml_escape(clean_utf8(options.count_unit, 256));
    for (const FlameFrame& frame : layout.frames)
        write_frame(out, frame, layout, geo, options, unit);
    out.append(std::string_view("</g>\n"));
    if (layout.frames.empty())
        fmt::format_to(std::back_inserter(out), "<text class=\"empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">"
                       "No stacks recorded</text>\n", geo.width / 2, geo.top + kFrameHeight - 4);
    fmt::format_to(std::back_inserter(out), "<script><![CDATA[{}]]></script>\n</svg>\n", flamegraph_script());
    return fmt::to_string(out);
}

constexpr const char* kXmlDeclaration = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n";

}  // namespace

std::string flamegraph_svg_element(const FoldedStacks& stacks, const FlameGraphOptions& options)
{
    return graph_element(stacks, options, 0, nullptr);
}

std::string flamegraph_svg_document(const FoldedStacks& stacks, const FlameGraphOptions& options)
{
    return kXmlDeclaration + flamegraph_svg_element(stacks, options);
}

std::string flamegraph_svg_document(const std::vector<FlamePanel>& panels)
{
    std::string inner;
    unsigned y = 0, width = 200;
    for (const FlamePanel& panel : panels) {
        unsigned height = 0;
        // Each graph is its own <svg> with its own script: they zoom and search apart.
        inner += graph_element(*panel.stacks, panel.options, y, &height);
        y += height;
        width = std::max(width, std::clamp(panel.options.width_px, 200u, 100000u));
    }
    return fmt::format("{}<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{}\" height=\"{}\" "
                       "viewBox=\"0 0 {} {}\">\n{}</svg>\n",
                       kXmlDeclaration, width, y, width, y, inner);
}

void write_flamegraph_svg(int fd, const FoldedStacks& stacks, const FlameGraphOptions& options)
{
    write_flamegraph_svg(fd, {FlamePanel{&stacks, options}});
}

void write_flamegraph_svg(int fd, const std::vector<FlamePanel>& panels)
{
    std::string svg = panels.size() == 1 ? flamegraph_svg_document(*panels[0].stacks, panels[0].options)
                                         : flamegraph_svg_document(panels);
    const char* p = svg.data();
    size_t left = svg.size();
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw std::runtime_error(fmt::format("writing the flame graph: {}", n < 0 ? strerror(errno) : "short write"));
        p += n;
        left -= static_cast<size_t>(n);
    }
}

}  // namespace memtrace
