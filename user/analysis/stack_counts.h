// --stacks: the user stacks of sampled faults and of every brk, mmap, munmap and mremap, unwound
// from their stack samples with the binaries' CFI (DwarfUnwinder) against the process's model as it
// stands at the sample, named (inlined functions too) and folded: "comm;root;...;leaf" -> faults
// (scaled by the sampling period) or bytes.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "analysis/analysis.h"
#include "symbols/code_locator.h"
#include "unwind/dwarf_unwinder.h"

namespace memtrace {

class StackCounts : public Analysis {
public:
    using Folded = std::unordered_map<std::string, uint64_t>;

    explicit StackCounts(CodeLocator& locator);
    ~StackCounts() override;
    void on_trace_start(const mt_trace_start& start) override { enabled_ = start.flags & MT_TRACE_STACKS; }
    void on_counters(const mt_counters& c) override { lost_ = c.value[MT_CNT_STACKS_LOST]; }
    void on_process(const ProcessEvent& e) override;
    void on_stack_sample(const StackSampleRecord& sample, const Process& process) override;
    void report(Report& out, const ReportContext& context) override;

    // Folded stacks of one enum mt_stack_kind (--folded, --flamegraph): faults, or bytes.
    const Folded& folded(uint32_t kind) const { return tallies_.at(kind).weight; }
    // One fault in this many was sampled (0: none was).
    uint32_t sample_period() const { return period_; }

private:
    struct Tally {
        Folded weight;
        std::unordered_map<std::string, uint64_t> calls;
    };
    // What a sample unwound to, kept for samples just like it.
    struct Unwound {
        size_t depth = 0;  // frames
        bool truncated = false;
        bool complete = false;  // down to the thread's first frame (_start, a thread's start)
        const std::string* folded = nullptr;  // "comm;root;...;leaf", in lines_
        // JIT code its runtime had not named yet: the frames, to be named again at the report.
        std::shared_ptr<std::vector<uint64_t>> unnamed_jit;
    };
    // Stacks with unnamed JIT frames, as counted so far: renamed once the perf map names them.
    struct Unnamed {
        uint32_t kind;
        std::string line, comm;
        std::shared_ptr<MemoryMap> memory;
        std::shared_ptr<std::vector<uint64_t>> frames;
        bool truncated;
        uint64_t weight = 0, calls = 0;
    };
    const Unwound& unwind(const StackSampleRecord& sample, const Process& process, uint64_t hash);
    // "comm;root;...;leaf"; `unnamed_jit` set when a frame is JIT code with no name yet.
    std::string fold(const std::vector<uint64_t>& frames, bool truncated, const std::string& comm,
                     const std::shared_ptr<MemoryMap>& memory, bool* unnamed_jit);
    void rename_jit_frames();

    CodeLocator& locator_;
    bool enabled_ = false;
    uint32_t period_ = 0;
    std::array<Tally, MT_STACK_KINDS> tallies_;
    std::unordered_map<uint32_t, std::unique_ptr<DwarfUnwinder>> unwinders_;  // by process
    std::unordered_map<uint64_t, Unwound> cache_;  // by the sample's hash: loops fault on one stack
    std::unordered_set<std::string> lines_;        // the folded stacks the cache points to
    const Process* current_ = nullptr;             // whose mappings the unwinder looks up
    std::unordered_map<uint64_t, Unnamed> unnamed_;  // by sample hash
    uint64_t samples_ = 0, deep_ = 0, truncated_ = 0, lost_ = 0;
    uint64_t call_samples_ = 0, complete_calls_ = 0, complete_faults_ = 0;
};

}  // namespace memtrace
