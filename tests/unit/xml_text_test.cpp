// Untrusted text made XML-safe: invalid UTF-8 and unwanted characters replaced, length bounded at
// a character boundary, markup characters escaped.
#include "output/xml_text.h"

#include <string>

#include <gtest/gtest.h>

using memtrace::clean_utf8;
using memtrace::utf8_length;
using memtrace::utf8_prefix;
using memtrace::xml_escape;

namespace {

const std::string kFffd = "\xEF\xBF\xBD";

std::string replacements(int n)
{
    std::string s;
    for (int i = 0; i < n; ++i)
        s += kFffd;
    return s;
}

TEST(CleanUtf8, KeepsValidText)
{
    EXPECT_EQ(clean_utf8("main"), "main");
    EXPECT_EQ(clean_utf8("std::vector<int>::push_back (x.cc:12)"), "std::vector<int>::push_back (x.cc:12)");
    EXPECT_EQ(clean_utf8("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80");
    EXPECT_EQ(clean_utf8("\xEF\xBF\xBD"), kFffd);  // U+FFFD itself is fine
    EXPECT_EQ(clean_utf8(""), "");
}

TEST(CleanUtf8, ReplacesEachBadByte)
{
    EXPECT_EQ(clean_utf8("a\xFF" "b"), "a" + kFffd + "b");
    EXPECT_EQ(clean_utf8("\x80\xBF"), replacements(2));                 // stray continuation bytes
    EXPECT_EQ(clean_utf8("\xC0\xAF"), replacements(2));                 // overlong "/"
    EXPECT_EQ(clean_utf8("\xE0\x80\xAF"), replacements(3));             // overlong, 3 bytes
    EXPECT_EQ(clean_utf8("\xED\xA0\x80"), replacements(3));             // surrogate U+D800
    EXPECT_EQ(clean_utf8("\xF4\x90\x80\x80"), replacements(4));         // above U+10FFFF
    EXPECT_EQ(clean_utf8("\xF8\x88\x80\x80\x80"), replacements(5));     // 5-byte form
    EXPECT_EQ(clean_utf8("x\xE2\x82"), "x" + replacements(2));          // cut off at the end
    EXPECT_EQ(clean_utf8("\xC3" "A"), kFffd + "A");                      // lead byte without continuation
    EXPECT_EQ(clean_utf8(std::string("a\0b", 3)), "a" + kFffd + "b");   // NUL
}

TEST(CleanUtf8, ReplacesControlsAndDisguises)
{
    EXPECT_EQ(clean_utf8("a\tb\nc\rd"), "a" + kFffd + "b" + kFffd + "c" + kFffd + "d");
    EXPECT_EQ(clean_utf8("\x01\x1B[31m\x7F"), kFffd + kFffd + "[31m" + kFffd);
    EXPECT_EQ(clean_utf8("\xC2\x85\xC2\x9F"), replacements(2));              // C1 controls
    EXPECT_EQ(clean_utf8("\xEF\xBF\xBE\xEF\xBF\xBF"), replacements(2));      // U+FFFE, U+FFFF
    EXPECT_EQ(clean_utf8("evil\xE2\x80\xAEgnp.exe"), "evil" + kFffd + "gnp.exe");  // right-to-left override
    EXPECT_EQ(clean_utf8("\xE2\x81\xA6x\xE2\x81\xA9"), kFffd + "x" + kFffd);      // isolates
}

TEST(CleanUtf8, CutsAtACharacterWithAnEllipsis)
{
    EXPECT_EQ(clean_utf8("abcdef", 6), "abcdef");
    EXPECT_EQ(clean_utf8("abcdefg", 6), "abc\xE2\x80\xA6");
    // "é" is two bytes: never split.
    EXPECT_EQ(clean_utf8("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 6), "\xC3\xA9\xE2\x80\xA6");
    EXPECT_EQ(clean_utf8("abcdefg", 2), "");
    std::string long_name(5000, 'x');
    EXPECT_EQ(clean_utf8(long_name, 1024).size(), 1024u);
}

TEST(XmlEscape, EscapesMarkupAndBothQuotes)
{
    EXPECT_EQ(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    EXPECT_EQ(xml_escape("]]>"), "]]&gt;");
    EXPECT_EQ(xml_escape("&amp;"), "&amp;amp;");
    EXPECT_EQ(xml_escape("plain"), "plain");
}

TEST(Utf8, LengthAndPrefixCountCodePoints)
{
    std::string s = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80z";
    EXPECT_EQ(utf8_length(s), 5u);
    EXPECT_EQ(utf8_prefix(s, 0), "");
    EXPECT_EQ(utf8_prefix(s, 2), "a\xC3\xA9");
    EXPECT_EQ(utf8_prefix(s, 4), "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80");
    EXPECT_EQ(utf8_prefix(s, 9), s);
}

}  // namespace
