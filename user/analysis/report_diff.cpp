#include "analysis/report_diff.h"

#include <algorithm>
#include <cstdlib>
#include <map>

namespace memtrace {
namespace {

std::vector<DiffRow> joined(const std::map<std::string, std::pair<uint64_t, uint64_t>>& both)
{
    std::vector<DiffRow> rows;
    for (const auto& [name, counts] : both)
        rows.push_back({name, counts.first, counts.second});
    std::stable_sort(rows.begin(), rows.end(), [](const DiffRow& x, const DiffRow& y) {
        int64_t dx = std::llabs(x.delta()), dy = std::llabs(y.delta());
        return dx != dy ? dx > dy : x.name < y.name;
    });
    return rows;
}

}  // namespace

ReportDiff diff_reports(const Report& a, const Report& b, const std::unordered_map<std::string, uint64_t>& stacks_a,
                        const std::unordered_map<std::string, uint64_t>& stacks_b)
{
    ReportDiff d;
    d.faults_a = a.faults;
    d.faults_b = b.faults;
    d.major_a = a.major;
    d.major_b = b.major;
    std::map<std::string, std::pair<uint64_t, uint64_t>> segments, sites, stacks;
    for (const SegmentRow& s : a.segments)
        segments[s.label].first += s.faults;
    for (const SegmentRow& s : b.segments)
        segments[s.label].second += s.faults;
    for (const SiteRow& s : a.sites)
        sites[s.location].first += s.faults;
    for (const SiteRow& s : b.sites)
        sites[s.location].second += s.faults;
    for (const auto& [line, count] : stacks_a)
        stacks[line].first += count;
    for (const auto& [line, count] : stacks_b)
        stacks[line].second += count;
    d.segments = joined(segments);
    d.sites = joined(sites);
    d.stacks = joined(stacks);
    return d;
}

}  // namespace memtrace
