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

// Joins runs of neighbours for which `joins` holds, the longest runs first, until the entries fit
// in `budget` lines; of the last run joined, only as much as that takes (from its low end). Each
// joined entry is then labelled by `label`.
template <typename Joins, typename Label>
std::vector<Entry> join_until_fit(const std::vector<Entry>& in, bool gaps, size_t budget, Joins joins, Label label)
{
    struct Run {
        size_t first, length;
    };
    std::vector<Run> runs;
    for (size_t i = 0; i < in.size();) {
        size_t j = i;
        while (j + 1 < in.size() && joins(in[j], in[j + 1]))
            ++j;
        if (j > i)
            runs.push_back({i, j - i + 1});
        i = j + 1;
    }
    std::stable_sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.length > b.length; });
    std::vector<size_t> joined(in.size(), 1);  // at the first entry of a run: how many become one
    size_t needed = lines_needed(in, gaps);
    for (const Run& run : runs) {
        if (needed <= budget)
            break;
        const size_t n = std::min(run.length, needed - budget + 1);
        joined[run.first] = n;
        needed -= n - 1;
        for (size_t k = run.first + 1; gaps && k < run.first + n; ++k)
            needed -= gap_below(in, k);  // the gaps inside go with it
    }
    std::vector<Entry> out;
    for (size_t i = 0; i < in.size(); i += joined[i]) {
        Entry e = in[i];
        for (size_t k = i + 1; k < i + joined[i]; ++k) {
            e.row.end = std::max(e.row.end, in[k].row.end);
            e.row.value += in[k].row.value;
            e.parts += in[k].parts;
        }
        if (joined[i] > 1)
            label(e);
        out.push_back(std::move(e));
    }
    return out;
}

// A segment cut in two by a mapping boundary (the file page and the anonymous rest of a .bss, a
// RELRO page) as one row, always: what the diagram shows is segments.
std::vector<Entry> join_same(const std::vector<Entry>& in)
{
    auto same = [](const Entry& a, const Entry& b) {
        return a.row.label == b.row.label && a.row.end == b.row.start && a.row.growth == b.row.growth;
    };
    return join_until_fit(in, false, 0, same, [](Entry&) {});
}

bool quiet(const Entry& e) { return e.row.value == 0 && !e.row.keep_apart; }

bool same_group(const Entry& a, const Entry& b)
{
    return !a.row.keep_apart && !b.row.keep_apart && !a.row.group.empty() && a.row.group == b.row.group;
}

void label_group(Entry& e) { e.row.label = fmt::format("{}: {} segments", e.row.group, e.parts); }

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
    // quiet rows as one, the sections of an object as one row, no gap lines; then the middle is cut.
    bool gaps = true;
    auto quiet_group = [](const Entry& a, const Entry& b) { return quiet(a) && quiet(b) && same_group(a, b); };
    entries = join_until_fit(entries, gaps, budget, quiet_group, label_group);
    entries = join_until_fit(entries, gaps, budget, [](const Entry& a, const Entry& b) { return quiet(a) && quiet(b); },
                             [&](Entry& e) {
                                 e.row.label = fmt::format("{} segments {}", e.parts, style.quiet);
                                 e.row.group.clear();
                             });
    entries = join_until_fit(entries, gaps, budget, same_group, label_group);
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
