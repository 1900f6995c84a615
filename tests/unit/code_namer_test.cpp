// PlainCodeNamer: the names of code without symbols.
#include "symbols/code_namer.h"

#include <gtest/gtest.h>

namespace {

TEST(PlainCodeNamer, FileBackedCode)
{
    memtrace::PlainCodeNamer namer;
    EXPECT_EQ(namer.name("/usr/lib/x86_64-linux-gnu/libc.so.6", 0x1234, true), "libc.so.6+0x1234");
    EXPECT_EQ(namer.name("/usr/lib/x86_64-linux-gnu/libc.so.6", 0x1234, false), "[libc.so.6]");
    EXPECT_EQ(namer.name("/opt/app/bin/demo", 0, true), "demo+0x0");
    EXPECT_EQ(namer.name("libfoo.so", 0xabcdef, true), "libfoo.so+0xabcdef");
    EXPECT_EQ(namer.name("libfoo.so", 0xabcdef, false), "[libfoo.so]");
}

TEST(PlainCodeNamer, KernelNamedModules)
{
    memtrace::PlainCodeNamer namer;
    EXPECT_EQ(namer.name("[vdso]", 0x10, true), "[vdso]+0x10");
    EXPECT_EQ(namer.name("[vdso]", 0x10, false), "[vdso]");
    EXPECT_EQ(namer.name("[anonymous]", 0x7f0000001000, true), "[anonymous]+0x7f0000001000");
    EXPECT_EQ(namer.name("[anonymous]", 0x7f0000001000, false), "[anonymous]");
}

TEST(PlainCodeNamer, ThroughTheInterface)
{
    memtrace::PlainCodeNamer plain;
    memtrace::CodeNamer& namer = plain;
    EXPECT_EQ(namer.name("/lib/ld-linux-x86-64.so.2", 0x1f540, true), "ld-linux-x86-64.so.2+0x1f540");
}

}  // namespace
