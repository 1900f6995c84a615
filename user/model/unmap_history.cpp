#include "model/unmap_history.h"

namespace memtrace {

void UnmapHistory::add(UnmappedRange range)
{
    if (range.end <= range.start)
        return;
    if (ranges_.size() < kMaxRanges) {
        ranges_.push_back(std::move(range));
        return;
    }
    ranges_[next_] = std::move(range);
    next_ = (next_ + 1) % kMaxRanges;
}

const UnmappedRange* UnmapHistory::find(uint64_t addr) const
{
    const size_t n = ranges_.size();
    for (size_t i = 0; i < n; ++i) {  // newest first
        const UnmappedRange& r = ranges_[n < kMaxRanges ? n - 1 - i : (next_ + kMaxRanges - 1 - i) % kMaxRanges];
        if (addr >= r.start && addr < r.end)
            return &r;
    }
    return nullptr;
}

}  // namespace memtrace
