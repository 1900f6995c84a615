// Number and text formatting shared by the renderers.
#include "output/format_util.h"

#include <cstdint>

#include <gtest/gtest.h>

using memtrace::bar;
using memtrace::display_width;
using memtrace::fit;
using memtrace::human_bytes;
using memtrace::sparkline;
using memtrace::with_commas;

namespace {

TEST(FormatUtil, WithCommas)
{
    EXPECT_EQ(with_commas(0), "0");
    EXPECT_EQ(with_commas(7), "7");
    EXPECT_EQ(with_commas(999), "999");
    EXPECT_EQ(with_commas(1000), "1,000");
    EXPECT_EQ(with_commas(12345), "12,345");
    EXPECT_EQ(with_commas(123456), "123,456");
    EXPECT_EQ(with_commas(1234567), "1,234,567");
    EXPECT_EQ(with_commas(UINT64_MAX), "18,446,744,073,709,551,615");
}

TEST(FormatUtil, HumanBytes)
{
    EXPECT_EQ(human_bytes(0), "0");
    EXPECT_EQ(human_bytes(1023), "1023");
    EXPECT_EQ(human_bytes(1024), "1K");
    EXPECT_EQ(human_bytes(1536), "1.5K");
    EXPECT_EQ(human_bytes(4096), "4K");
    EXPECT_EQ(human_bytes(3 << 20), "3M");
    EXPECT_EQ(human_bytes(1ULL << 30), "1G");
    EXPECT_EQ(human_bytes((1ULL << 40) * 5 / 2), "2.5T");
    EXPECT_EQ(human_bytes(1ULL << 60), "1E");
    EXPECT_EQ(human_bytes(135168), "132K");
}

TEST(FormatUtil, HumanBytesJustBelowAUnit)
{
    // 1 MiB - 1 byte is 1023.999K: it must not print as "1024.0K".
    EXPECT_EQ(human_bytes((1 << 20) - 1), "1.0M");
}

TEST(FormatUtil, Sparkline)
{
    EXPECT_EQ(sparkline({}, 10), "");
    EXPECT_EQ(sparkline({1, 2, 3}, 10), "▁▄█");
    EXPECT_EQ(sparkline({0, 1, 2, 3, 4, 5, 6, 7}, 10), "▁▂▃▄▅▆▇█");
    EXPECT_EQ(sparkline({5, 5, 5}, 10), "███") << "a flat non-zero line is full";
    EXPECT_EQ(sparkline({0, 0}, 10), "▁▁");
    EXPECT_EQ(sparkline({1, 2, 3, 4, 5}, 2), "▁█") << "the last `width` values, scaled among themselves";
    EXPECT_EQ(sparkline({0, 4, 8}, 10, true), " ▄█") << "from zero: an empty bucket is a gap";
    EXPECT_EQ(sparkline({8, 8}, 10, true), "██");
    EXPECT_EQ(display_width(sparkline({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 4)), 4u);
}

TEST(FormatUtil, Bar)
{
    EXPECT_EQ(bar(0, 10, 4), "");
    EXPECT_EQ(bar(10, 10, 4), "████");
    EXPECT_EQ(bar(5, 10, 4), "██");
    EXPECT_EQ(bar(13, 16, 2), "█▋");
    EXPECT_EQ(bar(3, 8, 1), "▍");
    EXPECT_EQ(bar(1, 100, 4), "▏") << "non-zero never draws as nothing";
    EXPECT_EQ(bar(5, 0, 4), "");
    EXPECT_EQ(bar(5, 10, 0), "");
    EXPECT_EQ(display_width(bar(7, 7, 30)), 30u);
}

TEST(FormatUtil, DisplayWidth)
{
    EXPECT_EQ(display_width(""), 0u);
    EXPECT_EQ(display_width("abc"), 3u);
    EXPECT_EQ(display_width("héllo"), 5u);
    EXPECT_EQ(display_width("▁▂█"), 3u);
    EXPECT_EQ(display_width("… 3 more"), 8u);
}

TEST(FormatUtil, FitPadsAndCuts)
{
    EXPECT_EQ(fit("abc", 5), "abc  ");
    EXPECT_EQ(fit("abcdef", 3), "abc");
    EXPECT_EQ(fit("abc", 3), "abc");
    EXPECT_EQ(fit("abc", 0), "");
    EXPECT_EQ(fit("", 2), "  ");
}

TEST(FormatUtil, FitMultiByte)
{
    EXPECT_EQ(fit("héllo wörld", 5), "héllo");
    EXPECT_EQ(fit("héllo wörld", 8), "héllo wö");
    EXPECT_EQ(fit("é", 3), "é  ");
    EXPECT_EQ(fit("ab€", 3), "ab€") << "a 3-byte character at the edge is kept whole";
    EXPECT_EQ(fit("ab€d", 3), "ab€");
    EXPECT_EQ(fit("█▋", 1), "█");
    EXPECT_EQ(fit("…", 4), "…   ");
    for (size_t w : {0, 1, 2, 7, 11, 20})
        EXPECT_EQ(display_width(fit("h€llo wörld █▋", w)), w) << w;
}

}  // namespace

namespace {

using memtrace::is_valid_utf8;
using memtrace::terminal_safe;

TEST(TerminalSafe, PrintableUtf8PassesAsIs)
{
    EXPECT_EQ(terminal_safe("libc.so.6 .text"), "libc.so.6 .text");
    EXPECT_EQ(terminal_safe("/tmp/données/画像.so"), "/tmp/données/画像.so");
    EXPECT_EQ(terminal_safe(""), "");
}

TEST(TerminalSafe, ControlBytesBecomeEscapes)
{
    // What a hostile file name would send to the terminal: set its title, clear it, ring, new row.
    EXPECT_EQ(terminal_safe("a\x1b]0;owned\x07\x1b[2Jb"), "a\\x1b]0;owned\\x07\\x1b[2Jb");
    EXPECT_EQ(terminal_safe("row\nnext\tcol\rback"), "row\\nnext\\tcol\\rback");
    EXPECT_EQ(terminal_safe(std::string("nul\0byte", 8)), "nul\\x00byte");
    EXPECT_EQ(terminal_safe("del\x7f"), "del\\x7f");
}

TEST(TerminalSafe, BackslashIsDoubledSoEscapesCannotBeForged)
{
    EXPECT_EQ(terminal_safe("C:\\x1b"), "C:\\\\x1b");
}

TEST(TerminalSafe, C1AndBidiControlsAreEscaped)
{
    EXPECT_EQ(terminal_safe("csi\xc2\x9b" "2J"), "csi\\u009b2J");                 // U+009B, an 8-bit CSI
    EXPECT_EQ(terminal_safe("evil\xe2\x80\xae" "txt.so"), "evil\\u202etxt.so");  // RIGHT-TO-LEFT OVERRIDE
    EXPECT_EQ(terminal_safe("line\xe2\x80\xa8sep"), "line\\u2028sep");           // LINE SEPARATOR
}

TEST(TerminalSafe, BytesThatAreNotUtf8AreEscapedOneByOne)
{
    EXPECT_EQ(terminal_safe("a\xff" "b"), "a\\xffb");
    EXPECT_EQ(terminal_safe("\xc3"), "\\xc3");                    // cut short
    EXPECT_EQ(terminal_safe("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
    EXPECT_EQ(terminal_safe("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a UTF-16 surrogate
    EXPECT_EQ(terminal_safe("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
}

TEST(TerminalSafe, Utf8Validity)
{
    EXPECT_TRUE(is_valid_utf8("plain"));
    EXPECT_TRUE(is_valid_utf8("画像 \xf0\x9f\x98\x80"));
    EXPECT_FALSE(is_valid_utf8("\xff"));
    EXPECT_FALSE(is_valid_utf8("\xe2\x82"));
    EXPECT_FALSE(is_valid_utf8("\xed\xbf\xbf"));
}

}  // namespace
