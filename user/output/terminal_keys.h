// The keys the live views know, decoded from what the terminal sends: plain bytes and the escape
// sequences of the arrow and paging keys. Pure, so that a unit test feeds it bytes; the terminal
// layer (terminal.h) reads them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace memtrace {

// Ctrl-C is not a key: it arrives as SIGINT.
enum class TerminalKey {
    Quit,        // q, Q
    NextPanel,   // Tab
    Segments,    // 1
    Diagram,     // 2
    Heatmap,     // 3
    Up,          // Up arrow, k
    Down,        // Down arrow, j
    PageUp,      // PgUp
    PageDown,    // PgDn
    Home,        // Home, g
    End,         // End, G
    Enter,       // Enter (CR or LF: the terminal may translate one to the other)
    ToggleRows,  // c: -a's rows by process or by cgroup
};

// Decodes `bytes`, in the order typed, after what `pending` kept from the last call: an escape
// sequence cut by the end of a read is kept there until its end arrives. Unknown keys and
// sequences are dropped.
std::vector<TerminalKey> decode_keys(std::string& pending, std::string_view bytes);

}  // namespace memtrace
