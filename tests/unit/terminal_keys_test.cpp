// The keys of the live views from the bytes a terminal sends: plain keys, the escape sequences of
// xterm and the Linux console, and sequences cut by the end of a read.
#include "output/terminal_keys.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

using memtrace::decode_keys;
using Key = memtrace::TerminalKey;
using Keys = std::vector<Key>;

Keys decode_all(const std::string& bytes)
{
    std::string pending;
    Keys keys = decode_keys(pending, bytes);
    EXPECT_TRUE(pending.empty()) << "nothing left over from a whole sequence";
    return keys;
}

TEST(TerminalKeys, PlainKeys)
{
    EXPECT_EQ(decode_all("qQ\t123"), (Keys{Key::Quit, Key::Quit, Key::NextPanel, Key::Segments, Key::Diagram,
                                          Key::Heatmap}));
    EXPECT_EQ(decode_all("jkgGcC"), (Keys{Key::Down, Key::Up, Key::Home, Key::End, Key::ToggleRows,
                                         Key::ToggleRows}));
    // The terminal may send CR or LF for Enter (ICRNL turns one into the other).
    EXPECT_EQ(decode_all("\r\n"), (Keys{Key::Enter, Key::Enter}));
    EXPECT_EQ(decode_all("xyz 9"), Keys{}) << "other keys are ignored";
}

TEST(TerminalKeys, Arrows)
{
    EXPECT_EQ(decode_all("\x1b[A\x1b[B"), (Keys{Key::Up, Key::Down}));
    // Application cursor mode (SS3) and with a modifier (Ctrl-Up: ESC [ 1 ; 5 A).
    EXPECT_EQ(decode_all("\x1bOA\x1bOB\x1b[1;5A"), (Keys{Key::Up, Key::Down, Key::Up}));
    EXPECT_EQ(decode_all("\x1b[C\x1b[D"), Keys{}) << "left and right do nothing";
}

TEST(TerminalKeys, PagingKeys)
{
    EXPECT_EQ(decode_all("\x1b[5~\x1b[6~"), (Keys{Key::PageUp, Key::PageDown}));
    // Home and End: xterm (CSI H / F, SS3 H / F), the Linux console and VT220 (1~ 4~), rxvt (7~ 8~).
    EXPECT_EQ(decode_all("\x1b[H\x1bOH\x1b[1~\x1b[7~"), (Keys{Key::Home, Key::Home, Key::Home, Key::Home}));
    EXPECT_EQ(decode_all("\x1b[F\x1bOF\x1b[4~\x1b[8~"), (Keys{Key::End, Key::End, Key::End, Key::End}));
    EXPECT_EQ(decode_all("\x1b[2~\x1b[3~\x1b[15~"), Keys{}) << "Insert, Delete, F5";
}

TEST(TerminalKeys, KeysAroundSequencesKeepTheirOrder)
{
    EXPECT_EQ(decode_all("j\x1b[6~k\r"), (Keys{Key::Down, Key::PageDown, Key::Up, Key::Enter}));
}

TEST(TerminalKeys, SequenceSplitAcrossReads)
{
    // Every place a PgDn, then an Up, can be cut between two reads.
    const std::string bytes = "\x1b[6~\x1b[A";
    for (size_t cut = 0; cut <= bytes.size(); ++cut) {
        std::string pending;
        Keys keys = decode_keys(pending, bytes.substr(0, cut));
        Keys rest = decode_keys(pending, bytes.substr(cut));
        keys.insert(keys.end(), rest.begin(), rest.end());
        EXPECT_EQ(keys, (Keys{Key::PageDown, Key::Up})) << "cut at " << cut;
        EXPECT_TRUE(pending.empty());
    }
}

TEST(TerminalKeys, SequenceSplitOverThreeReads)
{
    std::string pending;
    EXPECT_EQ(decode_keys(pending, "\x1b"), Keys{});
    EXPECT_EQ(pending, "\x1b");
    EXPECT_EQ(decode_keys(pending, "["), Keys{});
    EXPECT_EQ(decode_keys(pending, "5"), Keys{});
    EXPECT_EQ(decode_keys(pending, "~q"), (Keys{Key::PageUp, Key::Quit}));
    EXPECT_TRUE(pending.empty());
}

TEST(TerminalKeys, EscapeAloneThenAKey)
{
    // Esc pressed by itself stays pending until the next byte; a key after it still counts.
    std::string pending;
    EXPECT_EQ(decode_keys(pending, "\x1b"), Keys{});
    EXPECT_EQ(decode_keys(pending, "q"), Keys{Key::Quit});
    EXPECT_EQ(decode_all("\x1bj"), Keys{Key::Down});
}

TEST(TerminalKeys, EndlessSequenceIsDropped)
{
    // A "sequence" that never ends is not held on to: it is no key.
    std::string pending;
    EXPECT_EQ(decode_keys(pending, "\x1b[" + std::string(40, '1')), Keys{});
    EXPECT_TRUE(pending.empty());
    EXPECT_EQ(decode_keys(pending, "q"), Keys{Key::Quit});
}

}  // namespace
