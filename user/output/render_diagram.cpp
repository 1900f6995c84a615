#include "output/render_diagram.h"

#include <algorithm>

#include <fmt/format.h>

#include "output/format_util.h"
#include "output/shade.h"

namespace memtrace {
namespace {

constexpr size_t kValueWidth = 10;
constexpr size_t kSizeWidth = 6;
constexpr size_t kGrowthWidth = 7;
constexpr int kNarrowest = 60;  // laid out for at least this many columns, then cut to the terminal

struct Entry {
    DiagramRow row;
    size_t parts = 1;  // rows it stands for
};

// Joins neighbours for which `joins` holds into one entry, labelled by `label`.
template <typename Joins, typename Label>
std::vector<Entry> join_runs(const std::vector<Entry>& in, Joins joins, Label label)
{
    std::vector<Entry> out;
    for (const Entry& e : in) {
        if (!out.empty() && joins(out.back(), e)) {
            Entry& run = out.back();
            run.row.end = std::max(run.row.end, e.row.end);
            run.row.value += e.row.value;
            run.parts += e.parts;
            run.row.label = label(run);
            continue;
        }
        out.push_back(e);
    }
    return out;
}

// A segment cut in two by a mapping boundary (the file page and the anonymous rest of a .bss, a
// RELRO page) as one row: what the diagram shows is segments.
std::vector<Entry> join_same(const std::vector<Entry>& in)
{
    return join_runs(
        in,
        [](const Entry& a, const Entry& b) {
            return a.row.label == b.row.label && a.row.end == b.row.start && a.row.growth == b.row.growth;
        },
        [](const Entry& run) { return run.row.label; });
}

// An object's sections, one after the other, as one row (`quiet_only`: sections with no value).
std::vector<Entry> join_groups(const std::vector<Entry>& in, bool quiet_only)
{
    return join_runs(
        in,
        [quiet_only](const Entry& a, const Entry& b) {
            if (quiet_only && (a.row.value || b.row.value))
                return false;
            return !a.row.keep_apart && !b.row.keep_apart && !a.row.group.empty() && a.row.group == b.row.group;
        },
        [](const Entry& run) { return fmt::format("{}: {} segments", run.row.group, run.parts); });
}

// Rows with nothing to show, one after the other, as one row.
std::vector<Entry> join_quiet(const std::vector<Entry>& in, const std::string& quiet)
{
    auto is_quiet = [](const Entry& e) { return e.row.value == 0 && !e.row.keep_apart; };
    std::vector<Entry> out = join_runs(
        in, [&](const Entry& a, const Entry& b) { return is_quiet(a) && is_quiet(b); },
        [&](const Entry& run) { return fmt::format("{} segments {}", run.parts, quiet); });
    for (Entry& e : out)
        if (e.parts > 1 && is_quiet(e))
            e.row.group.clear();
    return out;
}

bool gap_below(const std::vector<Entry>& entries, size_t i)
{
    return i > 0 && entries[i].row.start > entries[i - 1].row.end;
}

size_t lines_needed(const std::vector<Entry>& entries, bool gaps)
{
    size_t lines = entries.size();
    for (size_t i = 0; gaps && i < entries.size(); ++i)
        lines += gap_below(entries, i);
    return lines;
}

std::string centered(const std::string& text, size_t width)
{
    size_t w = display_width(text);
    if (w >= width)
        return fit(text, width);
    size_t left = (width - w) / 2;
    return std::string(left, ' ') + text + std::string(width - w - left, ' ');
}

std::string repeat(const char* glyph, size_t n)
{
    std::string out;
    for (size_t i = 0; i < n; ++i)
        out += glyph;
    return out;
}

class Frame {
public:
    Frame(const std::vector<Entry>& entries, const DiagramStyle& style, int width) : style_(style)
    {
        address_w_ = 12;
        for (const Entry& e : entries)
            if (e.row.end > (1ULL << 48))
                address_w_ = 16;
        inner_ = static_cast<size_t>(std::max(width, kNarrowest)) - address_w_ - 4 - kValueWidth;
        for (const Entry& e : entries)
            max_value_ = std::max(max_value_, e.row.value);
    }

