// SegmentTable: labels, kinds and interning.
#include "core/segments.h"

#include <gtest/gtest.h>

using memtrace::SegmentKind;
using memtrace::SegmentTable;

namespace {

TEST(Segments, BaseName)
{
    EXPECT_EQ(memtrace::base_name("/usr/lib/x86_64-linux-gnu/libc.so.6"), "libc.so.6");
    EXPECT_EQ(memtrace::base_name("libc.so.6"), "libc.so.6");
    EXPECT_EQ(memtrace::base_name("/a b/c d"), "c d");
    EXPECT_EQ(memtrace::base_name("/dir/"), "");
    EXPECT_EQ(memtrace::base_name(""), "");
}

TEST(Segments, KindNames)
{
    EXPECT_STREQ(memtrace::kind_name(SegmentKind::Unmapped), "unmapped");
    EXPECT_STREQ(memtrace::kind_name(SegmentKind::Section), "section");
    EXPECT_STREQ(memtrace::kind_name(SegmentKind::Heap), "heap");
    EXPECT_STREQ(memtrace::kind_name(SegmentKind::Stack), "stack");
    EXPECT_STREQ(memtrace::kind_name(SegmentKind::ThreadStack), "thread_stack");
    EXPECT_STREQ(memtrace::kind_name(SegmentKind::Anon), "anon");
    EXPECT_STREQ(memtrace::kind_name(SegmentKind::File), "file");
    EXPECT_STREQ(memtrace::kind_name(SegmentKind::Shm), "shm");
    EXPECT_STREQ(memtrace::kind_name(SegmentKind::Special), "special");
}

TEST(Segments, UnmappedIsIdZero)
{
    SegmentTable t;
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(SegmentTable::kUnmapped, 0u);
    EXPECT_EQ(t.at(0).label, "unmapped");
    EXPECT_EQ(t.at(0).kind, SegmentKind::Unmapped);
    EXPECT_EQ(t.of_kind(SegmentKind::Unmapped), SegmentTable::kUnmapped);
    EXPECT_EQ(t.size(), 1u);
}

TEST(Segments, SectionLabels)
{
    SegmentTable t;
    auto id = t.section("/usr/lib/x86_64-linux-gnu/libc.so.6", ".text");
    EXPECT_NE(id, SegmentTable::kUnmapped);
    EXPECT_EQ(t.at(id).label, "libc.so.6 .text");
    EXPECT_EQ(t.at(id).kind, SegmentKind::Section);
    EXPECT_EQ(t.at(id).object, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    EXPECT_EQ(t.at(id).section, ".text");
    EXPECT_EQ(t.section("/usr/lib/x86_64-linux-gnu/libc.so.6", ".text"), id) << "interned";
    EXPECT_NE(t.section("/usr/lib/x86_64-linux-gnu/libc.so.6", ".data"), id);
    EXPECT_EQ(t.size(), 3u);
}

TEST(Segments, KindLabels)
{
    SegmentTable t;
    EXPECT_EQ(t.at(t.of_kind(SegmentKind::Heap)).label, "heap");
    EXPECT_EQ(t.at(t.of_kind(SegmentKind::Stack)).label, "stack");
    EXPECT_EQ(t.at(t.of_kind(SegmentKind::Anon)).label, "anon");
    EXPECT_EQ(t.at(t.of_kind(SegmentKind::ThreadStack)).label, "thread stacks");
    auto ts = t.of_kind(SegmentKind::ThreadStack, {}, 4242);
    EXPECT_EQ(t.at(ts).label, "stack:4242");
    EXPECT_EQ(t.at(ts).tid, 4242u);
    EXPECT_EQ(t.at(ts).kind, SegmentKind::ThreadStack);
    EXPECT_EQ(t.at(t.of_kind(SegmentKind::File, "/srv/data.bin")).label, "file /srv/data.bin");
    EXPECT_EQ(t.at(t.of_kind(SegmentKind::Shm, "memfd:x")).label, "shm memfd:x");
    auto vdso = t.of_kind(SegmentKind::Special, "[vdso]");
    EXPECT_EQ(t.at(vdso).label, "[vdso]");
    EXPECT_EQ(t.at(vdso).kind, SegmentKind::Special);
    auto headers = t.of_kind(SegmentKind::Section, "/usr/bin/app");
    EXPECT_EQ(t.at(headers).label, "app [headers]");
    EXPECT_EQ(headers, t.section("/usr/bin/app", "[headers]"));
}

TEST(Segments, InterningIsByLabel)
{
    SegmentTable t;
    auto heap1 = t.of_kind(SegmentKind::Heap);
    auto heap2 = t.of_kind(SegmentKind::Heap);
    EXPECT_EQ(heap1, heap2);
    size_t n = t.size();
    // The same library at two paths is one segment: counted in one place across processes.
    auto a = t.section("/usr/lib/libfoo.so", ".text");
    auto b = t.section("/opt/lib/libfoo.so", ".text");
    EXPECT_EQ(a, b);
    EXPECT_EQ(t.at(a).object, "/usr/lib/libfoo.so") << "the first one seen";
    EXPECT_EQ(t.size(), n + 1);
}

}  // namespace
