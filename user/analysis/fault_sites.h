// The code that faults: every fault's instruction placed in its module (for a kernel-mode fault,
// the system call's caller), counted by (module, address), the top ones named when reported.
#pragma once

#include <unordered_map>

#include "analysis/analysis.h"
#include "symbols/code_locator.h"

namespace memtrace {

class FaultSites : public Analysis {
public:
    // `shown`: how many sites a report lists (0: none, and no per-fault bookkeeping).
    FaultSites(const SegmentTable& segments, CodeLocator& locator, size_t shown)
        : segments_(segments), locator_(locator), shown_(shown)
    {
    }
    void set_shown(size_t n) { shown_ = n; }
    void on_fault(const FaultEvent& e) override;
    void report(Report& out, const ReportContext& context) override;

private:
    struct Counter {
        uint64_t faults = 0, kernel_mode = 0;
        SegmentId segment = 0;
    };
    const SegmentTable& segments_;
    CodeLocator& locator_;
    size_t shown_;
    uint64_t faults_ = 0;
    // By (module id << 48 | address in it).
    std::unordered_map<uint64_t, Counter> sites_;
};

}  // namespace memtrace
