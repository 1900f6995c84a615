#include "analysis/stack_counts.h"

#include <algorithm>

#include <fmt/format.h>

#include "model/process_table.h"

namespace memtrace {
namespace {

constexpr size_t kMaxFoldedStacks = 1 << 17;
constexpr int32_t kBucketTaken = -17;  // -EEXIST from bpf_get_stackid

// Folded stacks separate frames with ';' and end with " count": keep both out of names.
std::string folded_name(std::string s)
{
    for (char& c : s)
        if (c == ';' || c == ' ')
            c = '_';
    return s;
}

std::vector<StackRow> top(const StackCounts::Folded& folded, size_t n)
{
    std::vector<std::pair<std::string, uint64_t>> all(folded.begin(), folded.end());
    size_t keep = std::min(n, all.size());
    std::partial_sort(all.begin(), all.begin() + keep, all.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    std::vector<StackRow> rows;
    for (size_t i = 0; i < keep; ++i) {
        StackRow row;
        row.count = all[i].second;
        const std::string& line = all[i].first;
        for (size_t start = 0, part = 0;; ++part) {
            size_t semi = line.find(';', start);
            std::string name = line.substr(start, semi == std::string::npos ? std::string::npos : semi - start);
            if (part == 0)
                row.comm = std::move(name);
            else
                row.frames.push_back(std::move(name));
            if (semi == std::string::npos)
                break;
            start = semi + 1;
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace

void StackCounts::on_stack(const StackRecord& raw, const Process* p)
{
    enabled_ = true;
    const mt_stack& key = raw.fixed;
    if (key.kind >= folded_.size())
        return;
    std::string line = folded_name(p && !p->comm.empty() ? p->comm : fmt::format("pid {}", key.hdr.tgid));
    size_t depth = 0;
    if (key.stack_id == kBucketTaken || (key.stack_id >= 0 && raw.frames.empty())) {
        line += ";[stack_not_kept:table_collision]";
        if (key.kind == MT_STACK_FAULT)
            collisions_ += key.count;
    } else if (key.stack_id < 0) {
        line += ";[no_user_stack]";
    } else {
        for (auto it = raw.frames.rbegin(); it != raw.frames.rend(); ++it) {
            line += ';';
            line += folded_name(locator_.name(p ? &p->space() : nullptr, *it, false));
            ++depth;
        }
    }
    Folded& folded = folded_[key.kind];
    if (folded.size() >= kMaxFoldedStacks && !folded.count(line))
        line = "[more_stacks_than_memtrace_keeps]";  // folded frames hold no spaces
    folded[line] += key.count;
    if (key.kind == MT_STACK_FAULT) {
        stack_faults_ += key.count;
        if (depth && depth <= 2)  // a missing stack says nothing about frame pointers
            shallow_stack_faults_ += key.count;
    }
}

void StackCounts::report(Report& r, const ReportContext&)
{
    r.stacks = enabled_;
    r.stack_faults = stack_faults_;
    r.shallow_stack_faults = shallow_stack_faults_;
    r.stacks_lost = lost_;
    r.stack_collisions = collisions_;
    r.fault_stacks = top(folded_[MT_STACK_FAULT], 5);
    r.brk_stacks = top(folded_[MT_STACK_BRK], 3);
    r.mmap_stacks = top(folded_[MT_STACK_MMAP], 3);
}

}  // namespace memtrace
