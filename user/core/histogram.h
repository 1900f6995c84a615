// Power-of-two histograms, bucketed the way bcc's print_log2_hist shows them.
#pragma once

#include <array>
#include <cstdint>

namespace memtrace {

class Log2Histogram {
public:
    static constexpr int kBuckets = 65;

    // Bucket 0 holds 0; bucket i (i >= 1) holds [2^(i-1), 2^i - 1].
    static int bucket_of(uint64_t value) { return value == 0 ? 0 : 64 - __builtin_clzll(value); }
    static uint64_t bucket_low(int i) { return i == 0 ? 0 : 1ULL << (i - 1); }
    static uint64_t bucket_high(int i) { return i == 0 ? 0 : i == 64 ? ~0ULL : (1ULL << i) - 1; }

    void add(uint64_t value, uint64_t n = 1)
    {
        buckets_[bucket_of(value)] += n;
        total_ += n;
    }
    uint64_t count(int bucket) const { return buckets_[bucket]; }
    uint64_t total() const { return total_; }
    bool empty() const { return total_ == 0; }
    // Lowest and highest non-empty bucket; -1 when empty.
    int first_bucket() const;
    int last_bucket() const;

private:
    std::array<uint64_t, kBuckets> buckets_{};
    uint64_t total_ = 0;
};

inline int Log2Histogram::first_bucket() const
{
    for (int i = 0; i < kBuckets; ++i)
        if (buckets_[i])
            return i;
    return -1;
}

inline int Log2Histogram::last_bucket() const
{
    for (int i = kBuckets - 1; i >= 0; --i)
        if (buckets_[i])
            return i;
    return -1;
}

}  // namespace memtrace
