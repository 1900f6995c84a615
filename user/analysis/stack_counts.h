// --stacks: user stacks of faults, brk and mmap calls as the kernel counted them, folded with the
// process's model as it stands when they are drained ("comm;root;...;leaf" -> count).
#pragma once

#include <array>
#include <string>
#include <unordered_map>

#include "analysis/analysis.h"
#include "symbols/code_locator.h"

namespace memtrace {

class StackCounts : public Analysis {
public:
    using Folded = std::unordered_map<std::string, uint64_t>;

    explicit StackCounts(CodeLocator& locator) : locator_(locator) {}
    void on_trace_start(const mt_trace_start& start) override { enabled_ = start.flags & MT_TRACE_STACKS; }
    void on_counters(const mt_counters& c) override { lost_ = c.value[MT_CNT_STACKS_LOST]; }
    void on_stack(const StackRecord& stack, const Process* process) override;
    void report(Report& out, const ReportContext& context) override;

    // Folded stacks of one enum mt_stack_kind, for --folded.
    const Folded& folded(uint32_t kind) const { return folded_.at(kind); }

private:
    CodeLocator& locator_;
    bool enabled_ = false;
    std::array<Folded, 3> folded_;
    uint64_t stack_faults_ = 0, shallow_stack_faults_ = 0, lost_ = 0, collisions_ = 0;
};

}  // namespace memtrace
