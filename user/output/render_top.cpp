#include "output/render_top.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "output/format_util.h"
#include "output/render_activity.h"

namespace memtrace {
namespace {

enum class Field { Pid, Comm, Cgroup, Processes, Rate, MajorRate, Faults, Kinds, Brk, Mmap, Rss };

struct Column {
    Field field;
    const char* title;
    size_t width;      // when there is room for it
    size_t narrowest;  // squeezed, to keep the core columns on a narrow terminal
    size_t widest;     // grown into what is left (SIZE_MAX: all of it)
    bool right;        // numbers are right-aligned
    int priority;      // 0 first; the highest go first when the terminal is too narrow
    int grow_order;    // who takes what is left, lowest first
};

constexpr size_t kAll = static_cast<size_t>(-1);
constexpr int kCore = 5;      // priorities below this one are kept, squeezed, on any width
constexpr int kNoGrow = 100;

// In the order shown. A process row: who, how fast it faults now, in what, how much memory. At 80
// columns every column but FAULTS and CGROUP fits; wider terminals add them and grow COMM, KINDS
// and CGROUP.
const std::vector<Column>& process_columns()
{
    static const std::vector<Column> columns = {
        {Field::Pid, "PID", 7, 7, 7, true, 0, kNoGrow},
        {Field::Comm, "COMM", 14, 6, 16, false, 1, 0},
        {Field::Rate, "FAULTS/s", 8, 8, 8, true, 2, kNoGrow},
        {Field::MajorRate, "MAJOR/s", 7, 7, 7, true, 3, kNoGrow},
        {Field::Faults, "FAULTS", 11, 11, 11, true, 8, kNoGrow},
        {Field::Kinds, "KINDS", 18, 9, 26, false, 5, 1},
        {Field::Brk, "BRK+", 6, 6, 6, true, 6, kNoGrow},
        {Field::Mmap, "MMAP+", 6, 6, 6, true, 7, kNoGrow},
        {Field::Rss, "RSS", 6, 6, 6, true, 4, kNoGrow},
        {Field::Cgroup, "CGROUP", 12, 12, kAll, false, 9, 2},
    };
    return columns;
}

// A cgroup row: the cgroup first; it takes whatever room is left.
const std::vector<Column>& cgroup_columns()
{
    static const std::vector<Column> columns = {
        {Field::Cgroup, "CGROUP", 16, 10, kAll, false, 0, 0},
        {Field::Processes, "PROCS", 5, 5, 5, true, 1, kNoGrow},
        {Field::Rate, "FAULTS/s", 8, 8, 8, true, 2, kNoGrow},
        {Field::MajorRate, "MAJOR/s", 7, 7, 7, true, 3, kNoGrow},
        {Field::Faults, "FAULTS", 11, 11, 11, true, 8, kNoGrow},
        {Field::Kinds, "KINDS", 18, 9, 26, false, 5, 1},
        {Field::Brk, "BRK+", 6, 6, 6, true, 6, kNoGrow},
        {Field::Mmap, "MMAP+", 6, 6, 6, true, 7, kNoGrow},
        {Field::Rss, "RSS", 6, 6, 6, true, 4, kNoGrow},
    };
    return columns;
}

// The columns that fit in `room` (after the selection marker), in the order shown, with their
// widths: by priority at their usual width (or their narrowest, when only that fits) until one
// does not fit; when that leaves out a core column, again with every one at its narrowest; then
// what is left grows the columns that can grow.
std::vector<Column> layout(const std::vector<Column>& all, size_t room)
{
    std::vector<const Column*> by_priority;
    for (const Column& c : all)
        by_priority.push_back(&c);
    std::sort(by_priority.begin(), by_priority.end(),
              [](const Column* a, const Column* b) { return a->priority < b->priority; });
    auto choose = [&](bool squeezed, std::vector<Column>& chosen) {
        chosen.clear();
        size_t used = 0;
        for (const Column* c : by_priority) {
            Column col = *c;
            if (squeezed)
                col.width = col.narrowest;
            const size_t gap = chosen.empty() ? 0 : 1;
            if (used + gap + col.width > room)
                col.width = col.narrowest;
            if (used + gap + col.width > room)
                return used;
            used += gap + col.width;
            chosen.push_back(col);
        }
        return used;
    };
    std::vector<Column> chosen;
    size_t used = choose(false, chosen);
    if (chosen.size() < all.size() && chosen.size() < static_cast<size_t>(kCore))
        used = choose(true, chosen);
    std::vector<Column*> growing;
    for (Column& c : chosen)
        if (c.grow_order != kNoGrow)
            growing.push_back(&c);
    std::sort(growing.begin(), growing.end(), [](Column* a, Column* b) { return a->grow_order < b->grow_order; });
    for (Column* c : growing) {
        const size_t add = std::min(room - used, c->widest == kAll ? room : c->widest - c->width);
        c->width += add;
        used += add;
    }
    // Back to the order shown.
    std::vector<Column> ordered;
    for (const Column& c : all)
        for (const Column& ch : chosen)
            if (ch.field == c.field)
                ordered.push_back(ch);
    return ordered;
}

// A count in `width` columns: with commas when they fit, else in the first power of 1000 that
// leaves under 1000 of it ("123.5M", "1234M" -> "1.2G"), with a decimal when it fits.
std::string count_text(uint64_t n, size_t width)
{
    std::string s = with_commas(n);
    if (s.size() <= width)
        return s;
    static const char* units[] = {"K", "M", "G", "T", "P", "E"};
    double v = static_cast<double>(n);
    for (const char* unit : units) {
        v /= 1000;
        if (v >= 999.5 && unit != units[5])
            continue;  // "1000K" is 1.0M
        s = fmt::format("{:.1f}{}", v, unit);
        if (s.size() > width || v >= 99.95)
            s = fmt::format("{:.0f}{}", v, unit);
        return s;
    }
    return s;
}

// A code point a terminal draws in exactly one column: ASCII and the alphabetic scripts around
// it, without their combining marks. Everything else (wide CJK and emoji, combining and
// zero-width marks, scripts whose width this table does not know) is escaped in the table's
// cells, so that a name never moves the columns after it.
bool one_column(uint32_t cp)
{
    return (cp >= 0x20 && cp < 0x7f) || (cp >= 0xa0 && cp < 0x300) || (cp >= 0x370 && cp < 0x483) ||
           (cp >= 0x48a && cp < 0x530) || (cp >= 0x1e00 && cp < 0x2000) || (cp >= 0x2010 && cp < 0x2028) ||
           (cp >= 0x2030 && cp < 0x205f);
}

// terminal_safe(), then every code point that is not one column wide as "\uXXXX".
std::string cell_safe(const std::string& name)
{
    const std::string safe = terminal_safe(name);
    std::string out;
    for (size_t i = 0; i < safe.size();) {
        const unsigned char b = static_cast<unsigned char>(safe[i]);
        // terminal_safe's output is valid UTF-8: the lead byte says the length.
        const size_t len = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
        uint32_t cp = len == 1 ? b : len == 2 ? b & 0x1f : len == 3 ? b & 0x0f : b & 0x07;
        for (size_t k = 1; k < len && i + k < safe.size(); ++k)
            cp = cp << 6 | (static_cast<unsigned char>(safe[i + k]) & 0x3f);
        if (one_column(cp))
            out.append(safe, i, len);
        else
            out += fmt::format("\\u{:04x}", cp);
        i += len;
    }
    return out;
}

// The leading kinds that fit in `width` whole ("heap 62%, anon 30%", else "heap 62%"), without
// the ones under 1% ("anon 99%, heap 0%" says less than "anon 99%").
std::string kinds_text(const ActivityRow& row, size_t width)
{
    for (size_t n = 3; n > 1; --n) {
        std::string s = leading_kinds(row, n);
        if (display_width(s) <= width && s.find(" 0%") == std::string::npos)
            return fit(s, width);
    }
    return fit(leading_kinds(row, 1), width);
}

// A path cut at its start ("…/session-2.scope"): the end names it.
std::string fit_tail(const std::string& s, size_t width)
{
    const size_t w = display_width(s);
    if (w <= width)
        return fit(s, width);
    if (width == 0)
        return "";
    size_t skip = w - (width - 1), i = 0;
    for (size_t seen = 0; i < s.size(); ++i) {
        const bool starts_char = (static_cast<unsigned char>(s[i]) & 0xc0) != 0x80;
        if (starts_char && seen++ == skip)
            break;
    }
    return "…" + s.substr(i);
}

std::string cell(const Column& c, const ActivityRow& row, double interval_s)
{
    std::string text;
    switch (c.field) {
    case Field::Pid: text = std::to_string(row.pid); break;
    case Field::Comm: return fit(cell_safe(row.comm), c.width);  // the traced side names itself
    case Field::Cgroup: return fit_tail(cell_safe(row.cgroup.empty() ? "-" : row.cgroup), c.width);
    case Field::Processes: text = count_text(row.processes, c.width); break;
    case Field::Rate: text = count_text(per_second(row.interval_faults, interval_s), c.width); break;
    case Field::MajorRate: text = count_text(per_second(row.interval_major, interval_s), c.width); break;
    case Field::Faults: text = count_text(row.faults, c.width); break;
    case Field::Kinds: return kinds_text(row, c.width);
    case Field::Brk: text = human_bytes(row.interval_brk_grown); break;
    case Field::Mmap: text = human_bytes(row.interval_mmap_bytes); break;
    case Field::Rss: text = !row.alive ? "exited" : row.rss_known ? human_bytes(row.rss_bytes) : "-"; break;
    }
    const size_t w = display_width(text);
    if (w >= c.width)
        return fit(text, c.width);
    return c.right ? std::string(c.width - w, ' ') + text : fit(text, c.width);
}

// "memtrace every process 12.0s  faults 1,234,567  procs 18 alive, 20 exited in 1.0s": what is
// counted (cut to leave room for the rest), the session's time and faults, the processes; the
// parts at the end only when they fit.
std::string header_line(const Report& r, const TopTitle& title, size_t width)
{
    std::string rest = fmt::format(" {:.1f}s  faults {}  procs {} alive", r.elapsed_s,
                                   with_commas(r.kernel_counted_faults), with_commas(r.activity_live));
    const std::string exited =
        fmt::format(", {} exited in {:.1f}s", with_commas(r.activity_exited_in_interval), r.interval_s);
    const std::string lost =
        r.overflow_lost ? fmt::format("  {} faults not counted (no room)", with_commas(r.overflow_lost)) : "";
    const std::string filter = cell_safe(title.filter);
    const size_t head = std::string("memtrace ").size();
    // The filter keeps at least 16 columns; past those, the numbers come first.
    const size_t for_filter = std::max<size_t>(16, width > head + display_width(rest) ? width - head - display_width(rest) : 0);
    std::string line = "memtrace " + (display_width(filter) > for_filter ? fit_tail(filter, for_filter) : filter) + rest;
    const std::string counted = fmt::format(", {} counted", with_commas(r.activity_processes));
    for (const std::string& more : {exited, counted, lost})
        if (!more.empty() && display_width(line) + display_width(more) <= width)
            line += more;
    return line;
}

std::string status_line(TopRows rows, const std::string& status)
{
    std::string keys = rows == TopRows::Processes
                           ? "↑↓ select  Enter: its live view  c: [processes] cgroups  q quit"
                           : "↑↓ select  Enter: its processes  c: processes [cgroups]  q quit";
    return status.empty() ? keys : cell_safe(status) + "   " + keys;
}

}  // namespace

TopFrame render_top_frame(const Report& r, const TopSelection& selection, const TopTitle& title, int width,
                          int height)
{
    TopFrame frame;
    const size_t w = static_cast<size_t>(std::max(width, 0));
    if (height <= 0)
        return frame;
    frame.lines.push_back(header_line(r, title, w));
    if (height >= 3) {
        const std::vector<Column> columns =
            layout(selection.rows() == TopRows::Processes ? process_columns() : cgroup_columns(), w > 0 ? w - 1 : 0);
        std::string titles = " ";
        for (size_t i = 0; i < columns.size(); ++i) {
            const Column& c = columns[i];
            titles += (i ? " " : "") + (c.right ? std::string(c.width - std::min(c.width, strlen(c.title)), ' ') +
                                                      std::string(c.title)
                                                : fit(c.title, c.width));
        }
        frame.lines.push_back(titles);
        const std::vector<ActivityRow>& rows = selection.shown(r);
        const size_t visible = static_cast<size_t>(height - 3);
        frame.first_row = selection.first_shown(rows.size(), visible);
        for (size_t i = frame.first_row; i < rows.size() && i < frame.first_row + visible; ++i) {
            const bool selected = i == selection.index();
            std::string line = selected ? ">" : " ";
            for (size_t j = 0; j < columns.size(); ++j)
                line += (j ? " " : "") + cell(columns[j], rows[i], r.interval_s);
            if (selected)
                frame.selected_line = static_cast<int>(frame.lines.size());
            frame.lines.push_back(std::move(line));
        }
        if (rows.empty())
            frame.lines.push_back(r.system_wide ? "  (no process faulted yet)" : "  (counting...)");
        frame.lines.resize(static_cast<size_t>(height - 1));
    }
    if (height >= 2)
        frame.lines.push_back(status_line(selection.rows(), title.status));
    for (std::string& l : frame.lines)
        l = fit(l, w);
    return frame;
}

}  // namespace memtrace
