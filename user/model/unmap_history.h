// The ranges a process unmapped during the trace, newest first: a later access there reads as a use
// after unmap (with when it happened), and faults counted per page while the ring buffer was full
// are placed on what the page held then.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/segments.h"

namespace memtrace {

// A range a process unmapped during the trace (munmap, mremap's old range, brk shrinking), so that
// a later access there reads as a use after unmap, with when it happened.
struct UnmappedRange {
    uint64_t start = 0, end = 0;
    uint64_t ts_ns = 0;
    std::string what;  // segment label of what was there ("anon", "heap", "libfoo.so .text")
    SegmentId segment = SegmentTable::kUnmapped;
};

// The most recent unmaps first; bounded.
class UnmapHistory {
public:
    static constexpr size_t kMaxRanges = 4096;
    void add(UnmappedRange range);
    // The latest unmapped range that held `addr`, or nullptr.
    const UnmappedRange* find(uint64_t addr) const;
    // Also gives the memory back: an exited process keeps none.
    void clear()
    {
        std::vector<UnmappedRange>().swap(ranges_);
        next_ = 0;
    }
    size_t size() const { return ranges_.size(); }

private:
    // A ring once full (`next_` is the oldest); a vector, unlike a deque, costs nothing empty.
    std::vector<UnmappedRange> ranges_;
    size_t next_ = 0;
};

}  // namespace memtrace
