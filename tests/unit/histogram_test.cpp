// Log2Histogram: the bucketing of bcc's print_log2_hist.
#include "pipeline/histogram.h"

#include <cstdint>

#include <gtest/gtest.h>

using memtrace::Log2Histogram;

namespace {

TEST(Log2Histogram, BucketOf)
{
    EXPECT_EQ(Log2Histogram::bucket_of(0), 0);
    EXPECT_EQ(Log2Histogram::bucket_of(1), 1);
    EXPECT_EQ(Log2Histogram::bucket_of(2), 2);
    EXPECT_EQ(Log2Histogram::bucket_of(3), 2);
    EXPECT_EQ(Log2Histogram::bucket_of(4), 3);
    EXPECT_EQ(Log2Histogram::bucket_of(4095), 12);
    EXPECT_EQ(Log2Histogram::bucket_of(4096), 13);
    EXPECT_EQ(Log2Histogram::bucket_of(1ULL << 63), 64);
    EXPECT_EQ(Log2Histogram::bucket_of(UINT64_MAX), 64);
}

TEST(Log2Histogram, BucketBounds)
{
    EXPECT_EQ(Log2Histogram::bucket_low(0), 0u);
    EXPECT_EQ(Log2Histogram::bucket_high(0), 0u);
    EXPECT_EQ(Log2Histogram::bucket_low(1), 1u);
    EXPECT_EQ(Log2Histogram::bucket_high(1), 1u);
    EXPECT_EQ(Log2Histogram::bucket_low(2), 2u);
    EXPECT_EQ(Log2Histogram::bucket_high(2), 3u);
    EXPECT_EQ(Log2Histogram::bucket_low(3), 4u);
    EXPECT_EQ(Log2Histogram::bucket_high(3), 7u);
    EXPECT_EQ(Log2Histogram::bucket_low(12), 2048u);
    EXPECT_EQ(Log2Histogram::bucket_high(12), 4095u);
    EXPECT_EQ(Log2Histogram::bucket_low(13), 4096u);
    EXPECT_EQ(Log2Histogram::bucket_high(13), 8191u);
    EXPECT_EQ(Log2Histogram::bucket_low(64), 1ULL << 63);
    EXPECT_EQ(Log2Histogram::bucket_high(64), UINT64_MAX);
}

TEST(Log2Histogram, BucketsTileTheRange)
{
    for (int i = 1; i < Log2Histogram::kBuckets; ++i) {
        EXPECT_EQ(Log2Histogram::bucket_of(Log2Histogram::bucket_low(i)), i) << i;
        EXPECT_EQ(Log2Histogram::bucket_of(Log2Histogram::bucket_high(i)), i) << i;
        EXPECT_EQ(Log2Histogram::bucket_high(i - 1) + 1, Log2Histogram::bucket_low(i)) << i;
    }
    EXPECT_EQ(Log2Histogram::kBuckets, 65);
}

TEST(Log2Histogram, EmptyHistogram)
{
    Log2Histogram h;
    EXPECT_TRUE(h.empty());
    EXPECT_EQ(h.total(), 0u);
    EXPECT_EQ(h.first_bucket(), -1);
    EXPECT_EQ(h.last_bucket(), -1);
    for (int i = 0; i < Log2Histogram::kBuckets; ++i)
        EXPECT_EQ(h.count(i), 0u);
}

TEST(Log2Histogram, AddCountsFirstLastTotal)
{
    Log2Histogram h;
    h.add(5);        // bucket 3
    h.add(1000);     // bucket 10
    h.add(6, 4);     // bucket 3, four times
    h.add(1023);     // bucket 10
    EXPECT_FALSE(h.empty());
    EXPECT_EQ(h.total(), 7u);
    EXPECT_EQ(h.count(3), 5u);
    EXPECT_EQ(h.count(10), 2u);
    EXPECT_EQ(h.count(4), 0u);
    EXPECT_EQ(h.first_bucket(), 3);
    EXPECT_EQ(h.last_bucket(), 10);
}

TEST(Log2Histogram, ExtremeBuckets)
{
    Log2Histogram h;
    h.add(0);
    h.add(UINT64_MAX);
    EXPECT_EQ(h.first_bucket(), 0);
    EXPECT_EQ(h.last_bucket(), 64);
    EXPECT_EQ(h.count(0), 1u);
    EXPECT_EQ(h.count(64), 1u);
    EXPECT_EQ(h.total(), 2u);
    Log2Histogram copy = h;
    copy.add(1);
    EXPECT_EQ(h.total(), 2u) << "a copy is a value";
    EXPECT_EQ(copy.total(), 3u);
}

}  // namespace
