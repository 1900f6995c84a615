#include <gtest/gtest.h>
#include "core/histogram.h"
TEST(Placeholder, Log2Bucket) { EXPECT_EQ(memtrace::Log2Histogram::bucket_of(4096), 13); }
