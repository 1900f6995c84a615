#include "output/render_diff.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "output/format_util.h"
#include "output/render_json.h"

namespace memtrace {
namespace {

std::string percent_change(uint64_t a, uint64_t b)
{
    if (a == 0)
        return b ? "new" : "";
    if (b == 0)
        return "gone";
    return fmt::format("{:+.1f}%", (static_cast<double>(b) - static_cast<double>(a)) * 100.0 / static_cast<double>(a));
}

void table(std::ostream& out, const char* title, const std::vector<DiffRow>& rows, size_t limit)
{
    if (rows.empty())
        return;
    fmt::print(out, "\n{}:\n{:>12} {:>12} {:>12} {:>8}  {}\n", title, "A", "B", "DELTA", "CHANGE", "NAME");
    size_t shown = 0;
    for (const DiffRow& r : rows) {
        if (shown++ == limit) {
            fmt::print(out, "  ... {} more (--json has them all)\n", rows.size() - limit);
            break;
        }
        fmt::print(out, "{:>12} {:>12} {:>+12} {:>8}  {}\n", with_commas(r.a), with_commas(r.b), r.delta(),
                   percent_change(r.a, r.b), terminal_safe(r.name));
    }
}

nlohmann::json rows_json(const std::vector<DiffRow>& rows)
{
    nlohmann::json out = nlohmann::json::array();
    for (const DiffRow& r : rows)
        out.push_back({{"name", json_name(r.name)}, {"a", r.a}, {"b", r.b}, {"delta", r.delta()}});
    return out;
}

}  // namespace

void render_diff_text(std::ostream& out, const ReportDiff& d, const std::string& name_a, const std::string& name_b,
                      size_t rows)
{
    fmt::print(out, "A: {}\nB: {}\n", terminal_safe(name_a), terminal_safe(name_b));
    fmt::print(out, "faults {} -> {} ({:+}, {}), major {} -> {}\n", with_commas(d.faults_a), with_commas(d.faults_b),
               static_cast<int64_t>(d.faults_b) - static_cast<int64_t>(d.faults_a), percent_change(d.faults_a, d.faults_b),
               with_commas(d.major_a), with_commas(d.major_b));
    table(out, "faults per segment", d.segments, rows);
    table(out, "faults per site (the top sites of each trace)", d.sites, rows);
    table(out, "faults per stack", d.stacks, rows);
}

nlohmann::json diff_to_json(const ReportDiff& d, const std::string& name_a, const std::string& name_b)
{
    return {{"type", "diff"},
            {"a", json_name(name_a)},
            {"b", json_name(name_b)},
            {"faults", {{"a", d.faults_a}, {"b", d.faults_b}}},
            {"major", {{"a", d.major_a}, {"b", d.major_b}}},
            {"segments", rows_json(d.segments)},
            {"sites", rows_json(d.sites)},
            {"stacks", rows_json(d.stacks)}};
}

}  // namespace memtrace
