// The address-space calls and what they did: brk/mmap/munmap/mremap/mprotect counts, the sizes of
// mmaps and brk moves, the heap of the first process over time, and where in the heap and the
// main stack faults land.
#pragma once

#include <vector>

#include "analysis/analysis.h"

namespace memtrace {

class SyscallStats : public Analysis {
public:
    explicit SyscallStats(const SegmentTable& segments) : segments_(segments) {}
    void on_fault(const FaultEvent& e) override;
    void on_mapping(const MappingEvent& e) override;
    void report(Report& out, const ReportContext& context) override;

private:
    const SegmentTable& segments_;
    uint64_t brk_calls_ = 0, mmap_calls_ = 0, munmap_calls_ = 0, mremap_calls_ = 0, mprotect_calls_ = 0;
    std::vector<uint64_t> heap_history_;
    Log2Histogram mmap_sizes_, brk_grow_, brk_shrink_, heap_offsets_, stack_depths_;
};

}  // namespace memtrace
