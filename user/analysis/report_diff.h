// memtrace report --diff A B: what changed between two traces, per segment, per fault site and per
// stack (where both recorded them), as perf diff and heaptrack --diff show it.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "pipeline/report.h"

namespace memtrace {

struct DiffRow {
    std::string name;     // segment label, site location, or folded stack
    uint64_t a = 0, b = 0;
    int64_t delta() const { return static_cast<int64_t>(b) - static_cast<int64_t>(a); }
};

struct ReportDiff {
    uint64_t faults_a = 0, faults_b = 0, major_a = 0, major_b = 0;
    std::vector<DiffRow> segments, sites, stacks;  // largest change first
};

// `stacks_a` and `stacks_b` are folded fault stacks ("comm;root;...;leaf" -> count), or empty.
ReportDiff diff_reports(const Report& a, const Report& b, const std::unordered_map<std::string, uint64_t>& stacks_a,
                        const std::unordered_map<std::string, uint64_t>& stacks_b);

}  // namespace memtrace