    std::string top() const
    {
        return fmt::format("{:>{}} ┌", "START", address_w_) + fit("─ high addresses " + repeat("─", inner_), inner_) +
               "┐ " + fmt::format("{:>{}}", style_.value_title, kValueWidth);
    }
    std::string bottom() const
    {
        return std::string(address_w_, ' ') + " └" + fit("─ low addresses " + repeat("─", inner_), inner_) + "┘";
    }
    std::string gap(uint64_t bytes) const
    {
        return std::string(address_w_, ' ') + " ┊" + centered("╌╌ " + human_bytes(bytes) + " gap ╌╌", inner_) + "┊";
    }
    std::string cut(size_t segments) const
    {
        return std::string(address_w_, ' ') + " │" + centered(fmt::format("⋮ {} more segments", segments), inner_) +
               "│";
    }
    std::string row(const DiagramRow& r) const
    {
        const size_t fixed = 1 + 1 + 1 + kSizeWidth + 1 + kGrowthWidth + 1;
        std::string label = terminal_safe(r.label);
        size_t label_w = std::min(display_width(label), inner_ - fixed - 1);
        std::string fill = repeat(shade_glyph(shade_level(r.value, max_value_)), inner_ - fixed - label_w);
        std::string value = r.value && style_.format_value ? style_.format_value(r.value) : "";
        return fmt::format("{:0{}x} │ ", r.start, address_w_) + fit(label, label_w) + " " + fill +
               fmt::format(" {:>{}} ", human_bytes(r.end - r.start), kSizeWidth) + fit(r.growth, kGrowthWidth) +
               " │ " + fmt::format("{:>{}}", value, kValueWidth);
    }

private:
    const DiagramStyle& style_;
    size_t address_w_ = 12, inner_ = 0;
    uint64_t max_value_ = 0;
};

// The body, high addresses first: rows, and the gaps between them when `gaps`.
std::vector<std::string> body(const Frame& frame, const std::vector<Entry>& entries, bool gaps)
{
    std::vector<std::string> lines;
    for (size_t i = entries.size(); i-- > 0;) {
        lines.push_back(frame.row(entries[i].row));
        if (gaps && gap_below(entries, i))
            lines.push_back(frame.gap(entries[i].row.start - entries[i - 1].row.end));
    }
    return lines;
}

}  // namespace

std::vector<std::string> render_diagram(const std::vector<DiagramRow>& rows, const DiagramStyle& style, int width,
                                        int height)
{
    std::vector<Entry> entries;
    for (const DiagramRow& r : rows)
        entries.push_back({r, 1});
    entries = join_same(entries);
    const size_t budget = height > 0 ? static_cast<size_t>(std::max(height - 2, 1)) : SIZE_MAX;
    // Fewer and fewer lines until they fit: the quiet sections of an object as one row, runs of
    // quiet rows as one, every object as one row, no gap lines; then the middle is cut.
    bool gaps = true;
    if (lines_needed(entries, gaps) > budget)
        entries = join_groups(entries, true);
    if (lines_needed(entries, gaps) > budget)
        entries = join_quiet(entries, style.quiet);
    if (lines_needed(entries, gaps) > budget)
        entries = join_groups(entries, false);
    if (lines_needed(entries, gaps) > budget)
        gaps = false;
    Frame frame(entries, style, width);
    std::vector<std::string> middle = body(frame, entries, gaps);
    if (middle.size() > budget) {
        // Keep the top and the bottom (stack; heap and program), cut what lies between.
        const size_t top = (budget - 1) / 2, bottom = budget - 1 - top;
        size_t cut = 0;  // segments in the entries left out (display order is high to low)
        for (size_t i = bottom; i < entries.size() - top; ++i)
            cut += entries[i].parts;
        std::vector<std::string> kept(middle.begin(), middle.begin() + top);
        kept.push_back(frame.cut(cut));
        kept.insert(kept.end(), middle.end() - bottom, middle.end());
        middle = std::move(kept);
    }
    std::vector<std::string> lines;
    lines.push_back(frame.top());
    lines.insert(lines.end(), middle.begin(), middle.end());
    lines.push_back(frame.bottom());
    if (height > 0)
        lines.resize(height);
    for (std::string& l : lines)
        l = fit(l, static_cast<size_t>(std::max(width, 0)));
    return lines;
}

}  // namespace memtrace
