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
    // Upper bound of the bucket holding the q-quantile (0 < q <= 1); 0 when empty.
    uint64_t quantile_high(double q) const;

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

inline uint64_t Log2Histogram::quantile_high(double q) const
{
    if (total_ == 0)
        return 0;
    // The smallest rank with at least a fraction q of the samples at or below it.
    double exact = q * static_cast<double>(total_);
    uint64_t rank = static_cast<uint64_t>(exact);
    if (static_cast<double>(rank) < exact)
        ++rank;
    rank = rank < 1 ? 1 : rank > total_ ? total_ : rank;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
        seen += buckets_[i];
        if (seen >= rank)
            return bucket_high(i);
    }
    return bucket_high(kBuckets - 1);
}

}  // namespace memtrace
