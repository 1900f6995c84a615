// SegmentTable: labels, kinds and interning.
#include "model/object_table.h"
#include "model/segments.h"

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
    auto id = t.section({}, "/usr/lib/x86_64-linux-gnu/libc.so.6", ".text");
    EXPECT_NE(id, SegmentTable::kUnmapped);
    EXPECT_EQ(t.at(id).label, "libc.so.6 .text");
    EXPECT_EQ(t.at(id).kind, SegmentKind::Section);
    EXPECT_EQ(t.at(id).object, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    EXPECT_EQ(t.at(id).section, ".text");
    EXPECT_EQ(t.section({}, "/usr/lib/x86_64-linux-gnu/libc.so.6", ".text"), id) << "interned";
    EXPECT_NE(t.section({}, "/usr/lib/x86_64-linux-gnu/libc.so.6", ".data"), id);
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
    EXPECT_EQ(headers, t.section({}, "/usr/bin/app", "[headers]"));
}

TEST(Segments, KindsInternByName)
{
    SegmentTable t;
    EXPECT_EQ(t.of_kind(SegmentKind::Heap), t.of_kind(SegmentKind::Heap));
    EXPECT_EQ(t.of_kind(SegmentKind::Special, "[vdso]"), t.of_kind(SegmentKind::Special, "[vdso]"));
}

TEST(Segments, ObjectsInternByIdentity)
{
    SegmentTable t;
    const memtrace::ObjectKey libc{memtrace::kernel_dev(0xfe, 1), 100}, other{memtrace::kernel_dev(0xfe, 1), 200};
    auto a = t.section(libc, "/usr/lib/libfoo.so", ".text");
    EXPECT_EQ(t.section(libc, "/usr/lib/libfoo.so", ".text"), a);
    // An inode freed by unlink is the next file's: the same inode under another path is another file.
    EXPECT_NE(t.section(libc, "/tmp/new-file-with-the-old-inode.so", ".text"), a);
    // Another file of the same name (a container's, or a long path cut to the same tail) is apart.
    auto b = t.section(other, "/opt/lib/libfoo.so", ".text");
    EXPECT_NE(a, b);
    EXPECT_EQ(t.at(a).label, "libfoo.so .text");
    EXPECT_EQ(t.at(b).label, "libfoo.so (2) .text");
    EXPECT_EQ(t.at(t.section(other, "/opt/lib/libfoo.so", ".data")).label, "libfoo.so (2) .data");
    EXPECT_EQ(t.at(b).object, "/opt/lib/libfoo.so");
    auto f1 = t.of_file(SegmentKind::File, "/tmp/data", {1, 7});
    auto f2 = t.of_file(SegmentKind::File, "/tmp/data", {1, 8});
    EXPECT_NE(f1, f2);
    EXPECT_EQ(t.at(f1).label, "file /tmp/data");
    EXPECT_EQ(t.at(f2).label, "file /tmp/data (2)");
}

TEST(Segments, WithoutIdentityThePathTells)
{
    SegmentTable t;
    auto a = t.section({}, "/usr/lib/libfoo.so", ".text");
    EXPECT_EQ(t.section({}, "/usr/lib/libfoo.so", ".text"), a);
    EXPECT_NE(t.section({}, "/opt/lib/libfoo.so", ".text"), a);
}

}  // namespace
