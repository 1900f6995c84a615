#include "output/terminal_keys.h"

namespace memtrace {
namespace {

bool is_parameter(char c) { return c >= 0x30 && c <= 0x3f; }  // ECMA-48: digits, ';', ...
bool is_final(char c) { return c >= 0x40 && c <= 0x7e; }

// The key an escape sequence names, by its parameters and final byte ("5~" is PgUp), if known.
// xterm and the Linux console differ (ESC [ H, ESC [ 1 ~, ESC O H are all Home): all are taken.
bool sequence_key(std::string_view params, char final, TerminalKey& key)
{
    switch (final) {
    case 'A': key = TerminalKey::Up; return true;
    case 'B': key = TerminalKey::Down; return true;
    case 'H': key = TerminalKey::Home; return true;
    case 'F': key = TerminalKey::End; return true;
    case '~':
        if (params == "5") key = TerminalKey::PageUp;
        else if (params == "6") key = TerminalKey::PageDown;
        else if (params == "1" || params == "7") key = TerminalKey::Home;
        else if (params == "4" || params == "8") key = TerminalKey::End;
        else return false;
        return true;
    default: return false;
    }
}

bool plain_key(char c, TerminalKey& key)
{
    switch (c) {
    case 'q':
    case 'Q': key = TerminalKey::Quit; return true;
    case '\t': key = TerminalKey::NextPanel; return true;
    case '1': key = TerminalKey::Segments; return true;
    case '2': key = TerminalKey::Diagram; return true;
    case '3': key = TerminalKey::Heatmap; return true;
    case 'k': key = TerminalKey::Up; return true;
    case 'j': key = TerminalKey::Down; return true;
    case 'g': key = TerminalKey::Home; return true;
    case 'G': key = TerminalKey::End; return true;
    case '\r':
    case '\n': key = TerminalKey::Enter; return true;
    case 'c':
    case 'C': key = TerminalKey::ToggleRows; return true;
    default: return false;
    }
}

}  // namespace

std::vector<TerminalKey> decode_keys(std::string& pending, std::string_view bytes)
{
    std::string in = pending + std::string(bytes);
    pending.clear();
    std::vector<TerminalKey> keys;
    TerminalKey key;
    size_t i = 0;
    while (i < in.size()) {
        if (in[i] != '\x1b') {
            if (plain_key(in[i], key))
                keys.push_back(key);
            ++i;
            continue;
        }
        // ESC alone at the end: the start of a sequence whose rest is still on its way.
        if (i + 1 == in.size()) {
            pending = in.substr(i);
            break;
        }
        const char introducer = in[i + 1];
        if (introducer != '[' && introducer != 'O') {
            ++i;  // Esc pressed alone, then another key: that key counts
            continue;
        }
        size_t j = i + 2;
        while (j < in.size() && is_parameter(in[j]))
            ++j;
        if (j == in.size()) {
            // Cut by the end of the read. A sequence has a few bytes: a longer one is no key.
            if (in.size() - i <= 16)
                pending = in.substr(i);
            break;
        }
        if (is_final(in[j]) && sequence_key(std::string_view(in).substr(i + 2, j - i - 2), in[j], key))
            keys.push_back(key);
        i = j + 1;
    }
    return keys;
}

}  // namespace memtrace
